//! Reading one place: a group, a project or the instance. Each list the place has (CI/CD
//! variables, access tokens, deploy tokens, triggers, schedules) is read in full and judged as
//! it arrives; a list the identity may not read makes the place "not inspectable" for that
//! list, naming the role it needs.

use serde_json::Value;

use super::api::{Api, Refusal};
use super::findings::{Code, Finding, Place, Scope, Severity};
use super::inspect::{self, Found, Judge, Variable, clean};
use crate::date::Day;

/// What reading a place needs besides the API.
pub struct Context<'a> {
    /// The variable judge.
    pub judge: Judge<'a>,
    /// Today (UTC).
    pub today: Day,
    /// `--min-days-left`.
    pub min_days: i64,
    /// `--schedules`: read each schedule's variables.
    pub schedules: bool,
}

/// An access token of a bot user, from a project or group inventory: what the join needs.
#[derive(Debug, Clone)]
pub struct BotToken {
    /// The bot's user id.
    pub user_id: u64,
    /// `active`.
    pub active: bool,
    /// `revoked`.
    pub revoked: bool,
    /// `expires_at` (a date), if any.
    pub expires_at: Option<String>,
    /// The inventory item.
    pub place: Place,
}

/// One place read.
pub struct PlaceResult {
    /// The place's scope.
    pub scope: Scope,
    /// Its path.
    pub path: String,
    /// Every list could be read.
    pub complete: bool,
    /// The findings.
    pub findings: Vec<Finding>,
    /// The tokens found in its variables.
    pub found: Vec<Found>,
    /// Its access-token inventory.
    pub bots: Vec<BotToken>,
}

impl PlaceResult {
    fn new(scope: Scope, path: &str) -> PlaceResult {
        PlaceResult {
            scope,
            path: path.to_owned(),
            complete: true,
            findings: Vec::new(),
            found: Vec::new(),
            bots: Vec::new(),
        }
    }

    fn place(&self, item: &str) -> Place {
        Place::new(self.scope, &self.path, item)
    }

    /// Records a list that could not be read.
    fn not_inspectable(&mut self, list: &str, role: &str, refusal: &Refusal) {
        self.complete = false;
        let why = match refusal {
            Refusal::Denied(401) => format!(
                "{}; access-token lists answer a missing role with 401, which says nothing \
                 about the audit token",
                refusal.describe()
            ),
            other => other.describe(),
        };
        let fix = match refusal {
            Refusal::Denied(_) | Refusal::NotFound => {
                format!("give the audit identity the {role} role here")
            }
            _ => "run the audit again later or with a longer --deadline".to_owned(),
        };
        self.record_uninspectable(list, why, fix);
    }

    /// Records a list that could not be read, and why, and the way out.
    fn record_uninspectable(&mut self, list: &str, why: String, fix: String) {
        self.complete = false;
        self.findings.push(Finding::new(
            Code::NotInspectable,
            Severity::Uninspectable,
            self.place(list),
            format!("The {list} could not be read: {why}; {fix}."),
        ));
    }

    /// Reads a list, judging each item with `each`; a refusal is recorded.
    fn read(
        &mut self,
        api: &Api<'_>,
        path: &str,
        list: &str,
        role: &str,
        mut each: impl FnMut(&mut Vec<Finding>, &mut Vec<Found>, &mut Vec<BotToken>, Value),
    ) -> bool {
        let (mut findings, mut found, mut bots) = (Vec::new(), Vec::new(), Vec::new());
        let result = api.list(path, |item| {
            each(&mut findings, &mut found, &mut bots, item)
        });
        self.findings.append(&mut findings);
        self.found.append(&mut found);
        self.bots.append(&mut bots);
        match result {
            Ok(()) => true,
            Err(refusal) => {
                self.not_inspectable(list, role, &refusal);
                false
            }
        }
    }
}

fn text(item: &Value, field: &str) -> Option<String> {
    item.get(field).and_then(Value::as_str).map(clean)
}

fn flag(item: &Value, field: &str) -> Option<bool> {
    item.get(field).and_then(Value::as_bool)
}

