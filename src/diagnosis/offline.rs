//! What the text alone proves: the facts it carries, and the defects that end a run before any
//! request (missing, malformed, corrupted, an expired JWT).

use super::{Facts, Finding, Override, Situation};
use crate::classify::{Classification, Defect, Mistake};
use crate::date::{Day, format_utc};
use crate::reason::Reason;
use crate::token::{Kind, Source};

const TOKENS_DOCS: &str = "https://docs.gitlab.com/security/tokens/";
const VARIABLES_DOCS: &str = "https://docs.gitlab.com/ci/variables/";
const PROTECTED_DOCS: &str = "https://docs.gitlab.com/ci/variables/#protect-a-cicd-variable";
const WHERE_VARIABLES_DOCS: &str =
    "https://docs.gitlab.com/ci/variables/where_variables_can_be_used/";
const MASKED_DOCS: &str = "https://docs.gitlab.com/ci/variables/#mask-a-cicd-variable";
const JWT_DOCS: &str = "https://docs.gitlab.com/ci/jobs/ci_job_token/#jwt-format-job-token-errors";

/// The facts a routable payload or a JWT carries in clear.
pub fn facts_from_text(class: &Classification) -> Facts {
    let mut facts = Facts::default();
    if let Some(r) = &class.routing {
        facts.user_id = r.user_id;
        facts.project_id = r.project_id;
        facts.group_id = r.group_id;
        facts.organization_id = r.organization_id;
    }
    if let Some(job) = &class.job {
        facts.job_id = job.job_id;
        facts.project_id = job.project_id;
        facts.user_id = job.user_id;
        facts.group_id = job.group_id;
        facts.organization_id = job.organization_id;
        facts.issuer = job.issuer.clone();
        facts.expires_at_unix = job.expires_at;
        facts.expires_at = job.expires_at.map(Day::from_unix);
    }
    facts
}

/// The finding for an offline defect.
pub fn defect_finding(
    defect: &Defect,
    class: &Classification,
    situation: &Situation<'_>,
) -> Finding {
    match defect {
        Defect::Missing => missing(situation),
        Defect::Malformed(mistake) => malformed(mistake, class),
        Defect::BrokenJwt => Finding::new(
            Reason::Malformed,
            "It starts like a JWT job token (`glcbt-eyJ…`), but its header or payload does not \
             decode: part of it was altered or cut off.",
            "Use the job's CI_JOB_TOKEN exactly as GitLab provides it; if it went through \
             base64, decode with the same tool that encoded it.",
            JWT_DOCS,
        ),
        Defect::Corrupted(why) => {
            let what = match class.kind {
                Kind::Unknown => "a routable GitLab token".to_owned(),
                kind => format!("a routable {}", kind.label()),
            };
            Finding::new(
                Reason::Corrupted,
                format!("It has the shape of {what}, but {why}. GitLab would refuse it."),
                "Copy the token again, whole, from where it was created or stored; a token that \
                 fails its checksum is never accepted.",
                class.kind.docs(),
            )
        }
        Defect::ExpiredJwt { expired_at } => {
            let job = class
                .job
                .as_ref()
                .and_then(|j| j.job_id)
                .map(|id| format!(" of job {id}"))
                .unwrap_or_default();
            Finding::new(
                Reason::Expired,
                format!(
                    "This JWT job token{job} expired at {} (its `exp` claim): a job token only \
                     lives as long as its job, the job timeout plus five minutes.",
                    format_utc(*expired_at)
                ),
                "Job tokens cannot be renewed: use the CI_JOB_TOKEN of a job that is running \
                 now, or a project access token for work outside a job.",
                Kind::JobToken.docs(),
            )
        }
    }
}

