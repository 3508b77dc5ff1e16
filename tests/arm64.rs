//! The static aarch64 binary (`aarch64-unknown-linux-musl`, built by tests/run with
//! cargo-zigbuild), run under qemu-user-static: its shape and size, the whole offline suite and
//! a few online cases against the fake GitLab, plain HTTP and HTTPS.

use std::path::PathBuf;
use std::process::Command;

use crate::support::gitlab::{FakeGitLab, Routes, TestCa};
use crate::support::tokens::{F20, pat};
use crate::support::{
    TempDir, assert_code, assert_no_leak, elf, fixtures, fresh_binary, glprobe, require_tool, root,
};

/// Where tests/run builds it.
pub(crate) const AARCH64_BINARY: &str = "target/aarch64-unknown-linux-musl/release/glprobe";
/// The same budget as the x86_64 binary's.
const BINARY_BUDGET: u64 = 2_000_000;

/// The aarch64 binary, checked to be newer than the sources.
pub(crate) fn aarch64_binary() -> PathBuf {
    fresh_binary(
        AARCH64_BINARY,
        "build it with: PATH=\"$PWD/.venv/bin:$PATH\" cargo zigbuild --release --locked \
         --target aarch64-unknown-linux-musl (cargo-zigbuild and ziglang come from .venv; \
         tests/run does this before the tests)",
    )
}

/// The user-mode emulator that runs it on this machine.
pub(crate) fn qemu() -> PathBuf {
    require_tool("qemu-aarch64-static", "apt-get install qemu-user-static")
}

#[test]
fn the_aarch64_binary_is_static_small_and_runs_under_qemu() {
    let binary = aarch64_binary();
    let headers = elf::read(&binary);
    assert_eq!(headers.machine, elf::AARCH64, "{}", binary.display());
    assert!(headers.is_static, "{} has an interpreter", binary.display());
    let file = require_tool("file", "apt-get install file");
    let described =
        String::from_utf8(Command::new(file).arg(&binary).output().unwrap().stdout).unwrap();
    assert!(described.contains("ARM aarch64"), "{described}");
    assert!(
        described.contains("statically linked") || described.contains("static-pie linked"),
        "{described}"
    );
    let size = std::fs::metadata(&binary).unwrap().len();
    assert!(
        size < BINARY_BUDGET,
        "the aarch64 binary is {size} bytes, over {BINARY_BUDGET}"
    );
    let out = glprobe(&["--version"]).on(&binary, Some(&qemu())).run();
    assert_code(&out, 0);
    assert_eq!(
        out.stdout,
        format!("glprobe {}\n", env!("CARGO_PKG_VERSION"))
    );
}

/// Runs this test binary again with only the tests `filters` select, every glprobe run going
/// to the aarch64 binary under qemu; returns how many passed.
fn rerun_under_qemu(filters: &[&str], exact: bool) -> usize {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(filters)
        .args(if exact { &["--exact"][..] } else { &[][..] })
        .args(["--skip", "arm64::", "--test-threads", "2"])
        .env("GLPROBE_TEST_BIN", aarch64_binary())
        .env("GLPROBE_TEST_RUNNER", qemu());
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "under qemu, {filters:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("test result: ok."))
        .unwrap_or_else(|| panic!("no test summary:\n{stdout}"));
    summary
        .split_whitespace()
        .nth(3)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("cannot read {summary:?}"))
}

#[test]
fn the_offline_suite_passes_on_aarch64() {
    // Every test of tests/offline.rs, none skipped.
    let source = std::fs::read_to_string(root().join("tests/offline.rs")).unwrap();
    let expected = source.matches("#[test]").count();
    assert!(expected >= 10, "tests/offline.rs has {expected} tests");
    assert_eq!(rerun_under_qemu(&["offline::"], false), expected);
}

#[test]
fn online_cases_pass_on_aarch64() {
    // HTTP and HTTPS (rustls and ring's aarch64 code) against the fake GitLab, as on x86_64.
    let cases = [
        "probe::valid_personal_access_token",
        "probe::running_job_tokens",
        "probe::deploy_tokens",
        "faults::a_private_ca_works_when_named",
    ];
    assert_eq!(rerun_under_qemu(&cases, true), cases.len());
}

#[test]
fn the_aarch64_binary_validates_a_token_against_the_fake_gitlab() {
    let ca = TestCa::new();
    let dir = TempDir::new("arm64-ca");
    let ca_file = dir.path("ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let routes = Routes::new()
        .on(
            "GET",
            "/api/v4/personal_access_tokens/self",
            fixtures::pat_self(&["read_api"], Some(30), 7),
        )
        .on("GET", "/api/v4/user", fixtures::user(7, "jdoe", false));
    let server = FakeGitLab::start_tls(routes, &ca.identity(&["127.0.0.1"], false));
    let token = pat(7);
    let out = glprobe(&["--format", "dotenv", "--ca-file", ca_file.to_str().unwrap()])
        .env("GITLAB_TOKEN", &token)
        .env("CI_SERVER_URL", &server.url())
        .on(&aarch64_binary(), Some(&qemu()))
        .run();
    assert_code(&out, 0);
    let env = out.dotenv();
    assert_eq!(env["TOKEN_KIND"], "personal_access_token");
    assert_eq!(env["TOKEN_VALID"], "true");
    assert_eq!(env["TOKEN_USER"], "jdoe");
    assert_eq!(server.requests().len(), 2);
    assert_no_leak(&token, &out, &[]);

    // And a refusal in GitLab's words is a verdict there too.
    let server =
        FakeGitLab::start(Routes::new().on("GET", "/jwt/auth", fixtures::registry_unauthorized()));
    let token = format!("gldt-{F20}");
    let out = glprobe(&["--format", "dotenv", "--token-env", "X", "--username", "u"])
        .env("X", &token)
        .env("CI_SERVER_URL", &server.url())
        .on(&aarch64_binary(), Some(&qemu()))
        .run();
    assert_code(&out, 1);
    let env = out.dotenv();
    assert_eq!(env["TOKEN_KIND"], "deploy_token");
    assert_eq!(env["TOKEN_REASON"], "unknown_token");
    assert_eq!(server.requests().len(), 1);
    assert_no_leak(&token, &out, &[]);
}
