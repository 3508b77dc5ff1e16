//! The `git` surface: `GET /<path>.git/info/refs?service=git-upload-pack`, whose refusals are
//! plain text naming the check that failed (access.md §2.2–2.4).

use super::{
    Ctx, DEPLOY_DOCS, GIT_DOCS, MEMBERS_DOCS, ROLES_DOCS, Verdict, allowed, as_verdict,
    capitalized, denied, ip_banned, job_user_cannot_read, not_allowlisted, not_found, scopes, text,
    unexpected, unknown, unusable, who,
};
use crate::diagnosis::SCOPES_DOCS;
use crate::diagnosis::gitlab::answers::usable;
use crate::probe::access::{Family, Surface};
use crate::probe::http::Exchange;
use crate::reason::Reason;
use crate::token::Kind;

/// `GET /<path>.git/info/refs?service=git-upload-pack`.
pub(super) fn git(x: &Exchange, ctx: &Ctx<'_>) -> Verdict {
    let r = match usable(x, ctx.sit, false) {
        Ok(r) => r,
        Err(said) => return unusable(said),
    };
    let said = text(r);
    let project = ctx.project;
    let path = ctx.path.as_deref().unwrap_or(project);
    let user = who(ctx);
    match r.status {
        200 if r
            .content_type
            .starts_with("application/x-git-upload-pack-advertisement")
            || said.starts_with("001e# service=git-upload-pack") =>
        {
            allowed(Surface::Git, project)
        }
        401 if said.starts_with("HTTP Basic: Access denied") => match ctx.family {
            Family::Deploy => denied(
                Reason::ProjectNotFound,
                format!(
                    "GitLab refuses this deploy token for {path} over Git (401) after accepting \
                     it for its own project: it belongs to another project or group, or \
                     {path} does not exist or has its repository disabled."
                ),
                "Use a deploy token of this project (Settings > Repository > Deploy tokens), \
                 or check --project.",
                DEPLOY_DOCS,
            ),
            // A personal token GitLab accepts passes Git's authentication for any project; a
            // project or group token's bot must be able to read the project first. With the
            // owner hidden by the token's scopes, it is most likely such a token.
            Family::Access if ctx.facts.bot != Some(false) => denied(
                Reason::ProjectNotFound,
                format!(
                    "GitLab refuses this access token for {path} over Git (401){}: {user} cannot \
                     read {path} — it is not a member, or the project does not exist (GitLab \
                     refuses a project or group token on a project its bot cannot read before \
                     anything else).",
                    if ctx.facts.bot.is_none() {
                        " after accepting it on the API, as it does a project or group token"
                    } else {
                        ""
                    }
                ),
                format!(
                    "Check --project; use a token of {path} (or of its group), or add the \
                     bot user to {path} with at least the Reporter role."
                ),
                MEMBERS_DOCS,
            ),
            _ => unexpected(Surface::Git, x, r),
        },
        403 if said == "You are not allowed to download code." => denied(
            Reason::InsufficientScope,
            match ctx.family {
                Family::Deploy => format!(
                    "The deploy token has no read_repository scope, so it cannot clone {path} \
                     (GitLab: \"{said}\")."
                ),
                _ => format!(
                    "The token has no scope that reads code, so it cannot clone {path} (GitLab: \
                     \"{said}\"): Git needs read_repository, write_repository, read_api or api \
                     (it has: {}).",
                    scopes(ctx.facts)
                ),
            },
            match ctx.family {
                Family::Deploy => "Create a deploy token with read_repository.",
                _ => "Create a token with read_repository (or read_api) and replace this one.",
            },
            SCOPES_DOCS,
        ),
        403 if said.starts_with("You are not allowed to download code from this project") => {
            denied(
                Reason::InsufficientRole,
                format!(
                    "{} can see {path} but may not download its code (GitLab: \"{said}\"): \
                     the Guest role cannot clone a private project; Reporter or higher can.",
                    capitalized(&user)
                ),
                format!(
                    "A Maintainer of {path} gives {user} at least the Reporter role (Manage > \
                     Members; a project access token's role is chosen when it is created)."
                ),
                ROLES_DOCS,
            )
        }
        403 if said.contains("Authentication by CI/CD job token not allowed") => {
            let said = format!("403 Forbidden - {said}");
            as_verdict(not_allowlisted(project, &said, ctx.facts))
        }
        403 if said.contains("Insufficient permissions to pull") => job_user_cannot_read(ctx, said),
        403 if said.contains("requires a fine-grained personal access token") => denied(
            Reason::InsufficientScope,
            format!(
                "The fine-grained personal access token lacks the permission to read {path}'s \
                 code (GitLab: \"{said}\")."
            ),
            "Add the permission GitLab names to the token, or use a token with read_repository.",
            SCOPES_DOCS,
        ),
        403 if said.contains("over HTTP is not allowed") => unknown(
            Reason::Unverifiable,
            format!("This GitLab does not allow Git over HTTP (GitLab: \"{said}\")."),
            "Clone over SSH, or ask an administrator (Admin > Settings > General > Visibility \
             and access controls > Enabled Git access protocols).",
            GIT_DOCS,
        ),
        403 if said.starts_with("Too many failed authentication attempts") => ip_banned(),
        404 if said.starts_with("The project you were looking for could not be found")
            || said.starts_with("The namespace you were looking for could not be found") =>
        {
            let kind = match ctx.family {
                Family::Job => Kind::JobToken,
                Family::Deploy => Kind::DeployToken,
                _ => Kind::PersonalAccessToken,
            };
            as_verdict(not_found(project, said, kind, ctx.facts))
        }
        404 if said.starts_with("A repository for this project does not exist yet") => unknown(
            Reason::Unverifiable,
            format!("Project {path} has no repository yet (GitLab: \"{said}\"): nothing to clone."),
            "Push a first commit, then check again.",
            GIT_DOCS,
        ),
        _ => unexpected(Surface::Git, x, r),
    }
}
