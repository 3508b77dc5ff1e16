//! `glprobe audit` (issue 11) against a fake GitLab group tree: every planted problem found with
//! its code, severity and place; nothing on the clean places; no value in any output; GET only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::support::gitlab::{FakeGitLab, Recorded, Reply};
use crate::support::group_tree::{
    Group, Limiter, Project, Tree, access_token, deploy_token, hidden, owner, schedule, trigger,
    variable,
};
use crate::support::tokens::{F20, job_jwt, pat};
use crate::support::{Outcome, TempDir, assert_code, assert_no_leak, glprobe, root};

/// The planted secrets, for the leak checks.
struct Planted {
    audit: String,
    values: Vec<String>,
}

fn group(id: u64, path: &str, parent: Option<u64>) -> Group {
    Group {
        id,
        full_path: path.into(),
        parent_id: parent,
    }
}

fn project(id: u64, path: &str, ns: u64, archived: bool) -> Project {
    Project {
        id,
        path_with_namespace: path.into(),
        namespace_id: ns,
        archived,
    }
}

/// A routable token with one payload character changed: the CRC no longer matches.
fn corrupt(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

fn masked(key: &str, value: &str) -> Value {
    variable(key, value, true, true)
}

/// The fake `acme` tree with every planted problem (see the expectations in `acme_findings`).
fn acme() -> (Tree, Planted) {
    let audit = pat(1);
    let shared = pat(520);
    let v = |s: &str| s.to_owned();
    let values = vec![
        pat(501),
        pat(510),
        pat(511),
        pat(512),
        pat(513),
        corrupt(&pat(514)),
        job_jwt(55, 102, 3600, "http://127.0.0.1"),
        "a1b2c3d4".repeat(8),
        pat(601),
        pat(602),
        pat(603),
        format!("gldt-{F20}"),
        v("gldt-Zq7Tz9VbNw3RmPa2sYe"),
        pat(999),
        shared.clone(),
        pat(700),
    ];
    let mut tree = Tree {
        audit_scopes: vec!["read_api".into()],
        audit_days_left: Some(300),
        hide_totals: true,
        ..Tree::default()
    };
    tree.groups = vec![
        group(1, "acme", None),
        group(2, "acme/backend", Some(1)),
        group(3, "acme/restricted", Some(1)),
    ];
    tree.projects = vec![
        project(101, "acme/clean", 1, false),
        project(102, "acme/backend/api", 2, false),
        project(103, "acme/backend/worker", 2, false),
        project(104, "acme/restricted/vault", 3, false),
        project(105, "acme/old", 1, true),
    ];
    tree.not_owner.insert(3);
    tree.not_maintainer.insert(104);
    tree.group_variables
        .insert(1, vec![masked("SHARED_TOKEN", &shared)]);
    tree.group_access_tokens.insert(
        1,
        vec![access_token(1, "shared-bot", 520, true, false, 300)],
    );
    tree.group_access_tokens.insert(
        2,
        vec![access_token(2, "expiring-group-bot", 530, true, false, 5)],
    );
    // acme/clean: nothing wrong.
    tree.project_variables.insert(
        101,
        vec![
            masked("GITLAB_TOKEN", &values[0]),
            variable("DEPLOY_ENV", "staging", false, false),
            variable("GREETING", "hello world", false, false),
            variable("RELEASE_REF", "$CI_COMMIT_REF_NAME", false, false),
        ],
    );
    tree.project_access_tokens.insert(
        101,
        vec![access_token(3, "clean-bot", 501, true, false, 200)],
    );
    tree.project_deploy_tokens
        .insert(101, vec![deploy_token(4, "registry", Some(200), false)]);
    tree.triggers.insert(
        101,
        vec![trigger(5, "deploy", None, owner(9, "erin", "active"))],
    );
    tree.schedules.insert(
        101,
        vec![(
            schedule(6, "nightly", true, owner(9, "erin", "active")),
            Some(vec![variable("VERSION", "1.2", false, false)]),
        )],
    );
    // acme/backend/api: 120 plain variables first, so the planted ones are on page 2.
    let mut vars: Vec<Value> = (0..120)
        .map(|i| variable(&format!("SETTING_{i}"), &format!("value {i}"), false, false))
        .collect();
    vars.extend([
        masked("CI_JOB_TOKEN", &values[1]),
        variable("CI_SERVER_URL", "https://gitlab.example.com", false, false),
        variable("QUOTED_TOKEN", &format!("\"{}\"", values[2]), false, true),
        variable("TRAILING_TOKEN", &format!("{}\n", values[3]), false, true),
        variable(
            "BEARER_TOKEN",
            &format!("Bearer {}", values[4]),
            false,
            true,
        ),
        masked("CRC_TOKEN", &values[5]),
        masked("JOB_TOKEN_COPY", &values[6]),
        masked("OAUTH_TOKEN", &values[7]),
        masked("EXPIRED_BOT_TOKEN", &values[8]),
        masked("REVOKED_BOT_TOKEN", &values[9]),
        masked("EXPIRING_BOT_TOKEN", &values[10]),
        variable("UNMASKED_DEPLOY", &values[11], false, true),
        variable("UNPROTECTED_DEPLOY", &values[12], true, false),
        hidden("HIDDEN_TOKEN"),
        masked("ORPHAN_TOKEN", &values[13]),
        masked("SHARED_COPY", &shared),
        variable("API_TOKEN_COPY", "[MASKED]", false, false),
    ]);
    tree.project_variables.insert(102, vars);
    tree.project_access_tokens.insert(
        102,
        vec![
            access_token(10, "api-bot", 510, true, false, 300),
            access_token(11, "expired-bot", 601, false, false, -3),
            access_token(12, "revoked-bot", 602, false, true, 100),
            access_token(13, "expiring-bot", 603, true, false, 10),
        ],
    );
    // acme/backend/worker: inventory problems.
    tree.project_access_tokens.insert(
        103,
        vec![access_token(21, "worker-bot", 610, true, false, 7)],
    );
    tree.project_deploy_tokens.insert(
        103,
        vec![
            deploy_token(31, "registry-old", Some(-2), true),
            deploy_token(32, "registry-soon", Some(3), false),
            deploy_token(33, "registry-forever", None, false),
        ],
    );
    tree.triggers.insert(
        103,
        vec![
            trigger(41, "nightly from infra", None, owner(5, "alice", "blocked")),
            trigger(42, "old", Some(-1), owner(6, "bob", "active")),
            trigger(43, "soon", Some(12), owner(6, "bob", "active")),
        ],
    );
    tree.schedules.insert(
        103,
        vec![
            (
                schedule(51, "nightly", true, owner(7, "carol", "deactivated")),
                Some(vec![]),
            ),
            (
                schedule(52, "weekly", true, owner(8, "dave", "active")),
                Some(vec![
                    json_var("API_TOKEN", "[MASKED]"),
                    json_var("DEPLOY_TARGET", "prod"),
                ]),
            ),
        ],
    );
    tree.throttle_once
        .insert("/api/v4/projects/103/triggers".into(), 1);
    // acme/restricted/vault: Developer only.
    tree.schedules.insert(
        104,
        vec![(
            schedule(61, "hourly", true, owner(9, "erin", "active")),
            Some(vec![]),
        )],
    );
    // acme/old: archived, skipped.
    tree.project_variables.insert(
        105,
        vec![variable("CI_JOB_TOKEN", &values[15], false, false)],
    );
    (tree, Planted { audit, values })
}

fn json_var(key: &str, value: &str) -> Value {
    serde_json::json!({"variable_type": "env_var", "key": key, "value": value, "raw": false})
}

/// Runs `glprobe audit` with the audit token in $AUDIT_TOKEN, writing JSON and JUnit files.
fn audit(server: &FakeGitLab, planted: &Planted, args: &[&str], dir: &TempDir) -> Outcome {
    let json = dir.path("audit.json");
    let junit = dir.path("audit.xml");
    let out = glprobe(&[
        "audit",
        "--url",
        &server.url(),
        "--token-env",
        "AUDIT_TOKEN",
    ])
    .args(args)
    .args(&[
        "--json",
        json.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ])
    .env("AUDIT_TOKEN", &planted.audit)
    .run();
    let files: [&Path; 2] = [&json, &junit];
    for secret in planted.values.iter().chain([&planted.audit]) {
        assert_no_leak(secret, &out, &files);
    }
    assert_get_only(&server.requests());
    out
}

#[track_caller]
fn assert_get_only(requests: &[Recorded]) {
    assert!(!requests.is_empty());
    for r in requests {
        assert_eq!(
            r.method, "GET",
            "a non-GET was sent: {} {}",
            r.method, r.path
        );
    }
}

/// `(severity, code, where)` for every finding of a JSON report.
fn findings(doc: &Value) -> BTreeSet<(String, String, String)> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut place = format!(
                "{} {}",
                f["path"].as_str().unwrap(),
                f["item"].as_str().unwrap()
            );
            if let Some(name) = f["name"].as_str() {
                place.push_str(&format!(" {name}"));
            }
            if let Some(env) = f["environment_scope"].as_str().filter(|e| *e != "*") {
                place.push_str(&format!(" ({env})"));
            }
            (
                f["severity"].as_str().unwrap().to_owned(),
                f["code"].as_str().unwrap().to_owned(),
                place.trim().to_owned(),
            )
        })
        .collect()
}

