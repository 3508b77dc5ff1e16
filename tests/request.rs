//! `--request 'METHOD PATH'` against the fake GitLab: a job token on routes that accept it (own
//! project, allowlisted, not allowlisted, fine-grained refusal) and on routes that ignore it
//! (private: 404; public: 200), an access token without the scope, and writes that are never
//! sent. Each asserts the verdict, the requests made, where the token travelled, and that
//! neither the token nor the response body shows in any output.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::support::fixtures;
use crate::support::gitlab::{FakeGitLab, Recorded, Reply, Routes};
use crate::support::tokens::{F20, pat};
use crate::support::{Outcome, TempDir, assert_code, assert_no_leak, glprobe, parse_dotenv};

const JOB: &str = "/api/v4/job";
const SELF: &str = "/api/v4/personal_access_tokens/self";
const USER: &str = "/api/v4/user";
/// Text in the fake answers' bodies that must never reach an output.
const PRIVATE: &str = "PRIVATE-BODY-7c1e";

struct Run {
    out: Outcome,
    env: BTreeMap<String, String>,
    json: Value,
    requests: Vec<Recorded>,
}

impl Run {
    #[track_caller]
    fn verdict(&self, code: i32, reason: &str, allowed: &str) -> &Run {
        assert_code(&self.out, code);
        assert_eq!(self.env["TOKEN_REASON"], reason, "{:#}", self.json);
        assert_eq!(
            self.env["TOKEN_REQUEST_ALLOWED"], allowed,
            "{:#}",
            self.json
        );
        assert_eq!(
            self.json["request"]["allowed"],
            match allowed {
                "true" => json!(true),
                "false" => json!(false),
                _ => Value::Null,
            }
        );
        self
    }

    /// The requests the fake GitLab saw, in any order: (method, path, token header).
    #[track_caller]
    fn asked(&self, token: &str, expected: &[(&str, &str, &str)]) -> &Run {
        let seen = crate::support::gitlab::method_paths(&self.requests);
        let want = crate::support::gitlab::sorted_pairs(expected.iter().map(|(m, p, _)| (*m, *p)));
        assert_eq!(seen, want, "requests; json: {:#}", self.json["requests"]);
        for (method, path, header) in expected {
            let r = self
                .requests
                .iter()
                .find(|r| r.method == *method && r.path == *path)
                .unwrap();
            assert_eq!(r.header(header), Some(token), "{header} of {path}");
            assert_eq!(
                r.everything().matches(token).count(),
                1,
                "the token travels once, in {header}:\n{}",
                r.everything()
            );
        }
        self
    }

    fn request(&self) -> &Value {
        &self.json["request"]
    }

    fn text(&self) -> String {
        format!("{}\n{}", self.json["findings"], self.json["notes"])
    }
}

/// Runs glprobe with the token in `$var` and `--request`, human report on stdout, dotenv and
/// JSON in files; checks that no output holds the token or the fake bodies' private text.
fn run(var: &str, token: &str, routes: Routes, request: &str, vars: &[(&str, &str)]) -> Run {
    let server = FakeGitLab::start(routes);
    let dir = TempDir::new("request");
    let (json_path, dotenv_path) = (dir.path("report.json"), dir.path("report.env"));
    let mut glprobe = glprobe(&["--url", &server.url(), "--token-env", var, "--timeout", "5"])
        .args(&["--request", request])
        .args(&["--json", json_path.to_str().unwrap()])
        .args(&["--dotenv", dotenv_path.to_str().unwrap()])
        .env(var, token);
    for (k, v) in vars {
        glprobe = glprobe.env(k, v);
    }
    let out = glprobe.run();
    assert_no_leak(token, &out, &[&json_path, &dotenv_path]);
    let json_text = std::fs::read_to_string(&json_path).unwrap();
    let dotenv_text = std::fs::read_to_string(&dotenv_path).unwrap();
    for (name, text) in [
        ("stdout", &out.stdout),
        ("stderr", &out.stderr),
        ("json", &json_text),
        ("dotenv", &dotenv_text),
    ] {
        assert!(
            !text.contains(PRIVATE),
            "the response body leaked into {name}:\n{text}"
        );
    }
    Run {
        env: parse_dotenv(&dotenv_text),
        json: serde_json::from_str(&json_text).unwrap(),
        requests: server.requests(),
        out,
    }
}

