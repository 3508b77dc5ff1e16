//! GitLab's response bodies for the fake server (reference note, section 5), with dates made
//! relative to today so that "days left" stays true.

use serde_json::{Value, json};

use super::gitlab::Reply;
use super::tokens::now;

/// `YYYY-MM-DD`, `days` from today (UTC).
pub fn date_in(days: i64) -> String {
    glprobe::date::Day::from_unix(now() + days * 86_400).to_string()
}

/// `GET /api/v4/personal_access_tokens/self`, 200.
pub fn pat_self(scopes: &[&str], expires_in_days: Option<i64>, user_id: u64) -> Reply {
    Reply::json(
        200,
        json!({
            "id": 42, "name": "ci-validator", "active": true, "revoked": false, "expired": false,
            "granular": false, "created_at": "2025-05-01T10:00:00.000Z", "description": "validator",
            "scopes": scopes, "user_id": user_id, "last_used_at": "2025-06-01T12:00:00.000Z",
            "expires_at": expires_in_days.map(date_in), "last_used_ips": ["127.0.0.1"]
        }),
    )
}

/// `GET /api/v4/user`, 200.
pub fn user(id: u64, username: &str, bot: bool) -> Reply {
    Reply::json(
        200,
        json!({
            "id": id, "username": username, "public_email": "", "name": "Jane Doe",
            "state": "active", "locked": false, "avatar_url": "https://gitlab.example.com/a.png",
            "web_url": format!("https://gitlab.example.com/{username}"),
            "created_at": "2024-11-02T09:20:00.000Z", "bot": bot, "followers": 0, "following": 0,
            "email": format!("{username}@example.com"), "two_factor_enabled": true,
            "external": false, "private_profile": false
        }),
    )
}

/// `GET /api/v4/job`, 200, for a running job.
pub fn job(id: u64, project_id: u64) -> Reply {
    Reply::json(
        200,
        json!({
            "id": id, "status": "running", "stage": "test", "name": "rubocop", "ref": "main",
            "tag": false, "coverage": null, "allow_failure": false,
            "created_at": "2015-12-24T15:51:21.880Z", "started_at": "2015-12-24T17:54:30.733Z",
            "finished_at": null, "erased_at": null, "duration": 0.465, "queued_duration": 0.123,
            "user": {"id": 1, "username": "root", "name": "Administrator", "state": "active",
                     "locked": false, "web_url": "http://gitlab.dev/root"},
            "commit": {"id": "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd", "short_id": "0ff3ae19",
                       "title": "Test the CI integration."},
            "pipeline": {"id": 6, "project_id": project_id, "ref": "main",
                         "sha": "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd", "status": "running"},
            "web_url": format!("https://example.com/foo/bar/-/jobs/{id}"),
            "project": {"ci_job_token_scope_enabled": false}, "artifacts": [], "runner": null,
            "runner_manager": null, "artifacts_expire_at": null, "archived": false,
            "tag_list": ["docker runner"]
        }),
    )
}

/// `GET /oauth/token/info`, 200.
pub fn oauth_info(scopes: &[&str], expires_in: i64) -> Reply {
    Reply::json(
        200,
        json!({
            "resource_owner_id": 1, "scope": scopes, "expires_in": expires_in,
            "application": {"uid": "1cb242f495280beb4291e64bee2a17f330902e499882fe8e1e2aa875519cab33"},
            "created_at": 1_575_890_427, "scopes": scopes, "expires_in_seconds": expires_in
        }),
    )
}

/// `GET /oauth/token/info` for a token Doorkeeper does not accept (current GitLab): 401.
pub fn oauth_invalid() -> Reply {
    Reply::json(
        401,
        json!({"error": "invalid_token", "error_description": "The access token is invalid",
               "state": "unauthorized"}),
    )
    .header(
        "WWW-Authenticate",
        "Bearer realm=\"Doorkeeper\", error=\"invalid_token\", error_description=\"The access token is invalid\"",
    )
}

/// `POST /projects/:id/trigger/pipeline` with a valid token and a ref that does not exist.
pub fn reference_not_found() -> Reply {
    Reply::json(400, json!({"message": {"base": ["Reference not found"]}}))
}

/// `POST /projects/:id/trigger/pipeline` with a job token whose job has ended.
pub fn job_trigger_refused(message: &str) -> Reply {
    Reply::json(401, json!({"message": message}))
}

/// `GET /jwt/auth` with bad credentials.
pub fn registry_unauthorized() -> Reply {
    Reply::json(
        401,
        json!({"errors": [{"code": "UNAUTHORIZED", "message": "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped. See http://gitlab.example.com/help/topics/git/troubleshooting_git.md#error-on-git-fetch-http-basic-access-denied"}]}),
    )
    .header("WWW-Authenticate", "Basic realm=\"GitLab\"")
}

