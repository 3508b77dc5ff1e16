//! The human report: what the token is, whether it is valid, why, and what to do next.
//!
//! A label column and wrapped text, so that a job log stays readable:
//!
//! ```text
//! Token    glpat-…qrst from $GITLAB_TOKEN (fingerprint 1a2b3c4d5e6f)
//! Kind     personal access token
//! Valid    yes
//! Reason   ok
//! ```

use std::fmt::Write as _;

use super::Report;
use crate::date::format_utc;
use crate::diagnosis::Facts;
use crate::reason::{Reason, Validity};
use crate::token::Kind;

const WIDTH: usize = 100;
const LABEL: usize = 9;

/// Renders the report for people.
pub fn render(report: &Report) -> String {
    let d = &report.diagnosis;
    let mut out = String::new();
    let fingerprint = report
        .fingerprint
        .as_deref()
        .map(|f| format!(" (fingerprint {f})"))
        .unwrap_or_default();
    let token = match d.kind {
        Kind::None => format!("none, from {}", report.source),
        _ => format!("{} from {}{fingerprint}", report.masked, report.source),
    };
    line(&mut out, "Token", &token);
    line(&mut out, "Kind", &kind_text(report));
    line(&mut out, "Valid", validity_text(report));
    line(&mut out, "Reason", d.reason.code());
    facts(&mut out, &d.facts, report.now);
    match &report.server {
        Some(server) if !report.requests.is_empty() => line(&mut out, "Server", server),
        Some(_) => {}
        None => line(&mut out, "Server", "not asked (--offline)"),
    }
    for (i, r) in report.requests.iter().enumerate() {
        let outcome = match (r.status, &r.error) {
            (Some(status), _) => status.to_string(),
            (None, Some(error)) => format!("no answer: {error}"),
            (None, None) => "no answer".to_owned(),
        };
        let retries = if r.attempts > 1 {
            format!(" after {} attempts", r.attempts)
        } else {
            String::new()
        };
        let text = format!(
            "{} {} ({}) → {outcome}{retries}",
            r.method, r.path, r.carrier
        );
        line(&mut out, if i == 0 { "Asked" } else { "" }, &text);
    }
    if let Some(request) = &report.request {
        request_block(&mut out, request);
    }
    for note in &d.notes {
        line(&mut out, "Note", note);
    }
    access(&mut out, report);
    match d.findings.split_first() {
        None => {
            line(&mut out, "Next", next_when_fine(report));
            line(&mut out, "Docs", d.docs);
        }
        Some((first, rest)) => {
            line(&mut out, "Why", &first.summary);
            line(&mut out, "Next", &first.next);
            line(&mut out, "Docs", first.docs);
            for finding in rest {
                line(
                    &mut out,
                    "Also",
                    &format!("{}: {}", finding.reason.code(), finding.summary),
                );
                line(&mut out, "", &format!("Next: {}", finding.next));
                line(&mut out, "", &format!("Docs: {}", finding.docs));
            }
        }
    }
    out
}

/// The `--request` verdict: the request, what GitLab's route list says, and the outcome.
fn request_block(out: &mut String, r: &crate::request::Verdict) {
    line(out, "Request", &format!("{} {}", r.method, r.path));
    let job = match (r.job_token_accepted, &r.job_token_permission) {
        (false, _) => "does not accept job tokens".to_owned(),
        (true, Some(p)) => format!("accepts job tokens (fine-grained permission {p})"),
        (true, None) => "accepts job tokens".to_owned(),
    };
    let route = r.route.map(|t| format!("route {t}: ")).unwrap_or_default();
    let scopes = if r.scopes_needed.is_empty() {
        String::new()
    } else {
        format!("; access tokens need {}", r.scopes_needed.join(" or "))
    };
    line(out, "", &format!("{route}{job}{scopes}"));
    let outcome = match (r.allowed, r.reason) {
        (Some(true), _) => "works".to_owned(),
        (Some(false), Some(reason)) => format!("cannot work ({reason})"),
        (Some(false), None) => "cannot work".to_owned(),
        (None, Some(reason)) => format!("unknown ({reason})"),
        (None, None) => "unknown".to_owned(),
    };
    let sent = match (r.sent, r.status) {
        (true, Some(status)) => format!("sent, GitLab answered {status}"),
        (true, None) => "sent, no answer".to_owned(),
        (false, _) => "not sent".to_owned(),
    };
    line(out, "", &format!("{sent}: {outcome}"));
}

