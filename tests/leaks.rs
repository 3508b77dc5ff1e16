//! Secret safety: every kind of token, against every kind of answer — valid, refused, broken,
//! hostile (a server that echoes the token back) — in every output format, and the token in
//! none of them, in no spelling (as is, base64, percent-encoded). The token reaches only the
//! configured host.

use std::time::Duration;

use base64::Engine as _;
use serde_json::json;

use crate::support::fixtures;
use crate::support::gitlab::{FakeGitLab, Reply, Routes, TestCa};
use crate::support::tokens::{job_jwt, routable};
use crate::support::{TempDir, assert_no_leak, glprobe};

/// Recognisable tokens of every kind (canary bodies, valid alphabets).
fn tokens() -> Vec<String> {
    let f20 = "CanaryXyzQwertAsdfGh";
    vec![
        routable("glpat-", &[("o", 1), ("u", 424_242)]),
        format!("glpat-{f20}"),
        "c0ffee00".repeat(8),
        format!("gloas-{}", "c0ffee00".repeat(8)),
        format!("gldt-{f20}"),
        format!("glcbt-64_{f20}"),
        job_jwt(4242, 278, 3600, "127.0.0.1"),
        format!("glptt-{}", "c0ffee00".repeat(5)),
        format!("glrt-t1_{f20}"),
        format!("GR1348941{f20}"),
        format!("glft-{f20}"),
        "glimt-canaryxyzqwertasdfgh12".to_owned(),
        format!("glagent-{f20}{f20}{}", &f20[..10]),
        format!("glsoat-{f20}"),
        format!("glffct-{f20}"),
        routable("glwt-", &[("o", 1), ("u", 5)]),
        f20.to_owned(),
    ]
}

/// Answers that echo the token back in every place a client might print.
fn hostile(status: u16) -> impl Fn(&crate::support::gitlab::Recorded) -> Reply + Send + Sync {
    move |r| {
        let token = r
            .header("PRIVATE-TOKEN")
            .or(r.header("JOB-TOKEN"))
            .or(r.header("Runner-Token"))
            .or(r.header("UNLEASH-INSTANCEID"))
            .map(str::to_owned)
            .or_else(|| r.form("token"))
            .or_else(|| r.query_param("feed_token"))
            .or_else(|| {
                r.header("Authorization")
                    .map(|a| a.trim_start_matches("Bearer ").to_owned())
            })
            .unwrap_or_default();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&token);
        // The credential as it came: basic auth carries base64("user:token"), not the token.
        let authorization = r.header("Authorization").unwrap_or_default().to_owned();
        Reply::json(
            status,
            json!({
                "message": format!("{status} Forbidden - token {token} ({b64}) {authorization} is not allowed"),
                "authorization": authorization,
                "error": "invalid_token",
                "error_description": format!("Token {token} was revoked"),
                "errors": [{"code": "DENIED", "message": token}],
                "token": token,
                "username": token,
                "name": token,
            }),
        )
        .header(
            "WWW-Authenticate",
            &format!("Bearer error_description=\"{token}\""),
        )
        .header("Location", &format!("http://127.0.0.2/?t={token}"))
    }
}

type MakeRoutes = Box<dyn Fn() -> Routes>;

fn replies() -> Vec<(&'static str, MakeRoutes)> {
    vec![
        (
            "200s",
            Box::new(|| {
                Routes::new()
                    .on(
                        "GET",
                        "/api/v4/personal_access_tokens/self",
                        fixtures::pat_self(&["api"], Some(9), 1),
                    )
                    .on("GET", "/api/v4/user", fixtures::user(1, "u", false))
                    .on("GET", "/api/v4/job", fixtures::job(4242, 278))
                    .on(
                        "GET",
                        "/oauth/token/info",
                        fixtures::oauth_info(&["api"], 60),
                    )
                    .otherwise(|_| Reply::json(200, json!({})))
            }),
        ),
        (
            "401",
            Box::new(|| Routes::new().otherwise(|_| Reply::unauthorized())),
        ),
        (
            "hostile 401",
            Box::new(|| Routes::new().otherwise(hostile(401))),
        ),
        (
            "hostile 403",
            Box::new(|| Routes::new().otherwise(hostile(403))),
        ),
        (
            "hostile 200",
            Box::new(|| Routes::new().otherwise(hostile(200))),
        ),
        (
            "hostile 400",
            Box::new(|| Routes::new().otherwise(hostile(400))),
        ),
        (
            "hostile 302",
            Box::new(|| Routes::new().otherwise(hostile(302))),
        ),
        (
            "500",
            Box::new(|| Routes::new().otherwise(|_| Reply::json(500, json!({"message": "500"})))),
        ),
        (
            "html",
            Box::new(|| Routes::new().otherwise(|_| Reply::raw(200, "text/html", "<html></html>"))),
        ),
        (
            "garbage",
            Box::new(|| Routes::new().otherwise(|_| Reply::Garbage)),
        ),
        (
            "dropped",
            Box::new(|| Routes::new().otherwise(|_| Reply::DropMidBody)),
        ),
    ]
}

