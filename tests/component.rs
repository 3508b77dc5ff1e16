//! The CI/CD catalog component: every template validated against GitLab's CI JSON schema
//! (check-jsonschema), README kept in sync with the inputs and outputs, and the component run
//! end to end by gitlab-ci-local against the fake GitLab.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::fixtures;
use crate::support::gitlab::{FakeGitLab, Reply, Routes};
use crate::support::tokens::pat;
use crate::support::{TempDir, assert_no_leak, bin, require_tool, root, which};

const INSTALL_PY: &str = "python3 -m venv .venv && .venv/bin/pip install check-jsonschema==0.39.0";

/// A tool from the project's virtualenv (`.venv`), else from PATH.
fn venv_tool(name: &str) -> PathBuf {
    let local = root().join(".venv/bin").join(name);
    if local.is_file() {
        return local;
    }
    which(name).unwrap_or_else(|| panic!("{name} is not installed; install it with: {INSTALL_PY}"))
}

fn output(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every YAML document of a file, as JSON (through ruamel.yaml, which check-jsonschema brings).
fn yaml_documents(path: &Path) -> Vec<Value> {
    let python = venv_tool("python3");
    let (ok, text) = output(
        Command::new(python)
            .arg("-c")
            .arg(
                "import json, sys\nfrom ruamel.yaml import YAML\n\
         print(json.dumps(list(YAML(typ='safe').load_all(open(sys.argv[1])))))",
            )
            .arg(path),
    );
    assert!(
        ok,
        "cannot read {} as YAML ({INSTALL_PY}):\n{text}",
        path.display()
    );
    serde_json::from_str(&text).unwrap()
}

fn templates() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root().join("templates"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .collect();
    found.sort();
    assert!(!found.is_empty(), "no templates/*.yml");
    found
}

/// The template's body with every input replaced by its default (typed values as YAML
/// scalars) and the component context by a placeholder commit.
fn render_defaults(text: &str, inputs: &serde_json::Map<String, Value>) -> String {
    let body = text
        .split_once("\n---\n")
        .expect("a spec header, then ---")
        .1;
    let mut rendered = body.to_owned();
    for (name, input) in inputs {
        let value = match &input["default"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        rendered = rendered.replace(&format!("$[[ inputs.{name} ]]"), &value);
    }
    let rendered = rendered.replace("$[[ component.sha ]]", &"0".repeat(40));
    assert!(
        !rendered.contains("$[["),
        "an interpolation was left:\n{rendered}"
    );
    rendered
}

fn check_jsonschema(files: &[PathBuf]) {
    let tool = venv_tool("check-jsonschema");
    let (ok, text) = output(
        Command::new(tool)
            .args(["--builtin-schema", "vendor.gitlab-ci"])
            .args(files),
    );
    assert!(ok, "GitLab's CI schema rejects {files:?}:\n{text}");
}

#[test]
fn templates_validate_against_gitlab_ci_schema() {
    let dir = TempDir::new("schema");
    for template in templates() {
        let docs = yaml_documents(&template);
        assert_eq!(
            docs.len(),
            2,
            "{}: a spec header and a job document",
            template.display()
        );
        let inputs = docs[0]["spec"]["inputs"]
            .as_object()
            .expect("spec:inputs")
            .clone();
        for (name, input) in &inputs {
            assert!(
                name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "input {name} is not snake_case"
            );
            assert!(
                input.get("description").is_some_and(Value::is_string),
                "{name}: no description"
            );
            assert!(input.get("default").is_some(), "{name}: no default");
        }
        let stem = template.file_stem().unwrap().to_str().unwrap();
        let header = dir.path(&format!("{stem}.header.json"));
        std::fs::write(&header, docs[0].to_string()).unwrap();
        let body = dir.path(&format!("{stem}.body.yml"));
        let text = std::fs::read_to_string(&template).unwrap();
        std::fs::write(&body, render_defaults(&text, &inputs)).unwrap();
        check_jsonschema(&[header, body]);
    }
}

#[test]
fn the_project_pipeline_validates_too() {
    check_jsonschema(&[root().join("component.yml"), root().join(".gitlab-ci.yml")]);
    let pipeline = std::fs::read_to_string(root().join(".gitlab-ci.yml")).unwrap();
    assert!(
        pipeline.contains("local: component.yml"),
        "the top-level pipeline only includes component.yml"
    );
    let component = std::fs::read_to_string(root().join("component.yml")).unwrap();
    for needle in [
        "component: $CI_SERVER_FQDN/$CI_PROJECT_PATH/token-check@$CI_COMMIT_SHA",
        "release:",
        "tests/run",
    ] {
        assert!(component.contains(needle), "component.yml lacks {needle:?}");
    }
}

/// The rows of the Markdown table that follows a heading, as cells.
fn table_after(readme: &str, heading: &str) -> Vec<Vec<String>> {
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has no {heading:?}"));
    readme[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

#[test]
fn readme_documents_every_input_and_output() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let docs = yaml_documents(&root().join("templates/token-check.yml"));
    let inputs = docs[0]["spec"]["inputs"].as_object().unwrap();
    let rows = table_after(&readme, "### Inputs");
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let expected: Vec<&str> = inputs.keys().map(String::as_str).collect();
    let mut sorted_names = names.clone();
    let mut sorted_expected = expected.clone();
    sorted_names.sort_unstable();
    sorted_expected.sort_unstable();
    assert_eq!(
        sorted_names, sorted_expected,
        "README inputs table vs template"
    );
    for row in &rows {
        let input = &inputs[&row[0]];
        let kind = input
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("string");
        assert_eq!(row[1], kind, "type of {}", row[0]);
        let default = match &input["default"] {
            Value::String(s) if s.is_empty() => "\"\"".to_owned(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(row[2], default, "default of {}", row[0]);
    }
    let outputs: Vec<String> = table_after(&readme, "### Outputs")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let written: Vec<String> = glprobe::report::dotenv::NAMES
        .iter()
        .map(|n| format!("TOKEN_{n}"))
        .collect();
    assert_eq!(
        outputs, written,
        "README outputs table vs the dotenv writer"
    );
}

/// A git repository holding the component (from the working tree) and a consumer pipeline,
/// with the component project's remote so gitlab-ci-local reads the component locally.
fn consumer_repo(dir: &TempDir) -> PathBuf {
    let repo = dir.path("repo");
    std::fs::create_dir_all(repo.join("templates")).unwrap();
    for template in templates() {
        std::fs::copy(
            &template,
            repo.join("templates").join(template.file_name().unwrap()),
        )
        .unwrap();
    }
    std::fs::copy(
        root().join("tests/fixtures/consumer.gitlab-ci.yml"),
        repo.join(".gitlab-ci.yml"),
    )
    .unwrap();
    let git = |args: &[&str]| {
        let (ok, text) = output(
            Command::new("git")
                .args(["-c", "user.email=test@example.com", "-c", "user.name=test"])
                .args(args)
                .current_dir(&repo),
        );
        assert!(ok, "git {args:?}: {text}");
    };
    git(&["init", "-q", "-b", "main"]);
    git(&[
        "remote",
        "add",
        "origin",
        "https://gitlab.example.com/glprobe/glprobe.git",
    ]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "consumer"]);
    git(&["update-ref", "refs/remotes/origin/main", "HEAD"]);
    git(&[
        "symbolic-ref",
        "refs/remotes/origin/HEAD",
        "refs/remotes/origin/main",
    ]);
    repo
}

struct Pipeline {
    passed: Vec<String>,
    failed: Vec<String>,
    log: String,
}

fn run_pipeline(
    server: &FakeGitLab,
    token: &str,
    fail_on_invalid: bool,
    expected: [&str; 3],
) -> Pipeline {
    run_pipeline_with(
        server,
        token,
        &[("fail_on_invalid", &fail_on_invalid.to_string())],
        expected,
    )
}

/// Runs the consumer pipeline with these component inputs.
fn run_pipeline_with(
    server: &FakeGitLab,
    token: &str,
    inputs: &[(&str, &str)],
    expected: [&str; 3],
) -> Pipeline {
    let gcl = require_tool(
        "gitlab-ci-local",
        "npm install -g gitlab-ci-local@4.73.0 (and apt-get install rsync)",
    );
    require_tool("rsync", "apt-get install rsync");
    let dir = TempDir::new("gcl");
    let repo = consumer_repo(&dir);
    let bin_dir = Path::new(bin()).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let [kind, valid, reason] = expected;
    let (_, log) = output(
        Command::new(gcl)
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
            .args(["--variable", &format!("DEPLOY_API_TOKEN={token}")])
            .args(["--variable", &format!("EXPECTED_KIND={kind}")])
            .args(["--variable", &format!("EXPECTED_VALID={valid}")])
            .args(["--variable", &format!("EXPECTED_REASON={reason}")])
            .args(
                inputs
                    .iter()
                    .flat_map(|(k, v)| ["--input".to_owned(), format!("{k}={v}")]),
            ),
    );
    let jobs = |word: &str| -> Vec<String> {
        log.lines()
            .filter_map(|l| l.trim_start().strip_prefix(word))
            .map(|rest| rest.trim().to_owned())
            .collect()
    };
    let pipeline = Pipeline {
        passed: jobs("PASS "),
        failed: jobs("FAIL "),
        log,
    };
    // Neither the log nor any artifact shows the token.
    let artifacts = repo.join(".gitlab-ci-local/artifacts");
    let mut files = Vec::new();
    let mut dirs = vec![artifacts];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                dirs.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    // Every job that ran exported its artifacts (a configuration GitLab rejects runs none).
    let ran = !pipeline.passed.is_empty() || !pipeline.failed.is_empty();
    assert!(
        !ran || !files.is_empty(),
        "no artifacts were exported:\n{}",
        pipeline.log
    );
    let paths: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let outcome = crate::support::Outcome {
        code: 0,
        stdout: pipeline.log.clone(),
        stderr: String::new(),
        elapsed: std::time::Duration::ZERO,
    };
    assert_no_leak(token, &outcome, &paths);
    pipeline
}

fn bot_token_routes() -> Routes {
    Routes::new()
        .on(
            "GET",
            "/api/v4/personal_access_tokens/self",
            fixtures::pat_self(&["api"], Some(60), 61),
        )
        .on(
            "GET",
            "/api/v4/user",
            fixtures::user(61, "project_278_bot_9f8e7d6c5b4a39281706f5e4d3c2b1a0", true),
        )
}

#[test]
fn the_component_runs_end_to_end_in_gitlab_ci_local() {
    // A valid project access token: the check passes, the deploy job reads the verdict.
    let server = FakeGitLab::start(bot_token_routes());
    let p = run_pipeline(
        &server,
        &pat(61),
        true,
        ["project_access_token", "true", "ok"],
    );
    assert_eq!(p.passed, ["check-deploy-token", "deploy"], "{}", p.log);
    assert!(
        p.log.contains("Valid    yes, GitLab accepts it"),
        "the human report is in the log:\n{}",
        p.log
    );
    assert!(
        p.log
            .contains("TOKEN_KIND=project_access_token TOKEN_VALID=true TOKEN_REASON=ok"),
        "{}",
        p.log
    );
    assert_eq!(server.requests().len(), 2);

    // A revoked token with fail_on_invalid false: the check succeeds, deploy decides.
    let revoked = || {
        Routes::new()
            .on(
                "GET",
                "/api/v4/personal_access_tokens/self",
                Reply::revoked(),
            )
            .on("GET", "/api/v4/user", Reply::revoked())
    };
    let server = FakeGitLab::start(revoked());
    let p = run_pipeline(
        &server,
        &pat(62),
        false,
        ["personal_access_token", "false", "revoked"],
    );
    assert_eq!(p.passed, ["check-deploy-token", "deploy"], "{}", p.log);
    assert!(p.failed.is_empty(), "{}", p.log);

    // The same with fail_on_invalid true: the check fails (exit 1), its dotenv still reaches
    // the deploy job, which runs `when: always` and sees the verdict.
    let server = FakeGitLab::start(revoked());
    let p = run_pipeline(
        &server,
        &pat(63),
        true,
        ["personal_access_token", "false", "revoked"],
    );
    assert_eq!(p.failed, ["check-deploy-token"], "{}", p.log);
    assert_eq!(p.passed, ["deploy"], "{}", p.log);
    assert!(
        p.log.contains("TOKEN_VALID=false TOKEN_REASON=revoked"),
        "{}",
        p.log
    );
}

#[test]
fn the_access_input_runs_end_to_end_in_gitlab_ci_local() {
    // The project defaults to the pipeline's own (CI_PROJECT_PATH, from the git remote): the
    // token may read it through the API and clone it, but not pull its images.
    let routes = bot_token_routes()
        .on(
            "GET",
            "/api/v4/projects/glprobe%2Fglprobe",
            fixtures::project(278, "glprobe/glprobe"),
        )
        .on(
            "GET",
            "/glprobe/glprobe.git/info/refs",
            fixtures::git_advertisement(2),
        )
        .on(
            "GET",
            "/jwt/auth",
            fixtures::registry_token(None, "personal_access_token"),
        );
    let server = FakeGitLab::start(routes);
    let p = run_pipeline_with(
        &server,
        &pat(64),
        &[("fail_on_invalid", "false"), ("access", "api,git,registry")],
        ["project_access_token", "true", "insufficient_role"],
    );
    assert_eq!(p.passed, ["check-deploy-token", "deploy"], "{}", p.log);
    assert!(
        p.log.contains(
            "TOKEN_ACCESS_API=true TOKEN_ACCESS_GIT=true TOKEN_ACCESS_REGISTRY=false TOKEN_ACCESS_PACKAGES="
        ),
        "{}",
        p.log
    );
    assert!(
        p.log.contains("Access   project glprobe/glprobe"),
        "{}",
        p.log
    );
    let requests = server.requests();
    let git = requests
        .iter()
        .find(|r| r.path == "/glprobe/glprobe.git/info/refs")
        .expect("the git check");
    assert_eq!(git.query, "service=git-upload-pack");
    let registry = requests.iter().find(|r| r.path == "/jwt/auth").unwrap();
    assert_eq!(
        registry.query_param("scope").as_deref(),
        Some("repository:glprobe/glprobe:pull")
    );
    assert_eq!(requests.len(), 5, "self, user, api; then git, registry");

    // A value outside the surfaces is refused by the input's regex before any job runs.
    let server = FakeGitLab::start(bot_token_routes());
    let p = run_pipeline_with(
        &server,
        &pat(65),
        &[("access", "git,push")],
        ["project_access_token", "true", "ok"],
    );
    assert!(p.passed.is_empty(), "{}", p.log);
    assert!(server.requests().is_empty(), "{}", p.log);
}
