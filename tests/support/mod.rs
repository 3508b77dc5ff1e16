//! Helpers shared by the integration tests: running the binary with a clean environment,
//! reading its outputs, and checking that no secret leaked.

pub mod acme;
pub mod elf;
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

/// The command that runs the binary under test: `GLPROBE_TEST_BIN` when set (another build of
/// glprobe, such as the static aarch64 one), started through `GLPROBE_TEST_RUNNER` when that is
/// set too (an emulator: `qemu-aarch64-static`); else the binary cargo built for the tests.
pub fn command() -> Command {
    let program = std::env::var_os("GLPROBE_TEST_BIN").unwrap_or_else(|| bin().into());
    let runner = std::env::var_os("GLPROBE_TEST_RUNNER");
    command_for(Path::new(&program), runner.as_deref().map(Path::new))
}

/// `program`, or `runner program` when a runner is given.
fn command_for(program: &Path, runner: Option<&Path>) -> Command {
    match runner {
        Some(runner) => {
            let mut cmd = Command::new(runner);
            cmd.arg(program);
            cmd
        }
        None => Command::new(program),
    }
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
    program: Option<(PathBuf, Option<PathBuf>)>,
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
        program: None,
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

    /// Runs this binary instead of the one under test, through `runner` (an emulator) if given.
    pub fn on(mut self, binary: &Path, runner: Option<&Path>) -> Run {
        self.program = Some((binary.to_owned(), runner.map(Path::to_owned)));
        self
    }

    /// Runs it and returns what it produced.
    pub fn run(self) -> Outcome {
        let mut cmd = match &self.program {
            None => command(),
            Some((binary, runner)) => command_for(binary, runner.as_deref()),
        };
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
        keep_json_reports(&self.args, &output.stdout);
        Outcome {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            elapsed: started.elapsed(),
        }
    }
}

/// Where every JSON report the tests produce is kept, for `tests/run` to validate them all
/// after the suite: the check's in `json-reports` (src/report/schema.json), the audit's in
/// `json-reports/audit` (src/audit/schema.json).
pub fn json_reports_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("json-reports")
}

/// Keeps the run's JSON reports: standard output with `--format json`, and any `--json` file.
fn keep_json_reports(args: &[String], stdout: &[u8]) {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let mut dir = json_reports_dir();
    if args.first().is_some_and(|a| a == "audit") {
        dir.push("audit");
    }
    let _ = std::fs::create_dir_all(&dir);
    let keep = |bytes: &[u8]| {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = dir.join(format!("{}-{n}.json", std::process::id()));
        std::fs::write(path, bytes).expect("keep a JSON report");
    };
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
            .or_else(|| {
                args.iter()
                    .find_map(|a| a.strip_prefix(&format!("{flag}=")).map(str::to_owned))
            })
    };
    if value("--format").as_deref() == Some("json") && stdout.starts_with(b"{") {
        keep(stdout);
    }
    // Only a report: a refused run may name any file (`--token-file t --json t`).
    if let Some(path) = value("--json")
        && let Ok(bytes) = std::fs::read(&path)
        && bytes.starts_with(b"{")
    {
        keep(&bytes);
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

/// A release binary under `target/`, checked to be newer than every source file and the lock
/// file (a stale one would test old code); `hint` says how to build it.
pub fn fresh_binary(relative: &str, hint: &str) -> PathBuf {
    let binary = root().join(relative);
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing; {hint}", binary.display()));
    // Cargo rebuilds for any change under src/ or to the lock file; a comment in Cargo.toml
    // does not make it rebuild, so Cargo.toml is left out.
    let mut sources = vec![root().join("Cargo.lock")];
    let mut dirs = vec![root().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                sources.push(path);
            }
        }
    }
    for source in sources {
        let changed = std::fs::metadata(&source).unwrap().modified().unwrap();
        assert!(
            changed <= built,
            "{} is older than {}; {hint}",
            binary.display(),
            source.display()
        );
    }
    binary
}
