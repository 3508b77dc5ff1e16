use super::routes::{self, find, sample, table};
use super::*;
use crate::cli::parse_server_url;

fn get(path: &str) -> Parsed {
    parse(&format!("GET {path}"), None).unwrap()
}

#[test]
fn every_route_of_the_data_files_matches_itself() {
    assert!(table().len() > 150, "both data files are loaded");
    for route in table() {
        assert!(
            !sample(route).is_empty(),
            "{} has no usable form",
            route.template
        );
        let twins = table()
            .iter()
            .filter(|r| r.method == route.method && r.template == route.template)
            .count();
        assert_eq!(
            twins, 1,
            "{} {} is listed twice",
            route.method, route.template
        );
        for path in sample(route) {
            let method = Method::ALL
                .into_iter()
                .find(|m| m.as_str() == route.method)
                .unwrap_or_else(|| panic!("method of {}", route.template));
            for written in [path.clone(), format!("/api/v4{path}")] {
                let request = parse(&format!("{} {written}", route.method), None).unwrap();
                let found = find(method, request.api_path())
                    .unwrap_or_else(|| panic!("{} {written} matches nothing", route.method));
                assert!(
                    std::ptr::eq(found.route, route)
                        || (found.route.template == route.template
                            && found.route.method == route.method),
                    "{} {written} took {} instead of {}",
                    route.method,
                    found.route.template,
                    route.template
                );
                if route.is_project_route() {
                    assert_eq!(found.project(), Some("acme%2Fapp"), "{written}");
                }
            }
        }
    }
}

#[test]
fn the_data_files_name_their_source() {
    assert_eq!(
        routes::generated_from(),
        "002718acf79d58b4e8b72f122ca60c7609f98898"
    );
    for route in table() {
        assert!(
            ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&route.method),
            "{}",
            route.template
        );
        assert!(route.template.starts_with('/'), "{}", route.template);
        for p in &route.permissions {
            assert!(
                p.starts_with("read_") || p.starts_with("admin_"),
                "{p} of {}",
                route.template
            );
        }
    }
}

#[test]
fn near_misses_do_not_match() {
    for path in [
        "/projects/123",
        "/projects/acme%2Fapp",
        "/projects/123/packagesx",
        "/projects/123/packages/abc",
        "/projects/123/packages/12/package_files/x/download",
        "/projects/123/releases/v1/assets/links/x",
        "/projects/123/merge_requests/4/discussions",
        "/projects/123/jobs/abc/artifacts",
        "/projects/acme/app/packages",
        "/projects/123/repository/files/README.md",
        "/projects/123/job_token_scope",
        "/user",
        "/version",
        "/projects/123/terraform/state/prod/versions/one",
        "/jobs",
        "/",
    ] {
        let request = get(path);
        assert!(
            find(Method::Get, request.api_path()).is_none(),
            "{path} should match no job-token route"
        );
    }
    // The method matters: GET /projects/:id/releases is listed, DELETE /projects/:id/releases
    // (no tag) is not.
    assert!(find(Method::Delete, "/projects/1/releases").is_none());
    assert!(find(Method::Patch, "/projects/1/releases/v1").is_none());
}

