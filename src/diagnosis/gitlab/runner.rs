//! Runner authentication tokens.

use super::answers::{json, says, str_field, unexpected, usable};
use super::{Said, find, no_answer, unverifiable};
use crate::date::Day;
use crate::diagnosis::{Facts, Finding, Situation};
use crate::probe::{Answer, Check};
use crate::reason::Reason;
use crate::token::Kind;

/// Runner authentication tokens: the read-only discovery route; on older GitLab, the verify
/// route if the user allowed its write, or the admin token API.
pub(super) fn runner(answers: &[Answer], sit: &Situation<'_>) -> Said {
    let kind = Kind::RunnerAuthenticationToken;
    let refused = || {
        Said::Rejected(Finding::new(
            Reason::UnknownToken,
            "GitLab does not accept this runner token: it is unknown, expired (an expired \
             runner token is treated as unknown), or its runner was deleted."
                .to_owned(),
            "Reset the runner's authentication token (or register the runner again) and update \
             its config.toml.",
            kind.docs(),
        ))
    };
    let Some(x) = find(answers, Check::RunnerDiscovery) else {
        return no_answer(kind);
    };
    let response = match x.outcome.as_ref() {
        // The discovery route answers 501 when the job router is off, after accepting the
        // token: GitLab's JSON, not a proxy's page.
        Ok(r) if r.status == 501 && says(r, "Job Router") => {
            return Said::accepted(kind, Facts::default());
        }
        _ => match usable(x, sit, true) {
            Ok(r) => r,
            Err(said) => return said,
        },
    };
    match response.status {
        200 => Said::accepted(kind, Facts::default()),
        403 if says(response, "403 Forbidden") => refused(),
        404 => match find(answers, Check::RunnerVerify) {
            Some(v) => match usable(v, sit, true) {
                Ok(r) if r.status == 200 => {
                    let body = json(r);
                    let expires = str_field(body, "token_expires_at");
                    let facts = Facts {
                        expires_at: expires.as_deref().and_then(Day::parse),
                        never_expires: expires.is_none(),
                        ..Facts::default()
                    };
                    Said::accepted_with_note(
                        kind,
                        facts,
                        "Checked with POST /api/v4/runners/verify (--allow-runner-verify): \
                         GitLab recorded it as a contact from the runner."
                            .to_owned(),
                    )
                }
                Ok(r) if r.status == 403 && says(r, "403 Forbidden") => refused(),
                Ok(r) => unexpected(v, r),
                Err(said) => said,
            },
            None => unverifiable(
                kind,
                "this GitLab has no read-only runner route (GET /api/v4/runners/router/discovery \
                 came in 18.x), and POST /api/v4/runners/verify records a contact from the runner",
                "Pass --allow-runner-verify to accept that write, or --admin-token-env NAME.",
                sit,
            ),
        },
        _ => unexpected(x, response),
    }
}
