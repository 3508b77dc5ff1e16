//! Table-driven tests of the classifier: every kind, every legacy shape, every mistake, and
//! routable tokens generated here with random payloads and correct checksums.

use super::routable::{Version, encode};
use super::*;
use serde_json::json;

const NOW: i64 = 1_800_000_000;

fn ctx() -> Context<'static> {
    Context {
        now: NOW,
        pat_prefix: None,
    }
}

fn classify_str(text: &str) -> Classification {
    classify(&Token::new(text), &ctx())
}

/// xorshift64*: deterministic "random" payloads, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn bytes16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        for chunk in out.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        out
    }

    fn friendly(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789_-";
        (0..len)
            .map(|_| ALPHABET[(self.next() % ALPHABET.len() as u64) as usize] as char)
            .collect()
    }

    fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from_digit((self.next() % 16) as u32, 16).unwrap())
            .collect()
    }
}

fn job_jwt(exp: i64) -> String {
    let jwt = super::jwt::encode_unsigned(&json!({
        "sub": "gid://gitlab/Ci::Build/777", "iss": "gitlab.example.com",
        "aud": "gitlab-authz-token", "exp": exp, "iat": exp - 3600,
        "o": "1", "u": "2n9c", "p": "zk"
    }));
    format!("glcbt-{jwt}")
}

#[test]
fn every_prefixed_kind() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let f20 = rng.friendly(20);
    let cases: Vec<(String, Kind, &str)> = vec![
        (format!("glpat-{f20}"), Kind::PersonalAccessToken, "glpat-"),
        (
            format!("gloas-{}", rng.hex(64)),
            Kind::OauthApplicationSecret,
            "gloas-",
        ),
        (format!("gldt-{f20}"), Kind::DeployToken, "gldt-"),
        (format!("glcbt-64_{f20}"), Kind::JobToken, "glcbt-"),
        (format!("glcbt-{f20}"), Kind::JobToken, "glcbt-"),
        (
            format!("glptt-{}", rng.hex(40)),
            Kind::TriggerToken,
            "glptt-",
        ),
        (
            format!("glrt-{f20}"),
            Kind::RunnerAuthenticationToken,
            "glrt-",
        ),
        (
            format!("glrt-t3_{f20}"),
            Kind::RunnerAuthenticationToken,
            "glrt-",
        ),
        (
            format!("glrtr-{f20}"),
            Kind::RunnerAuthenticationToken,
            "glrtr-",
        ),
        (
            format!("GR1348941{f20}"),
            Kind::RunnerRegistrationToken,
            "GR1348941",
        ),
        (format!("glft-{f20}"), Kind::FeedToken, "glft-"),
        (format!("glft-{}-42", rng.hex(64)), Kind::FeedToken, "glft-"),
        (
            format!("glimt-{}", "k3j5h2g8f9d7s6a4q1w2e3r4t"),
            Kind::IncomingEmailToken,
            "glimt-",
        ),
        (
            format!("glagent-{}", rng.friendly(50)),
            Kind::AgentToken,
            "glagent-",
        ),
        (format!("glsoat-{f20}"), Kind::ScimToken, "glsoat-"),
        (
            format!("glffct-{f20}"),
            Kind::FeatureFlagsClientToken,
            "glffct-",
        ),
        (format!("glwt-{f20}"), Kind::WorkspaceToken, "glwt-"),
        (
            format!("acme-glpat-{f20}"),
            Kind::PersonalAccessToken,
            "acme-glpat-",
        ),
        (format!("acme-gldt-{f20}"), Kind::DeployToken, "acme-gldt-"),
        (
            format!("my-corp-glptt-{}", rng.hex(40)),
            Kind::TriggerToken,
            "my-corp-glptt-",
        ),
    ];
    for (text, kind, prefix) in cases {
        let c = classify_str(&text);
        assert_eq!(c.kind, kind, "{text}: {c:?}");
        assert_eq!(c.prefix, prefix, "{text}");
        assert_eq!(c.defect, None, "{text}");
        assert!(c.candidates.is_empty(), "{text}");
    }
}

#[test]
fn instance_prefix_is_reported() {
    let c = classify_str("acme-glpat-abcdefghijkmnpqrstuv");
    assert_eq!(c.instance_prefix.as_deref(), Some("acme"));
    let c = classify_str("glpat-abcdefghijkmnpqrstuv");
    assert_eq!(c.instance_prefix, None);
}

