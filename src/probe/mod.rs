//! Which question to ask GitLab for each kind of token, and asking it.
//!
//! Every [`Check`] is side-effect free: a GET, or a POST built to fail validation after the
//! token was looked up (a trigger with a ref that cannot exist). The one exception, `POST
//! /runners/verify`, heartbeats the runner and is only ever sent with `--allow-runner-verify`.
//! Nothing here ever sends a DELETE, rotates a token or registers a runner.
//!
//! A run is at most two waves of concurrent requests: the [`plan`] (one request per prefixed
//! kind, plus the owner lookup for access tokens and the access check the user asked for), and
//! the [`follow_ups`] that only an explanation needs (why a job token is refused, why an OAuth
//! token is refused, a runner token on a GitLab without the discovery route). With `--access`,
//! the git and registry checks whose login counts toward GitLab's failed-auth ban follow once
//! the token is known valid ([`access::second_wave`]).

pub mod access;
pub mod http;
pub mod request;

use crate::classify::{Classification, Shape};
use crate::token::{Kind, Token};
use http::{Client, Credential, Exchange, Method, Request, percent_encode};

/// One question asked of GitLab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// `GET /api/v4/personal_access_tokens/self` with `PRIVATE-TOKEN`.
    PatSelf,
    /// `GET /api/v4/user` with `PRIVATE-TOKEN`: the owner, bot or not.
    PatUser,
    /// `GET /oauth/token/info` with a bearer token.
    OauthInfo,
    /// `GET /api/v4/user` with a bearer token: why an OAuth token is refused.
    OauthUser,
    /// `GET /api/v4/job` with `JOB-TOKEN`.
    Job,
    /// `POST /projects/:id/trigger/pipeline` with a job token and a ref that cannot exist:
    /// why a job token is refused.
    JobTrigger,
    /// `GET /jwt/auth?service=container_registry` with basic auth.
    Deploy,
    /// `POST /projects/:id/trigger/pipeline` with a ref that cannot exist.
    Trigger,
    /// `GET /api/v4/runners/router/discovery` with `Runner-Token`.
    RunnerDiscovery,
    /// `POST /api/v4/runners/verify` (a write: opt-in only).
    RunnerVerify,
    /// `GET /api/v4/feature_flags/unleash/:id/client/features` with `UNLEASH-INSTANCEID`.
    Unleash,
    /// `GET /dashboard/projects.atom?feed_token=`.
    Feed,
    /// A read-only request on the `--project` with the token: may it access the project?
    /// (The `api` surface of `--access`.)
    ProjectAccess,
    /// `GET /<path>.git/info/refs?service=git-upload-pack` with basic auth (`--access git`).
    AccessGit,
    /// `GET /jwt/auth?service=container_registry&scope=repository:<path>:pull` with basic auth
    /// (`--access registry`).
    AccessRegistry,
    /// `GET /api/v4/projects/:id/packages?per_page=1` (`--access packages`).
    AccessPackages,
    /// `GET /api/v4/projects/:id`: the path of a project given by numeric id, for git and
    /// registry checks.
    ProjectPath,
    /// `POST /api/v4/admin/token` with an administrator's token.
    Admin,
}

/// A check and GitLab's answer to it.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The question.
    pub check: Check,
    /// The request and its outcome.
    pub exchange: Exchange,
}

/// What the checks need besides the token.
#[derive(Debug, Clone, Copy, Default)]
pub struct Inputs<'a> {
    /// The deploy token's user name (`--username`, or `CI_DEPLOY_USER`).
    pub username: Option<&'a str>,
    /// The project for trigger and Unleash checks (`--project`, or `CI_PROJECT_ID`).
    pub project: Option<&'a str>,
    /// The project the user asked about explicitly (`--project`): checked for access.
    pub access_project: Option<&'a str>,
    /// `--allow-runner-verify`: the user accepts `POST /runners/verify` and its heartbeat.
    pub allow_runner_verify: bool,
    /// An administrator's token, for the admin token API.
    pub admin: Option<&'a Token>,
    /// The surfaces to check on `access_project` (`--access`, or `api` for `--project` alone).
    pub access: &'a [access::Surface],
    /// The surfaces were asked with `--access` (not implied by `--project`).
    pub access_explicit: bool,
}

