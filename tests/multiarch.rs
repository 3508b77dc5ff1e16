//! The image for linux/amd64 and linux/arm64, built offline from the Dockerfile with each
//! platform's static glprobe and busybox, gathered into one manifest list (buildah manifest)
//! and pushed as one OCI image index. Each platform's files are checked by architecture; the
//! arm64 image runs under emulation where binfmt_misc allows it, else its binary and shell run
//! under qemu-aarch64-static and the test says loudly what it could not do.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::image::{Containers, run, static_binary, static_busybox};
use crate::support::tokens::F20;
use crate::support::{TempDir, elf, parse_dotenv, root};

/// The platform of the machine running the tests, as OCI names it.
pub(crate) const HOST_PLATFORM: &str = if cfg!(target_arch = "aarch64") {
    "linux/arm64"
} else {
    "linux/amd64"
};

/// Debian's busybox-static for arm64, which tests/run unpacks under target/.
fn arm64_busybox() -> PathBuf {
    let busybox = root().join("target/arm64-busybox/bin/busybox");
    assert!(
        busybox.is_file(),
        "{} is missing; tests/run fetches it: dpkg --add-architecture arm64 && apt-get update \
         && apt-get download busybox-static:arm64 && dpkg-deb -x busybox-static_*_arm64.deb \
         target/arm64-busybox",
        busybox.display()
    );
    busybox
}

/// Whether the kernel hands aarch64 binaries to qemu (binfmt_misc, with qemu's handler on).
fn binfmt_runs_aarch64() -> bool {
    std::fs::read_to_string("/proc/sys/fs/binfmt_misc/qemu-aarch64")
        .is_ok_and(|state| state.lines().next() == Some("enabled"))
}

/// Said on the terminal even when the test passes (the harness only captures `eprintln!`).
fn loudly(text: &str) {
    let _ = writeln!(std::io::stderr(), "\n*** multiarch: {text}\n");
}

/// An image's root file system, mounted by buildah for as long as this lives.
struct Mounted<'a> {
    c: &'a Containers,
    container: String,
    root: PathBuf,
}

impl<'a> Mounted<'a> {
    fn new(c: &'a Containers, image: &str) -> Mounted<'a> {
        let container = run(c.cmd("buildah").args(["from", "--pull-never", "-q", image]))
            .trim()
            .to_owned();
        let root = PathBuf::from(run(c.cmd("buildah").args(["mount", &container])).trim());
        Mounted { c, container, root }
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }
}

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        let _ = self.c.cmd("buildah").args(["rm", &self.container]).output();
    }
}

