//! The HTTP layer: the only module that imports `ureq`.
//!
//! It sends [`Request`]s to the configured GitLab and returns [`Exchange`]s: what was asked,
//! which header carried the token, and what came back — a [`Response`] or a [`Failure`]. It owns
//! the rules that keep a probe safe and bounded:
//!
//! - every request shares one deadline (`--timeout`), retries included;
//! - 429, 502, 503 and 504 are retried with backoff; after a 429 nothing is sent again before
//!   GitLab's `Retry-After` (or `RateLimit-Reset`) has passed, and when that wait does not fit in
//!   the time left, the 429 is the answer at once;
//! - redirects are never followed (the token would go with them): the 3xx is returned as is;
//! - response bodies are capped, and every text kept from a response is scrubbed of the secrets;
//! - TLS goes through rustls with the embedded Mozilla roots, or the CA files the user named;
//! - `HTTPS_PROXY`/`NO_PROXY` are honoured, except for loopback servers, which never use one.
//!
//! It does not interpret responses: that is the diagnosis's work.

use std::io;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

mod answer;

pub use crate::scrub::{Scrubber, percent_encode};
use crate::token::Token;
pub use answer::{Body, Exchange, Failure, FailureKind, RateLimit, Response};
use answer::{next_page, retry_after, unix_now};

/// The most a response body may hold. GitLab's answers to the probes are a few KB.
pub const MAX_BODY_BYTES: u64 = 256 * 1024;
/// At most this many attempts per request (one try and two retries).
const MAX_ATTEMPTS: u32 = 3;
/// The first backoff step when the server gives no `Retry-After`.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// How to reach GitLab.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The base URL without a trailing slash, relative URL root included
    /// (`https://gitlab.example.com/gitlab`).
    pub base_url: String,
    /// True when the host is a loopback address: no proxy is used.
    pub loopback: bool,
    /// The budget for the whole run: no request starts, and no wait ends, after it.
    pub timeout: Duration,
    /// The most one request may take (the audit's `--timeout`); `None`: the whole budget.
    pub request_timeout: Option<Duration>,
    /// Refuse to send anything but GET (the audit): a request of another method fails without
    /// a byte sent.
    pub get_only: bool,
    /// The proxy URL (`None`: connect directly). Loopback servers never get one.
    pub proxy: Option<String>,
    /// PEM files whose certificates replace the embedded roots: `(path, contents)`.
    pub ca_files: Vec<(String, Vec<u8>)>,
}

/// The HTTP method. Probes only ever read, or POST a request designed to fail validation.
/// There is no DELETE, PUT or PATCH: glprobe cannot send one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// HEAD (an explained `--request 'HEAD …'`).
    Head,
    /// POST.
    Post,
}

impl Method {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
        }
    }
}

/// Where the token travels in a request.
#[derive(Debug, Clone, Copy)]
pub enum Credential<'t> {
    /// A header of its own: `PRIVATE-TOKEN`, `JOB-TOKEN`, `Runner-Token`, `UNLEASH-INSTANCEID`.
    Header {
        /// The header's name.
        name: &'static str,
        /// The token.
        token: &'t Token,
    },
    /// `Authorization: Bearer`.
    Bearer(&'t Token),
    /// HTTP basic authentication.
    Basic {
        /// The user name sent with it.
        username: &'t str,
        /// The token, as the password.
        token: &'t Token,
    },
    /// A query parameter (feed tokens only know this way).
    Query {
        /// The parameter's name.
        name: &'static str,
        /// The token.
        token: &'t Token,
    },
    /// A form field of a POST.
    Form {
        /// The field's name.
        name: &'static str,
        /// The token.
        token: &'t Token,
    },
    /// The admin token API: the administrator's token in `PRIVATE-TOKEN`, the token under
    /// examination in a JSON body `{"token": …}`.
    Admin {
        /// The administrator's token.
        admin: &'t Token,
        /// The token being identified.
        token: &'t Token,
    },
}

