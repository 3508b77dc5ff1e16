//! `glprobe audit`'s flags ([`AuditArgs`], parsed by argh) and the validated [`AuditConfig`].
//!
//! The audit token, the URL and the CA files go through the same code as the check's
//! (`cli::Config::from_args`), so the sources and rules are the same: `--token-env`,
//! `--token-file`, else `$GITLAB_TOKEN`; https only, except on loopback.

use std::time::Duration;

use argh::FromArgs;

use super::findings::Severity;
use super::walk::Target;
use crate::cli::{Args, Config, OsArgs, UsageError};

/// Find every token in a group that will break a pipeline, read-only, without printing a value.
#[derive(FromArgs, Debug)]
#[argh(
    note = "Reads only (every request is a GET). Needs read_api; Owner on groups and Maintainer\n\
            on projects to read their variables and access tokens. GitLab's paid editions may\n\
            record an audit event for each variable list read.",
    error_code(0, "nothing at or above --fail-on"),
    error_code(
        1,
        "the audit token itself is invalid, expired, revoked or lacks read_api"
    ),
    error_code(2, "usage error"),
    error_code(3, "findings at or above --fail-on"),
    error_code(
        4,
        "the audit is incomplete: places not inspectable, or rate limited past the deadline"
    )
)]
pub struct AuditArgs {
    /// the group to audit, with its subgroups and projects (full path or id)
    #[argh(option, arg_name = "PATH_OR_ID")]
    pub group: Option<String>,

    /// audit one project (full path or id)
    #[argh(option, arg_name = "PATH_OR_ID")]
    pub project: Option<String>,

    /// audit the whole instance: instance variables, every group and project (administrator)
    #[argh(switch)]
    pub instance: bool,

    /// read the audit token from this environment variable
    #[argh(option, arg_name = "NAME")]
    pub token_env: Option<String>,

    /// read the audit token from this file ("-" for standard input)
    #[argh(option, arg_name = "PATH")]
    pub token_file: Option<String>,

    /// the GitLab URL (default: $CI_SERVER_URL, else from $CI_API_V4_URL, else https://gitlab.com)
    #[argh(option)]
    pub url: Option<String>,

    /// PEM file of CA certificates to trust instead of the embedded roots
    #[argh(option, arg_name = "PATH")]
    pub ca_file: Option<String>,

    /// the instance's custom personal access token prefix, if an administrator set one
    #[argh(option, arg_name = "PREFIX")]
    pub pat_prefix: Option<String>,

    /// seconds one request may take, retries included (default: 10)
    #[argh(option, arg_name = "SECONDS", default = "10.0")]
    pub timeout: f64,

    /// seconds the whole audit may take (default: 3600)
    #[argh(option, arg_name = "SECONDS", default = "3600.0")]
    pub deadline: f64,

    /// concurrent requests, 1 to 16 (default: 4)
    #[argh(option, arg_name = "N", default = "4")]
    pub concurrency: usize,

    /// a token expiring within this many days is a finding (default: 30)
    #[argh(option, arg_name = "N", default = "30")]
    pub min_days_left: u32,

    /// the least severe finding that fails the audit (exit 3): broken, expiring, fragile,
    /// exposure or uninspectable (default: expiring)
    #[argh(option, arg_name = "SEVERITY", default = "Severity::Expiring")]
    pub fail_on: Severity,

    /// also read each pipeline schedule's variables (one request per schedule)
    #[argh(switch)]
    pub schedules: bool,

    /// audit archived projects too
    #[argh(switch)]
    pub include_archived: bool,

    /// validate each token found that has a read-only probe, with that token (serially, at
    /// most one a second; GitLab records the use)
    #[argh(switch)]
    pub probe_found: bool,

    /// report on standard output: human or json (default: human)
    #[argh(option, default = "String::from(\"human\")")]
    pub format: String,

    /// also write the JSON report to this file
    #[argh(option, arg_name = "PATH")]
    pub json: Option<String>,

    /// write a JUnit XML report to this file (one test case per place)
    #[argh(option, arg_name = "PATH")]
    pub junit: Option<String>,
}

/// The validated audit configuration.
#[derive(Debug)]
pub struct AuditConfig {
    /// The check's configuration for the audit token (token, server, CA files, per-request
    /// timeout); the audit token is checked with it.
    pub check: Config,
    /// What to audit.
    pub target: Target,
    /// Per-request timeout.
    pub timeout: Duration,
    /// The whole run's budget.
    pub deadline: Duration,
    /// Worker threads.
    pub concurrency: usize,
    /// `--min-days-left`.
    pub min_days_left: i64,
    /// `--fail-on`.
    pub fail_on: Severity,
    /// `--schedules`.
    pub schedules: bool,
    /// `--include-archived`.
    pub include_archived: bool,
    /// `--probe-found`.
    pub probe_found: bool,
    /// JSON on standard output.
    pub json_stdout: bool,
    /// `--json`.
    pub json_path: Option<String>,
    /// `--junit`.
    pub junit_path: Option<String>,
}

