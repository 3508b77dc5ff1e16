use serde_json::{Value, json};

use super::*;
use crate::probe::http::{Failure, Response};
use crate::request::parse;

fn facts(project_id: Option<u64>, scopes: Option<&[&str]>) -> Facts {
    Facts {
        project_id,
        user: Some("jdoe".into()),
        scopes: scopes.map(|s| s.iter().map(|x| x.to_string()).collect()),
        ..Facts::default()
    }
}

fn answer(status: u16, body: Value) -> Exchange {
    Exchange::get(
        "/api/v4/x",
        "JOB-TOKEN header",
        Ok(Response::new(status, "application/json", Body::Json(body))),
    )
}

fn run(kind: Kind, request: &str, facts: &Facts, x: Option<&Exchange>) -> Explained {
    let ctx = Context {
        kind,
        validity: Validity::Valid,
        token_reason: Reason::Ok,
        facts,
        offline: false,
        ci_project_path: Some("acme/app"),
    };
    explain(&parse(request, None).unwrap(), &ctx, x)
}

#[track_caller]
fn expect(e: &Explained, allowed: Option<bool>, reason: Option<Reason>) {
    assert_eq!(
        (e.verdict.allowed, e.verdict.reason),
        (allowed, reason),
        "{e:#?}"
    );
    assert_eq!(
        e.finding.as_ref().map(|f| f.reason),
        reason.filter(|r| *r != Reason::Ok)
    );
}

#[test]
fn job_tokens_on_routes_that_ignore_them() {
    let f = facts(Some(7), None);
    let private = answer(404, json!({"message": "404 Project Not Found"}));
    let public = answer(200, json!({"id": 123, "description": "PUBLIC-DATA"}));
    for x in [None, Some(&private), Some(&public)] {
        let e = run(Kind::JobToken, "GET /api/v4/projects/123", &f, x);
        expect(&e, Some(false), Some(Reason::JobTokenNotAccepted));
        let summary = &e.finding.as_ref().unwrap().summary;
        assert!(
            summary.contains("treats the request as anonymous"),
            "{summary}"
        );
        assert!(!format!("{e:?}").contains("PUBLIC-DATA"));
    }
    let e = run(
        Kind::JobToken,
        "GET /api/v4/projects/123",
        &f,
        Some(&public),
    );
    assert!(
        e.finding
            .unwrap()
            .summary
            .contains("only because the data is public")
    );
    let e = run(
        Kind::JobToken,
        "GET /projects/123/merge_requests/4/discussions",
        &f,
        None,
    );
    assert!(
        e.finding
            .unwrap()
            .next
            .contains("/merge_requests/4/notes accepts job tokens")
    );
    let e = run(Kind::JobToken, "GET /projects/acme/app/packages", &f, None);
    assert!(e.finding.unwrap().summary.contains("must be URL-encoded"));
    // The registry API: own project only.
    let e = run(
        Kind::JobToken,
        "GET /projects/8/registry/repositories",
        &f,
        None,
    );
    expect(&e, Some(false), Some(Reason::JobTokenNotAccepted));
    let e = run(
        Kind::JobToken,
        "GET /projects/7/registry/repositories",
        &f,
        None,
    );
    expect(&e, None, None);
}

