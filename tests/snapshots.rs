//! The human report, one snapshot per reason code, each from a real run (against the fake
//! GitLab where the reason comes from GitLab). The snapshots live in `tests/snapshots/` and are
//! reviewed for wording like any other text; `GLPROBE_BLESS=1 cargo test` rewrites them after a
//! deliberate change (review the diff before committing it).

use std::path::PathBuf;

use serde_json::json;

use crate::support::fixtures::{self, date_in};
use crate::support::gitlab::{FakeGitLab, Reply, Routes, TestCa};
use crate::support::tokens::{F20, job_jwt};
use crate::support::{assert_code, glprobe, root};

/// A fixed routable personal access token (user 12345), so snapshots show a stable mask.
const PAT: &str = "glpat-AAECAwQFBgcICQoLDA0OD286MQp1OjlpeAk.01.0z089t292";

fn snapshot(name: &str, code: i32, text: &str, server: Option<&str>) {
    let mut text = text.to_owned();
    if let Some(url) = server {
        let host = url.split("://").nth(1).unwrap_or(url);
        text = text
            .replace(url, "http://127.0.0.1:PORT")
            .replace(host, "127.0.0.1:PORT");
    }
    for days in [-3, 5, 160] {
        text = text.replace(&date_in(days), &format!("<today{days:+}>"));
    }
    let text = format!("exit {code}\n{text}");
    let path: PathBuf = root().join("tests/snapshots").join(format!("{name}.txt"));
    if std::env::var_os("GLPROBE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "no snapshot {}; run with GLPROBE_BLESS=1 once",
            path.display()
        )
    });
    assert_eq!(
        text, expected,
        "\nthe human report for `{name}` changed:\n--- expected\n{expected}\n--- actual\n{text}"
    );
}

fn online(name: &str, code: i32, var: &str, token: &str, routes: Routes, args: &[&str]) {
    let server = FakeGitLab::start(routes);
    let out = glprobe(&["--url", &server.url(), "--token-env", var, "--timeout", "3"])
        .args(args)
        .env(var, token)
        .run();
    assert_code(&out, code);
    snapshot(name, code, &out.stdout, Some(&server.url()));
}

fn offline(name: &str, code: i32, var: &str, token: Option<&str>, vars: &[(&str, &str)]) {
    let mut run = glprobe(&["--url", "http://127.0.0.1:9", "--token-env", var]);
    if let Some(token) = token {
        run = run.env(var, token);
    }
    for (k, v) in vars {
        run = run.env(k, v);
    }
    let out = run.run();
    assert_code(&out, code);
    snapshot(name, code, &out.stdout, None);
}

fn pat_routes(self_reply: Reply, user_reply: Reply) -> Routes {
    Routes::new()
        .on("GET", "/api/v4/personal_access_tokens/self", self_reply)
        .on("GET", "/api/v4/user", user_reply)
}

#[test]
fn ok() {
    let routes = pat_routes(
        fixtures::pat_self(&["read_api", "read_registry"], Some(160), 12345),
        fixtures::user(12345, "jdoe", false),
    );
    online("ok", 0, "GITLAB_TOKEN", PAT, routes, &[]);
}

#[test]
fn missing() {
    offline(
        "missing",
        1,
        "DEPLOY_TOKEN",
        None,
        &[("CI_COMMIT_REF_PROTECTED", "false")],
    );
}

#[test]
fn malformed() {
    offline(
        "malformed",
        1,
        "GITLAB_TOKEN",
        Some("${GITLAB_API_TOKEN}"),
        &[],
    );
}

#[test]
fn corrupted() {
    offline(
        "corrupted",
        1,
        "GITLAB_TOKEN",
        Some(&PAT[..PAT.len() - 2]),
        &[],
    );
}

#[test]
fn unknown_token() {
    let routes = pat_routes(Reply::unauthorized(), Reply::unauthorized());
    online("unknown_token", 1, "GITLAB_TOKEN", PAT, routes, &[]);
}

#[test]
fn expired() {
    let routes = pat_routes(Reply::expired(), Reply::expired());
    online("expired", 1, "GITLAB_TOKEN", PAT, routes, &[]);
}

#[test]
fn revoked() {
    let routes = pat_routes(Reply::revoked(), Reply::revoked());
    online("revoked", 1, "GITLAB_TOKEN", PAT, routes, &[]);
}

#[test]
fn job_not_running() {
    let routes = Routes::new()
        .on("GET", "/api/v4/job", Reply::unauthorized())
        .on(
            "POST",
            "/api/v4/projects/278/trigger/pipeline",
            fixtures::job_trigger_refused("Job is not running"),
        );
    let token = format!("glcbt-64_{F20}");
    let server = FakeGitLab::start(routes);
    let out = glprobe(&["--url", &server.url()])
        .env("CI_JOB_TOKEN", &token)
        .env("CI_PROJECT_ID", "278")
        .run();
    assert_code(&out, 1);
    snapshot("job_not_running", 1, &out.stdout, Some(&server.url()));
}

#[test]
fn user_blocked() {
    let blocked = Reply::forbidden("Your account has been blocked.");
    online(
        "user_blocked",
        1,
        "GITLAB_TOKEN",
        PAT,
        pat_routes(blocked.clone(), blocked),
        &[],
    );
}

#[test]
fn insufficient_scope() {
    let routes = pat_routes(
        fixtures::pat_self(&["read_repository"], Some(160), 12345),
        Reply::insufficient_scope("read_user read_api api"),
    );
    online(
        "insufficient_scope",
        3,
        "GITLAB_TOKEN",
        PAT,
        routes,
        &["--require-scopes", "read_api"],
    );
}