/// What `glprobe audit …` asks for.
#[derive(Debug)]
pub enum AuditCommand {
    /// Run the audit.
    Run(Box<AuditConfig>),
    /// Print this text and exit 0 (`--help`).
    Print(String),
}

/// Parses `glprobe audit …` (`args[0]` is the program name, `args[1]` is `audit`).
pub fn parse(
    args: &[String],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<AuditCommand, UsageError> {
    let rest: Vec<&str> = args.iter().skip(2).map(String::as_str).collect();
    let parsed = match AuditArgs::from_args(&["glprobe audit"], &rest) {
        Ok(parsed) => parsed,
        Err(early) if early.status.is_ok() => return Ok(AuditCommand::Print(early.output)),
        Err(early) => return Err(UsageError(argh_error(&early.output))),
    };
    let usage = |m: &str| Err(UsageError(m.to_owned()));
    let target = match (&parsed.group, &parsed.project, parsed.instance) {
        (Some(g), None, false) if !g.trim().is_empty() => Target::Group(g.trim().to_owned()),
        (None, Some(p), false) if !p.trim().is_empty() => Target::Project(p.trim().to_owned()),
        (None, None, true) => Target::Instance,
        _ => {
            return usage(
                "give exactly one of --group PATH_OR_ID, --project PATH_OR_ID, --instance",
            );
        }
    };
    let safe_path = |p: &str| {
        p.len() <= 255
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-./".contains(&b))
    };
    if let Target::Group(p) | Target::Project(p) = &target
        && !safe_path(p)
    {
        return usage("--group and --project take a full path (letters, digits, _ - . /) or an id");
    }
    if let Target::Group(p) | Target::Project(p) = &target {
        crate::cli::refuse_token_shaped("--group or --project", p)?;
    }
    for path in [&parsed.junit, &parsed.json].into_iter().flatten() {
        crate::cli::refuse_token_shaped("--junit or --json", path)?;
    }
    if !(parsed.timeout > 0.0 && parsed.timeout <= 600.0) {
        return usage("--timeout must be more than 0 and at most 600 seconds");
    }
    if !(parsed.deadline > 0.0 && parsed.deadline <= 7.0 * 86_400.0) {
        return usage("--deadline must be more than 0 and at most 604800 seconds (a week)");
    }
    if !(1..=16).contains(&parsed.concurrency) {
        return usage("--concurrency must be between 1 and 16");
    }
    let json_stdout = match parsed.format.as_str() {
        "human" => false,
        "json" => true,
        _ => return usage("invalid value for --format: expected human or json"),
    };
    // The audit token, the URL and the CA files, exactly as the check reads them.
    let mut base: Vec<String> = Vec::new();
    let mut pass = |flag: &str, value: &Option<String>| {
        if let Some(v) = value {
            base.push(flag.to_owned());
            base.push(v.clone());
        }
    };
    pass("--token-env", &parsed.token_env);
    pass("--token-file", &parsed.token_file);
    pass("--url", &parsed.url);
    pass("--ca-file", &parsed.ca_file);
    pass("--pat-prefix", &parsed.pat_prefix);
    base.extend([
        "--timeout".to_owned(),
        seconds(parsed.timeout),
        "--require-scopes".to_owned(),
        "read_api".to_owned(),
    ]);
    let base: Vec<&str> = base.iter().map(String::as_str).collect();
    let args = Args::from_args(&["glprobe"], &base)
        .map_err(|early| UsageError(argh_error(&early.output)))?;
    // An audit token never comes from $CI_JOB_TOKEN: a job token cannot read variables.
    let check = Config::from_args(args, &OsArgs::utf8(), env)?;
    Ok(AuditCommand::Run(Box::new(AuditConfig {
        check,
        target,
        timeout: Duration::from_secs_f64(parsed.timeout),
        deadline: Duration::from_secs_f64(parsed.deadline),
        concurrency: parsed.concurrency,
        min_days_left: i64::from(parsed.min_days_left),
        fail_on: parsed.fail_on,
        schedules: parsed.schedules,
        include_archived: parsed.include_archived,
        probe_found: parsed.probe_found,
        json_stdout,
        json_path: parsed.json,
        junit_path: parsed.junit,
    })))
}

/// Seconds as `S.mmm` (without float formatting, which the binary would carry for this alone).
fn seconds(value: f64) -> String {
    let ms = Duration::from_secs_f64(value).as_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// argh's error without the values it quotes: a value may be a token given by mistake.
fn argh_error(output: &str) -> String {
    let first = output.lines().next().unwrap_or_default();
    if first.starts_with("Unrecognized argument") {
        return "unknown flag or unexpected argument (see glprobe audit --help); the token is \
                never an argument (use --token-env NAME or --token-file PATH)"
            .to_owned();
    }
    if let Some(rest) = first.strip_prefix("Error parsing option '") {
        let flag = rest.split('\'').next().unwrap_or_default();
        let why = rest.rsplit_once("': ").map_or("", |(_, why)| why);
        return format!("invalid value for {flag}: {why}");
    }
    format!("{first} (see glprobe audit --help)")
}