#[test]
fn routable_tokens_with_random_payloads_and_several_prefixes() {
    let mut rng = Rng(42);
    let prefixes: &[(&str, Kind)] = &[
        ("glpat-", Kind::PersonalAccessToken),
        ("acme-glpat-", Kind::PersonalAccessToken),
        ("glrt-", Kind::RunnerAuthenticationToken),
        ("glrtr-", Kind::RunnerAuthenticationToken),
        ("glagent-", Kind::AgentToken),
        ("glwt-", Kind::WorkspaceToken),
        ("x-1-glwt-", Kind::WorkspaceToken),
    ];
    for round in 0..200 {
        let (prefix, kind) = prefixes[round % prefixes.len()];
        let version = if round % 5 == 0 {
            Version::V0
        } else {
            Version::V1
        };
        let user = rng.next() % 100_000_000;
        let project = rng.next() % 10_000_000;
        let org = 1 + rng.next() % 1000;
        let mut pairs = vec![("o", org), ("u", user)];
        if round % 3 == 0 {
            pairs.push(("p", project));
        }
        if round % 7 == 0 {
            pairs.push(("c", rng.next() % 50));
        }
        let token = encode(prefix, version, &rng.bytes16(), &pairs);
        let c = classify_str(&token);
        assert_eq!(c.kind, kind, "{token}");
        assert_eq!(c.prefix, prefix, "{token}");
        assert_eq!(c.shape, Shape::Routable(version), "{token}");
        assert_eq!(c.defect, None, "{token}");
        let routing = c.routing.expect("routing payload");
        assert_eq!(routing.organization_id, Some(org));
        assert_eq!(routing.user_id, Some(user));
        assert_eq!(routing.project_id, (round % 3 == 0).then_some(project));

        // The same token with one character changed in its payload is corrupted, offline.
        let at = prefix.len() + (rng.next() as usize % 20);
        let original = token.as_bytes()[at];
        let swapped = if original == b'A' { 'B' } else { 'A' };
        let mut altered = token.clone();
        altered.replace_range(at..at + 1, &swapped.to_string());
        let c = classify_str(&altered);
        assert!(
            matches!(c.defect, Some(Defect::Corrupted(_))),
            "{altered}: {c:?}"
        );
        assert_eq!(
            c.kind, kind,
            "a corrupted token still names its kind: {altered}"
        );

        // Truncated by a few characters: corrupted too.
        let cut = 1 + rng.next() as usize % 8;
        let c = classify_str(&token[..token.len() - cut]);
        if version == Version::V1 {
            assert!(
                matches!(c.defect, Some(Defect::Corrupted(_))),
                "cut {cut}: {c:?}"
            );
        }
    }
}

#[test]
fn routable_runner_tokens_with_their_runner_type() {
    // GitLab's prefix_for_new_and_legacy_runner: `glrt-` and `t<runner type>_`.
    for prefix in ["glrt-t2_", "glrt-t3_", "acme-glrt-t3_"] {
        let token = encode(
            prefix,
            Version::V1,
            &[9; 16],
            &[("o", 1), ("p", 42), ("u", 7)],
        );
        let c = classify_str(&token);
        assert_eq!(c.kind, Kind::RunnerAuthenticationToken, "{token}");
        assert_eq!(c.prefix, prefix);
        assert_eq!(c.routing.unwrap().project_id, Some(42));
    }
}

#[test]
fn routable_runner_tokens_name_their_scope() {
    let token = encode(
        "glrt-",
        Version::V1,
        &[7; 16],
        &[("o", 1), ("g", 55), ("u", 9)],
    );
    let c = classify_str(&token);
    assert_eq!(c.routing.unwrap().group_id, Some(55));
    assert!(c.notes.iter().any(|n| n.contains("group runner")));
}

#[test]
fn custom_pat_prefix_routable_and_plain() {
    let token = encode("corp_", Version::V1, &[3; 16], &[("o", 1), ("u", 2)]);
    let c = classify_str(&token);
    assert_eq!(c.kind, Kind::PersonalAccessToken);
    assert_eq!(c.prefix, "corp_");
    assert!(c.notes.iter().any(|n| n.contains("custom prefix")));

    let named = Context {
        now: NOW,
        pat_prefix: Some("corp_"),
    };
    let c = classify(&Token::new("corp_abcdefghijkmnpqrstuv"), &named);
    assert_eq!(c.kind, Kind::PersonalAccessToken);
    assert_eq!(c.prefix, "corp_");

    let c = classify_str("mycorp-abcdefghijkmnpqrstuv");
    assert_eq!(c.kind, Kind::PersonalAccessToken);
    assert_eq!(c.prefix, "mycorp-");
}

#[test]
fn long_unknown_prefixes_are_not_shown() {
    let long = "averylongprefixthatnoadminwouldset_";
    let c = classify_str(&format!("{long}abcdefghijkmnpqrstuv"));
    assert_eq!(c.kind, Kind::Unknown);
    assert_eq!(c.prefix, "");
    let token = encode(long, Version::V1, &[1; 16], &[("o", 1), ("u", 2)]);
    let c = classify_str(&token);
    assert_eq!(c.kind, Kind::Unknown);
    assert_eq!(c.prefix, "");
    assert!(c.notes.iter().all(|n| !n.contains(long)));
}

