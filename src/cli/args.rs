//! The raw flags, as argh parses them; [`super::Config`] validates them.

use argh::FromArgs;

use crate::report::{Format, colour};
use crate::token::Kind;

/// Identify a GitLab token from its text, check it with one side-effect-free request, and
/// explain the verdict.
#[derive(FromArgs, Debug)]
#[argh(
    note = "The token is never taken as an argument (process lists and shell history keep those):\n\
            it comes from --token-env NAME, --token-file PATH, or else $GITLAB_TOKEN when set,\n\
            else $CI_JOB_TOKEN. glprobe never creates, changes or deletes anything on GitLab;\n\
            GitLab still records reads: a user's last activity, a token's last_used_at, and for a\n\
            job token that reaches another project, an entry in that project's job token log.",
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
        "the token is valid but a requirement failed: kind mismatch, scope, expiry window, project access (not allowlisted, project not found, insufficient role)"
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

    /// surfaces the token must be able to use on the project, comma-separated from api, git,
    /// registry, packages (one read-only request each; the project is --project, else
    /// $CI_PROJECT_PATH, else $CI_PROJECT_ID; --project alone means --access api)
    #[argh(option, arg_name = "SURFACES")]
    pub access: Option<String>,

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

    /// colour the human report: auto (a terminal or a GitLab job, unless $NO_COLOR), always or
    /// never
    #[argh(option, arg_name = "WHEN", default = "colour::Choice::Auto")]
    pub color: colour::Choice,

    /// print the JSON Schema of the --format json report and exit
    #[argh(switch)]
    pub json_schema: bool,

    /// print the version and exit
    #[argh(switch)]
    pub version: bool,

    /// explain a request that failed: 'METHOD PATH' (for example 'GET /api/v4/projects/123');
    /// says whether this token can work there; only GET and HEAD are sent
    #[argh(option, arg_name = "REQUEST")]
    pub request: Option<String>,
}
