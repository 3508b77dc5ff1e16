//! `--request 'METHOD PATH'`: the request a user saw fail, read without GitLab.
//!
//! Pure: [`parse`] turns the flag's text into a [`Parsed`] request (or a usage error that never
//! repeats the text: it may hold a secret), [`routes`] says whether GitLab accepts a job token on
//! it and with which fine-grained permission, and [`scopes`] which scopes an access or OAuth
//! token needs there. Sending it is [`crate::probe::request`]'s work; explaining GitLab's answer,
//! [`crate::diagnosis::request`]'s.

pub mod routes;
pub mod scopes;

use crate::classify::{self, Context};
use crate::cli::Server;
use crate::reason::Reason;
use crate::token::{Kind, Token};

/// The methods `--request` takes. Only GET and HEAD are ever sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET.
    Get,
    /// HEAD (matches GitLab's GET routes, as Grape does).
    Head,
    /// POST.
    Post,
    /// PUT.
    Put,
    /// PATCH.
    Patch,
    /// DELETE.
    Delete,
}

impl Method {
    /// Every method, in the order of the usage text.
    pub const ALL: [Method; 6] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
    ];

    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// GET and HEAD: the only methods glprobe sends, and the ones `read_api` allows.
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// Query parameters that carry a credential. They are never sent (the token travels in its own
/// carrier) and never shown.
const CREDENTIAL_PARAMETERS: [&str; 5] = [
    "private_token",
    "job_token",
    "access_token",
    "token",
    "feed_token",
];

/// A request as the user gave it, normalised: the path below the GitLab URL, starting with
/// `/api/v4` (or `/jwt/auth`), percent-encoded as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    /// The method.
    pub method: Method,
    /// The path, without query and fragment (`/api/v4/projects/acme%2Fapp/packages`).
    pub path: String,
    /// The query parameters kept, as given (still percent-encoded): sent as they are.
    pub query: Vec<(String, String)>,
    /// Query parameters whose value looks like a secret (by name, for display only).
    secret_values: Vec<usize>,
    /// The names of credential parameters removed from the query.
    pub dropped: Vec<String>,
}

impl Parsed {
    /// The path below `/api/v4` that GitLab's route list uses (`/projects/:id/…`), or the path
    /// itself outside the REST API.
    pub fn api_path(&self) -> &str {
        match self.path.strip_prefix("/api/v4") {
            Some("") => "/",
            Some(rest) => rest,
            None => &self.path,
        }
    }

    /// True for a path of the REST API (`/api/v4/…`).
    pub fn is_rest(&self) -> bool {
        self.path == "/api/v4" || self.path.starts_with("/api/v4/")
    }

    /// The path and query as sent (credential parameters removed).
    pub fn wire(&self) -> String {
        self.with_query(|_, value| value.to_owned())
    }

    /// The path and query as shown in reports: credential parameters removed, and values that
    /// look like secrets replaced with `[REDACTED]`.
    pub fn shown(&self) -> String {
        self.with_query(|i, value| {
            if self.secret_values.contains(&i) {
                "[REDACTED]".to_owned()
            } else {
                value.to_owned()
            }
        })
    }

    fn with_query(&self, value: impl Fn(usize, &str) -> String) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let pairs: Vec<String> = self
            .query
            .iter()
            .enumerate()
            .map(|(i, (k, v))| format!("{k}={}", value(i, v)))
            .collect();
        format!("{}?{}", self.path, pairs.join("&"))
    }

    /// The query values that look like secrets, decoded: scrubbed from every output.
    pub fn secret_values(&self) -> Vec<String> {
        self.secret_values
            .iter()
            .filter_map(|&i| self.query.get(i))
            .map(|(_, v)| decode(v))
            .collect()
    }

    /// `GET /api/v4/…`, as shown.
    pub fn line(&self) -> String {
        format!("{} {}", self.method.as_str(), self.shown())
    }
}

/// What the request verdict says, for the reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The method.
    pub method: &'static str,
    /// The path and query, as shown (no credential, no secret-looking value).
    pub path: String,
    /// The route of GitLab's list it matched (`/projects/:id/packages`), if any.
    pub route: Option<&'static str>,
    /// Whether GitLab accepts a job token on this route.
    pub job_token_accepted: bool,
    /// The fine-grained job token permission(s) the route needs, comma-separated.
    pub job_token_permission: Option<String>,
    /// The scopes of which an access or OAuth token needs one.
    pub scopes_needed: Vec<&'static str>,
    /// Whether glprobe sent it.
    pub sent: bool,
    /// GitLab's status, when sent and answered.
    pub status: Option<u16>,
    /// GitLab's error message (never any other part of the body).
    pub message: Option<String>,
    /// Whether the request works with this token: `None` when nothing settles it.
    pub allowed: Option<bool>,
    /// Why (`ok` when it works).
    pub reason: Option<Reason>,
    /// The explanation, in a sentence or two.
    pub summary: String,
}

impl Verdict {
    /// `TOKEN_REQUEST_ALLOWED`: `true`, `false` or `unknown`.
    pub fn allowed_code(&self) -> &'static str {
        match self.allowed {
            Some(true) => "true",
            Some(false) => "false",
            None => "unknown",
        }
    }
}

