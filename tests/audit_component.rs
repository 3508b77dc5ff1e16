//! The audit catalog component (templates/token-audit.yml) run end to end in gitlab-ci-local
//! against the fake group tree: the job fails on findings, passes on a clean group, exports its
//! JUnit and JSON artifacts, and no value reaches the log or an artifact. The template's schema
//! check is tests/component.rs's (it validates every template).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::acme::{Planted, acme, group, masked, project};
use crate::support::gitlab::FakeGitLab;
use crate::support::group_tree::{Tree, access_token};
use crate::support::tokens::pat;
use crate::support::{Outcome, TempDir, assert_no_leak, bin, require_tool, root};

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=test@example.com", "-c", "user.name=test"])
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository with the component (from the working tree) and the consumer pipeline.
fn consumer_repo(dir: &TempDir) -> PathBuf {
    let repo = dir.path("repo");
    std::fs::create_dir_all(repo.join("templates")).unwrap();
    std::fs::copy(
        root().join("templates/token-audit.yml"),
        repo.join("templates/token-audit.yml"),
    )
    .unwrap();
    std::fs::copy(
        root().join("tests/fixtures/audit-consumer.gitlab-ci.yml"),
        repo.join(".gitlab-ci.yml"),
    )
    .unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(
        &repo,
        &[
            "remote",
            "add",
            "origin",
            "https://gitlab.example.com/glprobe/glprobe.git",
        ],
    );
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "consumer"]);
    git(&repo, &["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(
        &repo,
        &[
            "symbolic-ref",
            "refs/remotes/origin/HEAD",
            "refs/remotes/origin/main",
        ],
    );
    repo
}

struct Run {
    log: String,
    passed: bool,
    json: Value,
    junit: String,
}

fn run_component(server: &FakeGitLab, planted: &Planted, group: &str) -> Run {
    let gcl = require_tool(
        "gitlab-ci-local",
        "npm install -g gitlab-ci-local@4.73.0 (and apt-get install rsync)",
    );
    require_tool("rsync", "apt-get install rsync");
    let dir = TempDir::new("gcl-audit");
    let repo = consumer_repo(&dir);
    let bin_dir = Path::new(bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new(gcl)
        .current_dir(&repo)
        .env("PATH", path)
        .args([
            "--force-shell-executor",
            "--shell-isolation",
            "--no-artifacts-to-source",
            "--no-color",
        ])
        .args(["--ignore-predefined-vars", "CI_SERVER_URL"])
        .args(["--variable", &format!("CI_SERVER_URL={}", server.url())])
        .args(["--variable", &format!("AUDIT_TOKEN={}", planted.audit)])
        .args(["--variable", &format!("AUDIT_GROUP={group}")])
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let artifacts = repo.join(".gitlab-ci-local/artifacts/nightly-token-audit");
    let json_path = artifacts.join("glprobe-audit.json");
    let junit_path = artifacts.join("glprobe-audit.xml");
    let json = std::fs::read_to_string(&json_path)
        .unwrap_or_else(|e| panic!("no JSON artifact ({e}):\n{log}"));
    let junit = std::fs::read_to_string(&junit_path)
        .unwrap_or_else(|e| panic!("no JUnit artifact ({e}):\n{log}"));
    let outcome = Outcome {
        code: 0,
        stdout: log.clone(),
        stderr: String::new(),
        elapsed: std::time::Duration::ZERO,
    };
    for secret in planted.values.iter().chain([&planted.audit]) {
        assert_no_leak(secret, &outcome, &[&json_path, &junit_path]);
    }
    Run {
        passed: log.lines().any(|l| {
            l.trim_start() == "PASS  nightly-token-audit"
                || l.trim_start().starts_with("PASS ") && l.contains("nightly-token-audit")
        }),
        log,
        json: serde_json::from_str(&json).unwrap(),
        junit,
    }
}

#[test]
fn the_audit_component_runs_in_gitlab_ci_local() {
    // The acme tree: findings, so the job fails, and its artifacts are still there.
    let (tree, planted) = acme();
    let server = FakeGitLab::start(tree.routes());
    let run = run_component(&server, &planted, "acme");
    assert!(!run.passed, "findings fail the job:\n{}", run.log);
    assert!(
        run.log.contains("glprobe audit of group acme"),
        "{}",
        run.log
    );
    assert_eq!(run.json["exit_code"], 3);
    assert_eq!(run.json["fail_on"], "expiring");
    assert_eq!(run.json["min_days_left"], 30);
    assert!(run.junit.contains("<failure"), "{}", run.junit);
    // schedules: true reached the command line.
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path == "/api/v4/projects/103/pipeline_schedules/52"),
        "{}",
        run.log
    );
    for r in server.requests() {
        assert_eq!(r.method, "GET");
    }

    // A tidy group: nothing found, the job passes.
    let mut tree = Tree {
        audit_scopes: vec!["read_api".into()],
        audit_days_left: Some(300),
        ..Tree::default()
    };
    tree.groups = vec![group(1, "tidy", None)];
    tree.projects = vec![project(401, "tidy/app", 1, false)];
    let token = pat(901);
    tree.project_variables
        .insert(401, vec![masked("GITLAB_TOKEN", &token)]);
    tree.project_access_tokens
        .insert(401, vec![access_token(1, "app-bot", 901, true, false, 200)]);
    let planted = Planted {
        audit: pat(1),
        values: vec![token],
    };
    let server = FakeGitLab::start(tree.routes());
    let run = run_component(&server, &planted, "tidy");
    assert!(run.passed, "{}", run.log);
    assert_eq!(run.json["exit_code"], 0);
    assert!(!run.junit.contains("<failure"), "{}", run.junit);
}

#[test]
fn readme_documents_the_audit_component_inputs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let template = std::fs::read_to_string(root().join("templates/token-audit.yml")).unwrap();
    let start = readme
        .find("### Audit component inputs")
        .expect("README has an audit component inputs table");
    let table: Vec<&str> = readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .next()
                .unwrap()
                .trim()
                .trim_matches('`')
        })
        .collect();
    let header = template.split("\n---\n").next().unwrap();
    let inputs: Vec<&str> = header
        .lines()
        .filter(|l| l.starts_with("    ") && !l.starts_with("     ") && l.trim_end().ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':'))
        .collect();
    assert_eq!(table, inputs, "README table vs template inputs");
}
