//! The kinds of GitLab token, by the names pipelines read from `TOKEN_KIND`.

use std::fmt;
use std::str::FromStr;

/// A kind of GitLab token. [`Kind::name`] is the contract: it is what `TOKEN_KIND` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    /// A personal access token (`glpat-`).
    PersonalAccessToken,
    /// A project access token: a personal access token of a project bot user.
    ProjectAccessToken,
    /// A group access token: a personal access token of a group bot user.
    GroupAccessToken,
    /// An OAuth 2.0 access token (64 hex characters).
    OauthAccessToken,
    /// An OAuth application secret (`gloas-`).
    OauthApplicationSecret,
    /// A deploy token (`gldt-`).
    DeployToken,
    /// A CI/CD job token (`glcbt-`, database or JWT form).
    JobToken,
    /// A pipeline trigger token (`glptt-`).
    TriggerToken,
    /// A runner authentication token (`glrt-`, `glrtr-`).
    RunnerAuthenticationToken,
    /// A runner registration token (`GR1348941`), deprecated.
    RunnerRegistrationToken,
    /// A feed token (`glft-`).
    FeedToken,
    /// An incoming email token (`glimt-`).
    IncomingEmailToken,
    /// A GitLab agent for Kubernetes token (`glagent-`).
    AgentToken,
    /// A SCIM token (`glsoat-`).
    ScimToken,
    /// A feature flags client token (`glffct-`).
    FeatureFlagsClientToken,
    /// A workspace token (`glwt-`).
    WorkspaceToken,
    /// Not recognisable, or several kinds fit.
    Unknown,
    /// No token at all: the variable or file was empty or unset.
    None,
}

impl Kind {
    /// Every kind, in the order of the contract.
    pub const ALL: [Kind; 18] = [
        Kind::PersonalAccessToken,
        Kind::ProjectAccessToken,
        Kind::GroupAccessToken,
        Kind::OauthAccessToken,
        Kind::OauthApplicationSecret,
        Kind::DeployToken,
        Kind::JobToken,
        Kind::TriggerToken,
        Kind::RunnerAuthenticationToken,
        Kind::RunnerRegistrationToken,
        Kind::FeedToken,
        Kind::IncomingEmailToken,
        Kind::AgentToken,
        Kind::ScimToken,
        Kind::FeatureFlagsClientToken,
        Kind::WorkspaceToken,
        Kind::Unknown,
        Kind::None,
    ];

    /// The contract name, as in `TOKEN_KIND`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PersonalAccessToken => "personal_access_token",
            Kind::ProjectAccessToken => "project_access_token",
            Kind::GroupAccessToken => "group_access_token",
            Kind::OauthAccessToken => "oauth_access_token",
            Kind::OauthApplicationSecret => "oauth_application_secret",
            Kind::DeployToken => "deploy_token",
            Kind::JobToken => "job_token",
            Kind::TriggerToken => "trigger_token",
            Kind::RunnerAuthenticationToken => "runner_authentication_token",
            Kind::RunnerRegistrationToken => "runner_registration_token",
            Kind::FeedToken => "feed_token",
            Kind::IncomingEmailToken => "incoming_email_token",
            Kind::AgentToken => "agent_token",
            Kind::ScimToken => "scim_token",
            Kind::FeatureFlagsClientToken => "feature_flags_client_token",
            Kind::WorkspaceToken => "workspace_token",
            Kind::Unknown => "unknown",
            Kind::None => "none",
        }
    }

    /// The kind as people say it, for the human report.
    pub fn label(self) -> &'static str {
        match self {
            Kind::PersonalAccessToken => "personal access token",
            Kind::ProjectAccessToken => "project access token",
            Kind::GroupAccessToken => "group access token",
            Kind::OauthAccessToken => "OAuth access token",
            Kind::OauthApplicationSecret => "OAuth application secret",
            Kind::DeployToken => "deploy token",
            Kind::JobToken => "CI/CD job token",
            Kind::TriggerToken => "pipeline trigger token",
            Kind::RunnerAuthenticationToken => "runner authentication token",
            Kind::RunnerRegistrationToken => "runner registration token",
            Kind::FeedToken => "feed token",
            Kind::IncomingEmailToken => "incoming email token",
            Kind::AgentToken => "GitLab agent for Kubernetes token",
            Kind::ScimToken => "SCIM token",
            Kind::FeatureFlagsClientToken => "feature flags client token",
            Kind::WorkspaceToken => "workspace token",
            Kind::Unknown => "unrecognised token",
            Kind::None => "no token",
        }
    }

    /// The label with its indefinite article: "a deploy token", "an OAuth access token".
    pub fn with_article(self) -> String {
        let label = self.label();
        let article = if label.starts_with(['a', 'e', 'i', 'o', 'u', 'O']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {label}")
    }

    /// Personal, project and group access tokens share one format and one API: the text alone
    /// cannot tell them apart, only the owner (a bot user or not) can.
    pub fn is_access_token(self) -> bool {
        matches!(
            self,
            Kind::PersonalAccessToken | Kind::ProjectAccessToken | Kind::GroupAccessToken
        )
    }

    /// The GitLab documentation page that explains this kind.
    pub fn docs(self) -> &'static str {
        match self {
            Kind::PersonalAccessToken => {
                "https://docs.gitlab.com/user/profile/personal_access_tokens/"
            }
            Kind::ProjectAccessToken => {
                "https://docs.gitlab.com/user/project/settings/project_access_tokens/"
            }
            Kind::GroupAccessToken => {
                "https://docs.gitlab.com/user/group/settings/group_access_tokens/"
            }
            Kind::OauthAccessToken | Kind::OauthApplicationSecret => {
                "https://docs.gitlab.com/api/oauth2/"
            }
            Kind::DeployToken => "https://docs.gitlab.com/user/project/deploy_tokens/",
            Kind::JobToken => "https://docs.gitlab.com/ci/jobs/ci_job_token/",
            Kind::TriggerToken => "https://docs.gitlab.com/ci/triggers/",
            Kind::RunnerAuthenticationToken | Kind::RunnerRegistrationToken => {
                "https://docs.gitlab.com/ci/runners/new_creation_workflow/"
            }
            Kind::FeatureFlagsClientToken => {
                "https://docs.gitlab.com/operations/feature_flags/#get-access-credentials"
            }
            Kind::AgentToken => "https://docs.gitlab.com/user/clusters/agent/",
            Kind::FeedToken
            | Kind::IncomingEmailToken
            | Kind::ScimToken
            | Kind::WorkspaceToken
            | Kind::Unknown
            | Kind::None => "https://docs.gitlab.com/security/tokens/",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s && !matches!(k, Kind::Unknown | Kind::None))
            .ok_or_else(|| {
                let names: Vec<&str> = Kind::ALL[..16].iter().map(|k| k.name()).collect();
                format!("expected one of: {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_except_unknown_and_none() {
        for kind in Kind::ALL {
            match kind {
                Kind::Unknown | Kind::None => assert!(kind.name().parse::<Kind>().is_err()),
                _ => assert_eq!(kind.name().parse::<Kind>(), Ok(kind)),
            }
        }
    }

    #[test]
    fn articles() {
        assert_eq!(
            Kind::OauthAccessToken.with_article(),
            "an OAuth access token"
        );
        assert_eq!(Kind::DeployToken.with_article(), "a deploy token");
        assert_eq!(
            Kind::IncomingEmailToken.with_article(),
            "an incoming email token"
        );
    }

    #[test]
    fn names_are_unique_snake_case() {
        let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Kind::ALL.len());
        assert!(
            names
                .iter()
                .all(|n| n.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        );
    }
}