impl Inputs<'_> {
    /// The project a job-token explanation can use: the user's, or the one in the JWT.
    fn job_project(&self, class: &Classification) -> Option<String> {
        self.project.map(str::to_owned).or_else(|| {
            class
                .job
                .as_ref()
                .and_then(|j| j.project_id)
                .map(|id| id.to_string())
        })
    }
}

/// True for a feed token bound to one feed URL: no other URL can check it.
pub fn is_path_dependent_feed(class: &Classification) -> bool {
    class.kind == Kind::FeedToken && class.routing.is_some()
}

/// True when a `--project` value is a numeric id (the Unleash API takes nothing else).
fn is_numeric(project: &str) -> bool {
    !project.is_empty() && project.bytes().all(|b| b.is_ascii_digit())
}

/// The checks of the first wave: one per kind the token may be (they run concurrently).
pub fn plan(class: &Classification, inputs: &Inputs<'_>) -> Vec<Check> {
    if class.defect.is_some() {
        return Vec::new();
    }
    let mut checks = Vec::new();
    for kind in class.possible_kinds() {
        let for_kind: &[Check] = match kind {
            Kind::PersonalAccessToken => &[Check::PatSelf, Check::PatUser],
            Kind::OauthAccessToken => &[Check::OauthInfo],
            Kind::JobToken => &[Check::Job],
            Kind::DeployToken if inputs.username.is_some() => &[Check::Deploy],
            Kind::TriggerToken if inputs.project.is_some() => &[Check::Trigger],
            Kind::RunnerAuthenticationToken => &[Check::RunnerDiscovery],
            Kind::FeatureFlagsClientToken if inputs.project.is_some_and(is_numeric) => {
                &[Check::Unleash]
            }
            Kind::FeedToken if !is_path_dependent_feed(class) => &[Check::Feed],
            _ => &[],
        };
        for check in for_kind {
            if !checks.contains(check) {
                checks.push(*check);
            }
        }
    }
    let certain = class.candidates.is_empty();
    if checks.is_empty() && certain && inputs.admin.is_some() && admin_can_identify(class) {
        checks.push(Check::Admin);
    }
    checks.extend(access::first_wave(class, inputs));
    checks
}

/// The admin token API chooses the type by prefix only: unprefixed tokens are not supported.
fn admin_can_identify(class: &Classification) -> bool {
    !class.prefix.is_empty() && class.shape != Shape::Legacy
}

/// The checks an explanation needs, given the first wave's answers.
pub fn follow_ups(answers: &[Answer], class: &Classification, inputs: &Inputs<'_>) -> Vec<Check> {
    let status = |check: Check| {
        answers
            .iter()
            .find(|a| a.check == check)
            .and_then(|a| a.exchange.outcome.as_ref().ok())
            .map(|r| r.status)
    };
    let mut next = Vec::new();
    if status(Check::Job) == Some(401) && inputs.job_project(class).is_some() {
        next.push(Check::JobTrigger);
    }
    if matches!(status(Check::OauthInfo), Some(400 | 401)) {
        next.push(Check::OauthUser);
    }
    if status(Check::RunnerDiscovery) == Some(404) {
        if inputs.allow_runner_verify {
            next.push(Check::RunnerVerify);
        } else if inputs.admin.is_some() && admin_can_identify(class) {
            next.push(Check::Admin);
        }
    }
    next
}

