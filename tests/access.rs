//! Access checks (`--access api,git,registry,packages`) against the fake GitLab: one row per
//! outcome of the reference note's matrices (access.md §2.3, §3.5, §4.1, §5.2), each asserting
//! the verdict, the per-surface values in dotenv and JSON, the exact requests (path, query,
//! login, at most one per surface, none with a counted login before the token is known valid)
//! and that the token appears in no output.

use base64::Engine as _;
use serde_json::Value;

use crate::support::fixtures::{self, git_refused};
use crate::support::gitlab::{FakeGitLab, Recorded, Reply, Routes};
use crate::support::tokens::{F20, pat};
use crate::support::{Outcome, TempDir, assert_code, assert_no_leak, glprobe, parse_dotenv};

const PROJECT: &str = "infra/deploy";
const API: &str = "/api/v4/projects/infra%2Fdeploy";
const RELEASES: &str = "/api/v4/projects/infra%2Fdeploy/releases";
const PACKAGES: &str = "/api/v4/projects/infra%2Fdeploy/packages";
const TRIGGER: &str = "/api/v4/projects/infra%2Fdeploy/trigger/pipeline";
const GIT: &str = "/infra/deploy.git/info/refs";
const JWT: &str = "/jwt/auth";
const SELF: &str = "/api/v4/personal_access_tokens/self";
const USER: &str = "/api/v4/user";
const JOB: &str = "/api/v4/job";
const OAUTH: &str = "/oauth/token/info";
const DEPLOY_USER: &str = "gitlab+deploy-token-12";
const ALL: &str = "api,git,registry,packages";

/// How a request carried the token.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    Header(&'static str),
    Bearer,
    Basic(&'static str),
    Form,
}

/// One row of the matrix.
struct Row {
    name: &'static str,
    token: String,
    args: Vec<&'static str>,
    routes: Routes,
    /// Exit code, kind, TOKEN_VALID, TOKEN_REASON.
    verdict: (i32, &'static str, &'static str, &'static str),
    /// `(surface, TOKEN_ACCESS_* value, reason)` for every surface asked.
    access: &'static [(&'static str, &'static str, &'static str)],
    /// Every request expected, in any order: `(method, path, carrier)`.
    requests: Vec<(&'static str, &'static str, Via)>,
}

struct Run {
    out: Outcome,
    env: std::collections::BTreeMap<String, String>,
    json: Value,
    requests: Vec<Recorded>,
}

fn run(token: &str, routes: Routes, args: &[&str], vars: &[(&str, &str)]) -> Run {
    let server = FakeGitLab::start(routes);
    let dir = TempDir::new("access");
    let (json_path, dotenv_path) = (dir.path("report.json"), dir.path("report.env"));
    let mut cmd = glprobe(&[
        "--url",
        &server.url(),
        "--token-env",
        "TOK",
        "--timeout",
        "5",
    ])
    .args(&["--json", json_path.to_str().unwrap()])
    .args(&["--dotenv", dotenv_path.to_str().unwrap()])
    .args(args)
    .env("TOK", token);
    for (k, v) in vars {
        cmd = cmd.env(k, v);
    }
    let out = cmd.run();
    assert_no_leak(token, &out, &[&json_path, &dotenv_path]);
    let env = parse_dotenv(&std::fs::read_to_string(&dotenv_path).unwrap_or_default());
    let json = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap_or_default())
        .unwrap_or(Value::Null);
    Run {
        out,
        env,
        json,
        requests: server.requests(),
    }
}

