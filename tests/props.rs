//! Property tests: arbitrary input never panics the classifier, the JWT and routable decoders,
//! the response readers or the diagnosis, and never comes back out in a report.

use glprobe::classify::{self, Context, jwt, routable};
use glprobe::diagnosis::{Claim, Requirements, Situation, diagnose};
use glprobe::probe::http::{Body, Exchange, Response, Scrubber};
use glprobe::probe::{Answer, Check};
use glprobe::report::{Format, Report, dotenv};
use glprobe::scrub::MIN_PIECE;
use glprobe::token::{Kind, Source, Token};
use proptest::prelude::*;

const NOW: i64 = 1_790_000_000;

fn ctx() -> Context<'static> {
    Context {
        now: NOW,
        pat_prefix: None,
    }
}

fn situation(source: &Source) -> Situation<'_> {
    Situation {
        source,
        variable_set: true,
        ref_protected: None,
        now: NOW,
        offline: false,
        server_host: "gitlab.example.com",
        username: Some("deployer"),
        username_from_ci: false,
        project: Some("278"),
        project_from_ci: false,
        admin_token: false,
        ca_source: None,
        ci_job_id: None,
        job_token_override: None,
    }
}

/// Every report of a token's classification and diagnosis, in every format.
fn all_reports(token: &Token, answers: &[Answer], offline: bool) -> String {
    let class = classify::classify(token, &ctx());
    let source = Source::Env("TOK".into());
    let mut sit = situation(&source);
    sit.offline = offline;
    let requirements = Requirements {
        claim: Some(Claim {
            kind: Kind::JobToken,
            variable: Some("CI_JOB_TOKEN".into()),
        }),
        scopes: &["api".to_owned()],
        min_days_left: Some(7),
        access_project: Some("group/app"),
        access: &glprobe::probe::access::Surface::ALL,
        access_explicit: true,
    };
    let diagnosis = diagnose(&class, answers, &requirements, &sit);
    let report = Report::new(
        token,
        source.clone(),
        &class,
        requirements.claim.clone(),
        (!offline).then(|| "https://gitlab.example.com".to_owned()),
        answers,
        diagnosis,
        NOW,
    );
    [Format::Human, Format::Json, Format::Dotenv]
        .iter()
        .map(|f| report.render(*f, "TOKEN_"))
        .collect()
}

/// The part of the text that is secret: everything after the public prefix it was read with.
fn secret_part(text: &str) -> String {
    let class = classify::classify(&Token::new(text), &ctx());
    let trimmed = Token::new(text);
    trimmed
        .expose()
        .strip_prefix(class.prefix.as_str())
        .unwrap_or(trimmed.expose())
        .to_owned()
}

/// `$NAME` or `${NAME}`: the only input whose text is shown (it names a variable, it is not a
/// secret) — see classify::lint.
fn is_variable_reference(text: &str) -> bool {
    matches!(
        classify::classify(&Token::new(text), &ctx()).defect,
        Some(classify::Defect::Malformed(
            classify::Mistake::UnexpandedVariable { .. }
        ))
    )
}

fn answer(check: Check, status: u16, body: Body) -> Answer {
    Answer {
        check,
        exchange: Exchange::get(
            "/api/v4/x",
            "PRIVATE-TOKEN header",
            Ok(Response::new(status, "application/json", body)),
        ),
    }
}

const CHECKS: [Check; 14] = [
    Check::PatSelf,
    Check::PatUser,
    Check::OauthInfo,
    Check::OauthUser,
    Check::Job,
    Check::JobTrigger,
    Check::Deploy,
    Check::Trigger,
    Check::RunnerDiscovery,
    Check::RunnerVerify,
    Check::Unleash,
    Check::Feed,
    Check::ProjectAccess,
    Check::Admin,
];

