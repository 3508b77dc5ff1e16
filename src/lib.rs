//! glprobe identifies a GitLab token from its text, asks GitLab the one side-effect-free
//! question that settles its validity, and explains the verdict for people (text), programs
//! (JSON) and pipelines (dotenv).
//!
//! The modules follow the pipeline of a run:
//!
//! 1. [`cli`] — flags and environment into a validated [`cli::Config`]; reads the token;
//! 2. [`token`] and [`classify`] — the secret, and what its text alone says (pure);
//! 3. [`probe`] — which request settles each kind, and sending it ([`probe::http`] is the only
//!    module that imports ureq);
//! 4. [`diagnosis`] — answers into a verdict with reasons and next steps (pure);
//! 5. [`report`] — the verdict as human text, JSON or dotenv (pure).
//!
//! `glprobe audit` ([`audit`]) applies the same classifier and check engine to every token in
//! a group's CI/CD variables and inventories, read-only.
//!
//! ## Exit codes
//!
//! | code | meaning |
//! |---|---|
//! | 0 | valid, and every requirement met (`--offline`: nothing wrong found) |
//! | 1 | invalid: missing, malformed, corrupted, unknown, expired, revoked, job not running, user blocked |
//! | 2 | usage error |
//! | 3 | valid, but a requirement failed: kind mismatch, scope, expiry window, project access |
//! | 4 | undetermined: network, TLS, server error, no safe probe |
//!
//! ## Secrets
//!
//! The token lives in [`token::Token`], which cannot be printed. Reports carry only its kind,
//! masked form and fingerprint; every text kept from a response is scrubbed of it.

#![deny(missing_docs)]

pub mod audit;
pub mod classify;
pub mod cli;
pub mod date;
pub mod diagnosis;
pub mod probe;
pub mod reason;
pub mod report;
pub mod request;
pub mod scrub;
pub mod token;

use std::ffi::OsString;
use std::io::Write as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use cli::{Command, Config};
use diagnosis::{Requirements, Situation};
use probe::http::{Client, Scrubber, Settings};
use reason::exit;
use report::{Format, Report};

/// Runs glprobe with these arguments (`args[0]` is the program name) and this environment;
/// returns the exit code. Prints the report and any error; never panics on bad input.
pub fn run(args: &[OsString], env: &dyn Fn(&str) -> Option<String>) -> u8 {
    let config = match cli::parse(args, env) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Print(text)) => {
            return match print(&text) {
                Ok(()) => exit::OK,
                Err(e) => {
                    eprintln!("glprobe: error: cannot write to standard output: {e}");
                    exit::USAGE
                }
            };
        }
        Ok(Command::Audit(mut config)) => return audit::run(&mut config),
        Err(error) => {
            eprintln!("glprobe: error: {error}");
            return exit::USAGE;
        }
    };
    // Whatever is printed or written from here on passes through this scrubber: the reports
    // never hold the token, and this makes sure of it (a user name or project given the
    // token's value by mistake, say).
    let secrets = secrets(&config);
    let scrubber = Scrubber::new(&secrets.iter().collect::<Vec<_>>());
    match check(&config) {
        Ok(report) => deliver(&config, &report, &scrubber),
        Err(error) => {
            eprintln!("glprobe: error: {}", scrubber.scrub(&error));
            exit::USAGE
        }
    }
}

/// Every secret of the run, in the form it travels: the token, the administrator's token, and
/// the `user:token` pair of basic authentication (its base64 is what goes on the wire).
/// A placeholder in the token's place (`$NAME`, a variable's name, `[MASKED]`) is no secret:
/// it and the pairs made of it are left out, so that its explanation can quote it.
fn secrets(config: &Config) -> Vec<token::Token> {
    let mut secrets = config.admin_token.clone().into_iter().collect::<Vec<_>>();
    secrets.extend(config.repository_job_token.clone());
    if let Some(request) = &config.request {
        secrets.extend(request.secret_values().iter().map(|v| token::Token::new(v)));
    }
    if classify::lint::is_placeholder(config.token.expose()) {
        return secrets;
    }
    secrets.push(config.token.clone());
    // The basic-auth pairs of the git and registry access checks.
    for login in ["gitlab-ci-token", "oauth2"] {
        secrets.push(token::Token::new(&format!(
            "{login}:{}",
            config.token.expose()
        )));
    }
    if let Some(user) = &config.username {
        secrets.push(token::Token::new(&format!(
            "{user}:{}",
            config.token.expose()
        )));
    }
    secrets
}

