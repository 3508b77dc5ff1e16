//! `--probe-found` (opt-in): each token found in a variable that has a side-effect-free probe
//! (the personal, project and group access token family, and OAuth access tokens) is checked
//! with the check engine — with that token, so GitLab records its use (`last_used_at`, and
//! possibly an "unseen IP" audit event). Serially, at most one a second, only to `--url`'s host,
//! and stopping after 10 consecutive refusals (GitLab.com blocks IPs that collect 401s).

use std::collections::HashSet;
use std::thread;
use std::time::{Duration, Instant};

use super::findings::{Code, Finding, Severity};
use super::inspect::Found;
use crate::cli::Config;
use crate::probe::{self, Check};
use crate::reason::{Reason, Validity};
use crate::token::{Kind, Source};

/// At most one probe per this interval.
const INTERVAL: Duration = Duration::from_secs(1);
/// Stop after this many refusals in a row.
const MAX_REFUSALS: u32 = 10;

/// What the probes found.
pub struct Probed {
    /// Findings at the places of the tokens probed.
    pub findings: Vec<Finding>,
    /// Sentences for standard error (a stop, a count).
    pub notes: Vec<String>,
}

/// The checks the probe may make: GETs only.
const READ_ONLY: [Check; 4] = [
    Check::PatSelf,
    Check::PatUser,
    Check::OauthInfo,
    Check::OauthUser,
];

/// Probes each distinct found token once; findings go to every place that holds it. `check`
/// is the audit token's configuration (server, CA files, per-request timeout), lent to each
/// found token in turn and given back as it was.
pub fn probe(check: &mut Config, min_days: i64, found: &[Found]) -> Probed {
    let saved = (
        check.token.clone(),
        check.source.clone(),
        check.claim.take(),
        std::mem::take(&mut check.scopes),
        check.min_days_left,
    );
    let out = probe_each(check, min_days, found);
    (
        check.token,
        check.source,
        check.claim,
        check.scopes,
        check.min_days_left,
    ) = saved;
    out
}

fn probe_each(check: &mut Config, min_days: i64, found: &[Found]) -> Probed {
    let mut out = Probed {
        findings: Vec::new(),
        notes: Vec::new(),
    };
    let mut seen = HashSet::new();
    let mut refusals = 0;
    let mut last: Option<Instant> = None;
    let mut probed = 0;
    for f in found {
        let Some(secret) = &f.secret else { continue };
        if !seen.insert(f.fingerprint.clone()) {
            continue;
        }
        if refusals >= MAX_REFUSALS {
            out.notes.push(format!(
                "--probe-found stopped after {MAX_REFUSALS} refusals in a row, to stay clear of \
                 GitLab's block on repeated failed authentications."
            ));
            break;
        }
        if !matches!(f.kind, Kind::PersonalAccessToken | Kind::OauthAccessToken) {
            continue;
        }
        let class = crate::classify::classify(secret, &crate::classify::Context::default());
        let plan = probe::plan(&class, &probe::Inputs::default());
        if plan.iter().any(|c| !READ_ONLY.contains(c)) {
            continue;
        }
        if let Some(at) = last {
            thread::sleep(INTERVAL.saturating_sub(at.elapsed()));
        }
        last = Some(Instant::now());
        check.token = secret.clone();
        check.source = Source::Env(f.place.name.clone().unwrap_or_default());
        check.min_days_left = Some(min_days.max(1));
        // Each check has its --timeout from now, not from when the audit began.
        check.deadline = Instant::now() + check.timeout;
        let Ok(report) = crate::check(check) else {
            continue;
        };
        probed += 1;
        let d = &report.diagnosis;
        let verdict = match d.reason {
            Reason::Expired => Some((Code::TokenExpired, Severity::Broken, "has expired")),
            Reason::Revoked => Some((Code::TokenRevoked, Severity::Broken, "was revoked")),
            Reason::UnknownToken => Some((
                Code::TokenRevoked,
                Severity::Broken,
                "is unknown to GitLab (revoked and deleted, or from another instance)",
            )),
            Reason::UserBlocked => Some((
                Code::OwnerUnavailable,
                Severity::Broken,
                "belongs to a user who may not use GitLab",
            )),
            Reason::ExpiringSoon => Some((
                Code::TokenExpiring,
                Severity::Expiring,
                "expires within --min-days-left",
            )),
            _ => None,
        };
        if d.validity == Validity::Invalid {
            refusals += 1;
        } else {
            refusals = 0;
        }
        let Some((code, severity, what)) = verdict else {
            continue;
        };
        for holder in found.iter().filter(|h| h.fingerprint == f.fingerprint) {
            out.findings.push(
                Finding::new(
                    code,
                    severity,
                    holder.place.clone(),
                    format!(
                        "Probed with --probe-found: GitLab says this token {what}; replace it \
                         with a new one."
                    ),
                )
                .token(Some(d.kind.name().to_owned()), Some(f.fingerprint.clone())),
            );
        }
    }
    out.notes
        .push(format!("--probe-found checked {probed} tokens."));
    out
}
