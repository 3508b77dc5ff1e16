//! Explaining a `--request`: whether this token can ever work on that route (route knowledge),
//! and why GitLab answered what it did when the request was sent (GET and HEAD only).
//!
//! Pure. GitLab's answer is read for its status and its error message only: a response body
//! may hold private data, so nothing else of it is kept. The messages matched are GitLab's own
//! (reference note access.md, sections 4.1, 5.2, 5.5 and 6).

mod ignored;
mod readers;

use super::{Diagnosis, Facts, Finding, SCOPES_DOCS};
use crate::probe::http::{Body, Exchange, FailureKind};
use crate::reason::{Group, Reason, Validity};
use crate::request::{Parsed, Verdict, routes, scopes};
use crate::token::Kind;
use ignored::not_accepted;
use readers::{allowlist_paths, decode_path, gitlab_message, insufficient_scope, quoted};

const JOB_TOKEN_DOCS: &str = "https://docs.gitlab.com/ci/jobs/ci_job_token/";
const ALLOWLIST_DOCS: &str = "https://docs.gitlab.com/ci/jobs/ci_job_token/#add-a-group-or-project-to-the-job-token-allowlist";
const FINE_GRAINED_DOCS: &str = "https://docs.gitlab.com/ci/jobs/fine_grained_permissions/";
const MEMBERS_DOCS: &str = "https://docs.gitlab.com/user/project/members/";
const API_DOCS: &str = "https://docs.gitlab.com/api/rest/";
const RATE_LIMIT_DOCS: &str = "https://docs.gitlab.com/security/rate_limits/";

/// What the request's explanation needs to know about the token and the run.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The token's kind (after GitLab's answers narrowed it).
    pub kind: Kind,
    /// Whether GitLab accepted the token itself.
    pub validity: Validity,
    /// The token's own verdict.
    pub token_reason: Reason,
    /// What is known about the token.
    pub facts: &'a Facts,
    /// `--offline`.
    pub offline: bool,
    /// `CI_PROJECT_PATH`: the job's project, to tell it from another project given by path.
    pub ci_project_path: Option<&'a str>,
}

/// The request verdict, and what it adds to the run's findings and notes.
#[derive(Debug, Clone)]
pub struct Explained {
    /// For the reports.
    pub verdict: Verdict,
    /// A problem with this request, if any.
    pub finding: Option<Finding>,
    /// A fact worth telling.
    pub note: Option<String>,
}

/// True when glprobe sends the request: GET or HEAD on the REST API, after the token's own
/// check accepted it, for a kind whose carrier it knows.
pub fn should_send(parsed: &Parsed, kind: Kind, validity: Validity) -> bool {
    validity == Validity::Valid
        && parsed.method.is_read()
        && parsed.is_rest()
        && (kind == Kind::JobToken || kind == Kind::OauthAccessToken || kind.is_access_token())
}

/// What route knowledge says, before any answer.
struct Knowledge {
    found: Option<routes::Match>,
    accepted: bool,
    permissions: String,
    scopes: Vec<&'static str>,
    /// The project of a project route, decoded for display.
    project: Option<String>,
    /// The target is the job's own project: `None` when it cannot be told.
    own: Option<bool>,
}

fn knowledge(parsed: &Parsed, ctx: &Context<'_>) -> Knowledge {
    let found = parsed
        .is_rest()
        .then(|| routes::find(parsed.method, parsed.api_path()))
        .flatten();
    let raw_project = found.as_ref().and_then(|m| m.project()).map(str::to_owned);
    let own = raw_project.as_deref().and_then(|p| {
        if p.bytes().all(|b| b.is_ascii_digit()) {
            ctx.facts.project_id.map(|id| id.to_string() == p)
        } else {
            ctx.ci_project_path
                .map(|own| own.eq_ignore_ascii_case(&decode_path(p)))
        }
    });
    Knowledge {
        accepted: found.is_some() || parsed.path.starts_with("/jwt/auth"),
        permissions: found
            .as_ref()
            .map(|m| m.route.permissions.join(","))
            .unwrap_or_default(),
        scopes: scopes::needed(parsed),
        project: raw_project.as_deref().map(decode_path),
        own,
        found,
    }
}