/// Every planted problem, and nothing else.
fn acme_findings() -> BTreeSet<(String, String, String)> {
    let api = "acme/backend/api variable";
    let worker = "acme/backend/worker";
    let rows: &[(&str, &str, String)] = &[
        (
            "broken",
            "overrides_predefined",
            format!("{api} CI_JOB_TOKEN"),
        ),
        (
            "fragile",
            "overrides_predefined",
            format!("{api} CI_SERVER_URL"),
        ),
        ("broken", "malformed", format!("{api} QUOTED_TOKEN")),
        ("broken", "malformed", format!("{api} TRAILING_TOKEN")),
        ("broken", "malformed", format!("{api} BEARER_TOKEN")),
        ("broken", "malformed", format!("{api} API_TOKEN_COPY")),
        (
            "broken",
            "routable_crc_mismatch",
            format!("{api} CRC_TOKEN"),
        ),
        (
            "broken",
            "stored_job_token",
            format!("{api} JOB_TOKEN_COPY"),
        ),
        ("broken", "stored_oauth_token", format!("{api} OAUTH_TOKEN")),
        (
            "broken",
            "token_expired",
            format!("{api} EXPIRED_BOT_TOKEN"),
        ),
        (
            "broken",
            "token_expired",
            "acme/backend/api access token expired-bot (id 11)".into(),
        ),
        (
            "broken",
            "token_revoked",
            format!("{api} REVOKED_BOT_TOKEN"),
        ),
        (
            "expiring",
            "token_expiring",
            format!("{api} EXPIRING_BOT_TOKEN"),
        ),
        (
            "expiring",
            "token_expiring",
            "acme/backend/api access token expiring-bot (id 13)".into(),
        ),
        ("exposure", "not_masked", format!("{api} UNMASKED_DEPLOY")),
        (
            "exposure",
            "not_protected",
            format!("{api} UNPROTECTED_DEPLOY"),
        ),
        (
            "uninspectable",
            "hidden_uninspectable",
            format!("{api} HIDDEN_TOKEN (production)"),
        ),
        (
            "uninspectable",
            "not_in_inventory",
            format!("{api} ORPHAN_TOKEN"),
        ),
        ("exposure", "duplicate_token", format!("{api} SHARED_COPY")),
        (
            "exposure",
            "duplicate_token",
            "acme variable SHARED_TOKEN".into(),
        ),
        (
            "expiring",
            "token_expiring",
            "acme/backend access token expiring-group-bot (id 2)".into(),
        ),
        (
            "expiring",
            "token_expiring",
            format!("{worker} access token worker-bot (id 21)"),
        ),
        (
            "broken",
            "token_expired",
            format!("{worker} deploy token registry-old"),
        ),
        (
            "expiring",
            "token_expiring",
            format!("{worker} deploy token registry-soon"),
        ),
        (
            "broken",
            "owner_unavailable",
            format!("{worker} trigger nightly from infra (id 41)"),
        ),
        (
            "broken",
            "token_expired",
            format!("{worker} trigger old (id 42)"),
        ),
        (
            "expiring",
            "token_expiring",
            format!("{worker} trigger soon (id 43)"),
        ),
        (
            "broken",
            "owner_unavailable",
            format!("{worker} schedule nightly (id 51)"),
        ),
        (
            "broken",
            "malformed",
            format!("{worker} schedule weekly (id 52) variable API_TOKEN"),
        ),
        (
            "uninspectable",
            "not_inspectable",
            "acme/restricted CI/CD variables".into(),
        ),
        (
            "uninspectable",
            "not_inspectable",
            "acme/restricted access tokens".into(),
        ),
        (
            "uninspectable",
            "not_inspectable",
            "acme/restricted deploy tokens".into(),
        ),
        (
            "uninspectable",
            "not_inspectable",
            "acme/restricted/vault CI/CD variables".into(),
        ),
        (
            "uninspectable",
            "not_inspectable",
            "acme/restricted/vault access tokens".into(),
        ),
        (
            "uninspectable",
            "not_inspectable",
            "acme/restricted/vault deploy tokens".into(),
        ),
        (
            "uninspectable",
            "not_inspectable",
            "acme/restricted/vault pipeline triggers".into(),
        ),
        (
            "uninspectable",
            "not_inspectable",
            "acme/restricted/vault schedule variables".into(),
        ),
    ];
    rows.iter()
        .map(|(s, c, p)| (s.to_string(), c.to_string(), p.clone()))
        .collect()
}

