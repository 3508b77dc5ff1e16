//! `glprobe audit`: every token in a group (or a project, or the instance) that will break a
//! pipeline, found read-only and reported without ever printing a value.
//!
//! The run, in order:
//!
//! 1. [`cli`] — flags into an [`cli::AuditConfig`]; the audit token is read as the check reads it;
//! 2. the audit token is checked with the check engine ([`crate::check`]): dead, expired or
//!    without `read_api` stops the run (exit 1); expiring soon is a finding;
//! 3. [`walk`] — the places are discovered and read by a pool of workers through [`api`]
//!    (GET only, [`pace`]d from `RateLimit-*`), each judged by [`places`] and [`inspect`];
//! 4. [`join`] — duplicates by keyed fingerprint, routable tokens to their bots' inventories;
//! 5. [`probe_found`] — with `--probe-found`, each found token with a read-only probe is checked;
//! 6. [`report`] and [`junit`] — human, JSON and JUnit, and the exit code.
//!
//! ## Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | nothing at or above `--fail-on` |
//! | 1 | the audit token itself is invalid (or lacks `read_api`) |
//! | 2 | usage error |
//! | 3 | findings at or above `--fail-on` |
//! | 4 | incomplete: places not inspectable, rate limited past the deadline |

pub mod api;
pub mod cli;
pub mod findings;
pub mod inspect;
pub mod join;
pub mod junit;
pub mod pace;
pub mod places;
pub mod predefined;
pub mod probe_found;
pub mod report;
pub mod walk;

use std::io::Write as _;
use std::time::Instant;

use crate::probe::http::{Client, Scrubber, Settings};
use crate::reason::{Group, exit};
use crate::token::Kind;
use cli::AuditConfig;
use findings::{Code, Finding, Place, Scope, Severity};
use report::Audit;