#[test]
fn expiring_soon() {
    let routes = pat_routes(
        fixtures::pat_self(&["api"], Some(5), 12345),
        fixtures::user(
            12345,
            "project_278_bot_3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c",
            true,
        ),
    );
    online(
        "expiring_soon",
        3,
        "DEPLOY_API_TOKEN",
        PAT,
        routes,
        &["--min-days-left", "14"],
    );
}

#[test]
fn kind_mismatch() {
    let routes = pat_routes(
        fixtures::pat_self(&["api"], Some(160), 12345),
        fixtures::user(12345, "jdoe", false),
    );
    online("kind_mismatch", 3, "CI_JOB_TOKEN", PAT, routes, &[]);
}

#[test]
fn not_allowlisted() {
    let routes = Routes::new()
        .on("GET", "/api/v4/job", fixtures::job(8, 278))
        .on(
            "GET",
            "/api/v4/projects/infra%2Fdeploy/releases",
            Reply::forbidden("Authentication by CI/CD job token not allowed from app to deploy."),
        );
    let token = format!("glcbt-64_{F20}");
    online(
        "not_allowlisted",
        3,
        "CI_JOB_TOKEN",
        &token,
        routes,
        &["--project", "infra/deploy"],
    );
}

#[test]
fn job_token_not_accepted() {
    // The story of issue 10: a job token on GET /projects/:id, which ignores job tokens.
    let routes = Routes::new()
        .on("GET", "/api/v4/job", fixtures::job(8, 278))
        .on(
            "GET",
            "/api/v4/projects/123",
            Reply::json(404, json!({"message": "404 Project Not Found"})),
        );
    let token = format!("glcbt-64_{F20}");
    online(
        "job_token_not_accepted",
        3,
        "CI_JOB_TOKEN",
        &token,
        routes,
        &["--request", "GET /api/v4/projects/123"],
    );
}

#[test]
fn project_not_found() {
    let routes = pat_routes(
        fixtures::pat_self(&["read_api"], Some(160), 12345),
        fixtures::user(12345, "jdoe", false),
    )
    .on(
        "GET",
        "/api/v4/projects/infra%2Fdeploy",
        fixtures::project_not_found(),
    );
    online(
        "project_not_found",
        3,
        "GITLAB_TOKEN",
        PAT,
        routes,
        &["--project", "infra/deploy"],
    );
}

#[test]
fn insufficient_role() {
    let routes = pat_routes(
        fixtures::pat_self(&["api"], Some(160), 12345),
        fixtures::user(12345, "jdoe", false),
    )
    .on(
        "GET",
        "/infra/deploy.git/info/refs",
        fixtures::git_refused(
            403,
            "You are not allowed to download code from this project.",
        ),
    );
    online(
        "insufficient_role",
        3,
        "GITLAB_TOKEN",
        PAT,
        routes,
        &["--project", "infra/deploy", "--access", "git"],
    );
}

#[test]
fn unverifiable() {
    online(
        "unverifiable",
        4,
        "DEPLOY_TOKEN",
        &format!("gldt-{F20}"),
        Routes::new(),
        &[],
    );
}

#[test]
fn server_error() {
    let error = Reply::json(500, json!({"message": "500 Internal Server Error"}));
    online(
        "server_error",
        4,
        "GITLAB_TOKEN",
        PAT,
        pat_routes(error.clone(), error),
        &[],
    );
}

#[test]
fn unreachable() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = glprobe(&["--url", &url, "--token-env", "GITLAB_TOKEN"])
        .env("GITLAB_TOKEN", PAT)
        .run();
    assert_code(&out, 4);
    snapshot("unreachable", 4, &out.stdout, Some(&url));
}

#[test]
fn tls_error() {
    // The server's certificate comes from a CA glprobe was not told about.
    let ca = TestCa::new();
    let server = FakeGitLab::start_tls(Routes::new(), &ca.identity(&["127.0.0.1"], false));
    let out = glprobe(&["--url", &server.url(), "--token-env", "GITLAB_TOKEN"])
        .env("GITLAB_TOKEN", PAT)
        .run();
    assert_code(&out, 4);
    let url = server.url();
    let host = url.trim_start_matches("https://");
    let text = out
        .stdout
        .replace(&url, "https://127.0.0.1:PORT")
        .replace(host, "127.0.0.1:PORT");
    snapshot("tls_error", 4, &text, None);
}

#[test]
fn a_jwt_job_token_report() {
    // Not a reason of its own: the report of a running JWT job token, with its claims.
    let token = job_jwt(4711, 278, 3600, "127.0.0.1");
    let routes = Routes::new().on("GET", "/api/v4/job", fixtures::job(4711, 278));
    let server = FakeGitLab::start(routes);
    let out = glprobe(&["--url", &server.url()])
        .env("CI_JOB_TOKEN", &token)
        .run();
    assert_code(&out, 0);
    // The expiry is relative to now; keep the structure, not the minutes.
    let text: String = out
        .stdout
        .lines()
        .map(|l| {
            if l.starts_with("Expires") {
                "Expires  <in about an hour>"
            } else {
                l
            }
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let text = text.replace(&token[token.len() - 4..], "<last4>");
    let fingerprint = glprobe::token::Token::new(&token).fingerprint();
    let text = text.replace(&fingerprint, "<fingerprint>");
    snapshot("job_token_jwt", 0, &text, Some(&server.url()));
}