#[test]
fn job_tokens_on_accepted_routes_read_gitlab_s_answer() {
    let f = facts(Some(7), None);
    let packages = "GET /api/v4/projects/acme%2Fother/packages";
    let cases: [(Exchange, Option<bool>, Option<Reason>, &str); 6] = [
        (
            answer(200, json!([{"name": "PRIVATE"}])),
            Some(true),
            Some(Reason::Ok),
            "",
        ),
        (
            answer(
                403,
                json!({"message": "403 Forbidden - Authentication by CI/CD job token not allowed from app to project #42."}),
            ),
            Some(false),
            Some(Reason::NotAllowlisted),
            "app is not on the job token allowlist of project #42",
        ),
        (
            answer(
                403,
                json!({"message": "403 Forbidden - Insufficient permissions to access this resource in project #42. The following token permission is required: read_packages."}),
            ),
            Some(false),
            Some(Reason::InsufficientScope),
            "do not include read_packages",
        ),
        (
            answer(403, json!({"message": "403 Forbidden"})),
            Some(false),
            Some(Reason::InsufficientRole),
            "the job's user @jdoe lacks the role",
        ),
        (
            answer(404, json!({"message": "404 Project Not Found"})),
            Some(false),
            Some(Reason::ProjectNotFound),
            "cannot find acme/other",
        ),
        (
            answer(503, json!({"message": "503"})),
            None,
            Some(Reason::ServerError),
            "not GitLab's API answering",
        ),
    ];
    for (x, allowed, reason, phrase) in cases {
        let e = run(Kind::JobToken, packages, &f, Some(&x));
        expect(&e, allowed, reason);
        assert!(e.verdict.summary.contains(phrase), "{}", e.verdict.summary);
        assert!(!format!("{e:?}").contains("PRIVATE"));
        assert_eq!(
            e.verdict.job_token_permission.as_deref(),
            Some("read_packages")
        );
    }
    let failed = Exchange {
        outcome: Err(Failure {
            kind: FailureKind::Unreachable,
            detail: "connection refused".into(),
        }),
        ..answer(200, json!({}))
    };
    expect(
        &run(Kind::JobToken, packages, &f, Some(&failed)),
        None,
        Some(Reason::Unreachable),
    );
}

#[test]
fn writes_rest_on_route_knowledge() {
    let f = facts(Some(7), None);
    let e = run(
        Kind::JobToken,
        "POST /projects/acme%2Fother/releases",
        &f,
        None,
    );
    expect(&e, None, None);
    let note = e.note.unwrap();
    assert!(
        note.contains("was not sent (glprobe sends only GET and HEAD"),
        "{note}"
    );
    assert!(
        note.contains("admin_releases") && note.contains("allowlist must include"),
        "{note}"
    );
    // The job's own project, by path: no allowlist rule to tell.
    let note = run(
        Kind::JobToken,
        "POST /projects/acme%2Fapp/releases",
        &f,
        None,
    )
    .note
    .unwrap();
    assert!(!note.contains("allowlist"), "{note}");
    let e = run(Kind::JobToken, "DELETE /projects/7", &f, None);
    expect(&e, Some(false), Some(Reason::JobTokenNotAccepted));
    assert!(e.finding.unwrap().next.contains("with api"));
}

#[test]
fn access_tokens_and_their_scopes() {
    let read_user = facts(None, Some(&["read_user"]));
    let e = run(
        Kind::PersonalAccessToken,
        "POST /projects/1/issues",
        &read_user,
        None,
    );
    expect(&e, Some(false), Some(Reason::InsufficientScope));
    assert!(e.finding.unwrap().summary.contains("needs the scope api"));
    let e = run(Kind::PersonalAccessToken, "GET /user", &read_user, None);
    expect(&e, None, None);
    let refused = answer(
        403,
        json!({"error": "insufficient_scope", "error_description": "The request requires higher privileges than provided by the access token.", "scope": "api read_api"}),
    );
    let e = run(
        Kind::PersonalAccessToken,
        "GET /projects/1",
        &read_user,
        Some(&refused),
    );
    expect(&e, Some(false), Some(Reason::InsufficientScope));
    assert!(e.verdict.summary.contains("api, read_api") && e.verdict.summary.contains("read_user"));
    let e = run(
        Kind::OauthAccessToken,
        "GET /projects/1",
        &read_user,
        Some(&answer(200, json!({}))),
    );
    expect(&e, Some(true), Some(Reason::Ok));
    let hidden = answer(404, json!({"message": "404 Project Not Found"}));
    let e = run(
        Kind::ProjectAccessToken,
        "GET /projects/9/packages",
        &read_user,
        Some(&hidden),
    );
    expect(&e, Some(false), Some(Reason::ProjectNotFound));
    // Accepted everywhere for access tokens: job_token_accepted only describes job tokens.
    assert!(e.verdict.job_token_accepted);
    let missing = answer(404, json!({"error": "404 Not Found"}));
    let e = run(
        Kind::PersonalAccessToken,
        "GET /projects/9/nope",
        &read_user,
        Some(&missing),
    );
    expect(&e, Some(false), Some(Reason::Unverifiable));
}