/// A variable entry, its value taken out of the JSON.
fn take_variable(mut item: Value, schedule: bool) -> (Variable, Option<String>) {
    let value = match item.get_mut("value").map(Value::take) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let var = Variable {
        key: text(&item, "key").unwrap_or_default(),
        value,
        masked: if schedule {
            None
        } else {
            flag(&item, "masked")
        },
        protected: if schedule {
            None
        } else {
            flag(&item, "protected")
        },
        raw: flag(&item, "raw").unwrap_or(false),
        file: item.get("variable_type").and_then(Value::as_str) == Some("file"),
    };
    (var, text(&item, "environment_scope"))
}

fn judge_variables(
    result: &mut PlaceResult,
    api: &Api<'_>,
    path: &str,
    item: &str,
    role: &str,
    ctx: &Context<'_>,
) {
    let base = result.place(item);
    result.read(
        api,
        path,
        "CI/CD variables",
        role,
        |findings, found, _, entry| {
            let (var, environment) = take_variable(entry, false);
            let mut place = base.clone().named(var.key.clone());
            place.environment = environment;
            let judged = inspect::variable(var, place, &ctx.judge);
            findings.extend(judged.findings);
            found.extend(judged.found);
        },
    );
}

fn access_tokens(result: &mut PlaceResult, api: &Api<'_>, path: &str, role: &str, ctx: &Context) {
    let base = result.place("access token");
    result.read(
        api,
        path,
        "access tokens",
        role,
        |findings, _, bots, item| {
            let name = text(&item, "name").unwrap_or_default();
            let id = item.get("id").and_then(Value::as_u64).unwrap_or(0);
            let place = base.clone().named(format!("{name} (id {id})"));
            let active = flag(&item, "active").unwrap_or(false);
            let revoked = flag(&item, "revoked").unwrap_or(false);
            let expires_at = text(&item, "expires_at");
            if !revoked
                && let Some((code, severity, when)) =
                    inspect::expiry(expires_at.as_deref(), ctx.today, ctx.min_days)
            {
                findings.push(Finding::new(
                code,
                severity,
                place.clone(),
                format!(
                    "This access token {when}; rotate it (the new token keeps its bot user) and \
                     update every variable that holds it."
                ),
            ));
            }
            if let Some(user_id) = item.get("user_id").and_then(Value::as_u64) {
                bots.push(BotToken {
                    user_id,
                    active,
                    revoked,
                    expires_at,
                    place,
                });
            }
        },
    );
}

fn deploy_tokens(result: &mut PlaceResult, api: &Api<'_>, path: &str, role: &str, ctx: &Context) {
    let base = result.place("deploy token");
    result.read(api, path, "deploy tokens", role, |findings, _, _, item| {
        if flag(&item, "revoked") == Some(true) {
            return;
        }
        let name = text(&item, "name").unwrap_or_default();
        let place = base.clone().named(name);
        let verdict = if flag(&item, "expired") == Some(true) {
            Some((
                Code::TokenExpired,
                Severity::Broken,
                "has expired".to_owned(),
            ))
        } else {
            inspect::expiry(
                text(&item, "expires_at").as_deref(),
                ctx.today,
                ctx.min_days,
            )
        };
        if let Some((code, severity, when)) = verdict {
            findings.push(Finding::new(
                code,
                severity,
                place,
                format!(
                    "This deploy token {when}; create a new one and update the variables and \
                     clients that use it."
                ),
            ));
        }
    });
}

fn triggers(result: &mut PlaceResult, api: &Api<'_>, path: &str, ctx: &Context<'_>) {
    let base = result.place("trigger");
    result.read(
        api,
        path,
        "pipeline triggers",
        "Maintainer",
        |findings, _, _, item| {
            let id = item.get("id").and_then(Value::as_u64).unwrap_or(0);
            let description = text(&item, "description").unwrap_or_default();
            let place = base.clone().named(format!("{description} (id {id})"));
            if let Some((code, severity, when)) = inspect::expiry(
                text(&item, "expires_at").as_deref(),
                ctx.today,
                ctx.min_days,
            ) {
                findings.push(Finding::new(
                    code,
                    severity,
                    place.clone(),
                    format!(
                        "This trigger token {when}; create a new trigger and update its callers."
                    ),
                ));
            }
            if let Some(owner) = item.get("owner").filter(|o| !o.is_null())
                && let Some(why) = inspect::owner_unavailable(Some(owner))
            {
                findings.push(Finding::new(
                    Code::OwnerUnavailable,
                    Severity::Broken,
                    place,
                    format!(
                        "This trigger {why}: its pipelines fail to start; create a new trigger \
                     owned by an active member and update its callers."
                    ),
                ));
            }
        },
    );
}

