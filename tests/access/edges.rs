//! Everything around the matrix: large answers, numeric projects, the default project, usage
//! errors, failures, offline, the human block.

use super::*;

#[test]
fn a_large_ref_advertisement_is_an_answer_not_a_failure() {
    // 20 000 branches: about 1.2 MB, far over the body cap; only the start is read.
    let routes = pat_routes(&["read_repository"], no_user()).on(
        "GET",
        GIT,
        fixtures::git_advertisement(20_000),
    );
    let r = run(
        &pat(4),
        routes,
        &["--project", PROJECT, "--access", "git"],
        &[],
    );
    assert_code(&r.out, 0);
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "true", "{:#}", r.json["access"]);
    assert_eq!(r.json["access"][0]["request"]["status"], 200);
    assert_eq!(
        r.json["access"][0]["request"]["path"],
        "/infra/deploy.git/info/refs?service=git-upload-pack"
    );
}

#[test]
fn a_numeric_project_is_resolved_to_its_path_with_one_read() {
    let routes = pat_routes(&["read_api"], fixtures::user(4, "jdoe", false))
        .on("GET", "/api/v4/projects/12", fixtures::project(12, PROJECT))
        .on("GET", GIT, fixtures::git_advertisement(3));
    let r = run(
        &pat(4),
        routes,
        &["--project", "12", "--access", "git"],
        &[],
    );
    assert_code(&r.out, 0);
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "true");
    let mut paths: Vec<&str> = r.requests.iter().map(|q| q.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(paths, [SELF, "/api/v4/projects/12", USER, GIT]);

    // A job token cannot resolve it: git is undetermined, with the hint, and nothing is sent.
    let routes = job_routes(12).on("GET", GIT, fixtures::git_advertisement(3));
    let r = run(
        &job_token(),
        routes,
        &["--project", "12", "--access", "git"],
        &[],
    );
    assert_code(&r.out, 4);
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "unknown");
    assert!(
        r.json["access"][0]["next"]
            .as_str()
            .unwrap()
            .contains("CI_PROJECT_PATH")
    );
    assert_eq!(r.requests.len(), 1, "only GET /job");
}

#[test]
fn the_project_defaults_to_the_jobs_and_is_required() {
    let routes = job_routes(12).on("GET", GIT, fixtures::git_advertisement(3));
    let r = run(
        &job_token(),
        routes,
        &["--access", "git"],
        &[("CI_PROJECT_PATH", PROJECT), ("CI_PROJECT_ID", "12")],
    );
    assert_code(&r.out, 0);
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "true");
    assert!(r.requests.iter().any(|q| q.path == GIT));

    let r = run(&job_token(), Routes::new(), &["--access", "git"], &[]);
    assert_code(&r.out, 2);
    assert!(r.out.stderr.contains("--project"), "{}", r.out.stderr);
    assert!(r.requests.is_empty());
    let r = run(&job_token(), Routes::new(), &["--access", "git,push"], &[]);
    assert_code(&r.out, 2);
    assert!(
        r.out.stderr.contains("api, git, registry"),
        "{}",
        r.out.stderr
    );
}

#[test]
fn the_human_report_has_an_access_block() {
    let routes = pat_routes(&["read_registry"], no_user())
        .on(
            "GET",
            GIT,
            git_refused(403, "You are not allowed to download code."),
        )
        .on(
            "GET",
            JWT,
            fixtures::registry_token(Some(PROJECT), "personal_access_token"),
        );
    let server = FakeGitLab::start(routes);
    let token = pat(4);
    let out = glprobe(&[
        "--url",
        &server.url(),
        "--token-env",
        "TOK",
        "--timeout",
        "5",
    ])
    .args(&["--project", PROJECT, "--access", "git,registry"])
    .env("TOK", &token)
    .run();
    assert_code(&out, 3);
    assert_no_leak(&token, &out, &[]);
    let text = &out.stdout;
    assert!(text.contains("Access   project infra/deploy\n"), "{text}");
    assert!(
        text.contains(
            "         git      no, insufficient_scope (a scope or permission is missing)\n"
        ),
        "{text}"
    );
    assert!(text.contains("         registry yes\n"), "{text}");
    assert!(
        text.contains("Why      The token has no scope that reads code"),
        "{text}"
    );
}

