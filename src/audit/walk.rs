//! The walk: discovering the places (the group's descendant groups and projects, one project,
//! or the whole instance) and reading them with a bounded pool of worker threads.
//!
//! One thread lists the places (serially: `GET /groups/:id/projects` has a limit of its own)
//! and hands them to the workers through a bounded queue as each page arrives; the workers
//! read each place's lists and send back what they judged. Only findings, fingerprints and
//! inventory metadata travel back: memory follows the findings, not the fleet.

use std::collections::VecDeque;
use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::api::{Api, Refusal};
use super::findings::{Code, Finding, Place, Scope, Severity};
use super::inspect::{Found, clean};
use super::places::{self, BotToken, Context, PlaceResult};
use crate::probe::http::percent_encode;

/// What to audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A group and everything below it.
    Group(String),
    /// One project.
    Project(String),
    /// The instance (administrator): its variables, every group and project.
    Instance,
}

/// How to walk.
pub struct Options {
    /// Worker threads.
    pub concurrency: usize,
    /// Read archived projects too.
    pub include_archived: bool,
}

/// A place that was read.
#[derive(Debug, Clone)]
pub struct PlaceRecord {
    /// Instance, group or project.
    pub scope: Scope,
    /// The full path.
    pub path: String,
    /// Every list of it could be read.
    pub complete: bool,
}

/// Everything the walk found.
#[derive(Default)]
pub struct Walked {
    /// The places read, in the order they were read.
    pub places: Vec<PlaceRecord>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// The tokens found in variables.
    pub found: Vec<Found>,
    /// The access-token inventories.
    pub bots: Vec<BotToken>,
    /// Nothing was left unread.
    pub complete: bool,
}

enum Work {
    Group(u64, String),
    Project(u64, String),
}

/// The counters the progress line shows.
#[derive(Default)]
struct Counters {
    places: AtomicU64,
    findings: AtomicU64,
    done: AtomicBool,
}

/// Walks the target.
pub fn walk(api: &Api<'_>, target: &Target, ctx: &Context<'_>, options: &Options) -> Walked {
    let workers = options.concurrency.max(1);
    let counters = Counters::default();
    let queue = Queue::new(workers * 8);
    let collected = Mutex::new(Walked {
        complete: true,
        ..Walked::default()
    });
    let collect = |result: PlaceResult| {
        counters.places.fetch_add(1, Ordering::Relaxed);
        counters
            .findings
            .fetch_add(result.findings.len() as u64, Ordering::Relaxed);
        let mut walked = collected.lock().unwrap_or_else(|e| e.into_inner());
        walked.complete &= result.complete;
        if !result.path.is_empty() || result.scope == Scope::Instance {
            walked.places.push(PlaceRecord {
                scope: result.scope,
                path: result.path.clone(),
                complete: result.complete,
            });
        }
        walked.findings.extend(result.findings);
        walked.found.extend(result.found);
        walked.bots.extend(result.bots);
    };
    thread::scope(|scope| {
        let (queue, collect, counters) = (&queue, &collect, &counters);
        scope.spawn(move || progress(api, counters));
        let readers: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(move || {
                    while let Some(work) = queue.pop() {
                        collect(match work {
                            Work::Group(id, path) => places::group(api, id, &path, ctx),
                            Work::Project(id, path) => places::project(api, id, &path, ctx),
                        });
                    }
                })
            })
            .collect();
        discover(api, target, ctx, options, &|work| queue.push(work), collect);
        queue.close();
        for reader in readers {
            let _ = reader.join();
        }
        counters.done.store(true, Ordering::Relaxed);
    });
    collected.into_inner().unwrap_or_else(|e| e.into_inner())
}

/// The bounded queue between the lister and the workers (a `Mutex` and two `Condvar`s: the
/// standard channels would add more code to the binary than the walk itself).
struct Queue {
    state: Mutex<(VecDeque<Work>, bool)>,
    cap: usize,
    not_empty: Condvar,
    not_full: Condvar,
}