fn check_row(row: Row) {
    let name = row.name;
    let r = run(&row.token, row.routes, &row.args, &[]);
    let (code, kind, valid, reason) = row.verdict;
    assert_code(&r.out, code);
    let ctx = format!("row `{name}`\n{}\n{:#}", r.out.stdout, r.json["access"]);
    assert_eq!(r.env["TOKEN_KIND"], kind, "{ctx}");
    assert_eq!(r.env["TOKEN_VALID"], valid, "{ctx}");
    assert_eq!(r.env["TOKEN_REASON"], reason, "{ctx}");

    // Per surface: dotenv, JSON, and the human Access block.
    let entries = r.json["access"].as_array().expect("access array");
    assert_eq!(entries.len(), row.access.len(), "{ctx}");
    for ((surface, value, why), entry) in row.access.iter().zip(entries) {
        let variable = format!("TOKEN_ACCESS_{}", surface.to_uppercase());
        assert_eq!(
            r.env.get(&variable).map(String::as_str),
            Some(*value),
            "{variable}: {ctx}"
        );
        assert_eq!(entry["surface"], *surface, "{ctx}");
        assert_eq!(entry["project"], PROJECT, "{ctx}");
        let allowed = match *value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Null,
        };
        assert_eq!(entry["allowed"], allowed, "{surface}: {ctx}");
        assert_eq!(entry["reason"], *why, "{surface}: {ctx}");
        for field in ["summary", "next", "docs"] {
            assert!(
                entry[field].as_str().is_some_and(|s| !s.is_empty()),
                "{field}: {ctx}"
            );
        }
    }
    for surface in ["API", "GIT", "REGISTRY", "PACKAGES"] {
        let asked = row
            .access
            .iter()
            .any(|(s, _, _)| s.eq_ignore_ascii_case(surface));
        assert_eq!(
            r.env.contains_key(&format!("TOKEN_ACCESS_{surface}")),
            asked,
            "{surface}: {ctx}"
        );
    }

    // The requests: exactly those expected, each once, each carrying the token as it should.
    let mut seen: Vec<(String, String)> = r
        .requests
        .iter()
        .map(|q| (q.method.clone(), q.path.clone()))
        .collect();
    let mut want: Vec<(String, String)> = row
        .requests
        .iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    seen.sort();
    want.sort();
    assert_eq!(seen, want, "requests of `{name}`: {:#}", r.json["requests"]);
    for (method, path, via) in &row.requests {
        let q = r
            .requests
            .iter()
            .find(|q| q.method == *method && q.path == *path)
            .unwrap();
        carried(q, &row.token, *via, name);
        read_only(q, name);
    }
}

/// The token where it should be, and only there.
#[track_caller]
fn carried(q: &Recorded, token: &str, via: Via, name: &str) {
    match via {
        Via::Header(header) => assert_eq!(q.header(header), Some(token), "{name}: {}", q.path),
        Via::Bearer => assert_eq!(
            q.header("Authorization").map(str::to_owned),
            Some(format!("Bearer {token}")),
            "{name}: {}",
            q.path
        ),
        Via::Basic(login) => {
            let pair = base64::engine::general_purpose::STANDARD.encode(format!("{login}:{token}"));
            assert_eq!(
                q.header("Authorization").map(str::to_owned),
                Some(format!("Basic {pair}")),
                "{name}: login for {}",
                q.path
            );
            assert!(!q.everything().contains(token), "{name}: {}", q.path);
        }
        Via::Form => assert_eq!(q.form("token").as_deref(), Some(token), "{name}"),
    }
}

/// Only the read-only questions: upload-pack, pull, one package.
#[track_caller]
fn read_only(q: &Recorded, name: &str) {
    let everything = q.everything();
    assert!(!everything.contains("receive-pack"), "{name}: {everything}");
    if q.path.ends_with("/info/refs") {
        assert_eq!(q.method, "GET", "{name}");
        assert_eq!(q.query, "service=git-upload-pack", "{name}");
    }
    if q.path == JWT {
        assert_eq!(q.method, "GET", "{name}");
        assert_eq!(
            q.query_param("service").as_deref(),
            Some("container_registry")
        );
        if let Some(scope) = q.query_param("scope") {
            assert_eq!(
                scope,
                format!("repository:{PROJECT}:pull"),
                "{name}: only pull"
            );
        }
    }
    if q.path == PACKAGES || q.path == RELEASES {
        assert_eq!(q.query_param("per_page").as_deref(), Some("1"), "{name}");
    }
}

// Token families.

fn job_token() -> String {
    format!("glcbt-64_{F20}")
}

fn job_routes(job_project: u64) -> Routes {
    Routes::new().on("GET", JOB, fixtures::job(8, job_project))
}

fn job_requests() -> Vec<(&'static str, &'static str, Via)> {
    vec![
        ("GET", JOB, Via::Header("JOB-TOKEN")),
        ("GET", RELEASES, Via::Header("JOB-TOKEN")),
        ("GET", GIT, Via::Basic("gitlab-ci-token")),
        ("GET", JWT, Via::Basic("gitlab-ci-token")),
        ("GET", PACKAGES, Via::Header("JOB-TOKEN")),
    ]
}