#[test]
fn encoded_paths_prefixes_and_head() {
    let cases = [
        (
            "GET /api/v4/projects/acme%2Fapp/merge_requests/4/notes",
            "/projects/:id/merge_requests/:noteable_id/notes",
            vec!["read_merge_requests"],
        ),
        (
            "get /projects/acme%2Fother/packages?per_page=1",
            "/projects/:id/packages",
            vec!["read_packages"],
        ),
        (
            "HEAD /api/v4/projects/42/packages/generic/tool/1.0/tool.tar.gz",
            "/projects/:id/packages/generic/:package_name/*package_version/(*path/):file_name",
            vec!["read_packages"],
        ),
        (
            "GET /api/v4/projects/42/packages/npm/@acme/ui/-/@acme/ui-1.0.0.tgz",
            "/projects/:id/packages/npm/*package_name/-/*file_name",
            vec!["read_packages"],
        ),
        (
            "GET /api/v4/projects/42/packages/pypi/simple",
            "/projects/:id/packages/pypi/simple",
            vec!["read_packages"],
        ),
        (
            "GET /api/v4/projects/42/releases/permalink/latest/downloads/bin/tool",
            "/projects/:id/releases/permalink/latest(/)(*suffix_path)",
            vec!["read_releases"],
        ),
        (
            "GET /api/v4/projects/42/packages/go/example.com%2Fmod/@v/v1.0.0.info",
            "/projects/:id/packages/go/*module_name/@v/:module_version.info",
            vec!["read_packages"],
        ),
        (
            "GET /api/v4/projects/42/repository/archive.zip?sha=main",
            "/projects/:id/repository/archive(.:format)",
            vec!["read_repositories"],
        ),
        ("GET /api/v4/job/", "/job", vec![]),
        (
            "POST /api/v4/projects/42/deployments",
            "/projects/:id/deployments",
            vec!["admin_deployments", "admin_environments"],
        ),
    ];
    for (text, template, permissions) in cases {
        let request = parse(text, None).unwrap();
        let found = find(request.method, request.api_path())
            .unwrap_or_else(|| panic!("{text} matches nothing"));
        assert_eq!(found.route.template, template, "{text}");
        assert_eq!(found.route.permissions, permissions, "{text}");
    }
    let found = find(Method::Get, "/projects/acme%2Fapp/packages/12").unwrap();
    assert_eq!(found.project(), Some("acme%2Fapp"));
    assert_eq!(found.param("package_id"), Some("12"));
    assert!(
        find(Method::Get, "/jobs/7/artifacts")
            .unwrap()
            .project()
            .is_none()
    );
}

#[test]
fn paths_are_normalised_and_queries_kept() {
    let r = parse(
        "GET /projects/1/packages/?per_page=1&order_by=created_at",
        None,
    )
    .unwrap();
    assert_eq!(r.path, "/api/v4/projects/1/packages");
    assert_eq!(r.api_path(), "/projects/1/packages");
    assert_eq!(
        r.wire(),
        "/api/v4/projects/1/packages?per_page=1&order_by=created_at"
    );
    let r = parse("DELETE /api/v4//projects/1/releases/v1#frag", None).unwrap();
    assert_eq!(
        (r.method, r.path.as_str()),
        (Method::Delete, "/api/v4/projects/1/releases/v1")
    );
    assert_eq!(get("/api/v4").api_path(), "/");
}

#[test]
fn credentials_and_secret_looking_values_never_travel_or_show() {
    let pat = "glpat-abcdefghijkmnpqrstuv";
    let r = parse(
        &format!("GET /projects/1/packages?private_token={pat}&per_page=1&TOKEN=x&q={pat}"),
        None,
    )
    .unwrap();
    assert_eq!(r.dropped, ["private_token", "token"]);
    assert_eq!(
        r.wire(),
        format!("/api/v4/projects/1/packages?per_page=1&q={pat}")
    );
    assert_eq!(
        r.shown(),
        "/api/v4/projects/1/packages?per_page=1&q=[REDACTED]"
    );
    assert!(!r.line().contains("glpat"));
    assert_eq!(r.secret_values(), [pat]);
    let r = parse("GET /projects/1/jobs?scope=success&ref=main", None).unwrap();
    assert_eq!(r.shown(), r.wire());
}

#[test]
fn full_urls_only_on_the_configured_host() {
    let server = parse_server_url("https://gitlab.example.com/gitlab").unwrap();
    let r = parse(
        "GET https://user:secret@GitLab.example.com:443/gitlab/api/v4/projects/1/packages?per_page=1",
        Some(&server),
    )
    .unwrap();
    assert_eq!(r.wire(), "/api/v4/projects/1/packages?per_page=1");
    let r = parse("GET /gitlab/api/v4/projects/1", Some(&server)).unwrap();
    assert_eq!(r.path, "/api/v4/projects/1");
    assert_eq!(
        parse("GET /projects/1", Some(&server)).unwrap().path,
        "/api/v4/projects/1"
    );
    for (text, server) in [
        (
            "GET https://evil.example.com/gitlab/api/v4/projects/1",
            Some(&server),
        ),
        (
            "GET https://gitlab.example.com:8443/gitlab/api/v4/projects/1",
            Some(&server),
        ),
        (
            "GET https://gitlab.example.com/api/v4/projects/1",
            Some(&server),
        ),
        (
            "GET https://gitlab.example.com/gitlabx/api/v4/projects/1",
            Some(&server),
        ),
        (
            "GET https://gitlab.example.com/gitlab/api/v4/projects/1",
            None,
        ),
    ] {
        let error = parse(text, server).expect_err(text);
        assert!(
            !error.contains("evil") && !error.contains("secret"),
            "{error}"
        );
    }
}

