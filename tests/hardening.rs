//! Field review (issue 8): the inputs a careless user or an attacker gives. Tokens pasted into
//! the wrong flag, endless and blocking files, broken basic-auth user names, failed writes,
//! non-UTF-8 paths, the flag spellings users type out of habit.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::gitlab::{FakeGitLab, Routes};
use crate::support::tokens::{F20, pat, routable};
use crate::support::{Outcome, TempDir, assert_code, assert_no_leak, bin, glprobe};

#[track_caller]
fn assert_usage(out: &Outcome, what: &str) {
    assert_code(out, 2);
    assert!(out.stdout.is_empty(), "{what}: {}", out.stdout);
    assert_eq!(out.stderr.lines().count(), 1, "{what}: {}", out.stderr);
}

/// The body of a token after its prefix, and its pieces: none may appear anywhere.
fn assert_no_piece(secret: &str, out: &Outcome) {
    assert_no_leak(secret, out, &[]);
    let body = secret.split_once('-').map_or(secret, |(_, b)| b);
    for piece in body.as_bytes().windows(12) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(
            !out.stdout.contains(piece) && !out.stderr.contains(piece),
            "a piece of the secret ({piece}) leaked:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn a_token_in_any_flag_is_refused_without_being_repeated_or_sent() {
    let server = FakeGitLab::start(Routes::new());
    let url = server.url();
    let dir = TempDir::new("pasted");
    let planted = pat(99);
    let deploy = routable("gldt-", &[("o", 1), ("p", 5)]);
    let legacy = format!("a{}", &F20[1..]);
    let in_path = dir.path(&format!("{planted}.env"));
    let in_path = in_path.to_str().unwrap();
    let cases: Vec<(&str, String)> = vec![
        ("--project", planted.clone()),
        ("--project", format!("acme/{deploy}")),
        ("--project", legacy.clone()),
        ("--username", planted.clone()),
        ("--dotenv", in_path.to_owned()),
        ("--json", in_path.to_owned()),
        ("--ca-file", in_path.to_owned()),
        ("--token-file", in_path.to_owned()),
        ("--pat-prefix", planted.clone()),
        ("--variable-prefix", legacy.clone()),
        ("--project", planted.replace('-', "%2D")),
    ];
    for (flag, value) in &cases {
        let out = glprobe(&["--url", &url, "--token-env", "TOK", flag, value])
            .env("TOK", &pat(1))
            .run();
        assert_usage(&out, flag);
        assert!(out.stderr.contains(flag), "{flag}: {}", out.stderr);
        for secret in [&planted, &deploy, &legacy] {
            assert_no_piece(secret, &out);
        }
        assert!(!in_path.is_empty() && !std::path::Path::new(in_path).exists());
    }
    // In a URL's host, and in the variables glprobe falls back to.
    let out = glprobe(&[
        "--url",
        &format!("https://{planted}.example.com"),
        "--token-env",
        "TOK",
    ])
    .env("TOK", &pat(1))
    .run();
    assert_usage(&out, "--url");
    assert_no_piece(&planted, &out);
    for var in [
        "CI_PROJECT_ID",
        "CI_DEPLOY_USER",
        "SSL_CERT_FILE",
        "CI_SERVER_URL",
    ] {
        let out = glprobe(&["--token-env", "TOK"])
            .env("TOK", &pat(1))
            .env("CI_SERVER_URL", &url)
            .env(var, &planted)
            .run();
        assert_usage(&out, var);
        assert_no_piece(&planted, &out);
    }
    assert!(server.requests().is_empty(), "something was sent");
}

#[test]
fn endless_and_blocking_inputs_end_within_the_timeout() {
    let dir = TempDir::new("endless");
    let big = dir.path("big");
    std::fs::write(&big, vec![b'a'; 70 * 1024]).unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["--token-file", "/dev/zero"],
        vec!["--token-file", "/dev/urandom"],
        vec!["--token-file", big.to_str().unwrap()],
        vec!["--token-file", "/"],
        vec![
            "--token-env",
            "GITLAB_TOKEN",
            "--ca-file",
            "/dev/zero",
            "--url",
            "https://127.0.0.1:9",
        ],
    ];
    for args in cases {
        let mut run = glprobe(&["--timeout", "2"]).args(&args);
        run = run.env("GITLAB_TOKEN", &pat(1));
        let out = run.run();
        assert_usage(&out, &format!("{args:?}"));
        assert!(
            out.elapsed < Duration::from_secs(1),
            "{args:?} took {:?}",
            out.elapsed
        );
    }
    // A File-type variable that names /dev/zero.
    let out = glprobe(&["--offline"])
        .env("GITLAB_TOKEN", "/dev/zero")
        .run();
    assert_usage(&out, "File-type variable");

    // A FIFO nobody writes to, and standard input that never ends: bounded by --timeout.
    let fifo = dir.path("fifo");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils)");
    assert!(made.success());
    let out = glprobe(&[
        "--offline",
        "--timeout",
        "1",
        "--token-file",
        fifo.to_str().unwrap(),
    ])
    .run();
    assert_usage(&out, "fifo");
    assert!(
        out.elapsed < Duration::from_secs(3),
        "fifo took {:?}",
        out.elapsed
    );

    let started = Instant::now();
    let mut child = Command::new(bin())
        .args(["--offline", "--timeout", "1", "--token-file", "-"])
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        use std::io::Write as _;
        let chunk = [b'g'; 4096];
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end && stdin.write_all(&chunk).is_ok() {}
    });
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stdin took {:?}",
        started.elapsed()
    );
    writer.join().unwrap();
}