fn pat_routes(scopes: &[&str], user: Reply) -> Routes {
    Routes::new()
        .on("GET", SELF, fixtures::pat_self(scopes, Some(60), 4))
        .on("GET", USER, user)
}

fn pat_requests(login: &'static str) -> Vec<(&'static str, &'static str, Via)> {
    let private = Via::Header("PRIVATE-TOKEN");
    vec![
        ("GET", SELF, private),
        ("GET", USER, private),
        ("GET", API, private),
        ("GET", GIT, Via::Basic(login)),
        ("GET", JWT, Via::Basic(login)),
        ("GET", PACKAGES, private),
    ]
}

fn no_user() -> Reply {
    Reply::insufficient_scope("read_user api read_api")
}

fn allowlist_api() -> Reply {
    Reply::forbidden("Authentication by CI/CD job token not allowed from app to project #12.")
}

const ALL_OK: &[(&str, &str, &str)] = &[
    ("api", "true", "ok"),
    ("git", "true", "ok"),
    ("registry", "true", "ok"),
    ("packages", "true", "ok"),
];

fn all(
    value: &'static str,
    reason: &'static str,
) -> &'static [(&'static str, &'static str, &'static str)] {
    let rows: Vec<(&str, &str, &str)> = ["api", "git", "registry", "packages"]
        .into_iter()
        .map(|s| (s, value, reason))
        .collect();
    Box::leak(rows.into_boxed_slice())
}

#[test]
fn job_tokens() {
    let ok = |routes: Routes| {
        routes
            .on("GET", RELEASES, Reply::json(200, serde_json::json!([])))
            .on("GET", GIT, fixtures::git_advertisement(3))
            .on("GET", JWT, fixtures::registry_token(Some(PROJECT), "build"))
            .on("GET", PACKAGES, Reply::json(200, serde_json::json!([])))
    };
    let rows = [
        Row {
            name: "job token, its own project",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: ok(job_routes(12)),
            verdict: (0, "job_token", "true", "ok"),
            access: ALL_OK,
            requests: job_requests(),
        },
        Row {
            name: "job token, allowlisted in another project",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: ok(job_routes(278)),
            verdict: (0, "job_token", "true", "ok"),
            access: ALL_OK,
            requests: job_requests(),
        },
        Row {
            name: "job token, not on the allowlist",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: job_routes(278)
                .on("GET", RELEASES, allowlist_api())
                .on(
                    "GET",
                    GIT,
                    git_refused(
                        403,
                        "Authentication by CI/CD job token not allowed from app to project #12.",
                    ),
                )
                .on("GET", JWT, fixtures::registry_token(None, "build"))
                .on("GET", PACKAGES, allowlist_api()),
            verdict: (3, "job_token", "true", "not_allowlisted"),
            access: all("false", "not_allowlisted"),
            requests: job_requests(),
        },
        Row {
            name: "job token, allowlisted but its user cannot read the target",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: job_routes(278)
                .on("GET", RELEASES, allowlist_api())
                .on(
                    "GET",
                    GIT,
                    git_refused(
                        403,
                        "Insufficient permissions to pull from the repository of project #12.",
                    ),
                )
                .on("GET", JWT, fixtures::registry_token(None, "build"))
                .on("GET", PACKAGES, allowlist_api()),
            verdict: (3, "job_token", "true", "insufficient_role"),
            access: all("false", "insufficient_role"),
            requests: job_requests(),
        },
        Row {
            name: "job token of a finished job",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: Routes::new()
                .on("GET", JOB, Reply::unauthorized())
                .on("GET", RELEASES, Reply::unauthorized())
                .on("GET", GIT, fixtures::git_unauthorized())
                .on("GET", JWT, fixtures::registry_unauthorized())
                .on("GET", PACKAGES, Reply::unauthorized())
                .on(
                    "POST",
                    TRIGGER,
                    fixtures::job_trigger_refused("401 Unauthorized - Job is not running"),
                ),
            verdict: (1, "job_token", "false", "job_not_running"),
            access: all("false", "job_not_running"),
            requests: {
                let mut r = job_requests();
                r.push(("POST", TRIGGER, Via::Form));
                r
            },
        },
    ];
    for row in rows {
        check_row(row);
    }
}

