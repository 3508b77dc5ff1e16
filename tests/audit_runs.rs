//! `glprobe audit` runs beyond the tree's findings: the audit token checked first, rate limits
//! (a wait past the deadline, pacing from `RateLimit-*` with zero 429s), usage errors, and
//! `--probe-found`.

use std::collections::BTreeSet;

use crate::audit::{audit, findings};
use crate::support::acme::{Planted, acme, group, masked, project};
use crate::support::gitlab::{FakeGitLab, Recorded, Reply};
use crate::support::group_tree::{Limiter, Tree};
use crate::support::tokens::{F20, job_jwt, pat};
use crate::support::{TempDir, assert_code, glprobe};

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
    // Nor a 20-character legacy token, whose check would try kinds one by one.
    let out = glprobe(&["audit", "--url", &server.url(), "--group", "acme"])
        .env("GITLAB_TOKEN", F20)
        .run();
    assert_code(&out, 1);
    assert!(server.requests().is_empty());
    assert!(!out.stderr.contains(F20), "{}", out.stderr);
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
    // Pacing is timing: on a loaded 2-core machine a request can still land just past a
    // window's turn. The zero-429 target is measured by tests/bench/audit (README); here the
    // pacer must keep refusals rare, and none may end a list (rate_limited above).
    let limiter_refused = limiter.refused.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        limiter_refused <= 2,
        "{limiter_refused} requests refused by the limiter"
    );
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
        vec!["audit", "--group", "acme/glpat-secretsecretsecret"],
        vec![
            "audit",
            "--group",
            "a",
            "--junit",
            "/tmp/glpat-secretsecretsecret.xml",
        ],
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

#[test]
fn probe_found_checks_each_token_once_a_second_and_stops_after_ten_refusals() {
    use crate::support::fixtures::{pat_self, user};
    let mut tree = Tree {
        audit_scopes: vec!["read_api".into()],
        audit_days_left: Some(300),
        ..Tree::default()
    };
    tree.groups = vec![group(1, "solo", None)];
    tree.projects = vec![project(301, "solo/app", 1, false)];
    let expiring = pat(811);
    let revoked: Vec<String> = (820..831).map(pat).collect();
    let deploy = format!("gldt-{F20}");
    tree.probe_replies.insert(
        expiring.clone(),
        (pat_self(&["api"], Some(5), 811), user(811, "bot", true)),
    );
    for t in &revoked {
        tree.probe_replies
            .insert(t.clone(), (Reply::revoked(), Reply::revoked()));
    }
    let mut vars = vec![
        masked("SOON_TOKEN", &expiring),
        masked("SOON_TOKEN_COPY", &expiring),
        masked("DEPLOY_TOKEN", &deploy),
    ];
    vars.extend(
        revoked
            .iter()
            .enumerate()
            .map(|(i, t)| masked(&format!("OLD_TOKEN_{i}"), t)),
    );
    tree.project_variables.insert(301, vars);
    let mut values = revoked.clone();
    values.extend([expiring.clone(), deploy.clone()]);
    let planted = Planted {
        audit: pat(1),
        values,
    };
    let server = FakeGitLab::start(tree.routes());
    let dir = TempDir::new("audit-probe");

    // Without --probe-found, no found token is ever sent.
    let out = audit(
        &server,
        &planted,
        &["--group", "solo", "--format", "json"],
        &dir,
    );
    assert_code(&out, 0);
    let sent: BTreeSet<String> = server
        .requests()
        .iter()
        .filter_map(|r| r.header("private-token").map(str::to_owned))
        .collect();
    assert_eq!(sent, BTreeSet::from([planted.audit.clone()]));
    server.clear();

    let out = audit(
        &server,
        &planted,
        &["--group", "solo", "--probe-found", "--format", "json"],
        &dir,
    );
    assert_code(&out, 3);
    let got = findings(&out.json());
    assert!(
        got.contains(&(
            "expiring".into(),
            "token_expiring".into(),
            "solo/app variable SOON_TOKEN".into()
        )),
        "{got:#?}"
    );
    assert!(
        got.contains(&(
            "expiring".into(),
            "token_expiring".into(),
            "solo/app variable SOON_TOKEN_COPY".into()
        )),
        "{got:#?}"
    );
    for i in 0..10 {
        assert!(
            got.contains(&(
                "broken".into(),
                "token_revoked".into(),
                format!("solo/app variable OLD_TOKEN_{i}")
            )),
            "{i}: {got:#?}"
        );
    }
    assert!(
        !got.iter()
            .any(|f| f.2.ends_with("OLD_TOKEN_10") && f.1 == "token_revoked"),
        "stopped after ten refusals"
    );
    assert!(
        out.stderr.contains("stopped after 10 refusals"),
        "{}",
        out.stderr
    );
    let requests = server.requests();
    let probes: Vec<&Recorded> = requests
        .iter()
        .filter(|r| {
            r.path == "/api/v4/personal_access_tokens/self"
                && r.header("private-token") != Some(planted.audit.as_str())
        })
        .collect();
    assert_eq!(
        probes.len(),
        11,
        "each distinct token once, the eleventh refused one never"
    );
    for pair in probes.windows(2) {
        assert!(
            pair[1].at.duration_since(pair[0].at).as_millis() >= 950,
            "at most one a second"
        );
    }
    assert!(
        !requests
            .iter()
            .any(|r| r.header("private-token") == Some(deploy.as_str())),
        "deploy tokens are never probed"
    );
    assert!(
        !requests
            .iter()
            .any(|r| r.header("private-token") == Some(revoked[10].as_str()))
    );
}