fn job_token() -> String {
    format!("glcbt-64_{F20}")
}

/// A job of project 278 (`acme/app`), and one route answering `reply`.
fn job_routes(path: &str, reply: Reply) -> Routes {
    Routes::new()
        .on("GET", JOB, fixtures::job(8, 278))
        .on("GET", path, reply)
}

fn job_run(path: &str, reply: Reply) -> (String, Run) {
    let token = job_token();
    let r = run(
        "CI_JOB_TOKEN",
        &token,
        job_routes(path, reply),
        &format!("GET {path}"),
        &[("CI_PROJECT_PATH", "acme/app")],
    );
    (token, r)
}

fn private_list() -> Reply {
    Reply::json(200, json!([{"id": 1, "name": PRIVATE, "version": "1.0.0"}]))
}

#[test]
fn a_job_token_on_its_own_project() {
    let path = "/api/v4/projects/278/packages";
    let (token, r) = job_run(path, private_list());
    r.verdict(0, "ok", "true").asked(
        &token,
        &[("GET", JOB, "JOB-TOKEN"), ("GET", path, "JOB-TOKEN")],
    );
    let request = r.request();
    assert_eq!(request["sent"], true);
    assert_eq!(request["status"], 200);
    assert_eq!(request["job_token_accepted"], true);
    assert_eq!(request["job_token_permission"], "read_packages");
    assert_eq!(request["route"], "/projects/:id/packages");
    assert_eq!(request["scopes_needed"], json!(["read_api", "api"]));
    assert_eq!(request["reason"], "ok");
    assert!(
        r.out
            .stdout
            .contains("Request  GET /api/v4/projects/278/packages")
    );
    assert!(
        r.out.stdout.contains("sent, GitLab answered 200: works"),
        "{}",
        r.out.stdout
    );
    assert_eq!(r.json["requests"].as_array().unwrap().len(), 2);
}

#[test]
fn a_job_token_on_an_allowlisted_project() {
    let path = "/api/v4/projects/acme%2Fother/packages";
    let (token, r) = job_run(path, private_list());
    r.verdict(0, "ok", "true").asked(
        &token,
        &[("GET", JOB, "JOB-TOKEN"), ("GET", path, "JOB-TOKEN")],
    );
}

#[test]
fn a_job_token_from_a_project_not_on_the_allowlist() {
    let path = "/api/v4/projects/acme%2Fother/packages";
    let (token, r) = job_run(
        path,
        Reply::forbidden("Authentication by CI/CD job token not allowed from app to project #42."),
    );
    r.verdict(3, "not_allowlisted", "false").asked(
        &token,
        &[("GET", JOB, "JOB-TOKEN"), ("GET", path, "JOB-TOKEN")],
    );
    assert_eq!(r.env["TOKEN_VALID"], "true");
    let text = r.text();
    assert!(
        text.contains("app is not on the job token allowlist of project #42"),
        "{text}"
    );
    assert!(text.contains("CI/CD job token allowlist > Add"), "{text}");
    assert_eq!(r.request()["status"], 403);
    assert_eq!(
        r.request()["message"],
        "403 Forbidden - Authentication by CI/CD job token not allowed from app to project #42."
    );
}

#[test]
fn a_fine_grained_refusal() {
    let path = "/api/v4/projects/acme%2Fother/packages";
    let (token, r) = job_run(
        path,
        Reply::forbidden(
            "Insufficient permissions to access this resource in project #42. The following \
             token permission is required: read_packages.",
        ),
    );
    r.verdict(3, "insufficient_scope", "false").asked(
        &token,
        &[("GET", JOB, "JOB-TOKEN"), ("GET", path, "JOB-TOKEN")],
    );
    assert!(r.text().contains("grant read_packages"), "{}", r.text());
}