impl Credential<'_> {
    /// How the token was carried, for reports (never the value).
    pub fn carrier(&self) -> String {
        match self {
            Credential::Header { name, .. } => format!("{name} header"),
            Credential::Bearer(_) => "Authorization: Bearer".to_owned(),
            Credential::Basic { username, .. } => format!("basic auth as {username}"),
            Credential::Query { name, .. } => format!("query parameter {name}"),
            Credential::Form { name, .. } => format!("form field {name}"),
            Credential::Admin { .. } => "admin token API (JSON body)".to_owned(),
        }
    }
}

/// One request to GitLab, with everything public apart from the credential.
#[derive(Debug, Clone)]
pub struct Request<'t> {
    /// GET or POST.
    pub method: Method,
    /// The path below the base URL, already percent-encoded (`/api/v4/job`).
    pub path: String,
    /// Public query parameters.
    pub query: Vec<(&'static str, String)>,
    /// Public form fields (sent with a [`Credential::Form`]).
    pub form: Vec<(&'static str, String)>,
    /// How the token travels.
    pub credential: Credential<'t>,
}

/// The client: one agent, one deadline, the secrets to scrub, and the moment before which
/// GitLab's rate limiter asked not to be called again.
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    deadline: Instant,
    request_timeout: Option<Duration>,
    get_only: bool,
    not_before: Mutex<Option<Instant>>,
    scrubber: Scrubber,
}

impl Client {
    /// Builds the client. The deadline starts now. Fails when a CA file holds no certificate.
    pub fn new(settings: &Settings, secrets: &[&Token]) -> Result<Client, String> {
        let mut tls = TlsConfig::builder();
        if !settings.ca_files.is_empty() {
            let mut certs: Vec<Certificate<'static>> = Vec::new();
            for (path, pem) in &settings.ca_files {
                let before = certs.len();
                for item in ureq::tls::parse_pem(pem) {
                    match item {
                        Ok(PemItem::Certificate(cert)) => certs.push(cert),
                        Ok(_) => {}
                        Err(_) => {
                            return Err(format!(
                                "CA file {path} holds a PEM block that does not parse"
                            ));
                        }
                    }
                }
                if certs.len() == before {
                    return Err(format!("CA file {path} holds no PEM certificate"));
                }
            }
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("glprobe/", env!("CARGO_PKG_VERSION")))
            .accept("application/json")
            .timeout_global(Some(settings.timeout))
            .tls_config(tls.build());
        // The environment is read by the CLI, not here: ureq's own reading of it is replaced.
        let proxy = match &settings.proxy {
            Some(url) if !settings.loopback => Some(
                ureq::Proxy::new(url)
                    .map_err(|_| "the proxy URL in the environment does not parse".to_owned())?,
            ),
            _ => None,
        };
        config = config.proxy(proxy);
        Ok(Client {
            agent: config.build().into(),
            base_url: settings.base_url.clone(),
            deadline: Instant::now() + settings.timeout,
            request_timeout: settings.request_timeout,
            get_only: settings.get_only,
            not_before: Mutex::new(None),
            scrubber: Scrubber::new(secrets),
        })
    }

    /// Sends the requests concurrently, one thread each, and returns the exchanges in order.
    /// The wall time is that of the slowest request, bounded by the deadline.
    pub fn send_all(&self, requests: &[Request<'_>]) -> Vec<Exchange> {
        match requests {
            [] => Vec::new(),
            [one] => vec![self.send(one)],
            many => thread::scope(|scope| {
                let handles: Vec<_> = many[1..]
                    .iter()
                    .map(|request| scope.spawn(move || self.send(request)))
                    .collect();
                let mut exchanges = vec![self.send(&many[0])];
                exchanges.extend(
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("a probe thread panicked")),
                );
                exchanges
            }),
        }
    }

