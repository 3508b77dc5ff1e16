//! Judging what a place holds, without printing any of it: a CI/CD variable (its key, flags and
//! value) and the inventory items (access tokens, deploy tokens, triggers, schedules).
//!
//! A value lives here only long enough to be classified: it comes in as a `String` taken out of
//! the response, is wrapped in a [`Token`] and dropped when [`variable`] returns. What comes out
//! are [`Finding`]s and, for a token, a [`Found`]: its kind, the keyed fingerprint and the
//! routing user id (public), never the text.

use ring::hmac;

use super::findings::{Code, Finding, Place, Severity};
use super::predefined;
use crate::classify::{self, Defect, Mistake, Shape};
use crate::date::Day;
use crate::token::{Kind, Token};

/// The keyed fingerprint: HMAC-SHA256 under a key drawn at random for each run, so a report
/// cannot confirm a guessed token.
pub struct Fingerprinter {
    key: hmac::Key,
}

impl Fingerprinter {
    /// A fingerprinter with a fresh random key.
    pub fn random() -> Result<Fingerprinter, String> {
        let rng = ring::rand::SystemRandom::new();
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &rng)
            .map_err(|_| "the system random source failed".to_owned())?;
        Ok(Fingerprinter { key })
    }

    /// The first 12 hex digits of HMAC-SHA256(key, value).
    pub fn of(&self, token: &Token) -> String {
        let tag = hmac::sign(&self.key, token.expose().as_bytes());
        tag.as_ref()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A CI/CD variable as read from GitLab. `value` is `None` for a hidden variable.
pub struct Variable {
    /// The key.
    pub key: String,
    /// The value, taken out of the response; dropped by [`variable`].
    pub value: Option<String>,
    /// `masked` (absent for schedule variables).
    pub masked: Option<bool>,
    /// `protected` (absent for schedule variables).
    pub protected: Option<bool>,
    /// `raw`: `$` is not expanded.
    pub raw: bool,
    /// `variable_type: file`: the job gets a file holding the value (a final newline is fine).
    pub file: bool,
}

/// A token found in a variable: what the inventory join and `--probe-found` need.
pub struct Found {
    /// Where it sits.
    pub place: Place,
    /// The kind.
    pub kind: Kind,
    /// The keyed fingerprint.
    pub fingerprint: String,
    /// The routable payload's user id (public).
    pub user_id: Option<u64>,
    /// The token itself, kept only with `--probe-found` for a kind with a read-only probe.
    pub secret: Option<Token>,
}

/// What a variable says.
pub struct Judgement {
    /// Its findings.
    pub findings: Vec<Finding>,
    /// The token it holds, if it holds one.
    pub found: Option<Found>,
}

/// What the judgement needs besides the variable.
pub struct Judge<'a> {
    /// The fingerprint key.
    pub fingerprints: &'a Fingerprinter,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// `--pat-prefix`.
    pub pat_prefix: Option<&'a str>,
    /// Keep probe-able tokens for `--probe-found`.
    pub keep_for_probe: bool,
}

/// True for a key that says it holds a credential (`GITLAB_TOKEN`, `DEPLOY_PASSWORD`, …).
pub fn token_like_key(key: &str) -> bool {
    const WORDS: [&str; 11] = [
        "TOKEN",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PWD",
        "SECRET",
        "PAT",
        "KEY",
        "AUTH",
        "CREDENTIAL",
        "CREDENTIALS",
    ];
    key.to_ascii_uppercase()
        .split('_')
        .any(|w| WORDS.contains(&w) || w.ends_with("TOKEN"))
}

/// Authentication-scheme prefixes pasted with a token.
const SCHEMES: [&str; 6] = [
    "bearer ",
    "token ",
    "basic ",
    "private-token:",
    "private-token ",
    "authorization:",
];

fn kind_name(kind: Kind) -> Option<String> {
    (kind != Kind::Unknown && kind != Kind::None).then(|| kind.name().to_owned())
}

fn mistake_text(mistake: &Mistake) -> &'static str {
    match mistake {
        Mistake::InnerWhitespace {
            wrapped_jwt: true, ..
        } => "is a job token broken over several lines",
        Mistake::InnerWhitespace { lines, .. } if *lines > 1 => "spans several lines",
        Mistake::InnerWhitespace { .. } => "has white space inside",
        Mistake::Quoted => "is wrapped in quotes, which GitLab keeps",
        Mistake::UnexpandedVariable { .. } => {
            "is a $NAME reference that the raw flag keeps from being expanded"
        }
        Mistake::MaskedPlaceholder => "holds [MASKED], copied from a job log",
        Mistake::ControlCharacter => "holds a control character",
        Mistake::NonAscii { invisible: true } => "holds an invisible character",
        Mistake::NonAscii { .. } => "holds a character outside ASCII",
        Mistake::TooLong { .. } => "is longer than any GitLab token",
        Mistake::NotTokenText { .. } => "holds characters no GitLab token has after its prefix",
        Mistake::VariableName { .. } => "is a variable's name, not its value",
        Mistake::AssignmentLine { .. } => "is a whole NAME=value line, not the value",
    }
}

