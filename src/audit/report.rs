//! The audit's report: the [`Audit`] (built once from the walk), its human rendering (a summary
//! line and a table sorted by severity, then path) and its versioned JSON document
//! (`audit_schema_version`, schema in `src/audit/schema.json`).
//!
//! Pure: renderers return text. Nothing here has ever seen a value.

use std::time::Duration;

use serde_json::{Value, json};

use super::api::Api;
use super::cli::AuditConfig;
use super::findings::{Finding, Scope, Severity};
use super::walk::{PlaceRecord, Target, Walked};
use crate::reason::exit;

/// The JSON document's version: bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything the renderers need.
pub struct Audit {
    /// What was audited.
    pub target: Target,
    /// The GitLab URL.
    pub server: String,
    /// The places read.
    pub places: Vec<PlaceRecord>,
    /// The findings, sorted by severity, then path.
    pub findings: Vec<Finding>,
    /// Nothing was left unread.
    pub complete: bool,
    /// Requests sent (retries included).
    pub requests: u64,
    /// Pacing waits and 429s.
    pub waits: u64,
    /// 429 answers that ended a request.
    pub rate_limited: u64,
    /// `--fail-on`.
    pub fail_on: Severity,
    /// `--min-days-left`.
    pub min_days_left: i64,
    /// The run's wall time.
    pub elapsed: Duration,
}

impl Audit {
    /// Assembles the report; sorts the findings.
    pub fn new(
        config: &AuditConfig,
        server: String,
        walked: Walked,
        api: &Api<'_>,
        elapsed: Duration,
    ) -> Audit {
        let mut findings = walked.findings;
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        findings.dedup();
        Audit {
            target: config.target.clone(),
            server,
            places: walked.places,
            findings,
            complete: walked.complete,
            requests: api.requests(),
            waits: api.waits(),
            rate_limited: api.rate_limited(),
            fail_on: config.fail_on,
            min_days_left: config.min_days_left,
            elapsed,
        }
    }

    /// Whether a finding is at or above `--fail-on`.
    pub fn fails(&self, finding: &Finding) -> bool {
        finding.severity.rank() >= self.fail_on.rank()
    }

    /// 3 with findings at or above `--fail-on`, else 4 when incomplete, else 0.
    pub fn exit_code(&self) -> u8 {
        if self.findings.iter().any(|f| self.fails(f)) {
            exit::REQUIREMENT
        } else if !self.complete {
            exit::UNDETERMINED
        } else {
            exit::OK
        }
    }

    /// Findings per severity, every severity present (zero included), most serious first.
    pub fn counts(&self) -> [(Severity, usize); 5] {
        Severity::ALL.map(|s| (s, self.findings.iter().filter(|f| f.severity == s).count()))
    }

    fn scope_count(&self, scope: Scope) -> usize {
        self.places.iter().filter(|p| p.scope == scope).count()
    }

    fn target_text(&self) -> String {
        match &self.target {
            Target::Group(g) => format!("group {g}"),
            Target::Project(p) => format!("project {p}"),
            Target::Instance => "the instance".to_owned(),
        }
    }
}

/// The human report: a summary line, then one row per finding with its sentence below.
pub fn human(audit: &Audit) -> String {
    let counts = audit.counts();
    let by_severity: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.name()))
        .collect();
    let mut out = format!(
        "glprobe audit of {} on {}: {} places read ({} groups, {} projects{}), {} requests; \
         findings: {}.\n",
        audit.target_text(),
        audit.server,
        audit.places.len(),
        audit.scope_count(Scope::Group),
        audit.scope_count(Scope::Project),
        if audit.scope_count(Scope::Instance) > 0 {
            ", the instance"
        } else {
            ""
        },
        audit.requests,
        by_severity.join(", ")
    );
    if !audit.complete {
        let missing = audit.places.iter().filter(|p| !p.complete).count();
        out.push_str(&format!(
            "Incomplete: {missing} places could not be read in full (see not_inspectable).\n"
        ));
    }
    if audit.findings.is_empty() {
        out.push_str("Nothing found.\n");
        return out;
    }
    let rows: Vec<[String; 4]> = audit
        .findings
        .iter()
        .map(|f| {
            let token = match (&f.kind, &f.fingerprint) {
                (Some(k), Some(p)) => format!("{k} {p}"),
                (Some(k), None) => k.clone(),
                (None, Some(p)) => p.clone(),
                (None, None) => "-".to_owned(),
            };
            [
                f.severity.name().to_owned(),
                f.code.name().to_owned(),
                f.place.describe(),
                token,
            ]
        })
        .collect();
    let header = ["SEVERITY", "CODE", "WHERE", "TOKEN"].map(str::to_owned);
    let mut widths = [0; 4];
    for row in std::iter::once(&header).chain(rows.iter()) {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |row: &[String; 4]| {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("{}\n", cells.join("  ").trim_end())
    };
    out.push('\n');
    out.push_str(&line(&header));
    for (row, f) in rows.iter().zip(&audit.findings) {
        out.push_str(&line(row));
        out.push_str(&format!("    {}\n", f.message));
    }
    out
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "code": f.code.name(),
        "severity": f.severity.name(),
        "scope": f.place.scope.name(),
        "path": f.place.path,
        "item": f.place.item,
        "name": f.place.name,
        "environment_scope": f.place.environment,
        "kind": f.kind,
        "fingerprint": f.fingerprint,
        "message": f.message,
    })
}

/// The JSON document.
pub fn json(audit: &Audit) -> String {
    let (scope, path) = match &audit.target {
        Target::Group(g) => ("group", Some(g.as_str())),
        Target::Project(p) => ("project", Some(p.as_str())),
        Target::Instance => ("instance", None),
    };
    let counts: serde_json::Map<String, Value> = audit
        .counts()
        .into_iter()
        .map(|(s, n)| (s.name().to_owned(), json!(n)))
        .collect();
    let doc = json!({
        "audit_schema_version": SCHEMA_VERSION,
        "glprobe_version": env!("CARGO_PKG_VERSION"),
        "server": audit.server,
        "target": {"scope": scope, "path": path},
        "complete": audit.complete,
        "fail_on": audit.fail_on.name(),
        "min_days_left": audit.min_days_left,
        "exit_code": audit.exit_code(),
        "summary": {
            "places": audit.places.len(),
            "groups": audit.scope_count(Scope::Group),
            "projects": audit.scope_count(Scope::Project),
            "not_inspectable_places": audit.places.iter().filter(|p| !p.complete).count(),
            "requests": audit.requests,
            "rate_limit_waits": audit.waits,
            "rate_limited": audit.rate_limited,
            "elapsed_ms": u64::try_from(audit.elapsed.as_millis()).unwrap_or(u64::MAX),
            "findings": counts,
        },
        "findings": audit.findings.iter().map(finding_json).collect::<Vec<_>>(),
        "places": audit.places.iter().map(|p| json!({
            "scope": p.scope.name(), "path": p.path, "complete": p.complete
        })).collect::<Vec<_>>(),
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}
