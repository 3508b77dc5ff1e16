//! A GitLab (or something in its place) that misbehaves: every fault ends with
//! `TOKEN_VALID=unknown` and exit 4 — never a false "invalid", never a panic, never a hang.
//! Also TLS: a private CA that works when named, and certificates that must fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use crate::support::fixtures;
use crate::support::gitlab::{FakeGitLab, Reply, Routes, TestCa};
use crate::support::tokens::pat;
use crate::support::{Outcome, TempDir, assert_code, assert_no_leak, glprobe};

const SELF: &str = "/api/v4/personal_access_tokens/self";
const USER: &str = "/api/v4/user";

/// Both PAT routes answer the same way.
fn both(reply: Reply) -> Routes {
    Routes::new()
        .on("GET", SELF, reply.clone())
        .on("GET", USER, reply)
}

fn run_against(url: &str, token: &str, args: &[&str], vars: &[(&str, &str)]) -> Outcome {
    let mut run = glprobe(&["--url", url, "--token-env", "TOK", "--format", "dotenv"])
        .args(args)
        .env("TOK", token);
    for (k, v) in vars {
        run = run.env(k, v);
    }
    let out = run.run();
    assert_no_leak(token, &out, &[]);
    out
}

#[track_caller]
fn assert_undetermined(out: &Outcome, reason: &str) {
    assert_code(out, 4);
    let env = out.dotenv();
    assert_eq!(env["TOKEN_VALID"], "unknown");
    assert_eq!(env["TOKEN_REASON"], reason);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn a_server_that_never_answers_ends_within_the_timeout() {
    let server = FakeGitLab::start(both(Reply::Hang));
    let token = pat(1);
    let out = run_against(&server.url(), &token, &["--timeout", "2"], &[]);
    assert_undetermined(&out, "unreachable");
    assert!(
        out.elapsed < Duration::from_secs(3),
        "--timeout 2 took {:?}",
        out.elapsed
    );
}

#[test]
fn a_connection_dropped_mid_body() {
    let server = FakeGitLab::start(both(Reply::DropMidBody));
    let out = run_against(&server.url(), &pat(1), &["--timeout", "3"], &[]);
    assert_undetermined(&out, "unreachable");
}

#[test]
fn server_errors_are_never_an_invalid_token() {
    for status in [500, 502, 503, 504] {
        let server = FakeGitLab::start(both(Reply::json(
            status,
            json!({"message": format!("{status}")}),
        )));
        let out = run_against(&server.url(), &pat(1), &["--timeout", "3"], &[]);
        assert_undetermined(&out, "server_error");
        let attempts = server.requests().iter().filter(|r| r.path == SELF).count();
        let expected = if status == 500 { 1 } else { 3 };
        assert_eq!(attempts, expected, "attempts for {status}");
    }
}

#[test]
fn rate_limits_are_retried_honouring_retry_after() {
    // 429 with Retry-After: 1, then the real answer.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let routes = Routes::new()
        .on_fn("GET", SELF, move |_| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Reply::raw(429, "text/plain", "Retry later").header("Retry-After", "1")
            } else {
                fixtures::pat_self(&["api"], Some(30), 1)
            }
        })
        .on("GET", USER, fixtures::user(1, "jdoe", false));
    let server = FakeGitLab::start(routes);
    let out = run_against(&server.url(), &pat(1), &["--timeout", "5"], &[]);
    assert_code(&out, 0);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(
        out.elapsed >= Duration::from_millis(900),
        "Retry-After was not honoured"
    );

    // A rate limit that does not lift within --timeout: undetermined, not invalid.
    let limited =
        Reply::json(429, json!({"message": "429 Too Many Requests"})).header("Retry-After", "60");
    let server = FakeGitLab::start(both(limited));
    let out = run_against(&server.url(), &pat(1), &["--timeout", "2"], &[]);
    assert_undetermined(&out, "rate_limited");
    assert!(out.elapsed < Duration::from_secs(3));
}

#[test]
fn answers_that_are_not_gitlab_api() {
    let huge = format!("{{\"message\":\"{}\"}}", "x".repeat(400 * 1024));
    let cases: Vec<(&str, Reply)> = vec![
        (
            "an HTML proxy page with status 200",
            Reply::raw(
                200,
                "text/html; charset=utf-8",
                "<!DOCTYPE html><html><body>Sign in to the corporate proxy</body></html>",
            ),
        ),
        (
            "an HTML 401 from a proxy",
            Reply::raw(
                401,
                "text/html",
                "<html><body>401 Authorization Required</body></html>",
            ),
        ),
        ("a huge body", Reply::raw(200, "application/json", huge)),
        (
            "invalid UTF-8",
            Reply::raw(401, "application/json", vec![0x7b, 0xff, 0xfe, 0x7d]),
        ),
        (
            "a wrong Content-Type",
            Reply::raw(
                200,
                "text/plain",
                json!({"id": 1, "scopes": ["api"]}).to_string(),
            ),
        ),
        (
            "JSON that does not parse",
            Reply::raw(401, "application/json", "{\"message\": "),
        ),
        (
            "a 401 in an unexpected shape",
            Reply::json(401, json!({"detail": "nope"})),
        ),
    ];
    for (what, reply) in cases {
        let server = FakeGitLab::start(both(reply));
        let out = run_against(&server.url(), &pat(1), &["--timeout", "3"], &[]);
        assert_code(&out, 4);
        assert_eq!(out.dotenv()["TOKEN_VALID"], "unknown", "{what}");
    }
}

