//! A fake GitLab group tree for `glprobe audit`: groups, projects, their CI/CD variables and
//! token inventories, answered the way GitLab answers them (reference note audit.md, §2 and
//! §8): offset pagination with `Link` headers (no totals and no `rel="last"` above 10,000
//! items, or always when asked to), 401 on access-token lists and 403 on variables where the
//! identity lacks the role, hidden variables with `"value": null`, schedule details without
//! `variables` below Maintainer, and 429s with `Retry-After` and `RateLimit-*`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::fixtures::{date_in, pat_self, user};
use super::gitlab::{Recorded, Reply, Routes};

/// A group.
#[derive(Clone)]
pub struct Group {
    pub id: u64,
    pub full_path: String,
    pub parent_id: Option<u64>,
}

/// A project.
#[derive(Clone)]
pub struct Project {
    pub id: u64,
    pub path_with_namespace: String,
    pub namespace_id: u64,
    pub archived: bool,
}

/// A server-wide rate limit told through `RateLimit-*`: `limit` requests per `window_secs`.
pub struct Limiter {
    pub limit: u64,
    pub window_secs: u64,
    state: Mutex<(Instant, u64)>,
    pub refused: AtomicU64,
}

impl Limiter {
    pub fn new(limit: u64, window_secs: u64) -> Limiter {
        Limiter {
            limit,
            window_secs,
            state: Mutex::new((Instant::now(), 0)),
            refused: AtomicU64::new(0),
        }
    }