/// Judges one variable. The value is dropped before this returns (or moved into
/// [`Found::secret`] with `--probe-found`).
pub fn variable(var: Variable, place: Place, judge: &Judge<'_>) -> Judgement {
    let mut findings = Vec::new();
    let tokenish_key = token_like_key(&var.key);
    if let Some(broken) = predefined::overrides(&var.key) {
        let (severity, what) = if broken {
            (
                Severity::Broken,
                "replaces the job's own credential in every job that gets it",
            )
        } else {
            (Severity::Fragile, "replaces the value GitLab sets")
        };
        findings.push(Finding::new(
            Code::OverridesPredefined,
            severity,
            place.clone(),
            format!(
                "{} is a predefined variable's name: this variable {what}; rename it (for \
                 example GITLAB_TOKEN) or delete it.",
                var.key
            ),
        ));
    }
    let Some(raw) = var.value else {
        let why = if tokenish_key {
            "its key says it holds a credential, but "
        } else {
            ""
        };
        findings.push(Finding::new(
            Code::HiddenUninspectable,
            Severity::Uninspectable,
            place,
            format!(
                "Hidden variable: {why}GitLab never returns its value, so the audit cannot \
                 check it; check the token where it was created (its inventory or its owner)."
            ),
        ));
        return Judgement {
            findings,
            found: None,
        };
    };
    let raw = Token::new_untrimmed(raw);
    let text = raw.expose();
    // The token under the mistakes: trimmed, scheme and quotes removed, and only printable
    // ASCII kept (white space, control and invisible characters dropped). It lives in a Token.
    let trimmed = text.trim();
    let scheme = SCHEMES.iter().find(|s| {
        trimmed
            .get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    });
    let core_text = scheme.map_or(trimmed, |s| trimmed[s.len()..].trim_start());
    let core_text = classify::lint::unquoted(core_text);
    let core = Token::new_untrimmed(core_text.chars().filter(char::is_ascii_graphic).collect());
    let ctx = classify::Context {
        now: judge.now,
        pat_prefix: judge.pat_prefix,
    };
    let class = classify::classify(&core, &ctx);
    let definite = matches!(
        class.shape,
        Shape::Prefixed | Shape::Routable(_) | Shape::Jwt
    ) && class.kind != Kind::Unknown;
    let tokenish = definite || (tokenish_key && !class.candidates.is_empty());
    let fingerprint = (!core.is_empty()).then(|| judge.fingerprints.of(&core));
    let kind = kind_name(class.kind);
    if tokenish {
        // The override names the token it puts in place of GitLab's.
        for f in findings.iter_mut() {
            f.kind.clone_from(&kind);
            f.fingerprint.clone_from(&fingerprint);
        }
    }
    let token_finding = |code, severity, message: String| {
        Finding::new(code, severity, place.clone(), message)
            .token(kind.clone(), fingerprint.clone())
    };

    // Mistakes: the shape ones (white space, quotes, a scheme, odd characters) only where a
    // token is underneath; the ones that hold no token at all ([MASKED], an empty value, a raw
    // $NAME) under a key that says it holds a credential. An SSH key or a certificate under a
    // `…_KEY` key is none of these.
    let lint = || match classify::lint::check(trimmed) {
        Some(Mistake::UnexpandedVariable { .. }) if !var.raw => None,
        other => other,
    };
    let mistake = if trimmed.is_empty() {
        tokenish_key.then_some("is empty")
    } else if tokenish {
        if text != trimmed && !var.file {
            Some("has white space or a line break at its start or end")
        } else if scheme.is_some() {
            Some("starts with an authentication scheme (Bearer, token, PRIVATE-TOKEN:)")
        } else {
            lint().as_ref().map(mistake_text)
        }
    } else if tokenish_key {
        match lint() {
            Some(m @ (Mistake::MaskedPlaceholder | Mistake::UnexpandedVariable { .. })) => {
                Some(mistake_text(&m))
            }
            _ => None,
        }
    } else {
        None
    };
    if let Some(what) = mistake {
        findings.push(token_finding(
            Code::Malformed,
            Severity::Broken,
            format!(
                "The value {what}: no request with it can authenticate; store the bare token \
                 (masked and protected)."
            ),
        ));
        return Judgement {
            findings,
            found: None,
        };
    }
    if !tokenish {
        return Judgement {
            findings,
            found: None,
        };
    }
    match &class.defect {
        Some(Defect::Corrupted(_)) => findings.push(token_finding(
            Code::RoutableCrcMismatch,
            Severity::Broken,
            "A routable token whose checksum does not match: it was truncated or altered when \
             stored; paste the whole token again."
                .to_owned(),
        )),
        Some(Defect::BrokenJwt) => findings.push(token_finding(
            Code::Malformed,
            Severity::Broken,
            "A job token whose JWT does not decode: it was cut or altered; remove it and use \
             the job's own CI_JOB_TOKEN."
                .to_owned(),
        )),
        _ if class.kind == Kind::JobToken => {
            let when = match (&class.defect, class.job.as_ref().and_then(|j| j.expires_at)) {
                (Some(Defect::ExpiredJwt { expired_at }), _) => {
                    format!(" (it expired {})", crate::date::format_utc(*expired_at))
                }
                (_, Some(exp)) => format!(" (it expires {})", crate::date::format_utc(exp)),
                _ => String::new(),
            };
            findings.push(token_finding(
                Code::StoredJobToken,
                Severity::Broken,
                format!(
                    "A job token stored in a variable{when}: it is valid only while its job \
                     runs; delete the variable and let each job use its own CI_JOB_TOKEN."
                ),
            ));
        }
        _ if class.candidates.contains(&Kind::OauthAccessToken)
            && !var.key.to_ascii_uppercase().contains("SECRET") =>
        {
            findings.push(
                Finding::new(
                    Code::StoredOauthToken,
                    Severity::Broken,
                    place.clone(),
                    "Looks like an OAuth access token (64 hex digits), which GitLab expires after \
                     two hours: store a project, group or personal access token instead, or \
                     refresh it in the job."
                        .to_owned(),
                )
                .token(
                    Some(Kind::OauthAccessToken.name().to_owned()),
                    fingerprint.clone(),
                ),
            );
        }
        _ => {
            if var.masked == Some(false) {
                findings.push(token_finding(
                    Code::NotMasked,
                    Severity::Exposure,
                    "A token that is not masked: any job log that prints it shows it; edit the \
                     variable and tick Masked (every GitLab token can be masked)."
                        .to_owned(),
                ));
            }
            if var.protected == Some(false) {
                findings.push(token_finding(
                    Code::NotProtected,
                    Severity::Exposure,
                    "A token that is not protected: a pipeline on any branch, merge request \
                     pipelines included, can read it; tick Protected unless unprotected \
                     branches need it."
                        .to_owned(),
                ));
            }
        }
    }
    let Some(fingerprint) = fingerprint else {
        return Judgement {
            findings,
            found: None,
        };
    };
    let probe_kind = class.kind.is_access_token() && class.defect.is_none()
        || class.candidates.contains(&Kind::OauthAccessToken);
    let found = Found {
        place,
        kind: if class.kind == Kind::Unknown && class.candidates.contains(&Kind::OauthAccessToken) {
            Kind::OauthAccessToken
        } else {
            class.kind
        },
        fingerprint,
        user_id: class
            .routing
            .as_ref()
            .and_then(|r| r.user_id)
            .filter(|_| class.kind.is_access_token()),
        secret: (judge.keep_for_probe && probe_kind).then_some(core),
    };
    Judgement {
        findings,
        found: Some(found),
    }
}

