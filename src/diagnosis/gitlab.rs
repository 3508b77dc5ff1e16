//! Reading GitLab's answers: status, JSON body and `WWW-Authenticate`, per check.
//!
//! The rule that governs everything here: only an answer that is recognisably GitLab's own
//! refusal makes a token invalid. A network failure, a TLS error, a 5xx, a 429, a redirect, an
//! HTML page or a body of an unexpected shape leaves the validity unknown. The bodies quoted are
//! those of GitLab's source (reference note, sections 3 and 4).

use serde_json::Value;

use super::limits::RATE_LIMIT_DOCS;
use super::{Facts, Finding, Requirements, SCOPES_DOCS, Situation};
use crate::classify::Classification;
use crate::date::Day;
use crate::probe::http::{Body, Exchange, FailureKind, Response};
use crate::probe::{Answer, Check, is_path_dependent_feed};
use crate::reason::{Reason, Validity};
use crate::token::Kind;

const API_DOCS: &str = "https://docs.gitlab.com/api/rest/";
const TLS_DOCS: &str = "https://docs.gitlab.com/runner/configuration/tls-self-signed/";
const USERS_DOCS: &str = "https://docs.gitlab.com/administration/moderate_users/";
const ADMIN_DOCS: &str = "https://docs.gitlab.com/api/admin/token/";
const ALLOWLIST_DOCS: &str = "https://docs.gitlab.com/ci/jobs/ci_job_token/#add-a-group-or-project-to-the-job-token-allowlist";
const FINE_GRAINED_DOCS: &str = "https://docs.gitlab.com/ci/jobs/fine_grained_permissions/";
const MEMBERS_DOCS: &str = "https://docs.gitlab.com/user/project/members/";

/// What GitLab's answers say about the token itself.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Valid, invalid, or unknown.
    pub validity: Validity,
    /// The kind GitLab confirmed, when it narrowed the classification.
    pub kind: Option<Kind>,
    /// The owner of an access token was seen (so project/group tokens are told apart).
    pub owner_known: bool,
    /// The problem, if any.
    pub finding: Option<Finding>,
    /// Facts GitLab reported.
    pub facts: Facts,
    /// Notes worth telling.
    pub notes: Vec<String>,
}

/// What one kind's checks concluded.
enum Said {
    Accepted {
        kind: Kind,
        facts: Box<Facts>,
        notes: Vec<String>,
        owner_known: bool,
    },
    Rejected(Finding),
    Undetermined(Finding),
}

impl Said {
    fn accepted(kind: Kind, facts: Facts) -> Said {
        Said::Accepted {
            kind,
            facts: Box::new(facts),
            notes: Vec::new(),
            owner_known: !kind.is_access_token(),
        }
    }

    fn accepted_with_note(kind: Kind, facts: Facts, note: String) -> Said {
        Said::Accepted {
            kind,
            facts: Box::new(facts),
            notes: vec![note],
            owner_known: !kind.is_access_token(),
        }
    }
}

/// Reads the answers for the token's kind (or every candidate kind).
pub fn verdict(class: &Classification, answers: &[Answer], sit: &Situation<'_>) -> Verdict {
    if class.candidates.is_empty() {
        return into_verdict(evaluate(class.kind, class, answers, sit), None);
    }
    let results: Vec<(Kind, Said)> = class
        .candidates
        .iter()
        .map(|&kind| (kind, evaluate(kind, class, answers, sit)))
        .collect();
    let recognised = results.iter().position(|(_, said)| match said {
        Said::Accepted { .. } => true,
        Said::Rejected(f) => f.reason != Reason::UnknownToken,
        Said::Undetermined(_) => false,
    });
    if let Some(i) = recognised {
        let (kind, said) = results.into_iter().nth(i).expect("index in range");
        return into_verdict(said, Some(kind));
    }
    let names = |pick: fn(&Said) -> bool| -> Vec<String> {
        results
            .iter()
            .filter(|(_, s)| pick(s))
            .map(|(k, _)| k.with_article())
            .collect()
    };
    let refused = names(|s| matches!(s, Said::Rejected(_)));
    let network = results.iter().find_map(|(_, s)| match s {
        Said::Undetermined(f) if f.reason != Reason::Unverifiable => Some(f.clone()),
        _ => None,
    });
    if let Some(finding) = network {
        return into_verdict(Said::Undetermined(finding), None);
    }
    let unchecked = names(|s| matches!(s, Said::Undetermined(_)));
    let finding = if unchecked.is_empty() {
        Said::Rejected(Finding::new(
            Reason::UnknownToken,
            format!(
                "Several kinds of token look like this one, and GitLab accepts it as none of \
                 them ({}): it was mistyped, deleted, or belongs to another instance than {}.",
                refused.join(", "),
                sit.server_host
            ),
            "Check that --url is the instance that issued the token; otherwise create a new \
             token.",
            Kind::Unknown.docs(),
        ))
    } else {
        Said::Undetermined(Finding::new(
            Reason::Unverifiable,
            format!(
                "GitLab refuses it as {}; it may still be {}, which glprobe could not check.",
                if refused.is_empty() {
                    "nothing it was asked about".to_owned()
                } else {
                    refused.join(", ")
                },
                unchecked.join(" or ")
            ),
            unverified_hint(class, &results),
            Kind::Unknown.docs(),
        ))
    };
    into_verdict(finding, None)
}

fn unverified_hint(class: &Classification, results: &[(Kind, Said)]) -> String {
    let mut hints: Vec<String> = results
        .iter()
        .filter_map(|(_, s)| match s {
            // The admin token API chooses by prefix: it cannot help with a legacy shape.
            Said::Undetermined(f) if f.next != ADMIN_HINT => Some(f.next.clone()),
            _ => None,
        })
        .collect();
    hints.dedup();
    if hints.is_empty() {
        format!(
            "A token of this {} shape cannot be told apart any further; replace it with a \
             current token, whose prefix names its kind.",
            class.shape.name()
        )
    } else {
        hints.join(" ")
    }
}