#[test]
fn personal_and_project_access_tokens() {
    let rows = [
        Row {
            name: "PAT with read_repository only: git yes, registry no",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(&["read_repository"], no_user())
                .on("GET", API, Reply::insufficient_scope("api read_api"))
                .on("GET", GIT, fixtures::git_advertisement(3))
                .on("GET", JWT, fixtures::registry_denied())
                .on("GET", PACKAGES, Reply::insufficient_scope("api read_api")),
            verdict: (3, "personal_access_token", "true", "insufficient_scope"),
            access: &[
                ("api", "false", "insufficient_scope"),
                ("git", "true", "ok"),
                ("registry", "false", "insufficient_scope"),
                ("packages", "false", "insufficient_scope"),
            ],
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "PAT with read_registry only: git 403, registry yes",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(&["read_registry"], no_user())
                .on("GET", API, Reply::insufficient_scope("api read_api"))
                .on("GET", GIT, git_refused(403, "You are not allowed to download code."))
                .on("GET", JWT, fixtures::registry_token(Some(PROJECT), "personal_access_token"))
                .on("GET", PACKAGES, Reply::insufficient_scope("api read_api")),
            verdict: (3, "personal_access_token", "true", "insufficient_scope"),
            access: &[
                ("api", "false", "insufficient_scope"),
                ("git", "false", "insufficient_scope"),
                ("registry", "true", "ok"),
                ("packages", "false", "insufficient_scope"),
            ],
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "PAT with write_registry only: it cannot pull",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", "git,registry"],
            routes: pat_routes(&["write_registry"], no_user())
                .on("GET", GIT, git_refused(403, "You are not allowed to download code."))
                .on("GET", JWT, fixtures::registry_token(None, "personal_access_token")),
            verdict: (3, "personal_access_token", "true", "insufficient_scope"),
            access: &[
                ("git", "false", "insufficient_scope"),
                ("registry", "false", "insufficient_scope"),
            ],
            requests: vec![
                ("GET", SELF, Via::Header("PRIVATE-TOKEN")),
                ("GET", USER, Via::Header("PRIVATE-TOKEN")),
                ("GET", GIT, Via::Basic("oauth2")),
                ("GET", JWT, Via::Basic("oauth2")),
            ],
        },
        Row {
            name: "PAT with read_api: everything",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(&["read_api"], fixtures::user(4, "jdoe", false))
                .on("GET", API, fixtures::project(12, PROJECT))
                .on("GET", GIT, fixtures::git_advertisement(3))
                .on("GET", JWT, fixtures::registry_token(Some(PROJECT), "personal_access_token"))
                .on("GET", PACKAGES, Reply::json(200, serde_json::json!([]))),
            verdict: (0, "personal_access_token", "true", "ok"),
            access: ALL_OK,
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "project access token with the Guest role",
            token: pat(61),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(
                &["api"],
                fixtures::user(61, "project_12_bot_9f8e7d6c5b4a39281706f5e4d3c2b1a0", true),
            )
            .on("GET", API, fixtures::project(12, PROJECT))
            .on(
                "GET",
                GIT,
                git_refused(403, "You are not allowed to download code from this project."),
            )
            .on("GET", JWT, fixtures::registry_token(None, "personal_access_token"))
            .on("GET", PACKAGES, Reply::forbidden_bare()),
            verdict: (3, "project_access_token", "true", "insufficient_role"),
            access: &[
                ("api", "true", "ok"),
                ("git", "false", "insufficient_role"),
                ("registry", "false", "insufficient_role"),
                ("packages", "false", "insufficient_role"),
            ],
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "project access token on a project its bot cannot read",
            token: pat(62),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(
                &["read_api"],
                fixtures::user(62, "project_99_bot_0a1b2c3d4e5f60718293a4b5c6d7e8f9", true),
            )
            .on("GET", API, fixtures::project_not_found())
            .on("GET", GIT, fixtures::git_unauthorized())
            .on("GET", JWT, fixtures::registry_token(None, "personal_access_token"))
            .on("GET", PACKAGES, fixtures::project_not_found()),
            verdict: (3, "project_access_token", "true", "project_not_found"),
            access: all("false", "project_not_found"),
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "a missing project",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(&["read_api"], fixtures::user(4, "jdoe", false))
                .on("GET", API, fixtures::project_not_found())
                .on(
                    "GET",
                    GIT,
                    git_refused(
                        404,
                        "The project you were looking for could not be found or you don't have permission to view it.",
                    ),
                )
                .on("GET", JWT, fixtures::registry_token(None, "personal_access_token"))
                .on("GET", PACKAGES, fixtures::project_not_found()),
            verdict: (3, "personal_access_token", "true", "project_not_found"),
            access: all("false", "project_not_found"),
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "a revoked PAT: no git or registry request",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: Routes::new()
                .on("GET", SELF, Reply::revoked())
                .on("GET", USER, Reply::revoked())
                .on("GET", API, Reply::revoked())
                .on("GET", PACKAGES, Reply::revoked()),
            verdict: (1, "personal_access_token", "false", "revoked"),
            access: all("false", "revoked"),
            requests: vec![
                ("GET", SELF, Via::Header("PRIVATE-TOKEN")),
                ("GET", USER, Via::Header("PRIVATE-TOKEN")),
                ("GET", API, Via::Header("PRIVATE-TOKEN")),
                ("GET", PACKAGES, Via::Header("PRIVATE-TOKEN")),
            ],
        },
        Row {
            name: "an OAuth token",
            token: "5d1f3e2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e".to_owned(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: Routes::new()
                .on("GET", OAUTH, fixtures::oauth_info(&["read_api"], 7200))
                .on("GET", API, fixtures::project(12, PROJECT))
                .on("GET", GIT, fixtures::git_advertisement(3))
                .on("GET", JWT, fixtures::registry_token(Some(PROJECT), "oauth"))
                .on("GET", PACKAGES, Reply::json(200, serde_json::json!([]))),
            verdict: (0, "oauth_access_token", "true", "ok"),
            access: ALL_OK,
            requests: vec![
                ("GET", OAUTH, Via::Bearer),
                ("GET", API, Via::Bearer),
                ("GET", GIT, Via::Basic("oauth2")),
                ("GET", JWT, Via::Basic("oauth2")),
                ("GET", PACKAGES, Via::Bearer),
            ],
        },
    ];
    for row in rows {
        check_row(row);
    }
}

#[test]
fn deploy_tokens() {
    let token = || format!("gldt-{F20}");
    let args = |access: &'static str| {
        vec![
            "--project",
            PROJECT,
            "--username",
            DEPLOY_USER,
            "--access",
            access,
        ]
    };
    let both = vec![
        ("GET", JWT, Via::Basic(DEPLOY_USER)),
        ("GET", GIT, Via::Basic(DEPLOY_USER)),
    ];
    let rows = [
        Row {
            name: "deploy token with read_repository and read_registry",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on(
                    "GET",
                    JWT,
                    fixtures::registry_token(Some(PROJECT), "deploy_token"),
                )
                .on("GET", GIT, fixtures::git_advertisement(3)),
            verdict: (0, "deploy_token", "true", "ok"),
            access: &[("git", "true", "ok"), ("registry", "true", "ok")],
            requests: both.clone(),
        },
        Row {
            name: "deploy token without read_repository",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on(
                    "GET",
                    JWT,
                    fixtures::registry_token(Some(PROJECT), "deploy_token"),
                )
                .on(
                    "GET",
                    GIT,
                    git_refused(403, "You are not allowed to download code."),
                ),
            verdict: (3, "deploy_token", "true", "insufficient_scope"),
            access: &[
                ("git", "false", "insufficient_scope"),
                ("registry", "true", "ok"),
            ],
            requests: both.clone(),
        },
        Row {
            name: "deploy token without read_registry",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on("GET", JWT, fixtures::registry_denied())
                .on("GET", GIT, fixtures::git_advertisement(3)),
            verdict: (3, "deploy_token", "true", "insufficient_scope"),
            access: &[
                ("git", "true", "ok"),
                ("registry", "false", "insufficient_scope"),
            ],
            requests: both.clone(),
        },
        Row {
            name: "deploy token of another project",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on("GET", JWT, fixtures::registry_token(None, "deploy_token"))
                .on("GET", GIT, fixtures::git_unauthorized()),
            verdict: (3, "deploy_token", "true", "project_not_found"),
            access: &[
                ("git", "false", "project_not_found"),
                ("registry", "false", "project_not_found"),
            ],
            requests: both.clone(),
        },
        Row {
            name: "deploy token with a wrong user name: nothing after the refusal",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on("GET", JWT, fixtures::registry_unauthorized())
                .on("GET", GIT, fixtures::git_unauthorized()),
            verdict: (1, "deploy_token", "false", "unknown_token"),
            access: &[
                ("git", "false", "unknown_token"),
                ("registry", "false", "unknown_token"),
            ],
            requests: vec![("GET", JWT, Via::Basic(DEPLOY_USER))],
        },
        Row {
            name: "deploy token on the API and packages: said without a request",
            token: token(),
            args: args(ALL),
            routes: Routes::new()
                .on(
                    "GET",
                    JWT,
                    fixtures::registry_token(Some(PROJECT), "deploy_token"),
                )
                .on("GET", GIT, fixtures::git_advertisement(3)),
            verdict: (3, "deploy_token", "true", "insufficient_scope"),
            access: &[
                ("api", "false", "insufficient_scope"),
                ("git", "true", "ok"),
                ("registry", "true", "ok"),
                ("packages", "unknown", "unverifiable"),
            ],
            requests: both,
        },
    ];
    for row in rows {
        check_row(row);
    }
}

