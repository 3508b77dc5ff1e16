//! The `--project` access check through the API, for a token GitLab accepted.

use super::answers::{insufficient_scope, message};
use super::{API_DOCS, FINE_GRAINED_DOCS, access, find};
use crate::diagnosis::{Facts, Finding, Requirements, SCOPES_DOCS};
use crate::probe::Answer;
use crate::probe::Check;
use crate::reason::Reason;
use crate::token::Kind;

/// The `--project` access check, for a token GitLab accepted.
pub fn project_access(
    answers: &[Answer],
    requirements: &Requirements<'_>,
    kind: Kind,
    facts: &Facts,
) -> Option<Finding> {
    let project = requirements.access_project?;
    let x = find(answers, Check::ProjectAccess)?;
    let response = match &x.outcome {
        Ok(r) => r,
        Err(f) => {
            return Some(Finding::new(
                Reason::Unverifiable,
                format!(
                    "Access to project {project} could not be checked: {}.",
                    f.detail
                ),
                "Run again; this says nothing about the token.",
                API_DOCS,
            ));
        }
    };
    let said = message(response).unwrap_or_default();
    let job = kind == Kind::JobToken;
    match response.status {
        200 => None,
        403 if said.contains("Authentication by CI/CD job token not allowed") => {
            Some(access::not_allowlisted(project, &said, facts))
        }
        403 if job
            && (said.contains("Insufficient permissions")
                || said.contains("unauthorized for CI/CD job tokens")) =>
        {
            Some(Finding::new(
                Reason::InsufficientScope,
                format!(
                    "The job token is valid and allowed into {project}, but the project's \
                     fine-grained job token permissions refuse this access (GitLab: \"{said}\")."
                ),
                format!(
                    "A Maintainer of {project} grants the permission under Settings > CI/CD > \
                     Job token permissions."
                ),
                FINE_GRAINED_DOCS,
            ))
        }
        403 if insufficient_scope(response).is_some() => {
            let needed = insufficient_scope(response).unwrap_or_default();
            let have = facts
                .scopes
                .as_ref()
                .map(|s| s.join(", "))
                .unwrap_or_else(|| "unknown".to_owned());
            Some(Finding::new(
                Reason::InsufficientScope,
                format!(
                    "The token is valid, but reading project {project} through the API needs \
                     one of the scopes {} (it has: {have}).",
                    needed.replace(' ', ", ")
                ),
                "Create a token with read_api (or api) and replace this one.",
                SCOPES_DOCS,
            ))
        }
        404 => Some(access::not_found(project, &said, kind, facts)),
        status if status >= 500 || status == 429 => Some(Finding::new(
            Reason::ServerError,
            format!("GitLab answered the access check on {project} with {status}."),
            "Run again later; this says nothing about the token.",
            API_DOCS,
        )),
        status => Some(Finding::new(
            Reason::Unverifiable,
            format!(
                "GitLab answered the access check on {project} with {status}{}, which does not \
                 settle it.",
                if said.is_empty() {
                    String::new()
                } else {
                    format!(" (\"{said}\")")
                }
            ),
            "Check the project's settings (a disabled feature answers 403), or run again with \
             --format json to see the request.",
            API_DOCS,
        )),
    }
}

/// `… not allowed from <source> to <target>.` → (source, target).
pub(super) fn allowlist_paths(message: &str) -> (String, String) {
    let tail = message.split(" from ").nth(1).unwrap_or_default();
    let mut parts = tail.trim_end_matches('.').splitn(2, " to ");
    let source = parts.next().unwrap_or("the job's project").to_owned();
    let target = parts.next().unwrap_or("the target project").to_owned();
    (source, target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlist_message() {
        let m = "403 Forbidden - Authentication by CI/CD job token not allowed from app to infra.";
        assert_eq!(allowlist_paths(m), ("app".into(), "infra".into()));
    }
}