/// Classifies, probes and diagnoses the configured token.
pub fn check(config: &Config) -> Result<Report, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let class = classify::classify(
        &config.token,
        &classify::Context {
            now,
            pat_prefix: config.pat_prefix.as_deref(),
        },
    );
    let inputs = probe::Inputs {
        username: config.username.as_deref(),
        project: config.project.as_deref(),
        access_project: config.access_project.as_deref(),
        allow_runner_verify: config.allow_runner_verify,
        admin: config.admin_token.as_ref(),
        access: &config.access,
        access_explicit: config.access_explicit,
    };
    let situation = Situation {
        source: &config.source,
        variable_set: config.variable_set,
        ref_protected: config.ref_protected,
        now,
        offline: config.server.is_none(),
        server_host: config.server.as_ref().map_or("", |s| s.host.as_str()),
        username: config.username.as_deref(),
        username_from_ci: config.username_from_ci,
        project: config.project.as_deref(),
        project_from_ci: config.project_from_ci,
        admin_token: config.admin_token.is_some(),
        ca_source: config.ca_source.as_deref(),
        ci_job_id: config.ci_job_id,
        job_token_override: job_token_override(config, &class),
    };
    let planned = probe::plan(&class, &inputs);
    // A job token of another instance goes nowhere: --url would only refuse it. Without a
    // client, nothing at all can be sent.
    let foreign = config
        .server
        .as_ref()
        .is_some_and(|s| class.foreign_issuer(&s.host).is_some());
    let client = match &config.server {
        Some(server) if !foreign && (!planned.is_empty() || config.request.is_some()) => {
            let settings = Settings {
                base_url: server.url.clone(),
                loopback: server.loopback,
                timeout: config.deadline.saturating_duration_since(Instant::now()),
                request_timeout: None,
                get_only: false,
                proxy: server.proxy.clone(),
                ca_files: config.ca_files.clone(),
            };
            let secrets = secrets(config);
            Some(Client::new(&settings, &secrets.iter().collect::<Vec<_>>())?)
        }
        _ => None,
    };
    let answers = match &client {
        Some(client) if !planned.is_empty() => {
            let mut answers = probe::run(client, &config.token, &class, &inputs, &planned);
            // Git and registry checks that feed the failed-auth ban wait for a valid token.
            if let Some(kind) = diagnosis::accepted(&class, &answers, &situation) {
                let more = probe::access::second_wave(
                    client,
                    &config.token,
                    &class,
                    kind,
                    &inputs,
                    &answers,
                );
                answers.extend(more);
            }
            answers
        }
        _ => Vec::new(),
    };
    let requirements = Requirements {
        claim: config.claim.clone(),
        scopes: &config.scopes,
        min_days_left: config.min_days_left,
        access_project: config.access_project.as_deref(),
        access: &config.access,
        access_explicit: config.access_explicit,
    };
    let mut diagnosis = diagnosis::diagnose(&class, &answers, &requirements, &situation);
    // `--request`: after the token's own check, the request itself (GET and HEAD only).
    let explained = config.request.as_ref().map(|parsed| {
        let exchange = client
            .as_ref()
            .filter(|_| diagnosis::request::should_send(parsed, diagnosis.kind, diagnosis.validity))
            .and_then(|client| probe::request::send(client, diagnosis.kind, &config.token, parsed));
        let context = diagnosis::request::Context {
            kind: diagnosis.kind,
            validity: diagnosis.validity,
            token_reason: diagnosis.reason,
            facts: &diagnosis.facts,
            offline: situation.offline,
            ci_project_path: config.ci_project_path.as_deref(),
        };
        let explained = diagnosis::request::explain(parsed, &context, exchange.as_ref());
        (explained, exchange)
    });
    if let Some((explained, _)) = &explained {
        diagnosis.add_request(explained);
    }
    let mut report = Report::new(
        &config.token,
        config.source.clone(),
        &class,
        config.claim.clone(),
        config.server.as_ref().map(|s| s.url.clone()),
        &answers,
        diagnosis,
        now,
    );
    if let Some((explained, exchange)) = explained {
        report.add_request(explained.verdict, exchange.as_ref());
    }
    Ok(report)
}

/// Whether `CI_JOB_TOKEN` is not the job's own token: it differs from the password GitLab put
/// in `CI_REPOSITORY_URL`, or it is a JWT of another job than `CI_JOB_ID`. Compared in memory.
fn job_token_override(
    config: &Config,
    class: &classify::Classification,
) -> Option<diagnosis::Override> {
    if config.source.variable() != Some("CI_JOB_TOKEN") || config.token.is_empty() {
        return None;
    }
    if let Some(own) = &config.repository_job_token {
        return (own != &config.token).then_some(diagnosis::Override::RepositoryUrl);
    }
    let token = class.job.as_ref()?.job_id?;
    let running = config.ci_job_id?;
    (token != running).then_some(diagnosis::Override::JobId { token, running })
}

/// Writes the report files, then prints the report; returns the verdict's exit code, or the
/// usage code when a file or standard output cannot be written (files first, so that nothing
/// on standard output claims a verdict whose files are missing).
fn deliver(config: &Config, report: &Report, scrubber: &Scrubber) -> u8 {
    let render = |format| {
        let text = report.render(format, &config.variable_prefix);
        match format {
            Format::Json => scrubber.scrub_json_text(&text),
            _ => scrubber.scrub(&text),
        }
    };
    let files = [
        (&config.dotenv_path, Format::Dotenv),
        (&config.json_path, Format::Json),
    ];
    for (path, format) in files {
        if let Some(path) = path
            && let Err(e) = write_within(path, render(format), config.deadline)
        {
            eprintln!(
                "glprobe: error: cannot write {}: {e}",
                scrubber.scrub(&cli::display_path(path))
            );
            return exit::USAGE;
        }
    }
    let mut text = render(config.format);
    if config.format == Format::Human {
        text = report::colour::paint(&text, report, config.colour, report.now);
    }
    if let Err(e) = print(&text) {
        eprintln!("glprobe: error: cannot write the report to standard output: {e}");
        return exit::USAGE;
    }
    report.diagnosis.exit_code()
}

/// Writes a report file on a thread of its own: a FIFO nobody reads would block forever. The
/// write gets what is left of `--timeout`, and at least two seconds.
fn write_within(path: &std::path::Path, text: String, deadline: Instant) -> std::io::Result<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_owned();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::write(owned, text));
    });
    let wait = deadline
        .saturating_duration_since(Instant::now())
        .max(std::time::Duration::from_secs(2));
    rx.recv_timeout(wait).unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the write did not end in time (a FIFO nobody reads?)",
        ))
    })
}

/// Writes to standard output. A closed pipe (`| head`) is not an error: the reader chose to
/// stop; any other failure (`> /dev/full`) is.
fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