/// One line per surface checked: allowed, or the reason in a few words.
fn access(out: &mut String, report: &Report) {
    for (i, a) in report.diagnosis.access.iter().enumerate() {
        let verdict = match a.allowed {
            Some(true) => "yes".to_owned(),
            Some(false) => format!(
                "no, {} ({})",
                a.finding.reason,
                access_words(a.finding.reason)
            ),
            None => format!(
                "unknown, {} ({})",
                a.finding.reason,
                access_words(a.finding.reason)
            ),
        };
        let text = format!("{:<9}{verdict}", a.surface.name());
        let label = if i == 0 { "Access" } else { "" };
        if i == 0 {
            line(out, label, &format!("project {}", a.project));
        }
        line(out, "", &text);
    }
}

/// A reason in a few words, for the Access block.
fn access_words(reason: Reason) -> &'static str {
    match reason {
        Reason::ProjectNotFound => "the project is missing or hidden from the token",
        Reason::InsufficientRole => "the role is too low",
        Reason::InsufficientScope => "a scope or permission is missing",
        Reason::NotAllowlisted => "not on the project's job token allowlist",
        Reason::ServerError | Reason::RateLimited => "GitLab did not answer usably",
        Reason::Unreachable | Reason::TlsError => "GitLab could not be reached",
        Reason::Unverifiable => "nothing safe settles it",
        Reason::Ok => "allowed",
        _ => "the token itself is refused",
    }
}

fn kind_text(report: &Report) -> String {
    let d = &report.diagnosis;
    if !d.candidates.is_empty() {
        let labels: Vec<&str> = d.candidates.iter().map(|k| k.label()).collect();
        return format!("unknown: it may be a {}", labels.join(", or a "));
    }
    let mut text = d.kind.label().to_owned();
    let shape = match report.shape {
        "routable_v1" | "routable_v0" => Some("routable"),
        "jwt" => Some("JWT"),
        "legacy" => Some("legacy format"),
        _ => None,
    };
    if let Some(shape) = shape {
        text.push_str(&format!(" ({shape})"));
    }
    if let Some(claim) = &report.claim
        && d.reason != Reason::KindMismatch
        && claim.kind == d.kind
    {
        text.push_str(", as expected");
    }
    text
}

fn validity_text(report: &Report) -> &'static str {
    let d = &report.diagnosis;
    match (d.validity, report.server.is_some()) {
        (Validity::Valid, _) => "yes, GitLab accepts it",
        (Validity::Invalid, _) if report.requests.is_empty() => "no, decided offline",
        (Validity::Invalid, _) => "no, GitLab refuses it",
        (Validity::Unknown, false) => "unknown, not checked with GitLab",
        (Validity::Unknown, true) => "unknown",
    }
}

fn next_when_fine(report: &Report) -> &'static str {
    if report.server.is_none() {
        "Nothing wrong is visible offline; run without --offline to ask GitLab."
    } else {
        "Nothing to do: the token is valid and meets every requirement."
    }
}

