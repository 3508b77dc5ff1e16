//! Table-driven cases for the variable judgement: one row per finding a variable alone can
//! produce, and the clean values that must produce none.

use super::*;
use crate::audit::findings::Scope;
use crate::classify::routable::{Version, encode};

fn pat(user: u64) -> String {
    encode("glpat-", Version::V1, &[7; 16], &[("o", 1), ("u", user)])
}

fn judge_one(
    key: &str,
    value: Option<&str>,
    masked: bool,
    protected: bool,
    raw: bool,
) -> Judgement {
    let fingerprints = Fingerprinter::random().unwrap();
    let judge = Judge {
        fingerprints: &fingerprints,
        now: 1_800_000_000,
        pat_prefix: None,
        keep_for_probe: false,
    };
    let var = Variable {
        key: key.to_owned(),
        value: value.map(str::to_owned),
        masked: Some(masked),
        protected: Some(protected),
        raw,
        file: false,
    };
    variable(
        var,
        Place::new(Scope::Project, "g/p", "variable").named(key),
        &judge,
    )
}

fn codes(j: &Judgement) -> Vec<(&'static str, Severity)> {
    j.findings
        .iter()
        .map(|f| (f.code.name(), f.severity))
        .collect()
}

#[test]
fn every_variable_finding() {
    use Severity::*;
    let token = pat(42);
    let quoted = format!("'{token}'");
    let spaced = format!(" {token}");
    let scheme = format!("PRIVATE-TOKEN: {token}");
    let mut corrupted: Vec<char> = token.chars().collect();
    corrupted[12] = if corrupted[12] == 'x' { 'y' } else { 'x' };
    let corrupted: String = corrupted.into_iter().collect();
    let hex = "0123456789abcdef".repeat(4);
    let invisible = format!("{}\u{200B}{}", &token[..10], &token[10..]);
    let ssh = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    let deploy = "gldt-xKq7Tz9VbNw3RmPa2sYe";
    type Row<'a> = (
        &'a str,
        Option<&'a str>,
        bool,
        bool,
        bool,
        &'a [(&'a str, Severity)],
    );
    let rows: &[Row<'_>] = &[
        ("GITLAB_TOKEN", Some(&token), true, true, false, &[]),
        (
            "CI_JOB_TOKEN",
            Some(&token),
            true,
            true,
            false,
            &[("overrides_predefined", Broken)],
        ),
        (
            "CI_REGISTRY_PASSWORD",
            Some("x"),
            false,
            false,
            false,
            &[("overrides_predefined", Broken)],
        ),
        (
            "CI_SERVER_URL",
            Some("https://x"),
            false,
            false,
            false,
            &[("overrides_predefined", Fragile)],
        ),
        (
            "GITLAB_TOKEN",
            Some(&quoted),
            false,
            true,
            false,
            &[("malformed", Broken)],
        ),
        (
            "GITLAB_TOKEN",
            Some(&spaced),
            false,
            true,
            false,
            &[("malformed", Broken)],
        ),
        (
            "GITLAB_TOKEN",
            Some(&scheme),
            false,
            true,
            false,
            &[("malformed", Broken)],
        ),
        (
            "GITLAB_TOKEN",
            Some("[MASKED]"),
            false,
            true,
            false,
            &[("malformed", Broken)],
        ),
        (
            "GITLAB_TOKEN",
            Some(""),
            false,
            true,
            false,
            &[("malformed", Broken)],
        ),
        (
            "GITLAB_TOKEN",
            Some("$OTHER_TOKEN"),
            false,
            true,
            true,
            &[("malformed", Broken)],
        ),
        // Expanded at job time: a reference, not a mistake.
        (
            "GITLAB_TOKEN",
            Some("$OTHER_TOKEN"),
            false,
            true,
            false,
            &[],
        ),
        (
            "GITLAB_TOKEN",
            Some(&corrupted),
            true,
            true,
            false,
            &[("routable_crc_mismatch", Broken)],
        ),
        (
            "OAUTH_TOKEN",
            Some(&hex),
            true,
            true,
            false,
            &[("stored_oauth_token", Broken)],
        ),
        // 64 hex digits under a key that is no credential: a checksum, say.
        ("ARCHIVE_SHA256", Some(&hex), false, false, false, &[]),
        (
            "DEPLOY",
            Some(deploy),
            false,
            true,
            false,
            &[("not_masked", Exposure)],
        ),
        (
            "DEPLOY",
            Some(deploy),
            true,
            false,
            false,
            &[("not_protected", Exposure)],
        ),
        (
            "DEPLOY",
            Some(deploy),
            false,
            false,
            false,
            &[("not_masked", Exposure), ("not_protected", Exposure)],
        ),
        (
            "PROD_TOKEN",
            None,
            true,
            true,
            false,
            &[("hidden_uninspectable", Uninspectable)],
        ),
        (
            "GITLAB_TOKEN",
            Some(&invisible),
            true,
            true,
            false,
            &[("malformed", Broken)],
        ),
        // An SSH key under a `…_KEY` key: several lines, and no token.
        ("SSH_PRIVATE_KEY", Some(ssh), false, true, false, &[]),
        (
            "DEPLOY_KEY",
            Some("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG me@host"),
            false,
            false,
            false,
            &[],
        ),
        // Plain configuration is never judged as a token.
        ("GREETING", Some("hello world"), false, false, false, &[]),
        ("QUOTED_NAME", Some("\"a b\""), false, false, false, &[]),
        (
            "URL",
            Some("https://example.com/a b"),
            false,
            false,
            false,
            &[],
        ),
    ];
    for (key, value, masked, protected, raw, want) in rows {
        let judged = judge_one(key, *value, *masked, *protected, *raw);
        assert_eq!(&codes(&judged), want, "{key} = {value:?}");
        for f in &judged.findings {
            if let Some(v) = value.filter(|v| v.len() > 10) {
                assert!(!f.message.contains(v), "{key}: the message holds the value");
            }
        }
    }
}

