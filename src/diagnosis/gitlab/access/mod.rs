//! The access checks (`--access api,git,registry,packages`): each surface's answer read into a
//! verdict — allowed, denied with the reason, or undetermined — with the way out.
//!
//! GitLab's answers on these surfaces are precise and ordered (reference note `access.md`,
//! sections 2–5): Git says in plain text which check failed, the registry answers 200 even when
//! the pull is denied (the token's `access` claim tells), the Packages API gives the API's own
//! 403s. Where one answer cannot tell two causes apart, another surface's answer often can; the
//! readers use it, and otherwise name both causes, the most likely first.

mod git;
mod packages;
mod registry;

use super::answers::message;
use super::project::project_access;
use super::{ALLOWLIST_DOCS, API_DOCS, MEMBERS_DOCS, RATE_LIMIT_DOCS, Said};
use crate::classify::Classification;
use crate::diagnosis::{Facts, Finding, Requirements, Situation};
use crate::probe::access::{Family, Surface, effective, family, project_path, pull_scope};
use crate::probe::http::{Body, Exchange, Response, percent_encode};
use crate::probe::{Answer, Check};
use crate::reason::{Reason, Validity};
use crate::token::Kind;

const GIT_DOCS: &str = "https://docs.gitlab.com/topics/git/troubleshooting_git/";
const REGISTRY_DOCS: &str = "https://docs.gitlab.com/user/packages/container_registry/authenticate_with_container_registry/";
const PACKAGES_DOCS: &str = "https://docs.gitlab.com/api/packages/";
const ROLES_DOCS: &str = "https://docs.gitlab.com/user/permissions/";
const DEPLOY_DOCS: &str = "https://docs.gitlab.com/user/project/deploy_tokens/";

/// One surface's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// The surface.
    pub surface: Surface,
    /// The project, as given.
    pub project: String,
    /// Allowed (`Some(true)`), denied (`Some(false)`), or undetermined (`None`).
    pub allowed: Option<bool>,
    /// Why, and the way out (`ok` when allowed).
    pub finding: Finding,
    /// The request that settled it, if one was sent.
    pub request: Option<AccessRequest>,
}

/// The request behind a surface's verdict: never its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    /// GET.
    pub method: &'static str,
    /// The path and public query (`/group/app.git/info/refs?service=git-upload-pack`).
    pub path: String,
    /// The status, when an answer came back.
    pub status: Option<u16>,
}

/// What the token's own check concluded: the kind, the validity and its finding.
pub type TokenVerdict<'a> = (Kind, Validity, Option<&'a Finding>);

/// What the readers know besides the answer.
struct Ctx<'a> {
    project: &'a str,
    path: Option<String>,
    family: Family,
    facts: &'a Facts,
    answers: &'a [Answer],
    sit: &'a Situation<'a>,
}

type Verdict = (Option<bool>, Finding);

/// One verdict per surface to report (see [`effective`]).
pub fn checks(
    class: &Classification,
    answers: &[Answer],
    requirements: &Requirements<'_>,
    sit: &Situation<'_>,
    token: TokenVerdict<'_>,
    facts: &Facts,
) -> Vec<Access> {
    let Some(project) = requirements.access_project else {
        return Vec::new();
    };
    let (kind, validity, token_finding) = token;
    let surfaces = effective(
        requirements.access,
        requirements.access_explicit,
        kind,
        class.candidates.is_empty(),
    );
    surfaces
        .into_iter()
        .map(|surface| {
            let x = exchange(surface, family(kind), answers);
            let (allowed, finding) = match validity {
                Validity::Valid => match family(kind) {
                    Some(family) => {
                        let ctx = Ctx {
                            project,
                            path: project_path(project, answers),
                            family,
                            facts,
                            answers,
                            sit,
                        };
                        read(surface, &ctx, x, requirements, kind)
                    }
                    None => no_surfaces(kind),
                },
                _ => token_refused(validity, token_finding, sit),
            };
            Access {
                surface,
                project: project.to_owned(),
                allowed,
                finding,
                // A deploy token's identity check only asks the registry with the path.
                request: x
                    .filter(|_| {
                        surface != Surface::Registry || project_path(project, answers).is_some()
                    })
                    .map(|x| shown(surface, x, answers, project)),
            }
        })
        .collect()
}

