//! The verdict: from what the text says and what GitLab answered, to a kind, a validity, a
//! primary reason and, for every problem found, what it means and what to do.
//!
//! Pure: no I/O. The answers come in as data (see [`crate::probe::Answer`]), the current time
//! through [`Situation::now`].

mod gitlab;
mod limits;
mod offline;
pub mod request;
mod requirements;

pub use gitlab::access::{Access, AccessRequest};

use crate::classify::{Classification, Defect};
use crate::date::Day;
use crate::probe::Answer;
use crate::reason::{Group, Reason, Validity};
use crate::token::{Kind, Source};

/// GitLab's page on token scopes.
const SCOPES_DOCS: &str =
    "https://docs.gitlab.com/user/profile/personal_access_tokens/#personal-access-token-scopes";

/// A claim about the token's kind, and who made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The kind promised.
    pub kind: Kind,
    /// The variable whose name makes the claim, or `None` for `--expect`.
    pub variable: Option<String>,
}

/// What the user requires of a valid token (a failure is exit 3).
#[derive(Debug, Clone, Default)]
pub struct Requirements<'a> {
    /// The kind the token must be.
    pub claim: Option<Claim>,
    /// Scopes the token must have.
    pub scopes: &'a [String],
    /// The fewest days the token may have left.
    pub min_days_left: Option<i64>,
    /// A project the token must be able to access.
    pub access_project: Option<&'a str>,
    /// The surfaces it must be able to use there (`--access`; `api` for `--project` alone).
    pub access: &'a [crate::probe::access::Surface],
    /// The surfaces were asked with `--access`.
    pub access_explicit: bool,
}

/// The circumstances of the run that explanations depend on.
#[derive(Debug, Clone)]
pub struct Situation<'a> {
    /// Where the token came from.
    pub source: &'a Source,
    /// For an environment variable: whether it was set at all.
    pub variable_set: bool,
    /// `CI_COMMIT_REF_PROTECTED`, when set.
    pub ref_protected: Option<bool>,
    /// Seconds since the epoch.
    pub now: i64,
    /// `--offline`: no request was made.
    pub offline: bool,
    /// The host (and port) of `--url`.
    pub server_host: &'a str,
    /// The deploy-token user name given, if any.
    pub username: Option<&'a str>,
    /// The user name was not given but taken from `CI_DEPLOY_USER`.
    pub username_from_ci: bool,
    /// The project given for trigger and Unleash checks, if any.
    pub project: Option<&'a str>,
    /// The project was not given but taken from `CI_PROJECT_ID`.
    pub project_from_ci: bool,
    /// Whether an administrator's token was given.
    pub admin_token: bool,
    /// The CA files trusted instead of the embedded roots, as `--ca-file (path), …`; `None`
    /// when the embedded Mozilla roots were used.
    pub ca_source: Option<&'a str>,
    /// `CI_JOB_ID`: glprobe runs inside this job, which is running.
    pub ci_job_id: Option<u64>,
    /// Evidence that `CI_JOB_TOKEN` is not the token GitLab gave this job.
    pub job_token_override: Option<Override>,
}

/// Why `CI_JOB_TOKEN` is known not to be the job's own token (compared in memory; none of the
/// values is ever shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Override {
    /// It differs from the password GitLab put in `CI_REPOSITORY_URL` (user `gitlab-ci-token`).
    RepositoryUrl,
    /// It is a JWT of another job than `CI_JOB_ID`.
    JobId {
        /// The job the token belongs to.
        token: u64,
        /// The running job.
        running: u64,
    },
}

/// A problem found, with its explanation and the way out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The reason code.
    pub reason: Reason,
    /// What is wrong, in a sentence or two.
    pub summary: String,
    /// What to do about it.
    pub next: String,
    /// The GitLab documentation page that helps.
    pub docs: &'static str,
}

impl Finding {
    fn new(
        reason: Reason,
        summary: impl Into<String>,
        next: impl Into<String>,
        docs: &'static str,
    ) -> Finding {
        Finding {
            reason,
            summary: summary.into(),
            next: next.into(),
            docs,
        }
    }
}

/// Everything known about the token, from its text and from GitLab.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The token's name (access tokens).
    pub name: Option<String>,
    /// Its scopes, when GitLab reports them.
    pub scopes: Option<Vec<String>>,
    /// The day it expires.
    pub expires_at: Option<Day>,
    /// The exact expiry, when known to the second (JWT job tokens, OAuth tokens).
    pub expires_at_unix: Option<i64>,
    /// GitLab says it never expires.
    pub never_expires: bool,
    /// Days from today to the expiry day.
    pub days_left: Option<i64>,
    /// The user name of its owner (or the job's user, or the deploy token's user name).
    pub user: Option<String>,
    /// The owner's user id.
    pub user_id: Option<u64>,
    /// The owner is a bot (project and group access tokens).
    pub bot: Option<bool>,
    /// The owner is an administrator.
    pub admin: Option<bool>,
    /// The job of a job token.
    pub job_id: Option<u64>,
    /// The job's status.
    pub job_status: Option<String>,
    /// The job's pipeline.
    pub pipeline_id: Option<u64>,
    /// The job's web page.
    pub job_url: Option<String>,
    /// The project the token belongs to.
    pub project_id: Option<u64>,
    /// The group (routing payload).
    pub group_id: Option<u64>,
    /// The organization (routing payload).
    pub organization_id: Option<u64>,
    /// The instance that issued a JWT job token.
    pub issuer: Option<String>,
    /// The OAuth application's client id.
    pub application_id: Option<String>,
    /// When it was last used.
    pub last_used_at: Option<String>,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The kind (after GitLab's answers narrowed it).
    pub kind: Kind,
    /// The kinds still possible when several fit.
    pub candidates: Vec<Kind>,
    /// Whether GitLab accepts the token itself.
    pub validity: Validity,
    /// The primary reason: the first finding's, or `ok`.
    pub reason: Reason,
    /// Every problem found, most serious first.
    pub findings: Vec<Finding>,
    /// What is known about the token.
    pub facts: Facts,
    /// Facts worth telling that are not problems.
    pub notes: Vec<String>,
    /// The docs page for the token's kind.
    pub docs: &'static str,
    /// One verdict per surface of `--access` (or `api` for `--project`), in surface order.
    pub access: Vec<Access>,
}