#[test]
fn the_acme_tree_every_planted_problem_and_nothing_else() {
    let (tree, planted) = acme();
    let server = FakeGitLab::start(tree.routes());
    let dir = TempDir::new("audit-acme");
    let out = audit(
        &server,
        &planted,
        &["--group", "acme", "--schedules", "--format", "json"],
        &dir,
    );
    assert_code(&out, 3);
    let doc = out.json();
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path("audit.json")).unwrap()).unwrap();
    assert_eq!(doc, file, "--json writes the document --format json prints");
    let got = findings(&doc);
    let want = acme_findings();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing: {missing:#?}\nunexpected: {extra:#?}"
    );
    assert_eq!(doc["audit_schema_version"], 1);
    assert_eq!(
        doc["complete"], false,
        "the restricted places make it incomplete"
    );
    assert_eq!(
        doc["summary"]["projects"], 4,
        "the archived project is skipped"
    );
    assert_eq!(doc["summary"]["groups"], 3);
    // Every token finding names its kind and a keyed fingerprint, never a value.
    for f in doc["findings"].as_array().unwrap() {
        if let Some(fp) = f["fingerprint"].as_str() {
            assert_eq!(fp.len(), 12);
            assert!(fp.bytes().all(|b| b.is_ascii_hexdigit()));
        }
    }
    let dup: BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "duplicate_token")
        .map(|f| f["fingerprint"].as_str().unwrap())
        .collect();
    assert_eq!(dup.len(), 1, "both copies carry the same fingerprint");

    let requests = server.requests();
    // Pagination: followed Link rel="next" with no totals; page 2 of the 137 variables read.
    let vars: Vec<&Recorded> = requests
        .iter()
        .filter(|r| r.path == "/api/v4/projects/102/variables")
        .collect();
    assert_eq!(vars.len(), 2, "two pages of variables");
    assert!(
        vars.iter()
            .any(|r| r.query_param("page").as_deref() == Some("2"))
    );
    let listing = requests
        .iter()
        .find(|r| r.path == "/api/v4/groups/1/projects")
        .expect("the project list");
    for (k, v) in [
        ("include_subgroups", "true"),
        ("with_shared", "false"),
        ("archived", "false"),
        ("per_page", "100"),
    ] {
        assert_eq!(listing.query_param(k).as_deref(), Some(v), "{k}");
    }
    assert!(
        !requests.iter().any(|r| r.path.contains("/projects/105")),
        "the archived project is never read"
    );
    // The 429 with Retry-After on the triggers was waited out and retried.
    let triggers: Vec<_> = requests
        .iter()
        .filter(|r| r.path == "/api/v4/projects/103/triggers")
        .collect();
    assert_eq!(triggers.len(), 2);
    assert!(triggers[1].at.duration_since(triggers[0].at).as_millis() >= 900);
    assert_json_schema(&dir.path("audit.json"));
    assert_junit(&dir.path("audit.xml"), &doc);
}