/// The exchange that answers a surface: its own check, or for a deploy token's registry the
/// identity check it rode on.
fn exchange(surface: Surface, family: Option<Family>, answers: &[Answer]) -> Option<&Exchange> {
    let check = match (surface, family) {
        (Surface::Registry, Some(Family::Deploy)) => Check::Deploy,
        _ => surface.check(),
    };
    answers
        .iter()
        .find(|a| a.check == check)
        .map(|a| &a.exchange)
}

/// The request as reported: path and public query, status.
fn shown(surface: Surface, x: &Exchange, answers: &[Answer], project: &str) -> AccessRequest {
    let path = project_path(project, answers).unwrap_or_default();
    let query = match surface {
        Surface::Git => "?service=git-upload-pack".to_owned(),
        Surface::Registry => format!(
            "?service=container_registry&scope={}",
            pull_scope(path.trim_matches('/'))
        ),
        Surface::Api if x.path.ends_with("/releases") => "?per_page=1".to_owned(),
        Surface::Packages => "?per_page=1".to_owned(),
        Surface::Api => String::new(),
    };
    AccessRequest {
        method: x.method.as_str(),
        path: format!("{}{query}", x.path),
        status: x.outcome.as_ref().ok().map(|r| r.status),
    }
}

fn read(
    surface: Surface,
    ctx: &Ctx<'_>,
    x: Option<&Exchange>,
    requirements: &Requirements<'_>,
    kind: Kind,
) -> Verdict {
    let project = ctx.project;
    match (surface, ctx.family) {
        (Surface::Api, Family::Deploy) => denied(
            Reason::InsufficientScope,
            format!(
                "A deploy token cannot use GitLab's REST API, so it cannot read project \
                 {project} there: its scopes only reach Git, the container registry and the \
                 package registry."
            ),
            "Use a project access token with read_api for API access.",
            DEPLOY_DOCS,
        ),
        (Surface::Packages, Family::Deploy) => unknown(
            Reason::Unverifiable,
            format!(
                "GitLab has no side-effect-free check of a deploy token's package access on \
                 {project}: the Packages API ignores deploy tokens, and the package managers' \
                 routes hide the cause behind a 404 and count a download."
            ),
            "Check that the deploy token has read_package_registry (Settings > Repository > \
             Deploy tokens), or try the package manager itself.",
            DEPLOY_DOCS,
        ),
        (Surface::Git | Surface::Registry, Family::Access | Family::Oauth)
            if ctx.path.is_none() && resolution_status(ctx) == Some(404) =>
        {
            as_verdict(not_found(project, "404 Project Not Found", kind, ctx.facts))
        }
        (Surface::Git | Surface::Registry, _) if ctx.path.is_none() => unknown(
            Reason::Unverifiable,
            format!(
                "The {} check needs the project's full path, and project {project} was given by \
                 numeric id{}.",
                surface.name(),
                match ctx.family {
                    Family::Access | Family::Oauth =>
                        ", which the token could not resolve through the API",
                    _ => ", which this kind of token cannot resolve",
                }
            ),
            "Pass --project with the project's full path, like group/app (CI jobs have \
             CI_PROJECT_PATH).",
            API_DOCS,
        ),
        (Surface::Api, _) => match x {
            Some(_) => match project_access(ctx.answers, requirements, kind, ctx.facts) {
                None => allowed(surface, project),
                Some(f) => api_finding(f, ctx),
            },
            None => not_asked(surface),
        },
        (Surface::Git, _) => match x {
            Some(x) => git::git(x, ctx),
            None => not_asked(surface),
        },
        (Surface::Registry, _) => match x {
            Some(x) => registry::registry(x, ctx),
            None => not_asked(surface),
        },
        (Surface::Packages, _) => match x {
            Some(x) => packages::packages(x, ctx),
            None => not_asked(surface),
        },
    }
}

fn allowed(surface: Surface, project: &str) -> Verdict {
    let (what, docs) = match surface {
        Surface::Api => ("read it through the REST API", API_DOCS),
        Surface::Git => ("clone and fetch it over HTTPS", GIT_DOCS),
        Surface::Registry => ("pull its container images", REGISTRY_DOCS),
        Surface::Packages => ("read its package registry", PACKAGES_DOCS),
    };
    (
        Some(true),
        Finding::new(
            Reason::Ok,
            format!("GitLab lets the token {what} (project {project})."),
            "Nothing to do.",
            docs,
        ),
    )
}

fn denied(
    reason: Reason,
    summary: impl Into<String>,
    next: impl Into<String>,
    docs: &'static str,
) -> Verdict {
    (Some(false), Finding::new(reason, summary, next, docs))
}