#[test]
fn a_large_ref_advertisement_is_an_answer_not_a_failure() {
    // 20 000 branches: about 1.2 MB, far over the body cap; only the start is read.
    let routes = pat_routes(&["read_repository"], no_user()).on(
        "GET",
        GIT,
        fixtures::git_advertisement(20_000),
    );
    let r = run(
        &pat(4),
        routes,
        &["--project", PROJECT, "--access", "git"],
        &[],
    );
    assert_code(&r.out, 0);
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "true", "{:#}", r.json["access"]);
    assert_eq!(r.json["access"][0]["request"]["status"], 200);
    assert_eq!(
        r.json["access"][0]["request"]["path"],
        "/infra/deploy.git/info/refs?service=git-upload-pack"
    );
}

#[test]
fn a_numeric_project_is_resolved_to_its_path_with_one_read() {
    let routes = pat_routes(&["read_api"], fixtures::user(4, "jdoe", false))
        .on("GET", "/api/v4/projects/12", fixtures::project(12, PROJECT))
        .on("GET", GIT, fixtures::git_advertisement(3));
    let r = run(
        &pat(4),
        routes,
        &["--project", "12", "--access", "git"],
        &[],
    );
    assert_code(&r.out, 0);
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "true");
    let mut paths: Vec<&str> = r.requests.iter().map(|q| q.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, [SELF, "/api/v4/projects/12", USER, GIT]);

    // A job token cannot resolve it: git is undetermined, with the hint, and nothing is sent.
    let routes = job_routes(12).on("GET", GIT, fixtures::git_advertisement(3));
    let r = run(
        &job_token(),
        routes,
        &["--project", "12", "--access", "git"],
        &[],
    );
    assert_code(&r.out, 4);
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "unknown");
    assert!(
        r.json["access"][0]["next"]
            .as_str()
            .unwrap()
            .contains("CI_PROJECT_PATH")
    );
    assert_eq!(r.requests.len(), 1, "only GET /job");
}

