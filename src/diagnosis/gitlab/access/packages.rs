//! The `packages` surface: `GET /api/v4/projects/:id/packages?per_page=1`, the Packages API's
//! precise 403s (package managers hide the cause behind a 404 and count downloads; access.md §4).

use super::{
    Ctx, ROLES_DOCS, Verdict, allowed, as_verdict, capitalized, denied, git_answer,
    job_user_cannot_read, not_allowlisted, not_found, scopes, unexpected, unusable, who,
};
use crate::diagnosis::SCOPES_DOCS;
use crate::diagnosis::gitlab::FINE_GRAINED_DOCS;
use crate::diagnosis::gitlab::answers::{insufficient_scope, json, message, says, usable};
use crate::probe::access::{Family, Surface};
use crate::probe::http::Exchange;
use crate::reason::Reason;
use crate::token::Kind;

/// `GET /api/v4/projects/:id/packages?per_page=1`.
pub(super) fn packages(x: &Exchange, ctx: &Ctx<'_>) -> Verdict {
    let r = match usable(x, ctx.sit, true) {
        Ok(r) => r,
        Err(said) => return unusable(said),
    };
    let project = ctx.project;
    let said = message(r).unwrap_or_default();
    let user = who(ctx);
    match r.status {
        200 => allowed(Surface::Packages, project),
        403 if insufficient_scope(r).is_some() => denied(
            Reason::InsufficientScope,
            format!(
                "Reading the packages of {project} needs one of the scopes {} (the token has: \
                 {}).",
                insufficient_scope(r)
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "api read_api".to_owned())
                    .replace(' ', ", "),
                scopes(ctx.facts)
            ),
            "Create a token with read_api (or api) and replace this one.",
            SCOPES_DOCS,
        ),
        403 if json(r).get("error").and_then(|e| e.as_str())
            == Some("insufficient_granular_scope") =>
        {
            denied(
                Reason::InsufficientScope,
                format!(
                    "The fine-grained personal access token lacks the permission to read the \
                     packages of {project}."
                ),
                "Add the package permission to the token, or use a token with read_api.",
                SCOPES_DOCS,
            )
        }
        403 if said.contains("Authentication by CI/CD job token not allowed") => {
            if git_answer(ctx).is_some_and(|(_, t)| t.contains("Insufficient permissions to pull"))
            {
                let git = git_answer(ctx).map(|(_, t)| t).unwrap_or_default();
                return job_user_cannot_read(ctx, &git);
            }
            as_verdict(not_allowlisted(project, &said, ctx.facts))
        }
        403 if said.contains("Insufficient permissions to access this resource")
            || said.contains("unauthorized for CI/CD job tokens") =>
        {
            let permission = said
                .rsplit("required: ")
                .next()
                .filter(|_| said.contains("required: "))
                .map(|p| p.trim_end_matches('.').to_owned())
                .unwrap_or_else(|| "read_packages".to_owned());
            denied(
                Reason::InsufficientScope,
                format!(
                    "The job's project is on the allowlist of {project}, but its fine-grained \
                     job token permissions lack {permission} (GitLab: \"{said}\")."
                ),
                format!(
                    "A Maintainer of {project} adds {permission} to the job's project's entry \
                     under Settings > CI/CD > Job token permissions, or sets that entry to the \
                     default permissions."
                ),
                FINE_GRAINED_DOCS,
            )
        }
        403 if says(r, "403 Forbidden") => denied(
            Reason::InsufficientRole,
            format!(
                "{} can see {project} but may not read its packages (GitLab: \"{said}\"): the \
                 role is too low, or the package registry is disabled for the project.",
                capitalized(&user)
            ),
            format!(
                "A Maintainer of {project} gives {user} at least the Reporter role, or enables \
                 the package registry (Settings > General > Visibility)."
            ),
            ROLES_DOCS,
        ),
        404 if says(r, "404 Project Not Found") => {
            let kind = match ctx.family {
                Family::Job => Kind::JobToken,
                _ => Kind::PersonalAccessToken,
            };
            as_verdict(not_found(project, &said, kind, ctx.facts))
        }
        _ => unexpected(Surface::Packages, x, r),
    }
}