fn unknown(
    reason: Reason,
    summary: impl Into<String>,
    next: impl Into<String>,
    docs: &'static str,
) -> Verdict {
    (None, Finding::new(reason, summary, next, docs))
}

fn as_verdict(finding: Finding) -> Verdict {
    let allowed = match finding.reason.group() {
        crate::reason::Group::Fine => Some(true),
        crate::reason::Group::Requirement | crate::reason::Group::Invalid => Some(false),
        crate::reason::Group::Undetermined => None,
    };
    (allowed, finding)
}

fn not_asked(surface: Surface) -> Verdict {
    unknown(
        Reason::Unverifiable,
        format!(
            "No {} request could be sent for this token.",
            surface.name()
        ),
        "Run again with --format json to see the requests made.",
        API_DOCS,
    )
}

/// A token that is not known valid: no surface is better than the token itself.
fn token_refused(validity: Validity, token: Option<&Finding>, sit: &Situation<'_>) -> Verdict {
    let (reason, next, docs) = token.map_or(
        (
            Reason::Unverifiable,
            "Run without --offline to ask GitLab.".to_owned(),
            API_DOCS,
        ),
        |f| (f.reason, f.next.clone(), f.docs),
    );
    match validity {
        Validity::Invalid => denied(
            reason,
            format!("GitLab refuses the token itself ({reason}), so it reaches nothing."),
            next,
            docs,
        ),
        _ if sit.offline => unknown(
            Reason::Unverifiable,
            "Not checked: --offline sends no request.",
            "Run without --offline to ask GitLab.",
            API_DOCS,
        ),
        _ => unknown(
            reason,
            format!(
                "The token's own check did not settle ({reason}), so access was not checked \
                 further."
            ),
            next,
            docs,
        ),
    }
}

fn no_surfaces(kind: Kind) -> Verdict {
    unknown(
        Reason::Unverifiable,
        format!(
            "glprobe checks access for personal, project, group, OAuth, job and deploy tokens; \
             {} is not used on these surfaces.",
            kind.with_article()
        ),
        "Check the token that the job uses to clone, pull or read packages.",
        kind.docs(),
    )
}

/// The status of `GET /projects/:id` for a project given by numeric id (access and OAuth tokens).
fn resolution_status(ctx: &Ctx<'_>) -> Option<u16> {
    ctx.answers
        .iter()
        .filter(|a| matches!(a.check, Check::ProjectAccess | Check::ProjectPath))
        .filter(|a| !a.exchange.path.ends_with("/releases"))
        .find_map(|a| a.exchange.outcome.as_ref().ok())
        .map(|r| r.status)
}

/// Whose rights a surface checks, for explanations.
fn who(ctx: &Ctx<'_>) -> String {
    let user = ctx.facts.user.as_deref();
    match (ctx.family, user) {
        (Family::Job, Some(u)) => format!("the job's user @{u}"),
        (Family::Job, None) => "the job's user".to_owned(),
        (Family::Deploy, _) => "the deploy token".to_owned(),
        (_, Some(u)) if ctx.facts.bot == Some(true) => format!("the token's bot user @{u}"),
        (_, Some(u)) => format!("the token's user @{u}"),
        _ => "the token's user".to_owned(),
    }
}

/// `project_not_found`: GitLab's 404 texts (shared with the API check).
pub(super) fn not_found(project: &str, said: &str, kind: Kind, facts: &Facts) -> Finding {
    let said = if said.is_empty() { "404" } else { said };
    let (who, maybe) = match (kind, facts.user.as_deref()) {
        (Kind::JobToken, _) => (
            "The job token".to_owned(),
            ", or it is private and the job's user is not a member (older GitLab versions also \
             answer 404 when the job token allowlist refuses the job)",
        ),
        (Kind::DeployToken, _) => (
            "The deploy token".to_owned(),
            ", or the token belongs to another project or group",
        ),
        (_, Some(user)) => (
            format!("The token's user @{user}"),
            ", or it is private or internal and the user (or the token's bot) is not a member",
        ),
        _ => (
            "The token's user".to_owned(),
            ", or it is private or internal and the user is not a member",
        ),
    };
    Finding::new(
        Reason::ProjectNotFound,
        format!(
            "{who} cannot see project {project} (GitLab: \"{said}\"): it does not exist under \
             that id or path{maybe}."
        ),
        format!(
            "Check --project (the full path, like group/app, or the numeric id); if it is \
             right, a Maintainer of {project} adds the user (or the token's bot) as a member \
             (Manage > Members)."
        ),
        MEMBERS_DOCS,
    )
}