#[test]
fn a_job_token_on_a_private_project_route_that_ignores_it() {
    let path = "/api/v4/projects/123";
    let (token, r) = job_run(
        path,
        Reply::json(404, json!({"message": "404 Project Not Found"})),
    );
    r.verdict(3, "job_token_not_accepted", "false").asked(
        &token,
        &[("GET", JOB, "JOB-TOKEN"), ("GET", path, "JOB-TOKEN")],
    );
    assert_eq!(r.env["TOKEN_VALID"], "true");
    let text = r.text();
    assert!(
        text.contains("GitLab does not accept job tokens on GET /api/v4/projects/123"),
        "{text}"
    );
    assert!(text.contains("says nothing about the token"), "{text}");
    assert!(text.contains("GitLab answered 404"), "{text}");
    assert!(
        text.contains("a project access token with read_api"),
        "{text}"
    );
    assert_eq!(r.request()["job_token_accepted"], false);
    assert_eq!(r.request()["job_token_permission"], Value::Null);
    assert!(
        r.out.stdout.contains("does not accept job tokens"),
        "{}",
        r.out.stdout
    );
}

#[test]
fn a_job_token_on_a_public_project_route_that_ignores_it() {
    let path = "/api/v4/projects/123";
    let public = Reply::json(
        200,
        json!({"id": 123, "description": PRIVATE, "name": "app", "visibility": "public"}),
    );
    let (token, r) = job_run(path, public);
    r.verdict(3, "job_token_not_accepted", "false").asked(
        &token,
        &[("GET", JOB, "JOB-TOKEN"), ("GET", path, "JOB-TOKEN")],
    );
    assert!(
        r.text().contains("only because the data is public"),
        "{}",
        r.text()
    );
    assert_eq!(r.request()["status"], 200);
    assert_eq!(r.request()["message"], Value::Null);
}

#[test]
fn a_personal_access_token_without_read_api() {
    let token = pat(1337);
    let path = "/api/v4/projects/acme%2Fapp/packages";
    let routes = Routes::new()
        .on(
            "GET",
            SELF,
            fixtures::pat_self(&["read_user"], Some(30), 1337),
        )
        .on("GET", USER, fixtures::user(1337, "jdoe", false))
        .on("GET", path, Reply::insufficient_scope("api read_api"));
    let r = run(
        "GITLAB_TOKEN",
        &token,
        routes,
        &format!("GET {path}?per_page=1"),
        &[],
    );
    r.verdict(3, "insufficient_scope", "false").asked(
        &token,
        &[
            ("GET", SELF, "PRIVATE-TOKEN"),
            ("GET", USER, "PRIVATE-TOKEN"),
            ("GET", path, "PRIVATE-TOKEN"),
        ],
    );
    let sent = r.requests.iter().find(|x| x.path == path).unwrap();
    assert_eq!(sent.query, "per_page=1");
    assert!(
        r.text().contains("needs one of the scopes api, read_api"),
        "{}",
        r.text()
    );
    assert!(r.text().contains("the token has read_user"), "{}", r.text());
}

#[test]
fn writes_are_never_sent() {
    // A job token: the verdict rests on route knowledge and the token's check.
    let token = job_token();
    let path = "/api/v4/projects/acme%2Fother/releases";
    let r = run(
        "CI_JOB_TOKEN",
        &token,
        job_routes(path, Reply::json(201, json!({"tag_name": PRIVATE}))),
        &format!("POST {path}"),
        &[("CI_PROJECT_PATH", "acme/app")],
    );
    r.verdict(0, "ok", "unknown")
        .asked(&token, &[("GET", JOB, "JOB-TOKEN")]);
    assert_eq!(r.request()["sent"], false);
    assert_eq!(r.request()["job_token_permission"], "admin_releases");
    assert!(
        r.text()
            .contains("was not sent (glprobe sends only GET and HEAD"),
        "{}",
        r.text()
    );
    assert!(
        r.text()
            .contains("acme/other is not the job's own project, so its job token allowlist"),
        "{}",
        r.text()
    );
    assert!(
        r.out.stdout.contains("not sent: unknown"),
        "{}",
        r.out.stdout
    );

    // A DELETE with a job token where job tokens are ignored: known without sending.
    let r = run(
        "CI_JOB_TOKEN",
        &token,
        job_routes("/api/v4/projects/7", Reply::json(204, json!({}))),
        "DELETE /api/v4/projects/7",
        &[],
    );
    r.verdict(3, "job_token_not_accepted", "false")
        .asked(&token, &[("GET", JOB, "JOB-TOKEN")]);

    // An access token without api: refused without sending.
    let pat = pat(1337);
    let routes = Routes::new()
        .on(
            "GET",
            SELF,
            fixtures::pat_self(&["read_api"], Some(30), 1337),
        )
        .on("GET", USER, fixtures::user(1337, "jdoe", false));
    let r = run(
        "GITLAB_TOKEN",
        &pat,
        routes,
        "PUT /projects/1/releases/v1",
        &[],
    );
    r.verdict(3, "insufficient_scope", "false").asked(
        &pat,
        &[
            ("GET", SELF, "PRIVATE-TOKEN"),
            ("GET", USER, "PRIVATE-TOKEN"),
        ],
    );
    assert!(
        r.text()
            .contains("needs the scope api, and the token has read_api"),
        "{}",
        r.text()
    );
}

