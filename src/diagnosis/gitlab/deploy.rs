//! Deploy tokens.

use super::answers::{read, registry_error, unexpected};
use super::{RATE_LIMIT_DOCS, Said};
use crate::diagnosis::{Facts, Finding, Situation};
use crate::probe::http::Exchange;
use crate::reason::Reason;
use crate::token::Kind;

/// Deploy tokens: the registry's token endpoint with basic auth.
pub(super) fn deploy(x: &Exchange, sit: &Situation<'_>) -> Said {
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