#[test]
fn human_report_is_sorted_by_severity_then_path() {
    let (tree, planted) = acme();
    let server = FakeGitLab::start(tree.routes());
    let dir = TempDir::new("audit-human");
    let out = audit(&server, &planted, &["--group", "acme"], &dir);
    assert_code(&out, 3);
    let first = out.stdout.lines().next().unwrap();
    assert!(
        first.contains("7 places read (3 groups, 4 projects)"),
        "{first}"
    );
    assert!(first.contains("broken"), "{first}");
    assert!(out.stdout.contains("Incomplete:"), "{}", out.stdout);
    let order = ["broken", "expiring", "fragile", "exposure", "uninspectable"];
    let rows: Vec<(usize, &str)> = out
        .stdout
        .lines()
        .filter_map(|l| {
            let sev = l.split_whitespace().next()?;
            order.iter().position(|s| *s == sev).map(|i| (i, l))
        })
        .collect();
    assert!(rows.len() > 20, "{}", out.stdout);
    assert!(rows.windows(2).all(|w| w[0].0 <= w[1].0), "{}", out.stdout);
    // Without --schedules the schedule variables are not read.
    assert!(
        !out.stdout.contains("schedule weekly (id 52) variable"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_clean_project_reports_nothing_and_exits_0() {
    let (tree, planted) = acme();
    let server = FakeGitLab::start(tree.routes());
    let dir = TempDir::new("audit-clean");
    let out = audit(
        &server,
        &planted,
        &["--project", "acme/clean", "--schedules"],
        &dir,
    );
    assert_code(&out, 0);
    assert!(out.stdout.contains("Nothing found."), "{}", out.stdout);
    // Five lists and one schedule's details: at most six requests per project.
    let reads = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v4/projects/101/"))
        .count();
    assert_eq!(reads, 6);
    assert_junit(
        &dir.path("audit.xml"),
        &serde_json::from_str(&std::fs::read_to_string(dir.path("audit.json")).unwrap()).unwrap(),
    );
}

#[test]
fn places_without_the_role_make_the_audit_incomplete() {
    let (tree, planted) = acme();
    let server = FakeGitLab::start(tree.routes());
    let dir = TempDir::new("audit-restricted");
    let out = audit(
        &server,
        &planted,
        &["--group", "acme/restricted", "--format", "json"],
        &dir,
    );
    assert_code(&out, 4);
    let doc = out.json();
    let messages: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("401") && m.contains("says nothing about the audit token")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("Owner")),
        "{messages:#?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("Maintainer")),
        "{messages:#?}"
    );
    // --fail-on uninspectable turns them into failures.
    let out = audit(
        &server,
        &planted,
        &["--group", "acme/restricted", "--fail-on", "uninspectable"],
        &dir,
    );
    assert_code(&out, 3);
}

#[test]
fn the_audit_token_is_checked_first() {
    let cases: Vec<(&str, Tree, i32, &str)> = vec![
        (
            "expired",
            Tree {
                audit_reply: Some(Reply::expired()),
                ..Tree::default()
            },
            1,
            "expired",
        ),
        (
            "revoked",
            Tree {
                audit_reply: Some(Reply::revoked()),
                ..Tree::default()
            },
            1,
            "revoked",
        ),
        (
            "no read_api",
            Tree {
                audit_scopes: vec!["read_repository".into()],
                audit_days_left: Some(90),
                ..Tree::default()
            },
            1,
            "insufficient_scope",
        ),
    ];
    for (name, tree, code, reason) in cases {
        let server = FakeGitLab::start(tree.routes());
        let planted = Planted {
            audit: pat(1),
            values: vec![],
        };
        let dir = TempDir::new("audit-token");
        let out = audit(&server, &planted, &["--group", "acme"], &dir);
        assert_code(&out, code);
        assert!(out.stderr.contains(reason), "{name}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{name}: {}", out.stdout);
        assert!(
            !server
                .requests()
                .iter()
                .any(|r| r.path.starts_with("/api/v4/groups")),
            "{name}: the walk never starts"
        );
    }
    // A job token cannot audit anything: stopped before any request.
    let server = FakeGitLab::start(Tree::default().routes());
    let out = glprobe(&["audit", "--url", &server.url(), "--group", "acme"])
        .env("CI_JOB_TOKEN", &job_jwt(5, 6, 600, "http://127.0.0.1"))
        .run();
    assert_code(&out, 1);
    assert!(server.requests().is_empty());
    // Expiring within --min-days-left: a finding of its own.
    let (mut tree, planted) = acme();
    tree.audit_days_left = Some(10);
    let server = FakeGitLab::start(tree.routes());
    let dir = TempDir::new("audit-own");
    let out = audit(
        &server,
        &planted,
        &["--project", "acme/clean", "--format", "json"],
        &dir,
    );
    assert_code(&out, 3);
    assert!(findings(&out.json()).contains(&(
        "expiring".into(),
        "token_expiring".into(),
        "audit token".into()
    )));
}

#[test]
fn a_rate_limit_longer_than_the_deadline_is_incomplete() {
    let (mut tree, planted) = acme();
    tree.throttle_once
        .insert("/api/v4/projects/101/variables".into(), 3600);
    let server = FakeGitLab::start(tree.routes());
    let dir = TempDir::new("audit-429");
    let out = audit(
        &server,
        &planted,
        &[
            "--project",
            "acme/clean",
            "--deadline",
            "20",
            "--format",
            "json",
        ],
        &dir,
    );
    assert_code(&out, 4);
    let doc = out.json();
    assert!(doc["summary"]["rate_limited"].as_u64().unwrap() >= 1);
    assert!(
        out.elapsed.as_secs() < 15,
        "no waiting for an hour: {:?}",
        out.elapsed
    );
}

#[test]
fn pacing_from_ratelimit_headers_avoids_every_429() {
    let mut tree = Tree {
        audit_scopes: vec!["api".into()],
        audit_days_left: Some(300),
        limiter: Some(std::sync::Arc::new(Limiter::new(20, 2))),
        ..Tree::default()
    };
    tree.groups = vec![group(1, "big", None)];
    tree.projects = (0..10)
        .map(|i| project(200 + i, &format!("big/p{i}"), 1, false))
        .collect();
    let limiter = tree.limiter.clone().unwrap();
    let server = FakeGitLab::start(tree.routes());
    let planted = Planted {
        audit: pat(1),
        values: vec![],
    };
    let dir = TempDir::new("audit-pace");
    let out = audit(
        &server,
        &planted,
        &["--group", "big", "--format", "json"],
        &dir,
    );
    assert_code(&out, 0);
    let doc = out.json();
    assert_eq!(doc["summary"]["rate_limited"], 0, "{doc:#}");
    let requests = server.requests().len();
    assert!(requests > 40, "{requests} requests");
    assert!(doc["summary"]["rate_limit_waits"].as_u64().unwrap() > 0);
    let limiter_refused = limiter.refused.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(limiter_refused, 0);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["audit"],
        vec!["audit", "--group", "a", "--project", "b"],
        vec!["audit", "--group", "a b"],
        vec!["audit", "--group", "a", "--fail-on", "bad"],
        vec!["audit", "--group", "a", "--concurrency", "0"],
        vec!["audit", "--group", "a", "--format", "dotenv"],
        vec!["audit", "--group", "a", "glpat-secretsecretsecret"],
    ] {
        let out = glprobe(&args).run();
        assert_code(&out, 2);
        assert!(!out.stderr.contains("secretsecret"), "{}", out.stderr);
        assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    }
    let out = glprobe(&["audit", "--help"]).run();
    assert_code(&out, 0);
    assert!(out.stdout.contains("--fail-on"));
}