#[test]
fn jwt_job_tokens() {
    let live = classify_str(&job_jwt(NOW + 3600));
    assert_eq!(live.kind, Kind::JobToken);
    assert_eq!(live.shape, Shape::Jwt);
    assert_eq!(live.defect, None);
    let claims = live.job.unwrap();
    assert_eq!(claims.job_id, Some(777));
    assert_eq!(claims.project_id, Some(1280));
    assert_eq!(claims.user_id, Some(123_456));
    assert_eq!(claims.issuer.as_deref(), Some("gitlab.example.com"));

    let expired = classify_str(&job_jwt(NOW - 60));
    assert_eq!(
        expired.defect,
        Some(Defect::ExpiredJwt {
            expired_at: NOW - 60
        })
    );

    let with_instance = classify_str(&format!("acme-{}", job_jwt(NOW + 60)));
    assert_eq!(with_instance.kind, Kind::JobToken);
    assert_eq!(with_instance.instance_prefix.as_deref(), Some("acme"));

    let broken = classify_str("glcbt-eyJub3QganNvbg.eyJhIjoi.c2ln");
    assert_eq!(broken.defect, Some(Defect::BrokenJwt));
}

#[test]
fn legacy_shapes_list_candidates() {
    let mut rng = Rng(7);
    let f20 = rng.friendly(20);
    let oauth = classify_str(&rng.hex(64));
    assert_eq!(oauth.kind, Kind::Unknown);
    assert_eq!(
        oauth.candidates,
        [Kind::OauthAccessToken, Kind::OauthApplicationSecret]
    );

    let bare = classify_str(&f20);
    assert_eq!(bare.kind, Kind::Unknown);
    assert_eq!(bare.candidates, FRIENDLY_CANDIDATES);
    assert_eq!(bare.shape, Shape::Legacy);

    let trigger = classify_str(&rng.hex(30));
    assert_eq!(
        trigger.candidates,
        [Kind::TriggerToken, Kind::RunnerAuthenticationToken]
    );

    let job = classify_str(&format!("64_{f20}"));
    assert_eq!(job.kind, Kind::JobToken);
    assert!(job.notes[0].contains("partition 100"));

    let runner = classify_str(&format!("t1_{f20}"));
    assert_eq!(runner.kind, Kind::RunnerAuthenticationToken);
    assert!(runner.notes[0].contains("instance runner"));

    // `l`, `I`, `O` and `0` never appear in Devise.friendly_token.
    let not_friendly = classify_str("lIO0abcdefghijkmnpqr");
    assert_eq!(not_friendly.kind, Kind::Unknown);
    assert!(not_friendly.candidates.is_empty());
}

#[test]
fn unrecognised_texts() {
    assert_eq!(classify_str("hello").kind, Kind::Unknown);
    let id_token = super::jwt::encode_unsigned(&json!({"sub": "project_path:a/b", "aud": "vault"}));
    let c = classify_str(&id_token);
    assert_eq!(c.kind, Kind::Unknown);
    assert!(c.notes[0].contains("ID token"));
}

#[test]
fn empty_is_missing() {
    let c = classify_str("  \n");
    assert_eq!(c.kind, Kind::None);
    assert_eq!(c.defect, Some(Defect::Missing));
}

#[test]
fn mistakes_are_malformed() {
    let cases = [
        "$CI_JOB_TOKEN",
        "${DEPLOY_TOKEN}",
        "[MASKED]",
        "\"glpat-abcdefghijkmnpqrstu\"",
        "glpat-abc defghijkmnpqrstuv",
        "glpat-abc\u{1b}defghijkmnpqrstu",
        "glpat-abc\u{200b}defghijkmnpqrstu",
    ];
    for text in cases {
        let c = classify_str(text);
        assert!(
            matches!(c.defect, Some(Defect::Malformed(_))),
            "{text:?}: {c:?}"
        );
    }
    let quoted = classify_str("'glpat-abcdefghijkmnpqrstu'");
    assert_eq!(
        quoted.kind,
        Kind::PersonalAccessToken,
        "the quoted kind is still named"
    );
}

#[test]
fn unusual_lengths_are_notes_not_verdicts() {
    let c = classify_str("gldt-abcdefghijkmnpqrstu");
    assert_eq!(c.kind, Kind::DeployToken);
    assert_eq!(c.defect, None);
    assert!(c.notes.iter().any(|n| n.contains("this token has 19")));
}
