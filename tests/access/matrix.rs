//! One row per outcome of the reference note's matrices, per token family.

use super::*;

#[test]
fn job_tokens() {
    let ok = |routes: Routes| {
        routes
            .on("GET", RELEASES, Reply::json(200, serde_json::json!([])))
            .on("GET", GIT, fixtures::git_advertisement(3))
            .on("GET", JWT, fixtures::registry_token(Some(PROJECT), "build"))
            .on("GET", PACKAGES, Reply::json(200, serde_json::json!([])))
    };
    let rows = [
        Row {
            name: "job token, its own project",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: ok(job_routes(12)),
            verdict: (0, "job_token", "true", "ok"),
            access: ALL_OK,
            requests: job_requests(),
        },
        Row {
            name: "job token, allowlisted in another project",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: ok(job_routes(278)),
            verdict: (0, "job_token", "true", "ok"),
            access: ALL_OK,
            requests: job_requests(),
        },
        Row {
            name: "job token, not on the allowlist",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: job_routes(278)
                .on("GET", RELEASES, allowlist_api())
                .on(
                    "GET",
                    GIT,
                    git_refused(
                        403,
                        "Authentication by CI/CD job token not allowed from app to project #12.",
                    ),
                )
                .on("GET", JWT, fixtures::registry_token(None, "build"))
                .on("GET", PACKAGES, allowlist_api()),
            verdict: (3, "job_token", "true", "not_allowlisted"),
            access: all("false", "not_allowlisted"),
            requests: job_requests(),
        },
        Row {
            name: "job token, allowlisted but its user cannot read the target",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: job_routes(278)
                .on("GET", RELEASES, allowlist_api())
                .on(
                    "GET",
                    GIT,
                    git_refused(
                        403,
                        "Insufficient permissions to pull from the repository of project #12.",
                    ),
                )
                .on("GET", JWT, fixtures::registry_token(None, "build"))
                .on("GET", PACKAGES, allowlist_api()),
            verdict: (3, "job_token", "true", "insufficient_role"),
            access: all("false", "insufficient_role"),
            requests: job_requests(),
        },
        Row {
            name: "job token of a finished job",
            token: job_token(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: Routes::new()
                .on("GET", JOB, Reply::unauthorized())
                .on("GET", RELEASES, Reply::unauthorized())
                .on("GET", GIT, fixtures::git_unauthorized())
                .on("GET", JWT, fixtures::registry_unauthorized())
                .on("GET", PACKAGES, Reply::unauthorized())
                .on(
                    "POST",
                    TRIGGER,
                    fixtures::job_trigger_refused("401 Unauthorized - Job is not running"),
                ),
            verdict: (1, "job_token", "false", "job_not_running"),
            access: all("false", "job_not_running"),
            requests: {
                let mut r = job_requests();
                r.push(("POST", TRIGGER, Via::Form));
                r
            },
        },
    ];
    for row in rows {
        check_row(row);
    }
}

#[test]
fn personal_and_project_access_tokens() {
    let rows = [
        Row {
            name: "PAT with read_repository only: git yes, registry no",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(&["read_repository"], no_user())
                .on("GET", API, Reply::insufficient_scope("api read_api"))
                .on("GET", GIT, fixtures::git_advertisement(3))
                .on("GET", JWT, fixtures::registry_denied())
                .on("GET", PACKAGES, Reply::insufficient_scope("api read_api")),
            verdict: (3, "personal_access_token", "true", "insufficient_scope"),
            access: &[
                ("api", "false", "insufficient_scope"),
                ("git", "true", "ok"),
                ("registry", "false", "insufficient_scope"),
                ("packages", "false", "insufficient_scope"),
            ],
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "PAT with read_registry only: git 403, registry yes",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(&["read_registry"], no_user())
                .on("GET", API, Reply::insufficient_scope("api read_api"))
                .on("GET", GIT, git_refused(403, "You are not allowed to download code."))
                .on("GET", JWT, fixtures::registry_token(Some(PROJECT), "personal_access_token"))
                .on("GET", PACKAGES, Reply::insufficient_scope("api read_api")),
            verdict: (3, "personal_access_token", "true", "insufficient_scope"),
            access: &[
                ("api", "false", "insufficient_scope"),
                ("git", "false", "insufficient_scope"),
                ("registry", "true", "ok"),
                ("packages", "false", "insufficient_scope"),
            ],
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "PAT with write_registry only: it cannot pull",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", "git,registry"],
            routes: pat_routes(&["write_registry"], no_user())
                .on("GET", GIT, git_refused(403, "You are not allowed to download code."))
                .on("GET", JWT, fixtures::registry_token(None, "personal_access_token")),
            verdict: (3, "personal_access_token", "true", "insufficient_scope"),
            access: &[
                ("git", "false", "insufficient_scope"),
                ("registry", "false", "insufficient_scope"),
            ],
            requests: vec![
                ("GET", SELF, Via::Header("PRIVATE-TOKEN")),
                ("GET", USER, Via::Header("PRIVATE-TOKEN")),
                ("GET", GIT, Via::Basic("oauth2")),
                ("GET", JWT, Via::Basic("oauth2")),
            ],
        },
        Row {
            name: "PAT with read_api: everything",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(&["read_api"], fixtures::user(4, "jdoe", false))
                .on("GET", API, fixtures::project(12, PROJECT))
                .on("GET", GIT, fixtures::git_advertisement(3))
                .on("GET", JWT, fixtures::registry_token(Some(PROJECT), "personal_access_token"))
                .on("GET", PACKAGES, Reply::json(200, serde_json::json!([]))),
            verdict: (0, "personal_access_token", "true", "ok"),
            access: ALL_OK,
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "project access token with the Guest role",
            token: pat(61),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(
                &["api"],
                fixtures::user(61, "project_12_bot_9f8e7d6c5b4a39281706f5e4d3c2b1a0", true),
            )
            .on("GET", API, fixtures::project(12, PROJECT))
            .on(
                "GET",
                GIT,
                git_refused(403, "You are not allowed to download code from this project."),
            )
            .on("GET", JWT, fixtures::registry_token(None, "personal_access_token"))
            .on("GET", PACKAGES, Reply::forbidden_bare()),
            verdict: (3, "project_access_token", "true", "insufficient_role"),
            access: &[
                ("api", "true", "ok"),
                ("git", "false", "insufficient_role"),
                ("registry", "false", "insufficient_role"),
                ("packages", "false", "insufficient_role"),
            ],
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "project access token on a project its bot cannot read",
            token: pat(62),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(
                &["read_api"],
                fixtures::user(62, "project_99_bot_0a1b2c3d4e5f60718293a4b5c6d7e8f9", true),
            )
            .on("GET", API, fixtures::project_not_found())
            .on("GET", GIT, fixtures::git_unauthorized())
            .on("GET", JWT, fixtures::registry_token(None, "personal_access_token"))
            .on("GET", PACKAGES, fixtures::project_not_found()),
            verdict: (3, "project_access_token", "true", "project_not_found"),
            access: all("false", "project_not_found"),
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "a missing project",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: pat_routes(&["read_api"], fixtures::user(4, "jdoe", false))
                .on("GET", API, fixtures::project_not_found())
                .on(
                    "GET",
                    GIT,
                    git_refused(
                        404,
                        "The project you were looking for could not be found or you don't have permission to view it.",
                    ),
                )
                .on("GET", JWT, fixtures::registry_token(None, "personal_access_token"))
                .on("GET", PACKAGES, fixtures::project_not_found()),
            verdict: (3, "personal_access_token", "true", "project_not_found"),
            access: all("false", "project_not_found"),
            requests: pat_requests("oauth2"),
        },
        Row {
            name: "a revoked PAT: no git or registry request",
            token: pat(4),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: Routes::new()
                .on("GET", SELF, Reply::revoked())
                .on("GET", USER, Reply::revoked())
                .on("GET", API, Reply::revoked())
                .on("GET", PACKAGES, Reply::revoked()),
            verdict: (1, "personal_access_token", "false", "revoked"),
            access: all("false", "revoked"),
            requests: vec![
                ("GET", SELF, Via::Header("PRIVATE-TOKEN")),
                ("GET", USER, Via::Header("PRIVATE-TOKEN")),
                ("GET", API, Via::Header("PRIVATE-TOKEN")),
                ("GET", PACKAGES, Via::Header("PRIVATE-TOKEN")),
            ],
        },
        Row {
            name: "an OAuth token",
            token: "5d1f3e2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e".to_owned(),
            args: vec!["--project", PROJECT, "--access", ALL],
            routes: Routes::new()
                .on("GET", OAUTH, fixtures::oauth_info(&["read_api"], 7200))
                .on("GET", API, fixtures::project(12, PROJECT))
                .on("GET", GIT, fixtures::git_advertisement(3))
                .on("GET", JWT, fixtures::registry_token(Some(PROJECT), "oauth"))
                .on("GET", PACKAGES, Reply::json(200, serde_json::json!([]))),
            verdict: (0, "oauth_access_token", "true", "ok"),
            access: ALL_OK,
            requests: vec![
                ("GET", OAUTH, Via::Bearer),
                ("GET", API, Via::Bearer),
                ("GET", GIT, Via::Basic("oauth2")),
                ("GET", JWT, Via::Basic("oauth2")),
                ("GET", PACKAGES, Via::Bearer),
            ],
        },
    ];
    for row in rows {
        check_row(row);
    }
}

#[test]
fn deploy_tokens() {
    let token = || format!("gldt-{F20}");
    let args = |access: &'static str| {
        vec![
            "--project",
            PROJECT,
            "--username",
            DEPLOY_USER,
            "--access",
            access,
        ]
    };
    let both = vec![
        ("GET", JWT, Via::Basic(DEPLOY_USER)),
        ("GET", GIT, Via::Basic(DEPLOY_USER)),
    ];
    let rows = [
        Row {
            name: "deploy token with read_repository and read_registry",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on(
                    "GET",
                    JWT,
                    fixtures::registry_token(Some(PROJECT), "deploy_token"),
                )
                .on("GET", GIT, fixtures::git_advertisement(3)),
            verdict: (0, "deploy_token", "true", "ok"),
            access: &[("git", "true", "ok"), ("registry", "true", "ok")],
            requests: both.clone(),
        },
        Row {
            name: "deploy token without read_repository",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on(
                    "GET",
                    JWT,
                    fixtures::registry_token(Some(PROJECT), "deploy_token"),
                )
                .on(
                    "GET",
                    GIT,
                    git_refused(403, "You are not allowed to download code."),
                ),
            verdict: (3, "deploy_token", "true", "insufficient_scope"),
            access: &[
                ("git", "false", "insufficient_scope"),
                ("registry", "true", "ok"),
            ],
            requests: both.clone(),
        },
        Row {
            name: "deploy token without read_registry",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on("GET", JWT, fixtures::registry_denied())
                .on("GET", GIT, fixtures::git_advertisement(3)),
            verdict: (3, "deploy_token", "true", "insufficient_scope"),
            access: &[
                ("git", "true", "ok"),
                ("registry", "false", "insufficient_scope"),
            ],
            requests: both.clone(),
        },
        Row {
            name: "deploy token of another project",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on("GET", JWT, fixtures::registry_token(None, "deploy_token"))
                .on("GET", GIT, fixtures::git_unauthorized()),
            verdict: (3, "deploy_token", "true", "project_not_found"),
            access: &[
                ("git", "false", "project_not_found"),
                ("registry", "false", "project_not_found"),
            ],
            requests: both.clone(),
        },
        Row {
            name: "deploy token with a wrong user name: nothing after the refusal",
            token: token(),
            args: args("git,registry"),
            routes: Routes::new()
                .on("GET", JWT, fixtures::registry_unauthorized())
                .on("GET", GIT, fixtures::git_unauthorized()),
            verdict: (1, "deploy_token", "false", "unknown_token"),
            access: &[
                ("git", "false", "unknown_token"),
                ("registry", "false", "unknown_token"),
            ],
            requests: vec![("GET", JWT, Via::Basic(DEPLOY_USER))],
        },
        Row {
            name: "deploy token on the API and packages: said without a request",
            token: token(),
            args: args(ALL),
            routes: Routes::new()
                .on(
                    "GET",
                    JWT,
                    fixtures::registry_token(Some(PROJECT), "deploy_token"),
                )
                .on("GET", GIT, fixtures::git_advertisement(3)),
            verdict: (3, "deploy_token", "true", "insufficient_scope"),
            access: &[
                ("api", "false", "insufficient_scope"),
                ("git", "true", "ok"),
                ("registry", "true", "ok"),
                ("packages", "unknown", "unverifiable"),
            ],
            requests: both,
        },
    ];
    for row in rows {
        check_row(row);
    }
}