/// `POST /api/v4/admin/token` for a personal access token.
pub fn admin_pat(revoked: bool, expires_in_days: i64) -> Value {
    json!({
        "id": 1, "user_id": 70, "name": "project-access-token", "revoked": revoked,
        "expires_at": date_in(expires_in_days), "created_at": "2024-09-04T07:19:18.652Z",
        "scopes": ["api", "read_api"], "active": !revoked, "expired": false,
        "last_used_at": null
    })
}

/// A Unleash client features answer.
pub fn unleash_features() -> Reply {
    Reply::json(200, json!({"version": 1, "features": []}))
}

/// An Atom feed, as `/dashboard/projects.atom` sends it.
pub fn atom_feed() -> Reply {
    Reply::raw(
        200,
        "application/atom+xml; charset=utf-8",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>Projects</title></feed>\n",
    )
}

/// Devise's answer to a `.atom` request without a valid feed token.
pub fn feed_refused() -> Reply {
    Reply::raw(
        401,
        "application/atom+xml; charset=utf-8",
        "You need to sign in or sign up before continuing.",
    )
}

// Access checks (reference note access.md, sections 2–5 and its emulator cheat-sheet).

/// `GET /api/v4/projects/:id`, 200.
pub fn project(id: u64, path: &str) -> Reply {
    let name = path.rsplit('/').next().unwrap_or(path);
    Reply::json(
        200,
        json!({
            "id": id, "name": name, "path": name, "path_with_namespace": path,
            "name_with_namespace": path.replace('/', " / "), "default_branch": "main",
            "visibility": "private", "web_url": format!("https://gitlab.example.com/{path}"),
            "http_url_to_repo": format!("https://gitlab.example.com/{path}.git")
        }),
    )
}

/// `404 {"message":"404 Project Not Found"}`.
pub fn project_not_found() -> Reply {
    Reply::json(404, json!({"message": "404 Project Not Found"}))
}

/// `GET /:path.git/info/refs?service=git-upload-pack`, 200: the ref advertisement (protocol
/// v0), with `refs` branches — a large repository advertises every ref.
pub fn git_advertisement(refs: usize) -> Reply {
    let mut body = String::from("001e# service=git-upload-pack\n0000");
    let sha = "0ff3ae198f8601a285adcf5c0fff204ee6fba5fd";
    let first = format!(
        "{sha} HEAD\0multi_ack thin-pack side-band side-band-64k ofs-delta shallow no-progress include-tag agent=git/2.45.2\n"
    );
    body.push_str(&format!("{:04x}{first}", first.len() + 4));
    for i in 0..refs {
        let line = format!("{sha} refs/heads/feature/branch-number-{i:06}\n");
        body.push_str(&format!("{:04x}{line}", line.len() + 4));
    }
    body.push_str("0000");
    Reply::raw(200, "application/x-git-upload-pack-advertisement", body)
        .header("Cache-Control", "no-cache")
}

/// A Git refusal in plain text, as `render_403_with_exception`/`render_404_with_exception`
/// send it.
pub fn git_refused(status: u16, message: &str) -> Reply {
    Reply::raw(status, "text/plain; charset=utf-8", message.to_owned())
}

/// Git's 401 for credentials `find_for_git_client` does not accept.
pub fn git_unauthorized() -> Reply {
    Reply::raw(
        401,
        "text/plain; charset=utf-8",
        "HTTP Basic: Access denied. If a password was provided for Git authentication, the password was incorrect or you're required to use a token instead of a password. If a token was provided, it was either incorrect, expired, or improperly scoped. See http://gitlab.example.com/help/topics/git/troubleshooting_git.md#error-on-git-fetch-http-basic-access-denied",
    )
    .header("Www-Authenticate", "Basic realm=\"GitLab\"")
}

/// `GET /jwt/auth?service=container_registry&scope=…`, 200: a registry token whose `access`
/// claim grants `pull` on `pull` (a repository path), or nothing (`None`: the scope was dropped).
pub fn registry_token(pull: Option<&str>, auth_type: &str) -> Reply {
    let access = match pull {
        Some(path) => json!([{
            "type": "repository", "name": path, "actions": ["pull"],
            "meta": {"project_path": path, "project_id": 12, "root_namespace_id": 3}
        }]),
        None => json!([]),
    };
    let now = now();
    let claims = json!({
        "access": access, "auth_type": auth_type, "jti": "3f1a6f0e-6d0b-4d8e-9b1c-2a7e5c4d3b2a",
        "aud": "container_registry", "iss": "gitlab-issuer", "iat": now, "nbf": now - 5,
        "exp": now + 300, "user": glprobe::classify::jwt::encode_unsigned(
            &json!({"user_info": {"token_type": auth_type, "username": "jdoe", "user_id": 4}}))
    });
    Reply::json(
        200,
        json!({"token": glprobe::classify::jwt::encode_unsigned(&claims)}),
    )
}

/// `/jwt/auth` for a token without any registry ability: 403 DENIED.
pub fn registry_denied() -> Reply {
    Reply::json(
        403,
        json!({"errors": [{"code": "DENIED", "message": "access forbidden"}], "http_status": 403}),
    )
}