#[test]
fn credentials_in_the_request_are_never_sent_nor_shown() {
    let token = job_token();
    let other = "glpat-abcdefghijkmnpqrstuv";
    let path = "/api/v4/projects/278/packages";
    let server_routes = job_routes(path, private_list());
    let server = FakeGitLab::start(server_routes);
    let url = server.url();
    let host = url.trim_start_matches("http://");
    let dir = TempDir::new("request-credentials");
    let json_path = dir.path("report.json");
    let out = glprobe(&[
        "--url",
        &url,
        "--token-env",
        "CI_JOB_TOKEN",
        "--timeout",
        "5",
    ])
    .args(&[
        "--request",
        &format!("GET http://user:{other}@{host}{path}?private_token={other}&q={other}&per_page=1"),
    ])
    .args(&["--json", json_path.to_str().unwrap()])
    .env("CI_JOB_TOKEN", &token)
    .run();
    assert_code(&out, 0);
    assert_no_leak(&token, &out, &[&json_path]);
    assert_no_leak(other, &out, &[&json_path]);
    let sent = server
        .requests()
        .into_iter()
        .find(|r| r.path == path)
        .unwrap();
    assert_eq!(
        sent.query,
        format!("q={other}&per_page=1"),
        "only the credential is dropped"
    );
    assert_eq!(sent.header("JOB-TOKEN"), Some(token.as_str()));
    assert!(sent.header("Authorization").is_none());
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(
        json["request"]["path"],
        format!("{path}?q=[REDACTED]&per_page=1")
    );
    assert!(
        json["notes"]
            .to_string()
            .contains("private_token query parameter was left out"),
        "{:#}",
        json["notes"]
    );
}

#[test]
fn a_url_on_another_host_is_a_usage_error_and_nothing_is_sent() {
    let token = job_token();
    let server = FakeGitLab::start(Routes::new().on("GET", JOB, fixtures::job(8, 278)));
    for request in [
        "GET https://gitlab.example.com/api/v4/projects/1/packages",
        "GET http://127.0.0.2/api/v4/projects/1/packages",
        "FETCH /api/v4/projects/1",
        "GET",
    ] {
        let out = glprobe(&["--url", &server.url(), "--token-env", "CI_JOB_TOKEN"])
            .args(&["--request", request])
            .env("CI_JOB_TOKEN", &token)
            .run();
        assert_code(&out, 2);
        assert!(
            out.stderr.starts_with("glprobe: error: --request"),
            "{}",
            out.stderr
        );
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(!out.stderr.contains("example") && !out.stderr.contains("FETCH"));
        assert_no_leak(&token, &out, &[]);
    }
    assert!(
        server.requests().is_empty(),
        "nothing is sent on a usage error"
    );
}