/// The blob a descriptor points to, in an OCI layout.
fn blob(layout: &Path, descriptor: &Value) -> Value {
    let digest = descriptor["digest"].as_str().unwrap();
    let path = layout
        .join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap());
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_image_is_one_manifest_list_for_amd64_and_arm64() {
    let platforms = [
        ("amd64", elf::X86_64, static_binary(), static_busybox()),
        (
            "arm64",
            elf::AARCH64,
            crate::arm64::aarch64_binary(),
            arm64_busybox(),
        ),
    ];
    let host_arch = HOST_PLATFORM.trim_start_matches("linux/");
    let c = Containers::new();
    // Every platform's stand-ins first: the links stage takes this machine's shell.
    for (arch, _, binary, busybox) in &platforms {
        let platform = format!("linux/{arch}");
        let shell = format!("localhost/glprobe-test/shell:{arch}");
        let binary_image = format!("localhost/glprobe-test/binary:{arch}");
        c.scratch_image_for(Some(&platform), &shell, busybox, "/bin/busybox");
        c.scratch_image_for(Some(&platform), &binary_image, binary, "/glprobe");
    }
    // Each platform's image, added to one manifest list as component.yml builds it.
    for (arch, ..) in &platforms {
        let platform = format!("linux/{arch}");
        let shell = format!("localhost/glprobe-test/shell:{arch}");
        let binary_image = format!("localhost/glprobe-test/binary:{arch}");
        run(c
            .cmd("buildah")
            .args(["bud", "--isolation", "chroot", "-q", "--pull-never"])
            .arg(format!("--platform={platform}"))
            .arg("--build-arg")
            .arg(format!("BUILDPLATFORM={HOST_PLATFORM}"))
            .arg("--build-arg")
            .arg(format!("SHELL_IMAGE={shell}"))
            .arg("--build-arg")
            .arg(format!(
                "LINKS_IMAGE=localhost/glprobe-test/shell:{host_arch}"
            ))
            .arg("--build-arg")
            .arg(format!("BINARY_STAGE={binary_image}"))
            .args(["--build-arg", "REVISION=test", "-t"])
            .arg(format!("localhost/glprobe:test-{arch}"))
            .args(["--manifest", "localhost/glprobe:multi"])
            .arg("-f")
            .arg(root().join("Dockerfile"))
            .arg(root()));
    }

    // The list, pushed with its images as one OCI image index, as component.yml pushes it to
    // the registry.
    let out = TempDir::new("multiarch-oci");
    let layout = out.path("layout");
    run(c
        .cmd("buildah")
        .args(["manifest", "push", "--all", "-q", "localhost/glprobe:multi"])
        .arg(format!("oci:{}:multi", layout.display())));
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let tops = index["manifests"].as_array().unwrap();
    assert_eq!(tops.len(), 1, "{index}");
    assert_eq!(
        tops[0]["mediaType"], "application/vnd.oci.image.index.v1+json",
        "{index}"
    );
    let list = blob(&layout, &tops[0]);
    let mut pushed: Vec<(String, String)> = list["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let config = blob(&layout, &blob(&layout, m)["config"]);
            assert_eq!(config["architecture"], m["platform"]["architecture"], "{m}");
            (
                m["platform"]["os"].as_str().unwrap().to_owned(),
                m["platform"]["architecture"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    pushed.sort();
    assert_eq!(
        pushed,
        [
            ("linux".into(), "amd64".into()),
            ("linux".into(), "arm64".into())
        ],
        "{list}"
    );

    // Each platform's image holds that platform's static glprobe and busybox, sh linked to it.
    for (arch, machine, binary, busybox) in &platforms {
        let image = format!("localhost/glprobe:test-{arch}");
        let config = run(c.cmd("buildah").args([
            "inspect",
            "--format",
            "{{.OCIv1.OS}}/{{.OCIv1.Architecture}}",
            &image,
        ]));
        assert_eq!(config.trim(), format!("linux/{arch}"));
        let m = Mounted::new(&c, &image);
        for (inside, built) in [
            ("/usr/local/bin/glprobe", binary),
            ("/bin/busybox", busybox),
        ] {
            let found = m.path(inside);
            let headers = elf::read(&found);
            assert_eq!(headers.machine, *machine, "{arch}: {inside}");
            assert!(headers.is_static, "{arch}: {inside} is not static");
            assert!(
                std::fs::read(&found).unwrap() == std::fs::read(built).unwrap(),
                "{arch}: {inside} is not the file built"
            );
        }
        for applet in ["sh", "cat", "mkdir"] {
            let link = std::fs::read_link(m.path(&format!("/bin/{applet}"))).unwrap();
            assert_eq!(link, Path::new("busybox"), "{arch}: /bin/{applet}");
        }
    }

    // The list runs as this machine's platform.
    let native = run(c.cmd("podman").args([
        "run",
        "--rm",
        "localhost/glprobe:multi",
        "sh",
        "-c",
        "uname -m; glprobe --version",
    ]));
    let expected_machine = if host_arch == "arm64" {
        "aarch64"
    } else {
        "x86_64"
    };
    assert_eq!(
        native,
        format!(
            "{expected_machine}\nglprobe {}\n",
            env!("CARGO_PKG_VERSION")
        )
    );

    // The arm64 image: under emulation when the kernel allows, else its files under qemu.
    let script = "uname -m; glprobe --offline --token-env X --format dotenv";
    let token = format!("gldt-{F20}");
    if host_arch == "arm64" || binfmt_runs_aarch64() {
        let out = run(c
            .cmd("podman")
            .args(["run", "--rm", "--platform", "linux/arm64", "-e"])
            .arg(format!("X={token}"))
            .args(["localhost/glprobe:multi", "sh", "-c", script]));
        let (machine, dotenv) = out.split_once('\n').unwrap();
        assert_eq!(machine, "aarch64");
        assert_eq!(parse_dotenv(dotenv)["TOKEN_KIND"], "deploy_token");
    } else {
        loudly(
            "this machine cannot run the arm64 image: /proc/sys/fs/binfmt_misc has no enabled \
             qemu-aarch64 handler (mount binfmt_misc and register it, e.g. update-binfmts \
             --enable qemu-aarch64 from binfmt-support). Running the arm64 image's glprobe and \
             busybox under qemu-aarch64-static instead.",
        );
        let qemu = crate::arm64::qemu();
        let m = Mounted::new(&c, "localhost/glprobe:test-arm64");
        let shell = run(Command::new(&qemu)
            .arg(m.path("/bin/busybox"))
            .args(["sh", "-c", "echo $((6 * 7)) $(uname -m)"])
            .env_clear());
        assert_eq!(shell, "42 aarch64\n");
        let out = run(Command::new(&qemu)
            .arg(m.path("/usr/local/bin/glprobe"))
            .args(["--offline", "--token-env", "X", "--format", "dotenv"])
            .env_clear()
            .env("X", &token));
        assert_eq!(parse_dotenv(&out)["TOKEN_KIND"], "deploy_token");
        assert!(!out.contains(&token));
    }
}
