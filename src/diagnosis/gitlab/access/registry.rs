//! The `registry` surface: `GET /jwt/auth?service=container_registry&scope=repository:<path>:pull`.
//! GitLab answers 200 with a registry token even when the pull is denied: the token's `access`
//! claim says (access.md §3).

use serde_json::Value;

use super::{
    ALLOWLIST_DOCS, Ctx, DEPLOY_DOCS, MEMBERS_DOCS, REGISTRY_DOCS, ROLES_DOCS, Verdict, allowed,
    as_verdict, denied, git_answer, job_user_cannot_read, not_allowlisted, scopes, unexpected,
    unknown, unusable, who,
};
use crate::classify::jwt;
use crate::diagnosis::gitlab::answers::{json, registry_error, usable};
use crate::probe::Check;
use crate::probe::access::{Family, Surface};
use crate::probe::http::Exchange;
use crate::reason::Reason;

/// `GET /jwt/auth?service=container_registry&scope=repository:<path>:pull`.
pub(super) fn registry(x: &Exchange, ctx: &Ctx<'_>) -> Verdict {
    let r = match usable(x, ctx.sit, true) {
        Ok(r) => r,
        Err(said) => return unusable(said),
    };
    let path = ctx.path.as_deref().unwrap_or(ctx.project).to_lowercase();
    match (r.status, registry_error(r).as_deref()) {
        (200, _) => {
            let Some(claims) = json(r)
                .get("token")
                .and_then(Value::as_str)
                .and_then(jwt::payload)
            else {
                return unexpected(Surface::Registry, x, r);
            };
            let pull = claims
                .get("access")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|a| {
                    // The repository's own grant: `type` repository (not registry, not a
                    // catalog), for this path.
                    a.get("type").and_then(Value::as_str) == Some("repository")
                        && a.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| n.eq_ignore_ascii_case(&path))
                })
                .flat_map(|a| {
                    a.get("actions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                })
                .any(|action| action.as_str() == Some("pull"));
            if pull {
                allowed(Surface::Registry, ctx.project)
            } else {
                registry_denied(ctx, &path)
            }
        }
        (403, Some("DENIED")) => denied(
            Reason::InsufficientScope,
            format!(
                "The token has no registry scope, so GitLab refuses it any registry access \
                 (\"access forbidden\"): pulling {path} needs {}.",
                match ctx.family {
                    Family::Deploy => "read_registry",
                    _ => "read_registry, read_api or api",
                }
            ),
            match ctx.family {
                Family::Deploy => "Create a deploy token with read_registry.",
                _ => "Create a token with read_registry (or read_api) and replace this one.",
            },
            REGISTRY_DOCS,
        ),
        (404, Some("UNAVAILABLE")) => unknown(
            Reason::Unverifiable,
            "The container registry is not enabled on this GitLab instance.",
            "Ask an administrator to enable the container registry, or check --url.",
            REGISTRY_DOCS,
        ),
        _ => unexpected(Surface::Registry, x, r),
    }
}

/// A registry token without `pull` for the path: GitLab drops a denied scope silently, so the
/// cause comes from the token's scopes and the other surfaces' answers.
pub(super) fn registry_denied(ctx: &Ctx<'_>, path: &str) -> Verdict {
    let project = ctx.project;
    let user = who(ctx);
    let git = git_answer(ctx);
    let git_says = |needle: &str| git.as_ref().is_some_and(|(_, t)| t.contains(needle));
    let api_404 = crate::diagnosis::gitlab::find(ctx.answers, Check::ProjectAccess)
        .and_then(|x| x.outcome.as_ref().ok())
        .is_some_and(|r| r.status == 404);
    let pull_scope = ["read_registry", "read_api", "api"];
    let lacks_scope = ctx
        .facts
        .scopes
        .as_ref()
        .is_some_and(|s| !s.iter().any(|s| pull_scope.contains(&s.as_str())));
    let empty = "GitLab gave a registry token without pull for";
    match ctx.family {
        Family::Access | Family::Oauth if lacks_scope => denied(
            Reason::InsufficientScope,
            format!(
                "{empty} {path}: the token's scopes ({}) do not allow pulling — that needs \
                 read_registry, read_api or api (write_registry alone can push but not pull).",
                scopes(ctx.facts)
            ),
            "Create a token with read_registry (or read_api) and replace this one.",
            REGISTRY_DOCS,
        ),
        Family::Job if git_says("Authentication by CI/CD job token not allowed") => {
            let said = git
                .map(|(_, t)| format!("403 Forbidden - {t}"))
                .unwrap_or_default();
            as_verdict(not_allowlisted(project, &said, ctx.facts))
        }
        Family::Job if git_says("Insufficient permissions to pull") => {
            job_user_cannot_read(ctx, &git.map(|(_, t)| t).unwrap_or_default())
        }
        Family::Deploy if git.as_ref().is_some_and(|(s, _)| *s == 401) => denied(
            Reason::ProjectNotFound,
            format!(
                "{empty} {path}, and Git refuses the deploy token there: it belongs to another \
                 project or group, or {path} does not exist."
            ),
            "Use a deploy token of this project (Settings > Repository > Deploy tokens), or \
             check --project.",
            DEPLOY_DOCS,
        ),
        Family::Deploy => denied(
            Reason::InsufficientScope,
            format!(
                "{empty} {path}: the deploy token has no read_registry scope (write_registry \
                 alone cannot pull), or it belongs to another project or group."
            ),
            "Create a deploy token of this project with read_registry.",
            DEPLOY_DOCS,
        ),
        _ if api_404 || git_says("could not be found") => denied(
            Reason::ProjectNotFound,
            format!(
                "{empty} {path}, and project {project} is not visible to {user}: it does not \
                 exist, or {user} is not a member."
            ),
            "Check --project; if it is right, a Maintainer adds the user as a member with at \
             least the Reporter role.",
            MEMBERS_DOCS,
        ),
        Family::Job => denied(
            Reason::NotAllowlisted,
            format!(
                "{empty} {path}: most likely the job's project is not on the job token \
                 allowlist of {project}; otherwise {user} lacks the Reporter role there, or \
                 {project} has no container registry."
            ),
            format!(
                "A Maintainer of {project} adds the job's project under Settings > CI/CD > Job \
                 token permissions > CI/CD job token allowlist, or gives {user} the Reporter \
                 role. Ask with --access git,registry to tell the two apart."
            ),
            ALLOWLIST_DOCS,
        ),
        _ => denied(
            Reason::InsufficientRole,
            format!(
                "{empty} {path}: {user} may not pull from it — below the Reporter role (a Guest \
                 cannot pull from a private project), not a member, or {project} has no \
                 container registry."
            ),
            format!(
                "A Maintainer of {project} gives {user} at least the Reporter role, or enables \
                 the container registry (Settings > General > Visibility)."
            ),
            ROLES_DOCS,
        ),
    }
}
