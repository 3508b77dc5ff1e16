//! The command line: the raw flags ([`Args`], parsed by argh) and the validated [`Config`]
//! built from them and the environment.
//!
//! This is the only stage that reads the environment and the token and CA files; everything
//! after it gets values. A problem here is a usage error (exit 2), reported in one line.

mod args;
mod checks;
mod read;
mod server;

pub use args::Args;
pub use checks::{display_path, refuse_token_shaped};
use checks::{project_path, refuse_clobbering, refuse_os_placeholders, repository_job_token};
pub use server::{no_proxy_matches, parse_server_url};

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use argh::FromArgs;

use crate::classify;
use crate::diagnosis::Claim;
use crate::probe::access::Surface;
use crate::report::{Format, colour, dotenv};
use crate::token::{Kind, Source, Token};

/// A usage error: exit 2, one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where GitLab is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The base URL without a trailing slash.
    pub url: String,
    /// Host and port, as shown in explanations.
    pub host: String,
    /// The host is a loopback address.
    pub loopback: bool,
    /// The scheme is plain `http` (loopback only).
    pub plain_http: bool,
    /// The proxy to use, from the environment, `NO_PROXY` applied (never for loopback).
    pub proxy: Option<String>,
}

/// The validated configuration of one run.
#[derive(Debug)]
pub struct Config {
    /// The token.
    pub token: Token,
    /// Where it came from.
    pub source: Source,
    /// For an environment source: whether the variable was set at all.
    pub variable_set: bool,
    /// `CI_COMMIT_REF_PROTECTED`.
    pub ref_protected: Option<bool>,
    /// The server, unless offline.
    pub server: Option<Server>,
    /// The report on standard output.
    pub format: Format,
    /// How to paint the human report on standard output.
    pub colour: colour::Style,
    /// Where to also write the dotenv report.
    pub dotenv_path: Option<PathBuf>,
    /// Where to also write the JSON report.
    pub json_path: Option<PathBuf>,
    /// The dotenv variable prefix.
    pub variable_prefix: String,
    /// The kind claim (`--expect`, or the variable's name).
    pub claim: Option<Claim>,
    /// `--require-scopes`.
    pub scopes: Vec<String>,
    /// `--min-days-left`.
    pub min_days_left: Option<i64>,
    /// The project for trigger and Unleash checks.
    pub project: Option<String>,
    /// The project came from `CI_PROJECT_ID`, not `--project`.
    pub project_from_ci: bool,
    /// The project to check access to (`--project`; with `--access`, else `CI_PROJECT_PATH`,
    /// else `CI_PROJECT_ID`).
    pub access_project: Option<String>,
    /// The surfaces to check on it (`--access`; `api` for `--project` alone).
    pub access: Vec<Surface>,
    /// The surfaces were asked with `--access`.
    pub access_explicit: bool,
    /// The deploy token user name.
    pub username: Option<String>,
    /// The user name came from `CI_DEPLOY_USER`, not `--username`.
    pub username_from_ci: bool,
    /// The run's budget.
    pub timeout: Duration,
    /// When the run's budget ends (`--timeout` from the start): reading the inputs counts.
    pub deadline: Instant,
    /// CA files: `(path as shown, contents)`.
    pub ca_files: Vec<(String, Vec<u8>)>,
    /// Where the trusted CAs came from, for explanations (`None`: the embedded roots).
    pub ca_source: Option<String>,
    /// `--pat-prefix`.
    pub pat_prefix: Option<String>,
    /// An administrator's token.
    pub admin_token: Option<Token>,
    /// `--allow-runner-verify`.
    pub allow_runner_verify: bool,
    /// The job token GitLab put in `CI_REPOSITORY_URL` (user `gitlab-ci-token`): compared with
    /// `CI_JOB_TOKEN` in memory, scrubbed like the token, never shown.
    pub repository_job_token: Option<Token>,
    /// `CI_JOB_ID`, when glprobe runs in a job.
    pub ci_job_id: Option<u64>,
    /// `--request`: the request to explain.
    pub request: Option<crate::request::Parsed>,
    /// `CI_PROJECT_PATH`: the job's own project, for `--request`.
    pub ci_project_path: Option<String>,
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    /// Probe a token.
    Run(Box<Config>),
    /// Print this text to standard output and exit 0 (`--help`, `--version`).
    Print(String),
    /// `glprobe audit …` (issue 11): flags in [`crate::audit::cli`].
    Audit(Box<crate::audit::cli::AuditConfig>),
}