fn into_verdict(said: Said, kind: Option<Kind>) -> Verdict {
    match said {
        Said::Accepted {
            kind: accepted,
            facts,
            notes,
            owner_known,
        } => Verdict {
            validity: Validity::Valid,
            kind: Some(accepted),
            owner_known,
            finding: None,
            facts: *facts,
            notes,
        },
        Said::Rejected(finding) => Verdict {
            validity: Validity::Invalid,
            kind,
            finding: Some(finding),
            ..Verdict::default()
        },
        Said::Undetermined(finding) => Verdict {
            validity: Validity::Unknown,
            kind,
            finding: Some(finding),
            ..Verdict::default()
        },
    }
}

fn find(answers: &[Answer], check: Check) -> Option<&Exchange> {
    answers
        .iter()
        .find(|a| a.check == check)
        .map(|a| &a.exchange)
}

fn evaluate(kind: Kind, class: &Classification, answers: &[Answer], sit: &Situation<'_>) -> Said {
    if let Some(admin) = find(answers, Check::Admin) {
        return self::admin(admin, kind, sit);
    }
    match kind {
        k if k.is_access_token() => access_token(answers, sit),
        Kind::OauthAccessToken => oauth(answers, sit),
        Kind::JobToken => job(class, answers, sit),
        Kind::DeployToken => match find(answers, Check::Deploy) {
            Some(x) => deploy(x, sit),
            None => unverifiable(
                kind,
                "a deploy token can only be checked together with its user name \
                 (gitlab+deploy-token-N, or the name chosen when it was created)",
                "Pass --username NAME (CI jobs have CI_DEPLOY_USER for the deploy token named \
                 gitlab-deploy-token).",
                sit,
            ),
        },
        Kind::TriggerToken => match find(answers, Check::Trigger) {
            Some(x) => trigger(x, sit),
            None => unverifiable(
                kind,
                "a trigger token can only be checked against its project",
                "Pass --project ID_OR_PATH (CI jobs have CI_PROJECT_ID).",
                sit,
            ),
        },
        Kind::RunnerAuthenticationToken => runner(answers, sit),
        Kind::FeatureFlagsClientToken => match find(answers, Check::Unleash) {
            Some(x) => unleash(x, sit),
            None => unverifiable(
                kind,
                "a feature flags client token can only be checked against its project, by \
                 numeric id",
                "Pass --project with the project's numeric id (CI jobs have CI_PROJECT_ID).",
                sit,
            ),
        },
        Kind::FeedToken if is_path_dependent_feed(class) => unverifiable(
            kind,
            "a path-dependent feed token is only valid for the one feed URL it was made for",
            "Open that feed URL, or check the user's plain feed token instead.",
            sit,
        ),
        Kind::FeedToken => match find(answers, Check::Feed) {
            Some(x) => feed(x, sit),
            None => no_answer(kind),
        },
        Kind::OauthApplicationSecret
        | Kind::AgentToken
        | Kind::IncomingEmailToken
        | Kind::ScimToken
        | Kind::WorkspaceToken
        | Kind::RunnerRegistrationToken => unverifiable(kind, no_safe_probe(kind), ADMIN_HINT, sit),
        Kind::Unknown => Said::Undetermined(Finding::new(
            Reason::Unverifiable,
            "glprobe does not recognise this text as any kind of GitLab token, so it has no \
             question to ask GitLab.",
            "Check that the value is the token itself, not its name, a URL, or an ID token \
             meant for another service.",
            Kind::Unknown.docs(),
        )),
        _ => no_answer(kind),
    }
}

/// Why a kind has no side-effect-free probe.
fn no_safe_probe(kind: Kind) -> &'static str {
    match kind {
        Kind::OauthApplicationSecret => {
            "checking it would mean asking /oauth/token to mint a new access token"
        }
        Kind::AgentToken => "only the agent server (KAS) accepts it, over gRPC",
        Kind::IncomingEmailToken => "it only works inside incoming email addresses",
        Kind::ScimToken => {
            "only a group's SCIM provisioning API accepts it, and no read of it is harmless \
             enough to send as a test"
        }
        Kind::WorkspaceToken => "only the workspaces proxy accepts it",
        Kind::RunnerRegistrationToken => "the only endpoint that accepts it registers a runner",
        _ => "GitLab offers no read-only check for it",
    }
}

const ADMIN_HINT: &str = "Pass --admin-token-env NAME naming an administrator's personal access \
                          token: GitLab's admin token API (self-managed, 17.5+) identifies any \
                          token, expired and revoked ones included.";

fn unverifiable(kind: Kind, why: &str, next: &str, sit: &Situation<'_>) -> Said {
    let next = if next == ADMIN_HINT && sit.admin_token {
        "The admin token API supports this kind from GitLab 17.7 or 17.9 on; upgrade, or check \
         the token where it is used."
    } else {
        next
    };
    Said::Undetermined(Finding::new(
        Reason::Unverifiable,
        format!(
            "GitLab has no side-effect-free way to check {} with the token alone: {why}.",
            kind.with_article()
        ),
        next,
        kind.docs(),
    ))
}

fn no_answer(kind: Kind) -> Said {
    Said::Undetermined(Finding::new(
        Reason::Unverifiable,
        format!("No request could be made for {}.", kind.with_article()),
        "Run again with the inputs this kind needs (see glprobe --help).",
        kind.docs(),
    ))
}

