//! Personal, project, group and OAuth access tokens.

use serde_json::Value;

use super::answers::{
    insufficient_scope, json, read, refused, str_field, strings, u64_field, unexpected, usable,
    user_state,
};
use super::{Said, find, no_answer};
use crate::date::Day;
use crate::diagnosis::{Facts, Finding, Situation};
use crate::probe::{Answer, Check};
use crate::reason::Reason;
use crate::token::Kind;

/// Personal, project and group access tokens: `/personal_access_tokens/self` for validity,
/// scopes and expiry; `/user` (concurrently) for the owner, bot or not.
pub(super) fn access_token(answers: &[Answer], sit: &Situation<'_>) -> Said {
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
pub(super) fn owned(mut facts: Facts, owner: Option<&Value>, owner_hidden: Option<String>) -> Said {
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
pub(super) fn bot_resource(username: &str) -> Option<(&str, u64)> {
    let (resource, rest) = username.split_once('_')?;
    let (id, rest) = rest.split_once('_')?;
    if !matches!(resource, "project" | "group") || !rest.starts_with("bot") {
        return None;
    }
    Some((resource, id.parse().ok()?))
}

/// OAuth access tokens: `/oauth/token/info`; when refused, `/api/v4/user` says why.
pub(super) fn oauth(answers: &[Answer], sit: &Situation<'_>) -> Said {
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
}
