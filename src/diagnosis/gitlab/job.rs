//! Job tokens.

use serde_json::Value;

use super::answers::{
    json, message, read, says, str_field, u64_field, unexpected, usable, user_state,
};
use super::{Said, find, no_answer};
use crate::classify::Classification;
use crate::diagnosis::{Facts, Finding, Situation};
use crate::probe::{Answer, Check};
use crate::reason::Reason;
use crate::token::Kind;

/// Job tokens: `/api/v4/job`; when refused, the trigger probe or the JWT says why.
pub(super) fn job(class: &Classification, answers: &[Answer], sit: &Situation<'_>) -> Said {
    let kind = Kind::JobToken;
    let Some(x) = find(answers, Check::Job) else {
        return no_answer(kind);
    };
    read(x, sit, true, |response| match response.status {
        200 => {
            let body = json(response);
            let pipeline = body.get("pipeline").unwrap_or(&Value::Null);
            let user = body.get("user").unwrap_or(&Value::Null);
            let facts = Facts {
                job_id: u64_field(body, "id"),
                job_status: str_field(body, "status"),
                job_url: str_field(body, "web_url"),
                pipeline_id: u64_field(pipeline, "id"),
                project_id: u64_field(pipeline, "project_id"),
                user: str_field(user, "username"),
                user_id: u64_field(user, "id"),
                ..Facts::default()
            };
            Said::accepted_with_note(
                kind,
                facts,
                "Send it as a JOB-TOKEN header (or as the password of user gitlab-ci-token): \
                 GitLab ignores job tokens in PRIVATE-TOKEN, and only some endpoints accept them \
                 at all, so a 401 elsewhere may say nothing about the token."
                    .to_owned(),
            )
        }
        401 if says(response, "401 Unauthorized") => job_refused(class, answers, sit),
        403 => user_state(response, "the job's user").unwrap_or_else(|| unexpected(x, response)),
        _ => unexpected(x, response),
    })
}

pub(super) fn job_refused(class: &Classification, answers: &[Answer], sit: &Situation<'_>) -> Said {
    let kind = Kind::JobToken;
    let job = class
        .job
        .as_ref()
        .and_then(|j| j.job_id)
        .map(|id| format!("job {id}"))
        .unwrap_or_else(|| "its job".to_owned());
    let token_job = class.job.as_ref().and_then(|j| j.job_id);
    let next = match sit.ci_job_id {
        // Inside a running job, a token of another job: not the job's own token.
        Some(running) if token_job != Some(running) => format!(
            "This runs inside job {running}, which is running, so the token is not its own: a \
             token kept from an earlier job, or a CI/CD variable that overrides CI_JOB_TOKEN. \
             Use $CI_JOB_TOKEN as GitLab sets it (delete or rename any variable of that name); \
             for work across jobs, use a project access token."
        ),
        _ => "Use the CI_JOB_TOKEN of a job that is running now; for work after the job, \
              use a project access token."
            .to_owned(),
    };
    let not_running = |why: &str| {
        Said::Rejected(Finding::new(
            Reason::JobNotRunning,
            format!(
                "The token is a genuine job token, but {job} {why}: GitLab only accepts a job \
                 token while its job runs."
            ),
            next.clone(),
            kind.docs(),
        ))
    };
    if let Some(t) = find(answers, Check::JobTrigger)
        && let Ok(r) = usable(t, sit, true)
    {
        let said = message(r).unwrap_or_default();
        match (r.status, said.as_str()) {
            (401, m) if m.contains("not running") => return not_running("is no longer running"),
            (401, m) if m.contains("erased") => return not_running("has been erased"),
            (401, m) if m.contains("deleted") => {
                return not_running("belongs to a deleted project");
            }
            (401, m) if m.contains("expired") => {
                return Said::Rejected(Finding::new(
                    Reason::Expired,
                    format!("The job token of {job} has expired (GitLab: \"{m}\")."),
                    "Job tokens cannot be renewed: use the CI_JOB_TOKEN of a running job.",
                    kind.docs(),
                ));
            }
            (404, _) => {
                return Said::Rejected(Finding::new(
                    Reason::UnknownToken,
                    format!(
                        "GitLab does not know this job token: it is not a job token of {}, or \
                         it was mistyped (or the project used to check it does not exist).",
                        sit.server_host
                    ),
                    "Check that --url is the instance that ran the job, and that the value is \
                     the job's CI_JOB_TOKEN.",
                    kind.docs(),
                ));
            }
            _ => {}
        }
    }
    // A token of another instance is never sent (see Classification::foreign_issuer).
    if class.job.is_some() {
        return not_running(
            "has finished, was cancelled or erased (the token is refused before its expiry)",
        );
    }
    Said::Rejected(Finding::new(
        Reason::UnknownToken,
        "GitLab refuses this job token: either its job is no longer running, or it is not a \
         job token of this instance."
            .to_owned(),
        "Pass --project with the job's project to tell the two apart; a job token only works \
         while its job runs."
            .to_owned(),
        kind.docs(),
    ))
}
