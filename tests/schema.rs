//! The JSON Schema of the JSON report (issue 12): printed by `--json-schema`, and met by the
//! reports of every kind and reason. `tests/run` also validates every JSON report the whole
//! suite produced (tests/support keeps them) once the suite has run.

use std::process::Command;

use crate::support::gitlab::{FakeGitLab, Reply, Routes};
use crate::support::tokens::{F20, job_jwt, pat};
use crate::support::{TempDir, assert_code, glprobe, require_tool, root};

const INSTALL: &str = "python3 -m venv .venv && .venv/bin/pip install check-jsonschema==0.39.0";

fn check_jsonschema() -> std::path::PathBuf {
    let venv = root().join(".venv/bin/check-jsonschema");
    if venv.is_file() {
        return venv;
    }
    require_tool("check-jsonschema", INSTALL)
}

/// Validates these files against the schema; returns check-jsonschema's verdict and output.
fn validate(files: &[std::path::PathBuf]) -> (bool, String) {
    let output = Command::new(check_jsonschema())
        .arg("--schemafile")
        .arg(root().join("src/report/schema.json"))
        .args(files)
        .output()
        .expect("run check-jsonschema");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn json_schema_prints_the_schema_in_the_tree() {
    let out = glprobe(&["--json-schema"]).run();
    assert_code(&out, 0);
    let printed: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let file = std::fs::read_to_string(root().join("src/report/schema.json")).unwrap();
    assert_eq!(
        printed,
        serde_json::from_str::<serde_json::Value>(&file).unwrap()
    );
    assert_eq!(
        printed["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn reports_of_every_shape_validate_and_a_broken_one_does_not() {
    let dir = TempDir::new("schema");
    let mut files = Vec::new();
    let mut save = |name: &str, text: &str| {
        let path = dir.path(&format!("{name}.json"));
        std::fs::write(&path, text).unwrap();
        files.push(path);
    };
    let offline = [
        ("pat", pat(1)),
        ("jwt", job_jwt(8, 278, 3600, "gitlab.example.com")),
        ("expired_jwt", job_jwt(8, 278, -60, "gitlab.example.com")),
        ("legacy", F20.to_owned()),
        ("quoted", format!("\"glpat-{F20}\"")),
        ("missing", String::new()),
        ("unrecognised", "hello".to_owned()),
    ];
    for (name, token) in &offline {
        let out = glprobe(&["--offline", "--format", "json", "--expect", "deploy_token"])
            .env("GITLAB_TOKEN", token)
            .run();
        save(name, &out.stdout);
    }
    let server = FakeGitLab::start(Routes::new().on(
        "GET",
        "/api/v4/personal_access_tokens/self",
        Reply::unauthorized(),
    ));
    let out = glprobe(&["--url", &server.url(), "--format", "json"])
        .env("GITLAB_TOKEN", &pat(2))
        .run();
    save("refused", &out.stdout);
    let out = glprobe(&[
        "--url",
        "http://127.0.0.1:9",
        "--format",
        "json",
        "--timeout",
        "1",
    ])
    .env("GITLAB_TOKEN", &pat(2))
    .run();
    save("unreachable", &out.stdout);
    let (ok, text) = validate(&files);
    assert!(ok, "{text}");

    // The schema does reject what breaks the contract.
    let mut broken: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    broken["reason"] = "no_such_reason".into();
    let path = dir.path("broken.json");
    std::fs::write(&path, broken.to_string()).unwrap();
    let (ok, text) = validate(&[path]);
    assert!(!ok, "a report with an unknown reason validated:\n{text}");
}