/// Runs the audit; returns the exit code. Prints the report and any error.
pub fn run(config: &mut AuditConfig) -> u8 {
    let started = Instant::now();
    // Copies, so that `--probe-found` may lend the check's configuration to each found token.
    let token = &config.check.token.clone();
    let pat_prefix = config.check.pat_prefix.clone();
    let scrubber = Scrubber::new(&[token]);
    let say = |text: &str| eprintln!("glprobe audit: {}", scrubber.scrub(text));
    let Some(server) = &config.check.server.clone() else {
        say("error: no GitLab URL");
        return exit::USAGE;
    };
    let now = api::unix_now();

    // 1. The audit token, with the check engine.
    let class = crate::classify::classify(
        token,
        &crate::classify::Context {
            now,
            pat_prefix: pat_prefix.as_deref(),
        },
    );
    // Only kinds whose check is a GET with the token in a header: access tokens and OAuth
    // tokens (a defect is diagnosed offline, without a request).
    let usable_kind = class.defect.is_some()
        || class.kind.is_access_token()
        || class.candidates.contains(&Kind::OauthAccessToken);
    if !usable_kind {
        say(&format!(
            "the audit token ({}) is {}: the audit needs a personal, project or group access \
             token with read_api (Owner on groups, Maintainer on projects)",
            config.check.source,
            if class.kind == Kind::Unknown {
                "not a GitLab API token".to_owned()
            } else {
                class.kind.with_article()
            }
        ));
        return exit::INVALID;
    }
    let checked = match crate::check(&config.check) {
        Ok(report) => report,
        Err(error) => {
            say(&format!("error: {error}"));
            return exit::USAGE;
        }
    };
    let diagnosis = &checked.diagnosis;
    let first = diagnosis.findings.first();
    let explain = || {
        first.map_or_else(String::new, |f| {
            format!(": {} {}", f.summary.trim_end(), f.next.trim_end())
        })
    };
    match diagnosis.reason.group() {
        Group::Invalid | Group::Requirement => {
            say(&format!(
                "the audit token ({}) cannot be used, reason {}{}",
                config.check.source,
                diagnosis.reason.code(),
                explain()
            ));
            return exit::INVALID;
        }
        Group::Undetermined => {
            say(&format!(
                "the audit token could not be checked, reason {}{}",
                diagnosis.reason.code(),
                explain()
            ));
            return exit::UNDETERMINED;
        }
        Group::Fine => {}
    }
    let mut own = Vec::new();
    if let (Some(days), Some(day)) = (diagnosis.facts.days_left, diagnosis.facts.expires_at)
        && days <= config.min_days_left
    {
        own.push(
            Finding::new(
                Code::TokenExpiring,
                Severity::Expiring,
                Place::new(Scope::Instance, "", "audit token"),
                format!(
                    "The audit's own token expires on {day}, in {days} days; rotate it and update \
                     the variable the scheduled audit reads."
                ),
            )
            .token(Some(diagnosis.kind.name().to_owned()), None),
        );
    }

    // 2. The walk, GET only.
    let settings = Settings {
        base_url: server.url.clone(),
        loopback: server.loopback,
        timeout: config.deadline.saturating_sub(started.elapsed()),
        request_timeout: Some(config.timeout),
        get_only: true,
        proxy: server.proxy.clone(),
        ca_files: config.check.ca_files.clone(),
    };
    // The audit reads values as GitLab stores them (a variable may hold the audit token itself,
    // or invisible characters), so its client scrubs nothing: every report is scrubbed of the
    // audit token below, and texts from GitLab are masked where tokens show (inspect::clean).
    let client = match Client::new(&settings, &[]) {
        Ok(client) => client,
        Err(error) => {
            say(&format!("error: {error}"));
            return exit::USAGE;
        }
    };
    let bearer = class.kind == Kind::OauthAccessToken
        || (class.kind == Kind::Unknown && class.candidates.contains(&Kind::OauthAccessToken));
    let api = api::Api::new(
        client,
        token,
        bearer,
        config.concurrency,
        started + config.deadline,
    );
    let fingerprints = match inspect::Fingerprinter::random() {
        Ok(f) => f,
        Err(error) => {
            say(&format!("error: {error}"));
            return exit::USAGE;
        }
    };
    let ctx = places::Context {
        judge: inspect::Judge {
            fingerprints: &fingerprints,
            now,
            pat_prefix: pat_prefix.as_deref(),
            keep_for_probe: config.probe_found,
        },
        today: crate::date::Day::from_unix(now),
        min_days: config.min_days_left,
        schedules: config.schedules,
    };
    let options = walk::Options {
        concurrency: config.concurrency,
        include_archived: config.include_archived,
    };
    let mut walked = walk::walk(&api, &config.target, &ctx, &options);

    // 3. Joins, and the opt-in probes.
    walked.findings.extend(own);
    walked.findings.extend(join::duplicates(&walked.found));
    walked.findings.extend(join::inventories(
        &walked.found,
        &walked.bots,
        ctx.today,
        ctx.min_days,
    ));
    if config.probe_found {
        let min_days = config.min_days_left;
        let probed = probe_found::probe(&mut config.check, min_days, &walked.found);
        walked.findings.extend(probed.findings);
        if !probed.notes.is_empty() {
            say(&probed.notes.join(" "));
        }
    }
    for found in &mut walked.found {
        found.secret = None;
    }
    let audit = Audit::new(config, server.url.clone(), walked, &api, started.elapsed());

    // 4. The reports.
    let human = scrubber.scrub(&report::human(&audit));
    let json = scrubber.scrub(&report::json(&audit));
    print(if config.json_stdout { &json } else { &human });
    let files = [
        (&config.json_path, json.clone()),
        (&config.junit_path, scrubber.scrub(&junit::render(&audit))),
    ];
    for (path, text) in files {
        if let Some(path) = path
            && let Err(e) = std::fs::write(path, text)
        {
            say(&format!("error: cannot write {path}: {e}"));
            return exit::USAGE;
        }
    }
    audit.exit_code()
}

/// Writes to standard output; a closed pipe (`| head`) is not an error.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
