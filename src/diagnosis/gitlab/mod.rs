//! Reading GitLab's answers: status, JSON body and `WWW-Authenticate`, per check.
//!
//! The rule that governs everything here: only an answer that is recognisably GitLab's own
//! refusal makes a token invalid. A network failure, a TLS error, a 5xx, a 429, a redirect, an
//! HTML page or a body of an unexpected shape leaves the validity unknown. The bodies quoted are
//! those of GitLab's source (reference note, sections 3 and 4).

pub mod access;
mod access_tokens;
mod admin;
mod answers;
mod deploy;
mod feed;
mod job;
mod project;
mod project_bound;
mod runner;

use super::{Facts, Finding, Situation};
use crate::classify::Classification;
use crate::probe::http::Exchange;
use crate::probe::{Answer, Check, is_path_dependent_feed};
use crate::reason::{Reason, Validity};
use crate::token::Kind;

use access_tokens::{access_token, oauth};
use admin::admin;
use deploy::deploy;
use feed::feed;
use job::job;
use project_bound::{trigger, unleash};
use runner::runner;

const API_DOCS: &str = "https://docs.gitlab.com/api/rest/";
pub(super) const TLS_DOCS: &str = "https://docs.gitlab.com/runner/configuration/tls-self-signed/";
pub(super) use crate::diagnosis::limits::RATE_LIMIT_DOCS;
pub(super) const USERS_DOCS: &str = "https://docs.gitlab.com/administration/moderate_users/";
pub(super) const ADMIN_DOCS: &str = "https://docs.gitlab.com/api/admin/token/";
pub(super) const ALLOWLIST_DOCS: &str = "https://docs.gitlab.com/ci/jobs/ci_job_token/#add-a-group-or-project-to-the-job-token-allowlist";
pub(super) const FINE_GRAINED_DOCS: &str =
    "https://docs.gitlab.com/ci/jobs/fine_grained_permissions/";
pub(super) const MEMBERS_DOCS: &str = "https://docs.gitlab.com/user/project/members/";

/// What GitLab's answers say about the token itself.
#[derive(Debug, Default)]
pub struct Verdict {
    /// Valid, invalid, or unknown.
    pub validity: Validity,
    /// The kind GitLab confirmed, when it narrowed the classification.
    pub kind: Option<Kind>,
    /// The owner of an access token was seen (so project/group tokens are told apart).
    pub owner_known: bool,
    /// The problem, if any.
    pub finding: Option<Finding>,
    /// Facts GitLab reported.
    pub facts: Facts,
    /// Notes worth telling.
    pub notes: Vec<String>,
}

/// What one kind's checks concluded.
enum Said {
    Accepted {
        kind: Kind,
        facts: Box<Facts>,
        notes: Vec<String>,
        owner_known: bool,
    },
    Rejected(Finding),
    Undetermined(Finding),
}

impl Said {
    fn accepted(kind: Kind, facts: Facts) -> Said {
        Said::Accepted {
            kind,
            facts: Box::new(facts),
            notes: Vec::new(),
            owner_known: !kind.is_access_token(),
        }
    }

    fn accepted_with_note(kind: Kind, facts: Facts, note: String) -> Said {
        Said::Accepted {
            kind,
            facts: Box::new(facts),
            notes: vec![note],
            owner_known: !kind.is_access_token(),
        }
    }
}