fn missing(situation: &Situation<'_>) -> Finding {
    let source = situation.source;
    let what = match source {
        Source::Env(name) if !situation.variable_set => format!("${name} is not set"),
        Source::Env(name) => format!("${name} is empty"),
        Source::EnvFile(name) => format!("the file named by ${name} is empty"),
        Source::File(path) => format!("the file {path} is empty"),
        Source::Stdin => "standard input was empty".to_owned(),
    };
    if situation.ref_protected == Some(false) && source.variable().is_some() {
        return Finding::new(
            Reason::Missing,
            format!(
                "There is no token: {what}. This pipeline runs for an unprotected branch or tag \
                 (CI_COMMIT_REF_PROTECTED=false), and GitLab does not expose protected \
                 variables to those."
            ),
            "Run the pipeline on a protected branch or tag, or clear \"Protect variable\" on \
             the variable (Settings > CI/CD > Variables) if unprotected refs may use it.",
            PROTECTED_DOCS,
        );
    }
    let next = match source.variable() {
        Some("CI_JOB_TOKEN") => "CI_JOB_TOKEN only exists inside a running CI/CD job: run \
                                 glprobe in a job, or name another variable with --token-env \
                                 NAME or a file with --token-file PATH."
            .to_owned(),
        Some(name) => format!(
            "Set {name} to the token (in CI: Settings > CI/CD > Variables, masked), or name \
             another variable with --token-env NAME or a file with --token-file PATH."
        ),
        None => "Write the token into the file, or read it from a variable with --token-env NAME."
            .to_owned(),
    };
    Finding::new(
        Reason::Missing,
        format!("There is no token: {what}."),
        next,
        TOKENS_DOCS,
    )
}

fn malformed(mistake: &Mistake, class: &Classification) -> Finding {
    let docs = match mistake {
        Mistake::InnerWhitespace {
            wrapped_jwt: true, ..
        } => JWT_DOCS,
        Mistake::UnexpandedVariable { .. } => WHERE_VARIABLES_DOCS,
        Mistake::MaskedPlaceholder => MASKED_DOCS,
        _ => TOKENS_DOCS,
    };
    let (summary, next) = match mistake {
        Mistake::NotTokenText { empty: true } => (
            "The value is a GitLab token prefix with nothing after it: the token itself was \
             not copied."
                .to_owned(),
            "Copy the whole token, from where it was created.".to_owned(),
        ),
        Mistake::NotTokenText { empty: false } => (
            "After its prefix the value holds characters no GitLab token has (a comment, a \
             comma between two tokens, punctuation): GitLab would refuse it."
                .to_owned(),
            "Keep only the token itself: letters, digits, `-`, `_` and `.`.".to_owned(),
        ),
        Mistake::TooLong { chars, limit } => (
            format!(
                "The value is {chars} characters long; no GitLab token of this shape is longer \
                 than {limit}: this is not a token, or several things pasted together."
            ),
            "Copy only the token itself, from where it was created.".to_owned(),
        ),
        Mistake::VariableName { name } => (
            format!("The value is `{name}`: the name of a variable, not its value."),
            format!(
                "Pass the name to --token-env ({name}) and glprobe reads its value; in a script, \
                 write ${name} where the value belongs."
            ),
        ),
        Mistake::AssignmentLine { name } => (
            format!(
                "The value is a whole `{name}=…` line, not the token: GitLab would receive the \
                 name and the = sign too."
            ),
            format!(
                "Store only the part after `=` as the value of {name} (CI/CD variables and \
                 secret stores take the value alone)."
            ),
        ),
        Mistake::InnerWhitespace {
            wrapped_jwt: true,
            lines,
        } => (
            format!(
                "The value is a JWT job token broken over {lines} lines: it went through \
                 `base64` (or another tool) that wraps long lines."
            ),
            "Encode without wrapping (`base64 -w0`), or pass CI_JOB_TOKEN directly.".to_owned(),
        ),
        Mistake::InnerWhitespace { lines, .. } => (
            if *lines > 1 {
                format!("The value spans {lines} lines; a GitLab token is one word.")
            } else {
                "The value contains white space inside it; a GitLab token is one word.".to_owned()
            },
            "Remove the spaces or line breaks: copy the token again from where it was created."
                .to_owned(),
        ),
        Mistake::Quoted => (
            match class.kind {
                Kind::Unknown => "The value is wrapped in quotes, which GitLab would take as \
                                  part of the token."
                    .to_owned(),
                kind => format!(
                    "The value is wrapped in quotes, which GitLab would take as part of the \
                     token; without them it would be a {}.",
                    kind.label()
                ),
            },
            "Store the token without quotes: CI/CD variables and .env files take the value \
             literally."
                .to_owned(),
        ),
        Mistake::UnexpandedVariable { name } => (
            format!(
                "The value is the literal text `${name}`: a variable reference that was never \
                 expanded, so GitLab would receive the name instead of the token."
            ),
            format!(
                "Where the value is defined, let the reference expand: a CI/CD variable whose \
                 value is `${name}` needs \"Expand variable reference\" turned on (Settings > \
                 CI/CD > Variables); a config file needs the value itself. Or let glprobe read \
                 the variable directly with --token-env {name}."
            ),
        ),
        Mistake::MaskedPlaceholder => (
            "The value contains `[MASKED]`, GitLab's log mask: it was copied from a job log, \
             not from the variable."
                .to_owned(),
            "Take the value from where the token was created or stored, or read the variable \
             itself with --token-env NAME."
                .to_owned(),
        ),
        Mistake::ControlCharacter => (
            "The value contains a control character (a terminal escape, a NUL, a backspace); \
             GitLab tokens are printable ASCII."
                .to_owned(),
            "Copy the token again from where it was created, as plain text.".to_owned(),
        ),
        Mistake::NonAscii { invisible } => (
            if *invisible {
                "The value contains an invisible character (a zero-width or non-breaking \
                 space, or a byte-order mark); GitLab tokens are plain ASCII."
                    .to_owned()
            } else {
                "The value contains a character outside ASCII (a typographic quote or dash?); \
                 GitLab tokens are plain ASCII."
                    .to_owned()
            },
            "Paste it again as plain text, not from a chat, a word processor or a web page \
             that formats text."
                .to_owned(),
        ),
    };
    Finding::new(Reason::Malformed, summary, next, docs)
}

