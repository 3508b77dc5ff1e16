//! The dotenv report: the contract downstream jobs read through `artifacts:reports:dotenv`.
//!
//! GitLab's parser (`Ci::ParseDotenvArtifactService`) takes `KEY=value` lines only: keys of
//! `[A-Za-z0-9_]` (at most 255), no quotes (they are kept literally), no `export`, no comments
//! or blank lines, single-line values; the file must stay under 5 KB and, on a default
//! self-managed instance, at most 20 variables. Values here are written from a safe alphabet
//! only; a value outside it is left out rather than written in a form GitLab would reject.
//! [`validate`] states the rules as code, and the tests hold [`render`] to them.

use super::Report;
use crate::probe::access::Surface;

/// The most variables the report writes (GitLab's default limit is 20).
pub const MAX_VARIABLES: usize = 20;
/// The largest file GitLab accepts by default.
pub const MAX_BYTES: usize = 5 * 1024;

/// The variable names without their prefix, in the order they are written.
pub const NAMES: [&str; 18] = [
    "KIND",
    "VALID",
    "REASON",
    "EXIT_CODE",
    "SCOPES",
    "EXPIRES_AT",
    "DAYS_LEFT",
    "USER",
    "USER_ID",
    "JOB_ID",
    "PROJECT_ID",
    "FINGERPRINT",
    "CANDIDATES",
    "ACCESS_API",
    "ACCESS_GIT",
    "ACCESS_REGISTRY",
    "ACCESS_PACKAGES",
    "REQUEST_ALLOWED",
];

/// Renders the report as dotenv lines with this variable prefix (`TOKEN_` by default).
pub fn render(report: &Report, prefix: &str) -> String {
    let d = &report.diagnosis;
    let f = &d.facts;
    // `true`, `false` or `unknown` for each surface asked (`--access`, or api for --project).
    let access = |surface: Surface| {
        d.access
            .iter()
            .find(|a| a.surface == surface)
            .map(|a| match a.allowed {
                Some(true) => "true".to_owned(),
                Some(false) => "false".to_owned(),
                None => "unknown".to_owned(),
            })
    };
    let values: [Option<String>; 18] = [
        Some(d.kind.name().to_owned()),
        Some(d.validity.code().to_owned()),
        Some(d.reason.code().to_owned()),
        Some(d.exit_code().to_string()),
        f.scopes.as_ref().map(|s| s.join(",")),
        f.expires_at.map(|day| day.to_string()),
        f.days_left.map(|n| n.to_string()),
        f.user.clone(),
        f.user_id.map(|n| n.to_string()),
        f.job_id.map(|n| n.to_string()),
        f.project_id.map(|n| n.to_string()),
        report.fingerprint.clone(),
        (!d.candidates.is_empty()).then(|| {
            d.candidates
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(",")
        }),
        access(Surface::Api),
        access(Surface::Git),
        access(Surface::Registry),
        access(Surface::Packages),
        report.request.as_ref().map(|r| r.allowed_code().to_owned()),
    ];
    let lines: Vec<String> = NAMES
        .iter()
        .zip(values)
        .filter_map(|(name, value)| {
            let value = value.filter(|v| is_safe_value(v) && v.len() <= MAX_VALUE_BYTES)?;
            Some(format!("{prefix}{name}={value}\n"))
        })
        .collect();
    within_limit(lines)
}

/// The longest value written: a longer one (a hostile server's 100 KB "user name") is left
/// out, never cut into a wrong value.
pub const MAX_VALUE_BYTES: usize = 1024;
/// The first variables are the contract every pipeline reads; they are always written.
const CONTRACT_VARIABLES: usize = 4;

/// Drops the longest of the optional lines until the file is under GitLab's size limit.
fn within_limit(mut lines: Vec<String>) -> String {
    let total = |lines: &[String]| lines.iter().map(String::len).sum::<usize>();
    while total(&lines) >= MAX_BYTES && lines.len() > CONTRACT_VARIABLES {
        let longest = (CONTRACT_VARIABLES..lines.len())
            .max_by_key(|&i| lines[i].len())
            .unwrap_or(CONTRACT_VARIABLES);
        lines.remove(longest);
    }
    lines.concat()
}

/// Values are drawn from this alphabet: nothing GitLab strips, rejects or keeps as a quote.
fn is_safe_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_-.,:@/+".contains(&b))
}

/// The longest variable prefix: the keys stay short and the file far from GitLab's limit.
pub const MAX_PREFIX_CHARS: usize = 32;

