//! Access checks (`--access api,git,registry,packages`): the one read-only request per surface
//! that settles whether the token may use it on the target project, and the two waves they go
//! out in.
//!
//! - `api`: `GET /projects/:id` (access and OAuth tokens), `GET /projects/:id/releases` (job
//!   tokens: `/projects/:id` ignores them).
//! - `git`: `GET /<path>.git/info/refs?service=git-upload-pack` with basic auth. Never
//!   `git-receive-pack` (on a missing path it can create a project), never a POST.
//! - `registry`: `GET /jwt/auth?service=container_registry&scope=repository:<path>:pull` with basic
//!   auth. Never a `push` scope (it creates a repository record).
//! - `packages`: `GET /projects/:id/packages?per_page=1` with the token's own carrier.
//!
//! Git and registry failures count toward GitLab's failed-auth IP ban for every login but
//! `gitlab-ci-token`. So the API-side surfaces, and a job token's git and registry requests, go
//! in the first wave with the identity check ([`first_wave`]); the other git and registry
//! requests only once GitLab has said the token is valid ([`second_wave`]). A deploy token's
//! registry question rides on its identity check, which already is a `/jwt/auth` request.

use super::http::{Body, Client, Credential, Method, Request, percent_encode};
use super::{Answer, Check, Inputs, is_numeric};
use crate::classify::Classification;
use crate::token::{Kind, Token};

/// A surface a token may be used on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Surface {
    /// The REST API, reading the project.
    Api,
    /// Git over HTTPS: clone and fetch.
    Git,
    /// The container registry: pull.
    Registry,
    /// The package registry: read.
    Packages,
}

impl Surface {
    /// Every surface, in the order they are reported.
    pub const ALL: [Surface; 4] = [
        Surface::Api,
        Surface::Git,
        Surface::Registry,
        Surface::Packages,
    ];

    /// The name used by `--access` and in the reports.
    pub fn name(self) -> &'static str {
        match self {
            Surface::Api => "api",
            Surface::Git => "git",
            Surface::Registry => "registry",
            Surface::Packages => "packages",
        }
    }

    /// The check that asks GitLab about this surface.
    pub fn check(self) -> Check {
        match self {
            Surface::Api => Check::ProjectAccess,
            Surface::Git => Check::AccessGit,
            Surface::Registry => Check::AccessRegistry,
            Surface::Packages => Check::AccessPackages,
        }
    }

    /// Parses `--access`: names separated by commas, in any order; `None` when a name is not a
    /// surface or the list is empty. The result is in the order of [`Surface::ALL`].
    pub fn parse_list(list: &str) -> Option<Vec<Surface>> {
        let mut found = Vec::new();
        for name in list.split(',').map(str::trim) {
            let surface = Surface::ALL.into_iter().find(|s| s.name() == name)?;
            found.push(surface);
        }
        found.sort();
        found.dedup();
        (!found.is_empty()).then_some(found)
    }
}

/// The families of tokens access checks know; every other kind has no surface to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// Personal, project and group access tokens (`PRIVATE-TOKEN`).
    Access,
    /// OAuth access tokens (`Authorization: Bearer`).
    Oauth,
    /// CI/CD job tokens (`JOB-TOKEN`, basic auth as `gitlab-ci-token`).
    Job,
    /// Deploy tokens (basic auth as their own user name; no REST API).
    Deploy,
}

/// The family of a kind, if access checks know it.
pub fn family(kind: Kind) -> Option<Family> {
    match kind {
        k if k.is_access_token() => Some(Family::Access),
        Kind::OauthAccessToken => Some(Family::Oauth),
        Kind::JobToken => Some(Family::Job),
        Kind::DeployToken => Some(Family::Deploy),
        _ => None,
    }
}

/// The login sent with basic auth on Git and `/jwt/auth`: `gitlab-ci-token` for a job token
/// (any other login counts toward the failed-auth ban), the deploy token's user name, and
/// `oauth2` for access and OAuth tokens (GitLab ignores it for access tokens; older versions
/// require it for OAuth tokens).
pub fn login(family: Family, username: Option<&str>) -> &str {
    match family {
        Family::Job => "gitlab-ci-token",
        Family::Deploy => username.unwrap_or_default(),
        Family::Access | Family::Oauth => "oauth2",
    }
}

/// The surfaces to check and report. With `--access`, the ones asked, for any kind; with
/// `--project` alone, `api` for the kinds it has always applied to (access, OAuth and job
/// tokens, when the text alone names the kind).
pub fn effective(asked: &[Surface], explicit: bool, kind: Kind, certain: bool) -> Vec<Surface> {
    if explicit {
        return asked.to_vec();
    }
    let api_kind = matches!(
        family(kind),
        Some(Family::Access | Family::Oauth | Family::Job)
    );
    if certain && api_kind {
        asked.to_vec()
    } else {
        Vec::new()
    }
}

