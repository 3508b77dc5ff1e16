//! glprobe's integration tests: one binary, one module per topic. Every test runs the real
//! binary; the probe tests talk real HTTP to a fake GitLab on 127.0.0.1.

mod support;

// Flags, usage errors, help: exit 2 with one line, or the help text.
mod cli;
// Every kind and every mistake with --offline: no request, the right dotenv.
mod offline;
// One scenario per kind and per failure against the fake GitLab.
mod probe;