#[test]
fn a_failure_on_a_surface_is_unknown_never_false() {
    // Gitaly down (503, retried with backoff), then a proxy's HTML page for the registry.
    let gitaly =
        "The git server, Gitaly, is not available at this time. Please contact your administrator.";
    let routes = pat_routes(&["read_api"], fixtures::user(4, "jdoe", false))
        .on("GET", GIT, git_refused(503, gitaly))
        .on(
            "GET",
            JWT,
            Reply::raw(
                403,
                "text/html",
                "<!DOCTYPE html><html>Forbidden by proxy</html>",
            ),
        );
    let r = run(
        &pat(4),
        routes,
        &["--project", PROJECT, "--access", "git,registry"],
        &[],
    );
    assert_code(&r.out, 4);
    assert_eq!(r.env["TOKEN_VALID"], "true");
    assert_eq!(r.env["TOKEN_REASON"], "server_error");
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "unknown");
    assert_eq!(r.env["TOKEN_ACCESS_REGISTRY"], "unknown");
    // 503 is retried (at most three attempts); the 403 page is not.
    let count = |path: &str| r.requests.iter().filter(|q| q.path == path).count();
    assert!((2..=3).contains(&count(GIT)), "{}", count(GIT));
    assert_eq!(count(JWT), 1);
}

#[test]
fn a_numeric_project_the_token_cannot_see_sends_no_git_request() {
    let routes = pat_routes(&["read_api"], fixtures::user(4, "jdoe", false)).on(
        "GET",
        "/api/v4/projects/99",
        fixtures::project_not_found(),
    );
    let r = run(
        &pat(4),
        routes,
        &["--project", "99", "--access", "api,git"],
        &[],
    );
    assert_code(&r.out, 3);
    assert_eq!(r.env["TOKEN_REASON"], "project_not_found");
    assert_eq!(r.env["TOKEN_ACCESS_API"], "false");
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "false");
    assert!(!r.requests.iter().any(|q| q.path.ends_with("/info/refs")));
    assert_eq!(r.requests.len(), 3, "self, user, the project");
}

#[test]
fn offline_access_is_unknown_and_sends_nothing() {
    let token = pat(4);
    let out = glprobe(&["--offline", "--token-env", "TOK", "--format", "dotenv"])
        .args(&["--project", PROJECT, "--access", "git,packages"])
        .env("TOK", &token)
        .run();
    assert_code(&out, 0);
    assert_no_leak(&token, &out, &[]);
    let env = out.dotenv();
    assert_eq!(env["TOKEN_ACCESS_GIT"], "unknown");
    assert_eq!(env["TOKEN_ACCESS_PACKAGES"], "unknown");
    assert!(!env.contains_key("TOKEN_ACCESS_API"));
}

#[test]
fn a_malformed_token_sends_nothing_at_all() {
    let r = run(
        &format!("\"{}\"", pat(4)),
        Routes::new(),
        &["--project", PROJECT, "--access", ALL],
        &[],
    );
    assert_code(&r.out, 1);
    assert_eq!(r.env["TOKEN_REASON"], "malformed");
    assert!(r.requests.is_empty());
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "false");
}

#[test]
fn a_fine_grained_token_without_the_permission_is_insufficient_scope() {
    let said = "Access denied: This operation requires a fine-grained personal access token with the following project permissions: [Code: Read].";
    let routes = pat_routes(&["granular"], no_user()).on("GET", GIT, git_refused(403, said));
    let r = run(
        &pat(4),
        routes,
        &["--project", PROJECT, "--access", "git"],
        &[],
    );
    assert_code(&r.out, 3);
    assert_eq!(r.env["TOKEN_REASON"], "insufficient_scope");
    assert_eq!(r.env["TOKEN_ACCESS_GIT"], "false");
    assert!(
        r.json["access"][0]["summary"]
            .as_str()
            .unwrap()
            .contains("fine-grained")
    );
}

#[test]
fn a_deploy_token_with_a_numeric_project_asks_the_registry_nothing() {
    let routes = Routes::new().on("GET", JWT, fixtures::registry_token(None, "deploy_token"));
    let args = [
        "--project",
        "12",
        "--username",
        DEPLOY_USER,
        "--access",
        "registry",
    ];
    let r = run(&format!("gldt-{F20}"), routes, &args, &[]);
    assert_code(&r.out, 4);
    assert_eq!(r.env["TOKEN_ACCESS_REGISTRY"], "unknown");
    assert_eq!(r.json["access"][0]["request"], Value::Null);
    let jwt = r.requests.iter().find(|q| q.path == JWT).unwrap();
    assert_eq!(jwt.query_param("scope"), None, "the identity check only");
    assert_eq!(r.requests.len(), 1);
}
