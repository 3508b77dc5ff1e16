//! Reading GitLab's answer to a `--request`: its error message and nothing else of the body.

use crate::probe::http::{Body, Response};

/// The longest GitLab message quoted.
const MESSAGE_CHARS: usize = 300;

/// GitLab's error message: `message` (a string, or `{"base": [...]}`), else `error` and
/// `error_description`. Only for errors: the body of a success is never read.
pub(super) fn gitlab_message(response: &Response) -> Option<String> {
    if response.status < 400 {
        return None;
    }
    let Body::Json(body) = &response.body else {
        return None;
    };
    let text = match body.get("message") {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Object(map)) => map
            .values()
            .flat_map(|v| match v {
                serde_json::Value::Array(items) => {
                    items.iter().filter_map(|i| i.as_str()).collect::<Vec<_>>()
                }
                serde_json::Value::String(s) => vec![s.as_str()],
                _ => Vec::new(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => {
            let error = body.get("error")?.as_str()?;
            match body.get("error_description").and_then(|d| d.as_str()) {
                Some(d) => format!("{error}: {d}"),
                None => error.to_owned(),
            }
        }
    };
    (!text.is_empty()).then(|| text.chars().take(MESSAGE_CHARS).collect())
}

pub(super) fn quoted(message: Option<String>) -> String {
    message.map(|m| format!(" (\"{m}\")")).unwrap_or_default()
}

pub(super) fn insufficient_scope(response: &Response) -> Option<String> {
    let Body::Json(body) = &response.body else {
        return None;
    };
    (body.get("error")?.as_str()? == "insufficient_scope").then(|| {
        body.get("scope")
            .and_then(|s| s.as_str())
            .unwrap_or_default()
            .to_owned()
    })
}

/// `… not allowed from <source> to <target>.` → (source, target).
pub(super) fn allowlist_paths(message: &str) -> (String, String) {
    let tail = message.split(" from ").nth(1).unwrap_or_default();
    let mut parts = tail.trim_end_matches('.').splitn(2, " to ");
    let source = parts
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("the job's project");
    let target = parts.next().unwrap_or("the target project");
    (source.to_owned(), target.to_owned())
}

/// `acme%2Fapp` → `acme/app`, for display.
pub(super) fn decode_path(text: &str) -> String {
    text.replace("%2F", "/").replace("%2f", "/")
}
