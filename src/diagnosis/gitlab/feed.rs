//! Feed tokens.

use super::Said;
use super::answers::{read, unexpected};
use crate::diagnosis::{Facts, Finding, Situation};
use crate::probe::http::{Body, Exchange};
use crate::reason::Reason;
use crate::token::Kind;

/// Feed tokens: a feed that needs a signed-in user.
pub(super) fn feed(x: &Exchange, sit: &Situation<'_>) -> Said {
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