    /// Counts a request; the headers to send, and whether it is refused.
    fn admit(&self) -> (Vec<(String, String)>, bool) {
        let mut state = self.state.lock().unwrap();
        if state.0.elapsed().as_secs() >= self.window_secs {
            *state = (Instant::now(), 0);
        }
        state.1 += 1;
        let used = state.1;
        let left_secs = self.window_secs - state.0.elapsed().as_secs().min(self.window_secs);
        let reset = unix_now() + left_secs.max(1) as i64;
        let headers = vec![
            ("RateLimit-Name".into(), "throttle_authenticated_api".into()),
            ("RateLimit-Limit".into(), self.limit.to_string()),
            ("RateLimit-Observed".into(), used.to_string()),
            (
                "RateLimit-Remaining".into(),
                self.limit.saturating_sub(used).to_string(),
            ),
            ("RateLimit-Reset".into(), reset.to_string()),
        ];
        let refused = used > self.limit;
        if refused {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
        (headers, refused)
    }
}

/// A schedule and its variables (`None`: GitLab leaves them out for this caller).
pub type Schedule = (Value, Option<Vec<Value>>);

/// The whole fake instance.
#[derive(Default)]
pub struct Tree {
    pub groups: Vec<Group>,
    pub projects: Vec<Project>,
    pub group_variables: HashMap<u64, Vec<Value>>,
    pub project_variables: HashMap<u64, Vec<Value>>,
    pub group_access_tokens: HashMap<u64, Vec<Value>>,
    pub project_access_tokens: HashMap<u64, Vec<Value>>,
    pub group_deploy_tokens: HashMap<u64, Vec<Value>>,
    pub project_deploy_tokens: HashMap<u64, Vec<Value>>,
    pub triggers: HashMap<u64, Vec<Value>>,
    /// Per project: (schedule, its variables or `None` when the caller may not see them).
    pub schedules: HashMap<u64, Vec<Schedule>>,
    pub instance_variables: Vec<Value>,
    /// The identity is an administrator (`/admin/*`, every group and project).
    pub admin: bool,
    /// Groups where the identity is not Owner, projects where it is not Maintainer.
    pub not_owner: BTreeSet<u64>,
    pub not_maintainer: BTreeSet<u64>,
    /// Omit `X-Total`, `X-Total-Pages` and `rel="last"` on every list, as GitLab does above
    /// 10,000 matches.
    pub hide_totals: bool,
    /// The host GitLab writes into `Link` (its configured host), instead of the request's.
    pub link_host: Option<String>,
    /// Paths whose first request is answered 429 with this `Retry-After`.
    pub throttle_once: BTreeMap<String, u64>,
    pub limiter: Option<std::sync::Arc<Limiter>>,
    /// The audit token's `/personal_access_tokens/self` answer: scopes and days left.
    pub audit_scopes: Vec<String>,
    pub audit_days_left: Option<i64>,
    /// Answer the audit token's self-lookup with this instead.
    pub audit_reply: Option<Reply>,
    /// `--probe-found`: the self-lookup's answer for other tokens, by token.
    pub probe_replies: HashMap<String, (Reply, Reply)>,
    pub throttled: Mutex<BTreeSet<String>>,
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// GitLab's entities (reference audit.md §2.2, §2.3, §8).

/// A project or group CI/CD variable.
pub fn variable(key: &str, value: &str, masked: bool, protected: bool) -> Value {
    json!({"variable_type": "env_var", "key": key, "value": value, "hidden": false,
           "protected": protected, "masked": masked, "raw": false,
           "environment_scope": "*", "description": null})
}

/// A masked-and-hidden variable: GitLab returns `"value": null`.
pub fn hidden(key: &str) -> Value {
    json!({"variable_type": "env_var", "key": key, "value": null, "hidden": true,
           "protected": true, "masked": true, "raw": false,
           "environment_scope": "production", "description": "deploy token"})
}

/// A project or group access token of bot `user_id`.
pub fn access_token(
    id: u64,
    name: &str,
    user_id: u64,
    active: bool,
    revoked: bool,
    expires_in: i64,
) -> Value {
    json!({"id": id, "name": name, "revoked": revoked, "created_at": "2025-01-20T22:11:48.151Z",
           "description": "", "scopes": ["api"], "user_id": user_id,
           "last_used_at": "2026-10-01T08:00:00.000Z", "active": active,
           "expires_at": date_in(expires_in), "access_level": 40})
}

/// A deploy token.
pub fn deploy_token(id: u64, name: &str, expires_in: Option<i64>, expired: bool) -> Value {
    json!({"id": id, "name": name, "username": format!("gitlab+deploy-token-{id}"),
           "expires_at": expires_in.map(|d| format!("{}T00:00:00.000Z", date_in(d))),
           "scopes": ["read_registry"], "revoked": false, "expired": expired})
}

/// A user as GitLab embeds it (UserBasic).
pub fn owner(id: u64, username: &str, state: &str) -> Value {
    json!({"id": id, "username": username, "name": username, "state": state, "locked": false,
           "avatar_url": null, "web_url": format!("https://gitlab.example.com/{username}")})
}

/// A pipeline trigger (the token as non-owners see it: 4 characters).
pub fn trigger(id: u64, description: &str, expires_in: Option<i64>, owner: Value) -> Value {
    json!({"id": id, "token": "6d05", "description": description,
           "created_at": "2025-01-01T00:00:00.000Z", "updated_at": "2025-01-01T00:00:00.000Z",
           "last_used": "2026-11-01T02:00:00.000Z",
           "expires_at": expires_in.map(|d| format!("{}T00:00:00.000Z", date_in(d))),
           "owner": owner})
}

/// A pipeline schedule.
pub fn schedule(id: u64, description: &str, active: bool, owner: Value) -> Value {
    json!({"id": id, "description": description, "ref": "main", "cron": "0 2 * * *",
           "cron_timezone": "UTC", "next_run_at": "2026-12-02T02:00:00.000Z", "active": active,
           "created_at": "2025-01-01T00:00:00.000Z", "updated_at": "2025-01-01T00:00:00.000Z",
           "owner": owner})
}

fn message(status: u16, text: &str) -> Reply {
    Reply::json(status, json!({"message": text}))
}

/// One page of a list, with GitLab's offset-pagination headers.
fn page(items: &[Value], request: &Recorded, hide_totals: bool, link_host: Option<&str>) -> Reply {
    let per_page = request
        .query_param("per_page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 100);
    let number = request
        .query_param("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let start = (number - 1) * per_page;
    let body: Vec<&Value> = items.iter().skip(start).take(per_page).collect();
    let last_page = items.len().div_ceil(per_page).max(1);
    let has_next = start + per_page < items.len();
    let host = link_host.unwrap_or_else(|| request.header("host").unwrap_or("127.0.0.1"));
    let link_to = |n: usize| {
        let mut query: Vec<String> = request
            .query
            .split('&')
            .filter(|p| !p.is_empty() && !p.starts_with("page="))
            .map(str::to_owned)
            .collect();
        query.push(format!("page={n}"));
        format!("<http://{host}{}?{}>", request.path, query.join("&"))
    };
    let totals = !hide_totals && items.len() <= 10_000;
    let mut links = Vec::new();
    if number > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(number - 1)));
    }
    if has_next {
        links.push(format!("{}; rel=\"next\"", link_to(number + 1)));
    }
    links.push(format!("{}; rel=\"first\"", link_to(1)));
    if totals {
        links.push(format!("{}; rel=\"last\"", link_to(last_page)));
    }
    let mut reply = Reply::json(200, json!(body))
        .header("X-Page", &number.to_string())
        .header("X-Per-Page", &per_page.to_string())
        .header(
            "X-Next-Page",
            &if has_next {
                (number + 1).to_string()
            } else {
                String::new()
            },
        )
        .header(
            "X-Prev-Page",
            &if number > 1 {
                (number - 1).to_string()
            } else {
                String::new()
            },
        )
        .header("Link", &links.join(", "));
    if totals {
        reply = reply
            .header("X-Total", &items.len().to_string())
            .header("X-Total-Pages", &last_page.to_string());
    }
    reply
}

fn with_headers(mut reply: Reply, extra: Vec<(String, String)>) -> Reply {
    if let Reply::Http { headers, .. } = &mut reply {
        headers.extend(extra);
    }
    reply
}

impl Tree {
    /// The routes answering this tree.
    pub fn routes(self) -> Routes {
        let tree = std::sync::Arc::new(self);
        Routes::new().otherwise(move |request| tree.answer(request))
    }

