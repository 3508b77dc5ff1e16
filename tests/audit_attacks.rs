//! The audit against values a careless user stores: the audit token itself in a variable (it must
//! be judged, not scrubbed away before judgement), and tokens with invisible characters.

use crate::audit::{audit, findings};
use crate::support::TempDir;
use crate::support::acme::{Planted, group, project};
use crate::support::gitlab::FakeGitLab;
use crate::support::group_tree::{Tree, variable};
use crate::support::tokens::pat;

fn tree_with(vars: Vec<serde_json::Value>) -> Tree {
    let mut tree = Tree {
        audit_scopes: vec!["read_api".into()],
        audit_days_left: Some(300),
        ..Tree::default()
    };
    tree.groups = vec![group(1, "acme", None)];
    tree.projects = vec![project(501, "acme/app", 1, false)];
    tree.project_variables.insert(501, vars);
    tree
}

/// The scheduled audit keeps its own token in a variable of the audited group. The HTTP layer
/// scrubs the audit token out of every body before the judge sees it, so that variable is read
/// as "[REDACTED]" and an unmasked, unprotected copy of the audit token is never reported.
#[test]
fn a_variable_holding_the_audit_token_is_judged() {
    let audit_token = pat(1);
    let tree = tree_with(vec![variable("AUDIT_TOKEN", &audit_token, false, false)]);
    let server = FakeGitLab::start(tree.routes());
    let planted = Planted {
        audit: audit_token,
        values: vec![],
    };
    let dir = TempDir::new("attack2-audit-token-var");
    let out = audit(
        &server,
        &planted,
        &["--group", "acme", "--format", "json"],
        &dir,
    );
    let got = findings(&out.json());
    assert!(
        got.contains(&(
            "exposure".into(),
            "not_masked".into(),
            "acme/app variable AUDIT_TOKEN".into()
        )),
        "{got:#?}"
    );
}

/// A token pasted with a byte-order mark (or a zero-width space inside) cannot authenticate;
/// the audit reads the value as GitLab stores it, invisible characters included.
#[test]
fn an_invisible_character_in_a_stored_token_is_malformed() {
    let stored = pat(7);
    let tree = tree_with(vec![
        variable("BOM_TOKEN", &format!("\u{FEFF}{stored}"), true, true),
        variable(
            "ZW_TOKEN",
            &format!("{}\u{200B}{}", &stored[..12], &stored[12..]),
            true,
            true,
        ),
    ]);
    let server = FakeGitLab::start(tree.routes());
    let planted = Planted {
        audit: pat(1),
        values: vec![stored],
    };
    let dir = TempDir::new("attack2-invisible");
    let out = audit(
        &server,
        &planted,
        &["--group", "acme", "--format", "json"],
        &dir,
    );
    let got = findings(&out.json());
    for key in ["BOM_TOKEN", "ZW_TOKEN"] {
        assert!(
            got.contains(&(
                "broken".into(),
                "malformed".into(),
                format!("acme/app variable {key}")
            )),
            "{key}: {got:#?}"
        );
    }
}
