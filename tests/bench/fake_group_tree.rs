//! The audit benchmark's GitLab: the tests' fake group tree as a program, sized like a large
//! fleet, with a fixed latency added to every reply.
//!
//!   fake-group-tree [--groups N] [--projects N] [--latency-ms N] [--limit N --window S]
//!
//! Builds a group `fleet` with N-1 subgroups (two levels) and N projects spread over them, each
//! with a realistic mix: three CI/CD variables (one a masked, protected routable token of the
//! project's bot), one project access token, a deploy token on every other project, a trigger
//! on every third, a schedule on every tenth; every group has a variable and an access token.
//! With --limit it enforces that many requests per --window seconds and tells the client
//! through `RateLimit-*`. Prints its URL and the audit token on the first two lines; then, for
//! each `stats` line on standard input, prints `{"requests": N, "non_get": N, "refused": N}`;
//! `quit` (or end of input) stops it.

// The harness is shared with the integration tests; not every helper is used here.
#![allow(dead_code)]

#[path = "../support/fixtures.rs"]
mod fixtures;
#[path = "../support/gitlab.rs"]
mod gitlab;
#[path = "../support/group_tree.rs"]
mod group_tree;
#[path = "../support/tokens.rs"]
mod tokens;

use std::io::BufRead as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use group_tree::{
    Group, Limiter, Project, Tree, access_token, deploy_token, owner, schedule, trigger, variable,
};

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let groups = arg(&args, "--groups", 1000).max(1);
    let projects = arg(&args, "--projects", 10_000);
    let latency = Duration::from_millis(arg(&args, "--latency-ms", 20));
    let limit = arg(&args, "--limit", 0);
    let window = arg(&args, "--window", 60);
    let mut tree = Tree {
        audit_scopes: vec!["read_api".into()],
        audit_days_left: Some(300),
        ..Tree::default()
    };
    // fleet (1), 31 first-level groups, the rest below them.
    tree.groups.push(Group {
        id: 1,
        full_path: "fleet".into(),
        parent_id: None,
    });
    for g in 2..=groups {
        let parent = if g <= 32 { 1 } else { 2 + (g % 31) };
        let parent_path = tree.groups[(parent - 1) as usize].full_path.clone();
        tree.groups.push(Group {
            id: g,
            full_path: format!("{parent_path}/g{g}"),
            parent_id: Some(parent),
        });
    }
    for g in 1..=groups {
        let bot = 1_000_000 + g;
        tree.group_variables.insert(
            g,
            vec![variable("GROUP_TOKEN", &tokens::pat(bot), true, true)],
        );
        tree.group_access_tokens
            .insert(g, vec![access_token(g, "group-bot", bot, true, false, 200)]);
    }
    for i in 0..projects {
        let id = 10_000 + i;
        let ns = 1 + i % groups;
        let path = format!("{}/p{id}", tree.groups[(ns - 1) as usize].full_path);
        tree.projects.push(Project {
            id,
            path_with_namespace: path,
            namespace_id: ns,
            archived: false,
        });
        let bot = 2_000_000 + id;
        tree.project_variables.insert(
            id,
            vec![
                variable("GITLAB_TOKEN", &tokens::pat(bot), true, true),
                variable("DEPLOY_ENV", "staging", false, false),
                variable("IMAGE_TAG", "v1.2.3", false, false),
            ],
        );
        tree.project_access_tokens
            .insert(id, vec![access_token(id, "ci-bot", bot, true, false, 200)]);
        if i % 2 == 0 {
            tree.project_deploy_tokens
                .insert(id, vec![deploy_token(id, "registry", Some(200), false)]);
        }
        if i % 3 == 0 {
            tree.triggers.insert(
                id,
                vec![trigger(id, "deploy", None, owner(5, "alice", "active"))],
            );
        }
        if i % 10 == 0 {
            tree.schedules.insert(
                id,
                vec![(
                    schedule(id, "nightly", true, owner(5, "alice", "active")),
                    Some(vec![]),
                )],
            );
        }
    }
    let limiter = (limit > 0).then(|| Arc::new(Limiter::new(limit, window)));
    tree.limiter = limiter.clone();
    let server = gitlab::FakeGitLab::start_on("127.0.0.1", tree.routes(), None, latency);
    println!("{}", server.url());
    println!("{}", tokens::pat(1));
    for line in std::io::stdin().lock().lines() {
        match line.as_deref() {
            Ok("stats") => {
                let requests = server.requests();
                let non_get = requests.iter().filter(|r| r.method != "GET").count();
                let refused = limiter
                    .as_ref()
                    .map_or(0, |l| l.refused.load(Ordering::SeqCst));
                println!(
                    "{}",
                    serde_json::json!({"requests": requests.len(), "non_get": non_get, "refused": refused})
                );
                server.clear();
            }
            _ => break,
        }
    }
}