#[test]
fn the_project_defaults_to_the_jobs_and_is_required() {
    let routes = job_routes(12).on("GET", GIT, fixtures::git_advertisement(3));
    let r = run(
        &job_token(),
        routes,
        &["--access", "git"],
        &[("CI_PROJECT_PATH", PROJECT), ("CI_PROJECT_ID", "12")],
    );
    assert_code(&r.out, 0);
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "true");
    assert!(r.requests.iter().any(|q| q.path == GIT));

    let r = run(&job_token(), Routes::new(), &["--access", "git"], &[]);
    assert_code(&r.out, 2);
    assert!(r.out.stderr.contains("--project"), "{}", r.out.stderr);
    assert!(r.requests.is_empty());
    let r = run(&job_token(), Routes::new(), &["--access", "git,push"], &[]);
    assert_code(&r.out, 2);
    assert!(
        r.out.stderr.contains("api, git, registry"),
        "{}",
        r.out.stderr
    );
}

#[test]
fn the_human_report_has_an_access_block() {
    let routes = pat_routes(&["read_registry"], no_user())
        .on(
            "GET",
            GIT,
            git_refused(403, "You are not allowed to download code."),
        )
        .on(
            "GET",
            JWT,
            fixtures::registry_token(Some(PROJECT), "personal_access_token"),
        );
    let server = FakeGitLab::start(routes);
    let token = pat(4);
    let out = glprobe(&[
        "--url",
        &server.url(),
        "--token-env",
        "TOK",
        "--timeout",
        "5",
    ])
    .args(&["--project", PROJECT, "--access", "git,registry"])
    .env("TOK", &token)
    .run();
    assert_code(&out, 3);
    assert_no_leak(&token, &out, &[]);
    let text = &out.stdout;
    assert!(text.contains("Access   project infra/deploy\n"), "{text}");
    assert!(
        text.contains(
            "         git      no, insufficient_scope (a scope or permission is missing)\n"
        ),
        "{text}"
    );
    assert!(text.contains("         registry yes\n"), "{text}");
    assert!(
        text.contains("Why      The token has no scope that reads code"),
        "{text}"
    );
}

