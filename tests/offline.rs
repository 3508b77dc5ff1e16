//! `--offline`: every kind named from its text alone, and every offline fact (missing,
//! malformed, corrupted, an expired JWT, a kind mismatch) decided without a request.

use crate::support::tokens::{F20, job_jwt, pat, routable};
use crate::support::{assert_code, assert_no_leak, glprobe};

fn offline(var: &str, value: &str) -> crate::support::Outcome {
    glprobe(&["--offline", "--token-env", var, "--format", "dotenv"])
        .env(var, value)
        .run()
}

#[test]
fn every_kind_is_named_offline() {
    let hex64 = "0123456789abcdef".repeat(4);
    let cases: Vec<(String, &str)> = vec![
        (pat(12345), "personal_access_token"),
        (format!("glpat-{F20}"), "personal_access_token"),
        (format!("acme-glpat-{F20}"), "personal_access_token"),
        (format!("gloas-{hex64}"), "oauth_application_secret"),
        (format!("gldt-{F20}"), "deploy_token"),
        (format!("glcbt-64_{F20}"), "job_token"),
        (job_jwt(99, 7, 3600, "gitlab.example.com"), "job_token"),
        (format!("glptt-{}", &hex64[..40]), "trigger_token"),
        (format!("glrt-t2_{F20}"), "runner_authentication_token"),
        (
            routable("glrt-", &[("g", 5), ("o", 1), ("u", 2)]),
            "runner_authentication_token",
        ),
        (format!("glrtr-{F20}"), "runner_authentication_token"),
        (format!("GR1348941{F20}"), "runner_registration_token"),
        (format!("glft-{F20}"), "feed_token"),
        (
            "glimt-3k9x0b2m7q1w8e5r4t6y2u9i0".to_owned(),
            "incoming_email_token",
        ),
        (format!("glagent-{F20}{F20}{}", &F20[..10]), "agent_token"),
        (routable("glagent-", &[("o", 1), ("p", 9)]), "agent_token"),
        (format!("glsoat-{F20}"), "scim_token"),
        (format!("glffct-{F20}"), "feature_flags_client_token"),
        (routable("glwt-", &[("o", 1), ("u", 3)]), "workspace_token"),
    ];
    for (token, kind) in cases {
        let out = offline("X", &token);
        assert_code(&out, 0);
        let env = out.dotenv();
        assert_eq!(env["TOKEN_KIND"], kind, "{token}");
        assert_eq!(env["TOKEN_VALID"], "unknown", "{token}");
        assert_eq!(env["TOKEN_REASON"], "ok", "{token}");
        assert_eq!(env["TOKEN_FINGERPRINT"].len(), 12);
        assert_no_leak(&token, &out, &[]);
    }
}

#[test]
fn legacy_shapes_list_their_candidates() {
    let cases = [
        (
            F20.to_owned(),
            "personal_access_token,deploy_token,feed_token,runner_authentication_token,job_token",
        ),
        (
            "ab".repeat(32),
            "oauth_access_token,oauth_application_secret",
        ),
        (
            "0123456789abcdef0123456789abcd".to_owned(),
            "trigger_token,runner_authentication_token",
        ),
    ];
    for (token, candidates) in cases {
        let env = offline("X", &token).dotenv();
        assert_eq!(env["TOKEN_KIND"], "unknown");
        assert_eq!(env["TOKEN_CANDIDATES"], candidates);
    }
    // One kind only: no candidates.
    let env = offline("X", &format!("64_{F20}")).dotenv();
    assert_eq!(env["TOKEN_KIND"], "job_token");
    assert!(!env.contains_key("TOKEN_CANDIDATES"));
}

#[test]
fn routable_payload_and_jwt_claims_are_reported() {
    let env = offline("X", &pat(987_654)).dotenv();
    assert_eq!(env["TOKEN_USER_ID"], "987654");

    let out = glprobe(&["--offline", "--token-env", "X", "--format", "json"])
        .env("X", &job_jwt(4711, 278, 1800, "gitlab.example.com"))
        .run();
    let json = out.json();
    assert_eq!(json["details"]["job_id"], 4711);
    assert_eq!(json["details"]["project_id"], 278);
    assert_eq!(json["details"]["issuer"], "gitlab.example.com");
    assert_eq!(json["token"]["format"], "jwt");
    let exp = json["details"]["expires_at_unix"].as_i64().unwrap();
    assert!((exp - crate::support::tokens::now() - 1800).abs() < 60);
}

