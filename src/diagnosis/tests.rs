//! The verdict as a truth table: offline facts, GitLab's answers and the requirements, in, the
//! validity, reason and exit code out.

use serde_json::{Value, json};

use super::*;
use crate::classify::{Context, classify};
use crate::probe::Check;
use crate::probe::http::{Body, Exchange, Failure, FailureKind, Response};
use crate::token::Token;

const NOW: i64 = 1_800_000_000;
const PAT: &str = "glpat-AAECAwQFBgcICQoLDA0OD286MQp1OjlpeAk.01.0z089t292";

fn answer(check: Check, status: u16, body: Value) -> Answer {
    Answer {
        check,
        exchange: Exchange::get(
            "/api/v4/x",
            "PRIVATE-TOKEN header",
            Ok(Response::new(status, "application/json", Body::Json(body))),
        ),
    }
}

fn unreachable(check: Check) -> Answer {
    let mut a = answer(check, 0, Value::Null);
    a.exchange.outcome = Err(Failure {
        kind: FailureKind::Unreachable,
        detail: "Connection refused".into(),
    });
    a
}

struct Case<'a> {
    token: &'a str,
    variable: &'a str,
    answers: Vec<Answer>,
    requirements: Requirements<'a>,
    offline: bool,
}

impl Case<'_> {
    fn diagnose(&self) -> Diagnosis {
        let class = classify(
            &Token::new(self.token),
            &Context {
                now: NOW,
                pat_prefix: None,
            },
        );
        let source = Source::Env(self.variable.into());
        let mut requirements = self.requirements.clone();
        if requirements.claim.is_none() {
            requirements.claim = source.claimed_kind().map(|kind| Claim {
                kind,
                variable: Some(self.variable.into()),
            });
        }
        diagnose(
            &class,
            &self.answers,
            &requirements,
            &Situation {
                source: &source,
                variable_set: true,
                ref_protected: None,
                now: NOW,
                offline: self.offline,
                server_host: "gitlab.example.com",
                username: None,
                username_from_ci: false,
                project: None,
                project_from_ci: false,
                admin_token: false,
                ca_source: None,
                ci_job_id: None,
                job_token_override: None,
            },
        )
    }
}

fn case(token: &str) -> Case<'_> {
    Case {
        token,
        variable: "GITLAB_TOKEN",
        answers: Vec::new(),
        requirements: Requirements::default(),
        offline: false,
    }
}

fn pat_ok(scopes: &[&str], expires: Option<&str>) -> Vec<Answer> {
    vec![
        answer(
            Check::PatSelf,
            200,
            json!({"name": "n", "scopes": scopes, "expires_at": expires, "user_id": 1, "revoked": false}),
        ),
        answer(
            Check::PatUser,
            200,
            json!({"id": 1, "username": "jdoe", "bot": false}),
        ),
    ]
}

#[track_caller]
fn expect(d: &Diagnosis, validity: Validity, reason: Reason, exit: u8) {
    assert_eq!(
        (d.validity, d.reason, d.exit_code()),
        (validity, reason, exit),
        "{d:#?}"
    );
}

#[test]
fn offline_facts() {
    expect(&case("").diagnose(), Validity::Invalid, Reason::Missing, 1);
    expect(
        &case("[MASKED]").diagnose(),
        Validity::Invalid,
        Reason::Malformed,
        1,
    );
    expect(
        &case(&PAT[..PAT.len() - 1]).diagnose(),
        Validity::Invalid,
        Reason::Corrupted,
        1,
    );
    let offline = Case {
        offline: true,
        ..case(PAT)
    };
    expect(&offline.diagnose(), Validity::Unknown, Reason::Ok, 0);
    let mismatch = Case {
        offline: true,
        variable: "CI_JOB_TOKEN",
        ..case(PAT)
    };
    expect(
        &mismatch.diagnose(),
        Validity::Unknown,
        Reason::KindMismatch,
        3,
    );
}