#[test]
fn usage_errors_never_repeat_the_text() {
    for text in [
        "",
        "GET",
        "FETCH /projects/1",
        "GET projects/1",
        "GET /projects/1 extra",
        "GET /projects/../admin",
        "glpat-abcdefghijkmnpqrstuv",
        "GET /projects/ü",
        "GET /projects/1\u{7}",
    ] {
        let error = parse(text, None).expect_err(text);
        assert!(error.starts_with("--request"), "{error}");
        assert!(
            !error.contains("glpat") && !error.contains("FETCH"),
            "{error}"
        );
    }
}

#[test]
fn scopes_per_surface() {
    let needed = |text: &str| scopes::needed(&parse(text, None).unwrap());
    assert_eq!(needed("GET /projects/1"), ["read_api", "api"]);
    assert_eq!(needed("HEAD /projects/1/packages"), ["read_api", "api"]);
    assert_eq!(needed("POST /projects/1/issues"), ["api"]);
    assert_eq!(needed("GET /user"), ["read_user", "read_api", "api"]);
    assert_eq!(
        needed("GET /users/7/status"),
        ["read_user", "read_api", "api"]
    );
    assert_eq!(needed("GET /users/7/projects"), ["read_api", "api"]);
    assert_eq!(needed("GET /version"), ["read_user", "read_api", "api"]);
    assert_eq!(
        needed("GET /projects/1/repository/files/README.md/raw?ref=main"),
        ["read_repository", "read_api", "api"]
    );
    assert_eq!(
        needed("PUT /projects/1/repository/files/README.md"),
        ["api"]
    );
    assert_eq!(
        needed("GET /jwt/auth?service=container_registry&scope=repository%3Aacme%2Fapp%3Apull"),
        ["read_registry", "read_api", "api"]
    );
    assert_eq!(
        needed("GET /jwt/auth?service=container_registry&scope=repository:acme/app:pull,push"),
        ["write_registry", "api"]
    );
    assert!(scopes::satisfied(&["read_api", "api"], &["api".to_owned()]));
    assert!(!scopes::satisfied(
        &["read_api", "api"],
        &["read_user".to_owned()]
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any text: no panic, and an error never repeats it.
    #[test]
    fn any_text_parses_or_fails_quietly(text in "\\PC{0,80}", secret in "[a-zA-Z0-9]{20,30}") {
        let server = parse_server_url("https://gitlab.example.com").unwrap();
        let text = format!("{text}{secret}");
        if let Err(error) = parse(&text, Some(&server)) {
            proptest::prop_assert!(!error.contains(&secret));
        }
    }

    /// Any path: matching never panics, and what matches keeps the method's routes.
    #[test]
    fn any_path_matches_safely(path in "(/[a-z0-9%:*@.-]{0,12}){0,8}", head in proptest::bool::ANY) {
        let method = if head { Method::Head } else { Method::Get };
        if let Some(found) = find(method, &path) {
            proptest::prop_assert_eq!(found.route.method, "GET");
        }
    }
}

#[test]
fn secrets_hidden_in_queries_and_paths_are_never_shown() {
    let other = "glpat-OtherSecretAbCdEfGh12";
    for query in [
        format!("a=1;private_token={other}"),
        format!("private_token[]={other}"),
        format!("x=abc%26private_token%3D{other}"),
        "password=hunter2hunter2hunter2".to_owned(),
    ] {
        let parsed = parse(&format!("GET /api/v4/projects/1?{query}"), None).unwrap();
        let shown = parsed.shown();
        assert!(!shown.contains("OtherSecret"), "{query}: {shown}");
        assert!(!shown.contains("hunter2"), "{query}: {shown}");
        // A credential parameter is never sent; an encoded one is only the value of another.
        if !query.starts_with("x=") && !query.starts_with("password") {
            assert!(
                !parsed.wire().contains("private_token"),
                "{query}: sent {}",
                parsed.wire()
            );
        }
    }
    for bad in [
        format!("GET /api/v4/projects/{other}/issues"),
        "GET /api/v4/%2e%2e/%2e%2e/acme/app.git/info/refs?service=git-receive-pack".to_owned(),
        "GET /api/v4/.%2e/jwt/auth?scope=repository:acme/app:push".to_owned(),
    ] {
        let error = parse(&bad, None).expect_err(&bad);
        assert!(!error.contains("OtherSecret"), "{error}");
    }
}
