//! GitLab's admin token API, which identifies any prefixed token.

use serde_json::Value;

use super::answers::{json, message, read, str_field, strings, u64_field, unexpected};
use super::{ADMIN_DOCS, Said, USERS_DOCS};
use crate::date::Day;
use crate::diagnosis::{Facts, Finding, Situation};
use crate::probe::http::Exchange;
use crate::reason::Reason;
use crate::token::Kind;

/// The admin token API: it identifies any prefixed token, expired and revoked ones included.
pub(super) fn admin(x: &Exchange, kind: Kind, sit: &Situation<'_>) -> Said {
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