impl Diagnosis {
    /// The process exit code.
    pub fn exit_code(&self) -> u8 {
        self.reason.exit_code()
    }
}

/// Builds the verdict.
pub fn diagnose(
    class: &Classification,
    answers: &[Answer],
    requirements: &Requirements<'_>,
    situation: &Situation<'_>,
) -> Diagnosis {
    let mut facts = offline::facts_from_text(class);
    let mut notes = class.notes.clone();
    let mut findings = Vec::new();
    let mut kind = class.kind;
    let mut candidates = class.candidates.clone();
    let mut owner_known = !class.kind.is_access_token();

    // The kinds the token may still be, for the claim.
    let mut possible = class.possible_kinds();

    let validity = match &class.defect {
        Some(defect) => {
            findings.push(offline::defect_finding(defect, class, situation));
            Validity::Invalid
        }
        None if situation.offline => {
            if class.kind == Kind::Unknown && class.candidates.is_empty() {
                findings.push(offline::unrecognised());
            }
            Validity::Unknown
        }
        None if class.foreign_issuer(situation.server_host).is_some() => {
            findings.push(offline::foreign_issuer(class, situation));
            Validity::Unknown
        }
        None => {
            let verdict = gitlab::verdict(class, answers, situation);
            facts.merge(verdict.facts);
            notes.extend(verdict.notes);
            owner_known |= verdict.owner_known;
            if let Some(found) = verdict.kind {
                kind = found;
                candidates.clear();
                if owner_known || !kind.is_access_token() {
                    possible = vec![kind];
                }
            }
            findings.extend(verdict.finding);
            verdict.validity
        }
    };
    facts.count_days_left(situation.now);

    // A readable text (an expired JWT still names its kind) is held to the claim; a token GitLab
    // accepts, to every other requirement.
    if !matches!(
        class.defect,
        Some(Defect::Missing | Defect::Malformed(_) | Defect::BrokenJwt | Defect::Corrupted(_))
    ) {
        findings.extend(requirements::claim(
            requirements,
            kind,
            &possible,
            owner_known,
        ));
    }
    if let Some(evidence) = situation.job_token_override
        && !findings.iter().any(|f| f.reason == Reason::KindMismatch)
    {
        findings.push(offline::job_token_override(evidence));
    }
    if validity == Validity::Valid {
        findings.extend(requirements::scopes(requirements, kind, &facts));
        findings.extend(requirements::expiry(requirements, kind, &facts));
    }
    let token_finding = findings.first().cloned();
    let access = gitlab::access::checks(
        class,
        answers,
        requirements,
        situation,
        (kind, validity, token_finding.as_ref()),
        &facts,
    );
    if validity == Validity::Valid {
        // One finding per distinct problem: several surfaces often fail for the same reason.
        for a in access.iter().filter(|a| a.finding.reason != Reason::Ok) {
            if !findings.contains(&a.finding) {
                findings.push(a.finding.clone());
            }
        }
    }

    findings.sort_by_key(|f| match f.reason.group() {
        Group::Invalid => 0,
        Group::Requirement => 1,
        Group::Undetermined => 2,
        Group::Fine => 3,
    });
    let reason = findings.first().map_or(Reason::Ok, |f| f.reason);
    let docs = findings.first().map_or(kind.docs(), |f| f.docs);
    Diagnosis {
        kind,
        candidates,
        validity,
        reason,
        findings,
        facts,
        notes,
        docs,
        access,
    }
}

/// The kind GitLab confirmed, when it accepts the token: the second wave of access checks (git
/// and registry with logins the failed-auth ban counts) is only sent for such a token.
pub fn accepted(
    class: &Classification,
    answers: &[Answer],
    situation: &Situation<'_>,
) -> Option<Kind> {
    if class.defect.is_some() || situation.offline {
        return None;
    }
    let verdict = gitlab::verdict(class, answers, situation);
    (verdict.validity == Validity::Valid).then(|| verdict.kind.unwrap_or(class.kind))
}

impl Facts {
    /// Fills in the days left from the expiry day, when GitLab did not give them.
    fn count_days_left(&mut self, now: i64) {
        if self.days_left.is_none()
            && let Some(expires) = self.expires_at
        {
            self.days_left = Some(Day::from_unix(now).days_until(expires));
        }
    }

    /// Takes every fact `other` knows, keeping ours where it knows nothing.
    fn merge(&mut self, other: Facts) {
        macro_rules! take {
            ($($field:ident),*) => {$( if other.$field.is_some() { self.$field = other.$field; } )*};
        }
        take!(
            name,
            scopes,
            expires_at,
            expires_at_unix,
            days_left,
            user,
            user_id,
            bot,
            admin,
            job_id,
            job_status,
            pipeline_id,
            job_url,
            project_id,
            group_id,
            organization_id,
            issuer,
            application_id,
            last_used_at
        );
        self.never_expires |= other.never_expires;
    }
}

#[cfg(test)]
mod tests;
