//! What the user requires of a token beyond being valid: its kind (`--expect`, or the variable's
//! name), its scopes, the days it has left. A failure is a finding of the exit-3 group.

use super::{Facts, Finding, Requirements, SCOPES_DOCS};
use crate::reason::Reason;
use crate::token::Kind;

const VARIABLES_DOCS: &str = "https://docs.gitlab.com/ci/variables/";

/// A kind mismatch: the token is not of the claimed kind. `possible` lists the kinds the token
/// may still be; with `owner_known` false, the access-token family counts as one kind.
pub fn claim(
    requirements: &Requirements<'_>,
    kind: Kind,
    possible: &[Kind],
    owner_known: bool,
) -> Option<Finding> {
    let claim = requirements.claim.as_ref()?;
    let fits = if kind == Kind::Unknown && possible.len() <= 1 {
        // Nothing recognisable: no evidence against the claim.
        true
    } else if kind.is_access_token() && !owner_known {
        claim.kind.is_access_token()
    } else {
        possible.contains(&claim.kind)
    };
    if fits {
        return None;
    }
    let actual = match kind {
        Kind::Unknown => format!(
            "something else ({})",
            possible
                .iter()
                .map(|k| k.label())
                .collect::<Vec<_>>()
                .join(", or ")
        ),
        Kind::PersonalAccessToken if !owner_known => {
            "a personal (or project or group) access token".to_owned()
        }
        kind => kind.with_article(),
    };
    let wanted = claim.kind.with_article();
    let finding = match claim.variable.as_deref() {
        Some(var @ ("CI_JOB_TOKEN" | "CI_REGISTRY_PASSWORD" | "CI_DEPLOY_PASSWORD")) => {
            let (given, provided) = if var == "CI_DEPLOY_PASSWORD" {
                ("deploy token", "the deploy token named gitlab-deploy-token")
            } else {
                ("job token", "GitLab's job token")
            };
            Finding::new(
                Reason::KindMismatch,
                format!(
                    "${var} holds {actual}, not the {given} GitLab provides: a CI/CD variable \
                     named {var} (project, group or instance) overrides GitLab's own."
                ),
                format!(
                    "Delete or rename the {var} variable in Settings > CI/CD > Variables so the \
                     job gets {provided}, and keep this token in a variable of its own (for \
                     example GITLAB_TOKEN)."
                ),
                VARIABLES_DOCS,
            )
        }
        Some(var) => Finding::new(
            Reason::KindMismatch,
            format!("${var} should hold {wanted}, but it holds {actual}."),
            format!("Put {wanted} in {var}, or read this token from a variable of its own."),
            claim.kind.docs(),
        ),
        None => Finding::new(
            Reason::KindMismatch,
            format!("You expect {wanted} (--expect), but this is {actual}."),
            format!(
                "Use {wanted}, or change --expect to {}.",
                if kind == Kind::Unknown {
                    "the kind you mean to use".to_owned()
                } else {
                    kind.name().to_owned()
                }
            ),
            claim.kind.docs(),
        ),
    };
    Some(finding)
}

/// Scopes the token lacks. GitLab's endpoints accept `api` where `read_api` is asked, and a
/// `write_` scope where its `read_` twin is asked; the check follows them.
pub fn scopes(requirements: &Requirements<'_>, kind: Kind, facts: &Facts) -> Option<Finding> {
    if requirements.scopes.is_empty() {
        return None;
    }
    let Some(have) = &facts.scopes else {
        let why = match kind {
            Kind::JobToken => "job tokens have no scopes: what they may do follows the job's \
                               user and the target project's job token settings"
                .to_owned(),
            kind => format!(
                "GitLab does not report the scopes of {} to its own holder",
                kind.with_article()
            ),
        };
        return Some(Finding::new(
            Reason::Unverifiable,
            format!("--require-scopes cannot be checked: {why}."),
            "Drop --require-scopes for this kind, or check the scopes with --admin-token-env \
             NAME where the admin token API reports them."
                .to_owned(),
            kind.docs(),
        ));
    };
    let missing: Vec<&str> = requirements
        .scopes
        .iter()
        .filter(|want| !satisfies(have, want))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let have_text = if have.is_empty() {
        "none".to_owned()
    } else {
        have.join(", ")
    };
    Some(Finding::new(
        Reason::InsufficientScope,
        format!(
            "The token lacks the scope{} {} (it has: {have_text}).",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        ),
        "Scopes cannot be added to an existing token: create a new one with the scopes it \
         needs and replace this one."
            .to_owned(),
        SCOPES_DOCS,
    ))
}

fn satisfies(have: &[String], want: &str) -> bool {
    let has = |s: &str| have.iter().any(|h| h == s);
    has(want)
        || (want == "read_api" && has("api"))
        || want
            .strip_prefix("read_")
            .is_some_and(|rest| has(&format!("write_{rest}")))
}

/// A token that expires sooner than `--min-days-left` allows.
pub fn expiry(requirements: &Requirements<'_>, kind: Kind, facts: &Facts) -> Option<Finding> {
    let min = requirements.min_days_left?;
    if kind == Kind::JobToken || facts.never_expires {
        // A job token lives as long as its job: days left mean nothing for it.
        return None;
    }
    let (Some(days), Some(day)) = (facts.days_left, facts.expires_at) else {
        return Some(Finding::new(
            Reason::Unverifiable,
            format!(
                "--min-days-left cannot be checked: GitLab does not tell the expiry of {} to \
                 its holder.",
                kind.with_article()
            ),
            "Check the expiry where the token was created, or pass --admin-token-env NAME."
                .to_owned(),
            kind.docs(),
        ));
    };
    (days < min).then(|| {
        let summary = match days {
            0 => format!("The token expires today ({day})"),
            1 => format!("The token expires tomorrow ({day})"),
            d if d < 0 => format!(
                "The token's expiry date, {day}, was {} days ago, yet GitLab accepts it",
                d.unsigned_abs()
            ),
            d => format!("The token expires on {day}, in {d} days"),
        };
        Finding::new(
            Reason::ExpiringSoon,
            format!("{summary}; you require at least {min} days left."),
            "Rotate it or create a new one now, and update every variable that holds it."
                .to_owned(),
            kind.docs(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_implications() {
        let have = vec!["api".to_owned(), "write_repository".to_owned()];
        assert!(satisfies(&have, "read_api"));
        assert!(satisfies(&have, "read_repository"));
        assert!(satisfies(&have, "api"));
        assert!(!satisfies(&have, "read_registry"));
        assert!(!satisfies(&["read_api".to_owned()], "api"));
    }
}
