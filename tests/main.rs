//! glprobe's integration tests: one binary, one module per topic. Every test runs the real
//! binary; the probe tests talk real HTTP to a fake GitLab on 127.0.0.1.

mod support;

// Flags, usage errors, help: exit 2 with one line, or the help text.
mod cli;
// Every kind and every mistake with --offline: no request, the right dotenv.
mod offline;
// One scenario per kind and per failure against the fake GitLab.
mod probe;
// --request 'METHOD PATH': route knowledge and GitLab's answer to the request itself.
mod request;
// The human report, one reviewed snapshot per reason code.
mod snapshots;
// GitLab misbehaving: timeouts, dropped connections, 5xx, 429, pages, bad TLS.
mod faults;
// GitLab's rate limits: Retry-After, RateLimit-*, the application limiter.
mod limits;
// Issue 8: what a careless user or an attacker types: pasted tokens, endless files, bad writes.
mod hardening;
// Issue 8: verdicts and wording at the edges (redirects, overrides, non-tokens, dates).
mod verdicts;
// Colour in terminals and GitLab job logs; never in JSON, dotenv or files.
mod colour;
// The JSON Schema of the JSON report: printed, and met by every report.
mod schema;
// Secret safety: no kind, no answer, no format ever shows the token.
mod leaks;
// Property tests: arbitrary input never panics and never comes back out.
mod props;
// The static binary and the scratch image, built and run with buildah and podman.
mod image;
// The catalog component: schema, README sync, and a real pipeline in gitlab-ci-local.
mod component;
// The static aarch64 binary under qemu-user-static: its shape, the offline suite, online cases.
mod arm64;
// The image for amd64 and arm64 as one manifest list, each platform checked by architecture.
mod multiarch;
// The Python wheel (maturin, bin bindings): built, installed in a fresh virtualenv, run.
mod wheel;
// The release: assets uploaded and linked, the README's checksum step, the manifest push.
mod release;
// Access checks: --access api,git,registry,packages, one row per outcome of GitLab's matrices.
mod access;
// glprobe audit: a fake group tree, every finding code, no value anywhere, GET only.
mod audit;
// glprobe audit: the audit token, rate limits and pacing, usage, --probe-found.
mod audit_runs;
// The audit catalog component in gitlab-ci-local.
mod audit_component;

// The audit against a hostile group tree: the audit token and invisible characters in values.
mod audit_attacks;