/// The project's full path for `git` and `registry`: `--project` when it is a path, else the
/// `path_with_namespace` GitLab gave for the numeric id (access and OAuth tokens only: for a
/// job token, the api check is a releases list).
pub fn project_path(project: &str, answers: &[Answer]) -> Option<String> {
    if !is_numeric(project) {
        return Some(project.trim_matches('/').to_owned());
    }
    answers
        .iter()
        .filter(|a| matches!(a.check, Check::ProjectAccess | Check::ProjectPath))
        .filter(|a| !a.exchange.path.ends_with("/releases"))
        .find_map(|a| match &a.exchange.outcome {
            Ok(r) if r.status == 200 => match &r.body {
                Body::Json(v) => v
                    .get("path_with_namespace")
                    .and_then(|p| p.as_str())
                    .map(str::to_owned),
                _ => None,
            },
            _ => None,
        })
}

/// The `scope` of a registry pull of this path: always `pull`, never more.
pub fn pull_scope(path: &str) -> String {
    format!("repository:{}:pull", path.to_lowercase())
}

/// The registry scope a deploy token's identity check carries, when `--access registry` asks
/// about a project given by path (its identity check is the same `/jwt/auth` request).
pub fn deploy_scope(class: &Classification, inputs: &Inputs<'_>) -> Option<String> {
    let project = inputs.access_project?;
    let asked = effective(inputs.access, inputs.access_explicit, class.kind, true);
    (asked.contains(&Surface::Registry) && !is_numeric(project))
        .then(|| pull_scope(project.trim_matches('/')))
}

/// The access checks of the first wave, sent with the identity check: API-side surfaces, and a
/// job token's git and registry requests (exempt from the failed-auth ban). Only when the text
/// alone names the kind; otherwise everything waits for the second wave.
pub fn first_wave(class: &Classification, inputs: &Inputs<'_>) -> Vec<Check> {
    let Some(project) = inputs.access_project else {
        return Vec::new();
    };
    let Some(family) = family(class.kind) else {
        return Vec::new();
    };
    if class.defect.is_some() || !class.candidates.is_empty() {
        return Vec::new();
    }
    let surfaces = effective(inputs.access, inputs.access_explicit, class.kind, true);
    let mut checks = Vec::new();
    for surface in &surfaces {
        match (surface, family) {
            (Surface::Api | Surface::Packages, Family::Access | Family::Oauth | Family::Job) => {
                checks.push(surface.check());
            }
            (Surface::Git | Surface::Registry, Family::Job) if !is_numeric(project) => {
                checks.push(surface.check());
            }
            _ => {}
        }
    }
    let needs_path = surfaces
        .iter()
        .any(|s| matches!(s, Surface::Git | Surface::Registry));
    if needs_path
        && is_numeric(project)
        && matches!(family, Family::Access | Family::Oauth)
        && !surfaces.contains(&Surface::Api)
    {
        checks.push(Check::ProjectPath);
    }
    checks
}

/// The access checks still to send once GitLab accepted the token as `kind`: git and registry
/// for logins the failed-auth ban counts, and every surface of a token whose kind only GitLab's
/// answer settled.
pub fn second_wave_checks(
    class: &Classification,
    kind: Kind,
    inputs: &Inputs<'_>,
    answers: &[Answer],
) -> Vec<Check> {
    let (Some(project), Some(family)) = (inputs.access_project, family(kind)) else {
        return Vec::new();
    };
    let certain = class.candidates.is_empty();
    let path = project_path(project, answers);
    let asked = |check: Check| answers.iter().any(|a| a.check == check);
    let mut checks = Vec::new();
    for surface in effective(inputs.access, inputs.access_explicit, kind, certain) {
        if asked(surface.check()) {
            continue;
        }
        let send = match (surface, family) {
            (Surface::Api | Surface::Packages, Family::Deploy) => false,
            (Surface::Api | Surface::Packages, _) => true,
            // A deploy token's registry question was its identity check.
            (Surface::Registry, Family::Deploy) => false,
            (Surface::Git | Surface::Registry, _) => path.is_some(),
        };
        if send {
            checks.push(surface.check());
        }
    }
    checks
}

/// Sends the second wave (see [`second_wave_checks`]) with the client of the first, so the
/// whole run stays within `--timeout`.
pub fn second_wave(
    client: &Client,
    token: &Token,
    class: &Classification,
    kind: Kind,
    inputs: &Inputs<'_>,
    answers: &[Answer],
) -> Vec<Answer> {
    let checks = second_wave_checks(class, kind, inputs, answers);
    let path = inputs.access_project.and_then(|p| project_path(p, answers));
    let requests: Vec<Request<'_>> = checks
        .iter()
        .map(|&check| request(check, token, kind, inputs, path.as_deref()))
        .collect();
    checks
        .iter()
        .zip(client.send_all(&requests))
        .map(|(&check, exchange)| Answer { check, exchange })
        .collect()
}