/// Reads `--request`'s text. `server` is the GitLab URL, needed only for a full URL, which must
/// be on its host (the token is never sent anywhere else). Errors never repeat the text.
pub fn parse(text: &str, server: Option<&Server>) -> Result<Parsed, String> {
    let mut words = text.split_whitespace();
    let (Some(method), Some(target), None) = (words.next(), words.next(), words.next()) else {
        return Err(
            "--request takes 'METHOD PATH' (one space between them; encode spaces in \
                    the path as %20)"
                .into(),
        );
    };
    let method = Method::ALL
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(method))
        .ok_or("--request: the method must be one of GET, HEAD, POST, PUT, PATCH, DELETE")?;
    let target = target.split('#').next().unwrap_or_default();
    if !target.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("--request: percent-encode the path: it may hold only visible ASCII".into());
    }
    let target = if let Some((scheme, rest)) = target.split_once("://") {
        below_server(scheme, rest, server)?
    } else if target.starts_with('/') {
        target.to_owned()
    } else {
        return Err(
            "--request: the path starts with / (or is a full URL on the --url host)".into(),
        );
    };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, query),
        None => (target.as_str(), ""),
    };
    // Dot segments, also percent-encoded (`%2e%2e`): a proxy that resolves them would send the
    // request elsewhere (git-receive-pack, a push scope) than the route it was checked against.
    let decoded = decode(&decode(path));
    let dotted = decoded
        .split(['/', '\\'])
        .any(|segment| segment == "." || segment == "..");
    if dotted {
        return Err("--request: the path has . or .. segments; give the path GitLab sees".into());
    }
    if classify::shaped::is_token_shaped(&decoded) {
        return Err(
            "--request: the path holds something that looks like a GitLab token (not \
                    repeated here); the token travels in its own header, never in the path"
                .into(),
        );
    }
    let mut path = path.trim_end_matches('/').to_owned();
    // `/gitlab/api/v4/…` on a GitLab at `https://host/gitlab`: the path below its root.
    if let Some(root) = server.map(|s| root_of(&s.url)).filter(|r| !r.is_empty())
        && let Some(below) = path.strip_prefix(root)
        && (below == "/api/v4" || below.starts_with("/api/v4/"))
    {
        path = below.to_owned();
    }
    while path.contains("//") {
        path = path.replace("//", "/");
    }
    if !(path == "/api/v4" || path.starts_with("/api/v4/") || path.starts_with("/jwt/auth")) {
        path = format!("/api/v4{path}");
    }
    let mut parsed = Parsed {
        method,
        path,
        query: Vec::new(),
        secret_values: Vec::new(),
        dropped: Vec::new(),
    };
    // Rack splits a query on `;` as on `&`, and reads `private_token[]` as `private_token`.
    for pair in query.split(['&', ';']).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(key).to_ascii_lowercase();
        let bare = name.trim_end_matches("[]");
        if CREDENTIAL_PARAMETERS.contains(&bare) {
            parsed.dropped.push(bare.to_owned());
            continue;
        }
        let sensitive_name = ["password", "secret", "token", "key"]
            .iter()
            .any(|word| bare.contains(word));
        if sensitive_name || looks_secret(&decode(value)) || looks_secret(&decode(&decode(value))) {
            parsed.secret_values.push(parsed.query.len());
        }
        parsed.query.push((key.to_owned(), value.to_owned()));
    }
    Ok(parsed)
}

/// `host[:port]/root/path…` of a full URL → the path below the server's root.
fn below_server(scheme: &str, rest: &str, server: Option<&Server>) -> Result<String, String> {
    let other_host = "--request: the URL is not on the --url host; glprobe sends the token only \
                      to the configured GitLab (set --url to that GitLab, or give the path alone)";
    let server = server.ok_or(other_host)?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err("--request: a full URL starts with https://".into());
    }
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    // Credentials in the URL are never used, and never repeated.
    let authority = authority.rsplit('@').next().unwrap_or_default();
    let server_scheme = server.url.split_once("://").map_or("https", |(s, _)| s);
    let server_root = root_of(&server.url);
    if normal_authority(&scheme, authority) != normal_authority(server_scheme, &server.host) {
        return Err(other_host.into());
    }
    let below = if server_root.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(server_root)
            .filter(|p| p.is_empty() || p.starts_with(['/', '?']))
    };
    match below {
        Some(p) if p.starts_with('/') => Ok(p.to_owned()),
        Some(p) => Ok(format!("/{p}")),
        None => {
            Err("--request: the URL is not below the --url address (its relative URL root)".into())
        }
    }
}

/// The relative URL root of a server URL (`/gitlab`), or empty.
fn root_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("", |i| &rest[i..])
}

/// `Host:443` for https and `host:80` for http are the host alone.
fn normal_authority(scheme: &str, authority: &str) -> String {
    let authority = authority.to_ascii_lowercase();
    let default = if scheme.eq_ignore_ascii_case("http") {
        ":80"
    } else {
        ":443"
    };
    authority
        .strip_suffix(default)
        .map_or(authority.clone(), str::to_owned)
}

/// Percent-decodes a query key or value (`+` is a space).
/// A query or path component decoded: `+` is a space, `%XX` a byte.
fn decode(text: &str) -> String {
    crate::scrub::percent_decode(&text.replace('+', " "))
}

/// A value any GitLab token format could be (as the kind detector reads it).
fn looks_secret(value: &str) -> bool {
    if classify::shaped::is_token_shaped(value) {
        return true;
    }
    if value.len() < 16 {
        return false;
    }
    let class = classify::classify(&Token::new(value), &Context::default());
    class.kind != Kind::Unknown || !class.candidates.is_empty()
}

#[cfg(test)]
mod tests;
