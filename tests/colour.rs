//! Colour (issue 12): the human report is painted on a terminal and in GitLab jobs, honouring
//! `--color`, `NO_COLOR` and `CLICOLOR_FORCE`; JSON, dotenv and the report files never are.

use std::process::Command;

use crate::support::gitlab::{FakeGitLab, Routes};
use crate::support::tokens::pat;
use crate::support::{Outcome, TempDir, assert_code, bin, glprobe, require_tool};

const ESC: char = '\u{1b}';

fn offline(args: &[&str], vars: &[(&str, &str)]) -> Outcome {
    let mut run = glprobe(&["--offline"])
        .args(args)
        .env("GITLAB_TOKEN", &pat(1));
    for (k, v) in vars {
        run = run.env(k, v);
    }
    let out = run.run();
    assert_code(&out, 0);
    out
}

#[test]
fn each_colour_decision() {
    // (args, environment, coloured, GitLab sections around the requests made)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], bool, bool);
    let cases: &[Case] = &[
        (&[], &[], false, false),
        (&["--color", "always"], &[], true, false),
        (&["--color=always"], &[("NO_COLOR", "1")], true, false),
        (
            &["--color", "never"],
            &[("CLICOLOR_FORCE", "1"), ("GITLAB_CI", "true")],
            false,
            false,
        ),
        (&[], &[("GITLAB_CI", "true")], true, true),
        (
            &[],
            &[("GITLAB_CI", "true"), ("NO_COLOR", "1")],
            false,
            false,
        ),
        (&[], &[("NO_COLOR", "")], false, false),
        (&[], &[("CLICOLOR_FORCE", "1")], true, false),
        (&[], &[("CLICOLOR_FORCE", "0")], false, false),
        (&["--color", "always"], &[("GITLAB_CI", "true")], true, true),
    ];
    let server = FakeGitLab::start(Routes::new());
    for (args, vars, coloured, sections) in cases {
        let mut run = glprobe(&["--url", &server.url(), "--timeout", "2"])
            .args(args)
            .env("GITLAB_TOKEN", &pat(1));
        for (k, v) in *vars {
            run = run.env(k, v);
        }
        let out = run.run();
        assert_eq!(
            out.stdout.contains(ESC),
            *coloured,
            "{args:?} {vars:?}:\n{}",
            out.stdout
        );
        assert_eq!(
            out.stdout.contains("section_start:"),
            *sections,
            "{args:?} {vars:?}"
        );
        assert_eq!(
            out.stdout.contains("section_end:"),
            *sections,
            "{args:?} {vars:?}"
        );
    }
}

#[test]
fn json_dotenv_and_files_are_never_coloured() {
    let dir = TempDir::new("colour");
    let (env, json) = (dir.path("t.env"), dir.path("t.json"));
    for format in ["json", "dotenv", "human"] {
        let out = offline(
            &[
                "--color",
                "always",
                "--format",
                format,
                "--dotenv",
                env.to_str().unwrap(),
                "--json",
                json.to_str().unwrap(),
            ],
            &[("GITLAB_CI", "true")],
        );
        assert_eq!(out.stdout.contains(ESC), format == "human", "{format}");
        for file in [&env, &json] {
            let text = std::fs::read_to_string(file).unwrap();
            assert!(!text.contains(ESC), "{}: {text}", file.display());
        }
    }
}

#[test]
fn the_verdict_reason_and_next_are_painted() {
    let out = offline(&["--color", "always"], &[]);
    assert!(
        out.stdout.contains("Reason   \u{1b}[1m\u{1b}[32mok"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Next     \u{1b}[1m"), "{}", out.stdout);
    let out = glprobe(&["--offline", "--color", "always"])
        .env("GITLAB_TOKEN", "CI_JOB_TOKEN")
        .run();
    assert!(
        out.stdout.contains("\u{1b}[1m\u{1b}[31mmalformed"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_terminal_gets_colour() {
    // `script` gives glprobe a pseudo-terminal as standard output.
    require_tool("script", "apt-get install bsdutils");
    let command = format!("{} --offline --format human", bin());
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("GITLAB_TOKEN", pat(1))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(ESC), "{stdout}");
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env_clear()
        .env("GITLAB_TOKEN", pat(1))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!stdout.contains("\u{1b}["), "{stdout}");
}
