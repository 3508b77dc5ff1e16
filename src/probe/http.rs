//! The HTTP layer: the only module that imports `ureq`.
//!
//! It sends [`Request`]s to the configured GitLab and returns [`Exchange`]s: what was asked,
//! which header carried the token, and what came back — a [`Response`] or a [`Failure`]. It owns
//! the rules that keep a probe safe and bounded:
//!
//! - every request shares one deadline (`--timeout`), retries included;
//! - 429, 502, 503 and 504 are retried with backoff, honouring `Retry-After` up to a cap;
//! - redirects are never followed (the token would go with them): the 3xx is returned as is;
//! - response bodies are capped, and every text kept from a response is scrubbed of the secrets;
//! - TLS goes through rustls with the embedded Mozilla roots, or the CA files the user named;
//! - `HTTPS_PROXY`/`NO_PROXY` are honoured, except for loopback servers, which never use one.
//!
//! It does not interpret responses: that is the diagnosis's work.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

pub use crate::scrub::{Scrubber, percent_encode};
use crate::token::Token;

/// The most a response body may hold. GitLab's answers to the probes are a few KB.
pub const MAX_BODY_BYTES: u64 = 256 * 1024;
/// How much of a non-JSON body is kept, for the report.
const TEXT_EXCERPT_CHARS: usize = 200;
/// At most this many attempts per request (one try and two retries).
const MAX_ATTEMPTS: u32 = 3;
/// The longest wait between attempts, whatever `Retry-After` says.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);
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
    /// The budget for the whole run.
    pub timeout: Duration,
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
    /// The body.
    pub body: Body,
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
}

/// The client: one agent, one deadline, the secrets to scrub.
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    deadline: Instant,
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
                    if let Ok(PemItem::Certificate(cert)) = item {
                        certs.push(cert);
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
        if settings.loopback {
            config = config.proxy(None);
        }
        Ok(Client {
            agent: config.build().into(),
            base_url: settings.base_url.clone(),
            deadline: Instant::now() + settings.timeout,
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

    /// Sends one request, retrying transient statuses while the deadline allows.
    pub fn send(&self, request: &Request<'_>) -> Exchange {
        let started = Instant::now();
        let mut attempts = 0;
        let outcome = loop {
            attempts += 1;
            let outcome = self.attempt(request);
            let wait = match &outcome {
                Ok((response, retry_after)) if is_transient(response.status) => {
                    retry_after.unwrap_or(FIRST_BACKOFF * 2u32.pow(attempts - 1))
                }
                _ => break outcome,
            };
            let wait = wait.min(MAX_RETRY_WAIT);
            if attempts >= MAX_ATTEMPTS || Instant::now() + wait >= self.deadline {
                break outcome;
            }
            thread::sleep(wait);
        };
        Exchange {
            method: request.method,
            path: request.path.clone(),
            carrier: request.credential.carrier(),
            outcome: outcome.map(|(response, _)| response),
            attempts,
            elapsed: started.elapsed(),
        }
    }

    fn attempt(&self, request: &Request<'_>) -> Result<(Response, Option<Duration>), Failure> {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(Failure {
                kind: FailureKind::Unreachable,
                detail: "no time left within --timeout".to_owned(),
            });
        }
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
        let retry_after = header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
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
        Ok((
            Response {
                status,
                content_type,
                www_authenticate,
                location,
                body,
            },
            retry_after,
        ))
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