    fn descendants(&self, id: u64) -> Vec<&Group> {
        let mut out = Vec::new();
        let mut frontier = vec![id];
        while let Some(parent) = frontier.pop() {
            for g in self.groups.iter().filter(|g| g.parent_id == Some(parent)) {
                out.push(g);
                frontier.push(g.id);
            }
        }
        out.sort_by_key(|g| g.id);
        out
    }

    fn find_group(&self, key: &str) -> Option<&Group> {
        if let Ok(id) = key.parse::<u64>() {
            return self.groups.iter().find(|g| g.id == id);
        }
        let key = key.replace("%2F", "/").replace("%2f", "/");
        self.groups
            .iter()
            .find(|g| g.id.to_string() == key || g.full_path == key)
    }

    fn find_project(&self, key: &str) -> Option<&Project> {
        if let Ok(id) = key.parse::<u64>() {
            return self.projects.iter().find(|p| p.id == id);
        }
        let key = key.replace("%2F", "/").replace("%2f", "/");
        self.projects
            .iter()
            .find(|p| p.id.to_string() == key || p.path_with_namespace == key)
    }

    fn answer(&self, request: &Recorded) -> Reply {
        if request.header("private-token").is_none() {
            return message(401, "401 Unauthorized");
        }
        if let Some(&retry) = self.throttle_once.get(&request.path)
            && self.throttled.lock().unwrap().insert(request.path.clone())
        {
            let reset = unix_now() + retry as i64;
            return Reply::raw(429, "text/plain", "Retry later\n")
                .header("Retry-After", &retry.to_string())
                .header("RateLimit-Name", "throttle_authenticated_api")
                .header("RateLimit-Limit", "2000")
                .header("RateLimit-Observed", "2001")
                .header("RateLimit-Remaining", "0")
                .header("RateLimit-Reset", &reset.to_string());
        }
        let Some(limiter) = &self.limiter else {
            return self.route(request);
        };
        let (headers, refused) = limiter.admit();
        if refused {
            return with_headers(
                Reply::raw(429, "text/plain", "Retry later\n").header("Retry-After", "1"),
                headers,
            );
        }
        with_headers(self.route(request), headers)
    }

