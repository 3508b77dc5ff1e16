//! The command line itself: help, version, usage errors (exit 2, one line on stderr).

use crate::support::{assert_code, glprobe};

#[test]
fn help_lists_flags_and_exit_codes() {
    let out = glprobe(&["--help"]).run();
    assert_code(&out, 0);
    for needle in [
        "--token-env",
        "--token-file",
        "--offline",
        "--format",
        "--expect",
        "--timeout",
    ] {
        assert!(out.stdout.contains(needle), "{needle} missing from --help");
    }
    for code in 0..=4 {
        assert!(
            out.stdout.contains(&format!("\n  {code} ")),
            "exit code {code} missing"
        );
    }
    assert!(out.stderr.is_empty());
}

#[test]
fn version() {
    let out = glprobe(&["--version"]).run();
    assert_code(&out, 0);
    assert_eq!(
        out.stdout,
        format!("glprobe {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_flags_are_usage_errors_in_one_line() {
    let cases: &[&[&str]] = &[
        &["--no-such-flag"],
        &["--format", "yaml"],
        &["--expect", "password"],
        &["--timeout", "-1"],
        &["--min-days-left", "soon"],
        &["--variable-prefix", "TOKEN-"],
        &["--token-env", "A", "--token-file", "B"],
        &["--token-file", "/nonexistent/dir/token"],
        &["--url", "http://gitlab.example.com"],
        &["--url", "gitlab.example.com"],
        &["--ca-file", "/nonexistent/ca.pem"],
        &["glpat-positional-token-value"],
    ];
    for args in cases {
        let out = glprobe(args)
            .env("GITLAB_TOKEN", "glpat-xKq7Tz9VbNw3RmPa2sYe")
            .run();
        assert_code(&out, 2);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.starts_with("glprobe: error: "), "{}", out.stderr);
    }
}

#[test]
fn an_unreadable_token_file_is_a_usage_error() {
    let dir = crate::support::TempDir::new("unreadable");
    let out = glprobe(&["--token-file", dir.0.to_str().unwrap()]).run();
    assert_code(&out, 2);
    assert!(
        out.stderr
            .contains("cannot read the file given to --token-file"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_token_given_where_a_name_or_path_belongs_is_never_echoed() {
    // People paste the token where a name, a path or a flag's value goes.
    let tokens = [
        "glpat-xKq7Tz9VbNw3RmPa2sYe".to_owned(),
        "5d1f3e2a9b8c7d6e5f4a3b2c1d0e9f8a".repeat(2),
        "xKq7Tz9VbNw3RmPa2sYe".to_owned(),
    ];
    for token in &tokens {
        let cases: Vec<Vec<&str>> = vec![
            vec![token],
            vec!["--offline", token],
            vec!["--token-env", token],
            vec!["--admin-token-env", token],
            vec!["--token-file", token],
            vec!["--format", token],
            vec!["--expect", token],
            vec!["--timeout", token],
            vec!["--min-days-left", token],
            vec!["--require-scopes", token],
            vec!["--url", token],
        ];
        for args in cases {
            let out = glprobe(&args)
                .env("GITLAB_TOKEN", "glpat-xKq7Tz9VbNw3RmPa2sYf")
                .run();
            assert_code(&out, 2);
            crate::support::assert_no_leak(token, &out, &[]);
            assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.stderr);
        }
    }
    // A plain unknown flag is still named.
    let out = glprobe(&["--bogus"]).run();
    assert!(
        out.stderr.contains("unknown flag --bogus"),
        "{}",
        out.stderr
    );
}