#[test]
fn something_that_is_not_http() {
    let server = FakeGitLab::start(both(Reply::Garbage));
    let out = run_against(&server.url(), &pat(1), &["--timeout", "3"], &[]);
    assert_undetermined(&out, "server_error");
}

#[test]
fn redirects_are_reported_and_never_followed_with_the_token() {
    let elsewhere = FakeGitLab::start_on(
        "127.0.0.2",
        both(Reply::unauthorized()),
        None,
        Duration::ZERO,
    );
    let target = format!("{}/api/v4/personal_access_tokens/self", elsewhere.url());
    let server = FakeGitLab::start(both(
        Reply::raw(
            302,
            "text/html",
            "<html><body>You are being redirected.</body></html>",
        )
        .header("Location", &target),
    ));
    let token = pat(1);
    let out = run_against(&server.url(), &token, &[], &[]);
    assert_undetermined(&out, "server_error");
    assert!(
        elsewhere.requests().is_empty(),
        "the second host received a request"
    );
    let human = glprobe(&["--url", &server.url(), "--token-env", "TOK"])
        .env("TOK", &token)
        .run();
    assert!(
        human.stdout.contains("never follows a redirect"),
        "{}",
        human.stdout
    );
    assert!(
        human.stdout.contains(&elsewhere.url()),
        "the target is named: {}",
        human.stdout
    );
}

#[test]
fn proxies_are_not_used_for_loopback_servers() {
    let proxy = FakeGitLab::start_on("127.0.0.2", Routes::new(), None, Duration::ZERO);
    let server = FakeGitLab::start(both(Reply::unauthorized()));
    let out = run_against(
        &server.url(),
        &pat(1),
        &[],
        &[
            ("HTTPS_PROXY", &proxy.url()),
            ("HTTP_PROXY", &proxy.url()),
            ("ALL_PROXY", &proxy.url()),
        ],
    );
    assert_code(&out, 1);
    assert!(proxy.requests().is_empty());
}

#[test]
fn a_private_ca_works_when_named() {
    let ca = TestCa::new();
    let dir = TempDir::new("ca");
    let ca_file = dir.path("ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let routes = || {
        Routes::new()
            .on("GET", SELF, fixtures::pat_self(&["api"], Some(30), 1))
            .on("GET", USER, fixtures::user(1, "jdoe", false))
    };
    let server = FakeGitLab::start_tls(routes(), &ca.identity(&["localhost", "127.0.0.1"], false));
    let ca_path = ca_file.to_str().unwrap();
    for url in [server.url(), server.url_as("localhost")] {
        let out = run_against(&url, &pat(1), &["--ca-file", ca_path], &[]);
        assert_code(&out, 0);
        for var in ["CI_SERVER_TLS_CA_FILE", "SSL_CERT_FILE"] {
            let out = run_against(&url, &pat(1), &[], &[(var, ca_path)]);
            assert_code(&out, 0);
        }
    }
    // The same server without the CA: the embedded roots do not know it.
    let out = run_against(&server.url(), &pat(1), &[], &[]);
    assert_undetermined(&out, "tls_error");
}

#[test]
fn certificates_that_must_fail() {
    let ca = TestCa::new();
    let dir = TempDir::new("badcert");
    let ca_file = dir.path("ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    for (what, identity) in [
        (
            "a certificate for another name",
            ca.identity(&["gitlab.other.example"], false),
        ),
        ("an expired certificate", ca.identity(&["127.0.0.1"], true)),
    ] {
        let server = FakeGitLab::start_tls(Routes::new(), &identity);
        let token = pat(1);
        let out = run_against(
            &server.url(),
            &token,
            &["--ca-file", ca_file.to_str().unwrap()],
            &[],
        );
        assert_undetermined(&out, "tls_error");
        assert!(
            server.requests().is_empty(),
            "{what}: a request got through"
        );
    }
    let not_pem = dir.path("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let out = glprobe(&[
        "--url",
        "https://127.0.0.1:9",
        "--ca-file",
        not_pem.to_str().unwrap(),
    ])
    .env("GITLAB_TOKEN", &pat(1))
    .run();
    assert_code(&out, 2);
    assert!(
        out.stderr.contains("holds no PEM certificate"),
        "{}",
        out.stderr
    );
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_anything_is_sent() {
    let out = glprobe(&["--url", "http://gitlab.example.com"])
        .env("GITLAB_TOKEN", &pat(1))
        .run();
    assert_code(&out, 2);
    assert!(out.stderr.contains("clear text"), "{}", out.stderr);
}

