//! Helpers shared by the integration tests: running the binary with a clean environment,
//! reading its outputs, and checking that no secret leaked.

pub mod acme;
pub mod fixtures;
pub mod gitlab;
pub mod group_tree;
pub mod tokens;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_glprobe")
}

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "glprobe-test-{}-{}-{name}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One run of glprobe: arguments, environment (nothing else is inherited), standard input.
pub struct Run {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<String>,
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    /// The stdout parsed as a dotenv file (after checking GitLab's rules).
    pub fn dotenv(&self) -> BTreeMap<String, String> {
        parse_dotenv(&self.stdout)
    }

    /// The stdout parsed as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Parses a dotenv text, failing the test when it breaks GitLab's rules.
pub fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    if let Err(e) = glprobe::report::dotenv::validate(text) {
        panic!("dotenv breaks GitLab's rules: {e}\n{text}");
    }
    text.lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// Starts a run with these arguments.
pub fn glprobe(args: &[&str]) -> Run {
    Run {
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
        stdin: None,
    }
}

impl Run {
    pub fn env(mut self, name: &str, value: &str) -> Run {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn args(mut self, args: &[&str]) -> Run {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn stdin(mut self, text: &str) -> Run {
        self.stdin = Some(text.into());
        self
    }

    /// Runs it and returns what it produced.
    pub fn run(self) -> Outcome {
        let mut cmd = Command::new(bin());
        cmd.args(&self.args)
            .env_clear()
            // A safety net for the loopback-only rule: a request meant for any other host goes
            // to this dead loopback proxy instead (glprobe bypasses proxies for loopback servers,
            // and does not resolve a host it reaches through a proxy). Tests may override it.
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = cmd.spawn().expect("spawn glprobe");
        if let Some(input) = &self.stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let output = child.wait_with_output().expect("wait for glprobe");
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }
}

/// Every spelling of a secret a leak could take: as is, base64 (four alphabets) and
/// percent-encoded.
pub fn spellings(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(engine.encode(secret));
    }
    out.push(glprobe::probe::http::percent_encode(secret));
    out.sort();
    out.dedup();
    out
}

/// Fails when the secret, in any spelling, appears in the outcome or in one of the files.
pub fn assert_no_leak(secret: &str, outcome: &Outcome, files: &[&Path]) {
    let mut texts = vec![
        ("stdout".to_owned(), outcome.stdout.clone()),
        ("stderr".to_owned(), outcome.stderr.clone()),
    ];
    for file in files {
        if let Ok(text) = std::fs::read_to_string(file) {
            texts.push((file.display().to_string(), text));
        }
    }
    for spelling in spellings(secret) {
        for (name, text) in &texts {
            assert!(
                !text.contains(&spelling),
                "the token leaked into {name} (as {spelling:?}):\n{text}"
            );
        }
    }
}

/// Asserts the exit code, showing the outputs when it differs.
#[track_caller]
pub fn assert_code(outcome: &Outcome, code: i32) {
    assert_eq!(
        outcome.code, code,
        "unexpected exit code\n--- stdout\n{}\n--- stderr\n{}",
        outcome.stdout, outcome.stderr
    );
}

/// Fails with the install hint when a tool is missing: tests never skip silently.
pub fn require_tool(tool: &str, install: &str) -> PathBuf {
    which(tool).unwrap_or_else(|| {
        panic!("{tool} is not installed; install it with: {install} (or run tests/run, which sets everything up)")
    })
}

/// The first executable of that name on PATH.
pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
