//! The JSON report: a versioned document for programs (`schema_version`, documented in README).
//!
//! The wire structs below are the schema; they are built from the report and serialized, never
//! parsed. A change that removes or renames a field bumps [`SCHEMA_VERSION`]; adding one does
//! not.

use serde::Serialize;

use super::Report;
use crate::token::Source;

/// The version of the JSON document's shape.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema (draft 2020-12) of the document, as `glprobe --json-schema` prints it.
pub const SCHEMA: &str = include_str!("schema.json");

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    glprobe_version: &'static str,
    token: TokenInfo<'a>,
    valid: Option<bool>,
    reason: &'static str,
    exit_code: u8,
    findings: Vec<FindingInfo<'a>>,
    details: Details<'a>,
    notes: &'a [String],
    docs: &'static str,
    server: Option<&'a str>,
    offline: bool,
    requests: Vec<RequestInfo<'a>>,
    request: Option<RequestVerdict<'a>>,
    access: Vec<AccessInfo<'a>>,
}

#[derive(Serialize)]
struct AccessInfo<'a> {
    surface: &'static str,
    project: &'a str,
    allowed: Option<bool>,
    reason: &'static str,
    summary: &'a str,
    next: &'a str,
    docs: &'static str,
    request: Option<AccessRequestInfo<'a>>,
}

#[derive(Serialize)]
struct AccessRequestInfo<'a> {
    method: &'static str,
    path: &'a str,
    status: Option<u16>,
}

#[derive(Serialize)]
struct TokenInfo<'a> {
    source: String,
    kind: &'static str,
    candidates: Vec<&'static str>,
    claimed_kind: Option<&'static str>,
    claimed_by: Option<String>,
    masked: &'a str,
    fingerprint: Option<&'a str>,
    prefix: &'a str,
    instance_prefix: Option<&'a str>,
    format: &'static str,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    reason: &'static str,
    summary: &'a str,
    next: &'a str,
    docs: &'static str,
}

#[derive(Serialize)]
struct Details<'a> {
    name: Option<&'a str>,
    scopes: Option<&'a [String]>,
    expires_at: Option<String>,
    expires_at_unix: Option<i64>,
    never_expires: bool,
    days_left: Option<i64>,
    user: Option<&'a str>,
    user_id: Option<u64>,
    bot: Option<bool>,
    admin: Option<bool>,
    job_id: Option<u64>,
    job_status: Option<&'a str>,
    job_url: Option<&'a str>,
    pipeline_id: Option<u64>,
    project_id: Option<u64>,
    group_id: Option<u64>,
    organization_id: Option<u64>,
    issuer: Option<&'a str>,
    application_id: Option<&'a str>,
    last_used_at: Option<&'a str>,
}

#[derive(Serialize)]
struct RequestInfo<'a> {
    method: &'static str,
    path: &'a str,
    carrier: &'a str,
    status: Option<u16>,
    error: Option<&'a str>,
    attempts: u32,
    elapsed_ms: u64,
}

/// The `--request` verdict.
#[derive(Serialize)]
struct RequestVerdict<'a> {
    method: &'static str,
    path: &'a str,
    route: Option<&'static str>,
    job_token_accepted: bool,
    job_token_permission: Option<&'a str>,
    scopes_needed: &'a [&'static str],
    sent: bool,
    status: Option<u16>,
    message: Option<&'a str>,
    allowed: Option<bool>,
    reason: Option<&'static str>,
    summary: &'a str,
}