/// The text has no GitLab token's shape: nothing can be asked of GitLab, and nothing says it
/// is fine. The same finding online and `--offline`.
pub fn unrecognised() -> Finding {
    Finding::new(
        Reason::Unverifiable,
        "glprobe does not recognise this text as any kind of GitLab token, so it has no \
         question to ask GitLab.",
        "Check that the value is the token itself, not its name, a URL, or an ID token \
         meant for another service.",
        Kind::Unknown.docs(),
    )
}

/// A JWT job token of another instance: never sent to `--url`, which would only refuse it.
pub fn foreign_issuer(class: &Classification, sit: &Situation<'_>) -> Finding {
    let iss = class.foreign_issuer(sit.server_host).unwrap_or_default();
    let host = crate::classify::jwt::issuer_host(iss).unwrap_or_else(|| iss.to_owned());
    Finding::new(
        Reason::Unverifiable,
        format!(
            "This job token was issued by {iss}, but --url points at {}: GitLab only accepts \
             its own job tokens, so glprobe did not send it there.",
            sit.server_host
        ),
        format!("Check it against its own instance: glprobe --url https://{host}"),
        Kind::JobToken.docs(),
    )
}

/// `CI_JOB_TOKEN` holds something else than the token GitLab gave this job.
pub fn job_token_override(evidence: Override) -> Finding {
    let how = match evidence {
        Override::RepositoryUrl => "it differs from the job token GitLab put in \
                                   $CI_REPOSITORY_URL (compared in memory; neither is shown)"
            .to_owned(),
        Override::JobId { token, running } => {
            format!("it belongs to job {token}, while this is job {running} ($CI_JOB_ID)")
        }
    };
    Finding::new(
        Reason::KindMismatch,
        format!(
            "$CI_JOB_TOKEN is not the token GitLab gave this job: {how}. A CI/CD variable named \
             CI_JOB_TOKEN (project, group or instance) overrides GitLab's own."
        ),
        "Delete or rename the CI_JOB_TOKEN variable in Settings > CI/CD > Variables so the job \
         gets GitLab's job token, and keep any other token in a variable of its own (for \
         example GITLAB_TOKEN).",
        VARIABLES_DOCS,
    )
}