#[test]
fn a_failure_on_a_surface_is_unknown_never_false() {
    // Gitaly down (503, retried with backoff), then a proxy's HTML page for the registry.
    let gitaly =
        "The git server, Gitaly, is not available at this time. Please contact your administrator.";
    let routes = pat_routes(&["read_api"], fixtures::user(4, "jdoe", false))
        .on("GET", GIT, git_refused(503, gitaly))
        .on(
            "GET",
            JWT,
            Reply::raw(
                403,
                "text/html",
                "<!DOCTYPE html><html>Forbidden by proxy</html>",
            ),
        );
    let r = run(
        &pat(4),
        routes,
        &["--project", PROJECT, "--access", "git,registry"],
        &[],
    );
    assert_code(&r.out, 4);
    assert_eq!(r.env["TOKEN_VALID"], "true");
    assert_eq!(r.env["TOKEN_REASON"], "server_error");
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "unknown");
    assert_eq!(r.env["TOKEN_ACCESS_REGISTRY"], "unknown");
    // 503 is retried (at most three attempts); the 403 page is not.
    let count = |path: &str| r.requests.iter().filter(|q| q.path == path).count();
    assert!((2..=3).contains(&count(GIT)), "{}", count(GIT));
    assert_eq!(count(JWT), 1);
}

#[test]
fn a_numeric_project_the_token_cannot_see_sends_no_git_request() {
    let routes = pat_routes(&["read_api"], fixtures::user(4, "jdoe", false)).on(
        "GET",
        "/api/v4/projects/99",
        fixtures::project_not_found(),
    );
    let r = run(
        &pat(4),
        routes,
        &["--project", "99", "--access", "api,git"],
        &[],
    );
    assert_code(&r.out, 3);
    assert_eq!(r.env["TOKEN_REASON"], "project_not_found");
    assert_eq!(r.env["TOKEN_ACCESS_API"], "false");
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "false");
    assert!(!r.requests.iter().any(|q| q.path.ends_with("/info/refs")));
    assert_eq!(r.requests.len(), 3, "self, user, the project");
}

#[test]
fn offline_access_is_unknown_and_sends_nothing() {
    let token = pat(4);
    let out = glprobe(&["--offline", "--token-env", "TOK", "--format", "dotenv"])
        .args(&["--project", PROJECT, "--access", "git,packages"])
        .env("TOK", &token)
        .run();
    assert_code(&out, 0);
    assert_no_leak(&token, &out, &[]);
    let env = out.dotenv();
    assert_eq!(env["TOKEN_ACCESS_GIT"], "unknown");
    assert_eq!(env["TOKEN_ACCESS_PACKAGES"], "unknown");
    assert!(!env.contains_key("TOKEN_ACCESS_API"));
}

#[test]
fn a_malformed_token_sends_nothing_at_all() {
    let r = run(
        &format!("\"{}\"", pat(4)),
        Routes::new(),
        &["--project", PROJECT, "--access", ALL],
        &[],
    );
    assert_code(&r.out, 1);
    assert_eq!(r.env["TOKEN_REASON"], "malformed");
    assert!(r.requests.is_empty());
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "false");
}