/// The report of a token with no requirements, online, from these answers.
fn plain_report(token: &Token, answers: &[Answer]) -> Report {
    let class = classify::classify(token, &ctx());
    let source = Source::Env("TOK".into());
    let d = diagnose(
        &class,
        answers,
        &Requirements::default(),
        &situation(&source),
    );
    Report::new(
        token,
        source.clone(),
        &class,
        None,
        Some("https://x".into()),
        answers,
        d,
        NOW,
    )
}

/// JSON shaped like GitLab's answers, with the given strings in every place a message goes.
fn gitlab_json(text: String, n: i64) -> String {
    serde_json::json!({
        "message": text, "error": "invalid_token", "error_description": text,
        "scope": text, "scopes": [text], "id": n, "user_id": n, "username": text,
        "expires_at": text, "expires_in_seconds": n, "status": text, "revoked": n % 2 == 0,
        "job": {"id": n, "status": text}, "errors": [{"code": text, "message": text}],
        "pipeline": {"id": n, "project_id": n}, "user": {"id": n, "username": text},
        "bot": n % 3 == 0, "name": text, "state": text
    })
    .to_string()
}

proptest! {
    // 400 cases each; the seeds of past failures stay beside this file and are replayed first.
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..ProptestConfig::default()
    })]

    #[test]
    fn classifying_anything_never_panics_nor_echoes(text in "\\PC{0,120}") {
        let token = Token::new(&text);
        let secret = secret_part(&text);
        let reports = all_reports(&token, &[], true);
        if secret.chars().count() >= 8 && !is_variable_reference(&text) {
            prop_assert!(!reports.contains(&secret), "echoed {secret:?}");
        }
    }

    #[test]
    fn token_shaped_inputs_never_echo(
        prefix in "(glpat-|glcbt-|gldt-|glrt-|acme-glpat-|)",
        body in "[A-Za-z0-9_.-]{8,80}",
    ) {
        let text = format!("{prefix}{body}");
        let reports = all_reports(&Token::new(&text), &[], true);
        let secret = secret_part(&text);
        if secret.len() >= 8 {
            prop_assert!(!reports.contains(&secret));
        }
    }

    #[test]
    fn routable_decoding_never_panics(text in "\\PC{0,200}", tail in "[0-9a-z.]{0,12}") {
        let _ = routable::decode(&text);
        let _ = routable::decode(&format!("glpat-{text}.01.{tail}"));
    }

    #[test]
    fn routable_tokens_round_trip(
        prefix in "[a-z]{1,8}-",
        random in proptest::array::uniform16(any::<u8>()),
        org in 1u64..1_000_000,
        user in 0u64..u64::from(u32::MAX),
        v1 in any::<bool>(),
    ) {
        let version = if v1 { routable::Version::V1 } else { routable::Version::V0 };
        let token = routable::encode(&prefix, version, &random, &[("o", org), ("u", user)]);
        match routable::decode(&token) {
            routable::Outcome::Routable(r) => {
                prop_assert_eq!(r.prefix, prefix);
                prop_assert_eq!(r.routing.organization_id, Some(org));
                prop_assert_eq!(r.routing.user_id, Some(user));
            }
            other => prop_assert!(false, "{token} did not decode: {other:?}"),
        }
    }

    #[test]
    fn jwt_decoding_never_panics(a in "\\PC{0,80}", b in "[A-Za-z0-9_=-]{0,200}", c in "\\PC{0,20}") {
        let _ = jwt::decode(&format!("{a}.{b}.{c}"));
        let _ = jwt::decode(&format!("eyJ{b}.eyJ{b}.{c}"));
        let _ = classify::classify(&Token::new(&format!("glcbt-eyJ{b}.eyJ{a}.{c}")), &ctx());
    }

    #[test]
    fn jwt_claims_of_any_json_shape_never_panic(claims in "\\PC{0,200}", n in any::<i64>()) {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = serde_json::json!({"sub": claims, "exp": n, "p": claims, "aud": [n]});
        let jwt = format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", engine.encode(payload.to_string()));
        let _ = jwt::decode(&jwt);
        let _ = jwt::decode(&format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", engine.encode(&claims)));
    }

    #[test]
    fn response_bodies_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        content_type in "(application/json|text/html|text/plain|application/atom\\+xml|)",
    ) {
        let _ = Body::parse(&content_type, &bytes, &Scrubber::default());
    }

    #[test]
    fn response_bodies_are_scrubbed(
        before in "\\PC{0,40}",
        after in "\\PC{0,40}",
        json in any::<bool>(),
        content_type in "(application/json|text/html|text/plain|application/atom\\+xml|)",
    ) {
        let token = Token::new("glpat-SecretCanaryQwerty12");
        let scrubber = Scrubber::new(&[&token]);
        let text = if json && content_type == "application/json" {
            // Escape the first letter as JSON allows: it decodes to the token all the same.
            let escaped = format!("\\u0067{}", &token.expose()[1..]);
            let quoted = serde_json::to_string(&format!("{before}TOKEN{after}")).unwrap();
            format!("{{\"message\":{}}}", quoted.replace("TOKEN", &escaped))
        } else {
            format!("{before}{}{after}", token.expose())
        };
        let body = Body::parse(&content_type, text.as_bytes(), &scrubber);
        let shown = format!("{body:?}");
        prop_assert!(!shown.contains("SecretCanaryQwerty12"), "{shown}");
    }

    #[test]
    fn any_answer_to_any_check_never_panics_nor_echoes(
        check in 0usize..CHECKS.len(),
        status in 100u16..600,
        text in "\\PC{0,60}",
        n in any::<i64>(),
        kind in 0usize..4,
    ) {
        let token = Token::new(["glpat-SecretCanaryQwerty12", "glcbt-64_SecretCanaryQwerty12",
            "SecretCanaryQwerty12", "gldt-SecretCanaryQwerty12"][kind]);
        let scrubber = Scrubber::new(&[&token]);
        let hostile = gitlab_json(format!("{text} {}", token.expose()), n);
        let body = Body::parse("application/json", hostile.as_bytes(), &scrubber);
        let answers = vec![answer(CHECKS[check], status, body)];
        let reports = all_reports(&token, &answers, false);
        prop_assert!(!reports.contains("SecretCanaryQwerty12"));
    }

    #[test]
    fn the_dotenv_writer_always_obeys_gitlabs_rules(
        text in "\\PC{0,300}",
        check in 0usize..CHECKS.len(),
        status in 100u16..600,
        n in any::<i64>(),
        prefix in "[A-Za-z0-9_]{0,30}",
    ) {
        let token = Token::new("glpat-SecretCanaryQwerty12");
        let body = Body::parse("application/json", gitlab_json(text, n).as_bytes(), &Scrubber::default());
        let answers = vec![answer(CHECKS[check], status, body.clone()), answer(Check::PatUser, status, body)];
        let report = plain_report(&token, &answers);
        let text = report.render(Format::Dotenv, &prefix);
        prop_assert!(dotenv::validate(&text).is_ok(), "{:?}\n{text}", dotenv::validate(&text));
    }

    #[test]
    fn hostile_echoes_of_pieces_and_control_characters_never_come_out(
        check in 0usize..CHECKS.len(),
        status in proptest::sample::select(vec![200u16, 401, 403, 404]),
        start in 0usize..30,
        len in 12usize..40,
        spelling in 0usize..4,
        noise in "\\PC{0,30}",
        control in proptest::sample::select(vec!['\n', '\r', '\u{1b}', '\u{7}', '\u{0}', '\u{9b}', '\u{7f}', '\u{202e}']),
        kind in 0usize..4,
    ) {
        use base64::Engine as _;
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let routable = routable::encode("glpat-", routable::Version::V1, &[7; 16], &[("o", 1), ("u", 42)]);
        let text = [routable.as_str(), "glcbt-64_xKq7Tz9VbNw3RmPa2sYe", "xKq7Tz9VbNw3RmPa2sYe", "gldt-xKq7Tz9VbNw3RmPa2sYe"][kind];
        let token = Token::new(text);
        let part = glprobe::scrub::secret_part(&token).to_owned();
        prop_assume!(start + MIN_PIECE <= part.len());
        let piece = &part[start..(start + len).min(part.len())];
        let spelled = match spelling {
            0 => piece.to_owned(),
            1 => STANDARD.encode(piece),
            2 => URL_SAFE_NO_PAD.encode(piece),
            _ => glprobe::probe::http::percent_encode(piece),
        };
        let hostile = format!("{noise}{control}u{spelled}{control}TOKEN_VALID=true");
        let scrubber = Scrubber::new(&[&token]);
        let body = Body::parse("application/json", gitlab_json(hostile, 3).as_bytes(), &scrubber);
        let answers = vec![answer(CHECKS[check], status, body.clone()), answer(Check::PatUser, status, body)];
        let reports = all_reports(&token, &answers, false);
        for window in part.as_bytes().windows(MIN_PIECE) {
            let window = std::str::from_utf8(window).unwrap();
            prop_assert!(!reports.contains(window), "a piece {window:?} came out:\n{reports}");
        }
        let raw = reports.chars().find(|&c| c != '\n' && glprobe::scrub::is_unsafe_char(c));
        prop_assert!(raw.is_none(), "a raw {raw:?} came out:\n{reports}");
        // Only the dotenv report's own line: no forged one from a server text.
        let forged = reports.lines().filter(|l| l.starts_with("TOKEN_VALID=")).count();
        prop_assert_eq!(forged, 1, "{}", reports);
    }
}