/// Failures that say nothing about the token: transport, TLS, 5xx, 429, redirects, pages
/// that are not GitLab's API. `Ok` is a response the caller can interpret.
fn usable<'a>(x: &'a Exchange, sit: &Situation<'_>, json: bool) -> Result<&'a Response, Said> {
    let host = sit.server_host;
    let request = format!("{} {}", x.method.as_str(), x.path);
    let response = match &x.outcome {
        Ok(response) => response,
        Err(failure) => {
            let finding = match failure.kind {
                FailureKind::Unreachable => Finding::new(
                    Reason::Unreachable,
                    format!("GitLab at {host} could not be reached: {}.", failure.detail),
                    "Check --url, the network path and any proxy (HTTPS_PROXY, NO_PROXY), then \
                     run again; this says nothing about the token.",
                    API_DOCS,
                ),
                FailureKind::Tls => Finding::new(
                    Reason::TlsError,
                    format!("The TLS handshake with {host} failed: {}.", failure.detail),
                    "For an instance with its own CA, pass --ca-file PATH (jobs get \
                     CI_SERVER_TLS_CA_FILE from the runner); check the certificate's name and \
                     dates. This says nothing about the token.",
                    TLS_DOCS,
                ),
                FailureKind::Protocol => Finding::new(
                    Reason::ServerError,
                    format!(
                        "{host} did not give a usable HTTP answer to {request}: {}.",
                        failure.detail
                    ),
                    "Check that --url points at GitLab itself; this says nothing about the \
                     token.",
                    API_DOCS,
                ),
                FailureKind::RateLimited => super::limits::rate_limited(x, sit),
            };
            return Err(Said::Undetermined(finding));
        }
    };
    let status = response.status;
    let server_error = |summary: String, next: &str, docs| {
        Err(Said::Undetermined(Finding::new(
            Reason::ServerError,
            summary,
            next,
            docs,
        )))
    };
    if (300..400).contains(&status) {
        let to = response
            .location
            .as_deref()
            .map(|l| format!(" to {l}"))
            .unwrap_or_default();
        return server_error(
            format!(
                "GitLab answered {request} with a redirect ({status}){to}; glprobe never \
                 follows a redirect with a token."
            ),
            "Point --url at the address GitLab redirects to (https instead of http, the \
             canonical host name, the relative URL root).",
            API_DOCS,
        );
    }
    if status == 429 {
        return Err(Said::Undetermined(super::limits::rate_limited(x, sit)));
    }
    if status >= 500 {
        return server_error(
            format!(
                "GitLab answered {request} with {status}, a server-side error; this says \
                 nothing about the token."
            ),
            "Run again later; if it persists, check the instance's health and logs.",
            API_DOCS,
        );
    }
    match &response.body {
        Body::Html => server_error(
            format!(
                "{host} answered {request} ({status}) with an HTML page instead of GitLab's \
                 API: a proxy, a sign-in portal, or a --url that is not GitLab's root."
            ),
            "Check --url (the GitLab root, with any relative URL root, nothing more) and any \
             proxy in between.",
            API_DOCS,
        ),
        Body::Invalid(why) => server_error(
            format!("The answer to {request} ({status}) is not usable: {why}."),
            "Check that --url points at GitLab itself; this says nothing about the token.",
            API_DOCS,
        ),
        Body::Json(_) | Body::Empty if json => Ok(response),
        Body::Text(_) | Body::Empty if !json => Ok(response),
        _ => server_error(
            format!(
                "The answer to {request} ({status}) has an unexpected type ({}): not what \
                 GitLab's API sends.",
                if response.content_type.is_empty() {
                    "no Content-Type"
                } else {
                    &response.content_type
                }
            ),
            "Check that --url points at GitLab itself and that no proxy rewrites answers.",
            API_DOCS,
        ),
    }
}

/// Interprets an exchange whose answer is GitLab's; any other answer says nothing about the
/// token (see [`usable`]).
fn read(
    x: &Exchange,
    sit: &Situation<'_>,
    json: bool,
    interpret: impl FnOnce(&Response) -> Said,
) -> Said {
    match usable(x, sit, json) {
        Ok(response) => interpret(response),
        Err(said) => said,
    }
}

fn json(response: &Response) -> &Value {
    static NULL: Value = Value::Null;
    match &response.body {
        Body::Json(v) => v,
        _ => &NULL,
    }
}