#[test]
fn user_names_that_break_basic_auth_are_usage_errors() {
    for name in ["deploy:er", "deploy\ner", "deploy\rer", "deploy\u{1b}[2Jer"] {
        let out = glprobe(&["--offline", "--username", name])
            .env("GITLAB_TOKEN", &format!("gldt-{F20}"))
            .run();
        assert_usage(&out, name);
        assert!(!out.stderr.contains("deploy"), "{}", out.stderr);
    }
}

#[test]
fn failed_writes_are_exit_2_and_nothing_claims_a_verdict() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = Command::new(bin())
        .args(["--offline", "--format", "dotenv"])
        .env_clear()
        .env("GITLAB_TOKEN", pat(1))
        .stdout(full)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let out = glprobe(&[
        "--offline",
        "--format",
        "dotenv",
        "--dotenv",
        "/nonexistent/dir/t.env",
    ])
    .env("GITLAB_TOKEN", &pat(1))
    .run();
    assert_usage(&out, "--dotenv");
    assert!(!out.stdout.contains("TOKEN_EXIT_CODE"), "{}", out.stdout);
}

#[test]
fn non_utf8_paths_are_kept_as_given() {
    let dir = TempDir::new("bytes");
    let token_path = dir.0.join(OsStr::from_bytes(b"tok\xff"));
    std::fs::write(&token_path, pat(3)).unwrap();
    let dotenv_path = dir.0.join(OsStr::from_bytes(b"out\xfe.env"));
    let status = Command::new(bin())
        .arg("--offline")
        .arg("--token-file")
        .arg(&token_path)
        .arg("--dotenv")
        .arg(&dotenv_path)
        .env_clear()
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let written = std::fs::read_to_string(&dotenv_path).expect("the file under its own name");
    assert!(
        written.contains("TOKEN_KIND=personal_access_token"),
        "{written}"
    );
}

#[test]
fn the_spellings_users_type_out_of_habit() {
    let out = glprobe(&["--offline", "--format=json"])
        .env("GITLAB_TOKEN", &pat(1))
        .run();
    assert_code(&out, 0);
    assert!(out.stdout.starts_with('{'), "{}", out.stdout);
    let out = glprobe(&["-h"]).run();
    assert_code(&out, 0);
    assert!(out.stdout.contains("--token-env"));
    let out = glprobe(&["-V"]).run();
    assert_code(&out, 0);
    assert!(out.stdout.starts_with("glprobe "));
    // The value after = is checked like any other.
    let out = glprobe(&["--offline", &format!("--project={}", pat(5))])
        .env("GITLAB_TOKEN", &pat(1))
        .run();
    assert_usage(&out, "--project=");
}