/// Builds the request for a check.
pub fn request<'t>(
    check: Check,
    token: &'t Token,
    class: &Classification,
    inputs: &Inputs<'t>,
) -> Request<'t> {
    let get = |path: String, credential| Request {
        method: Method::Get,
        path,
        query: Vec::new(),
        form: Vec::new(),
        credential,
    };
    let header = |name| Credential::Header { name, token };
    let project_path = |project: &str| format!("/api/v4/projects/{}", percent_encode(project));
    let trigger = |project: &str| Request {
        method: Method::Post,
        path: format!("{}/trigger/pipeline", project_path(project)),
        query: Vec::new(),
        form: vec![("ref", impossible_ref())],
        credential: Credential::Form {
            name: "token",
            token,
        },
    };
    match check {
        Check::PatSelf => get(
            "/api/v4/personal_access_tokens/self".into(),
            header("PRIVATE-TOKEN"),
        ),
        Check::PatUser => get("/api/v4/user".into(), header("PRIVATE-TOKEN")),
        Check::OauthInfo => get("/oauth/token/info".into(), Credential::Bearer(token)),
        Check::OauthUser => get("/api/v4/user".into(), Credential::Bearer(token)),
        Check::Job => get("/api/v4/job".into(), header("JOB-TOKEN")),
        Check::JobTrigger => trigger(&inputs.job_project(class).unwrap_or_default()),
        Check::Trigger => trigger(inputs.project.unwrap_or_default()),
        Check::Deploy => Request {
            query: std::iter::once(("service", "container_registry".to_owned()))
                .chain(access::deploy_scope(class, inputs).map(|scope| ("scope", scope)))
                .collect(),
            ..get(
                "/jwt/auth".into(),
                Credential::Basic {
                    username: inputs.username.unwrap_or_default(),
                    token,
                },
            )
        },
        Check::RunnerDiscovery => get(
            "/api/v4/runners/router/discovery".into(),
            header("Runner-Token"),
        ),
        Check::RunnerVerify => Request {
            method: Method::Post,
            ..get(
                "/api/v4/runners/verify".into(),
                Credential::Form {
                    name: "token",
                    token,
                },
            )
        },
        Check::Unleash => get(
            format!(
                "/api/v4/feature_flags/unleash/{}/client/features",
                percent_encode(inputs.project.unwrap_or_default())
            ),
            header("UNLEASH-INSTANCEID"),
        ),
        Check::Feed => get(
            "/dashboard/projects.atom".into(),
            Credential::Query {
                name: "feed_token",
                token,
            },
        ),
        Check::ProjectAccess
        | Check::AccessGit
        | Check::AccessRegistry
        | Check::AccessPackages
        | Check::ProjectPath => access::request(
            check,
            token,
            class.kind,
            inputs,
            inputs.access_project.filter(|p| !is_numeric(p)),
        ),
        Check::Admin => Request {
            method: Method::Post,
            ..get(
                "/api/v4/admin/token".into(),
                Credential::Admin {
                    admin: inputs
                        .admin
                        .expect("the admin check is only planned with a token"),
                    token,
                },
            )
        },
    }
}

/// A branch name that cannot exist, so that a trigger request fails validation after the
/// token was looked up and before anything is created: 40 random hex digits.
fn impossible_ref() -> String {
    use ring::rand::SecureRandom as _;
    let mut bytes = [0u8; 20];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the OS random source is available");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("refs/heads/glprobe-nonexistent-{hex}")
}

/// Asks GitLab: the planned checks (see [`plan`]) concurrently, then the follow-ups an
/// explanation needs.
pub fn run(
    client: &Client,
    token: &Token,
    class: &Classification,
    inputs: &Inputs<'_>,
    planned: &[Check],
) -> Vec<Answer> {
    let mut answers = ask(client, token, class, inputs, planned);
    let next = follow_ups(&answers, class, inputs);
    answers.extend(ask(client, token, class, inputs, &next));
    answers
}