/// Reads the answers for the token's kind (or every candidate kind).
pub fn verdict(class: &Classification, answers: &[Answer], sit: &Situation<'_>) -> Verdict {
    if class.candidates.is_empty() {
        return into_verdict(evaluate(class.kind, class, answers, sit), None);
    }
    let results: Vec<(Kind, Said)> = class
        .candidates
        .iter()
        .map(|&kind| (kind, evaluate(kind, class, answers, sit)))
        .collect();
    let recognised = results.iter().position(|(_, said)| match said {
        Said::Accepted { .. } => true,
        Said::Rejected(f) => f.reason != Reason::UnknownToken,
        Said::Undetermined(_) => false,
    });
    if let Some(i) = recognised {
        let (kind, said) = results.into_iter().nth(i).expect("index in range");
        return into_verdict(said, Some(kind));
    }
    // 64 hex refused as an OAuth access token: an application secret from before `gloas-` is
    // never a bearer token, so that reading cannot make the token work; it is unknown.
    // Both /oauth/token/info and /user must have refused it: a failed follow-up decides nothing.
    let user_refused = find(answers, Check::OauthUser)
        .and_then(|x| x.outcome.as_ref().ok())
        .is_some_and(|r| r.status == 401);
    if let Some((_, Said::Rejected(finding))) = results
        .iter()
        .find(|(k, _)| *k == Kind::OauthAccessToken)
        .filter(|_| user_refused && class.candidates.contains(&Kind::OauthApplicationSecret))
    {
        let mut verdict = into_verdict(Said::Rejected(finding.clone()), None);
        verdict.notes.push(
            "64 hex characters can also be an OAuth application secret from before the \
             `gloas-` prefix; a secret is never sent as a bearer token, so it cannot be checked \
             this way. To check one, ask an administrator: --expect oauth_application_secret \
             with --admin-token-env NAME, or compare it in Admin > Applications."
                .to_owned(),
        );
        return verdict;
    }
    let names = |pick: fn(&Said) -> bool| -> Vec<String> {
        results
            .iter()
            .filter(|(_, s)| pick(s))
            .map(|(k, _)| k.with_article())
            .collect()
    };
    let refused = names(|s| matches!(s, Said::Rejected(_)));
    let network = results.iter().find_map(|(_, s)| match s {
        Said::Undetermined(f) if f.reason != Reason::Unverifiable => Some(f.clone()),
        _ => None,
    });
    if let Some(finding) = network {
        return into_verdict(Said::Undetermined(finding), None);
    }
    let unchecked = names(|s| matches!(s, Said::Undetermined(_)));
    let finding = if unchecked.is_empty() {
        Said::Rejected(Finding::new(
            Reason::UnknownToken,
            format!(
                "Several kinds of token look like this one, and GitLab accepts it as none of \
                 them ({}): it was mistyped, deleted, or belongs to another instance than {}.",
                refused.join(", "),
                sit.server_host
            ),
            "Check that --url is the instance that issued the token; otherwise create a new \
             token.",
            Kind::Unknown.docs(),
        ))
    } else {
        Said::Undetermined(Finding::new(
            Reason::Unverifiable,
            format!(
                "GitLab refuses it as {}; it may still be {}, which glprobe could not check.",
                if refused.is_empty() {
                    "nothing it was asked about".to_owned()
                } else {
                    refused.join(", ")
                },
                unchecked.join(" or ")
            ),
            unverified_hint(class, &results),
            Kind::Unknown.docs(),
        ))
    };
    into_verdict(finding, None)
}

fn unverified_hint(class: &Classification, results: &[(Kind, Said)]) -> String {
    let mut hints: Vec<String> = results
        .iter()
        .filter_map(|(_, s)| match s {
            // The admin token API chooses by prefix: it cannot help with a legacy shape.
            Said::Undetermined(f) if f.next != ADMIN_HINT => Some(f.next.clone()),
            _ => None,
        })
        .collect();
    hints.dedup();
    if hints.is_empty() {
        format!(
            "A token of this {} shape cannot be told apart any further; replace it with a \
             current token, whose prefix names its kind.",
            class.shape.name()
        )
    } else {
        hints.join(" ")
    }
}

fn into_verdict(said: Said, kind: Option<Kind>) -> Verdict {
    match said {
        Said::Accepted {
            kind: accepted,
            facts,
            notes,
            owner_known,
        } => Verdict {
            validity: Validity::Valid,
            kind: Some(accepted),
            owner_known,
            finding: None,
            facts: *facts,
            notes,
        },
        Said::Rejected(finding) => Verdict {
            validity: Validity::Invalid,
            kind,
            finding: Some(finding),
            ..Verdict::default()
        },
        Said::Undetermined(finding) => Verdict {
            validity: Validity::Unknown,
            kind,
            finding: Some(finding),
            ..Verdict::default()
        },
    }
}

pub(super) fn find(answers: &[Answer], check: Check) -> Option<&Exchange> {
    answers
        .iter()
        .find(|a| a.check == check)
        .map(|a| &a.exchange)
}