/// `message` as text: a string, `{"base": [...]}`, or `{"error": "..."}`.
fn message(response: &Response) -> Option<String> {
    let m = json(response).get("message")?;
    match m {
        Value::String(s) => Some(s.clone()),
        Value::Object(map) => {
            let parts: Vec<String> = map
                .values()
                .flat_map(|v| match v {
                    Value::Array(items) => items
                        .iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect(),
                    Value::String(s) => vec![s.clone()],
                    _ => Vec::new(),
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        _ => None,
    }
}

/// GitLab's own bare refusal: `{"message":"401 Unauthorized"}` and its kin. A 401 or 403 in
/// any other shape may come from a proxy in front of GitLab and proves nothing.
fn says(response: &Response, status_line: &str) -> bool {
    message(response).is_some_and(|m| m.starts_with(status_line))
}

/// A list of strings, as GitLab gives scopes.
fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value.and_then(Value::as_array).map(|list| {
        list.iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    })
}

fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn u64_field(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

fn unexpected(x: &Exchange, response: &Response) -> Said {
    let said = message(response)
        .map(|m| format!(": \"{m}\""))
        .unwrap_or_default();
    Said::Undetermined(Finding::new(
        Reason::Unverifiable,
        format!(
            "GitLab answered {} {} with {}{said}, which does not settle the token's validity.",
            x.method.as_str(),
            x.path,
            response.status
        ),
        "Run again with --format json to see every request; if GitLab is older than the \
         endpoint, use --admin-token-env NAME.",
        API_DOCS,
    ))
}

/// A 401 from an API route for a personal, project, group or OAuth token: unknown, expired,
/// revoked, from the body (`error_description`) or the `WWW-Authenticate` header.
fn refused(response: &Response, kind: Kind, x: &Exchange, sit: &Situation<'_>) -> Said {
    let body = json(response);
    let description = str_field(body, "error_description").or_else(|| {
        response
            .www_authenticate
            .as_deref()
            .and_then(|h| h.split("error_description=\"").nth(1))
            .and_then(|rest| rest.split('"').next())
            .map(str::to_owned)
    });
    let error = str_field(body, "error");
    let quote = |d: &str| format!("GitLab: \"{d}\"");
    match (error.as_deref(), description.as_deref()) {
        (Some("invalid_token"), Some(d)) if d.contains("expired") => Said::Rejected(Finding::new(
            Reason::Expired,
            format!("The token has expired ({}).", quote(d)),
            "Create a new token (or rotate this one in GitLab) and update every variable that \
             holds it.",
            kind.docs(),
        )),
        (Some("invalid_token"), Some(d)) if d.contains("revoked") => Said::Rejected(Finding::new(
            Reason::Revoked,
            format!("The token was revoked ({}).", quote(d)),
            "A revoked token cannot be restored: create a new one and update every \
                 variable that holds it.",
            kind.docs(),
        )),
        (Some("invalid_token"), Some(d)) if d.contains("impersonation") => {
            Said::Rejected(Finding::new(
                Reason::Revoked,
                format!(
                    "It is an impersonation token, and impersonation is disabled on this \
                     instance ({}).",
                    quote(d)
                ),
                "Ask an administrator to allow impersonation tokens, or use a personal access \
                 token.",
                USERS_DOCS,
            ))
        }
        (Some("invalid_token"), d) => Said::Rejected(Finding::new(
            Reason::UnknownToken,
            format!(
                "GitLab does not accept this token ({}): it is unknown, mistyped, deleted, or \
                 from another instance than {}.",
                quote(d.unwrap_or("invalid_token")),
                sit.server_host
            ),
            "Check that --url is the instance that issued the token; otherwise create a new \
             one.",
            kind.docs(),
        )),
        _ if message(response).is_some_and(|m| m.starts_with("401 Unauthorized")) => {
            Said::Rejected(Finding::new(
                Reason::UnknownToken,
                format!(
                    "GitLab does not know this token (\"401 Unauthorized\", without an \
                     expired or revoked description): it was mistyped, deleted, or belongs to \
                     another instance than {}.",
                    sit.server_host
                ),
                "Check that --url is the instance that issued the token; otherwise create a new \
                 one.",
                kind.docs(),
            ))
        }
        _ => unexpected(x, response),
    }
}

/// GitLab's user-state refusals (`Gitlab::Auth::UserAccessDeniedReason`, in its order): what
/// its message contains, what that says of the user, and the way out.
const USER_STATES: &[(&str, &str, &str)] = &[
    (
        "internal users",
        "is an internal GitLab user, which cannot use the API",
        "Use a token of a regular user.",
    ),
    (
        "pending approval",
        "is pending approval by an administrator",
        "An administrator must approve the account (Admin > Users > Pending approval).",
    ),
    (
        "Terms of Service",
        "has not accepted the Terms of Service",
        "Sign in to GitLab in a browser as that user and accept the terms.",
    ),
    (
        "deactivated",
        "was deactivated by an administrator",
        "Sign in to GitLab in a browser as that user to reactivate the account, or ask an \
         administrator.",
    ),
    (
        "email address is not confirmed",
        "has not confirmed its primary email address",
        "Confirm the address from GitLab's email, or have a new confirmation sent.",
    ),
    (
        "has been blocked",
        "has been blocked",
        "An administrator must unblock the account (Admin > Users), or use a token of another \
         user.",
    ),
    (
        "password expired",
        "has an expired password",
        "Sign in to GitLab in a browser as that user and set a new password.",
    ),
    (
        "unknown reason",
        "is rejected for a reason GitLab does not name",
        "Ask a GitLab administrator to look at the account.",
    ),
];

/// A 403 naming the state of the token's user.
fn user_state(response: &Response, whose: &str) -> Option<Said> {
    let m = message(response)?;
    let reason = m.strip_prefix("403 Forbidden - ")?;
    let &(_, what, next) = USER_STATES
        .iter()
        .find(|(needle, _, _)| reason.contains(needle))?;
    Some(Said::Rejected(Finding::new(
        Reason::UserBlocked,
        format!("The token is genuine, but {whose} {what} (GitLab: \"{m}\")."),
        next,
        USERS_DOCS,
    )))
}

fn insufficient_scope(response: &Response) -> Option<String> {
    let body = json(response);
    (str_field(body, "error").as_deref() == Some("insufficient_scope"))
        .then(|| str_field(body, "scope").unwrap_or_default())
}

/// Personal, project and group access tokens: `/personal_access_tokens/self` for validity,
/// scopes and expiry; `/user` (concurrently) for the owner, bot or not.
fn access_token(answers: &[Answer], sit: &Situation<'_>) -> Said {
    let owner = find(answers, Check::PatUser).and_then(|x| match usable(x, sit, true) {
        Ok(r) if r.status == 200 => Some(json(r).clone()),
        _ => None,
    });
    let owner_hidden = find(answers, Check::PatUser)
        .and_then(|x| x.outcome.as_ref().ok())
        .and_then(insufficient_scope);
    let Some(x) = find(answers, Check::PatSelf) else {
        return no_answer(Kind::PersonalAccessToken);
    };
    read(x, sit, true, |response| {
        let kind = Kind::PersonalAccessToken;
        match response.status {
            200 => {
                let body = json(response);
                let mut facts = Facts {
                    name: str_field(body, "name"),
                    scopes: strings(body.get("scopes")),
                    user_id: u64_field(body, "user_id"),
                    last_used_at: str_field(body, "last_used_at"),
                    ..Facts::default()
                };
                match body.get("expires_at") {
                    Some(Value::Null) => facts.never_expires = true,
                    Some(Value::String(d)) => facts.expires_at = Day::parse(d),
                    _ => {}
                }
                if body.get("revoked") == Some(&Value::Bool(true)) {
                    return Said::Rejected(Finding::new(
                        Reason::Revoked,
                        "GitLab reports the token as revoked.",
                        "Create a new token and update every variable that holds it.",
                        kind.docs(),
                    ));
                }
                owned(facts, owner.as_ref(), owner_hidden)
            }
            // Before GitLab 15.5 there is no /self: the owner lookup decides alone.
            404 => match find(answers, Check::PatUser) {
                Some(user) => match usable(user, sit, true) {
                    Ok(r) if r.status == 200 => {
                        let mut said = owned(Facts::default(), owner.as_ref(), None);
                        if let Said::Accepted { notes, .. } = &mut said {
                            notes.push(
                                "This GitLab has no /personal_access_tokens/self (before 15.5): \
                             scopes and expiry are unknown."
                                    .to_owned(),
                            );
                        }
                        said
                    }
                    Ok(r) if r.status == 401 => refused(r, kind, user, sit),
                    Ok(r) if r.status == 403 => user_state(r, "its user")
                        .or_else(|| {
                            insufficient_scope(r)
                                .map(|needed| owned(Facts::default(), None, Some(needed)))
                        })
                        .unwrap_or_else(|| unexpected(user, r)),
                    Ok(r) => unexpected(user, r),
                    Err(said) => said,
                },
                None => unexpected(x, response),
            },
            401 => refused(response, kind, x, sit),
            403 => user_state(response, "its user").unwrap_or_else(|| unexpected(x, response)),
            _ => unexpected(x, response),
        }
    })
}

/// An accepted access token, told apart as personal, project or group by its owner.
fn owned(mut facts: Facts, owner: Option<&Value>, owner_hidden: Option<String>) -> Said {
    let Some(user) = owner else {
        let mut notes = Vec::new();
        if let Some(needed) = owner_hidden {
            notes.push(format!(
                "Its owner could not be looked up (GET /api/v4/user needs one of: {}), so it \
                 may also be a project or group access token.",
                if needed.is_empty() {
                    "read_user, read_api, api".to_owned()
                } else {
                    needed.replace(' ', ", ")
                }
            ));
        }
        return Said::Accepted {
            kind: Kind::PersonalAccessToken,
            facts: Box::new(facts),
            notes,
            owner_known: false,
        };
    };
    let username = str_field(user, "username").unwrap_or_default();
    let bot = user.get("bot").and_then(Value::as_bool).unwrap_or(false);
    facts.user = Some(username.clone());
    facts.user_id = u64_field(user, "id").or(facts.user_id);
    facts.bot = Some(bot);
    facts.admin = user.get("is_admin").and_then(Value::as_bool);
    let kind = match (bot, bot_resource(&username)) {
        (true, Some(("project", id))) => {
            facts.project_id = Some(id);
            Kind::ProjectAccessToken
        }
        (true, Some(("group", id))) => {
            facts.group_id = Some(id);
            Kind::GroupAccessToken
        }
        _ => Kind::PersonalAccessToken,
    };
    Said::Accepted {
        kind,
        facts: Box::new(facts),
        notes: Vec::new(),
        owner_known: true,
    }
}

/// `project_<id>_bot_<hex>` or `group_<id>_bot…`: the bot users of project and group tokens.
fn bot_resource(username: &str) -> Option<(&str, u64)> {
    let (resource, rest) = username.split_once('_')?;
    let (id, rest) = rest.split_once('_')?;
    if !matches!(resource, "project" | "group") || !rest.starts_with("bot") {
        return None;
    }
    Some((resource, id.parse().ok()?))
}

/// OAuth access tokens: `/oauth/token/info`; when refused, `/api/v4/user` says why.
fn oauth(answers: &[Answer], sit: &Situation<'_>) -> Said {
    let kind = Kind::OauthAccessToken;
    let Some(x) = find(answers, Check::OauthInfo) else {
        return no_answer(kind);
    };
    read(x, sit, true, |response| match response.status {
        200 => {
            let body = json(response);
            let scopes = strings(body.get("scope").or_else(|| body.get("scopes")));
            let expires_in = body
                .get("expires_in_seconds")
                .or_else(|| body.get("expires_in"))
                .and_then(Value::as_i64);
            let mut facts = Facts {
                scopes,
                user_id: u64_field(body, "resource_owner_id"),
                application_id: body.get("application").and_then(|a| str_field(a, "uid")),
                ..Facts::default()
            };
            match expires_in {
                Some(seconds) => {
                    facts.expires_at_unix = Some(sit.now + seconds);
                    facts.expires_at = Some(Day::from_unix(sit.now + seconds));
                }
                None => facts.never_expires = true,
            }
            Said::accepted(kind, facts)
        }
        400 | 401
            if matches!(
                str_field(json(response), "error").as_deref(),
                Some("invalid_token" | "invalid_request")
            ) =>
        {
            match find(answers, Check::OauthUser).map(|u| (u, usable(u, sit, true))) {
                Some((_, Ok(r))) if r.status == 200 => Said::accepted_with_note(
                    kind,
                    Facts::default(),
                    "/oauth/token/info refused it, but the API accepts it.".to_owned(),
                ),
                Some((u, Ok(r))) if r.status == 401 => refused(r, kind, u, sit),
                Some((_, Ok(r))) if r.status == 403 => user_state(r, "its user")
                    .unwrap_or_else(|| Said::accepted(kind, Facts::default())),
                _ => Said::Rejected(Finding::new(
                    Reason::UnknownToken,
                    format!(
                        "GitLab does not accept this OAuth token (\"{}\"): it is unknown, expired \
                     (they last two hours by default) or revoked.",
                        str_field(json(response), "error_description")
                            .unwrap_or_else(|| "invalid_token".to_owned())
                    ),
                    "Refresh it with the application's refresh token, or authorize the application \
                 again.",
                    kind.docs(),
                )),
            }
        }
        _ => unexpected(x, response),
    })
}

/// Job tokens: `/api/v4/job`; when refused, the trigger probe or the JWT says why.
fn job(class: &Classification, answers: &[Answer], sit: &Situation<'_>) -> Said {
    let kind = Kind::JobToken;
    let Some(x) = find(answers, Check::Job) else {
        return no_answer(kind);
    };
    read(x, sit, true, |response| match response.status {
        200 => {
            let body = json(response);
            let pipeline = body.get("pipeline").unwrap_or(&Value::Null);
            let user = body.get("user").unwrap_or(&Value::Null);
            let facts = Facts {
                job_id: u64_field(body, "id"),
                job_status: str_field(body, "status"),
                job_url: str_field(body, "web_url"),
                pipeline_id: u64_field(pipeline, "id"),
                project_id: u64_field(pipeline, "project_id"),
                user: str_field(user, "username"),
                user_id: u64_field(user, "id"),
                ..Facts::default()
            };
            Said::accepted_with_note(
                kind,
                facts,
                "Send it as a JOB-TOKEN header (or as the password of user gitlab-ci-token): \
                 GitLab ignores job tokens in PRIVATE-TOKEN, and only some endpoints accept them \
                 at all, so a 401 elsewhere may say nothing about the token."
                    .to_owned(),
            )
        }
        401 if says(response, "401 Unauthorized") => job_refused(class, answers, sit),
        403 => user_state(response, "the job's user").unwrap_or_else(|| unexpected(x, response)),
        _ => unexpected(x, response),
    })
}

fn job_refused(class: &Classification, answers: &[Answer], sit: &Situation<'_>) -> Said {
    let kind = Kind::JobToken;
    let job = class
        .job
        .as_ref()
        .and_then(|j| j.job_id)
        .map(|id| format!("job {id}"))
        .unwrap_or_else(|| "its job".to_owned());
    let not_running = |why: &str| {
        Said::Rejected(Finding::new(
            Reason::JobNotRunning,
            format!(
                "The token is a genuine job token, but {job} {why}: GitLab only accepts a job \
                 token while its job runs."
            ),
            "Use the CI_JOB_TOKEN of a job that is running now; for work after the job, use a \
             project access token.",
            kind.docs(),
        ))
    };
    if let Some(t) = find(answers, Check::JobTrigger)
        && let Ok(r) = usable(t, sit, true)
    {
        let said = message(r).unwrap_or_default();
        match (r.status, said.as_str()) {
            (401, m) if m.contains("not running") => return not_running("is no longer running"),
            (401, m) if m.contains("erased") => return not_running("has been erased"),
            (401, m) if m.contains("deleted") => {
                return not_running("belongs to a deleted project");
            }
            (401, m) if m.contains("expired") => {
                return Said::Rejected(Finding::new(
                    Reason::Expired,
                    format!("The job token of {job} has expired (GitLab: \"{m}\")."),
                    "Job tokens cannot be renewed: use the CI_JOB_TOKEN of a running job.",
                    kind.docs(),
                ));
            }
            (404, _) => {
                return Said::Rejected(Finding::new(
                    Reason::UnknownToken,
                    format!(
                        "GitLab does not know this job token: it is not a job token of {}, or \
                         it was mistyped (or the project used to check it does not exist).",
                        sit.server_host
                    ),
                    "Check that --url is the instance that ran the job, and that the value is \
                     the job's CI_JOB_TOKEN.",
                    kind.docs(),
                ));
            }
            _ => {}
        }
    }
    if let Some(claims) = &class.job {
        let host = host_name(sit.server_host);
        if let Some(iss) = claims
            .issuer
            .as_deref()
            .filter(|iss| !iss.eq_ignore_ascii_case(host))
        {
            return Said::Rejected(Finding::new(
                Reason::UnknownToken,
                format!(
                    "This job token was issued by {iss}, but --url points at {}: GitLab only \
                     accepts its own job tokens.",
                    sit.server_host
                ),
                format!("Run glprobe with --url https://{iss} (CI jobs have CI_SERVER_URL)."),
                kind.docs(),
            ));
        }
        return not_running(
            "has finished, was cancelled or erased (the token is refused before its expiry)",
        );
    }
    Said::Rejected(Finding::new(
        Reason::UnknownToken,
        "GitLab refuses this job token: either its job is no longer running, or it is not a \
         job token of this instance."
            .to_owned(),
        "Pass --project with the job's project to tell the two apart; a job token only works \
         while its job runs."
            .to_owned(),
        kind.docs(),
    ))
}

/// The host of `host[:port]` or `[v6]:port`, as GitLab writes it in a JWT's `iss`.
fn host_name(authority: &str) -> &str {
    match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    }
}

fn registry_error(response: &Response) -> Option<String> {
    json(response)
        .get("errors")?
        .as_array()?
        .first()
        .and_then(|e| str_field(e, "code"))
}

/// Deploy tokens: the registry's token endpoint with basic auth.
fn deploy(x: &Exchange, sit: &Situation<'_>) -> Said {
    let kind = Kind::DeployToken;
    read(x, sit, true, |response| {
        let username = sit.username.unwrap_or_default();
        let facts = || Facts {
            user: Some(username.to_owned()),
            ..Facts::default()
        };
        match (response.status, registry_error(response).as_deref()) {
            (200, _) => Said::accepted(kind, facts()),
            (403, Some("DENIED")) => Said::accepted_with_note(
                kind,
                facts(),
                "The registry refused it access (no read_registry or write_registry scope), \
                 after GitLab accepted the user name and token."
                    .to_owned(),
            ),
            (404, Some("UNAVAILABLE")) => Said::accepted_with_note(
                kind,
                facts(),
                "The container registry is disabled on this instance; GitLab accepted the user \
                 name and token before saying so."
                    .to_owned(),
            ),
            // CI_DEPLOY_USER names the project's gitlab-deploy-token: right for the token in
            // CI_DEPLOY_PASSWORD, a guess for any other.
            (401, Some("UNAUTHORIZED"))
                if sit.username_from_ci && sit.source.variable() != Some("CI_DEPLOY_PASSWORD") =>
            {
                Said::Undetermined(Finding::new(
                    Reason::Unverifiable,
                    format!(
                        "GitLab refuses this deploy token with the user name {username}, taken \
                         from CI_DEPLOY_USER: that is the user of the project's \
                         gitlab-deploy-token, and this token may have another."
                    ),
                    "Pass --username with this deploy token's own user name.",
                    kind.docs(),
                ))
            }
            (401, Some("UNAUTHORIZED")) => Said::Rejected(Finding::new(
                Reason::UnknownToken,
                format!(
                    "GitLab refuses the user name {username} with this deploy token: the token \
                     is unknown, expired or revoked, or {username} is not its user name."
                ),
                "Check the user name and the token's expiry in Settings > Repository > Deploy \
                 tokens; create a new deploy token if it expired.",
                kind.docs(),
            )),
            (403, None) => Said::Undetermined(Finding::new(
                Reason::ServerError,
                "The registry's token endpoint answered 403 without a registry error: this IP \
                 may be banned after repeated failed authentications (one hour)."
                    .to_owned(),
                "Wait an hour or ask an administrator to lift the ban; this says nothing about \
                 the token.",
                RATE_LIMIT_DOCS,
            )),
            _ => unexpected(x, response),
        }
    })
}

/// A refusal that only holds for the project given: with a project guessed from
/// CI_PROJECT_ID, the token may simply belong to another one.
fn refused_for_project(kind: Kind, what: &str, sit: &Situation<'_>, next: &str) -> Said {
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
fn trigger(x: &Exchange, sit: &Situation<'_>) -> Said {
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

/// Runner authentication tokens: the read-only discovery route; on older GitLab, the verify
/// route if the user allowed its write, or the admin token API.
fn runner(answers: &[Answer], sit: &Situation<'_>) -> Said {
    let kind = Kind::RunnerAuthenticationToken;
    let refused = || {
        Said::Rejected(Finding::new(
            Reason::UnknownToken,
            "GitLab does not accept this runner token: it is unknown, expired (an expired \
             runner token is treated as unknown), or its runner was deleted."
                .to_owned(),
            "Reset the runner's authentication token (or register the runner again) and update \
             its config.toml.",
            kind.docs(),
        ))
    };
    let Some(x) = find(answers, Check::RunnerDiscovery) else {
        return no_answer(kind);
    };
    let response = match x.outcome.as_ref() {
        // The discovery route answers 501 when the job router is off, after accepting the
        // token: GitLab's JSON, not a proxy's page.
        Ok(r) if r.status == 501 && says(r, "Job Router") => {
            return Said::accepted(kind, Facts::default());
        }
        _ => match usable(x, sit, true) {
            Ok(r) => r,
            Err(said) => return said,
        },
    };
    match response.status {
        200 => Said::accepted(kind, Facts::default()),
        403 if says(response, "403 Forbidden") => refused(),
        404 => match find(answers, Check::RunnerVerify) {
            Some(v) => match usable(v, sit, true) {
                Ok(r) if r.status == 200 => {
                    let body = json(r);
                    let expires = str_field(body, "token_expires_at");
                    let facts = Facts {
                        expires_at: expires.as_deref().and_then(Day::parse),
                        never_expires: expires.is_none(),
                        ..Facts::default()
                    };
                    Said::accepted_with_note(
                        kind,
                        facts,
                        "Checked with POST /api/v4/runners/verify (--allow-runner-verify): \
                         GitLab recorded it as a contact from the runner."
                            .to_owned(),
                    )
                }
                Ok(r) if r.status == 403 && says(r, "403 Forbidden") => refused(),
                Ok(r) => unexpected(v, r),
                Err(said) => said,
            },
            None => unverifiable(
                kind,
                "this GitLab has no read-only runner route (GET /api/v4/runners/router/discovery \
                 came in 18.x), and POST /api/v4/runners/verify records a contact from the runner",
                "Pass --allow-runner-verify to accept that write, or --admin-token-env NAME.",
                sit,
            ),
        },
        _ => unexpected(x, response),
    }
}

/// Feature flags client tokens: the Unleash client API of the project.
fn unleash(x: &Exchange, sit: &Situation<'_>) -> Said {
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

/// Feed tokens: a feed that needs a signed-in user.
fn feed(x: &Exchange, sit: &Situation<'_>) -> Said {
    let kind = Kind::FeedToken;
    read(x, sit, false, |response| {
        let text = match &response.body {
            Body::Text(t) => t.trim_start(),
            _ => "",
        };
        // Devise answers a feed request without a valid token with 401 in the feed's own
        // format and no challenge; a proxy's 401 asks for credentials or sends a page.
        let devise_refusal =
            response.content_type.contains("atom") && response.www_authenticate.is_none();
        match response.status {
            200 if text.starts_with("<?xml") || text.contains("<feed") => {
                Said::accepted(kind, Facts::default())
            }
            401 if devise_refusal => Said::Rejected(Finding::new(
                Reason::UnknownToken,
                "GitLab does not accept this feed token: it is unknown or was reset, its user is \
                 blocked, or feed tokens are disabled on this instance."
                    .to_owned(),
                "Copy the current feed token from User settings > Access tokens (Feed token), or \
                 reset it there.",
                kind.docs(),
            )),
            _ => unexpected(x, response),
        }
    })
}

/// The admin token API: it identifies any prefixed token, expired and revoked ones included.
fn admin(x: &Exchange, kind: Kind, sit: &Situation<'_>) -> Said {
    read(x, sit, true, |response| {
        let body = json(response);
        match response.status {
            200 => {
                if let Some(job) = body.get("job") {
                    let facts = Facts {
                        job_id: u64_field(job, "id"),
                        job_status: str_field(job, "status"),
                        ..Facts::default()
                    };
                    return Said::accepted(Kind::JobToken, facts);
                }
                let mut facts = Facts {
                    name: str_field(body, "name"),
                    user: str_field(body, "username"),
                    user_id: u64_field(body, "user_id"),
                    scopes: strings(body.get("scopes")),
                    ..Facts::default()
                };
                match body.get("expires_at") {
                    Some(Value::String(d)) => facts.expires_at = Day::parse(d),
                    Some(Value::Null) => facts.never_expires = true,
                    _ => {}
                }
                let flag = |key: &str| body.get(key) == Some(&Value::Bool(true));
                let today = Day::from_unix(sit.now);
                if flag("revoked") {
                    Said::Rejected(Finding::new(
                        Reason::Revoked,
                        format!(
                            "GitLab's admin token API reports this {} as revoked.",
                            kind.label()
                        ),
                        "A revoked token cannot be restored: create a new one.",
                        kind.docs(),
                    ))
                } else if flag("expired") || facts.expires_at.is_some_and(|d| d < today) {
                    Said::Rejected(Finding::new(
                        Reason::Expired,
                        format!(
                            "GitLab's admin token API reports this {} as expired{}.",
                            kind.label(),
                            facts
                                .expires_at
                                .map(|d| format!(" (on {d})"))
                                .unwrap_or_default()
                        ),
                        "Create a new token and update every variable that holds it.",
                        kind.docs(),
                    ))
                } else if let Some(state) = str_field(body, "state").filter(|s| s != "active") {
                    Said::Rejected(Finding::new(
                        Reason::UserBlocked,
                        format!("The token is genuine, but its user's state is {state}."),
                        "An administrator must reactivate or unblock the account (Admin > Users).",
                        USERS_DOCS,
                    ))
                } else {
                    Said::accepted_with_note(
                        kind,
                        facts,
                        "Identified with GitLab's admin token API.".to_owned(),
                    )
                }
            }
            // `{"message":{"error":"Not found"}}`: the API looked for the token. A GitLab
            // without the API (before 17.5, or its flag off) answers Grape's bare 404.
            404 if message(response).as_deref() == Some("Not found") => {
                Said::Rejected(Finding::new(
                    Reason::UnknownToken,
                    format!(
                        "GitLab's admin token API does not know this {}: it was mistyped, \
                         deleted, or belongs to another instance.",
                        kind.label()
                    ),
                    "Check that --url is the instance that issued it; otherwise create a new one.",
                    kind.docs(),
                ))
            }
            404 => Said::Undetermined(Finding::new(
                Reason::Unverifiable,
                "This GitLab has no admin token API (it came in 17.5, behind a flag until 17.8)."
                    .to_owned(),
                "Upgrade GitLab, or check the token where it is used.",
                ADMIN_DOCS,
            )),
            422 => Said::Undetermined(Finding::new(
                Reason::Unverifiable,
                format!(
                    "GitLab's admin token API does not support this kind of token on this version \
                 (\"{}\").",
                    message(response).unwrap_or_default()
                ),
                "Upgrade GitLab (the API learns kinds from 17.5 to 17.9), or check the token \
             where it is used.",
                ADMIN_DOCS,
            )),
            401 | 403 => Said::Undetermined(Finding::new(
                Reason::Unverifiable,
                format!(
                    "The administrator's token was refused ({}{}): glprobe could not ask the admin \
                 token API.",
                    response.status,
                    message(response)
                        .map(|m| format!(", \"{m}\""))
                        .unwrap_or_default()
                ),
                "Check that --admin-token-env names an administrator's personal access token with \
             the api scope, and that admin mode allows it.",
                ADMIN_DOCS,
            )),
            _ => unexpected(x, response),
        }
    })
}

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
            let (source, target) = allowlist_paths(&said);
            Some(Finding::new(
                Reason::NotAllowlisted,
                format!(
                    "The job token is valid, but project {project} does not let jobs of {source} \
                     in (GitLab: \"{said}\"): {source} is not on the job token allowlist of \
                     {target}."
                ),
                format!(
                    "A Maintainer of {target} adds {source} under Settings > CI/CD > Job token \
                     permissions > Authorized groups and projects (or with the GraphQL mutation \
                     ciJobTokenScopeAddGroupOrProject)."
                ),
                ALLOWLIST_DOCS,
            ))
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
        404 => {
            let who = match (kind, facts.user.as_deref()) {
                (Kind::JobToken, _) => "The job token".to_owned(),
                (_, Some(user)) => format!("The token's user @{user}"),
                _ => "The token's user".to_owned(),
            };
            Some(Finding::new(
                Reason::NotAllowlisted,
                format!(
                    "{who} cannot see project {project} (GitLab: \"{}\"): the project does not \
                     exist{}.",
                    if said.is_empty() { "404" } else { &said },
                    if job {
                        ", or this GitLab hides it from the job token"
                    } else {
                        ", or the user is not a member of it"
                    }
                ),
                if job {
                    "Check --project; then add the job's project to the target's job token \
                     allowlist (Settings > CI/CD > Job token permissions)."
                        .to_owned()
                } else {
                    format!(
                        "Check --project, then add the user (or the token's bot) to {project} \
                         with at least the Guest role."
                    )
                },
                if job { ALLOWLIST_DOCS } else { MEMBERS_DOCS },
            ))
        }
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
fn allowlist_paths(message: &str) -> (String, String) {
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
    fn bot_user_names() {
        assert_eq!(
            bot_resource("project_42_bot_0123456789abcdef0123456789abcdef"),
            Some(("project", 42))
        );
        assert_eq!(bot_resource("group_7_bot3"), Some(("group", 7)));
        assert_eq!(bot_resource("project_bot"), None);
        assert_eq!(bot_resource("jdoe"), None);
    }

    #[test]
    fn allowlist_message() {
        let m = "403 Forbidden - Authentication by CI/CD job token not allowed from app to infra.";
        assert_eq!(allowlist_paths(m), ("app".into(), "infra".into()));
    }
}