#[test]
fn variable_prefixes_that_are_too_long_or_override_predefined_variables() {
    let long = "A".repeat(255);
    let out = glprobe(&["--offline", "--variable-prefix", &long])
        .env("GITLAB_TOKEN", &pat(1))
        .run();
    assert_usage(&out, "long prefix");
    assert!(out.stderr.contains("1 to 32 characters"), "{}", out.stderr);
    for prefix in ["CI_", "CI_TOKEN_", "GITLAB_", "CHAT_"] {
        let out = glprobe(&["--offline", "--variable-prefix", prefix])
            .env("GITLAB_TOKEN", &pat(1))
            .run();
        assert_usage(&out, prefix);
        assert!(out.stderr.contains("predefined"), "{}", out.stderr);
    }
}

#[test]
fn ca_files_are_checked_only_when_tls_is_used() {
    let dir = TempDir::new("ca");
    let corrupt = dir.path("corrupt.pem");
    std::fs::write(
        &corrupt,
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let out = glprobe(&[
        "--url",
        "https://127.0.0.1:9",
        "--ca-file",
        corrupt.to_str().unwrap(),
    ])
    .env("GITLAB_TOKEN", &pat(1))
    .run();
    assert_usage(&out, "corrupt PEM");
    assert!(out.stderr.contains("does not parse"), "{}", out.stderr);
    // Plain http to loopback: a missing CA file is no error, as none is needed.
    let server = FakeGitLab::start(Routes::new());
    let out = glprobe(&["--url", &server.url(), "--format", "dotenv"])
        .env("GITLAB_TOKEN", &pat(1))
        .env("SSL_CERT_FILE", "/nonexistent/ca.pem")
        .run();
    assert_ne!(out.code, 2, "{}", out.stderr);
}

#[test]
fn report_files_never_block_nor_overwrite_the_inputs() {
    let dir = TempDir::new("outputs");
    let fifo = dir.path("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let out = glprobe(&[
        "--offline",
        "--timeout",
        "1",
        "--dotenv",
        fifo.to_str().unwrap(),
    ])
    .env("GITLAB_TOKEN", &pat(1))
    .run();
    assert_usage(&out, "a FIFO nobody reads");
    assert!(
        out.elapsed < Duration::from_secs(4),
        "took {:?}",
        out.elapsed
    );

    let token_file = dir.path("token");
    std::fs::write(&token_file, pat(2)).unwrap();
    let path = token_file.to_str().unwrap();
    for args in [
        vec!["--token-file", path, "--dotenv", path],
        vec!["--token-file", path, "--json", path],
        vec!["--dotenv", "/tmp/x.out", "--json", "/tmp/x.out"],
    ] {
        let out = glprobe(&["--offline"])
            .args(&args)
            .env("GITLAB_TOKEN", &pat(3))
            .run();
        assert_usage(&out, &format!("{args:?}"));
        assert!(out.stderr.contains("name the same file"), "{}", out.stderr);
    }
    let kept = std::fs::read_to_string(&token_file).unwrap();
    assert!(kept.starts_with("glpat-"), "the token file was overwritten");
}

#[test]
fn weak_values_get_no_fingerprint() {
    for value in [
        "correcthorsebatterys",
        "aaaaaaaaaaaaaaaaaaaa",
        "000000000000000000000000000000",
        "glpat-passwordpassword",
    ] {
        let out = glprobe(&["--offline", "--format", "dotenv"])
            .env("GITLAB_TOKEN", value)
            .run();
        assert!(
            !out.stdout.contains("TOKEN_FINGERPRINT"),
            "{value}: {}",
            out.stdout
        );
    }
    let out = glprobe(&["--offline", "--format", "dotenv"])
        .env("GITLAB_TOKEN", &pat(1))
        .run();
    assert!(out.stdout.contains("TOKEN_FINGERPRINT="), "{}", out.stdout);
}
