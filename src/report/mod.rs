//! The report: built once from the verdict, rendered for people ([`human`]), programs
//! ([`json`]) and pipelines ([`dotenv`]).
//!
//! Pure: renderers return text; the caller writes it. The token never reaches a report: only
//! its masked form and fingerprint do.

pub mod colour;
pub mod dotenv;
pub mod human;
pub mod json;

use std::str::FromStr;

use crate::classify::Classification;
use crate::diagnosis::{Claim, Diagnosis};
use crate::probe::Answer;
use crate::token::{Kind, Source, Token};

/// The output formats of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Text for people.
    #[default]
    Human,
    /// The versioned JSON document.
    Json,
    /// `KEY=value` lines for `artifacts:reports:dotenv`.
    Dotenv,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "human" => Ok(Format::Human),
            "json" => Ok(Format::Json),
            "dotenv" => Ok(Format::Dotenv),
            _ => Err("expected human, json or dotenv".to_owned()),
        }
    }
}

/// One request as reported: never its credential's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// GET or POST.
    pub method: &'static str,
    /// The path below the server URL.
    pub path: String,
    /// How the token was carried.
    pub carrier: String,
    /// The final status, when a response came back.
    pub status: Option<u16>,
    /// Why no response came back.
    pub error: Option<String>,
    /// Attempts made (retries included).
    pub attempts: u32,
    /// Milliseconds from the first attempt to the end of the last.
    pub elapsed_ms: u64,
}

/// Everything a renderer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Where the token came from.
    pub source: Source,
    /// The masked token (prefix and last four characters).
    pub masked: String,
    /// The fingerprint, unless there was no token.
    pub fingerprint: Option<String>,
    /// The public prefix recognised.
    pub prefix: String,
    /// The instance prefix, if any.
    pub instance_prefix: Option<String>,
    /// How the text was recognised (`routable_v1`, `jwt`, …).
    pub shape: &'static str,
    /// The claim checked, if any.
    pub claim: Option<Claim>,
    /// The server asked, or `None` offline.
    pub server: Option<String>,
    /// The verdict.
    pub diagnosis: Diagnosis,
    /// The requests made, in order.
    pub requests: Vec<RequestLine>,
    /// Now, in seconds since the epoch (for "in N minutes").
    pub now: i64,
    /// The `--request` verdict, if one was asked for.
    pub request: Option<crate::request::Verdict>,
}

/// The fewest characters a value needs before its fingerprint is shown: a short password
/// pasted by mistake (`hello`) could be found from its SHA-256 prefix with a dictionary.
pub const MIN_FINGERPRINT_CHARS: usize = 20;

/// Whether the value has a token's length and shape (a kind, or candidate kinds, recognised
/// from its text), so that its fingerprint gives nothing away: tokens are random, passwords and
/// words are not.
fn has_token_shape(token: &Token, class: &Classification) -> bool {
    let recognised =
        !matches!(class.kind, Kind::Unknown | Kind::None) || !class.candidates.is_empty();
    let text = token.expose();
    let secret = text.strip_prefix(class.prefix.as_str()).unwrap_or(text);
    recognised && text.len() >= MIN_FINGERPRINT_CHARS && looks_random(secret)
}

/// What random token text has and words do not: letters and digits, and at least eight
/// different characters (`passwordpassword`, `aaaa…` and thirty zeros have no fingerprint).
fn looks_random(secret: &str) -> bool {
    let distinct: std::collections::BTreeSet<u8> = secret.bytes().collect();
    distinct.len() >= 8
        && secret.bytes().any(|b| b.is_ascii_digit())
        && secret.bytes().any(|b| b.is_ascii_alphabetic())
}

impl Report {
    /// Assembles the report.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        token: &Token,
        source: Source,
        class: &Classification,
        claim: Option<Claim>,
        server: Option<String>,
        answers: &[Answer],
        diagnosis: Diagnosis,
        now: i64,
    ) -> Report {
        let requests = answers
            .iter()
            .map(|a| {
                let x = &a.exchange;
                RequestLine {
                    method: x.method.as_str(),
                    path: x.path.clone(),
                    carrier: x.carrier.clone(),
                    status: x.outcome.as_ref().ok().map(|r| r.status),
                    error: x.outcome.as_ref().err().map(|f| f.detail.clone()),
                    attempts: x.attempts,
                    elapsed_ms: u64::try_from(x.elapsed.as_millis()).unwrap_or(u64::MAX),
                }
            })
            .collect();
        Report {
            source,
            masked: token.masked(&class.prefix),
            fingerprint: has_token_shape(token, class).then(|| token.fingerprint()),
            prefix: class.prefix.clone(),
            instance_prefix: class.instance_prefix.clone(),
            shape: class.shape.name(),
            claim,
            server,
            diagnosis,
            requests,
            now,
            request: None,
        }
    }

    /// Adds the `--request` verdict and, when it was sent, its line among the requests (with
    /// the path as shown: no credential, no secret-looking query value).
    pub fn add_request(
        &mut self,
        verdict: crate::request::Verdict,
        exchange: Option<&crate::probe::http::Exchange>,
    ) {
        if let Some(x) = exchange {
            self.requests.push(RequestLine {
                method: x.method.as_str(),
                path: verdict.path.clone(),
                carrier: x.carrier.clone(),
                status: x.outcome.as_ref().ok().map(|r| r.status),
                error: x.outcome.as_ref().err().map(|f| f.detail.clone()),
                attempts: x.attempts,
                elapsed_ms: u64::try_from(x.elapsed.as_millis()).unwrap_or(u64::MAX),
            });
        }
        self.request = Some(verdict);
    }

    /// Renders the report in a format.
    pub fn render(&self, format: Format, variable_prefix: &str) -> String {
        match format {
            Format::Human => human::render(self),
            Format::Json => json::render(self),
            Format::Dotenv => dotenv::render(self, variable_prefix),
        }
    }
}