#[test]
fn the_dotenv_report_stays_under_gitlabs_limit_whatever_the_server_says() {
    let token = Token::new("glpat-SecretCanaryQwerty12");
    let huge_user = "a".repeat(100 * 1024);
    let scopes: Vec<String> = (0..600).map(|i| format!("scope_{i}")).collect();
    let self_body = serde_json::json!({"id": 1, "name": huge_user, "scopes": scopes, "active": true,
        "revoked": false, "expires_at": null, "user_id": 5});
    let user_body =
        serde_json::json!({"id": 5, "username": huge_user, "bot": false, "state": "active"});
    let answers = vec![
        answer(Check::PatSelf, 200, Body::Json(self_body)),
        answer(Check::PatUser, 200, Body::Json(user_body)),
    ];
    let report = plain_report(&token, &answers);
    for prefix in ["TOKEN_", &"P".repeat(dotenv::MAX_PREFIX_CHARS)] {
        let text = report.render(Format::Dotenv, prefix);
        assert!(
            dotenv::validate(&text).is_ok(),
            "{:?}",
            dotenv::validate(&text)
        );
        assert!(text.len() < dotenv::MAX_BYTES);
        for name in ["KIND", "VALID", "REASON", "EXIT_CODE"] {
            assert!(text.contains(&format!("{prefix}{name}=")), "{name} missing");
        }
        assert!(
            !text.contains(&format!("{prefix}USER=")),
            "a 100 KB user name was written"
        );
    }
    // Many values each under the per-value limit, together over the file limit: the longest go.
    let long = |c: char| c.to_string().repeat(dotenv::MAX_VALUE_BYTES - 10);
    let scopes: Vec<String> = (0..5).map(|i| long(char::from(b'a' + i))).collect();
    let self_body = serde_json::json!({"id": 1, "name": "n", "scopes": scopes, "active": true,
        "revoked": false, "expires_at": null, "user_id": 5});
    let answers = vec![
        answer(Check::PatSelf, 200, Body::Json(self_body)),
        answer(
            Check::PatUser,
            200,
            Body::Json(serde_json::json!({"id": 5, "username": long('u'), "bot": false})),
        ),
    ];
    let report = plain_report(&token, &answers);
    let text = report.render(Format::Dotenv, "TOKEN_");
    assert!(
        dotenv::validate(&text).is_ok(),
        "{:?}",
        dotenv::validate(&text)
    );
}
