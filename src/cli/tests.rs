//! Unit tests of the command line: sources, URLs, usage errors, help.

use super::*;
use std::collections::HashMap;

fn run(args: &[&str], vars: &[(&str, &str)]) -> Result<Command, UsageError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut all = vec![OsString::from("glprobe")];
    all.extend(args.iter().map(OsString::from));
    parse(&all, &|name| vars.get(name).cloned())
}

fn config(args: &[&str], vars: &[(&str, &str)]) -> Config {
    match run(args, vars) {
        Ok(Command::Run(c)) => *c,
        other => panic!("expected a config, got {other:?}"),
    }
}

#[test]
fn token_source_defaults() {
    let c = config(&[], &[("GITLAB_TOKEN", "a"), ("CI_JOB_TOKEN", "b")]);
    assert_eq!(c.source, Source::Env("GITLAB_TOKEN".into()));
    let c = config(&[], &[("CI_JOB_TOKEN", "b")]);
    assert_eq!(c.source, Source::Env("CI_JOB_TOKEN".into()));
    assert!(c.variable_set);
    assert_eq!(c.claim.unwrap().kind, Kind::JobToken);
    let c = config(&["--token-env", "X"], &[]);
    assert!(!c.variable_set && c.token.is_empty());
    let c = config(
        &["--token-env", "CI_JOB_TOKEN", "--expect", "deploy_token"],
        &[],
    );
    assert_eq!(
        c.claim,
        Some(Claim {
            kind: Kind::DeployToken,
            variable: None
        })
    );
}

#[test]
fn url_defaults_and_rules() {
    let c = config(&[], &[]);
    assert_eq!(c.server.unwrap().url, "https://gitlab.com");
    let c = config(
        &[],
        &[("CI_API_V4_URL", "https://git.example.com/gitlab/api/v4")],
    );
    assert_eq!(c.server.unwrap().url, "https://git.example.com/gitlab");
    let c = config(
        &[],
        &[
            ("CI_SERVER_URL", "https://a.example.com/"),
            ("CI_API_V4_URL", "https://b.example.com/api/v4"),
        ],
    );
    assert_eq!(c.server.unwrap().url, "https://a.example.com");
    assert!(
        config(&["--offline", "--url", "http://example.com"], &[])
            .server
            .is_none()
    );

    let ok = parse_server_url("http://127.0.0.1:8080/root/").unwrap();
    assert_eq!(ok.url, "http://127.0.0.1:8080/root");
    assert!(ok.loopback);
    assert!(parse_server_url("http://[::1]:99").unwrap().loopback);
    assert!(parse_server_url("http://localhost").is_ok());
    for bad in [
        "http://gitlab.example.com",
        "ftp://x",
        "gitlab.com",
        "https://user@host",
        "https://host:port",
        "https://host/?q",
    ] {
        assert!(parse_server_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn usage_errors_are_one_line() {
    for args in [
        vec!["--bogus"],
        vec!["--format", "xml"],
        vec!["--expect", "password"],
        vec!["--timeout", "0"],
        vec!["--variable-prefix", "A-B"],
        vec!["--require-scopes", "read api"],
        vec!["--token-env", "A", "--token-file", "B"],
        vec!["--token-file", "/nonexistent/glprobe-token"],
        vec!["--url", "http://gitlab.example.com"],
        vec!["--admin-token-env", "NOPE"],
        vec!["a-token-value"],
    ] {
        let err = run(&args, &[]).expect_err(&format!("{args:?}"));
        assert!(!err.0.contains('\n'), "{args:?}: {err}");
    }
}

#[test]
fn help_and_version_print() {
    let Ok(Command::Print(help)) = run(&["--help"], &[]) else {
        panic!("help")
    };
    assert!(help.contains("--token-env"));
    assert!(help.contains("4 "), "exit codes are listed:\n{help}");
    let Ok(Command::Print(version)) = run(&["--version"], &[]) else {
        panic!("version")
    };
    assert!(version.starts_with("glprobe "));
}