/// Parses the command line (`args[0]` is the program name). `env` reads the environment.
///
/// Before argh sees them, `--flag=value` is split in two, and `-h` and `-V` stand for `--help`
/// and `--version`. Arguments that are not UTF-8 (a path can be any bytes) reach argh as
/// placeholders and come back as the OS strings they were: see [`OsArgs`].
pub fn parse(
    args: &[OsString],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Command, UsageError> {
    if args.get(1).is_some_and(|a| a == "audit") {
        // The audit's flags are its own (src/audit/cli.rs); its paths are taken as UTF-8.
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        return crate::audit::cli::parse(&args, env).map(|c| match c {
            crate::audit::cli::AuditCommand::Run(config) => Command::Audit(config),
            crate::audit::cli::AuditCommand::Print(text) => Command::Print(text),
        });
    }
    let os = OsArgs::new(args.get(1..).unwrap_or_default());
    let name = args
        .first()
        .and_then(|n| Path::new(n).file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("glprobe");
    let rest: Vec<&str> = os.strs.iter().map(String::as_str).collect();
    let args = match Args::from_args(&[name], &rest) {
        Ok(args) => args,
        Err(early) if early.status.is_ok() => return Ok(Command::Print(early.output)),
        Err(early) => return Err(UsageError(argh_error(&early.output))),
    };
    if args.json_schema {
        return Ok(Command::Print(crate::report::json::SCHEMA.to_owned()));
    }
    if args.version {
        return Ok(Command::Print(format!(
            "glprobe {}\n",
            env!("CARGO_PKG_VERSION")
        )));
    }
    Config::from_args(args, &os, env).map(|c| Command::Run(Box::new(c)))
}

/// The arguments as argh takes them (`&str`), with the OS strings behind any that are not
/// UTF-8.
pub struct OsArgs {
    strs: Vec<String>,
    os: Vec<OsString>,
}

/// What stands for a non-UTF-8 argument while argh parses (NUL never occurs in an argument).
const OS_PLACEHOLDER: &str = "\0glprobe-os-argument-";

impl OsArgs {
    /// No arguments that were not UTF-8: for a command line built as text (the audit's check).
    pub fn utf8() -> OsArgs {
        OsArgs {
            strs: Vec::new(),
            os: Vec::new(),
        }
    }

    fn new(args: &[OsString]) -> OsArgs {
        let mut strs = Vec::new();
        let mut os = Vec::new();
        let mut flags_done = false;
        for arg in args {
            let Some(text) = arg.to_str() else {
                strs.push(format!("{OS_PLACEHOLDER}{}", os.len()));
                os.push(arg.clone());
                continue;
            };
            match text {
                "--" => flags_done = true,
                "-h" if !flags_done => {
                    strs.push("--help".to_owned());
                    continue;
                }
                "-V" if !flags_done => {
                    strs.push("--version".to_owned());
                    continue;
                }
                _ => {}
            }
            if !flags_done
                && text.starts_with("--")
                && let Some((flag, value)) = text.split_once('=')
            {
                strs.push(flag.to_owned());
                strs.push(value.to_owned());
                continue;
            }
            strs.push(text.to_owned());
        }
        OsArgs { strs, os }
    }

    /// A path-valued flag's value as the OS string it was given as.
    fn path(&self, value: &str) -> PathBuf {
        value
            .strip_prefix(OS_PLACEHOLDER)
            .and_then(|i| i.parse::<usize>().ok())
            .and_then(|i| self.os.get(i))
            .map_or_else(|| PathBuf::from(value), PathBuf::from)
    }
}

/// argh's error, without the values it quotes: a value may be a token given by mistake.
fn argh_error(output: &str) -> String {
    let first = output.lines().next().unwrap_or_default();
    if let Some(rest) = first.strip_prefix("Unrecognized argument: ") {
        let arg = rest.split('"').find(|s| !s.is_empty()).unwrap_or_default();
        let is_flag = arg.len() <= 40
            && arg.starts_with("--")
            && arg[2..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        return if is_flag {
            format!("unknown flag {arg} (see glprobe --help)")
        } else {
            "unexpected argument: glprobe takes no positional arguments, and never the token \
             itself (use --token-env NAME or --token-file PATH)"
                .to_owned()
        };
    }
    if let Some(rest) = first.strip_prefix("Error parsing option '") {
        let flag = rest.split('\'').next().unwrap_or_default();
        let why = rest.rsplit_once("': ").map_or("", |(_, why)| why);
        return format!("invalid value for {flag}: {why}");
    }
    format!("{first} (see glprobe --help)")
}

/// The name given to --token-env or --admin-token-env, checked. A value that is not a name is
/// never repeated in the error: it may well be the token itself.
fn variable_name<'a>(
    flag: &str,
    name: &'a str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<&'a str, UsageError> {
    let is_name = !name.is_empty()
        && name.len() <= 255
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !is_name {
        return Err(UsageError(format!(
            "{flag} takes the name of an environment variable (letters, digits and _), not a value"
        )));
    }
    if env(name).is_none() {
        let class = classify::classify(&Token::new(name), &classify::Context::default());
        if class.kind != Kind::Unknown || !class.candidates.is_empty() {
            return Err(UsageError(format!(
                "{flag} takes the name of an environment variable; what was given is not set and \
                 looks like a token itself: pass the variable's name, never the token"
            )));
        }
    }
    Ok(name)
}

impl Config {
    /// Validates the flags and reads what they point at.
    pub fn from_args(
        args: Args,
        os: &OsArgs,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, UsageError> {
        let usage = |m: String| Err(UsageError(m));
        refuse_os_placeholders(&args)?;
        for (flag, value) in [
            ("--project", &args.project),
            ("--username", &args.username),
            ("--token-file", &args.token_file),
            ("--dotenv", &args.dotenv),
            ("--json", &args.json),
            ("--ca-file", &args.ca_file),
            ("--pat-prefix", &args.pat_prefix),
            ("--require-scopes", &args.require_scopes),
            ("--variable-prefix", &Some(args.variable_prefix.clone())),
        ] {
            if let Some(value) = value {
                let value = os.path(value).to_string_lossy().into_owned();
                refuse_token_shaped(flag, &value)?;
                // A token percent-encoded (`glpat%2D…`) is the token all the same.
                refuse_token_shaped(flag, &crate::scrub::percent_decode(&value))?;
            }
        }
        refuse_clobbering(&args, os)?;
        let mut args = args;
        if let Some(project) = args.project.take() {
            args.project = Some(project_path(&project)?);
        }
        for name in [
            "CI_PROJECT_ID",
            "CI_DEPLOY_USER",
            "CI_SERVER_TLS_CA_FILE",
            "SSL_CERT_FILE",
        ] {
            if let Some(value) = env(name) {
                refuse_token_shaped(&format!("${name}"), &value)?;
            }
        }
        dotenv::check_prefix(&args.variable_prefix).map_err(UsageError)?;
        if !(args.timeout > 0.0 && args.timeout <= 600.0) {
            return usage("--timeout must be more than 0 and at most 600 seconds".into());
        }
        let scopes = match args.require_scopes.as_deref() {
            None => Vec::new(),
            Some(list) => parse_scopes(list)?,
        };
        let (access, access_explicit) = match args.access.as_deref() {
            None => (vec![Surface::Api], false),
            Some(list) => match Surface::parse_list(list) {
                Some(surfaces) => (surfaces, true),
                None => {
                    return usage(
                        "--access takes surfaces separated by commas, from api, git, registry \
                         and packages"
                            .into(),
                    );
                }
            },
        };
        let nonempty_env = |name: &str| env(name).filter(|s| !s.trim().is_empty());
        let access_project = match nonempty_flag(args.project.as_deref()) {
            Some(project) => Some(project),
            None if access_explicit => {
                match nonempty_env("CI_PROJECT_PATH").or_else(|| nonempty_env("CI_PROJECT_ID")) {
                    Some(project) => Some(project),
                    None => {
                        return usage(
                            "--access needs a project: pass --project ID_OR_PATH (in a CI job, \
                         $CI_PROJECT_PATH is used)"
                                .into(),
                        );
                    }
                }
            }
            None => None,
        };
        if let Some(user) = args
            .username
            .as_deref()
            .or(env("CI_DEPLOY_USER").as_deref())
            && user.chars().any(|c| c == ':' || c.is_control())
        {
            return usage(
                "--username (or $CI_DEPLOY_USER) holds a colon or a control character: no \
                 GitLab user name does, and basic authentication cannot carry it"
                    .into(),
            );
        }
        let timeout = Duration::from_secs_f64(args.timeout);
        // One budget for the whole run: the reads below, then every request.
        let deadline = Instant::now() + timeout;
        let (token, source, variable_set) = read::token(&args, os, env, deadline)?;
        let claim = match args.expect {
            Some(kind) => Some(Claim {
                kind,
                variable: None,
            }),
            None => source.claimed_kind().map(|kind| Claim {
                kind,
                variable: source.variable().map(str::to_owned),
            }),
        };
        let admin_token = match &args.admin_token_env {
            None => None,
            Some(name) => {
                let name = variable_name("--admin-token-env", name, env)?;
                match env(name).filter(|v| !v.trim().is_empty()) {
                    Some(value) => Some(Token::new(&value)),
                    None => {
                        return usage(format!("--admin-token-env: ${name} is not set or empty"));
                    }
                }
            }
        };
        // A full URL in --request is checked against the GitLab URL even offline.
        let request_url = args.request.as_deref().is_some_and(|r| r.contains("://"));
        let configured = if args.offline && !request_url {
            None
        } else {
            Some(server::server(&args, env)?)
        };
        let server = configured.clone().filter(|_| !args.offline);
        // Plain http (loopback only) needs no CA: the files are not even read.
        let (ca_files, ca_source) = match &server {
            Some(s) if !s.plain_http => read::ca_files(&args, os, env, deadline)?,
            _ => (Vec::new(), None),
        };
        // Values people paste come with spaces: `--project "7 "` is project 7.
        let nonempty = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let request = match args.request.as_deref() {
            None => None,
            Some(text) => {
                Some(crate::request::parse(text, configured.as_ref()).map_err(UsageError)?)
            }
        };
        Ok(Config {
            token,
            source,
            variable_set,
            ref_protected: env("CI_COMMIT_REF_PROTECTED").map(|v| v == "true"),
            server,
            format: args.format,
            colour: colour::Setting {
                choice: args.color,
                terminal: std::io::IsTerminal::is_terminal(&std::io::stdout()),
                gitlab_job: env("GITLAB_CI").as_deref() == Some("true"),
                no_color: env("NO_COLOR").is_some_and(|v| !v.is_empty()),
                force: env("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0"),
            }
            .style(),
            dotenv_path: args.dotenv.as_deref().map(|p| os.path(p)),
            json_path: args.json.as_deref().map(|p| os.path(p)),
            variable_prefix: args.variable_prefix,
            claim,
            scopes,
            // At least 0 days left asks nothing of a valid token.
            min_days_left: args.min_days_left.filter(|&n| n > 0).map(i64::from),
            project_from_ci: nonempty(args.project.clone()).is_none()
                && nonempty(env("CI_PROJECT_ID")).is_some(),
            project: nonempty(args.project.clone()).or_else(|| nonempty(env("CI_PROJECT_ID"))),
            access_project,
            access,
            access_explicit,
            username_from_ci: nonempty(args.username.clone()).is_none()
                && nonempty(env("CI_DEPLOY_USER")).is_some(),
            username: nonempty(args.username).or_else(|| nonempty(env("CI_DEPLOY_USER"))),
            timeout,
            deadline,
            ca_files,
            ca_source,
            pat_prefix: nonempty(args.pat_prefix),
            admin_token,
            allow_runner_verify: args.allow_runner_verify,
            repository_job_token: env("CI_REPOSITORY_URL")
                .as_deref()
                .and_then(repository_job_token),
            ci_job_id: env("CI_JOB_ID").and_then(|id| id.trim().parse().ok()),
            request,
            ci_project_path: nonempty(env("CI_PROJECT_PATH")),
        })
    }
}

/// A flag's value, unless empty or blank.
fn nonempty_flag(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn parse_scopes(list: &str) -> Result<Vec<String>, UsageError> {
    let scopes: Vec<String> = list
        .split(',')
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
    if scopes.is_empty()
        || scopes
            .iter()
            .any(|s| !s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    {
        return Err(UsageError(
            "--require-scopes takes scope names separated by commas, like read_api,read_registry"
                .into(),
        ));
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests;