fn ask(
    client: &Client,
    token: &Token,
    class: &Classification,
    inputs: &Inputs<'_>,
    checks: &[Check],
) -> Vec<Answer> {
    let requests: Vec<Request<'_>> = checks
        .iter()
        .map(|&check| request(check, token, class, inputs))
        .collect();
    checks
        .iter()
        .zip(client.send_all(&requests))
        .map(|(&check, exchange)| Answer { check, exchange })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classify_text as class_of;

    #[test]
    fn one_check_per_prefixed_kind() {
        let inputs = Inputs {
            username: Some("gitlab+deploy-token-1"),
            project: Some("42"),
            ..Inputs::default()
        };
        let cases: &[(&str, &[Check])] = &[
            (
                "glpat-abcdefghijkmnpqrstuv",
                &[Check::PatSelf, Check::PatUser],
            ),
            ("glcbt-64_abcdefghijkmnpqrstuv", &[Check::Job]),
            ("gldt-abcdefghijkmnpqrstuv", &[Check::Deploy]),
            (
                "glptt-0123456789abcdef0123456789abcdef01234567",
                &[Check::Trigger],
            ),
            ("glrt-t1_abcdefghijkmnpqrstuv", &[Check::RunnerDiscovery]),
            ("glffct-abcdefghijkmnpqrstuv", &[Check::Unleash]),
            ("glft-abcdefghijkmnpqrstuv", &[Check::Feed]),
            (
                "gloas-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                &[],
            ),
            (
                "glagent-abcdefghijkmnpqrstuvabcdefghijkmnpqrstuvabcdefghij",
                &[],
            ),
            ("GR1348941abcdefghijkmnpqrstuv", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(&plan(&class_of(text), &inputs), expected, "{text}");
        }
    }

    #[test]
    fn missing_inputs_mean_no_request() {
        let none = Inputs::default();
        assert!(plan(&class_of("gldt-abcdefghijkmnpqrstuv"), &none).is_empty());
        assert!(plan(&class_of("glffct-abcdefghijkmnpqrstuv"), &none).is_empty());
        let path_project = Inputs {
            project: Some("group/app"),
            ..Inputs::default()
        };
        assert!(plan(&class_of("glffct-abcdefghijkmnpqrstuv"), &path_project).is_empty());
    }

    #[test]
    fn admin_token_only_where_no_safe_probe() {
        let admin = Token::new("glpat-adminadminadminadmin");
        let inputs = Inputs {
            admin: Some(&admin),
            ..Inputs::default()
        };
        assert_eq!(
            plan(&class_of("glsoat-abcdefghijkmnpqrstuv"), &inputs),
            [Check::Admin]
        );
        assert_eq!(
            plan(&class_of("glpat-abcdefghijkmnpqrstuv"), &inputs),
            [Check::PatSelf, Check::PatUser]
        );
        // Unprefixed tokens are not supported by the admin API.
        assert!(plan(&class_of(&"ab".repeat(32)), &Inputs::default()).contains(&Check::OauthInfo));
    }

    #[test]
    fn ambiguous_shapes_probe_every_candidate_at_once() {
        let inputs = Inputs {
            username: Some("deployer"),
            ..Inputs::default()
        };
        assert_eq!(
            plan(&class_of("abcdefghijkmnpqrstuvw"[..20].as_ref()), &inputs),
            [
                Check::PatSelf,
                Check::PatUser,
                Check::Deploy,
                Check::Feed,
                Check::RunnerDiscovery,
                Check::Job
            ]
        );
    }

    #[test]
    fn defects_mean_no_request() {
        assert!(plan(&class_of("$CI_JOB_TOKEN"), &Inputs::default()).is_empty());
        assert!(plan(&class_of(""), &Inputs::default()).is_empty());
    }

    #[test]
    fn trigger_refs_cannot_exist_and_differ() {
        let (a, b) = (impossible_ref(), impossible_ref());
        assert_ne!(a, b);
        assert!(a.starts_with("refs/heads/glprobe-nonexistent-") && a.len() == 71);
    }
}