    fn route(&self, request: &Recorded) -> Reply {
        let parts: Vec<&str> = request.path.trim_start_matches('/').split('/').collect();
        if let Some((own, user)) = request
            .header("private-token")
            .and_then(|t| self.probe_replies.get(t))
        {
            return match parts.as_slice() {
                ["api", "v4", "personal_access_tokens", "self"] => own.clone(),
                ["api", "v4", "user"] => user.clone(),
                _ => message(401, "401 Unauthorized"),
            };
        }
        let list =
            |items: &[Value]| page(items, request, self.hide_totals, self.link_host.as_deref());
        let empty: Vec<Value> = Vec::new();
        match parts.as_slice() {
            ["api", "v4", "personal_access_tokens", "self"] => match &self.audit_reply {
                Some(reply) => reply.clone(),
                None => {
                    let scopes: Vec<&str> = self.audit_scopes.iter().map(String::as_str).collect();
                    pat_self(&scopes, self.audit_days_left, 1)
                }
            },
            ["api", "v4", "user"] => match &self.audit_reply {
                Some(reply) => reply.clone(),
                None => user(1, "audit-bot", true),
            },
            ["api", "v4", "groups", key] => match self.find_group(key) {
                Some(g) => Reply::json(
                    200,
                    json!({"id": g.id, "full_path": g.full_path,
                                                   "parent_id": g.parent_id}),
                ),
                None => message(404, "404 Group Not Found"),
            },
            ["api", "v4", "groups", key, rest @ ..] => {
                let Some(g) = self.find_group(key) else {
                    return message(404, "404 Group Not Found");
                };
                let owner = !self.not_owner.contains(&g.id);
                match rest {
                    ["descendant_groups"] => {
                        let items: Vec<Value> = self
                            .descendants(g.id)
                            .iter()
                            .map(|d| json!({"id": d.id, "full_path": d.full_path, "parent_id": d.parent_id}))
                            .collect();
                        list(&items)
                    }
                    ["projects"] => {
                        let mut ids: BTreeSet<u64> = BTreeSet::from([g.id]);
                        if request.query_param("include_subgroups").as_deref() == Some("true") {
                            ids.extend(self.descendants(g.id).iter().map(|d| d.id));
                        }
                        let no_archived =
                            request.query_param("archived").as_deref() == Some("false");
                        let mut items: Vec<&Project> = self
                            .projects
                            .iter()
                            .filter(|p| {
                                ids.contains(&p.namespace_id) && !(no_archived && p.archived)
                            })
                            .collect();
                        items.sort_by_key(|p| p.id);
                        let items: Vec<Value> = items
                            .iter()
                            .map(|p| {
                                json!({"id": p.id, "path_with_namespace": p.path_with_namespace,
                                            "namespace": {"id": p.namespace_id}})
                            })
                            .collect();
                        list(&items)
                    }
                    ["variables"] if !owner => message(403, "403 Forbidden"),
                    ["access_tokens"] if !owner => message(401, "401 Unauthorized"),
                    ["deploy_tokens"] if !owner => message(403, "403 Forbidden"),
                    ["variables"] => list(self.group_variables.get(&g.id).unwrap_or(&empty)),
                    ["access_tokens"] => {
                        list(self.group_access_tokens.get(&g.id).unwrap_or(&empty))
                    }
                    ["deploy_tokens"] => {
                        list(self.group_deploy_tokens.get(&g.id).unwrap_or(&empty))
                    }
                    _ => Reply::no_route(),
                }
            }
            ["api", "v4", "projects", key, rest @ ..] => {
                let Some(p) = self.find_project(key) else {
                    return message(404, "404 Project Not Found");
                };
                let maintainer = !self.not_maintainer.contains(&p.id);
                match rest {
                    [] => Reply::json(
                        200,
                        json!({"id": p.id, "path_with_namespace": p.path_with_namespace,
                                                  "archived": p.archived}),
                    ),
                    ["variables"] | ["deploy_tokens"] | ["triggers"] if !maintainer => {
                        message(403, "403 Forbidden")
                    }
                    ["access_tokens"] if !maintainer => message(401, "401 Unauthorized"),
                    ["variables"] => list(self.project_variables.get(&p.id).unwrap_or(&empty)),
                    ["access_tokens"] => {
                        list(self.project_access_tokens.get(&p.id).unwrap_or(&empty))
                    }
                    ["deploy_tokens"] => {
                        list(self.project_deploy_tokens.get(&p.id).unwrap_or(&empty))
                    }
                    ["triggers"] => list(self.triggers.get(&p.id).unwrap_or(&empty)),
                    ["pipeline_schedules"] => {
                        let items: Vec<Value> = self
                            .schedules
                            .get(&p.id)
                            .map(|s| s.iter().map(|(v, _)| v.clone()).collect())
                            .unwrap_or_default();
                        list(&items)
                    }
                    ["pipeline_schedules", sid] => {
                        let found = self.schedules.get(&p.id).and_then(|s| {
                            s.iter().find(|(v, _)| {
                                v["id"].as_u64().is_some_and(|id| sid.parse() == Ok(id))
                            })
                        });
                        match found {
                            Some((schedule, vars)) => {
                                let mut details = schedule.clone();
                                details["last_pipeline"] = json!({"id": 1, "status": "success"});
                                if let (Some(vars), true) = (vars, maintainer) {
                                    details["variables"] = json!(vars);
                                }
                                Reply::json(200, details)
                            }
                            None => message(404, "404 Not found"),
                        }
                    }
                    _ => Reply::no_route(),
                }
            }
            ["api", "v4", "admin", "ci", "variables"] if self.admin => {
                list(&self.instance_variables)
            }
            ["api", "v4", "admin", ..] => message(403, "403 Forbidden"),
            ["api", "v4", "groups"] => {
                let items: Vec<Value> = self
                    .groups
                    .iter()
                    .map(
                        |g| json!({"id": g.id, "full_path": g.full_path, "parent_id": g.parent_id}),
                    )
                    .collect();
                list(&items)
            }
            ["api", "v4", "projects"] => {
                let no_archived = request.query_param("archived").as_deref() == Some("false");
                let items: Vec<Value> = self
                    .projects
                    .iter()
                    .filter(|p| !(no_archived && p.archived))
                    .map(|p| json!({"id": p.id, "path_with_namespace": p.path_with_namespace}))
                    .collect();
                list(&items)
            }
            _ => Reply::no_route(),
        }
    }
}
