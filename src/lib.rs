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
pub mod scrub;
pub mod token;

use std::io::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use cli::{Command, Config};
use diagnosis::{Requirements, Situation};
use probe::http::{Client, Scrubber, Settings};
use reason::exit;
use report::{Format, Report};

/// Runs glprobe with these arguments (`args[0]` is the program name) and this environment;
/// returns the exit code. Prints the report and any error; never panics on bad input.
pub fn run(args: &[String], env: &dyn Fn(&str) -> Option<String>) -> u8 {
    let config = match cli::parse(args, env) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Print(text)) => {
            print(&text);
            return exit::OK;
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
    let mut secrets = secrets(&config);
    if classify::lint::is_variable_reference(config.token.expose()) {
        secrets.retain(|s| s != &config.token);
    }
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
fn secrets(config: &Config) -> Vec<token::Token> {
    let mut secrets = vec![config.token.clone()];
    secrets.extend(config.admin_token.clone());
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
    };
    let planned = probe::plan(&class, &inputs);
    let answers = match &config.server {
        Some(server) if !planned.is_empty() => {
            let settings = Settings {
                base_url: server.url.clone(),
                loopback: server.loopback,
                timeout: config.timeout,
                request_timeout: None,
                get_only: false,
                ca_files: config.ca_files.clone(),
            };
            let secrets = secrets(config);
            let client = Client::new(&settings, &secrets.iter().collect::<Vec<_>>())?;
            probe::run(&client, &config.token, &class, &inputs, &planned)
        }
        _ => Vec::new(),
    };
    let requirements = Requirements {
        claim: config.claim.clone(),
        scopes: &config.scopes,
        min_days_left: config.min_days_left,
        access_project: config.access_project.as_deref(),
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
    };
    let diagnosis = diagnosis::diagnose(&class, &answers, &requirements, &situation);
    Ok(Report::new(
        &config.token,
        config.source.clone(),
        &class,
        config.claim.clone(),
        config.server.as_ref().map(|s| s.url.clone()),
        &answers,
        diagnosis,
        now,
    ))
}

/// Prints the report and writes the report files; returns the verdict's exit code, or the
/// usage code when a report file cannot be written.
fn deliver(config: &Config, report: &Report, scrubber: &Scrubber) -> u8 {
    let render = |format| scrubber.scrub(&report.render(format, &config.variable_prefix));
    print(&render(config.format));
    let files = [
        (&config.dotenv_path, Format::Dotenv),
        (&config.json_path, Format::Json),
    ];
    for (path, format) in files {
        if let Some(path) = path
            && let Err(e) = std::fs::write(path, render(format))
        {
            eprintln!("glprobe: error: cannot write {}: {e}", scrubber.scrub(path));
            return exit::USAGE;
        }
    }
    report.diagnosis.exit_code()
}

/// Writes to standard output; a closed pipe (`| head`) is not an error.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}
