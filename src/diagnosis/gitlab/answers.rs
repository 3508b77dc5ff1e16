//! Reading GitLab's answers: which failures say nothing about the token (transport, TLS, 5xx,
//! 429, redirects, pages that are not GitLab's), and the shapes of GitLab's own messages
//! (`message`, `error`/`error_description`, `WWW-Authenticate`, user states, registry errors).

use serde_json::Value;

use super::{API_DOCS, Said, TLS_DOCS, USERS_DOCS};
use crate::diagnosis::{Finding, Situation};
use crate::probe::http::{Body, Exchange, FailureKind, Response};
use crate::reason::Reason;
use crate::token::Kind;

/// Failures that say nothing about the token: transport, TLS, 5xx, 429, redirects, pages
/// that are not GitLab's API. `Ok` is a response the caller can interpret.
pub(super) fn usable<'a>(
    x: &'a Exchange,
    sit: &Situation<'_>,
    json: bool,
) -> Result<&'a Response, Said> {
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
                    tls_next(sit),
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
                FailureKind::RateLimited => crate::diagnosis::limits::rate_limited(x, sit),
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
        // Shown without its query: a sign-in front end may put state in it.
        let location = response
            .location
            .as_deref()
            .map(|l| l.split(['?', '#']).next().unwrap_or_default());
        let to = location.map(|l| format!(" to {l}")).unwrap_or_default();
        // An absolute or scheme-relative (`//host/…`) Location names a host; a path does not.
        let other_host = location
            .map(|l| l.replace('\\', "/"))
            .filter(|l| l.contains("://") || l.starts_with("//"))
            .and_then(|l| crate::classify::jwt::issuer_host(&l))
            .filter(|h| Some(h) != crate::classify::jwt::host_of(host).as_ref());
        let next = match other_host {
            Some(other) => format!(
                "{host} sends this request on to another host, {other}: a sign-in (SSO) or \
                 proxy front end, not GitLab's API, and glprobe never sends the token there. \
                 Point --url at an address where GitLab's API answers directly (ask the \
                 instance's administrators), or run glprobe from a network that reaches it."
            ),
            None => "Point --url at the address GitLab redirects to on the same host (https \
                     instead of http, the relative URL root)."
                .to_owned(),
        };
        return server_error(
            format!(
                "GitLab answered {request} with a redirect ({status}){to}; glprobe never \
                 follows a redirect with a token."
            ),
            &next,
            API_DOCS,
        );
    }
    if status == 429 {
        return Err(Said::Undetermined(crate::diagnosis::limits::rate_limited(
            x, sit,
        )));
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
pub(super) fn read(
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

pub(super) fn json(response: &Response) -> &Value {
    static NULL: Value = Value::Null;
    match &response.body {
        Body::Json(v) => v,
        _ => &NULL,
    }
}

/// `message` as text: a string, `{"base": [...]}`, or `{"error": "..."}`.
pub(super) fn message(response: &Response) -> Option<String> {
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
pub(super) fn says(response: &Response, status_line: &str) -> bool {
    message(response).is_some_and(|m| m.starts_with(status_line))
}

/// A list of strings, as GitLab gives scopes.
pub(super) fn strings(value: Option<&Value>) -> Option<Vec<String>> {
    value.and_then(Value::as_array).map(|list| {
        list.iter()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    })
}

pub(super) fn str_field(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

pub(super) fn u64_field(value: &Value, key: &str) -> Option<u64> {
    value.get(key).and_then(Value::as_u64)
}

pub(super) fn unexpected(x: &Exchange, response: &Response) -> Said {
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
pub(super) fn refused(response: &Response, kind: Kind, x: &Exchange, sit: &Situation<'_>) -> Said {
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
pub(super) const USER_STATES: &[(&str, &str, &str)] = &[
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
pub(super) fn user_state(response: &Response, whose: &str) -> Option<Said> {
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

pub(super) fn insufficient_scope(response: &Response) -> Option<String> {
    let body = json(response);
    (str_field(body, "error").as_deref() == Some("insufficient_scope"))
        .then(|| str_field(body, "scope").unwrap_or_default())
}

pub(super) fn registry_error(response: &Response) -> Option<String> {
    json(response)
        .get("errors")?
        .as_array()?
        .first()
        .and_then(|e| str_field(e, "code"))
}

/// What to do about a failed handshake, given which certificates were trusted.
fn tls_next(sit: &Situation<'_>) -> String {
    let check = "check the certificate's name and dates. This says nothing about the token.";
    match sit.ca_source {
        None => format!(
            "glprobe trusted its embedded Mozilla roots. For an instance with its own CA, pass \
             --ca-file PATH (jobs get CI_SERVER_TLS_CA_FILE from the runner); {check}"
        ),
        Some(source) => format!(
            "glprobe trusted only the certificates in {source}, which replace the embedded \
             roots: make sure they include the CA that signed {}'s certificate; {check}",
            sit.server_host
        ),
    }
}
