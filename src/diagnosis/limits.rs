//! GitLab's rate limits: a 429 is never a verdict on the token, but it says when to ask again.

use super::{Finding, Situation};
use crate::date::format_utc;
use crate::probe::http::{Body, Exchange};
use crate::reason::Reason;

pub const RATE_LIMIT_DOCS: &str = "https://docs.gitlab.com/security/rate_limits/";

/// The finding for a request that GitLab's rate limiter refused (a 429 that was not retried
/// to success), or that was not sent because a wait GitLab asked for did not fit in the time
/// left.
pub fn rate_limited(x: &Exchange, sit: &Situation<'_>) -> Finding {
    let request = format!("{} {}", x.method.as_str(), x.path);
    let response = x.outcome.as_ref().ok();
    let limit = response.map(|r| &r.rate_limit);
    let which = match limit.and_then(|l| l.name.as_deref()) {
        Some(name) => format!("GitLab's rate limit {name}"),
        None if response.is_some_and(is_application_limit) => {
            "GitLab's application rate limit for this endpoint".to_owned()
        }
        None => "GitLab's rate limit".to_owned(),
    };
    let wait = x
        .rate_limit_wait
        .or_else(|| limit.and_then(|l| l.wait(sit.now)));
    let when = match wait {
        Some(wait) => {
            let at = sit
                .now
                .saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX));
            format!("after {} (in {} s)", format_utc(at), wait.as_secs())
        }
        None => "in a minute or two (GitLab named no time)".to_owned(),
    };
    let answered = if response.is_some() {
        format!("answered {request} with 429")
    } else {
        format!("had already refused this run, so {request} was not sent")
    };
    let quota = match limit.and_then(|l| l.limit) {
        Some(n) => format!(" (a quota of {n} requests a minute)"),
        None => String::new(),
    };
    Finding::new(
        Reason::RateLimited,
        format!(
            "{which}{quota} {answered}; GitLab asks not to be called again before then, and \
             glprobe does not ask early. This says nothing about the token."
        ),
        format!(
            "Run again {when}. If this recurs, space out the jobs that call GitLab with the \
             same user or from the same address."
        ),
        RATE_LIMIT_DOCS,
    )
}

/// GitLab's application limiter (`lib/api/helpers/rate_limiter.rb`): a JSON 429 without
/// `Retry-After`, "This endpoint has been requested too many times. Try again later."
fn is_application_limit(response: &crate::probe::http::Response) -> bool {
    matches!(&response.body, Body::Json(v) if v.to_string().contains("requested too many times"))
}
