//! Field review (issue 8): verdicts and wording at the edges. A redirect to another host, an
//! overridden CI_JOB_TOKEN, text that is no GitLab token, an endless token, absurd dates.

use serde_json::json;

use crate::support::fixtures;
use crate::support::gitlab::{FakeGitLab, Reply, Routes};
use crate::support::tokens::{F20, job_jwt, pat};
use crate::support::{Outcome, assert_code, assert_no_leak, glprobe};

const SELF: &str = "/api/v4/personal_access_tokens/self";
const USER: &str = "/api/v4/user";
const JOB: &str = "/api/v4/job";

fn offline(vars: &[(&str, &str)], args: &[&str]) -> Outcome {
    let mut run = glprobe(&["--offline"]).args(args);
    for (k, v) in vars {
        run = run.env(k, v);
    }
    run.run()
}

/// The human report with its line wrapping undone.
fn flat(out: &Outcome) -> String {
    out.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[track_caller]
fn reason(out: &Outcome, code: i32, reason: &str) {
    assert_code(out, code);
    assert!(
        out.stdout.contains(&format!("Reason   {reason}")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_redirect_to_another_host_is_never_followed_nor_advised() {
    let elsewhere = Reply::raw(302, "text/html", "")
        .header("Location", "https://sso.example.com/login?RelayState=abc");
    let server = FakeGitLab::start(
        Routes::new()
            .on("GET", SELF, elsewhere.clone())
            .on("GET", USER, elsewhere),
    );
    let token = pat(1);
    let out = glprobe(&["--url", &server.url()])
        .env("GITLAB_TOKEN", &token)
        .run();
    reason(&out, 4, "server_error");
    assert!(
        flat(&out).contains("another host, sso.example.com"),
        "{}",
        out.stdout
    );
    assert!(!flat(&out).contains("RelayState"), "{}", out.stdout);
    assert!(
        !flat(&out).contains("address GitLab redirects to"),
        "{}",
        out.stdout
    );
    assert_no_leak(&token, &out, &[]);

    let same = Reply::raw(301, "text/html", "")
        .header("Location", &format!("{}/gitlab/api/v4/user", server.url()));
    let server = FakeGitLab::start(
        Routes::new()
            .on("GET", SELF, same.clone())
            .on("GET", USER, same),
    );
    let out = glprobe(&["--url", &server.url()])
        .env("GITLAB_TOKEN", &token)
        .run();
    reason(&out, 4, "server_error");
    assert!(flat(&out).contains("on the same host"), "{}", out.stdout);
}

#[test]
fn an_overridden_ci_job_token_is_told_offline_and_never_shown() {
    let own = job_jwt(8, 278, 3600, "gitlab.example.com");
    let other = job_jwt(5, 278, 3600, "gitlab.example.com");
    let repo = format!("https://gitlab-ci-token:{own}@gitlab.example.com/acme/app.git");
    // Another job's token in CI_JOB_TOKEN: the kind fits, the job does not.
    let out = offline(
        &[
            ("CI_JOB_TOKEN", &other),
            ("CI_REPOSITORY_URL", &repo),
            ("CI_REGISTRY_PASSWORD", &own),
        ],
        &[],
    );
    reason(&out, 3, "kind_mismatch");
    assert!(
        out.stdout
            .contains("Delete or rename the CI_JOB_TOKEN variable"),
        "{}",
        out.stdout
    );
    for secret in [&own, &other] {
        assert_no_leak(secret, &out, &[]);
    }
    // The job's own token, with CI_REGISTRY_PASSWORD overridden for another registry: no alarm.
    let out = offline(
        &[
            ("CI_JOB_TOKEN", &own),
            ("CI_REPOSITORY_URL", &repo),
            ("CI_REGISTRY_PASSWORD", "dockerhub-secret-value"),
        ],
        &[],
    );
    reason(&out, 0, "ok");
    // Without CI_REPOSITORY_URL, the JWT's job against CI_JOB_ID.
    let out = offline(&[("CI_JOB_TOKEN", &other), ("CI_JOB_ID", "8")], &[]);
    reason(&out, 3, "kind_mismatch");
    assert!(
        flat(&out).contains("belongs to job 5, while this is job 8"),
        "{}",
        out.stdout
    );
    let out = offline(&[("CI_JOB_TOKEN", &own), ("CI_JOB_ID", "8")], &[]);
    reason(&out, 0, "ok");
}

#[test]
fn a_finished_jobs_token_inside_a_running_job_is_not_told_to_use_a_running_job() {
    let jwt = job_jwt(5, 278, 3600, "127.0.0.1");
    let server = FakeGitLab::start(Routes::new().on("GET", JOB, Reply::unauthorized()).on(
        "POST",
        "/api/v4/projects/278/trigger/pipeline",
        fixtures::job_trigger_refused("Job is not running"),
    ));
    let out = glprobe(&["--url", &server.url(), "--token-env", "STORED"])
        .env("STORED", &jwt)
        .env("CI_JOB_ID", "9")
        .run();
    reason(&out, 1, "job_not_running");
    assert!(flat(&out).contains("inside job 9"), "{}", out.stdout);
    assert!(
        !flat(&out).contains("of a job that is running now"),
        "{}",
        out.stdout
    );
}

#[test]
fn text_that_is_no_gitlab_token_gets_the_same_verdict_offline_and_online() {
    let server = FakeGitLab::start(Routes::new());
    for (value, code, why) in [
        ("hello", 4, "unverifiable"),
        ("https://gitlab.example.com/acme/app", 4, "unverifiable"),
        (
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            4,
            "unverifiable",
        ),
        ("CI_JOB_TOKEN", 1, "malformed"),
        ("GITLAB_TOKEN=glpat-xKq7Tz9VbNw3RmPa2sYe", 1, "malformed"),
        ("glpat-", 1, "malformed"),
        ("glpat-xKq7Tz9VbNw3#comment", 1, "malformed"),
        (
            "glpat-xKq7Tz9VbNw3RmPa2sYe,glpat-Zq7Tz9VbNw3RmPa2sYe",
            1,
            "malformed",
        ),
        (
            "export GITLAB_TOKEN=glpat-xKq7Tz9VbNw3RmPa2sYe",
            1,
            "malformed",
        ),
    ] {
        let out = offline(&[("GITLAB_TOKEN", value)], &[]);
        reason(&out, code, why);
        let online = glprobe(&["--url", &server.url()])
            .env("GITLAB_TOKEN", value)
            .run();
        reason(&online, code, why);
        if value.contains("glpat-") {
            assert_no_leak("xKq7Tz9VbNw3RmPa2sYe", &out, &[]);
        }
        if value.contains("TOKEN=glpat-") {
            assert!(
                flat(&out).contains("`GITLAB_TOKEN=…` line"),
                "{}",
                out.stdout
            );
        }
    }
    assert!(server.requests().is_empty());
    let out = offline(&[("GITLAB_TOKEN", "CI_JOB_TOKEN")], &[]);
    assert!(
        flat(&out).contains("the name of a variable"),
        "{}",
        out.stdout
    );
    assert!(
        flat(&out).contains("--token-env (CI_JOB_TOKEN)"),
        "{}",
        out.stdout
    );
    // The log mask is explained as itself, not scrubbed into [REDACTED].
    let out = offline(&[("GITLAB_TOKEN", "[MASKED]")], &[]);
    reason(&out, 1, "malformed");
    assert!(flat(&out).contains("`[MASKED]`"), "{}", out.stdout);
}

#[test]
fn a_token_longer_than_any_gitlab_token_is_malformed_and_never_sent() {
    let server = FakeGitLab::start(Routes::new());
    let long = format!("glpat-{}", "a".repeat(100_000));
    let out = glprobe(&["--url", &server.url(), "--format", "dotenv"])
        .env("GITLAB_TOKEN", &long)
        .run();
    assert_code(&out, 1);
    assert!(
        flat(&out).contains("TOKEN_REASON=malformed"),
        "{}",
        out.stdout
    );
    assert!(server.requests().is_empty());
    let out = glprobe(&["--url", &server.url()])
        .env("GITLAB_TOKEN", &long)
        .run();
    assert!(
        flat(&out).contains("100006 characters long"),
        "{}",
        out.stdout
    );
    assert!(!flat(&out).contains("copied whole"), "{}", out.stdout);
}

#[test]
fn wording_at_the_edges() {
    // One character too many after the routable `.01.` field.
    let routable = format!("{}x", pat(1));
    let out = offline(&[("GITLAB_TOKEN", &routable)], &[]);
    assert!(
        flat(&out).contains("something was added at the end"),
        "{}",
        out.stdout
    );
    assert!(!flat(&out).contains("only 10 characters"), "{}", out.stdout);

    // An `exp` of -2^63 is no date at all.
    use base64::Engine as _;
    let claims = json!({"sub": "gid://gitlab/Ci::Build/8", "iss": "gitlab.example.com",
        "aud": "gitlab-authz-token", "exp": i64::MIN, "p": "7q"});
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
    let jwt = format!("glcbt-eyJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJl");
    let out = offline(&[("GITLAB_TOKEN", &jwt)], &[]);
    assert!(!flat(&out).contains("106751991"), "{}", out.stdout);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);

    // An expiry date in the past that GitLab still accepts: "days ago", never "in -N days".
    let server = FakeGitLab::start(
        Routes::new()
            .on("GET", SELF, fixtures::pat_self(&["api"], Some(-5), 1))
            .on("GET", USER, fixtures::user(1, "jdoe", false)),
    );
    let out = glprobe(&["--url", &server.url(), "--min-days-left", "7"])
        .env("GITLAB_TOKEN", &pat(1))
        .run();
    assert!(flat(&out).contains("was 5 days ago"), "{}", out.stdout);
    assert!(!flat(&out).contains("in -"), "{}", out.stdout);

    // CI_DEPLOY_PASSWORD is GitLab's own variable: the override hint, not "put a deploy token".
    let out = offline(
        &[("CI_DEPLOY_PASSWORD", &pat(1))],
        &["--token-env", "CI_DEPLOY_PASSWORD"],
    );
    reason(&out, 3, "kind_mismatch");
    assert!(
        out.stdout
            .contains("Delete or rename the CI_DEPLOY_PASSWORD variable"),
        "{}",
        out.stdout
    );
    let _ = F20;
}

#[test]
fn redirects_and_issuers_in_disguise_are_read_as_their_real_host() {
    let token = pat(1);
    for location in [
        "//evil.example/x",
        "https://127.0.0.1@evil.example/",
        "https://evil.example\\@127.0.0.1/",
    ] {
        let reply = Reply::raw(302, "text/html", "").header("Location", location);
        let server = FakeGitLab::start(
            Routes::new()
                .on("GET", SELF, reply.clone())
                .on("GET", USER, reply),
        );
        let out = glprobe(&["--url", &server.url()])
            .env("GITLAB_TOKEN", &token)
            .run();
        reason(&out, 4, "server_error");
        assert!(
            flat(&out).contains("another host, evil.example"),
            "{location}: {}",
            out.stdout
        );
    }
    // An issuer with a user name in front of another host is that host's: never sent.
    let server = FakeGitLab::start(Routes::new().on("GET", JOB, fixtures::job(8, 278)));
    for iss in [
        "https://127.0.0.1@evil.example",
        "https://evil.example?x",
        "https://evil.example ",
    ] {
        let out = glprobe(&["--url", &server.url(), "--token-env", "T"])
            .env("T", &job_jwt(8, 278, 3600, iss))
            .run();
        reason(&out, 4, "unverifiable");
    }
    assert!(server.requests().is_empty(), "a foreign job token was sent");
    // A trailing dot is the same host.
    let out = glprobe(&["--url", &server.url(), "--token-env", "T"])
        .env("T", &job_jwt(8, 278, 3600, "127.0.0.1."))
        .run();
    reason(&out, 0, "ok");
}
