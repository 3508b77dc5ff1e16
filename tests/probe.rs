//! One scenario per kind and per failure, against the fake GitLab. Each asserts the exit code,
//! the dotenv values, the requests made (count, method, path, where the token travelled) and
//! that the token appears in no output.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

use crate::support::fixtures::{self, date_in};
use crate::support::gitlab::{FakeGitLab, Recorded, Reply, Routes};
use crate::support::tokens::{F20, job_jwt, pat};
use crate::support::{Outcome, TempDir, assert_code, assert_no_leak, glprobe};

/// Where a request carried the token.
#[derive(Debug, Clone, Copy)]
enum Via {
    Header(&'static str),
    Bearer,
    Basic(&'static str),
    Form,
    Query(&'static str),
    Admin(&'static str),
}

struct Probe {
    token: String,
    out: Outcome,
    env: BTreeMap<String, String>,
    json: Value,
    requests: Vec<Recorded>,
}

impl Probe {
    #[track_caller]
    fn verdict(&self, code: i32, kind: &str, valid: &str, reason: &str) -> &Probe {
        assert_code(&self.out, code);
        assert_eq!(self.env["TOKEN_KIND"], kind, "kind; json: {:#}", self.json);
        assert_eq!(
            self.env["TOKEN_VALID"], valid,
            "valid; json: {:#}",
            self.json
        );
        assert_eq!(
            self.env["TOKEN_REASON"], reason,
            "reason; json: {:#}",
            self.json
        );
        assert_eq!(self.env["TOKEN_EXIT_CODE"], code.to_string());
        self
    }

    /// The requests, in any order (concurrent ones arrive in any order), each with the token
    /// exactly where it should be and nowhere else.
    #[track_caller]
    fn asked(&self, expected: &[(&str, &str, Via)]) -> &Probe {
        let seen = crate::support::gitlab::method_paths(&self.requests);
        let want = crate::support::gitlab::sorted_pairs(expected.iter().map(|(m, p, _)| (*m, *p)));
        assert_eq!(
            seen, want,
            "requests made; json: {:#}",
            self.json["requests"]
        );
        for (method, path, via) in expected {
            let r = self
                .requests
                .iter()
                .find(|r| r.method == *method && r.path == *path)
                .unwrap();
            carried(r, &self.token, *via);
        }
        self
    }

    fn detail(&self, key: &str) -> &Value {
        &self.json["details"][key]
    }

    fn text(&self) -> String {
        self.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| format!("{} {}", f["summary"], f["next"]))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[track_caller]
fn carried(r: &Recorded, token: &str, via: Via) {
    let everything = r.everything();
    match via {
        Via::Header(name) => assert_eq!(r.header(name), Some(token), "{name} of {}", r.path),
        Via::Bearer => assert_eq!(
            r.header("Authorization").map(str::to_owned),
            Some(format!("Bearer {token}"))
        ),
        Via::Basic(user) => {
            let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
            assert_eq!(
                r.header("Authorization").map(str::to_owned),
                Some(format!("Basic {pair}"))
            );
            assert!(!everything.contains(token));
            return;
        }
        Via::Form => {
            assert_eq!(r.form("token").as_deref(), Some(token));
            assert!(
                r.header("Content-Type")
                    .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
            );
        }
        Via::Query(name) => assert_eq!(r.query_param(name).as_deref(), Some(token)),
        Via::Admin(admin) => {
            assert_eq!(r.header("PRIVATE-TOKEN"), Some(admin));
            let body: Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(body, json!({"token": token}));
        }
    }
    let encoded = glprobe::probe::http::percent_encode(token);
    let count = everything.matches(token).count()
        + if encoded != token {
            everything.matches(&encoded).count()
        } else {
            0
        };
    assert_eq!(
        count, 1,
        "the token travels once per request:\n{everything}"
    );
}

/// Runs glprobe against a fake GitLab with these routes, the token in `$TOK`.
fn check(token: &str, routes: Routes, args: &[&str], vars: &[(&str, &str)]) -> Probe {
    check_in("TOK", token, routes, args, vars)
}

fn check_in(var: &str, token: &str, routes: Routes, args: &[&str], vars: &[(&str, &str)]) -> Probe {
    let server = FakeGitLab::start(routes);
    let dir = TempDir::new("probe");
    let json_path = dir.path("report.json");
    let mut run = glprobe(&[
        "--url",
        &server.url(),
        "--token-env",
        var,
        "--format",
        "dotenv",
    ])
    .args(&["--json", json_path.to_str().unwrap()])
    .args(args)
    .env(var, token);
    if !args.contains(&"--timeout") {
        run = run.args(&["--timeout", "5"]);
    }
    for (k, v) in vars {
        run = run.env(k, v);
    }
    let out = run.run();
    assert_no_leak(token, &out, &[&json_path]);
    let env = crate::support::parse_dotenv(&out.stdout);
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    let requests = server.requests();
    Probe {
        token: token.to_owned(),
        out,
        env,
        json,
        requests,
    }
}

const SELF: &str = "/api/v4/personal_access_tokens/self";
const USER: &str = "/api/v4/user";
const PAT_VIA: Via = Via::Header("PRIVATE-TOKEN");

fn pat_asked(p: &Probe) {
    p.asked(&[("GET", SELF, PAT_VIA), ("GET", USER, PAT_VIA)]);
}

// Personal, project and group access tokens.

#[test]
fn valid_personal_access_token() {
    let token = pat(1337);
    let routes = Routes::new()
        .on(
            "GET",
            SELF,
            fixtures::pat_self(&["read_api", "read_user"], Some(160), 1337),
        )
        .on("GET", USER, fixtures::user(1337, "jdoe", false));
    let p = check(&token, routes, &[], &[]);
    p.verdict(0, "personal_access_token", "true", "ok");
    pat_asked(&p);
    assert_eq!(p.env["TOKEN_SCOPES"], "read_api,read_user");
    assert_eq!(p.env["TOKEN_EXPIRES_AT"], date_in(160));
    assert_eq!(p.env["TOKEN_DAYS_LEFT"], "160");
    assert_eq!(p.env["TOKEN_USER"], "jdoe");
    assert_eq!(p.env["TOKEN_USER_ID"], "1337");
    assert_eq!(p.detail("name"), "ci-validator");
}

#[test]
fn project_and_group_access_tokens_are_told_apart_by_their_bot_user() {
    for (username, kind, id_key) in [
        (
            "project_42_bot_5d3c1f0a9b8e7d6c5b4a3f2e1d0c9b8a",
            "project_access_token",
            "TOKEN_PROJECT_ID",
        ),
        (
            "group_7_bot_0a1b2c3d4e5f60718293a4b5c6d7e8f9",
            "group_access_token",
            "",
        ),
    ] {
        let routes = Routes::new()
            .on("GET", SELF, fixtures::pat_self(&["api"], None, 901))
            .on("GET", USER, fixtures::user(901, username, true));
        let p = check(&pat(901), routes, &[], &[]);
        p.verdict(0, kind, "true", "ok");
        pat_asked(&p);
        assert_eq!(p.env["TOKEN_USER"], username);
        assert!(!p.env.contains_key("TOKEN_EXPIRES_AT"), "never expires");
        assert_eq!(p.detail("never_expires"), true);
        if !id_key.is_empty() {
            assert_eq!(p.env[id_key], "42");
        }
    }
}

#[test]
fn owner_hidden_by_scope_still_valid() {
    let routes = Routes::new()
        .on(
            "GET",
            SELF,
            fixtures::pat_self(&["read_repository"], Some(30), 5),
        )
        .on(
            "GET",
            USER,
            Reply::insufficient_scope("read_user read_api api"),
        );
    let p = check(&pat(5), routes, &[], &[]);
    p.verdict(0, "personal_access_token", "true", "ok");
    let notes = p.json["notes"].to_string();
    assert!(
        notes.contains("may also be a project or group access token"),
        "{notes}"
    );
}

#[test]
fn expired_revoked_and_unknown_access_tokens() {
    for (reply, reason, phrase) in [
        (Reply::expired(), "expired", "has expired"),
        (Reply::revoked(), "revoked", "was revoked"),
        (
            Reply::unauthorized(),
            "unknown_token",
            "does not know this token",
        ),
    ] {
        let routes = Routes::new()
            .on("GET", SELF, reply.clone())
            .on("GET", USER, reply);
        let p = check(&format!("glpat-{F20}"), routes, &[], &[]);
        p.verdict(1, "personal_access_token", "false", reason);
        pat_asked(&p);
        assert!(p.text().contains(phrase), "{}", p.text());
    }
}

#[test]
fn blocked_and_deactivated_users() {
    for message in [
        "Your account has been blocked.",
        "Your account has been deactivated by your administrator. Please log back in from a web browser to reactivate your account at http://gitlab.example.com",
        "Your account is pending approval from your administrator and hence blocked.",
    ] {
        let reply = Reply::forbidden(message);
        let routes = Routes::new()
            .on("GET", SELF, reply.clone())
            .on("GET", USER, reply);
        let p = check(&pat(8), routes, &[], &[]);
        p.verdict(1, "personal_access_token", "false", "user_blocked");
        assert!(p.text().contains(message), "{}", p.text());
    }
}

#[test]
fn a_relative_url_root_is_kept() {
    // GitLab served under /gitlab: every path starts there.
    let routes = Routes::new()
        .on(
            "GET",
            "/gitlab/api/v4/personal_access_tokens/self",
            fixtures::pat_self(&["api"], Some(9), 2),
        )
        .on(
            "GET",
            "/gitlab/api/v4/user",
            fixtures::user(2, "jdoe", false),
        );
    let server = FakeGitLab::start(routes);
    for url in [
        format!("{}/gitlab", server.url()),
        format!("{}/gitlab/", server.url()),
    ] {
        let out = glprobe(&["--url", &url, "--format", "dotenv"])
            .env("GITLAB_TOKEN", &pat(2))
            .run();
        assert_code(&out, 0);
    }
    // Derived from CI_API_V4_URL, as in a job.
    let api = format!("{}/gitlab/api/v4", server.url());
    let out = glprobe(&["--format", "dotenv"])
        .env("GITLAB_TOKEN", &pat(2))
        .env("CI_API_V4_URL", &api)
        .run();
    assert_code(&out, 0);
    assert_eq!(server.requests().len(), 6);
}

#[test]
fn gitlab_before_15_5_has_no_self_endpoint() {
    let routes = Routes::new().on("GET", USER, fixtures::user(3, "old", false));
    let p = check(&pat(3), routes, &[], &[]);
    p.verdict(0, "personal_access_token", "true", "ok");
    pat_asked(&p);
}

#[test]
fn requirements_on_a_valid_access_token() {
    let routes = || {
        Routes::new()
            .on("GET", SELF, fixtures::pat_self(&["read_api"], Some(5), 9))
            .on("GET", USER, fixtures::user(9, "jdoe", false))
    };
    let p = check(
        &pat(9),
        routes(),
        &["--require-scopes", "read_api,write_registry"],
        &[],
    );
    p.verdict(3, "personal_access_token", "true", "insufficient_scope");
    assert!(
        p.text()
            .contains("lacks the scope write_registry (it has: read_api)"),
        "{}",
        p.text()
    );

    let p = check(
        &pat(9),
        routes(),
        &["--require-scopes", "read_api", "--min-days-left", "14"],
        &[],
    );
    p.verdict(3, "personal_access_token", "true", "expiring_soon");
    assert_eq!(p.env["TOKEN_DAYS_LEFT"], "5");
    assert!(
        p.text().contains("in 5 days; you require at least 14"),
        "{}",
        p.text()
    );

    let p = check(&pat(9), routes(), &["--min-days-left", "5"], &[]);
    p.verdict(0, "personal_access_token", "true", "ok");

    let p = check(
        &pat(9),
        routes(),
        &["--expect", "project_access_token"],
        &[],
    );
    p.verdict(3, "personal_access_token", "true", "kind_mismatch");
}

#[test]
fn a_valid_personal_access_token_in_ci_job_token() {
    // The seed's story, online: GitLab accepts the token, but not as a job token.
    let token = pat(77);
    let routes = Routes::new()
        .on("GET", SELF, fixtures::pat_self(&["api"], Some(90), 77))
        .on("GET", USER, fixtures::user(77, "dev", false));
    let p = check_in("CI_JOB_TOKEN", &token, routes, &[], &[]);
    p.verdict(3, "personal_access_token", "true", "kind_mismatch");
    pat_asked(&p);
    assert!(
        p.text().contains(
            "$CI_JOB_TOKEN holds a personal access token, not the job token GitLab provides"
        ),
        "{}",
        p.text()
    );
    assert_eq!(p.json["token"]["claimed_by"], "variable:CI_JOB_TOKEN");
}

#[test]
fn project_access_of_an_access_token() {
    let routes = |reply: Reply| {
        Routes::new()
            .on("GET", SELF, fixtures::pat_self(&["read_api"], Some(60), 4))
            .on("GET", USER, fixtures::user(4, "jdoe", false))
            .on("GET", "/api/v4/projects/infra%2Fdeploy", reply)
    };
    let asked = [
        ("GET", SELF, PAT_VIA),
        ("GET", USER, PAT_VIA),
        ("GET", "/api/v4/projects/infra%2Fdeploy", PAT_VIA),
    ];
    let p = check(
        &pat(4),
        routes(Reply::json(200, json!({"id": 12}))),
        &["--project", "infra/deploy"],
        &[],
    );
    p.verdict(0, "personal_access_token", "true", "ok")
        .asked(&asked);
    assert_eq!(p.env["TOKEN_ACCESS_API"], "true");
    let p = check(
        &pat(4),
        routes(Reply::json(
            404,
            json!({"message": "404 Project Not Found"}),
        )),
        &["--project", "infra/deploy"],
        &[],
    );
    // A 404 for an access token is project_not_found (before access checks: not_allowlisted).
    p.verdict(3, "personal_access_token", "true", "project_not_found")
        .asked(&asked);
    assert_eq!(p.env["TOKEN_ACCESS_API"], "false");
    assert!(
        p.text().contains("@jdoe cannot see project infra/deploy"),
        "{}",
        p.text()
    );
    let p = check(
        &pat(4),
        routes(Reply::insufficient_scope("api read_api")),
        &["--project", "infra/deploy"],
        &[],
    );
    p.verdict(3, "personal_access_token", "true", "insufficient_scope");
}

// OAuth access tokens.

#[test]
fn oauth_access_tokens() {
    let token = "5d1f3e2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e";
    let p = check(
        token,
        Routes::new().on(
            "GET",
            "/oauth/token/info",
            fixtures::oauth_info(&["api"], 7131),
        ),
        &[],
        &[],
    );
    p.verdict(0, "oauth_access_token", "true", "ok").asked(&[(
        "GET",
        "/oauth/token/info",
        Via::Bearer,
    )]);
    assert_eq!(p.env["TOKEN_SCOPES"], "api");
    assert_eq!(p.env["TOKEN_USER_ID"], "1");
    assert!(p.env["TOKEN_DAYS_LEFT"].parse::<i64>().unwrap() <= 1);

    for (reply, reason) in [(Reply::expired(), "expired"), (Reply::revoked(), "revoked")] {
        let routes = Routes::new()
            .on("GET", "/oauth/token/info", fixtures::oauth_invalid())
            .on("GET", USER, reply);
        let p = check(token, routes, &[], &[]);
        p.verdict(1, "oauth_access_token", "false", reason).asked(&[
            ("GET", "/oauth/token/info", Via::Bearer),
            ("GET", USER, Via::Bearer),
        ]);
    }

    // Refused by both: unknown. An application secret is never a bearer token, so that
    // reading is a note with how to check one, not a reason to leave the verdict open.
    let routes = Routes::new()
        .on("GET", "/oauth/token/info", fixtures::oauth_invalid())
        .on("GET", USER, Reply::unauthorized());
    let p = check(token, routes, &[], &[]);
    p.verdict(1, "unknown", "false", "unknown_token");
    assert_eq!(
        p.env["TOKEN_CANDIDATES"],
        "oauth_access_token,oauth_application_secret"
    );
    let text = format!("{} {}", p.text(), p.json["notes"]);
    assert!(text.contains("OAuth application secret"), "{text}");
    assert!(text.contains("--expect oauth_application_secret"), "{text}");
    assert!(text.contains("--admin-token-env"), "{text}");
    // OAuth tokens are refreshed or authorized again, never "rotated".
    let routes = Routes::new()
        .on("GET", "/oauth/token/info", fixtures::oauth_invalid())
        .on("GET", USER, Reply::expired());
    let p = check(token, routes, &[], &[]);
    let text = p.text();
    assert!(text.contains("refresh token"), "{text}");
    assert!(!text.contains("rotate"), "{text}");
    assert_eq!(p.json["docs"], "https://docs.gitlab.com/api/oauth2/");
}

// Job tokens.

const JOB: &str = "/api/v4/job";
const JOB_VIA: Via = Via::Header("JOB-TOKEN");

#[test]
fn running_job_tokens() {
    let db = format!("glcbt-64_{F20}");
    let p = check_in(
        "CI_JOB_TOKEN",
        &db,
        Routes::new().on("GET", JOB, fixtures::job(8, 278)),
        &[],
        &[],
    );
    p.verdict(0, "job_token", "true", "ok")
        .asked(&[("GET", JOB, JOB_VIA)]);
    assert_eq!(p.env["TOKEN_JOB_ID"], "8");
    assert_eq!(p.env["TOKEN_PROJECT_ID"], "278");
    assert_eq!(p.env["TOKEN_USER"], "root");
    assert_eq!(p.detail("job_status"), "running");

    let jwt = job_jwt(8, 278, 3600, "127.0.0.1");
    let p = check_in(
        "CI_JOB_TOKEN",
        &jwt,
        Routes::new().on("GET", JOB, fixtures::job(8, 278)),
        &[],
        &[],
    );
    p.verdict(0, "job_token", "true", "ok")
        .asked(&[("GET", JOB, JOB_VIA)]);
}

#[test]
fn finished_erased_and_unknown_job_tokens_are_explained() {
    let jwt = job_jwt(8, 278, 3600, "127.0.0.1");
    let trigger = "/api/v4/projects/278/trigger/pipeline";
    for (reply, reason, phrase) in [
        (
            fixtures::job_trigger_refused("Job is not running"),
            "job_not_running",
            "job 8 is no longer running",
        ),
        (
            fixtures::job_trigger_refused("Job has been erased!"),
            "job_not_running",
            "job 8 has been erased",
        ),
        (
            fixtures::job_trigger_refused("Job token has expired"),
            "expired",
            "has expired",
        ),
        (
            Reply::json(404, json!({"message": "404 Not Found"})),
            "unknown_token",
            "does not know this job token",
        ),
    ] {
        let routes = Routes::new()
            .on("GET", JOB, Reply::unauthorized())
            .on("POST", trigger, reply);
        let p = check_in("CI_JOB_TOKEN", &jwt, routes, &[], &[]);
        p.verdict(1, "job_token", "false", reason)
            .asked(&[("GET", JOB, JOB_VIA), ("POST", trigger, Via::Form)]);
        assert!(p.text().contains(phrase), "{}", p.text());
        let post = p.requests.iter().find(|r| r.method == "POST").unwrap();
        let git_ref = post.form("ref").unwrap();
        assert!(
            git_ref.starts_with("refs/heads/glprobe-nonexistent-") && git_ref.len() == 71,
            "{git_ref}"
        );
    }
}

#[test]
fn a_database_job_token_refused_without_a_project() {
    let token = format!("glcbt-64_{F20}");
    let p = check(
        &token,
        Routes::new().on("GET", JOB, Reply::unauthorized()),
        &[],
        &[],
    );
    p.verdict(1, "job_token", "false", "unknown_token")
        .asked(&[("GET", JOB, JOB_VIA)]);
    assert!(p.text().contains("Pass --project"), "{}", p.text());
}

#[test]
fn a_job_token_from_another_instance() {
    // Never sent: --url would only refuse it, and the token would have travelled for nothing.
    let routes = || {
        Routes::new().on("GET", JOB, Reply::unauthorized()).on(
            "POST",
            "/api/v4/projects/278/trigger/pipeline",
            Reply::json(500, json!({"message": "500 Internal Server Error"})),
        )
    };
    for issuer in [
        "gitlab.other.example",
        "https://GitLab.Other.Example:8443/root",
    ] {
        let jwt = job_jwt(8, 278, 3600, issuer);
        let p = check(&jwt, routes(), &["--project", "acme/app"], &[]);
        p.verdict(4, "job_token", "unknown", "unverifiable")
            .asked(&[]);
        let text = p.text();
        assert!(
            text.contains("--url https://gitlab.other.example"),
            "{text}"
        );
    }
    // The same host in another spelling (case, port, scheme) is this instance: sent.
    for issuer in ["127.0.0.1", "HTTPS://127.0.0.1:443/"] {
        let jwt = job_jwt(8, 278, 3600, issuer);
        let p = check(&jwt, routes(), &[], &[]);
        assert!(!p.requests.is_empty(), "{issuer}: not sent");
    }
    // An issuer that is not a plain host name blocks nothing.
    let p = check(&job_jwt(8, 278, 3600, "not a host"), routes(), &[], &[]);
    assert!(!p.requests.is_empty(), "not sent");
}

#[test]
fn job_token_allowlist() {
    let releases = "/api/v4/projects/infra%2Fdeploy/releases";
    let run = |reply: Reply| {
        let routes = Routes::new()
            .on("GET", JOB, fixtures::job(8, 278))
            .on("GET", releases, reply);
        check_in(
            "CI_JOB_TOKEN",
            &format!("glcbt-64_{F20}"),
            routes,
            &["--project", "infra/deploy"],
            &[],
        )
    };
    let p = run(Reply::forbidden(
        "Authentication by CI/CD job token not allowed from app to deploy.",
    ));
    p.verdict(3, "job_token", "true", "not_allowlisted")
        .asked(&[("GET", JOB, JOB_VIA), ("GET", releases, JOB_VIA)]);
    let text = p.text();
    assert!(
        text.contains("app is not on the job token allowlist of deploy"),
        "{text}"
    );
    assert!(text.contains("Authorized groups and projects"), "{text}");
    let releases_request = p.requests.iter().find(|r| r.path == releases).unwrap();
    assert_eq!(
        releases_request.query_param("per_page").as_deref(),
        Some("1")
    );

    let p = run(Reply::json(200, json!([])));
    p.verdict(0, "job_token", "true", "ok");

    let p = run(Reply::forbidden(
        "Insufficient permissions to access this resource in project deploy. The following token permission is required: read_releases.",
    ));
    p.verdict(3, "job_token", "true", "insufficient_scope");
}

// Deploy tokens.

#[test]
fn deploy_tokens() {
    let token = format!("gldt-{F20}");
    let jwt_auth = "/jwt/auth";
    let user = "gitlab+deploy-token-12";
    let valid = Reply::json(
        200,
        json!({"token": "eyJhbGciOiJSUzI1NiJ9.eyJyZWdpc3RyeSI6dHJ1ZX0.c2ln"}),
    );
    let p = check(
        &token,
        Routes::new().on("GET", jwt_auth, valid.clone()),
        &["--username", user],
        &[],
    );
    p.verdict(0, "deploy_token", "true", "ok")
        .asked(&[("GET", jwt_auth, Via::Basic(user))]);
    assert_eq!(p.requests[0].query, "service=container_registry");
    assert_eq!(p.env["TOKEN_USER"], user);

    // The username defaults to CI_DEPLOY_USER.
    let p = check_in(
        "CI_DEPLOY_PASSWORD",
        &token,
        Routes::new().on("GET", jwt_auth, valid),
        &[],
        &[("CI_DEPLOY_USER", user)],
    );
    p.verdict(0, "deploy_token", "true", "ok")
        .asked(&[("GET", jwt_auth, Via::Basic(user))]);

    let p = check(
        &token,
        Routes::new().on("GET", jwt_auth, fixtures::registry_unauthorized()),
        &["--username", user],
        &[],
    );
    p.verdict(1, "deploy_token", "false", "unknown_token");

    let denied = Reply::json(
        403,
        json!({"errors": [{"code": "DENIED", "message": "access forbidden"}]}),
    );
    let p = check(
        &token,
        Routes::new().on("GET", jwt_auth, denied),
        &["--username", user],
        &[],
    );
    p.verdict(0, "deploy_token", "true", "ok");
    assert!(
        p.json["notes"]
            .to_string()
            .contains("no read_registry or write_registry scope")
    );

    let p = check(&token, Routes::new(), &[], &[]);
    p.verdict(4, "deploy_token", "unknown", "unverifiable")
        .asked(&[]);
    assert!(p.text().contains("Pass --username NAME"), "{}", p.text());
}

// Trigger tokens.

#[test]
fn trigger_tokens() {
    let token = format!("glptt-{}", "0a1b2c3d4e".repeat(4));
    let path = "/api/v4/projects/278/trigger/pipeline";
    let p = check(
        &token,
        Routes::new().on("POST", path, fixtures::reference_not_found()),
        &[],
        &[("CI_PROJECT_ID", "278")],
    );
    p.verdict(0, "trigger_token", "true", "ok")
        .asked(&[("POST", path, Via::Form)]);

    let p = check(
        &token,
        Routes::new().on(
            "POST",
            path,
            Reply::json(404, json!({"message": "404 Not Found"})),
        ),
        &["--project", "278"],
        &[],
    );
    p.verdict(1, "trigger_token", "false", "unknown_token")
        .asked(&[("POST", path, Via::Form)]);

    let p = check(&token, Routes::new(), &[], &[]);
    p.verdict(4, "trigger_token", "unknown", "unverifiable")
        .asked(&[]);
}

// Runner authentication tokens.

#[test]
fn runner_tokens() {
    let token = format!("glrt-t3_{F20}");
    let discovery = "/api/v4/runners/router/discovery";
    let via = Via::Header("Runner-Token");
    for reply in [
        Reply::json(200, json!({"server_url": "grpc://kas.example.com:8150"})),
        Reply::json(
            501,
            json!({"message": "Job Router is not available. Please contact your administrator."}),
        ),
    ] {
        let p = check(&token, Routes::new().on("GET", discovery, reply), &[], &[]);
        p.verdict(0, "runner_authentication_token", "true", "ok")
            .asked(&[("GET", discovery, via)]);
    }
    let p = check(
        &token,
        Routes::new().on("GET", discovery, Reply::forbidden_bare()),
        &[],
        &[],
    );
    p.verdict(1, "runner_authentication_token", "false", "unknown_token");

    // An older GitLab: no discovery route. Verifying writes, so it needs the opt-in.
    let p = check(&token, Routes::new(), &[], &[]);
    p.verdict(4, "runner_authentication_token", "unknown", "unverifiable")
        .asked(&[("GET", discovery, via)]);
    assert!(p.text().contains("--allow-runner-verify"), "{}", p.text());

    let verify = "/api/v4/runners/verify";
    let echo = Routes::new().on_fn("POST", verify, |r| {
        // GitLab echoes the token in this answer: glprobe must not repeat it.
        Reply::json(
            200,
            json!({"id": 12345, "token": r.form("token"), "token_expires_at": null}),
        )
    });
    let p = check(&token, echo, &["--allow-runner-verify"], &[]);
    p.verdict(0, "runner_authentication_token", "true", "ok")
        .asked(&[("GET", discovery, via), ("POST", verify, Via::Form)]);
}

// Feature flags client tokens and feed tokens.

#[test]
fn feature_flags_client_tokens() {
    let token = format!("glffct-{F20}");
    let path = "/api/v4/feature_flags/unleash/278/client/features";
    let via = Via::Header("UNLEASH-INSTANCEID");
    let p = check(
        &token,
        Routes::new().on("GET", path, fixtures::unleash_features()),
        &[],
        &[("CI_PROJECT_ID", "278")],
    );
    p.verdict(0, "feature_flags_client_token", "true", "ok")
        .asked(&[("GET", path, via)]);
    let p = check(
        &token,
        Routes::new().on("GET", path, Reply::unauthorized()),
        &["--project", "278"],
        &[],
    );
    // 401 is also the answer for an unknown project: the token is not called invalid.
    p.verdict(4, "feature_flags_client_token", "unknown", "unverifiable")
        .asked(&[("GET", path, via)]);
    let p = check(&token, Routes::new(), &["--project", "group/app"], &[]);
    p.verdict(4, "feature_flags_client_token", "unknown", "unverifiable")
        .asked(&[]);
}

#[test]
fn feed_tokens() {
    let token = format!("glft-{F20}");
    let path = "/dashboard/projects.atom";
    let via = Via::Query("feed_token");
    let p = check(
        &token,
        Routes::new().on("GET", path, fixtures::atom_feed()),
        &[],
        &[],
    );
    p.verdict(0, "feed_token", "true", "ok")
        .asked(&[("GET", path, via)]);
    let p = check(
        &token,
        Routes::new().on("GET", path, fixtures::feed_refused()),
        &[],
        &[],
    );
    p.verdict(1, "feed_token", "false", "unknown_token")
        .asked(&[("GET", path, via)]);
}

// Kinds without a safe probe, and the admin token API.

#[test]
fn kinds_without_a_safe_probe_are_unverifiable_with_no_request() {
    for (token, kind) in [
        (
            format!("gloas-{}", "ab".repeat(32)),
            "oauth_application_secret",
        ),
        (format!("glagent-{F20}{F20}{}", &F20[..10]), "agent_token"),
        (
            "glimt-3k9x0b2m7q1w8e5r4t6y2u9i0".to_owned(),
            "incoming_email_token",
        ),
        (format!("glsoat-{F20}"), "scim_token"),
        (
            crate::support::tokens::routable("glwt-", &[("o", 1), ("u", 2)]),
            "workspace_token",
        ),
        (format!("GR1348941{F20}"), "runner_registration_token"),
    ] {
        let p = check(&token, Routes::new(), &[], &[]);
        p.verdict(4, kind, "unknown", "unverifiable").asked(&[]);
        assert!(
            p.text().contains("--admin-token-env"),
            "{kind}: {}",
            p.text()
        );
    }
}

#[test]
fn the_admin_token_api_identifies_kinds_without_a_safe_probe() {
    let admin = "glpat-AdminAdminAdminAdmin";
    let path = "/api/v4/admin/token";
    let run = |token: &str, reply: Reply| {
        let routes = Routes::new().on("POST", path, reply);
        check(
            token,
            routes,
            &["--admin-token-env", "ADMIN"],
            &[("ADMIN", admin)],
        )
    };
    let scim = format!("glsoat-{F20}");
    let p = run(
        &scim,
        Reply::json(200, json!({"id": 3, "group_id": 9, "active": true})),
    );
    p.verdict(0, "scim_token", "true", "ok")
        .asked(&[("POST", path, Via::Admin(admin))]);
    assert_no_leak(admin, &p.out, &[]);

    let p = run(
        &scim,
        Reply::json(404, json!({"message": {"error": "Not found"}})),
    );
    p.verdict(1, "scim_token", "false", "unknown_token");

    let deploy = format!("gldt-{F20}");
    let p = run(&deploy, Reply::json(200, fixtures::admin_pat(true, 10)));
    p.verdict(1, "deploy_token", "false", "revoked");
    let p = run(&deploy, Reply::json(200, fixtures::admin_pat(false, -3)));
    p.verdict(1, "deploy_token", "false", "expired");

    let p = run(&scim, Reply::forbidden_bare());
    p.verdict(4, "scim_token", "unknown", "unverifiable");
    let p = run(
        &scim,
        Reply::json(422, json!({"message": "Token type not supported."})),
    );
    p.verdict(4, "scim_token", "unknown", "unverifiable");
}

// Legacy shapes: every candidate at once, one round trip.

/// Holds every reply until `n` requests have arrived: a sequential client would stall here
/// and time out, so passing proves the candidate probes run concurrently.
fn rendezvous(n: usize, reply: Reply) -> impl Fn(&Recorded) -> Reply + Send + Sync + Clone {
    let state = Arc::new((Mutex::new(0usize), Condvar::new()));
    move |_r: &Recorded| {
        let (count, cvar) = &*state;
        let mut arrived = count.lock().unwrap();
        *arrived += 1;
        cvar.notify_all();
        let _ = cvar
            .wait_timeout_while(arrived, Duration::from_secs(10), |a| *a < n)
            .unwrap();
        reply.clone()
    }
}

#[test]
fn legacy_20_character_tokens_probe_every_candidate_concurrently() {
    let user = "gitlab+deploy-token-3";
    let wait = rendezvous(6, Reply::unauthorized());
    let routes = Routes::new()
        .on_fn("GET", SELF, wait.clone())
        .on_fn("GET", USER, wait.clone())
        .on_fn("GET", JOB, wait.clone())
        .on_fn("GET", "/jwt/auth", {
            let w = wait.clone();
            move |r| {
                w(r);
                fixtures::registry_unauthorized()
            }
        })
        .on_fn("GET", "/dashboard/projects.atom", {
            let w = wait.clone();
            move |r| {
                w(r);
                fixtures::feed_refused()
            }
        })
        .on_fn("GET", "/api/v4/runners/router/discovery", {
            let w = wait.clone();
            move |r| {
                w(r);
                Reply::forbidden_bare()
            }
        });
    let p = check(F20, routes, &["--username", user, "--timeout", "8"], &[]);
    p.verdict(1, "unknown", "false", "unknown_token").asked(&[
        ("GET", SELF, PAT_VIA),
        ("GET", USER, PAT_VIA),
        ("GET", JOB, JOB_VIA),
        ("GET", "/jwt/auth", Via::Basic(user)),
        ("GET", "/dashboard/projects.atom", Via::Query("feed_token")),
        (
            "GET",
            "/api/v4/runners/router/discovery",
            Via::Header("Runner-Token"),
        ),
    ]);
    assert!(p.env.contains_key("TOKEN_CANDIDATES"));
}

#[test]
fn a_legacy_token_accepted_as_one_candidate_takes_its_kind() {
    let routes = Routes::new()
        .on("GET", SELF, fixtures::pat_self(&["api"], Some(20), 2))
        .on("GET", USER, fixtures::user(2, "legacy", false))
        .on("GET", JOB, Reply::unauthorized())
        .on("GET", "/dashboard/projects.atom", fixtures::feed_refused())
        .on(
            "GET",
            "/api/v4/runners/router/discovery",
            Reply::forbidden_bare(),
        );
    let p = check(F20, routes, &[], &[]);
    p.verdict(0, "personal_access_token", "true", "ok");
    assert!(!p.env.contains_key("TOKEN_CANDIDATES"));
    assert_eq!(p.requests.len(), 5, "no deploy check without a user name");

    // Everything refused but the deploy candidate, which needs a user name: undetermined.
    let routes = Routes::new()
        .on("GET", SELF, Reply::unauthorized())
        .on("GET", USER, Reply::unauthorized())
        .on("GET", JOB, Reply::unauthorized())
        .on("GET", "/dashboard/projects.atom", fixtures::feed_refused())
        .on(
            "GET",
            "/api/v4/runners/router/discovery",
            Reply::forbidden_bare(),
        );
    let p = check(F20, routes, &[], &[]);
    p.verdict(4, "unknown", "unknown", "unverifiable");
    assert!(
        p.text().contains("may still be a deploy token"),
        "{}",
        p.text()
    );
}

// Inputs glprobe guessed from the CI environment, rather than was given.

#[test]
fn a_refusal_for_a_guessed_project_is_not_a_verdict() {
    // In CI the project defaults to CI_PROJECT_ID, but a trigger or feature flags token may
    // belong to another project (a pipeline that triggers a downstream project's pipeline).
    let trigger = format!("glptt-{}", "0a1b2c3d4e".repeat(4));
    let path = "/api/v4/projects/278/trigger/pipeline";
    let not_found = || {
        Routes::new().on(
            "POST",
            path,
            Reply::json(404, json!({"message": "404 Not Found"})),
        )
    };
    let p = check(&trigger, not_found(), &[], &[("CI_PROJECT_ID", "278")]);
    p.verdict(4, "trigger_token", "unknown", "unverifiable");
    assert!(
        p.text().contains("taken from CI_PROJECT_ID"),
        "{}",
        p.text()
    );
    let p = check(
        &trigger,
        not_found(),
        &["--project", "278"],
        &[("CI_PROJECT_ID", "278")],
    );
    p.verdict(1, "trigger_token", "false", "unknown_token");

    let unleash = "/api/v4/feature_flags/unleash/278/client/features";
    let p = check(
        &format!("glffct-{F20}"),
        Routes::new().on("GET", unleash, Reply::unauthorized()),
        &[],
        &[("CI_PROJECT_ID", "278")],
    );
    p.verdict(4, "feature_flags_client_token", "unknown", "unverifiable");
}

#[test]
fn a_refusal_with_a_guessed_deploy_user_is_not_a_verdict() {
    let token = format!("gldt-{F20}");
    let routes = || Routes::new().on("GET", "/jwt/auth", fixtures::registry_unauthorized());
    let ci_user = [("CI_DEPLOY_USER", "gitlab+deploy-token-9")];
    // CI_DEPLOY_USER belongs to the token in CI_DEPLOY_PASSWORD: a refusal there is real.
    let p = check_in("CI_DEPLOY_PASSWORD", &token, routes(), &[], &ci_user);
    p.verdict(1, "deploy_token", "false", "unknown_token");
    // Any other deploy token may have another user name.
    let p = check_in("STAGING_DEPLOY_TOKEN", &token, routes(), &[], &ci_user);
    p.verdict(4, "deploy_token", "unknown", "unverifiable");
    assert!(p.text().contains("Pass --username"), "{}", p.text());
}

#[test]
fn a_file_type_variable_holds_the_path_of_the_token() {
    let dir = TempDir::new("filevar");
    let file = dir.path("GITLAB_TOKEN");
    let token = pat(40);
    std::fs::write(&file, format!("{token}\n")).unwrap();
    let routes = Routes::new()
        .on("GET", SELF, fixtures::pat_self(&["api"], Some(30), 40))
        .on("GET", USER, fixtures::user(40, "jdoe", false));
    let p = check_in("GITLAB_TOKEN", file.to_str().unwrap(), routes, &[], &[]);
    p.verdict(0, "personal_access_token", "true", "ok");
    assert_eq!(p.json["token"]["source"], "env-file:GITLAB_TOKEN");
    let r = &p.requests[0];
    assert_eq!(r.header("PRIVATE-TOKEN"), Some(token.as_str()));
    crate::support::assert_no_leak(&token, &p.out, &[]);
}

#[test]
fn a_gitlab_without_the_admin_token_api() {
    let scim = format!("glsoat-{F20}");
    // Grape's answer for a route that does not exist: the API is missing, not the token.
    let p = check(
        &scim,
        Routes::new(),
        &["--admin-token-env", "ADMIN"],
        &[("ADMIN", "glpat-AdminAdminAdminAdmin")],
    );
    p.verdict(4, "scim_token", "unknown", "unverifiable");
    assert!(p.text().contains("no admin token API"), "{}", p.text());
}