#[test]
fn https_proxy_is_honoured_for_remote_servers() {
    // Only loopback traffic: the URL is an address literal (no DNS), reached through a proxy
    // on 127.0.0.2 that refuses the tunnel.
    let proxy = FakeGitLab::start_on("127.0.0.2", Routes::new(), None, Duration::ZERO);
    let token = pat(1);
    let out = run_against(
        "https://10.255.255.1",
        &token,
        &["--timeout", "3"],
        &[("HTTPS_PROXY", &proxy.url())],
    );
    assert_undetermined(&out, "unreachable");
    let requests = proxy.requests();
    assert!(!requests.is_empty(), "the proxy was not used");
    assert!(
        requests
            .iter()
            .all(|r| r.method == "CONNECT" && r.path == "10.255.255.1:443")
    );
    for r in &requests {
        assert!(
            !r.everything().contains(&token),
            "the token reached the proxy in clear"
        );
    }
}

#[test]
fn refusals_count_only_in_gitlabs_own_words() {
    // A proxy, an identity-aware proxy or a WAF in front of GitLab answers 401 or 403 in its own
    // words: that proves nothing about the token.
    let f20 = crate::support::tokens::F20;
    let proxy_401 = || {
        Reply::raw(401, "text/plain", "Unauthorized")
            .header("WWW-Authenticate", "Basic realm=\"proxy\"")
    };
    let proxy_json_403 = || Reply::json(403, json!({"error": "blocked by policy"}));
    let cases: Vec<(String, &str, &str, Reply, &[&str])> = vec![
        (
            format!("glcbt-64_{f20}"),
            "GET",
            "/api/v4/job",
            proxy_401(),
            &[],
        ),
        (
            format!("glcbt-64_{f20}"),
            "GET",
            "/api/v4/job",
            Reply::json(401, json!({"detail": "x"})),
            &[],
        ),
        (
            format!("glrt-t1_{f20}"),
            "GET",
            "/api/v4/runners/router/discovery",
            proxy_json_403(),
            &[],
        ),
        (
            format!("glrt-t1_{f20}"),
            "GET",
            "/api/v4/runners/router/discovery",
            Reply::raw(501, "text/html", "<html>Not Implemented</html>"),
            &[],
        ),
        (
            format!("gldt-{f20}"),
            "GET",
            "/jwt/auth",
            proxy_401(),
            &["--username", "u"],
        ),
        (
            format!("glptt-{}", "0a1b2c3d4e".repeat(4)),
            "POST",
            "/api/v4/projects/278/trigger/pipeline",
            Reply::json(404, json!({"error": "no such thing"})),
            &["--project", "278"],
        ),
        (
            format!("glffct-{f20}"),
            "GET",
            "/api/v4/feature_flags/unleash/278/client/features",
            proxy_401(),
            &["--project", "278"],
        ),
        (
            format!("glft-{f20}"),
            "GET",
            "/dashboard/projects.atom",
            proxy_401(),
            &[],
        ),
    ];
    for (token, method, path, reply, args) in cases {
        let server = FakeGitLab::start(Routes::new().on(method, path, reply));
        let out = run_against(&server.url(), &token, args, &[]);
        assert_undetermined_any(&out, &token);
    }
}

#[track_caller]
fn assert_undetermined_any(out: &Outcome, what: &str) {
    assert_eq!(out.code, 4, "{what}:\n{}", out.stdout);
    assert_eq!(out.dotenv()["TOKEN_VALID"], "unknown", "{what}");
}

#[test]
fn a_failed_follow_up_does_not_decide_an_oauth_token() {
    // /oauth/token/info refuses it in Doorkeeper's words; the follow-up that would say why
    // (expired, revoked, unknown) fails. No cause is guessed: unknown as an OAuth token, the
    // 64 hex characters may still be an old application secret.
    let token = "5d1f3e2a9b8c7d6e".repeat(4);
    let routes = Routes::new()
        .on("GET", "/oauth/token/info", fixtures::oauth_invalid())
        .on("GET", USER, Reply::json(503, json!({"message": "503"})));
    let server = FakeGitLab::start(routes);
    let out = run_against(&server.url(), &token, &["--timeout", "2"], &[]);
    assert_undetermined(&out, "unverifiable");
    // A 401 that is not Doorkeeper's: nothing is decided.
    let server = FakeGitLab::start(Routes::new().on(
        "GET",
        "/oauth/token/info",
        Reply::json(401, json!({"x": 1})),
    ));
    let out = run_against(&server.url(), &token, &[], &[]);
    assert_undetermined_any(&out, "non-Doorkeeper 401");
}