    /// Sends one request, retrying transient statuses while the deadline allows. After a 429,
    /// no request of this client starts before GitLab's wait has passed; a wait that does not
    /// fit in the time left ends the request at once with that answer.
    pub fn send(&self, request: &Request<'_>) -> Exchange {
        let started = Instant::now();
        let mut attempts = 0;
        let mut rate_limit_wait = None;
        let outcome = loop {
            if let Some(wait) = self.wait_needed()
                && !self.fits(wait)
            {
                // Another request was told to wait longer than the run may last.
                rate_limit_wait = Some(wait);
                break Err(Failure {
                    kind: FailureKind::RateLimited,
                    detail: format!(
                        "not sent: GitLab's rate limit asked to wait {} s, more than the time left",
                        wait.as_secs()
                    ),
                });
            }
            self.wait_for_rate_limit();
            attempts += 1;
            let outcome = self.attempt(request);
            let Ok(response) = &outcome else {
                break outcome;
            };
            if !is_transient(response.status) {
                break outcome;
            }
            let asked = response.rate_limit.wait(unix_now());
            // Never sooner than GitLab asked, and never back to back: a wait already over (a
            // reset in the past) still backs off.
            let backoff = FIRST_BACKOFF * 2u32.pow(attempts - 1);
            let wait = asked.map_or(backoff, |asked| asked.max(backoff));
            if response.status == 429 {
                self.hold_off(wait);
            }
            if !self.fits(wait) {
                rate_limit_wait = asked;
                break outcome;
            }
            if attempts >= MAX_ATTEMPTS {
                break outcome;
            }
            if response.status != 429 {
                thread::sleep(wait);
            }
        };
        Exchange {
            method: request.method,
            path: request.path.clone(),
            carrier: request.credential.carrier(),
            outcome,
            attempts,
            elapsed: started.elapsed(),
            rate_limit_wait,
        }
    }

    /// Whether a wait starting now ends before the deadline.
    fn fits(&self, wait: Duration) -> bool {
        Instant::now()
            .checked_add(wait)
            .is_some_and(|end| end < self.deadline)
    }

    /// Records that GitLab asked for no request before `wait` from now.
    fn hold_off(&self, wait: Duration) {
        let until = Instant::now().checked_add(wait).unwrap_or(self.deadline);
        let mut not_before = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        *not_before = Some(not_before.map_or(until, |t| t.max(until)));
    }

    /// How long until the rate limiter's wait has passed, if one is pending.
    fn wait_needed(&self) -> Option<Duration> {
        let not_before = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        not_before
            .map(|t| t.saturating_duration_since(Instant::now()))
            .filter(|w| !w.is_zero())
    }

    /// Sleeps until the rate limiter's wait has passed.
    fn wait_for_rate_limit(&self) {
        if let Some(wait) = self.wait_needed() {
            thread::sleep(wait);
        }
    }