/// Renders the report as one JSON document and a newline.
pub fn render(report: &Report) -> String {
    let d = &report.diagnosis;
    let f = &d.facts;
    let source = match &report.source {
        Source::Env(name) => format!("env:{name}"),
        Source::EnvFile(name) => format!("env-file:{name}"),
        Source::File(path) => format!("file:{path}"),
        Source::Stdin => "stdin".to_owned(),
    };
    let document = Document {
        schema_version: SCHEMA_VERSION,
        glprobe_version: env!("CARGO_PKG_VERSION"),
        token: TokenInfo {
            source,
            kind: d.kind.name(),
            candidates: d.candidates.iter().map(|k| k.name()).collect(),
            claimed_kind: report.claim.as_ref().map(|c| c.kind.name()),
            claimed_by: report.claim.as_ref().map(|c| match &c.variable {
                Some(name) => format!("variable:{name}"),
                None => "--expect".to_owned(),
            }),
            masked: &report.masked,
            fingerprint: report.fingerprint.as_deref(),
            prefix: &report.prefix,
            instance_prefix: report.instance_prefix.as_deref(),
            format: report.shape,
        },
        valid: match d.validity {
            crate::reason::Validity::Valid => Some(true),
            crate::reason::Validity::Invalid => Some(false),
            crate::reason::Validity::Unknown => None,
        },
        reason: d.reason.code(),
        exit_code: d.exit_code(),
        findings: d
            .findings
            .iter()
            .map(|x| FindingInfo {
                reason: x.reason.code(),
                summary: &x.summary,
                next: &x.next,
                docs: x.docs,
            })
            .collect(),
        details: Details {
            name: f.name.as_deref(),
            scopes: f.scopes.as_deref(),
            expires_at: f.expires_at.map(|day| day.to_string()),
            expires_at_unix: f.expires_at_unix,
            never_expires: f.never_expires,
            days_left: f.days_left,
            user: f.user.as_deref(),
            user_id: f.user_id,
            bot: f.bot,
            admin: f.admin,
            job_id: f.job_id,
            job_status: f.job_status.as_deref(),
            job_url: f.job_url.as_deref(),
            pipeline_id: f.pipeline_id,
            project_id: f.project_id,
            group_id: f.group_id,
            organization_id: f.organization_id,
            issuer: f.issuer.as_deref(),
            application_id: f.application_id.as_deref(),
            last_used_at: f.last_used_at.as_deref(),
        },
        notes: &d.notes,
        docs: d.docs,
        server: report.server.as_deref(),
        offline: report.server.is_none(),
        requests: report
            .requests
            .iter()
            .map(|r| RequestInfo {
                method: r.method,
                path: &r.path,
                carrier: &r.carrier,
                status: r.status,
                error: r.error.as_deref(),
                attempts: r.attempts,
                elapsed_ms: r.elapsed_ms,
            })
            .collect(),
        request: report.request.as_ref().map(|r| RequestVerdict {
            method: r.method,
            path: &r.path,
            route: r.route,
            job_token_accepted: r.job_token_accepted,
            job_token_permission: r.job_token_permission.as_deref(),
            scopes_needed: &r.scopes_needed,
            sent: r.sent,
            status: r.status,
            message: r.message.as_deref(),
            allowed: r.allowed,
            reason: r.reason.map(|x| x.code()),
            summary: &r.summary,
        }),
        access: d
            .access
            .iter()
            .map(|a| AccessInfo {
                surface: a.surface.name(),
                project: &a.project,
                allowed: a.allowed,
                reason: a.finding.reason.code(),
                summary: &a.finding.summary,
                next: &a.finding.next,
                docs: a.finding.docs,
                request: a.request.as_ref().map(|r| AccessRequestInfo {
                    method: r.method,
                    path: &r.path,
                    status: r.status,
                }),
            })
            .collect(),
    };
    let mut text = json_escape_unsafe(
        &serde_json::to_string_pretty(&document).expect("the report serializes"),
    );
    text.push('\n');
    text
}

/// serde_json escapes C0 control characters; this escapes the rest of the unsafe ones (DEL,
/// C1, bidirectional formatting) as `\uXXXX`, so the document holds none raw. Outside strings
/// a JSON document is ASCII, so every such character is inside a string.
pub fn json_escape_unsafe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if crate::scrub::is_unsafe_char(c) && !matches!(c, '\n' | ' ') {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::Reason;
    use crate::token::Kind;

    fn enum_of(schema: &serde_json::Value, def: &str) -> Vec<String> {
        schema["$defs"][def]["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("$defs.{def}.enum"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn the_schema_names_every_kind_and_reason() {
        let schema: serde_json::Value = serde_json::from_str(SCHEMA).expect("the schema parses");
        assert_eq!(
            schema["properties"]["schema_version"]["const"],
            SCHEMA_VERSION
        );
        let kinds: Vec<String> = Kind::ALL.iter().map(|k| k.name().to_owned()).collect();
        assert_eq!(enum_of(&schema, "kind"), kinds);
        let reasons: Vec<String> = Reason::ALL.iter().map(|r| r.code().to_owned()).collect();
        assert_eq!(enum_of(&schema, "reason"), reasons);
    }
}