#[test]
fn corrupted_routable_tokens_are_caught_offline() {
    let good = pat(42);
    let mut altered = good.clone();
    altered.replace_range(10..11, if &good[10..11] == "Q" { "R" } else { "Q" });
    for bad in [altered, good[..good.len() - 3].to_owned()] {
        let out = glprobe(&["--offline", "--token-env", "X"])
            .env("X", &bad)
            .run();
        assert_code(&out, 1);
        assert!(out.stdout.contains("Reason   corrupted"), "{}", out.stdout);
        assert!(
            out.stdout.contains("truncated or altered")
                || out.stdout.contains("missing or altered")
        );
        let env = offline("X", &bad).dotenv();
        assert_eq!(env["TOKEN_REASON"], "corrupted");
        assert_eq!(env["TOKEN_VALID"], "false");
        assert_eq!(env["TOKEN_KIND"], "personal_access_token");
    }
}

#[test]
fn expired_jwt_job_tokens_are_caught_offline_and_online_without_a_request() {
    let token = job_jwt(77, 5, -120, "gitlab.example.com");
    let out = offline("X", &token);
    assert_code(&out, 1);
    let env = out.dotenv();
    assert_eq!(env["TOKEN_REASON"], "expired");
    assert_eq!(env["TOKEN_KIND"], "job_token");
    assert_eq!(env["TOKEN_JOB_ID"], "77");
    // Online, against a port nothing listens on: an expired JWT needs no request at all.
    let out = glprobe(&[
        "--url",
        "http://127.0.0.1:9",
        "--token-env",
        "X",
        "--format",
        "dotenv",
    ])
    .env("X", &token)
    .run();
    assert_code(&out, 1);
    assert_eq!(out.dotenv()["TOKEN_REASON"], "expired");
}