impl Queue {
    fn new(cap: usize) -> Queue {
        Queue {
            state: Mutex::new((VecDeque::new(), false)),
            cap,
            not_empty: Condvar::new(),
            not_full: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (VecDeque<Work>, bool)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a place, waiting while the queue is full.
    fn push(&self, work: Work) {
        let mut state = self.lock();
        while state.0.len() >= self.cap {
            state = self.not_full.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        state.0.push_back(work);
        self.not_empty.notify_one();
    }

    /// The next place; `None` once the queue is closed and empty.
    fn pop(&self) -> Option<Work> {
        let mut state = self.lock();
        loop {
            if let Some(work) = state.0.pop_front() {
                self.not_full.notify_one();
                return Some(work);
            }
            if state.1 {
                return None;
            }
            state = self
                .not_empty
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// No more places will come.
    fn close(&self) {
        self.lock().1 = true;
        self.not_empty.notify_all();
    }
}

/// A place that could not even be listed: a result of its own, incomplete.
fn unlisted(scope: Scope, path: &str, list: &str, role: &str, refusal: &Refusal) -> PlaceResult {
    let fix = match refusal {
        Refusal::Denied(_) | Refusal::NotFound => {
            format!("check the path and give the audit identity at least the {role} role")
        }
        _ => "run the audit again later or with a longer --deadline".to_owned(),
    };
    PlaceResult {
        scope,
        path: path.to_owned(),
        complete: false,
        findings: vec![Finding::new(
            Code::NotInspectable,
            Severity::Uninspectable,
            Place::new(scope, path, list),
            format!(
                "The {list} could not be read: {}; {fix}.",
                refusal.describe()
            ),
        )],
        found: Vec::new(),
        bots: Vec::new(),
    }
}

fn id_and(item: &Value, field: &str) -> Option<(u64, String)> {
    let id = item.get("id").and_then(Value::as_u64)?;
    let path = item.get(field).and_then(Value::as_str).map(clean)?;
    Some((id, path))
}

/// Lists the places and hands them to the workers.
fn discover(
    api: &Api<'_>,
    target: &Target,
    ctx: &Context<'_>,
    options: &Options,
    work: &dyn Fn(Work),
    done: &dyn Fn(PlaceResult),
) {
    let archived = if options.include_archived {
        ""
    } else {
        "&archived=false"
    };
    let send_projects = |path: &str, list_path: &str, scope: Scope, owner: &str| {
        let result = api.list(list_path, |item| {
            let skip = !options.include_archived
                && item.get("archived").and_then(Value::as_bool) == Some(true);
            if let Some((id, p)) = id_and(&item, "path_with_namespace")
                && !skip
            {
                work(Work::Project(id, p));
            }
        });
        if let Err(refusal) = result {
            done(unlisted(scope, path, "project list", owner, &refusal));
        }
    };
    match target {
        Target::Project(project) => {
            match api.object(&format!("/api/v4/projects/{}", percent_encode(project))) {
                Ok(item) => match id_and(&item, "path_with_namespace") {
                    Some((id, path)) => {
                        work(Work::Project(id, path));
                    }
                    None => {
                        let refusal = Refusal::Failed("no id in the answer".to_owned());
                        done(unlisted(
                            Scope::Project,
                            project,
                            "project",
                            "Maintainer",
                            &refusal,
                        ));
                    }
                },
                Err(refusal) => {
                    done(unlisted(
                        Scope::Project,
                        &clean(project),
                        "project",
                        "Maintainer",
                        &refusal,
                    ));
                }
            }
        }
        Target::Group(group) => {
            let root = api
                .object(&format!("/api/v4/groups/{}", percent_encode(group)))
                .and_then(|item| {
                    id_and(&item, "full_path")
                        .ok_or_else(|| Refusal::Failed("no id in the answer".to_owned()))
                });
            let (id, path) = match root {
                Ok(root) => root,
                Err(refusal) => {
                    done(unlisted(
                        Scope::Group,
                        &clean(group),
                        "group",
                        "Owner",
                        &refusal,
                    ));
                    return;
                }
            };
            work(Work::Group(id, path.clone()));
            let groups = api.list(&format!("/api/v4/groups/{id}/descendant_groups"), |item| {
                if let Some((gid, p)) = id_and(&item, "full_path") {
                    work(Work::Group(gid, p));
                }
            });
            if let Err(refusal) = groups {
                done(unlisted(
                    Scope::Group,
                    &path,
                    "subgroup list",
                    "Owner",
                    &refusal,
                ));
            }
            send_projects(
                &path,
                &format!(
                    "/api/v4/groups/{id}/projects?include_subgroups=true&with_shared=false\
                     {archived}&simple=true&order_by=id&sort=asc"
                ),
                Scope::Group,
                "Reporter",
            );
        }
        Target::Instance => {
            done(places::instance(api, ctx));
            let groups = api.list(
                "/api/v4/groups?all_available=true&order_by=id&sort=asc",
                |item| {
                    if let Some((gid, p)) = id_and(&item, "full_path") {
                        work(Work::Group(gid, p));
                    }
                },
            );
            if let Err(refusal) = groups {
                done(unlisted(
                    Scope::Instance,
                    "",
                    "group list",
                    "administrator",
                    &refusal,
                ));
            }
            send_projects(
                "",
                &format!(
                    "/api/v4/projects?pagination=keyset&order_by=id&sort=asc&simple=true{archived}"
                ),
                Scope::Instance,
                "administrator",
            );
        }
    }
}

/// The progress line on standard error: live on a terminal, every 5 s otherwise.
fn progress(api: &Api<'_>, counters: &Counters) {
    let terminal = std::io::stderr().is_terminal();
    let every = if terminal {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(5)
    };
    let started = Instant::now();
    let mut last = Instant::now();
    let mut printed = false;
    while !counters.done.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(50));
        if last.elapsed() < every {
            continue;
        }
        last = Instant::now();
        let line = format!(
            "glprobe audit: {} places read, {} findings, {} requests, {} rate-limit waits, {} s",
            counters.places.load(Ordering::Relaxed),
            counters.findings.load(Ordering::Relaxed),
            api.requests(),
            api.waits(),
            started.elapsed().as_secs()
        );
        if terminal {
            eprint!("\r\x1b[2K{line}");
            printed = true;
        } else {
            eprintln!("{line}");
        }
    }
    if printed {
        eprint!("\r\x1b[2K");
    }
}