#[test]
fn offline_the_route_list_still_answers() {
    let token = job_token();
    let out = glprobe(&[
        "--offline",
        "--token-env",
        "CI_JOB_TOKEN",
        "--format",
        "dotenv",
    ])
    .args(&["--request", "GET /api/v4/projects/123"])
    .env("CI_JOB_TOKEN", &token)
    .run();
    assert_code(&out, 3);
    let env = out.dotenv();
    assert_eq!(env["TOKEN_REASON"], "job_token_not_accepted");
    assert_eq!(env["TOKEN_REQUEST_ALLOWED"], "false");
    assert_eq!(env["TOKEN_VALID"], "unknown");
    let out = glprobe(&[
        "--offline",
        "--token-env",
        "CI_JOB_TOKEN",
        "--format",
        "json",
    ])
    .args(&["--request", "GET /projects/acme%2Fother/packages"])
    .env("CI_JOB_TOKEN", &token)
    .run();
    assert_code(&out, 0);
    assert_eq!(out.json()["request"]["allowed"], Value::Null);
    assert_eq!(
        out.json()["request"]["job_token_permission"],
        "read_packages"
    );
    assert_no_leak(&token, &out, &[]);
}

#[test]
fn a_success_body_is_never_quoted_even_where_it_has_a_message() {
    // GitLab's commit answers carry the commit's own `message`: private data, not an error.
    let path = "/api/v4/projects/278/repository/commits/0ff3ae19";
    let commit = Reply::json(
        200,
        json!({"id": "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd", "title": PRIVATE, "message": PRIVATE}),
    );
    let (token, r) = job_run(path, commit);
    r.verdict(0, "ok", "true").asked(
        &token,
        &[("GET", JOB, "JOB-TOKEN"), ("GET", path, "JOB-TOKEN")],
    );
    assert_eq!(r.request()["message"], Value::Null);
    assert_eq!(r.request()["job_token_permission"], "read_repositories");
}

#[test]
fn head_requests_and_the_other_refusals_of_an_accepted_route() {
    let path = "/api/v4/projects/acme%2Fother/releases";
    let cases = [
        (
            "HEAD",
            Reply::json(200, json!([])),
            0,
            "ok",
            "true",
            "works with this token",
        ),
        (
            "HEAD",
            Reply::forbidden(
                "Authentication by CI/CD job token not allowed from app to project #42.",
            ),
            4,
            "unverifiable",
            "false",
            "an answer to HEAD carries no body",
        ),
        (
            "GET",
            Reply::forbidden_bare(),
            3,
            "insufficient_role",
            "false",
            "lacks the role",
        ),
        (
            "GET",
            Reply::json(404, json!({"message": "404 Project Not Found"})),
            3,
            "project_not_found",
            "false",
            "cannot find acme/other",
        ),
        (
            "GET",
            Reply::json(500, json!({"message": "500 Internal Server Error"})),
            4,
            "server_error",
            "unknown",
            "not GitLab's API answering",
        ),
    ];
    for (method, reply, code, reason, allowed, phrase) in cases {
        let token = job_token();
        let r = run(
            "CI_JOB_TOKEN",
            &token,
            Routes::new()
                .on("GET", JOB, fixtures::job(8, 278))
                .on(method, path, reply),
            &format!("{method} {path}"),
            &[],
        );
        r.verdict(code, reason, allowed).asked(
            &token,
            &[("GET", JOB, "JOB-TOKEN"), (method, path, "JOB-TOKEN")],
        );
        assert!(
            format!("{}{}", r.text(), r.request()).contains(phrase),
            "{reason}: {phrase}\n{}",
            r.out.stdout
        );
    }
}

#[test]
fn nuget_takes_the_job_token_in_basic_auth() {
    use base64::Engine as _;
    let path = "/api/v4/projects/278/packages/nuget/index.json";
    let token = job_token();
    let r = run(
        "CI_JOB_TOKEN",
        &token,
        job_routes(
            path,
            Reply::json(200, json!({"version": "3.0.0", "resources": [PRIVATE]})),
        ),
        &format!("GET {path}"),
        &[],
    );
    r.verdict(0, "ok", "true");
    let sent = r.requests.iter().find(|x| x.path == path).unwrap();
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("gitlab-ci-token:{token}"));
    assert_eq!(
        sent.header("Authorization"),
        Some(format!("Basic {pair}").as_str())
    );
    assert!(sent.header("JOB-TOKEN").is_none());
    assert_eq!(
        r.json["requests"][1]["carrier"],
        "basic auth as gitlab-ci-token"
    );
}
