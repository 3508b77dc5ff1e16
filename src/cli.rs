//! The command line: the raw flags ([`Args`], parsed by argh) and the validated [`Config`]
//! built from them and the environment.
//!
//! This is the only stage that reads the environment and the token and CA files; everything
//! after it gets values. A problem here is a usage error (exit 2), reported in one line.

use std::fmt;
use std::io::Read as _;
use std::time::Duration;

use argh::FromArgs;

use crate::classify;
use crate::diagnosis::Claim;
use crate::report::{Format, dotenv};
use crate::token::{Kind, Source, Token};

/// Identify a GitLab token from its text, check it with one side-effect-free request, and
/// explain the verdict.
#[derive(FromArgs, Debug)]
#[argh(
    note = "The token is never taken as an argument (process lists and shell history keep those):\n\
            it comes from --token-env NAME, --token-file PATH, or else $GITLAB_TOKEN when set,\n\
            else $CI_JOB_TOKEN. glprobe never creates, changes or deletes anything on GitLab.",
    error_code(
        0,
        "the token is valid and meets every requirement (or --offline found nothing wrong)"
    ),
    error_code(
        1,
        "the token is invalid: missing, malformed, corrupted, unknown, expired, revoked, job not running, user blocked"
    ),
    error_code(2, "usage error: bad flags, unreadable token or CA file, refused URL"),
    error_code(
        3,
        "the token is valid but a requirement failed: kind mismatch, scope, expiry window, project access"
    ),
    error_code(
        4,
        "undetermined: network, TLS or server error, or no safe way to check this kind"
    )
)]
pub struct Args {
    /// read the token from this environment variable
    #[argh(option, arg_name = "NAME")]
    pub token_env: Option<String>,

    /// read the token from this file ("-" for standard input)
    #[argh(option, arg_name = "PATH")]
    pub token_file: Option<String>,

    /// the GitLab URL (default: $CI_SERVER_URL, else from $CI_API_V4_URL, else https://gitlab.com)
    #[argh(option)]
    pub url: Option<String>,

    /// read the token's text only; never open a socket
    #[argh(switch)]
    pub offline: bool,

    /// report on standard output: human, json or dotenv (default: human)
    #[argh(option, default = "Format::Human")]
    pub format: Format,

    /// also write the dotenv report to this file
    #[argh(option, arg_name = "PATH")]
    pub dotenv: Option<String>,

    /// also write the JSON report to this file
    #[argh(option, arg_name = "PATH")]
    pub json: Option<String>,

    /// prefix of the dotenv variable names (default: TOKEN_)
    #[argh(option, arg_name = "PREFIX", default = "String::from(\"TOKEN_\")")]
    pub variable_prefix: String,

    /// the kind the token must be (for example job_token, project_access_token)
    #[argh(option, arg_name = "KIND")]
    pub expect: Option<Kind>,

    /// scopes the token must have, comma-separated (for example read_api,read_registry)
    #[argh(option, arg_name = "SCOPES")]
    pub require_scopes: Option<String>,

    /// the fewest days the token may have left before it expires
    #[argh(option, arg_name = "N")]
    pub min_days_left: Option<u32>,

    /// a project the token must be able to access; also the project of trigger and feature
    /// flags tokens (default for those: $CI_PROJECT_ID)
    #[argh(option, arg_name = "ID_OR_PATH")]
    pub project: Option<String>,

    /// a deploy token's user name (default: $CI_DEPLOY_USER)
    #[argh(option, arg_name = "NAME")]
    pub username: Option<String>,

    /// seconds the whole run may take, retries included (default: 10)
    #[argh(option, arg_name = "SECONDS", default = "10.0")]
    pub timeout: f64,

    /// PEM file of CA certificates to trust instead of the embedded roots (also read from
    /// $CI_SERVER_TLS_CA_FILE and $SSL_CERT_FILE)
    #[argh(option, arg_name = "PATH")]
    pub ca_file: Option<String>,

    /// the instance's custom personal access token prefix, if an administrator set one
    #[argh(option, arg_name = "PREFIX")]
    pub pat_prefix: Option<String>,

    /// environment variable holding an administrator's token: identifies kinds without a safe
    /// probe through POST /api/v4/admin/token
    #[argh(option, arg_name = "NAME")]
    pub admin_token_env: Option<String>,