/// Builds the request of an access check for a token of this kind; `path` is the project's
/// full path (needed by git and registry).
pub fn request<'t>(
    check: Check,
    token: &'t Token,
    kind: Kind,
    inputs: &Inputs<'t>,
    path: Option<&str>,
) -> Request<'t> {
    let family = family(kind).unwrap_or(Family::Access);
    let get = |path: String, credential| Request {
        method: Method::Get,
        path,
        query: Vec::new(),
        form: Vec::new(),
        credential,
    };
    let api = Credential::Header {
        name: match family {
            Family::Job => "JOB-TOKEN",
            _ => "PRIVATE-TOKEN",
        },
        token,
    };
    let api = match family {
        Family::Oauth => Credential::Bearer(token),
        _ => api,
    };
    let basic = Credential::Basic {
        username: login(family, inputs.username),
        token,
    };
    let project = format!(
        "/api/v4/projects/{}",
        percent_encode(inputs.access_project.unwrap_or_default())
    );
    let path = path.unwrap_or_default().trim_matches('/');
    match check {
        // GET /projects/:id ignores job tokens; releases accept them, need only Guest, and
        // enforce the allowlist.
        Check::ProjectAccess if family == Family::Job => Request {
            query: vec![("per_page", "1".into())],
            ..get(format!("{project}/releases"), api)
        },
        Check::AccessPackages => Request {
            query: vec![("per_page", "1".into())],
            ..get(format!("{project}/packages"), api)
        },
        Check::AccessGit => {
            let segments: Vec<String> = path.split('/').map(percent_encode).collect();
            Request {
                query: vec![("service", "git-upload-pack".into())],
                ..get(format!("/{}.git/info/refs", segments.join("/")), basic)
            }
        }
        Check::AccessRegistry => Request {
            query: vec![
                ("service", "container_registry".into()),
                ("scope", pull_scope(path)),
            ],
            ..get("/jwt/auth".into(), basic)
        },
        _ => get(project, api),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::classify_text as class_of;

    #[test]
    fn surfaces_parse_in_canonical_order() {
        assert_eq!(
            Surface::parse_list("packages,api,git,api"),
            Some(vec![Surface::Api, Surface::Git, Surface::Packages])
        );
        assert_eq!(
            Surface::parse_list(" registry "),
            Some(vec![Surface::Registry])
        );
        assert_eq!(Surface::parse_list("api,push"), None);
        assert_eq!(Surface::parse_list(""), None);
        assert_eq!(Surface::parse_list("api,"), None);
    }

    #[test]
    fn waves_keep_banned_logins_for_valid_tokens() {
        let all = Surface::ALL;
        let inputs = Inputs {
            access_project: Some("infra/deploy"),
            access: &all,
            access_explicit: true,
            username: Some("gitlab+deploy-token-3"),
            ..Inputs::default()
        };
        let pat = class_of("glpat-abcdefghijkmnpqrstuv");
        assert_eq!(
            first_wave(&pat, &inputs),
            [Check::ProjectAccess, Check::AccessPackages]
        );
        let job = class_of("glcbt-64_abcdefghijkmnpqrstuv");
        assert_eq!(
            first_wave(&job, &inputs),
            [
                Check::ProjectAccess,
                Check::AccessGit,
                Check::AccessRegistry,
                Check::AccessPackages
            ]
        );
        let deploy = class_of("gldt-abcdefghijkmnpqrstuv");
        assert!(first_wave(&deploy, &inputs).is_empty());
        assert_eq!(
            deploy_scope(&deploy, &inputs).as_deref(),
            Some("repository:infra/deploy:pull")
        );
        assert_eq!(
            second_wave_checks(&deploy, Kind::DeployToken, &inputs, &[]),
            [Check::AccessGit]
        );
        assert_eq!(
            second_wave_checks(&pat, Kind::PersonalAccessToken, &inputs, &[]),
            [
                Check::ProjectAccess,
                Check::AccessGit,
                Check::AccessRegistry,
                Check::AccessPackages
            ]
        );
    }

    #[test]
    fn a_numeric_project_is_resolved_for_access_tokens_only() {
        let git = [Surface::Git];
        let inputs = Inputs {
            access_project: Some("42"),
            access: &git,
            access_explicit: true,
            ..Inputs::default()
        };
        let pat = class_of("glpat-abcdefghijkmnpqrstuv");
        assert_eq!(first_wave(&pat, &inputs), [Check::ProjectPath]);
        let job = class_of("glcbt-64_abcdefghijkmnpqrstuv");
        assert!(first_wave(&job, &inputs).is_empty());
        assert!(second_wave_checks(&job, Kind::JobToken, &inputs, &[]).is_empty());
    }

    #[test]
    fn project_alone_keeps_meaning_api() {
        let api = [Surface::Api];
        let inputs = Inputs {
            access_project: Some("7"),
            access: &api,
            access_explicit: false,
            ..Inputs::default()
        };
        let trigger = class_of("glptt-0123456789abcdef0123456789abcdef01234567");
        assert!(first_wave(&trigger, &inputs).is_empty());
        let oauth = Kind::OauthAccessToken;
        assert_eq!(effective(&api, false, oauth, true), [Surface::Api]);
        assert!(effective(&api, false, oauth, false).is_empty());
        assert!(effective(&api, false, Kind::DeployToken, true).is_empty());
    }
}