#[test]
fn an_invalid_token_makes_nothing_work_and_sends_nothing() {
    let parsed = parse("GET /projects/1/packages", None).unwrap();
    assert!(should_send(&parsed, Kind::JobToken, Validity::Valid));
    assert!(!should_send(&parsed, Kind::JobToken, Validity::Invalid));
    assert!(!should_send(&parsed, Kind::JobToken, Validity::Unknown));
    assert!(!should_send(&parsed, Kind::DeployToken, Validity::Valid));
    let post = parse("POST /projects/1/packages/pypi", None).unwrap();
    assert!(!should_send(&post, Kind::JobToken, Validity::Valid));
    let f = facts(None, None);
    let ctx = Context {
        kind: Kind::JobToken,
        validity: Validity::Invalid,
        token_reason: Reason::JobNotRunning,
        facts: &f,
        offline: false,
        ci_project_path: None,
    };
    let e = explain(&parsed, &ctx, None);
    assert_eq!(
        (e.verdict.allowed, e.verdict.reason, e.finding.is_none()),
        (Some(false), Some(Reason::JobNotRunning), true)
    );
    assert!(e.note.unwrap().contains("GitLab refuses the token itself"));
}

#[test]
fn the_request_finding_takes_its_place_among_the_others() {
    let mut d = Diagnosis {
        kind: Kind::JobToken,
        candidates: Vec::new(),
        validity: Validity::Valid,
        reason: Reason::Ok,
        findings: Vec::new(),
        facts: Facts::default(),
        access: Vec::new(),
        notes: Vec::new(),
        docs: Kind::JobToken.docs(),
    };
    let e = run(Kind::JobToken, "GET /projects/1", &facts(None, None), None);
    d.add_request(&e);
    assert_eq!(d.reason, Reason::JobTokenNotAccepted);
    assert_eq!(d.exit_code(), 3);
    assert_eq!(d.docs, JOB_TOKEN_DOCS);
}

#[test]
fn routes_outside_the_list_and_routes_of_newer_gitlab() {
    let f = facts(Some(7), None);
    let note = run(
        Kind::JobToken,
        "POST /projects/7/trigger/pipeline",
        &f,
        None,
    )
    .note
    .unwrap();
    assert!(
        note.contains("in the form field token, not in a JOB-TOKEN header"),
        "{note}"
    );
    let e = run(
        Kind::JobToken,
        "GET /projects/7/packages/nuget/index.json",
        &f,
        None,
    );
    assert!(e.verdict.job_token_accepted);
    assert!(e.note.unwrap().contains("basic auth user gitlab-ci-token"));
    // A 19.1 route answered as for an anonymous request: an older GitLab may be why.
    let hidden = answer(404, json!({"message": "404 Project Not Found"}));
    let e = run(
        Kind::JobToken,
        "GET /projects/9/merge_requests",
        &f,
        Some(&hidden),
    );
    expect(&e, Some(false), Some(Reason::ProjectNotFound));
    assert!(
        e.verdict
            .summary
            .contains("only from its 19.1 development line")
    );
    let e = run(
        Kind::JobToken,
        "GET /projects/9/releases",
        &f,
        Some(&hidden),
    );
    assert!(!e.verdict.summary.contains("19.1"));
}