fn run_everywhere(url: &str, token: &str, extra: &[&str], vars: &[(&str, &str)], secrets: &[&str]) {
    let dir = TempDir::new("leak");
    let (env_file, json_file) = (dir.path("t.env"), dir.path("t.json"));
    for format in ["human", "json", "dotenv"] {
        let mut run = glprobe(&["--url", url, "--token-env", "TOK", "--format", format])
            .args(&[
                "--dotenv",
                env_file.to_str().unwrap(),
                "--json",
                json_file.to_str().unwrap(),
            ])
            .args(extra)
            .env("TOK", token)
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "full")
            .env("CI_PROJECT_ID", "278")
            .env("CI_DEPLOY_USER", "gitlab+deploy-token-1");
        if !extra.contains(&"--timeout") {
            run = run.args(&["--timeout", "2"]);
        }
        for (k, v) in vars {
            run = run.env(k, v);
        }
        let out = run.run();
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        // A usage error would prove nothing: the run must have reached a verdict.
        assert_ne!(out.code, 2, "{extra:?}: {}", out.stderr);
        assert!(
            json_file.exists() && env_file.exists(),
            "no report was written"
        );
        for secret in secrets {
            assert_no_leak(secret, &out, &[&env_file, &json_file]);
            // Basic auth's pair, as the deploy check sends it (user from CI_DEPLOY_USER).
            let pair = format!("gitlab+deploy-token-1:{secret}");
            assert_no_leak(&pair, &out, &[&env_file, &json_file]);
        }
    }
}

#[test]
fn no_kind_leaks_against_any_answer() {
    for (name, routes) in replies() {
        let server = FakeGitLab::start(routes());
        for token in tokens() {
            run_everywhere(&server.url(), &token, &[], &[], &[&token]);
        }
        // Every request carried the token only to this host.
        assert!(!server.requests().is_empty(), "{name}: nothing was asked");
    }
}

#[test]
fn the_admin_token_does_not_leak_either() {
    let admin = "glpat-AdminCanaryQwertAsdf";
    let server = FakeGitLab::start(Routes::new().otherwise(hostile(200)));
    for token in ["glsoat-CanaryXyzQwertAsdfGh", "gldt-CanaryXyzQwertAsdfGh"] {
        run_everywhere(
            &server.url(),
            token,
            &["--admin-token-env", "ADMIN"],
            &[("ADMIN", admin)],
            &[token, admin],
        );
    }
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/api/v4/admin/token")
    );
}

#[test]
fn runner_verify_echoes_the_token_and_glprobe_does_not() {
    let server = FakeGitLab::start(Routes::new().on_fn("POST", "/api/v4/runners/verify", |r| {
        Reply::json(
            200,
            json!({"id": 1, "token": r.form("token"), "token_expires_at": null}),
        )
    }));
    let token = "glrt-t1_CanaryXyzQwertAsdfGh";
    run_everywhere(
        &server.url(),
        token,
        &["--allow-runner-verify"],
        &[],
        &[token],
    );
}

#[test]
fn tls_failures_timeouts_and_refusals_do_not_leak() {
    let ca = TestCa::new();
    let tls = FakeGitLab::start_tls(Routes::new(), &ca.identity(&["127.0.0.1"], false));
    let hang = FakeGitLab::start(Routes::new().otherwise(|_| Reply::Hang));
    let closed = {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        format!("http://127.0.0.1:{port}")
    };
    for token in tokens() {
        for url in [tls.url(), hang.url(), closed.clone()] {
            run_everywhere(&url, &token, &["--timeout", "1"], &[], &[&token]);
        }
    }
}

#[test]
fn offline_runs_and_help_do_not_leak() {
    for token in tokens() {
        for args in [
            &["--offline"][..],
            &["--help"],
            &["--version"],
            &["--offline", "--format", "json"],
            &["--bogus"],
        ] {
            let out = glprobe(args)
                .env("GITLAB_TOKEN", &token)
                .env("CI_JOB_TOKEN", &token)
                .env("RUST_LOG", "trace")
                .run();
            assert_no_leak(&token, &out, &[]);
        }
    }
}

#[test]
fn the_token_reaches_only_the_configured_host() {
    let elsewhere = FakeGitLab::start_on(
        "127.0.0.2",
        Routes::new().otherwise(|_| Reply::unauthorized()),
        None,
        Duration::ZERO,
    );
    let to_elsewhere = format!("{}/steal", elsewhere.url());
    let server = FakeGitLab::start(Routes::new().otherwise(move |_| {
        Reply::raw(307, "text/plain", "moved").header("Location", &to_elsewhere)
    }));
    for token in tokens() {
        run_everywhere(&server.url(), &token, &[], &[], &[&token]);
    }
    assert!(
        elsewhere.requests().is_empty(),
        "a request reached 127.0.0.2"
    );
    assert!(!server.requests().is_empty());
}