    /// on GitLab without the read-only runner route, allow POST /api/v4/runners/verify, which
    /// records a contact from the runner
    #[argh(switch)]
    pub allow_runner_verify: bool,

    /// print the version and exit
    #[argh(switch)]
    pub version: bool,
}

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
    /// Where to also write the dotenv report.
    pub dotenv_path: Option<String>,
    /// Where to also write the JSON report.
    pub json_path: Option<String>,
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
    /// The project to check access to (`--project` only).
    pub access_project: Option<String>,
    /// The deploy token user name.
    pub username: Option<String>,
    /// The user name came from `CI_DEPLOY_USER`, not `--username`.
    pub username_from_ci: bool,
    /// The run's budget.
    pub timeout: Duration,
    /// CA files: `(path, contents)`.
    pub ca_files: Vec<(String, Vec<u8>)>,
    /// `--pat-prefix`.
    pub pat_prefix: Option<String>,
    /// An administrator's token.
    pub admin_token: Option<Token>,
    /// `--allow-runner-verify`.
    pub allow_runner_verify: bool,
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
pub fn parse(args: &[String], env: &dyn Fn(&str) -> Option<String>) -> Result<Command, UsageError> {
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    if strs.get(1) == Some(&"audit") {
        return crate::audit::cli::parse(args, env).map(|c| match c {
            crate::audit::cli::AuditCommand::Run(config) => Command::Audit(config),
            crate::audit::cli::AuditCommand::Print(text) => Command::Print(text),
        });
    }
    let (name, rest) = strs.split_first().unwrap_or((&"glprobe", &[]));
    let name = std::path::Path::new(name)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("glprobe");
    let args = match Args::from_args(&[name], rest) {
        Ok(args) => args,
        Err(early) if early.status.is_ok() => return Ok(Command::Print(early.output)),
        Err(early) => return Err(UsageError(argh_error(&early.output))),
    };
    if args.version {
        return Ok(Command::Print(format!(
            "glprobe {}\n",
            env!("CARGO_PKG_VERSION")
        )));
    }
    Config::from_args(args, env).map(|c| Command::Run(Box::new(c)))
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
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, UsageError> {
        let usage = |m: String| Err(UsageError(m));
        if !dotenv::is_valid_prefix(&args.variable_prefix) {
            return usage(
                "--variable-prefix must start with a letter or _ and use only A-Z, a-z, 0-9 and _"
                    .into(),
            );
        }
        if !(args.timeout > 0.0 && args.timeout <= 600.0) {
            return usage("--timeout must be more than 0 and at most 600 seconds".into());
        }
        let scopes = match args.require_scopes.as_deref() {
            None => Vec::new(),
            Some(list) => parse_scopes(list)?,
        };
        let (token, source, variable_set) = read_token(&args, env)?;
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
        let server = if args.offline {
            None
        } else {
            Some(server(&args, env)?)
        };
        let ca_files = if args.offline {
            Vec::new()
        } else {
            read_ca_files(&args, env)?
        };
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        Ok(Config {
            token,
            source,
            variable_set,
            ref_protected: env("CI_COMMIT_REF_PROTECTED").map(|v| v == "true"),
            server,
            format: args.format,
            dotenv_path: args.dotenv,
            json_path: args.json,
            variable_prefix: args.variable_prefix,
            claim,
            scopes,
            // At least 0 days left asks nothing of a valid token.
            min_days_left: args.min_days_left.filter(|&n| n > 0).map(i64::from),
            project_from_ci: nonempty(args.project.clone()).is_none()
                && nonempty(env("CI_PROJECT_ID")).is_some(),
            project: nonempty(args.project.clone()).or_else(|| nonempty(env("CI_PROJECT_ID"))),
            access_project: nonempty(args.project),
            username_from_ci: nonempty(args.username.clone()).is_none()
                && nonempty(env("CI_DEPLOY_USER")).is_some(),
            username: nonempty(args.username).or_else(|| nonempty(env("CI_DEPLOY_USER"))),
            timeout: Duration::from_secs_f64(args.timeout),
            ca_files,
            pat_prefix: nonempty(args.pat_prefix),
            admin_token,
            allow_runner_verify: args.allow_runner_verify,
        })
    }
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

fn read_token(
    args: &Args,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Token, Source, bool), UsageError> {
    match (&args.token_env, &args.token_file) {
        (Some(_), Some(_)) => Err(UsageError(
            "give either --token-env or --token-file, not both".into(),
        )),
        (None, Some(path)) if path == "-" => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).map_err(|e| {
                UsageError(format!("cannot read the token from standard input: {e}"))
            })?;
            Ok((
                Token::new(&String::from_utf8_lossy(&bytes)),
                Source::Stdin,
                true,
            ))
        }
        (None, Some(path)) => {
            // The path is not repeated: a token passed here by mistake would be.
            let bytes = std::fs::read(path).map_err(|e| {
                UsageError(format!("cannot read the file given to --token-file: {e}"))
            })?;
            Ok((
                Token::new(&String::from_utf8_lossy(&bytes)),
                Source::File(path.clone()),
                true,
            ))
        }
        (Some(name), None) => Ok(from_variable(variable_name("--token-env", name, env)?, env)),
        (None, None) => {
            let name = if env("GITLAB_TOKEN").is_some() {
                "GITLAB_TOKEN"
            } else {
                "CI_JOB_TOKEN"
            };
            Ok(from_variable(name, env))
        }
    }
}

