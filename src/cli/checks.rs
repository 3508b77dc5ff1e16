//! Checks on flag values that keep secrets out of places they do not belong: token-shaped values
//! in flags, paths shown in messages, report files that would overwrite the inputs, arguments
//! that are not UTF-8, and the job's own token in `CI_REPOSITORY_URL`.

use std::path::Path;

use super::{Args, OS_PLACEHOLDER, OsArgs, UsageError};
use crate::classify;
use crate::token::Token;

/// Refuses a flag's value (or a variable's) that looks like a GitLab token, without repeating
/// it: a token pasted into the wrong flag would otherwise be printed, and sent on.
pub fn refuse_token_shaped(flag: &str, value: &str) -> Result<(), UsageError> {
    if classify::shaped::is_token_shaped(value) {
        return Err(UsageError(format!(
            "{flag} was given something that looks like a GitLab token (not repeated here): \
             pass a token only through --token-env NAME or --token-file PATH"
        )));
    }
    Ok(())
}

/// A path shown in a message: lossy where it is not UTF-8, control characters escaped, any
/// token-shaped part masked.
pub fn display_path(path: &Path) -> String {
    let text: String = path
        .to_string_lossy()
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect();
    classify::shaped::mask_token_shaped(&text)
}

/// The password of `https://gitlab-ci-token:<token>@host/…`, as GitLab writes
/// `CI_REPOSITORY_URL`: the job's own token, whatever `CI_JOB_TOKEN` was overridden with.
pub(super) fn repository_job_token(url: &str) -> Option<Token> {
    let (_, rest) = url.split_once("://")?;
    let (userinfo, _) = rest.split_once('@')?;
    let (user, password) = userinfo.split_once(':')?;
    (user == "gitlab-ci-token" && !password.is_empty())
        .then(|| Token::new(&crate::scrub::percent_decode(password)))
}

/// The report files may not overwrite each other or the run's inputs (`--token-file t.txt
/// --dotenv t.txt` would replace the token with its report).
pub(super) fn refuse_clobbering(args: &Args, os: &OsArgs) -> Result<(), UsageError> {
    let same = |a: &Path, b: &Path| {
        a == b
            || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
    };
    let outputs = [("--dotenv", &args.dotenv), ("--json", &args.json)];
    let inputs = [
        ("--dotenv", &args.dotenv),
        ("--token-file", &args.token_file),
        ("--ca-file", &args.ca_file),
    ];
    for (out_flag, out) in outputs {
        let Some(out) = out.as_deref().map(|p| os.path(p)) else {
            continue;
        };
        for (in_flag, input) in inputs {
            let Some(input) = input.as_deref().filter(|p| *p != "-").map(|p| os.path(p)) else {
                continue;
            };
            if in_flag != out_flag && same(&out, &input) {
                return Err(UsageError(format!(
                    "{out_flag} and {in_flag} name the same file: the report would overwrite it"
                )));
            }
        }
    }
    Ok(())
}

/// Values argh parsed that were not UTF-8: only paths may be.
pub(super) fn refuse_os_placeholders(args: &Args) -> Result<(), UsageError> {
    let texts = [
        ("--token-env", &args.token_env),
        ("--url", &args.url),
        ("--variable-prefix", &Some(args.variable_prefix.clone())),
        ("--require-scopes", &args.require_scopes),
        ("--project", &args.project),
        ("--username", &args.username),
        ("--pat-prefix", &args.pat_prefix),
        ("--admin-token-env", &args.admin_token_env),
    ];
    match texts
        .iter()
        .find(|(_, v)| v.as_deref().is_some_and(|v| v.starts_with(OS_PLACEHOLDER)))
    {
        Some((flag, _)) => Err(UsageError(format!("{flag} takes UTF-8 text"))),
        None => Ok(()),
    }
}

/// `--project` as GitLab names a project: its numeric id or its full path. What people paste
/// around it (spaces, slashes, a `.git` suffix) is taken off; a URL or `.`/`..` segments are
/// refused, since the path goes into git and registry requests as it is.
pub(super) fn project_path(value: &str) -> Result<String, UsageError> {
    let path = value.trim().trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    let bad = path.contains("://")
        || path
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..");
    if bad && !path.is_empty() {
        return Err(UsageError(
            "--project takes a project's numeric id or its path (group/project), not a URL \
             or a path with empty, . or .. segments"
                .to_owned(),
        ));
    }
    Ok(path.to_owned())
}