fn schedules(result: &mut PlaceResult, api: &Api<'_>, id: u64, ctx: &Context<'_>) {
    let base = result.place("schedule");
    let mut ids = Vec::new();
    let path = format!("/api/v4/projects/{id}/pipeline_schedules");
    result.read(
        api,
        &path,
        "pipeline schedules",
        "Developer",
        |findings, _, _, item| {
            let sid = item.get("id").and_then(Value::as_u64).unwrap_or(0);
            let description = text(&item, "description").unwrap_or_default();
            let place = base.clone().named(format!("{description} (id {sid})"));
            if let Some(why) = inspect::owner_unavailable(item.get("owner")) {
                findings.push(Finding::new(
                    Code::OwnerUnavailable,
                    Severity::Broken,
                    place.clone(),
                    format!(
                        "This schedule {why}: GitLab deactivates it and it stops running; take \
                     ownership with an active member."
                    ),
                ));
            }
            ids.push((sid, place));
        },
    );
    if !ctx.schedules {
        return;
    }
    for (sid, place) in ids {
        let path = format!("/api/v4/projects/{id}/pipeline_schedules/{sid}");
        match api.object(&path) {
            Ok(mut details) => match details.get_mut("variables").map(Value::take) {
                Some(Value::Array(vars)) => {
                    for entry in vars {
                        let (var, _) = take_variable(entry, true);
                        let mut at = place.clone();
                        at.item =
                            format!("schedule {} variable", at.name.take().unwrap_or_default());
                        let at = at.named(var.key.clone());
                        let judged = inspect::variable(var, at, &ctx.judge);
                        result.findings.extend(judged.findings);
                        result.found.extend(judged.found);
                    }
                }
                _ => result.record_uninspectable(
                    "schedule variables",
                    "GitLab returned the schedule without its variables, as it does below \
                     Maintainer for a schedule one does not own"
                        .to_owned(),
                    "give the audit identity the Maintainer role here".to_owned(),
                ),
            },
            Err(refusal) => result.not_inspectable("schedule variables", "Maintainer", &refusal),
        }
    }
}

/// Reads a group's own lists: variables (Owner), access tokens (Owner), deploy tokens
/// (Maintainer, GitLab MR 25219).
pub fn group(api: &Api<'_>, id: u64, path: &str, ctx: &Context<'_>) -> PlaceResult {
    let mut result = PlaceResult::new(Scope::Group, path);
    let root = format!("/api/v4/groups/{id}");
    judge_variables(
        &mut result,
        api,
        &format!("{root}/variables"),
        "variable",
        "Owner",
        ctx,
    );
    access_tokens(
        &mut result,
        api,
        &format!("{root}/access_tokens"),
        "Owner",
        ctx,
    );
    deploy_tokens(
        &mut result,
        api,
        &format!("{root}/deploy_tokens"),
        "Owner",
        ctx,
    );
    result
}

/// Reads a project's lists: variables, access tokens, deploy tokens, triggers (Maintainer),
/// schedules (Developer; their variables Maintainer, with `--schedules`).
pub fn project(api: &Api<'_>, id: u64, path: &str, ctx: &Context<'_>) -> PlaceResult {
    let mut result = PlaceResult::new(Scope::Project, path);
    let root = format!("/api/v4/projects/{id}");
    let role = "Maintainer";
    judge_variables(
        &mut result,
        api,
        &format!("{root}/variables"),
        "variable",
        role,
        ctx,
    );
    access_tokens(
        &mut result,
        api,
        &format!("{root}/access_tokens"),
        role,
        ctx,
    );
    deploy_tokens(
        &mut result,
        api,
        &format!("{root}/deploy_tokens"),
        role,
        ctx,
    );
    triggers(&mut result, api, &format!("{root}/triggers"), ctx);
    schedules(&mut result, api, id, ctx);
    result
}

/// Reads the instance's CI/CD variables (administrator).
pub fn instance(api: &Api<'_>, ctx: &Context<'_>) -> PlaceResult {
    let mut result = PlaceResult::new(Scope::Instance, "");
    judge_variables(
        &mut result,
        api,
        "/api/v4/admin/ci/variables",
        "variable",
        "administrator",
        ctx,
    );
    result
}