/// Builds the request verdict. `exchange` is GitLab's answer, when the request was sent.
pub fn explain(parsed: &Parsed, ctx: &Context<'_>, exchange: Option<&Exchange>) -> Explained {
    let k = knowledge(parsed, ctx);
    let line = parsed.line();
    let response = exchange.and_then(|x| x.outcome.as_ref().ok());
    let mut verdict = Verdict {
        method: parsed.method.as_str(),
        path: parsed.shown(),
        route: k.found.as_ref().map(|m| m.route.template),
        job_token_accepted: k.accepted,
        job_token_permission: (!k.permissions.is_empty()).then(|| k.permissions.clone()),
        scopes_needed: k.scopes.clone(),
        sent: exchange.is_some(),
        status: response.map(|r| r.status),
        message: response.and_then(gitlab_message),
        allowed: None,
        reason: None,
        summary: String::new(),
    };
    let job = ctx.kind == Kind::JobToken;
    let own_only_elsewhere = k
        .found
        .as_ref()
        .is_some_and(|m| m.route.is_own_project_only())
        && k.own == Some(false);
    let (finding, note) = if job && (!k.accepted || own_only_elsewhere) {
        (
            Some(not_accepted(parsed, &k, response, own_only_elsewhere)),
            None,
        )
    } else if let Some(x) = exchange {
        (answered(parsed, &k, ctx, x), None)
    } else {
        unsent(parsed, &k, ctx)
    };
    let dropped = (!parsed.dropped.is_empty()).then(|| {
        format!(
            "The request's {} query parameter was left out (never sent, never shown): glprobe \
             sends the token in its own carrier.",
            parsed.dropped.join(" and ")
        )
    });
    let note = match (note, dropped) {
        (Some(a), Some(b)) => Some(format!("{a} {b}")),
        (a, b) => a.or(b),
    };
    match (&finding, response.map(|r| r.status)) {
        (Some(f), _) => {
            // GitLab's own refusal (a 4xx but 429) says it does not work, even when it does
            // not say why.
            let refused = response.is_some_and(|r| {
                (400..500).contains(&r.status) && r.status != 429 && !matches!(r.body, Body::Html)
            });
            verdict.allowed = match f.reason.group() {
                Group::Undetermined if !refused => None,
                _ => Some(false),
            };
            verdict.reason = Some(f.reason);
            verdict.summary = f.summary.clone();
        }
        (None, Some(status)) => {
            verdict.allowed = Some(true);
            verdict.reason = Some(Reason::Ok);
            verdict.summary = format!("{line} works with this token: GitLab answered {status}.");
        }
        (None, None) => {
            if ctx.validity == Validity::Invalid {
                verdict.allowed = Some(false);
                verdict.reason = Some(ctx.token_reason);
            }
            verdict.summary = note.clone().unwrap_or_default();
        }
    }
    Explained {
        verdict,
        finding,
        note,
    }
}