/// GitLab's predefined variables outside the reserved `CI_` and `GITLAB_` namespaces that a
/// prefix plus one of [`NAMES`] could spell (`CHAT_` + `USER_ID`).
const PREDEFINED_ELSEWHERE: [&str; 5] = [
    "CHAT_CHANNEL",
    "CHAT_INPUT",
    "CHAT_USER_ID",
    "TRIGGER_PAYLOAD",
    "KUBECONFIG",
];

/// A prefix is usable when every key it makes passes GitLab's key rule and is a name a shell
/// can read; an empty prefix would write `USER=` and `KIND=` over the job's own variables.
pub fn is_valid_prefix(prefix: &str) -> bool {
    check_prefix(prefix).is_ok()
}

/// Checks a variable prefix; the error is a usage message that does not repeat the prefix.
/// Besides the key rule, a prefix must not make keys that override GitLab's predefined
/// variables in later jobs (`CI_` would write `CI_JOB_ID` and `CI_PROJECT_ID`).
pub fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_CHARS {
        return Err(format!(
            "--variable-prefix takes 1 to {MAX_PREFIX_CHARS} characters"
        ));
    }
    if !prefix.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(
            "--variable-prefix must start with a letter or _ and use only A-Z, a-z, 0-9 and _"
                .to_owned(),
        );
    }
    let collides = prefix.starts_with("CI_")
        || prefix.starts_with("GITLAB_")
        || NAMES
            .iter()
            .any(|name| PREDEFINED_ELSEWHERE.contains(&format!("{prefix}{name}").as_str()));
    if collides {
        return Err(
            "--variable-prefix would write variables named like GitLab's predefined ones (CI_…, \
             GITLAB_…, CHAT_…), which would override them in later jobs: choose another prefix"
                .to_owned(),
        );
    }
    Ok(())
}

/// Checks a dotenv file against GitLab's parser rules; the error names the first broken rule.
pub fn validate(text: &str) -> Result<(), String> {
    if text.len() >= MAX_BYTES {
        return Err(format!(
            "{} bytes: GitLab accepts under {MAX_BYTES}",
            text.len()
        ));
    }
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line has no newline".to_owned());
    }
    let mut count = 0;
    for (i, line) in text.split_terminator('\n').enumerate() {
        let n = i + 1;
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!(
                "line {n} has no `=` (blank lines and comments are rejected)"
            ));
        };
        if key.is_empty()
            || key.len() > 255
            || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(format!(
                "line {n}: key `{key}` is not [A-Za-z0-9_]{{1,255}}"
            ));
        }
        if value.trim() != value || value.contains(['"', '\'', '\r', '#', ' ', '\t']) {
            return Err(format!(
                "line {n}: value of {key} has quotes, spaces, a comment mark or a carriage return"
            ));
        }
        count += 1;
    }
    if count > MAX_VARIABLES {
        return Err(format!(
            "{count} variables: GitLab's default limit is {MAX_VARIABLES}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_validator_rejects_what_gitlab_rejects() {
        assert!(validate("TOKEN_KIND=job_token\nTOKEN_VALID=true\n").is_ok());
        assert!(validate("").is_ok());
        for bad in [
            "TOKEN_KIND=job_token",
            "export TOKEN_KIND=job_token\n",
            "# comment\nTOKEN_KIND=x\n",
            "TOKEN_KIND=x\n\nTOKEN_VALID=true\n",
            "TOKEN_KIND=\"x\"\n",
            "TOKEN-KIND=x\n",
            "TOKEN_KIND=a b\n",
            "TOKEN_KIND=x\r\n",
        ] {
            assert!(validate(bad).is_err(), "{bad:?} should be rejected");
        }
        let many: String = (0..21).map(|i| format!("K{i}=v\n")).collect();
        assert!(validate(&many).is_err());
        let big = format!("K={}\n", "v".repeat(MAX_BYTES));
        assert!(validate(&big).is_err());
    }

    #[test]
    fn prefixes() {
        assert!(is_valid_prefix("TOKEN_"));
        assert!(!is_valid_prefix(""));
        assert!(!is_valid_prefix("2_"));
        assert!(is_valid_prefix("DEPLOY_TOKEN_2_"));
        assert!(!is_valid_prefix("TOKEN-"));
        assert!(!is_valid_prefix("MY TOKEN_"));
    }

    #[test]
    fn unsafe_values_are_left_out() {
        assert!(is_safe_value("read_api,api"));
        assert!(is_safe_value("2026-05-01"));
        assert!(!is_safe_value("a b"));
        assert!(!is_safe_value("x\ny"));
        assert!(!is_safe_value("\"q\""));
    }
}