/// The token in a variable; for a File-type CI/CD variable, whose value is the path of a file
/// holding the token, the token in that file.
fn from_variable(name: &str, env: &dyn Fn(&str) -> Option<String>) -> (Token, Source, bool) {
    let Some(value) = env(name) else {
        return (Token::new(""), Source::Env(name.to_owned()), false);
    };
    if value.starts_with('/')
        && let Ok(bytes) = std::fs::read(&value)
    {
        let token = Token::new(&String::from_utf8_lossy(&bytes));
        return (token, Source::EnvFile(name.to_owned()), true);
    }
    (Token::new(&value), Source::Env(name.to_owned()), true)
}

fn server(args: &Args, env: &dyn Fn(&str) -> Option<String>) -> Result<Server, UsageError> {
    let nonempty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let (url, from) = match (
        &args.url,
        nonempty("CI_SERVER_URL"),
        nonempty("CI_API_V4_URL"),
    ) {
        (Some(url), _, _) => (url.clone(), "--url"),
        (None, Some(url), _) => (url, "$CI_SERVER_URL"),
        (None, None, Some(api)) => {
            let trimmed = api.trim_end_matches('/');
            let root = trimmed.strip_suffix("/api/v4").unwrap_or(trimmed);
            (root.to_owned(), "$CI_API_V4_URL")
        }
        (None, None, None) => ("https://gitlab.com".to_owned(), "the default"),
    };
    parse_server_url(url.trim()).map_err(|why| UsageError(format!("{from}: {why}")))
}

/// Validates a GitLab base URL: `http(s)://host[:port][/relative/root]`, plain http only for
/// loopback hosts.
pub fn parse_server_url(url: &str) -> Result<Server, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| "expected http:// or https:// followed by a host".to_owned())?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(format!("unsupported scheme {scheme}: use https"));
    }
    if rest.contains(['?', '#', '@', ' ']) {
        return Err("give only the scheme, host, port and relative URL root".into());
    }
    let rest = rest.trim_end_matches('/');
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .map(|h| format!("{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default().to_owned()
    };
    let port = &authority[host.len()..];
    if host.is_empty()
        || !(port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.parse::<u16>().is_ok()))
    {
        return Err("expected a host and an optional numeric port".into());
    }
    let loopback = is_loopback(&host);
    if scheme == "http" && !loopback {
        return Err(format!(
            "refusing to send a token in clear text to {host}: use https (plain http is only \
             allowed for loopback addresses)"
        ));
    }
    Ok(Server {
        url: format!("{scheme}://{authority}{path}"),
        host: authority.to_owned(),
        loopback,
    })
}