#[test]
fn stored_job_tokens_are_broken() {
    use crate::classify::jwt::encode_unsigned;
    let claims = serde_json::json!({"sub": "gid://gitlab/Ci::Build/9", "iss": "https://gitlab.example.com",
        "aud": "gitlab-authz-token", "exp": 1_700_000_000, "iat": 1_699_996_100});
    let jwt = format!("glcbt-{}", encode_unsigned(&claims));
    let judged = judge_one("JOB", Some(&jwt), true, true, false);
    assert_eq!(codes(&judged), [("stored_job_token", Severity::Broken)]);
    assert!(judged.findings[0].message.contains("expired"));
}

#[test]
fn found_tokens_carry_the_routable_user_and_a_keyed_fingerprint() {
    let token = pat(77);
    let judged = judge_one("GITLAB_TOKEN", Some(&token), true, true, false);
    let found = judged.found.expect("a token");
    assert_eq!(found.user_id, Some(77));
    assert_eq!(found.fingerprint.len(), 12);
    assert!(found.secret.is_none(), "kept only for --probe-found");
    // Another run, another key: the fingerprint cannot be matched across reports.
    let again = judge_one("GITLAB_TOKEN", Some(&token), true, true, false);
    assert_ne!(again.found.unwrap().fingerprint, found.fingerprint);
    // The plain SHA-256 prefix (the check's fingerprint) is not what the audit prints.
    assert_ne!(Token::new(&token).fingerprint(), found.fingerprint);
}

#[test]
fn token_like_keys() {
    for key in [
        "GITLAB_TOKEN",
        "GL_PAT",
        "DEPLOY_PASSWORD",
        "API_KEY",
        "MYTOKEN",
        "REGISTRY_AUTH",
    ] {
        assert!(token_like_key(key), "{key}");
    }
    for key in [
        "PATH",
        "GREETING",
        "DEPLOY_ENV",
        "KEYBOARD_LAYOUT",
        "PASSAGE",
    ] {
        assert!(!token_like_key(key), "{key}");
    }
}

#[test]
fn a_file_variable_may_end_with_a_newline() {
    let fingerprints = Fingerprinter::random().unwrap();
    let judge = Judge {
        fingerprints: &fingerprints,
        now: 1_800_000_000,
        pat_prefix: None,
        keep_for_probe: false,
    };
    let var = |file| Variable {
        key: "RELEASE_TOKEN".to_owned(),
        value: Some(format!("{}\n", pat(9))),
        masked: Some(true),
        protected: Some(true),
        raw: false,
        file,
    };
    let place = || Place::new(Scope::Project, "g/p", "variable");
    assert!(codes(&variable(var(true), place(), &judge)).is_empty());
    assert_eq!(
        codes(&variable(var(false), place(), &judge)),
        [("malformed", Severity::Broken)]
    );
}
