//! A job token where GitLab ignores it: what it means, and what works instead.

use super::readers::{gitlab_message, quoted};
use super::{JOB_TOKEN_DOCS, Knowledge};
use crate::diagnosis::Finding;
use crate::probe::http::Response;
use crate::reason::Reason;
use crate::request::{Parsed, routes};

/// A job token where GitLab ignores it.
pub(super) fn not_accepted(
    parsed: &Parsed,
    k: &Knowledge,
    response: Option<&Response>,
    own_only_elsewhere: bool,
) -> Finding {
    let line = parsed.line();
    let scope = if parsed.method.is_read() {
        "read_api"
    } else {
        "api"
    };
    let answered = match response {
        Some(r) if (200..300).contains(&r.status) => format!(
            " GitLab answered {} only because the data is public: it served an anonymous \
             request, not the job token.",
            r.status
        ),
        Some(r) => format!(
            " GitLab answered {}{}, as it answers anonymous requests.",
            r.status,
            quoted(gitlab_message(r))
        ),
        None => String::new(),
    };
    if own_only_elsewhere {
        let project = k.project.as_deref().unwrap_or("that project");
        return Finding::new(
            Reason::JobTokenNotAccepted,
            format!(
                "GitLab accepts a job token on the container registry API ({line}) only for \
                 the job's own project, and {project} is another one (GitLab: \"This project's \
                 CI/CD job token cannot be used to authenticate with the container registry of \
                 a different project.\").{answered}"
            ),
            format!(
                "Use a project access token of {project} with read_api (PRIVATE-TOKEN header); \
                 to pull images, docker login with the job token works once {project}'s job \
                 token allowlist includes the job's project."
            ),
            JOB_TOKEN_DOCS,
        );
    }
    let hint = unencoded_project_hint(parsed)
        .map(|h| format!(" {h}"))
        .unwrap_or_default();
    let alternative = alternative(parsed)
        .map(|a| format!("{a} Otherwise, use"))
        .unwrap_or_else(|| "Use".to_owned());
    Finding::new(
        Reason::JobTokenNotAccepted,
        format!(
            "GitLab does not accept job tokens on {line}: the route is not in GitLab's list of \
             job-token routes (generated at gitlab-org/gitlab {}, with the 19.1 additions), so \
             GitLab ignores the token there and \
             treats the request as anonymous; a 401 or 404 there says nothing about the \
             token.{answered}{hint}",
            short(routes::generated_from())
        ),
        format!(
            "{alternative} a project access token with {scope} (PRIVATE-TOKEN header), kept in \
             a masked CI/CD variable: no allowlist setting makes GitLab accept a job token on \
             this route."
        ),
        JOB_TOKEN_DOCS,
    )
}

/// A job-token route that serves the data of a route that does not accept job tokens.
fn alternative(parsed: &Parsed) -> Option<String> {
    let path = parsed.api_path();
    let parts: Vec<&str> = path.split('/').skip(1).collect();
    let text = match parts.as_slice() {
        ["projects", _] => "No job-token route reads a project itself; GET /api/v4/job names the \
                            job's own project (pipeline.project_id)."
            .to_owned(),
        ["user"] => "GET /api/v4/job tells who the job runs as (user.username).".to_owned(),
        ["projects", p, "merge_requests", iid, "discussions"] => format!(
            "GET /api/v4/projects/{p}/merge_requests/{iid}/notes accepts job tokens (GitLab \
             19.1 development line) and lists the same comments."
        ),
        ["projects", p, "repository", "files", file] => format!(
            "GET /api/v4/projects/{p}/repository/files/{file}/raw accepts job tokens (newer \
             GitLab) and returns the file's content."
        ),
        ["projects", p, "repository", "commits"] => format!(
            "GET /api/v4/projects/{p}/repository/commits/:sha accepts job tokens (newer GitLab) \
             for a single commit."
        ),
        _ => return None,
    };
    Some(text)
}

/// `/projects/acme/app/packages` is no route; `/projects/acme%2Fapp/packages` may be.
fn unencoded_project_hint(parsed: &Parsed) -> Option<String> {
    let path = parsed.api_path();
    let rest = path.strip_prefix("/projects/")?;
    let mut parts = rest.splitn(3, '/');
    let (namespace, name, tail) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    if namespace.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let encoded = format!("/projects/{namespace}%2F{name}/{tail}");
    routes::find(parsed.method, encoded.trim_end_matches('/'))?;
    Some(format!(
        "If {namespace}/{name} is a project path, it must be URL-encoded: \
         /api/v4/projects/{namespace}%2F{name}/{tail} is a job-token route."
    ))
}

fn short(commit: &str) -> &str {
    commit.get(..7).unwrap_or(commit)
}