/// A request glprobe did not send: the verdict rests on route knowledge and the token's check.
fn unsent(parsed: &Parsed, k: &Knowledge, ctx: &Context<'_>) -> (Option<Finding>, Option<String>) {
    let line = parsed.line();
    let why = if ctx.offline {
        "--offline".to_owned()
    } else if !parsed.method.is_read() {
        format!(
            "glprobe sends only GET and HEAD, never a {}",
            parsed.method.as_str()
        )
    } else if !parsed.is_rest() {
        "glprobe sends only REST API requests (/api/v4/…)".to_owned()
    } else if ctx.validity == Validity::Invalid {
        "GitLab refuses the token itself".to_owned()
    } else if ctx.validity == Validity::Unknown {
        "the token's own check did not succeed".to_owned()
    } else {
        format!(
            "glprobe explains requests for job, access and OAuth tokens, not for {}",
            ctx.kind.with_article()
        )
    };
    let mut knowledge = format!("{line} was not sent ({why}); this rests on GitLab's route list");
    let access = ctx.kind.is_access_token() || ctx.kind == Kind::OauthAccessToken;
    if ctx.kind == Kind::JobToken {
        knowledge.push_str(&format!(
            ": GitLab accepts job tokens on this route{}{}.",
            permission_clause(k),
            route_caveat(k)
        ));
        if k.own != Some(true) && k.project.is_some() {
            knowledge.push_str(&format!(" {}", other_project_rules(k)));
        }
    } else if access {
        let needed = k.scopes.join(" or ");
        match &ctx.facts.scopes {
            Some(have)
                if !scopes::satisfied(&k.scopes, have) && ctx.validity == Validity::Valid =>
            {
                let have = if have.is_empty() {
                    "none".to_owned()
                } else {
                    have.join(", ")
                };
                return (
                    Some(Finding::new(
                        Reason::InsufficientScope,
                        format!(
                            "The token cannot make {line}: it needs the scope {needed}, and the \
                             token has {have} (not sent: {why})."
                        ),
                        format!(
                            "Create a token with {} and replace this one.",
                            k.scopes.first().copied().unwrap_or("api")
                        ),
                        SCOPES_DOCS,
                    )),
                    None,
                );
            }
            Some(_) => knowledge.push_str(&format!(
                ": the token has the scope it needs ({needed}); whether its user may do this \
                 (role, project visibility) only GitLab can say."
            )),
            None => knowledge.push_str(&format!(": an access token needs the scope {needed}.")),
        }
    } else {
        knowledge.push('.');
    }
    (None, Some(knowledge))
}

/// What a job token needs beyond the route list: another carrier, or a newer GitLab.
fn route_caveat(k: &Knowledge) -> String {
    match k.found.as_ref().map(|m| m.route) {
        Some(route) if route.via.is_some() => {
            format!(" {}", route.via.map_or("", routes::Via::describe))
        }
        Some(route) if route.newer => " on GitLab's 19.1 development line (older versions ignore \
                                        job tokens here)"
            .to_owned(),
        _ => String::new(),
    }
}

fn permission_clause(k: &Knowledge) -> String {
    if k.found.as_ref().is_some_and(|m| m.route.via.is_some()) {
        return String::new();
    }
    if k.permissions.is_empty() {
        " (fine-grained permissions cannot restrict it)".to_owned()
    } else {
        format!(" (fine-grained permission {})", k.permissions)
    }
}

fn other_project_rules(k: &Knowledge) -> String {
    let project = k.project.as_deref().unwrap_or("the target project");
    let fine = if k.permissions.is_empty() {
        String::new()
    } else {
        format!(
            ", and an allowlist entry with fine-grained permissions must grant {}",
            k.permissions
        )
    };
    let condition = if k.own == Some(false) {
        format!("{project} is not the job's own project, so")
    } else {
        format!("If {project} is not the job's own project,")
    };
    format!(
        "{condition} its job token allowlist must include the job's project{fine}; the job's \
         user also needs a role in {project} that allows it."
    )
}

