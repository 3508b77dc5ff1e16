//! The release: component.yml uploads both static binaries and their SHA256SUMS to the generic
//! package registry and links the same files from the release; the README's checksum step
//! accepts those files and refuses an altered one; the image is pushed as one manifest list.

use std::process::Command;

use crate::support::{TempDir, root};

const ASSETS: [&str; 3] = [
    "glprobe-$CI_COMMIT_TAG-x86_64-linux-musl",
    "glprobe-$CI_COMMIT_TAG-aarch64-linux-musl",
    "SHA256SUMS",
];

fn component() -> String {
    std::fs::read_to_string(root().join("component.yml")).unwrap()
}

/// The lines of a job, from its key to the next top-level key.
fn job<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| *l != format!("{name}:"));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("component.yml has no job {name}"));
    std::iter::once(first)
        .chain(lines.take_while(|l| l.is_empty() || l.starts_with(' ') || l.starts_with('#')))
        .collect()
}

#[test]
fn the_release_links_the_files_release_assets_uploads() {
    let text = component();
    let upload = job(&text, "release-assets").join("\n");
    let release = job(&text, "release").join("\n");
    let registry = "$CI_API_V4_URL/projects/$CI_PROJECT_ID/packages/generic/glprobe/$CI_COMMIT_TAG";
    assert!(
        upload.contains(&format!("PACKAGE_URL: {registry}")),
        "{upload}"
    );
    assert!(
        upload.contains("--header \"JOB-TOKEN: $CI_JOB_TOKEN\" \\")
            && upload.contains("--upload-file \"$file\" \"$PACKAGE_URL/$file\""),
        "{upload}"
    );
    assert!(upload.contains("sha256sum glprobe-$CI_COMMIT_TAG-* > SHA256SUMS"));
    for asset in ASSETS {
        assert!(
            upload.contains(&format!(" {asset}")),
            "release-assets does not upload {asset}"
        );
        assert!(
            release.contains(&format!("- name: {asset}\n")),
            "the release does not name {asset}"
        );
        assert!(
            release.contains(&format!("url: {registry}/{asset}\n")),
            "the release does not link {asset}"
        );
    }
    // Both run on version tags only, and the upload checks the tag is the crate's version.
    for job in [&upload, &release] {
        assert!(job.contains("- if: $CI_COMMIT_TAG =~ /^\\d+\\.\\d+\\.\\d+$/"));
    }
    assert!(upload.contains("grep -qx \"version = \\\"$CI_COMMIT_TAG\\\"\" Cargo.toml"));
}

#[test]
fn the_readme_checksum_step_accepts_the_binaries_and_refuses_an_altered_one() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let step = readme
        .lines()
        .map(str::trim)
        .find(|l| l.contains("SHA256SUMS | sha256sum -c -"))
        .expect("README's Install section has no checksum step");
    let dir = TempDir::new("release");
    let version = env!("CARGO_PKG_VERSION");
    for (arch, built) in [
        ("x86_64", crate::image::static_binary()),
        ("aarch64", crate::arm64::aarch64_binary()),
    ] {
        std::fs::copy(
            built,
            dir.path(&format!("glprobe-{version}-{arch}-linux-musl")),
        )
        .unwrap();
    }
    // The SHA256SUMS release-assets writes.
    let sums = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "sha256sum glprobe-{version}-* > SHA256SUMS && cat SHA256SUMS"
        ))
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert!(sums.status.success());
    assert_eq!(String::from_utf8_lossy(&sums.stdout).lines().count(), 2);
    let check = |arch: &str| {
        Command::new("sh")
            .arg("-c")
            .arg(step)
            .env("version", version)
            .env("arch", arch)
            .current_dir(&dir.0)
            .output()
            .unwrap()
    };
    for arch in ["x86_64", "aarch64"] {
        let out = check(arch);
        assert!(
            out.status.success(),
            "{step}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(": OK"));
    }
    let altered = dir.path(&format!("glprobe-{version}-aarch64-linux-musl"));
    let mut bytes = std::fs::read(&altered).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&altered, bytes).unwrap();
    assert!(
        !check("aarch64").status.success(),
        "{step} passed an altered binary"
    );
    // An architecture with no binary fails too, rather than checking nothing.
    assert!(!check("riscv64").status.success());
}

#[test]
fn the_image_is_pushed_as_one_manifest_list_by_commit_and_by_version() {
    let text = component();
    let publish = job(&text, "publish-image").join("\n");
    assert!(publish.contains("for arch in amd64 arm64; do"), "{publish}");
    assert!(publish.contains("--manifest localhost/glprobe:list"));
    for tag in ["$CI_COMMIT_SHA", "$CI_COMMIT_TAG"] {
        assert!(
            publish.contains(&format!(
                "buildah manifest push --all localhost/glprobe:list \"docker://$CI_REGISTRY_IMAGE:{tag}\""
            )),
            "publish-image does not push the list as {tag}"
        );
    }
    // The arm64 self-test runs on the documented runner tag, and says it ran on aarch64.
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(text.contains("ARM64_RUNNER_TAG: saas-linux-small-arm64"));
    assert!(readme.contains("`$ARM64_RUNNER_TAG`, by default `saas-linux-small-arm64`"));
    for name in ["self-test-check-arm64", "self-test-consumer-arm64"] {
        let lines = job(&text, name).join("\n");
        assert!(lines.contains("tags: [$ARM64_RUNNER_TAG]"), "{lines}");
        assert!(lines.contains("test \"$(uname -m)\" = aarch64"), "{lines}");
    }
}