#[test]
fn gitlabs_answers() {
    let ok = Case {
        answers: pat_ok(&["api"], None),
        ..case(PAT)
    };
    let d = ok.diagnose();
    expect(&d, Validity::Valid, Reason::Ok, 0);
    assert!(d.facts.never_expires);
    assert_eq!(d.facts.user.as_deref(), Some("jdoe"));

    let expired_body = json!({"error": "invalid_token", "error_description": "Token is expired. You can either do re-authorization or token refresh."});
    let expired = Case {
        answers: vec![
            answer(Check::PatSelf, 401, expired_body.clone()),
            answer(Check::PatUser, 401, expired_body),
        ],
        ..case(PAT)
    };
    expect(&expired.diagnose(), Validity::Invalid, Reason::Expired, 1);

    let down = Case {
        answers: vec![unreachable(Check::PatSelf), unreachable(Check::PatUser)],
        ..case(PAT)
    };
    expect(&down.diagnose(), Validity::Unknown, Reason::Unreachable, 4);

    let busy = Case {
        answers: vec![
            answer(Check::PatSelf, 503, json!({"message": "503"})),
            answer(Check::PatUser, 503, json!({"message": "503"})),
        ],
        ..case(PAT)
    };
    expect(&busy.diagnose(), Validity::Unknown, Reason::ServerError, 4);
}

#[test]
fn requirements_apply_to_valid_tokens_only() {
    let scopes = ["read_api".to_owned()];
    let lacking = Case {
        answers: pat_ok(&["read_repository"], Some("2027-01-20")),
        requirements: Requirements {
            scopes: &scopes,
            min_days_left: Some(30),
            ..Requirements::default()
        },
        ..case(PAT)
    };
    let d = lacking.diagnose();
    expect(&d, Validity::Valid, Reason::InsufficientScope, 3);
    // Both requirements failed; the scope comes first, in the order they are checked.
    let reasons: Vec<Reason> = d.findings.iter().map(|f| f.reason).collect();
    assert_eq!(reasons, [Reason::InsufficientScope, Reason::ExpiringSoon]);
    assert_eq!(d.facts.days_left, Some(5));

    let refused = Case {
        answers: vec![
            answer(Check::PatSelf, 401, json!({"message": "401 Unauthorized"})),
            answer(Check::PatUser, 401, json!({"message": "401 Unauthorized"})),
        ],
        requirements: Requirements {
            scopes: &scopes,
            ..Requirements::default()
        },
        ..case(PAT)
    };
    let d = refused.diagnose();
    expect(&d, Validity::Invalid, Reason::UnknownToken, 1);
    assert_eq!(d.findings.len(), 1, "no scope finding for a refused token");
}

#[test]
fn an_invalid_token_outranks_a_kind_mismatch() {
    let revoked = json!({"error": "invalid_token", "error_description": "Token was revoked. You have to re-authorize from the user."});
    let c = Case {
        variable: "CI_JOB_TOKEN",
        answers: vec![
            answer(Check::PatSelf, 401, revoked.clone()),
            answer(Check::PatUser, 401, revoked),
        ],
        ..case(PAT)
    };
    let d = c.diagnose();
    expect(&d, Validity::Invalid, Reason::Revoked, 1);
    assert_eq!(d.findings[1].reason, Reason::KindMismatch);
}

#[test]
fn the_owner_names_the_access_token_kind() {
    let mut answers = pat_ok(&["api"], None);
    answers[1] = answer(
        Check::PatUser,
        200,
        json!({"id": 9, "username": "group_12_bot_0123456789abcdef0123456789abcdef", "bot": true}),
    );
    let expecting_personal = Case {
        answers,
        requirements: Requirements {
            claim: Some(Claim {
                kind: Kind::PersonalAccessToken,
                variable: None,
            }),
            ..Requirements::default()
        },
        ..case(PAT)
    };
    let d = expecting_personal.diagnose();
    assert_eq!(d.kind, Kind::GroupAccessToken);
    assert_eq!(d.facts.group_id, Some(12));
    expect(&d, Validity::Valid, Reason::KindMismatch, 3);
}
