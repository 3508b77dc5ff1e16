//! Access checks (`--access api,git,registry,packages`) against the fake GitLab: one row per
//! outcome of the reference note's matrices (access.md §2.3, §3.5, §4.1, §5.2), each asserting
//! the verdict, the per-surface values in dotenv and JSON, the exact requests (path, query,
//! login, at most one per surface, none with a counted login before the token is known valid)
//! and that the token appears in no output. `matrix` holds the rows, `edges` the rest (sizes,
//! numeric projects, defaults, failures, offline).

mod edges;
mod matrix;

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