/// An expiry day against today and `--min-days-left`: expired, expiring, or fine.
pub fn expiry(
    expires: Option<&str>,
    today: Day,
    min_days: i64,
) -> Option<(Code, Severity, String)> {
    let day = Day::parse(expires?)?;
    let left = today.days_until(day);
    if left < 0 {
        Some((
            Code::TokenExpired,
            Severity::Broken,
            format!("expired on {day}"),
        ))
    } else if left <= min_days {
        let when = match left {
            0 => "today".to_owned(),
            1 => "tomorrow".to_owned(),
            n => format!("in {n} days"),
        };
        Some((
            Code::TokenExpiring,
            Severity::Expiring,
            format!("expires on {day}, {when}"),
        ))
    } else {
        None
    }
}

/// A user is available when GitLab lists them as `active`.
pub fn owner_unavailable(owner: Option<&serde_json::Value>) -> Option<String> {
    match owner {
        None | Some(serde_json::Value::Null) => Some("has no owner any more".to_owned()),
        Some(owner) => {
            let state = owner.get("state").and_then(|s| s.as_str()).unwrap_or("");
            (state != "active").then(|| {
                let name = owner
                    .get("username")
                    .and_then(|s| s.as_str())
                    .unwrap_or("?");
                format!("is owned by {} (state {})", clean(name), clean(state))
            })
        }
    }
}

/// Text from GitLab made safe to print: control characters become `?`, and it is cut short.
pub fn clean(text: &str) -> String {
    let short: String = text
        .chars()
        .take(200)
        .map(|c| {
            if crate::scrub::is_unsafe_char(c) {
                '?'
            } else {
                c
            }
        })
        .collect();
    // A hostile server may put a stored token in a name or an environment scope.
    crate::classify::shaped::mask_token_shaped(&short)
}

#[cfg(test)]
mod tests;
