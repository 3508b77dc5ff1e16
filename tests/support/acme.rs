//! The `acme` group tree the audit tests run against: every problem the audit knows planted
//! once, next to clean places that must stay silent (expectations in tests/audit.rs).

use serde_json::Value;

use super::group_tree::{
    Group, Project, Tree, access_token, deploy_token, hidden, owner, schedule, trigger, variable,
};
use super::tokens::{F20, job_jwt, pat};

/// The planted secrets, for the leak checks.
pub struct Planted {
    pub audit: String,
    pub values: Vec<String>,
}

pub fn group(id: u64, path: &str, parent: Option<u64>) -> Group {
    Group {
        id,
        full_path: path.into(),
        parent_id: parent,
    }
}

pub fn project(id: u64, path: &str, ns: u64, archived: bool) -> Project {
    Project {
        id,
        path_with_namespace: path.into(),
        namespace_id: ns,
        archived,
    }
}

/// A routable token with one payload character changed: the CRC no longer matches.
fn corrupt(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    chars[10] = if chars[10] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

pub fn masked(key: &str, value: &str) -> Value {
    variable(key, value, true, true)
}

/// The fake `acme` tree with every planted problem (see the expectations in `acme_findings`).
pub fn acme() -> (Tree, Planted) {
    let audit = pat(1);
    let shared = pat(520);
    let v = |s: &str| s.to_owned();
    let values = vec![
        pat(501),
        pat(510),
        pat(511),
        pat(512),
        pat(513),
        corrupt(&pat(514)),
        job_jwt(55, 102, 3600, "http://127.0.0.1"),
        "a1b2c3d4".repeat(8),
        pat(601),
        pat(602),
        pat(603),
        format!("gldt-{F20}"),
        v("gldt-Zq7Tz9VbNw3RmPa2sYe"),
        pat(999),
        shared.clone(),
        pat(700),
    ];
    let mut tree = Tree {
        audit_scopes: vec!["read_api".into()],
        audit_days_left: Some(300),
        hide_totals: true,
        ..Tree::default()
    };
    tree.groups = vec![
        group(1, "acme", None),
        group(2, "acme/backend", Some(1)),
        group(3, "acme/restricted", Some(1)),
    ];
    tree.projects = vec![
        project(101, "acme/clean", 1, false),
        project(102, "acme/backend/api", 2, false),
        project(103, "acme/backend/worker", 2, false),
        project(104, "acme/restricted/vault", 3, false),
        project(105, "acme/old", 1, true),
    ];
    tree.not_owner.insert(3);
    tree.not_maintainer.insert(104);
    tree.group_variables
        .insert(1, vec![masked("SHARED_TOKEN", &shared)]);
    tree.group_access_tokens.insert(
        1,
        vec![access_token(1, "shared-bot", 520, true, false, 300)],
    );
    tree.group_access_tokens.insert(
        2,
        vec![access_token(2, "expiring-group-bot", 530, true, false, 5)],
    );
    // acme/clean: nothing wrong.
    tree.project_variables.insert(
        101,
        vec![
            masked("GITLAB_TOKEN", &values[0]),
            variable("DEPLOY_ENV", "staging", false, false),
            variable("GREETING", "hello world", false, false),
            variable("RELEASE_REF", "$CI_COMMIT_REF_NAME", false, false),
        ],
    );
    tree.project_access_tokens.insert(
        101,
        vec![access_token(3, "clean-bot", 501, true, false, 200)],
    );
    tree.project_deploy_tokens
        .insert(101, vec![deploy_token(4, "registry", Some(200), false)]);
    tree.triggers.insert(
        101,
        vec![trigger(5, "deploy", None, owner(9, "erin", "active"))],
    );
    tree.schedules.insert(
        101,
        vec![(
            schedule(6, "nightly", true, owner(9, "erin", "active")),
            Some(vec![variable("VERSION", "1.2", false, false)]),
        )],
    );
    // acme/backend/api: 120 plain variables first, so the planted ones are on page 2.
    let mut vars: Vec<Value> = (0..120)
        .map(|i| variable(&format!("SETTING_{i}"), &format!("value {i}"), false, false))
        .collect();
    vars.extend([
        masked("CI_JOB_TOKEN", &values[1]),
        variable("CI_SERVER_URL", "https://gitlab.example.com", false, false),
        variable("QUOTED_TOKEN", &format!("\"{}\"", values[2]), false, true),
        variable("TRAILING_TOKEN", &format!("{}\n", values[3]), false, true),
        variable(
            "BEARER_TOKEN",
            &format!("Bearer {}", values[4]),
            false,
            true,
        ),
        masked("CRC_TOKEN", &values[5]),
        masked("JOB_TOKEN_COPY", &values[6]),
        masked("OAUTH_TOKEN", &values[7]),
        masked("EXPIRED_BOT_TOKEN", &values[8]),
        masked("REVOKED_BOT_TOKEN", &values[9]),
        masked("EXPIRING_BOT_TOKEN", &values[10]),
        variable("UNMASKED_DEPLOY", &values[11], false, true),
        variable("UNPROTECTED_DEPLOY", &values[12], true, false),
        hidden("HIDDEN_TOKEN"),
        masked("ORPHAN_TOKEN", &values[13]),
        masked("SHARED_COPY", &shared),
        variable("API_TOKEN_COPY", "[MASKED]", false, false),
    ]);
    tree.project_variables.insert(102, vars);
    tree.project_access_tokens.insert(
        102,
        vec![
            access_token(10, "api-bot", 510, true, false, 300),
            access_token(11, "expired-bot", 601, false, false, -3),
            access_token(12, "revoked-bot", 602, false, true, 100),
            access_token(13, "expiring-bot", 603, true, false, 10),
        ],
    );
    // acme/backend/worker: inventory problems.
    tree.project_access_tokens.insert(
        103,
        vec![access_token(21, "worker-bot", 610, true, false, 7)],
    );
    tree.project_deploy_tokens.insert(
        103,
        vec![
            deploy_token(31, "registry-old", Some(-2), true),
            deploy_token(32, "registry-soon", Some(3), false),
            deploy_token(33, "registry-forever", None, false),
        ],
    );
    tree.triggers.insert(
        103,
        vec![
            trigger(41, "nightly from infra", None, owner(5, "alice", "blocked")),
            trigger(42, "old", Some(-1), owner(6, "bob", "active")),
            trigger(43, "soon", Some(12), owner(6, "bob", "active")),
        ],
    );
    tree.schedules.insert(
        103,
        vec![
            (
                schedule(51, "nightly", true, owner(7, "carol", "deactivated")),
                Some(vec![]),
            ),
            (
                schedule(52, "weekly", true, owner(8, "dave", "active")),
                Some(vec![
                    json_var("API_TOKEN", "[MASKED]"),
                    json_var("DEPLOY_TARGET", "prod"),
                ]),
            ),
        ],
    );
    tree.throttle_once
        .insert("/api/v4/projects/103/triggers".into(), 1);
    // acme/restricted/vault: Developer only.
    tree.schedules.insert(
        104,
        vec![(
            schedule(61, "hourly", true, owner(9, "erin", "active")),
            Some(vec![]),
        )],
    );
    // acme/old: archived, skipped.
    tree.project_variables.insert(
        105,
        vec![variable("CI_JOB_TOKEN", &values[15], false, false)],
    );
    (tree, Planted { audit, values })
}

pub fn json_var(key: &str, value: &str) -> Value {
    serde_json::json!({"variable_type": "env_var", "key": key, "value": value, "raw": false})
}
