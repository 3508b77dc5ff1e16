//! What comes back from GitLab: a response's body, status and headers (rate limits, the next
//! page), or why nothing usable came back. Plain data, read by the diagnosis; the client in the
//! parent module fills it in.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::Method;
use crate::scrub::Scrubber;

/// How much of a non-JSON body is kept, for the report.
const TEXT_EXCERPT_CHARS: usize = 200;

/// What a response body turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// A JSON document (declared as JSON and parsed as JSON).
    Json(Value),
    /// An HTML page: a proxy, a login page, an error page — not GitLab's API.
    Html,
    /// Other text, cut to an excerpt.
    Text(String),
    /// Nothing.
    Empty,
    /// Not decodable: invalid UTF-8, or declared JSON that does not parse.
    Invalid(&'static str),
}

impl Body {
    /// Reads a response body: JSON when declared as JSON, HTML when it is a page, else an
    /// excerpt of the text. Every text kept is scrubbed of the secrets first.
    pub fn parse(content_type: &str, bytes: &[u8], scrubber: &Scrubber) -> Body {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Body::Empty;
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Body::Invalid("the body is not valid UTF-8");
        };
        let text = scrubber.scrub(text);
        let start: String = text.trim_start().chars().take(15).collect();
        let start = start.to_ascii_lowercase();
        if content_type.starts_with("text/html")
            || start.starts_with("<!doctype html")
            || start.starts_with("<html")
        {
            return Body::Html;
        }
        if content_type.contains("json") {
            return match serde_json::from_str(&text) {
                // Scrubbed again once decoded: `\u0067lpat-…` is the token too.
                Ok(value) => Body::Json(scrubber.scrub_json(value)),
                Err(_) => Body::Invalid("the body is declared as JSON but does not parse"),
            };
        }
        Body::Text(text.chars().take(TEXT_EXCERPT_CHARS).collect())
    }
}

/// A response, as far as the diagnosis needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The `Content-Type`, lowercased, or empty.
    pub content_type: String,
    /// The `WWW-Authenticate` header.
    pub www_authenticate: Option<String>,
    /// The `Location` header of a redirect.
    pub location: Option<String>,
    /// What GitLab's rate limiter said in the headers.
    pub rate_limit: RateLimit,
    /// The `Link: <…>; rel="next"` page, as a path below the base URL (query included); `None`
    /// when absent or when it points anywhere else (the token never follows it there).
    pub next_page: Option<String>,
    /// The body.
    pub body: Body,
}

impl Response {
    /// A response with only a status, a content type and a body (no redirect, no rate-limit
    /// headers, no next page): what the diagnosis's tests build.
    pub fn new(status: u16, content_type: &str, body: Body) -> Response {
        Response {
            status,
            content_type: content_type.to_owned(),
            www_authenticate: None,
            location: None,
            rate_limit: RateLimit::default(),
            next_page: None,
            body,
        }
    }
}

/// GitLab's rate-limit headers (Rack::Attack's `RateLimit-*` and `Retry-After`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateLimit {
    /// `RateLimit-Name`: which of GitLab's throttles answered (`throttle_authenticated_api`).
    pub name: Option<String>,
    /// `RateLimit-Limit`: requests allowed per period.
    pub limit: Option<u64>,
    /// `RateLimit-Remaining`: requests left in this period.
    pub remaining: Option<u64>,
    /// `RateLimit-Reset`: when the period ends, in Unix seconds.
    pub reset: Option<i64>,
    /// `Retry-After`, in seconds or as an HTTP date, as a wait from the moment of the answer.
    pub retry_after: Option<Duration>,
}

impl RateLimit {
    /// The wait GitLab asks for: `Retry-After`, else the time until `RateLimit-Reset`.
    /// A `RateLimit-Reset` below 10^9 (before 2001) is read as a number of seconds, as some
    /// proxies send it, not as a moment long past.
    pub fn wait(&self, now_unix: i64) -> Option<Duration> {
        self.retry_after.or_else(|| {
            self.reset.map(|reset| {
                let seconds = if reset < 1_000_000_000 {
                    reset
                } else {
                    reset.saturating_sub(now_unix)
                };
                Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
            })
        })
    }
}

/// Why no response came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Refused, reset, dropped, not resolvable, or timed out.
    Unreachable,
    /// The TLS handshake failed.
    Tls,
    /// The answer was not HTTP, or too large to be GitLab's.
    Protocol,
    /// Not sent: GitLab's rate limiter asked for a wait longer than the time left.
    RateLimited,
}

/// A request that got no usable response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What went wrong.
    pub kind: FailureKind,
    /// The error's text, scrubbed of secrets.
    pub detail: String,
}

/// One request and its outcome.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The method.
    pub method: Method,
    /// The path (public; a secret query parameter is never part of it).
    pub path: String,
    /// How the token was carried.
    pub carrier: String,
    /// The response, or why there was none.
    pub outcome: Result<Response, Failure>,
    /// How many attempts were made (retries included).
    pub attempts: u32,
    /// Time from the first attempt to the end of the last.
    pub elapsed: Duration,
    /// A rate limit's wait that did not fit in the time left: the last answer is a 429 (or
    /// 503) that glprobe did not retry, since GitLab asked it to wait this long.
    pub rate_limit_wait: Option<Duration>,
}

impl Exchange {
    /// One GET and its outcome, in one attempt taking no time: what the diagnosis's tests
    /// build.
    pub fn get(path: &str, carrier: &str, outcome: Result<Response, Failure>) -> Exchange {
        Exchange {
            method: Method::Get,
            path: path.to_owned(),
            carrier: carrier.to_owned(),
            outcome,
            attempts: 1,
            elapsed: Duration::ZERO,
            rate_limit_wait: None,
        }
    }
}

pub(super) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `Retry-After` as a wait: delay-seconds, or an HTTP date (IMF-fixdate) relative to `now`.
pub(super) fn retry_after(value: &str, now: i64) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // More seconds than a u64 holds is still a wait, the longest there is.
        return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
    }
    let at = crate::date::parse_http_date(value)?;
    Some(Duration::from_secs(
        u64::try_from(at.saturating_sub(now)).unwrap_or(0),
    ))
}

/// The `rel="next"` target of a `Link` header, as a path below `base_url`: only a link on the
/// same scheme, host and root is followed.
pub(super) fn next_page(link: &str, base_url: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.trim().split_once(';')?;
        let is_next = params
            .split(';')
            .any(|p| p.trim().eq_ignore_ascii_case("rel=\"next\""));
        let url = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let path = url.strip_prefix(base_url)?;
        (is_next && path.starts_with('/')).then(|| path.to_owned())
    })
}