#[test]
fn the_instance_audit_reads_instance_variables_and_every_place() {
    let (mut tree, mut planted) = acme();
    let stored = pat(4040);
    tree.instance_variables = vec![crate::support::group_tree::variable(
        "CI_JOB_TOKEN",
        &stored,
        true,
        true,
    )];
    planted.values.push(stored);
    tree.admin = true;
    let server = FakeGitLab::start(tree.routes());
    let dir = TempDir::new("audit-instance");
    let out = audit(&server, &planted, &["--instance", "--format", "json"], &dir);
    assert_code(&out, 3);
    let doc = out.json();
    let got = findings(&doc);
    assert!(
        got.contains(&(
            "broken".into(),
            "overrides_predefined".into(),
            // Instance places have an empty path.
            "variable CI_JOB_TOKEN".into()
        )),
        "{got:#?}"
    );
    assert_eq!(
        doc["summary"]["projects"], 4,
        "the archived project is skipped"
    );
    assert_eq!(doc["summary"]["groups"], 3);
    assert_eq!(doc["target"]["scope"], "instance");

    // Not an administrator: the instance variables are not inspectable, the rest is read.
    let (tree, planted) = acme();
    let server = FakeGitLab::start(tree.routes());
    let out = audit(&server, &planted, &["--instance", "--format", "json"], &dir);
    let got = findings(&out.json());
    assert!(
        got.contains(&(
            "uninspectable".into(),
            "not_inspectable".into(),
            "CI/CD variables".into()
        )),
        "{got:#?}"
    );
}

#[test]
fn an_unreachable_gitlab_is_undetermined_never_invalid() {
    // A port nothing listens on: the audit token cannot be checked, exit 4, not 1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = pat(1);
    let out = glprobe(&[
        "audit",
        "--url",
        &format!("http://127.0.0.1:{port}"),
        "--token-env",
        "AUDIT_TOKEN",
        "--group",
        "acme",
        "--timeout",
        "2",
    ])
    .env("AUDIT_TOKEN", &token)
    .run();
    assert_code(&out, 4);
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);
    crate::support::assert_no_leak(&token, &out, &[]);
}

#[test]
fn a_link_to_another_host_does_not_end_a_list_early() {
    // GitLab writes its configured host into Link; here it is not the --url. The audit must
    // still read all 250 variables (pages of 100, then 100, then 50) and find the last one.
    let mut tree = Tree {
        audit_scopes: vec!["read_api".into()],
        audit_days_left: Some(300),
        link_host: Some("gitlab.internal.example".into()),
        ..Tree::default()
    };
    tree.groups = vec![group(1, "wide", None)];
    tree.projects = vec![project(501, "wide/app", 1, false)];
    let mut vars: Vec<serde_json::Value> = (0..249)
        .map(|i| crate::support::group_tree::variable(&format!("V_{i}"), "plain", false, false))
        .collect();
    vars.push(crate::support::group_tree::variable(
        "CI_REGISTRY_PASSWORD",
        "x",
        false,
        false,
    ));
    tree.project_variables.insert(501, vars);
    let server = FakeGitLab::start(tree.routes());
    let planted = Planted {
        audit: pat(1),
        values: vec![],
    };
    let dir = TempDir::new("audit-link-host");
    let out = audit(
        &server,
        &planted,
        &["--group", "wide", "--format", "json"],
        &dir,
    );
    assert_code(&out, 3);
    let got = findings(&out.json());
    assert!(
        got.contains(&(
            "broken".into(),
            "overrides_predefined".into(),
            "wide/app variable CI_REGISTRY_PASSWORD".into()
        )),
        "{got:#?}"
    );
    let pages: Vec<String> = server
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v4/projects/501/variables")
        .map(|r| r.query_param("page").unwrap_or_else(|| "1".into()))
        .collect();
    assert_eq!(pages, ["1", "2", "3"]);
}