    fn attempt(&self, request: &Request<'_>) -> Result<Response, Failure> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure {
                kind: FailureKind::Unreachable,
                detail: "no time left within --timeout".to_owned(),
            });
        }
        if self.get_only && request.method != Method::Get {
            return Err(Failure {
                kind: FailureKind::Protocol,
                detail: format!(
                    "not sent: a read-only run sends only GET, not {}",
                    request.method.as_str()
                ),
            });
        }
        let remaining = self.request_timeout.map_or(remaining, |t| t.min(remaining));
        let url = format!("{}{}", self.base_url, request.path);
        let result = match request.method {
            Method::Get => prepare(self.agent.get(&url), request, remaining).call(),
            Method::Head => prepare(self.agent.head(&url), request, remaining).call(),
            Method::Post => {
                let builder = prepare(self.agent.post(&url), request, remaining);
                match request.credential {
                    Credential::Admin { token, .. } => {
                        let body = serde_json::json!({ "token": token.expose() }).to_string();
                        builder
                            .header("Content-Type", "application/json")
                            .send(body.as_bytes())
                    }
                    credential => {
                        let secret = match credential {
                            Credential::Form { name, token } => Some((name, token.expose())),
                            _ => None,
                        };
                        let public = request.form.iter().map(|(k, v)| (*k, v.as_str()));
                        builder.send_form(secret.into_iter().chain(public))
                    }
                }
            }
        };
        let mut response = result.map_err(|e| self.failure(e))?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| self.scrubber.scrub(v))
        };
        let status = response.status().as_u16();
        let content_type = header("content-type").unwrap_or_default().to_lowercase();
        let www_authenticate = header("www-authenticate");
        let location = header("location");
        let number = |name: &str| header(name).and_then(|v| v.trim().parse::<i64>().ok());
        let rate_limit = RateLimit {
            name: header("ratelimit-name"),
            limit: number("ratelimit-limit").and_then(|n| u64::try_from(n).ok()),
            remaining: number("ratelimit-remaining").and_then(|n| u64::try_from(n).ok()),
            reset: number("ratelimit-reset"),
            retry_after: header("retry-after").and_then(|v| retry_after(&v, unix_now())),
        };
        let next_page = header("link").and_then(|v| next_page(&v, &self.base_url));
        let bytes = if content_type.starts_with(GIT_ADVERTISEMENT) {
            read_start(response.body_mut()).map_err(|e| self.failure(ureq::Error::Io(e)))?
        } else {
            response
                .body_mut()
                .with_config()
                .limit(MAX_BODY_BYTES)
                .read_to_vec()
                .map_err(|e| self.failure(e))?
        };
        let body = Body::parse(&content_type, &bytes, &self.scrubber);
        Ok(Response {
            status,
            content_type,
            www_authenticate,
            location,
            rate_limit,
            next_page,
            body,
        })
    }

    fn failure(&self, error: ureq::Error) -> Failure {
        let kind = match &error {
            ureq::Error::Tls(_)
            | ureq::Error::Pem(_)
            | ureq::Error::Rustls(_)
            | ureq::Error::TlsRequired => FailureKind::Tls,
            ureq::Error::Io(e) if is_tls_io_error(e) => FailureKind::Tls,
            ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed
            | ureq::Error::ConnectProxyFailed(_)
            | ureq::Error::BodyStalled => FailureKind::Unreachable,
            _ => FailureKind::Protocol,
        };
        let detail = match &error {
            ureq::Error::BodyExceedsLimit(_) => {
                format!("the body is larger than {MAX_BODY_BYTES} bytes")
            }
            ureq::Error::Io(e) => self.scrubber.scrub(&e.to_string()),
            ureq::Error::Timeout(_) => "timed out".to_owned(),
            other => self.scrubber.scrub(&other.to_string()),
        };
        Failure { kind, detail }
    }
}

/// Git's ref advertisement (`info/refs?service=git-upload-pack`): as large as the repository has
/// refs, so only its start is read (the status and the first pkt-lines settle the answer).
const GIT_ADVERTISEMENT: &str = "application/x-git-upload-pack-advertisement";
/// How much of a ref advertisement is read.
const ADVERTISEMENT_START_BYTES: u64 = 4096;

/// The start of a body, cut back to whole UTF-8 characters; the rest is never read.
fn read_start(body: &mut ureq::Body) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    body.as_reader()
        .take(ADVERTISEMENT_START_BYTES)
        .read_to_end(&mut bytes)?;
    if let Err(e) = std::str::from_utf8(&bytes)
        && e.error_len().is_none()
    {
        bytes.truncate(e.valid_up_to());
    }
    Ok(bytes)
}

/// A request with its query, its credential's header and the time left.
fn prepare<B>(
    builder: ureq::RequestBuilder<B>,
    request: &Request<'_>,
    remaining: Duration,
) -> ureq::RequestBuilder<B> {
    let mut builder = builder;
    for (name, value) in &request.query {
        builder = builder.query(name, value);
    }
    builder = match request.credential {
        Credential::Query { name, token } => builder.query(name, token.expose()),
        Credential::Header { name, token } => builder.header(name, token.expose()),
        Credential::Bearer(token) => {
            builder.header("Authorization", format!("Bearer {}", token.expose()))
        }
        Credential::Basic { username, token } => {
            let pair = STANDARD.encode(format!("{username}:{}", token.expose()));
            builder.header("Authorization", format!("Basic {pair}"))
        }
        Credential::Admin { admin, .. } => builder.header("PRIVATE-TOKEN", admin.expose()),
        Credential::Form { .. } => builder,
    };
    builder.config().timeout_global(Some(remaining)).build()
}

fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 502 | 503 | 504)
}

/// rustls reports handshake failures as I/O errors wrapping a `rustls::Error`.
fn is_tls_io_error(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}
