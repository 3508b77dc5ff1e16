//! The benchmark's GitLab: the test harness's fake server as a program of its own, answering
//! every kind's probe as valid, with a fixed latency added to every reply.
//!
//!   fake-gitlab [--latency-ms N] [--tls CA_FILE]
//!
//! With --tls it serves HTTPS with a certificate for 127.0.0.1 from a CA made at start, whose
//! certificate it writes to CA_FILE. Prints its URL on the first line. Then, for each line `requests` on standard input, prints
//! the requests received since the previous one as a JSON array of `{method, path, ms}` (`ms`:
//! arrival after the first of them) and forgets them; `quit` (or end of input) stops it.

// The harness is shared with the integration tests; not every helper is used here.
#![allow(dead_code)]

#[path = "../support/fixtures.rs"]
mod fixtures;
#[path = "../support/gitlab.rs"]
mod gitlab;
#[path = "../support/tokens.rs"]
mod tokens;

use std::io::BufRead as _;
use std::time::Duration;

use gitlab::{FakeGitLab, Reply, Routes};
use serde_json::json;

fn routes() -> Routes {
    Routes::new()
        .on(
            "GET",
            "/api/v4/personal_access_tokens/self",
            fixtures::pat_self(&["api"], Some(90), 1),
        )
        .on("GET", "/api/v4/user", fixtures::user(1, "jdoe", false))
        .on(
            "GET",
            "/oauth/token/info",
            fixtures::oauth_info(&["api"], 7200),
        )
        .on("GET", "/api/v4/job", fixtures::job(8, 278))
        .on(
            "GET",
            "/jwt/auth",
            Reply::json(200, json!({"token": "eyJhbGciOiJub25lIn0.e30."})),
        )
        .on(
            "POST",
            "/api/v4/projects/278/trigger/pipeline",
            fixtures::reference_not_found(),
        )
        .on(
            "GET",
            "/api/v4/runners/router/discovery",
            Reply::json(200, json!({"server_url": "grpc://kas.example.com:8150"})),
        )
        .on(
            "GET",
            "/api/v4/feature_flags/unleash/278/client/features",
            fixtures::unleash_features(),
        )
        .on("GET", "/dashboard/projects.atom", fixtures::atom_feed())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let latency = args
        .iter()
        .position(|a| a == "--latency-ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let identity = args
        .iter()
        .position(|a| a == "--tls")
        .and_then(|i| args.get(i + 1))
        .map(|ca_file| {
            let ca = gitlab::TestCa::new();
            std::fs::write(ca_file, &ca.cert_pem).expect("write the CA file");
            ca.identity(&["127.0.0.1"], false)
        });
    let server = FakeGitLab::start_on(
        "127.0.0.1",
        routes(),
        identity.as_ref(),
        Duration::from_millis(latency),
    );
    println!("{}", server.url());
    for line in std::io::stdin().lock().lines() {
        match line.as_deref().map(str::trim) {
            Ok("requests") => {
                let requests = server.requests();
                server.clear();
                let first = requests.iter().map(|r| r.at).min();
                let list: Vec<_> = requests
                    .iter()
                    .map(|r| {
                        let ms =
                            first.map_or(0.0, |f| r.at.duration_since(f).as_secs_f64() * 1000.0);
                        json!({"method": r.method, "path": r.path, "ms": ms})
                    })
                    .collect();
                println!("{}", serde_json::Value::Array(list));
            }
            _ => break,
        }
    }
}
