//! The Python wheel: maturin's `bin` bindings around the static musl binary, as ruff and uv
//! ship theirs. Built from the source tree, installed offline into a fresh virtualenv of
//! Debian's Python, and run from there.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::image::{run, static_binary};
use crate::support::tokens::F20;
use crate::support::{TempDir, elf, parse_dotenv, root};

/// The flags every wheel is built with, here and in component.yml: the binary alone, tagged
/// for glibc (pip on Debian, Ubuntu, python:3 images) and musl (Alpine) alike, since it is
/// static.
pub(crate) const MATURIN_FLAGS: &str =
    "--release --locked --bindings bin --compatibility manylinux_2_17 musllinux_1_2";

fn maturin() -> PathBuf {
    let maturin = root().join(".venv/bin/maturin");
    assert!(
        maturin.is_file(),
        "{} is missing; install it with: python3 -m venv .venv && .venv/bin/pip install \
         maturin==1.16.0 (tests/run does this)",
        maturin.display()
    );
    maturin
}

/// Debian's own Python, whose pip decides which wheel tags this system accepts.
fn system_python() -> PathBuf {
    let python = PathBuf::from("/usr/bin/python3");
    assert!(
        python.is_file(),
        "/usr/bin/python3 is missing; install it with: apt-get install python3 python3-venv"
    );
    python
}

fn wheel_in(dir: &Path) -> PathBuf {
    let wheels: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    wheels.into_iter().next().unwrap()
}

#[test]
fn the_wheel_puts_the_static_binary_on_path_in_a_fresh_virtualenv() {
    let binary = static_binary();
    let dir = TempDir::new("wheel");
    let out = dir.path("wheels");
    // The same cargo invocation as tests/run's, so the binary built there is reused as is.
    run(Command::new(maturin())
        .arg("build")
        .args(MATURIN_FLAGS.split(' '))
        .args(["--target", "x86_64-unknown-linux-musl", "--out"])
        .arg(&out)
        .current_dir(root()));
    let wheel = wheel_in(&out);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        wheel.file_name().unwrap().to_str().unwrap(),
        format!(
            "glprobe-{version}-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.\
             musllinux_1_2_x86_64.whl"
        )
    );

    let venv = dir.path("venv");
    fresh_venv(&venv);
    // Offline: no index, only the wheel; pip refuses it if its tags do not fit this system.
    run(Command::new(venv.join("bin/pip"))
        .args([
            "install",
            "--no-index",
            "--no-cache-dir",
            "--disable-pip-version-check",
        ])
        .arg(&wheel));

    let installed = venv.join("bin/glprobe");
    let headers = elf::read(&installed);
    assert!(headers.is_static && headers.machine == elf::X86_64);
    assert!(
        std::fs::read(&installed).unwrap() == std::fs::read(&binary).unwrap(),
        "the wheel's glprobe is not the static binary"
    );

    // On PATH, as `pip install glprobe` leaves it in a job's image.
    let path = venv.join("bin");
    let glprobe = || {
        let mut cmd = Command::new("glprobe");
        cmd.env_clear().env("PATH", &path);
        cmd
    };
    assert_eq!(
        run(glprobe().arg("--version")),
        format!("glprobe {version}\n")
    );
    let token = format!("gldt-{F20}");
    let out = run(glprobe()
        .args(["--offline", "--token-env", "X", "--format", "dotenv"])
        .env("X", &token));
    let env = parse_dotenv(&out);
    assert_eq!(env["TOKEN_KIND"], "deploy_token");
    assert_eq!(env["TOKEN_REASON"], "ok");
    assert!(!out.contains(&token));

    // pip knows it, and takes it away again.
    let show = run(Command::new(venv.join("bin/pip")).args(["show", "glprobe"]));
    assert!(show.contains(&format!("Version: {version}")), "{show}");
    run(Command::new(venv.join("bin/pip")).args(["uninstall", "-y", "glprobe"]));
    assert!(!installed.exists());
}