/// GitLab's answer to a request it accepts tokens of this kind on.
fn answered(parsed: &Parsed, k: &Knowledge, ctx: &Context<'_>, x: &Exchange) -> Option<Finding> {
    let line = parsed.line();
    let response = match &x.outcome {
        Ok(response) => response,
        Err(failure) => {
            let reason = match failure.kind {
                FailureKind::Unreachable => Reason::Unreachable,
                FailureKind::Tls => Reason::TlsError,
                FailureKind::Protocol => Reason::ServerError,
                FailureKind::RateLimited => Reason::RateLimited,
            };
            return Some(Finding::new(
                reason,
                format!("{line} got no usable answer: {}.", failure.detail),
                "Run again; this says nothing about the token or the request.",
                API_DOCS,
            ));
        }
    };
    let status = response.status;
    let said = gitlab_message(response).unwrap_or_default();
    let quote = quoted(gitlab_message(response));
    let project = k
        .project
        .clone()
        .unwrap_or_else(|| "the project".to_owned());
    let job = ctx.kind == Kind::JobToken;
    let who = match (job, ctx.facts.user.as_deref()) {
        (true, Some(user)) => format!("the job's user @{user}"),
        (true, None) => "the job's user".to_owned(),
        (false, Some(user)) => format!("the token's user @{user}"),
        (false, None) => "the token's user".to_owned(),
    };
    let finding = |reason, summary: String, next: String, docs| {
        Some(Finding::new(reason, summary, next, docs))
    };
    if parsed.method == crate::request::Method::Head
        && (400..500).contains(&status)
        && status != 429
    {
        return finding(
            Reason::Unverifiable,
            format!(
                "GitLab refused {line} with {status}; an answer to HEAD carries no body, so \
                 GitLab's reason (allowlist, fine-grained permission, role, scope, a missing \
                 project) is not visible."
            ),
            format!(
                "Run again with --request 'GET {}' to read GitLab's reason.",
                parsed.shown()
            ),
            API_DOCS,
        );
    }
    let mut found = match status {
        200..=299 | 302 | 303 | 307 => None,
        429 => finding(
            Reason::RateLimited,
            format!(
                "GitLab rate-limited {line} ({status} after {} attempts).",
                x.attempts
            ),
            "Run again later; this says nothing about the token or the request.".into(),
            RATE_LIMIT_DOCS,
        ),
        _ if status >= 500
            || matches!(response.body, Body::Html)
            || (300..400).contains(&status) =>
        {
            finding(
                Reason::ServerError,
                format!(
                    "{line} got {status}{}, which is not GitLab's API answering.",
                    if matches!(response.body, Body::Html) {
                        " with an HTML page"
                    } else {
                        ""
                    }
                ),
                "Run again later, and check --url and any proxy; this says nothing about the \
                 token."
                    .into(),
                API_DOCS,
            )
        }
        403 if said.contains("Authentication by CI/CD job token not allowed") => {
            let (source, target) = allowlist_paths(&said);
            finding(
                Reason::NotAllowlisted,
                format!(
                    "The job token is valid, but {project} does not let jobs of {source} in \
                     (GitLab: \"{said}\"): {source} is not on the job token allowlist of \
                     {target} (GitLab says the same when it is, but {who} cannot read \
                     {project})."
                ),
                format!(
                    "A Maintainer of {project} adds {source} under Settings > CI/CD > Job token \
                     permissions > CI/CD job token allowlist > Add (REST: POST \
                     /api/v4/projects/<{project} id>/job_token_scope/allowlist with \
                     target_project_id=<id of {source}>); check that {who} is a member of \
                     {project}."
                ),
                ALLOWLIST_DOCS,
            )
        }
        403 if said.contains("token permission") || said.contains("unauthorized for CI/CD job") => {
            let required = said
                .rsplit("required: ")
                .next()
                .filter(|_| said.contains("required: "))
                .map(|r| r.trim_end_matches('.').to_owned())
                .unwrap_or_else(|| k.permissions.clone());
            finding(
                Reason::InsufficientScope,
                format!(
                    "The job token is allowed into {project}, but the allowlist entry's \
                     fine-grained permissions do not include {} (GitLab: \"{said}\").",
                    if required.is_empty() {
                        "this route"
                    } else {
                        &required
                    }
                ),
                format!(
                    "A Maintainer of {project} edits the job's project in Settings > CI/CD > Job \
                     token permissions > CI/CD job token allowlist: grant {}, or switch the \
                     entry to default permissions.",
                    if required.is_empty() {
                        "the permission"
                    } else {
                        &required
                    }
                ),
                FINE_GRAINED_DOCS,
            )
        }
        403 if insufficient_scope(response).is_some() => {
            let needed = insufficient_scope(response)
                .unwrap_or_default()
                .replace(' ', ", ");
            let have = ctx
                .facts
                .scopes
                .as_ref()
                .map_or_else(|| "unknown".to_owned(), |s| s.join(", "));
            finding(
                Reason::InsufficientScope,
                format!(
                    "The token is valid, but {line} needs one of the scopes {needed} (GitLab: \
                     insufficient_scope); the token has {have}."
                ),
                format!(
                    "Create a token with {} and replace this one.",
                    k.scopes.first().copied().unwrap_or("api")
                ),
                SCOPES_DOCS,
            )
        }
        403 if said == "403 Forbidden" => finding(
            Reason::InsufficientRole,
            format!(
                "The token gets into {project}, but {who} lacks the role {line} needs (GitLab: \
                 \"403 Forbidden\")."
            ),
            format!(
                "Give {who} a higher role in {project} (Reporter reads packages, repositories \
                 and releases; writes need Developer or more)."
            ),
            MEMBERS_DOCS,
        ),
        404 if said.contains("Project Not Found")
            || (said == "404 Not Found" && k.project.is_some()) =>
        {
            let hidden = if job {
                format!(
                    ", or this GitLab hides it from the job token because the job's project is \
                     not on {project}'s job token allowlist (older versions, and package \
                     managers, answer 404 for that)"
                )
            } else {
                format!(", or {who} is not a member of it")
            };
            finding(
                Reason::ProjectNotFound,
                format!(
                    "GitLab cannot find {project} for this token{quote}: it does not exist{hidden}."
                ),
                if job {
                    format!(
                        "Check the project's id or path; then a Maintainer of {project} adds the \
                         job's project to its job token allowlist."
                    )
                } else {
                    format!("Check the project's id or path; then add {who} to {project}.")
                },
                if job { ALLOWLIST_DOCS } else { MEMBERS_DOCS },
            )
        }
        _ => finding(
            Reason::Unverifiable,
            format!(
                "GitLab answered {line} with {status}{quote}, which does not say whether this \
                 token may make it."
            ),
            "Check the path (GitLab answers 404 {\"error\":\"404 Not Found\"} for a route it does \
             not have) and the request's parameters."
                .into(),
            API_DOCS,
        ),
    };
    // A route of the newer list on an older GitLab ignores the job token: anonymous answers.
    let older =
        job && matches!(status, 401 | 404) && k.found.as_ref().is_some_and(|m| m.route.newer);
    if let Some(f) = found.as_mut().filter(|_| older) {
        f.summary.push_str(
            " Also: GitLab accepts job tokens on this route only from its 19.1 development line; \
             an older GitLab ignores the job token here and answers as for an anonymous request.",
        );
    }
    found
}

impl Diagnosis {
    /// Adds the request's finding and note, and takes the primary reason again.
    pub fn add_request(&mut self, explained: &Explained) {
        // Findings stay ordered by group (invalid, requirement, undetermined): the new one goes
        // after the last of its group or a more serious one.
        let rank = |f: &Finding| match f.reason.group() {
            Group::Invalid => 0,
            Group::Requirement => 1,
            Group::Undetermined => 2,
            Group::Fine => 3,
        };
        if let Some(finding) = explained.finding.clone() {
            let at = self
                .findings
                .iter()
                .position(|f| rank(f) > rank(&finding))
                .unwrap_or(self.findings.len());
            self.findings.insert(at, finding);
        }
        self.notes.extend(explained.note.clone());
        self.reason = self.findings.first().map_or(Reason::Ok, |f| f.reason);
        self.docs = self.findings.first().map_or(self.kind.docs(), |f| f.docs);
    }
}

#[cfg(test)]
mod tests;