#[test]
fn missing_tokens() {
    let out = glprobe(&["--offline"]).run();
    assert_code(&out, 1);
    assert!(
        out.stdout.contains("$CI_JOB_TOKEN is not set"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("only exists inside a running CI/CD job")
    );

    let out = glprobe(&["--offline", "--format", "dotenv"])
        .env("GITLAB_TOKEN", "")
        .run();
    let env = out.dotenv();
    assert_eq!(env["TOKEN_KIND"], "none");
    assert_eq!(env["TOKEN_REASON"], "missing");
    assert_eq!(env["TOKEN_VALID"], "false");
    assert!(!env.contains_key("TOKEN_FINGERPRINT"));

    let out = glprobe(&["--offline", "--token-env", "DEPLOY_TOKEN"])
        .env("CI_COMMIT_REF_PROTECTED", "false")
        .run();
    assert_code(&out, 1);
    let text = out.stdout.replace("\n         ", " ");
    assert!(text.contains("unprotected branch or tag"), "{text}");
    assert!(
        text.contains("does not expose protected variables"),
        "{text}"
    );
}

#[test]
fn mistakes_are_malformed_with_their_own_explanation() {
    let wrapped = {
        let jwt = job_jwt(1, 2, 3600, "gitlab.example.com");
        let (a, b) = jwt.split_at(60);
        format!("{a}\n{b}")
    };
    let cases: Vec<(String, &str)> = vec![
        ("$CI_JOB_TOKEN".into(), "literal text `$CI_JOB_TOKEN`"),
        ("${DEPLOY_TOKEN}".into(), "literal text `$DEPLOY_TOKEN`"),
        ("[MASKED]".into(), "GitLab's log mask"),
        (format!("\"glpat-{F20}\""), "wrapped in quotes"),
        (
            format!("'gldt-{F20}'"),
            "without them it would be a deploy token",
        ),
        (
            format!("glpat-{} {}", &F20[..10], &F20[10..]),
            "white space inside it",
        ),
        (wrapped, "broken over 2 lines"),
        (
            format!("glpat-{}\u{1b}[0m", &F20[..18]),
            "control character",
        ),
        (format!("glpat-{}\u{200b}", F20), "invisible character"),
        (format!("glpat-{}é", &F20[..19]), "outside ASCII"),
    ];
    for (value, explanation) in cases {
        let out = glprobe(&["--offline", "--token-env", "X"])
            .env("X", &value)
            .run();
        assert_code(&out, 1);
        assert!(
            out.stdout.contains("Reason   malformed"),
            "{value:?}\n{}",
            out.stdout
        );
        let text = out.stdout.replace("\n         ", " ");
        assert!(
            text.contains(explanation),
            "{value:?}: {explanation:?} not in\n{}",
            out.stdout
        );
        assert_eq!(offline("X", &value).dotenv()["TOKEN_REASON"], "malformed");
    }
}

#[test]
fn a_personal_access_token_in_ci_job_token_is_a_kind_mismatch() {
    // The seed's story: a project variable named CI_JOB_TOKEN holding a personal access token.
    let token = pat(31337);
    let out = glprobe(&["--offline"]).env("CI_JOB_TOKEN", &token).run();
    assert_code(&out, 3);
    let text = out.stdout.replace("\n         ", " ");
    assert!(text.contains("Reason   kind_mismatch"), "{text}");
    assert!(
        text.contains("$CI_JOB_TOKEN holds a personal (or project or group) access token, not the job token GitLab provides"),
        "{text}"
    );
    assert!(
        text.contains("Delete or rename the CI_JOB_TOKEN variable"),
        "{text}"
    );
    assert_no_leak(&token, &out, &[]);

    let env = glprobe(&["--offline", "--format", "dotenv"])
        .env("CI_JOB_TOKEN", &token)
        .run()
        .dotenv();
    assert_eq!(env["TOKEN_REASON"], "kind_mismatch");
    assert_eq!(env["TOKEN_KIND"], "personal_access_token");
    assert_eq!(env["TOKEN_VALID"], "unknown");
    assert_eq!(env["TOKEN_EXIT_CODE"], "3");

    // CI_DEPLOY_PASSWORD claims a deploy token; --expect claims explicitly.
    let out = glprobe(&["--offline", "--token-env", "CI_DEPLOY_PASSWORD"])
        .env("CI_DEPLOY_PASSWORD", &format!("glcbt-64_{F20}"))
        .run();
    assert_code(&out, 3);
    let out = glprobe(&[
        "--offline",
        "--token-env",
        "X",
        "--expect",
        "trigger_token",
        "--format",
        "json",
    ])
    .env("X", &format!("gldt-{F20}"))
    .run();
    assert_code(&out, 3);
    let json = out.json();
    assert_eq!(json["reason"], "kind_mismatch");
    assert_eq!(json["token"]["claimed_kind"], "trigger_token");
    assert_eq!(json["token"]["claimed_by"], "--expect");
    // A glpat- token may be any of the access-token kinds until GitLab names its owner.
    let out = glprobe(&[
        "--offline",
        "--token-env",
        "X",
        "--expect",
        "project_access_token",
    ])
    .env("X", &pat(1))
    .run();
    assert_code(&out, 0);
}

#[test]
fn reports_go_to_files_too() {
    let dir = crate::support::TempDir::new("files");
    let (dotenv, json) = (dir.path("t.env"), dir.path("t.json"));
    let token = pat(5);
    let out = glprobe(&["--offline", "--token-env", "X", "--variable-prefix", "GL_"])
        .args(&[
            "--dotenv",
            dotenv.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ])
        .env("X", &token)
        .run();
    assert_code(&out, 0);
    let env = crate::support::parse_dotenv(&std::fs::read_to_string(&dotenv).unwrap());
    assert_eq!(env["GL_KIND"], "personal_access_token");
    assert!(env.keys().all(|k| k.starts_with("GL_")));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["token"]["kind"], "personal_access_token");
    assert_eq!(doc["offline"], true);
    assert_no_leak(&token, &out, &[&dotenv, &json]);
}

#[test]
fn token_from_file_and_stdin() {
    let dir = crate::support::TempDir::new("file");
    let path = dir.path("token");
    std::fs::write(&path, format!("gldt-{F20}\n")).unwrap();
    let out = glprobe(&[
        "--offline",
        "--format",
        "dotenv",
        "--token-file",
        path.to_str().unwrap(),
    ])
    .run();
    assert_eq!(out.dotenv()["TOKEN_KIND"], "deploy_token");
    let out = glprobe(&["--offline", "--format", "dotenv", "--token-file", "-"])
        .stdin(&format!("  glptt-{}\n", "a1".repeat(20)))
        .run();
    assert_eq!(out.dotenv()["TOKEN_KIND"], "trigger_token");
}

#[test]
fn offline_never_opens_a_socket() {
    // A listener nobody accepts from: any connection attempt would sit in its backlog.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    for token in [
        pat(1),
        format!("glcbt-64_{F20}"),
        format!("gldt-{F20}"),
        F20.to_owned(),
    ] {
        let out = glprobe(&[
            "--offline",
            "--url",
            &url,
            "--token-env",
            "X",
            "--username",
            "u",
        ])
        .env("X", &token)
        .env("CI_SERVER_URL", &url)
        .run();
        assert_code(&out, 0);
    }
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "--offline connected to the server"
    );
}