/// A fresh virtualenv of Debian's Python.
fn fresh_venv(venv: &Path) {
    let python = system_python();
    let made = Command::new(&python)
        .args(["-m", "venv"])
        .arg(venv)
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{} -m venv failed (apt-get install python3-venv):\n{}",
        python.display(),
        String::from_utf8_lossy(&made.stderr)
    );
}

#[test]
fn the_aarch64_wheel_carries_the_static_aarch64_binary() {
    let dir = TempDir::new("wheel-aarch64");
    let out = dir.path("wheels");
    // As component.yml builds it: maturin links with Zig (python3 -m ziglang from .venv). Its
    // own target directory, since cargo-zigbuild's wrappers differ from maturin's and would
    // make each rebuild the other's aarch64 build.
    let venv_bin = root().join(".venv/bin");
    let path = format!("{}:{}", venv_bin.display(), std::env::var("PATH").unwrap());
    run(Command::new(maturin())
        .arg("build")
        .args(MATURIN_FLAGS.split(' '))
        .args(["--target", "aarch64-unknown-linux-musl", "--zig", "--out"])
        .arg(&out)
        .env("PATH", path)
        .env("CARGO_TARGET_DIR", root().join("target/wheel-aarch64"))
        .current_dir(root()));
    let wheel = wheel_in(&out);
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        wheel.file_name().unwrap().to_str().unwrap(),
        format!(
            "glprobe-{version}-py3-none-manylinux2014_aarch64.manylinux_2_17_aarch64.\
             musllinux_1_2_aarch64.whl"
        )
    );
    // pip takes it for an aarch64 glibc system and for an aarch64 musl one.
    let venv = dir.path("venv");
    fresh_venv(&venv);
    for platform in ["manylinux_2_17_aarch64", "musllinux_1_2_aarch64"] {
        let site = dir.path(platform);
        run(Command::new(venv.join("bin/pip"))
            .args(["install", "--no-index", "--no-deps", "--no-cache-dir"])
            .args(["--disable-pip-version-check", "--only-binary=:all:"])
            .args(["--platform", platform, "--target"])
            .arg(&site)
            .arg(&wheel));
        let installed = site.join("bin/glprobe");
        let headers = elf::read(&installed);
        assert_eq!(headers.machine, elf::AARCH64, "{platform}");
        assert!(headers.is_static, "{platform}");
        let qemu = crate::arm64::qemu();
        assert_eq!(
            run(Command::new(&qemu).arg(&installed).arg("--version")),
            format!("glprobe {version}\n")
        );
        let out = run(Command::new(&qemu)
            .arg(&installed)
            .args(["--offline", "--token-env", "X", "--format", "dotenv"])
            .env_clear()
            .env("X", format!("gldt-{F20}")));
        assert_eq!(parse_dotenv(&out)["TOKEN_KIND"], "deploy_token");
    }
}

#[test]
fn component_yml_builds_both_wheels_with_the_tested_flags() {
    let component = std::fs::read_to_string(root().join("component.yml")).unwrap();
    for target in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        let line = component
            .lines()
            .find(|l| l.contains("maturin build") && l.contains(target))
            .unwrap_or_else(|| panic!("component.yml builds no wheel for {target}"));
        assert!(
            line.contains(MATURIN_FLAGS),
            "component.yml's wheel for {target} is not built with {MATURIN_FLAGS:?}:\n{line}"
        );
    }
    // The same pins as tests/run's.
    let tests_run = std::fs::read_to_string(root().join("tests/run")).unwrap();
    for pin in ["maturin==", "ziglang=="] {
        let version = |text: &str| {
            let at = text
                .find(pin)
                .unwrap_or_else(|| panic!("no {pin} pin in {text}"));
            text[at..]
                .split(|c: char| c.is_whitespace() || c == ')' || c == '"')
                .next()
                .unwrap()
                .to_owned()
        };
        assert_eq!(version(&component), version(&tests_run), "{pin}");
    }
}
