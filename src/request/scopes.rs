//! The scopes a personal, project, group or OAuth token needs for a request.
//!
//! GitLab's rule (`lib/api/api.rb`): `api` for everything, and `read_api` for GET and HEAD
//! (`allow_access_with_scope :read_api, if: -> (request) { request.get? || request.head? }`).
//! A few API classes add a scope of their own for reads (reference note access.md section 6):
//!
//! - `read_user`: the Users API (`/user…`, `/users…`), `/events`, `/version`, `/metadata`
//!   (`allow_access_with_scope :read_user` in `lib/api/users.rb`, `events.rb`, `version.rb`,
//!   `metadata.rb`); the project lists under `/users/:id/` belong to the Projects API and do not;
//! - `read_repository`: the repository files API, `/projects/:id/repository/files/…`
//!   (`lib/api/files.rb`);
//! - the container registry's token endpoint `/jwt/auth` (not REST): pull needs `read_registry`,
//!   `read_api` or `api` (`abilities_for_scopes` in `lib/gitlab/auth.rb`).
//!
//! GitLab's own `insufficient_scope` answer names the scopes of the route; when the request is
//! sent, that answer wins over this table.

use super::{Parsed, decode};

/// The scopes of which the token needs one, most specific first.
pub fn needed(request: &Parsed) -> Vec<&'static str> {
    let path = request.api_path();
    if !request.is_rest() {
        return if path.starts_with("/jwt/auth") {
            if request.method.is_read() && !asks_registry_write(request) {
                vec!["read_registry", "read_api", "api"]
            } else {
                vec!["write_registry", "api"]
            }
        } else {
            Vec::new()
        };
    }
    if !request.method.is_read() {
        return vec!["api"];
    }
    if is_user_route(path) {
        vec!["read_user", "read_api", "api"]
    } else if is_repository_file(path) {
        vec!["read_repository", "read_api", "api"]
    } else {
        vec!["read_api", "api"]
    }
}

fn is_user_route(path: &str) -> bool {
    let under = |root: &str| path == root || path.starts_with(&format!("{root}/"));
    if under("/users") {
        let projects = ["projects", "starred_projects", "contributed_projects"];
        let mut parts = path.split('/').skip(3);
        return !(parts.next().is_some_and(|p| projects.contains(&p)) && parts.next().is_none());
    }
    under("/user") || under("/events") || under("/version") || under("/metadata")
}

fn is_repository_file(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "projects", _, "repository", "files", _, ..]
    )
}

/// A registry token request whose `scope` asks for more than `pull`.
fn asks_registry_write(request: &Parsed) -> bool {
    request.query.iter().any(|(k, v)| {
        decode(k) == "scope"
            && decode(v)
                .rsplit(':')
                .next()
                .is_some_and(|actions| actions.split(',').any(|a| a != "pull"))
    })
}

/// True when the token's scopes include one of `needed`.
pub fn satisfied(needed: &[&str], have: &[String]) -> bool {
    needed.is_empty() || have.iter().any(|s| needed.contains(&s.as_str()))
}