fn evaluate(kind: Kind, class: &Classification, answers: &[Answer], sit: &Situation<'_>) -> Said {
    if let Some(admin) = find(answers, Check::Admin) {
        return self::admin(admin, kind, sit);
    }
    match kind {
        k if k.is_access_token() => access_token(answers, sit),
        Kind::OauthAccessToken => oauth(answers, sit),
        Kind::JobToken => job(class, answers, sit),
        Kind::DeployToken => match find(answers, Check::Deploy) {
            Some(x) => deploy(x, sit),
            None => unverifiable(
                kind,
                "a deploy token can only be checked together with its user name \
                 (gitlab+deploy-token-N, or the name chosen when it was created)",
                "Pass --username NAME (CI jobs have CI_DEPLOY_USER for the deploy token named \
                 gitlab-deploy-token).",
                sit,
            ),
        },
        Kind::TriggerToken => match find(answers, Check::Trigger) {
            Some(x) => trigger(x, sit),
            None => unverifiable(
                kind,
                "a trigger token can only be checked against its project",
                "Pass --project ID_OR_PATH (CI jobs have CI_PROJECT_ID).",
                sit,
            ),
        },
        Kind::RunnerAuthenticationToken => runner(answers, sit),
        Kind::FeatureFlagsClientToken => match find(answers, Check::Unleash) {
            Some(x) => unleash(x, sit),
            None => unverifiable(
                kind,
                "a feature flags client token can only be checked against its project, by \
                 numeric id",
                "Pass --project with the project's numeric id (CI jobs have CI_PROJECT_ID).",
                sit,
            ),
        },
        Kind::FeedToken if is_path_dependent_feed(class) => unverifiable(
            kind,
            "a path-dependent feed token is only valid for the one feed URL it was made for",
            "Open that feed URL, or check the user's plain feed token instead.",
            sit,
        ),
        Kind::FeedToken => match find(answers, Check::Feed) {
            Some(x) => feed(x, sit),
            None => no_answer(kind),
        },
        Kind::OauthApplicationSecret
        | Kind::AgentToken
        | Kind::IncomingEmailToken
        | Kind::ScimToken
        | Kind::WorkspaceToken
        | Kind::RunnerRegistrationToken => unverifiable(kind, no_safe_probe(kind), ADMIN_HINT, sit),
        Kind::Unknown => Said::Undetermined(crate::diagnosis::offline::unrecognised()),
        _ => no_answer(kind),
    }
}

/// Why a kind has no side-effect-free probe.
fn no_safe_probe(kind: Kind) -> &'static str {
    match kind {
        Kind::OauthApplicationSecret => {
            "checking it would mean asking /oauth/token to mint a new access token"
        }
        Kind::AgentToken => "only the agent server (KAS) accepts it, over gRPC",
        Kind::IncomingEmailToken => "it only works inside incoming email addresses",
        Kind::ScimToken => {
            "only a group's SCIM provisioning API accepts it, and no read of it is harmless \
             enough to send as a test"
        }
        Kind::WorkspaceToken => "only the workspaces proxy accepts it",
        Kind::RunnerRegistrationToken => "the only endpoint that accepts it registers a runner",
        _ => "GitLab offers no read-only check for it",
    }
}

pub(super) const ADMIN_HINT: &str = "Pass --admin-token-env NAME naming an administrator's personal access \
                          token: GitLab's admin token API (self-managed, 17.5+) identifies any \
                          token, expired and revoked ones included.";

fn unverifiable(kind: Kind, why: &str, next: &str, sit: &Situation<'_>) -> Said {
    let next = if next == ADMIN_HINT && sit.admin_token {
        "The admin token API supports this kind from GitLab 17.7 or 17.9 on; upgrade, or check \
         the token where it is used."
    } else {
        next
    };
    Said::Undetermined(Finding::new(
        Reason::Unverifiable,
        format!(
            "GitLab has no side-effect-free way to check {} with the token alone: {why}.",
            kind.with_article()
        ),
        next,
        kind.docs(),
    ))
}

fn no_answer(kind: Kind) -> Said {
    Said::Undetermined(Finding::new(
        Reason::Unverifiable,
        format!("No request could be made for {}.", kind.with_article()),
        "Run again with the inputs this kind needs (see glprobe --help).",
        kind.docs(),
    ))
}