/// Validates the JSON document against the schema kept in the tree (check-jsonschema).
fn assert_json_schema(path: &Path) {
    let tool = root().join(".venv/bin/check-jsonschema");
    assert!(
        tool.is_file(),
        "check-jsonschema is not installed; install it with: python3 -m venv .venv && .venv/bin/pip install check-jsonschema==0.39.0"
    );
    let out = std::process::Command::new(tool)
        .arg("--schemafile")
        .arg(root().join("schemas/audit.schema.json"))
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Parses the JUnit file (python's XML parser) and checks it against the JSON report: one
/// test case per place, a failure exactly where a finding is at or above --fail-on.
fn assert_junit(path: &Path, doc: &Value) {
    let python = root().join(".venv/bin/python3");
    let script = "import json, sys, xml.etree.ElementTree as ET\n\
        root = ET.parse(sys.argv[1]).getroot()\n\
        assert root.tag == 'testsuites'\n\
        cases = []\n\
        for suite in root.findall('testsuite'):\n\
        \x20   assert int(suite.get('tests')) == len(suite.findall('testcase'))\n\
        \x20   assert int(suite.get('failures')) == len(suite.findall('testcase/failure'))\n\
        \x20   for c in suite.findall('testcase'):\n\
        \x20       cases.append({'class': c.get('classname'), 'name': c.get('name'), 'failed': c.find('failure') is not None})\n\
        print(json.dumps(cases))\n";
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut failing: BTreeMap<String, bool> = BTreeMap::new();
    for p in doc["places"].as_array().unwrap() {
        failing.insert(p["path"].as_str().unwrap().to_owned(), false);
    }
    let rank = |s: &str| {
        ["uninspectable", "exposure", "fragile", "expiring", "broken"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let threshold = rank(doc["fail_on"].as_str().unwrap());
    for f in doc["findings"].as_array().unwrap() {
        if rank(f["severity"].as_str().unwrap()) >= threshold
            && let Some(v) = failing.get_mut(f["path"].as_str().unwrap())
        {
            *v = true;
        }
    }
    for (path, fails) in &failing {
        let case = cases
            .iter()
            .find(|c| c["name"] == path.as_str() || (path.is_empty() && c["name"] == "instance"))
            .unwrap_or_else(|| panic!("no test case for {path}: {cases:?}"));
        assert_eq!(case["failed"], *fails, "{path}");
    }
}
