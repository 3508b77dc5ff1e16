//! The audit's view of GitLab's REST API: paced GETs with the audit token, lists read page by
//! page through `Link: rel="next"` until it is absent (never from totals, which GitLab omits
//! above 10,000), and GitLab's refusals sorted into what they mean for the audit.
//!
//! Every request goes through a [`Client`] built with `get_only`: the HTTP layer refuses any
//! other method without sending a byte.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::pace::Pacer;
use crate::probe::http::{Body, Client, Credential, FailureKind, Method, Request, Response};
use crate::token::Token;

/// How GitLab refused a request, as the audit reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 401 or 403: the identity lacks the role (401 is how access-token lists say it).
    Denied(u16),
    /// 404: not there, or not visible.
    NotFound,
    /// 429 with a wait that did not fit the deadline, or retries used up.
    RateLimited,
    /// Anything else: 5xx, network, TLS, a body that is not GitLab's.
    Failed(String),
}

impl Refusal {
    /// What happened, for a `not_inspectable` message.
    pub fn describe(&self) -> String {
        match self {
            Refusal::Denied(status) => format!("GitLab answered {status}"),
            Refusal::NotFound => "GitLab answered 404".to_owned(),
            Refusal::RateLimited => {
                "GitLab's rate limit refused it past what the deadline allows".to_owned()
            }
            Refusal::Failed(why) => format!("no usable answer ({why})"),
        }
    }
}

/// The audit's client: the HTTP client, the audit token and how it travels, the pacer and
/// the counters shown in progress and in the summary.
pub struct Api<'a> {
    client: Client,
    token: &'a Token,
    bearer: bool,
    deadline: std::time::Instant,
    pacer: Pacer,
    requests: AtomicU64,
    rate_limited: AtomicU64,
}

impl<'a> Api<'a> {
    /// The API over this client. `bearer`: send the token as `Authorization: Bearer` (OAuth)
    /// instead of `PRIVATE-TOKEN`.
    pub fn new(
        client: Client,
        token: &'a Token,
        bearer: bool,
        workers: usize,
        deadline: std::time::Instant,
    ) -> Api<'a> {
        Api {
            client,
            token,
            bearer,
            deadline,
            pacer: Pacer::new(workers, deadline),
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
        }
    }

    /// Requests sent so far (retries included).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// Waits so far: pacing turns and 429s.
    pub fn waits(&self) -> u64 {
        self.pacer.waits() + self.rate_limited.load(Ordering::Relaxed)
    }

    /// 429 answers that ended a request.
    pub fn rate_limited(&self) -> u64 {
        self.rate_limited.load(Ordering::Relaxed)
    }

    /// One GET of a path below the base URL (query string included).
    pub fn get(&self, path: &str) -> Result<Response, Refusal> {
        if std::time::Instant::now() >= self.deadline {
            return Err(Refusal::Failed(
                "the --deadline came before this list was read".to_owned(),
            ));
        }
        if !self.pacer.before() {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Err(Refusal::RateLimited);
        }
        let credential = if self.bearer {
            Credential::Bearer(self.token)
        } else {
            Credential::Header {
                name: "PRIVATE-TOKEN",
                token: self.token,
            }
        };
        let request = Request {
            method: Method::Get,
            path: path.to_owned(),
            query: Vec::new(),
            form: Vec::new(),
            credential,
        };
        let exchange = self.client.send(&request);
        self.requests
            .fetch_add(u64::from(exchange.attempts.max(1)), Ordering::Relaxed);
        let response = match exchange.outcome {
            Ok(response) => response,
            Err(failure) if failure.kind == FailureKind::RateLimited => {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
                return Err(Refusal::RateLimited);
            }
            Err(failure) => return Err(Refusal::Failed(failure.detail)),
        };
        if response.status != 429 {
            // A 429's wait is the HTTP layer's (it holds every request back until then).
            self.pacer.observe(&response.rate_limit, unix_now());
        }
        match response.status {
            200..=299 => Ok(response),
            401 | 403 => Err(Refusal::Denied(response.status)),
            404 => Err(Refusal::NotFound),
            429 => {
                self.rate_limited.fetch_add(1, Ordering::Relaxed);
                Err(Refusal::RateLimited)
            }
            status => Err(Refusal::Failed(format!("HTTP {status}"))),
        }
    }

    /// One JSON object.
    pub fn object(&self, path: &str) -> Result<Value, Refusal> {
        match self.get(path)?.body {
            Body::Json(value @ Value::Object(_)) => Ok(value),
            _ => Err(Refusal::Failed(
                "the answer is not a JSON object".to_owned(),
            )),
        }
    }

    /// Every item of a list, page by page, each handed to `each` as it arrives (nothing of a
    /// page is kept after it). A first page too large for the HTTP layer's cap is asked again
    /// in pages of 20.
    ///
    /// `Link: rel="next"` is followed while it points at `--url`. GitLab writes its own
    /// configured host into that link, which may not be the URL given; so a full page without
    /// a link we may follow is not taken as the end: the next page is asked for by number (or,
    /// for keyset lists, after the last id), and an empty page ends the list. That costs one
    /// request for lists whose length is a multiple of the page size.
    pub fn list(&self, path: &str, mut each: impl FnMut(Value)) -> Result<(), Refusal> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let keyset = path.contains("pagination=keyset");
        let mut per_page = 100;
        let mut next = Some(format!("{path}{sep}per_page={per_page}"));
        let mut received = 0;
        // A hostile or confused server can loop (a next page pointing back) or repeat items
        // across offset pages (items deleted mid-walk): pages are fetched once, items seen once.
        let mut fetched = std::collections::HashSet::new();
        let mut seen = std::collections::HashSet::new();
        while let Some(page) = next.take() {
            if received >= MAX_PAGES {
                return Err(Refusal::Failed(format!(
                    "the list goes on past {MAX_PAGES} pages: not read to its end"
                )));
            }
            if !fetched.insert(page.clone()) {
                return Err(Refusal::Failed(
                    "GitLab's next page points back at a page already read".to_owned(),
                ));
            }
            let response = match self.get(&page) {
                Err(Refusal::Failed(why))
                    if why.contains("larger than") && received == 0 && per_page == 100 =>
                {
                    per_page = 20;
                    next = Some(format!("{path}{sep}per_page={per_page}"));
                    continue;
                }
                other => other?,
            };
            let Body::Json(Value::Array(items)) = response.body else {
                return Err(Refusal::Failed("the answer is not a JSON list".to_owned()));
            };
            received += 1;
            let full = items.len() >= per_page;
            let last_id = items
                .last()
                .and_then(|i| i.get("id"))
                .and_then(Value::as_u64);
            let mut fresh = 0;
            for item in items {
                let id = item.get("id").and_then(Value::as_u64);
                if id.is_none_or(|id| seen.insert(id)) {
                    fresh += 1;
                    each(item);
                }
            }
            if fresh == 0 && received > 1 {
                // A whole page of items already read: the list goes round.
                break;
            }
            next = response.next_page.or_else(|| {
                full.then(|| match (keyset, last_id) {
                    (true, Some(id)) => format!("{path}{sep}per_page={per_page}&id_after={id}"),
                    (true, None) => String::new(),
                    (false, _) => {
                        format!("{path}{sep}per_page={per_page}&page={}", received + 1)
                    }
                })
                .filter(|p| !p.is_empty())
            });
        }
        Ok(())
    }
}

/// The most pages one list may have: a million items at 100 a page, far past any real group.
const MAX_PAGES: usize = 10_000;

/// Now, in Unix seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