fn facts(out: &mut String, f: &Facts, now: i64) {
    if let Some(name) = &f.name {
        line(out, "Name", name);
    }
    let user = match (&f.user, f.user_id) {
        (Some(user), Some(id)) => Some(format!("@{user} (id {id})")),
        (Some(user), None) => Some(format!("@{user}")),
        (None, Some(id)) => Some(format!("id {id}")),
        (None, None) => None,
    };
    if let Some(mut user) = user {
        if f.bot == Some(true) {
            user.push_str(", a bot user");
        }
        if f.admin == Some(true) {
            user.push_str(", an administrator");
        }
        line(out, "User", &user);
    }
    if let Some(job) = f.job_id {
        let mut text = format!("{job}");
        if let Some(status) = &f.job_status {
            let _ = write!(text, ", {status}");
        }
        if let Some(pipeline) = f.pipeline_id {
            let _ = write!(text, ", pipeline {pipeline}");
        }
        if let Some(url) = &f.job_url {
            let _ = write!(text, ", {url}");
        }
        line(out, "Job", &text);
    }
    let ids: Vec<String> = [
        ("project", f.project_id),
        ("group", f.group_id),
        ("organization", f.organization_id),
    ]
    .iter()
    .filter_map(|(what, id)| id.map(|id| format!("{what} {id}")))
    .collect();
    if !ids.is_empty() {
        line(out, "Belongs", &ids.join(", "));
    }
    if let Some(issuer) = &f.issuer {
        line(out, "Issuer", issuer);
    }
    if let Some(app) = &f.application_id {
        line(out, "App", &format!("OAuth application {app}"));
    }
    if let Some(scopes) = &f.scopes {
        line(
            out,
            "Scopes",
            &if scopes.is_empty() {
                "none".to_owned()
            } else {
                scopes.join(", ")
            },
        );
    }
    let expires = match (f.expires_at_unix, f.expires_at, f.days_left) {
        (Some(at), _, _) => Some(format!("{} ({})", format_utc(at), relative(at - now))),
        (None, Some(day), Some(days)) => Some(format!("{day} ({})", relative_days(days))),
        (None, Some(day), None) => Some(day.to_string()),
        (None, None, _) if f.never_expires => Some("never".to_owned()),
        _ => None,
    };
    if let Some(expires) = expires {
        line(out, "Expires", &expires);
    }
    if let Some(last) = &f.last_used_at {
        line(out, "Last use", last);
    }
}

fn relative(seconds: i64) -> String {
    let (past, s) = (seconds < 0, seconds.unsigned_abs());
    let amount = match s {
        0..=119 => format!("{s} seconds"),
        120..=7_199 => format!("{} minutes", s / 60),
        7_200..=172_799 => format!("{} hours", s / 3600),
        _ => format!("{} days", s / 86_400),
    };
    if past {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

fn relative_days(days: i64) -> String {
    match days {
        0 => "today".to_owned(),
        1 => "tomorrow, 1 day left".to_owned(),
        -1 => "yesterday".to_owned(),
        d if d < 0 => format!("{} days ago", -d),
        d => format!("{d} days left"),
    }
}

/// Writes `label` padded to the label column, then `text` wrapped at [`WIDTH`].
/// Every control character of the text is escaped first: texts from GitLab and from the token
/// (names, messages, a JWT's issuer) cannot forge lines or reach the terminal raw.
fn line(out: &mut String, label: &str, text: &str) {
    let text = crate::scrub::escape_controls(text);
    let mut current = format!("{label:<LABEL$}");
    let mut empty = true;
    for word in text.split(' ') {
        if !empty && current.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(current.trim_end());
            out.push('\n');
            current = " ".repeat(LABEL);
            empty = true;
        }
        if !empty {
            current.push(' ');
        }
        current.push_str(word);
        empty = false;
    }
    out.push_str(current.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_the_label_column() {
        let mut out = String::new();
        let text = "word ".repeat(40);
        line(&mut out, "Why", text.trim());
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1);
        assert!(lines[0].starts_with("Why      word"));
        assert!(lines[1].starts_with("         word"));
        assert!(lines.iter().all(|l| l.chars().count() <= WIDTH));
    }

    #[test]
    fn relative_times() {
        assert_eq!(relative(3_300), "in 55 minutes");
        assert_eq!(relative(-90), "90 seconds ago");
        assert_eq!(relative(3 * 86_400), "in 3 days");
        assert_eq!(relative_days(30), "30 days left");
    }
}
