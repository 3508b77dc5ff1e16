//! Tokens bound to one project: pipeline trigger tokens and feature flags client tokens.

use super::Said;
use super::answers::{json, message, read, says, unexpected};
use crate::diagnosis::{Facts, Finding, Situation};
use crate::probe::http::Exchange;
use crate::reason::Reason;
use crate::token::Kind;

/// A refusal that only holds for the project given: with a project guessed from
/// CI_PROJECT_ID, the token may simply belong to another one.
pub(super) fn refused_for_project(kind: Kind, what: &str, sit: &Situation<'_>, next: &str) -> Said {
    let project = sit.project.unwrap_or_default();
    if sit.project_from_ci {
        return Said::Undetermined(Finding::new(
            Reason::Unverifiable,
            format!(
                "GitLab does not accept this {} for project {project}, taken from \
                 CI_PROJECT_ID; it may belong to another project.",
                kind.label()
            ),
            "Pass --project with the token's own project.",
            kind.docs(),
        ));
    }
    Said::Rejected(Finding::new(
        Reason::UnknownToken,
        format!(
            "GitLab does not accept this {} for project {project}: {what}, or belongs to \
             another project (or project {project} does not exist).",
            kind.label()
        ),
        next,
        kind.docs(),
    ))
}

/// Trigger tokens: a trigger request with a ref that cannot exist.
pub(super) fn trigger(x: &Exchange, sit: &Situation<'_>) -> Said {
    let kind = Kind::TriggerToken;
    read(x, sit, true, |response| {
        let facts = Facts::default;
        match response.status {
            400 if json(response).get("message").is_some() => {
                let said = message(response).unwrap_or_default();
                if said.contains("Reference not found") {
                    Said::accepted(kind, facts())
                } else {
                    Said::accepted_with_note(
                        kind,
                        facts(),
                        format!("GitLab found the trigger, then refused the pipeline: \"{said}\"."),
                    )
                }
            }
            201 => Said::accepted_with_note(
                kind,
                facts(),
                "GitLab created a pipeline: the ref meant not to exist does. Cancel that pipeline."
                    .to_owned(),
            ),
            404 if says(response, "404") => refused_for_project(
                kind,
                "it is unknown, deleted or expired",
                sit,
                "Check --project, and the token in the project's Settings > CI/CD > Pipeline \
                 trigger tokens.",
            ),
            _ => unexpected(x, response),
        }
    })
}

/// Feature flags client tokens: the Unleash client API of the project.
pub(super) fn unleash(x: &Exchange, sit: &Situation<'_>) -> Said {
    let kind = Kind::FeatureFlagsClientToken;
    read(x, sit, true, |response| match response.status {
        200 => Said::accepted(kind, Facts::default()),
        401 if says(response, "401 Unauthorized") => refused_for_project(
            kind,
            "it is unknown or was reset",
            sit,
            "Copy the instance ID again from the project's Deploy > Feature flags > Configure, \
             and check --project.",
        ),
        _ => unexpected(x, response),
    })
}
