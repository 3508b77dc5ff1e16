//! `glprobe audit` (issue 11) against a fake GitLab group tree: every planted problem found with
//! its code, severity and place; nothing on the clean places; no value in any output; GET only.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::support::acme::{Planted, acme};
use crate::support::gitlab::{FakeGitLab, Recorded};
use crate::support::{Outcome, TempDir, assert_code, assert_no_leak, glprobe, root};

/// Runs `glprobe audit` with the audit token in $AUDIT_TOKEN, writing JSON and JUnit files.
pub(crate) fn audit(
    server: &FakeGitLab,
    planted: &Planted,
    args: &[&str],
    dir: &TempDir,
) -> Outcome {
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
pub(crate) fn findings(doc: &Value) -> BTreeSet<(String, String, String)> {
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

/// Validates the JSON document against the schema kept in the tree (check-jsonschema).
fn assert_json_schema(path: &Path) {
    let tool = root().join(".venv/bin/check-jsonschema");
    assert!(
        tool.is_file(),
        "check-jsonschema is not installed; install it with: python3 -m venv .venv && .venv/bin/pip install check-jsonschema==0.39.0"
    );
    let out = std::process::Command::new(tool)
        .arg("--schemafile")
        .arg(root().join("src/audit/schema.json"))
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