fn is_loopback(host: &str) -> bool {
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn read_ca_files(
    args: &Args,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<(String, Vec<u8>)>, UsageError> {
    let mut paths: Vec<(String, &str)> = Vec::new();
    if let Some(path) = &args.ca_file {
        paths.push((path.clone(), "--ca-file"));
    }
    for var in ["CI_SERVER_TLS_CA_FILE", "SSL_CERT_FILE"] {
        if let Some(path) = env(var).filter(|p| !p.trim().is_empty()) {
            paths.push((path, var));
        }
    }
    paths
        .into_iter()
        .map(|(path, from)| {
            std::fs::read(&path)
                .map(|bytes| (path.clone(), bytes))
                .map_err(|e| UsageError(format!("cannot read CA file {path} ({from}): {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn run(args: &[&str], vars: &[(&str, &str)]) -> Result<Command, UsageError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut all = vec!["glprobe".to_owned()];
        all.extend(args.iter().map(|a| a.to_string()));
        parse(&all, &|name| vars.get(name).cloned())
    }

    fn config(args: &[&str], vars: &[(&str, &str)]) -> Config {
        match run(args, vars) {
            Ok(Command::Run(c)) => *c,
            other => panic!("expected a config, got {other:?}"),
        }
    }

    #[test]
    fn token_source_defaults() {
        let c = config(&[], &[("GITLAB_TOKEN", "a"), ("CI_JOB_TOKEN", "b")]);
        assert_eq!(c.source, Source::Env("GITLAB_TOKEN".into()));
        let c = config(&[], &[("CI_JOB_TOKEN", "b")]);
        assert_eq!(c.source, Source::Env("CI_JOB_TOKEN".into()));
        assert!(c.variable_set);
        assert_eq!(c.claim.unwrap().kind, Kind::JobToken);
        let c = config(&["--token-env", "X"], &[]);
        assert!(!c.variable_set && c.token.is_empty());
        let c = config(
            &["--token-env", "CI_JOB_TOKEN", "--expect", "deploy_token"],
            &[],
        );
        assert_eq!(
            c.claim,
            Some(Claim {
                kind: Kind::DeployToken,
                variable: None
            })
        );
    }

    #[test]
    fn url_defaults_and_rules() {
        let c = config(&[], &[]);
        assert_eq!(c.server.unwrap().url, "https://gitlab.com");
        let c = config(
            &[],
            &[("CI_API_V4_URL", "https://git.example.com/gitlab/api/v4")],
        );
        assert_eq!(c.server.unwrap().url, "https://git.example.com/gitlab");
        let c = config(
            &[],
            &[
                ("CI_SERVER_URL", "https://a.example.com/"),
                ("CI_API_V4_URL", "https://b.example.com/api/v4"),
            ],
        );
        assert_eq!(c.server.unwrap().url, "https://a.example.com");
        assert!(
            config(&["--offline", "--url", "http://example.com"], &[])
                .server
                .is_none()
        );

        let ok = parse_server_url("http://127.0.0.1:8080/root/").unwrap();
        assert_eq!(ok.url, "http://127.0.0.1:8080/root");
        assert!(ok.loopback);
        assert!(parse_server_url("http://[::1]:99").unwrap().loopback);
        assert!(parse_server_url("http://localhost").is_ok());
        for bad in [
            "http://gitlab.example.com",
            "ftp://x",
            "gitlab.com",
            "https://user@host",
            "https://host:port",
            "https://host/?q",
        ] {
            assert!(parse_server_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usage_errors_are_one_line() {
        for args in [
            vec!["--bogus"],
            vec!["--format", "xml"],
            vec!["--expect", "password"],
            vec!["--timeout", "0"],
            vec!["--variable-prefix", "A-B"],
            vec!["--require-scopes", "read api"],
            vec!["--token-env", "A", "--token-file", "B"],
            vec!["--token-file", "/nonexistent/glprobe-token"],
            vec!["--url", "http://gitlab.example.com"],
            vec!["--admin-token-env", "NOPE"],
            vec!["a-token-value"],
        ] {
            let err = run(&args, &[]).expect_err(&format!("{args:?}"));
            assert!(!err.0.contains('\n'), "{args:?}: {err}");
        }
    }

    #[test]
    fn help_and_version_print() {
        let Ok(Command::Print(help)) = run(&["--help"], &[]) else {
            panic!("help")
        };
        assert!(help.contains("--token-env"));
        assert!(help.contains("4 "), "exit codes are listed:\n{help}");
        let Ok(Command::Print(version)) = run(&["--version"], &[]) else {
            panic!("version")
        };
        assert!(version.starts_with("glprobe "));
    }
}