/// `not_allowlisted`, from GitLab's `… job token not allowed from <source> to <target>.`
pub(super) fn not_allowlisted(project: &str, said: &str, facts: &Facts) -> Finding {
    let (source, target) = super::project::allowlist_paths(said);
    let source_id = facts
        .project_id
        .map_or_else(|| "<source project id>".to_owned(), |id| id.to_string());
    let user = facts.user.as_deref().map_or_else(
        || "the job's user".to_owned(),
        |u| format!("the job's user @{u}"),
    );
    Finding::new(
        Reason::NotAllowlisted,
        format!(
            "The job token is valid, but project {project} does not let jobs of {source} in \
             (GitLab: \"{said}\"): {source} is not on the job token allowlist of {target}. \
             GitLab gives the same answer when {source} is on it but {user} cannot read \
             {project} (then: insufficient_role)."
        ),
        format!(
            "A Maintainer of {project} adds {source} under Settings > CI/CD > Job token \
             permissions > CI/CD job token allowlist (older versions: Authorized groups and \
             projects) > Add > Group or project; or through the API: POST \
             /api/v4/projects/{}/job_token_scope/allowlist with \
             target_project_id={source_id}, or GraphQL ciJobTokenScopeAddGroupOrProject. If \
             {source} is already listed, give {user} at least the Reporter role on {project}.",
            percent_encode(project)
        ),
        ALLOWLIST_DOCS,
    )
}

/// `insufficient_role` for a job whose project the target lets in, but whose user cannot read
/// the target.
fn job_user_cannot_read(ctx: &Ctx<'_>, said: &str) -> Verdict {
    let (project, user) = (ctx.project, who(ctx));
    denied(
        Reason::InsufficientRole,
        format!(
            "Project {project} lets this job's project in, but {user} cannot read {project} \
             (GitLab: \"{said}\")."
        ),
        format!(
            "A Maintainer of {project} gives {user} at least the Reporter role on it, or the \
             pipeline runs as a user who has it."
        ),
        ROLES_DOCS,
    )
}

/// The API check's finding, with what Git said where the API cannot tell two causes apart.
fn api_finding(finding: Finding, ctx: &Ctx<'_>) -> Verdict {
    if finding.reason == Reason::NotAllowlisted
        && let Some((403, said)) = git_answer(ctx)
        && said.contains("Insufficient permissions to pull")
    {
        return job_user_cannot_read(ctx, &said);
    }
    as_verdict(finding)
}

/// The status and text of the git answer, if one came back.
fn git_answer(ctx: &Ctx<'_>) -> Option<(u16, String)> {
    let x = super::find(ctx.answers, Check::AccessGit)?;
    let r = x.outcome.as_ref().ok()?;
    Some((r.status, text(r).to_owned()))
}

fn text(response: &Response) -> &str {
    match &response.body {
        Body::Text(t) => t.trim(),
        _ => "",
    }
}

/// A failure that says nothing about access (transport, 5xx, 429, a page that is not GitLab's).
fn unusable(said: Said) -> Verdict {
    match said {
        Said::Undetermined(f) | Said::Rejected(f) => (None, f),
        Said::Accepted { .. } => not_asked(Surface::Api),
    }
}

fn unexpected(surface: Surface, x: &Exchange, r: &Response) -> Verdict {
    let said = match &r.body {
        Body::Text(t) if !t.trim().is_empty() => format!(" (\"{}\")", t.trim()),
        _ => message(r)
            .map(|m| format!(" (\"{m}\")"))
            .unwrap_or_default(),
    };
    unknown(
        Reason::Unverifiable,
        format!(
            "GitLab answered the {} check (GET {}) with {}{said}, which does not settle it.",
            surface.name(),
            x.path,
            r.status
        ),
        "Run again with --format json to see the request; check the project's settings (a \
         disabled feature answers 403 or 404).",
        API_DOCS,
    )
}

fn ip_banned() -> Verdict {
    unknown(
        Reason::ServerError,
        "GitLab refuses every Git and registry login from this IP for a while (\"Too many \
         failed authentication attempts from this IP\"); this says nothing about the token.",
        "Wait for the ban to expire (an hour by default) or ask an administrator to lift it.",
        RATE_LIMIT_DOCS,
    )
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn scopes(facts: &Facts) -> String {
    facts
        .scopes
        .as_ref()
        .map_or_else(|| "unknown".to_owned(), |s| s.join(", "))
}
