//! Offline classification: what kind of token a text is, from the text alone.
//!
//! The order follows the reference note (section 7): mistakes first, then JWT job tokens, then
//! routable tokens (whose CRC proves or disproves them), then type prefixes after an optional
//! instance prefix, then the legacy unprefixed shapes. Where several kinds fit, the result lists
//! the candidates instead of guessing. Nothing here does I/O; the current time comes in through
//! [`Context`].

pub mod jwt;
pub mod lint;
pub mod routable;
pub mod shaped;

use crate::token::{Kind, Token};
pub use jwt::JobClaims;
pub use lint::Mistake;
pub use routable::Routing;

/// What the classifier needs besides the text.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// Now, in seconds since the epoch (for JWT expiry).
    pub now: i64,
    /// The instance's custom personal access token prefix, if the user named one.
    pub pat_prefix: Option<&'a str>,
}

/// How the text was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Nothing to read.
    Empty,
    /// A mistake made the text unreadable.
    Mistake,
    /// `glcbt-` + JWT.
    Jwt,
    /// A routable token (with its layout version).
    Routable(routable::Version),
    /// A known type prefix in front of a non-routable body.
    Prefixed,
    /// One of the older unprefixed shapes.
    Legacy,
    /// Nothing GitLab issues looks like this.
    Unrecognised,
}

impl Shape {
    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Shape::Empty => "empty",
            Shape::Mistake => "malformed",
            Shape::Jwt => "jwt",
            Shape::Routable(routable::Version::V1) => "routable_v1",
            Shape::Routable(routable::Version::V0) => "routable_v0",
            Shape::Prefixed => "prefixed",
            Shape::Legacy => "legacy",
            Shape::Unrecognised => "unrecognised",
        }
    }
}

/// An offline fact that decides the verdict before any request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Defect {
    /// The value is empty.
    Missing,
    /// The value cannot be a token as it stands.
    Malformed(Mistake),
    /// A `glcbt-` JWT whose header or payload does not decode.
    BrokenJwt,
    /// A routable token whose checksum or structure is wrong.
    Corrupted(String),
    /// A JWT job token past its `exp`.
    ExpiredJwt {
        /// `exp`, seconds since the epoch.
        expired_at: i64,
    },
}

/// The result of reading a token's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The kind, or [`Kind::Unknown`] when nothing or several kinds fit.
    pub kind: Kind,
    /// When several kinds fit: all of them (empty otherwise).
    pub candidates: Vec<Kind>,
    /// How the text was recognised.
    pub shape: Shape,
    /// The public prefix, instance prefix included (`acme-glpat-`), or empty.
    pub prefix: String,
    /// The instance-wide prefix in front of the type prefix, if any (`acme`).
    pub instance_prefix: Option<String>,
    /// Routing facts from a routable token.
    pub routing: Option<Routing>,
    /// Claims of a JWT job token.
    pub job: Option<JobClaims>,
    /// An offline fact that decides the verdict.
    pub defect: Option<Defect>,
    /// Further facts worth telling, one sentence each.
    pub notes: Vec<String>,
}

impl Classification {
    /// The issuer of a JWT job token when it is another instance than `server` (`host[:port]`
    /// of `--url`): host names compared case-insensitively, ports and schemes ignored. Such a
    /// token is never sent. `None` when the issuer is this server, or not a plain host name.
    pub fn foreign_issuer(&self, server: &str) -> Option<&str> {
        let iss = self.job.as_ref()?.issuer.as_deref()?;
        let issuer = jwt::issuer_host(iss)?;
        let server = jwt::host_of(server)?;
        (issuer != server).then_some(iss)
    }

    fn new(kind: Kind, shape: Shape) -> Classification {
        Classification {
            kind,
            candidates: Vec::new(),
            shape,
            prefix: String::new(),
            instance_prefix: None,
            routing: None,
            job: None,
            defect: None,
            notes: Vec::new(),
        }
    }

    fn ambiguous(candidates: Vec<Kind>, shape: Shape) -> Classification {
        Classification {
            candidates,
            ..Classification::new(Kind::Unknown, shape)
        }
    }

    /// The kinds this token may be: the candidates when ambiguous, the access-token family for
    /// a `glpat-` token (its owner decides), else the kind alone.
    pub fn possible_kinds(&self) -> Vec<Kind> {
        if !self.candidates.is_empty() {
            self.candidates.clone()
        } else if self.kind == Kind::PersonalAccessToken {
            vec![
                Kind::PersonalAccessToken,
                Kind::ProjectAccessToken,
                Kind::GroupAccessToken,
            ]
        } else {
            vec![self.kind]
        }
    }
}

/// The type prefixes, longest first where one is a prefix of another (`glrtr-` before `glrt-`).
const PREFIXES: &[(&str, Kind)] = &[
    ("glrtr-", Kind::RunnerAuthenticationToken),
    ("glrt-", Kind::RunnerAuthenticationToken),
    ("glpat-", Kind::PersonalAccessToken),
    ("gloas-", Kind::OauthApplicationSecret),
    ("gldt-", Kind::DeployToken),
    ("glcbt-", Kind::JobToken),
    ("glptt-", Kind::TriggerToken),
    ("glft-", Kind::FeedToken),
    ("glimt-", Kind::IncomingEmailToken),
    ("glagent-", Kind::AgentToken),
    ("glsoat-", Kind::ScimToken),
    ("glffct-", Kind::FeatureFlagsClientToken),
    ("glwt-", Kind::WorkspaceToken),
    ("GR1348941", Kind::RunnerRegistrationToken),
];

/// The kinds a bare 20-character `Devise.friendly_token` can be (reference, section 1.4).
const FRIENDLY_CANDIDATES: [Kind; 5] = [
    Kind::PersonalAccessToken,
    Kind::DeployToken,
    Kind::FeedToken,
    Kind::RunnerAuthenticationToken,
    Kind::JobToken,
];

/// The classification of a text at the epoch, without a custom prefix: for unit tests.
#[cfg(test)]
pub(crate) fn classify_text(text: &str) -> Classification {
    classify(&Token::new(text), &Context::default())
}

/// Reads a token's text.
pub fn classify(token: &Token, ctx: &Context<'_>) -> Classification {
    let text = token.expose();
    if text.is_empty() {
        return Classification {
            defect: Some(Defect::Missing),
            ..Classification::new(Kind::None, Shape::Empty)
        };
    }
    if let Some(mistake) = lint::check(text) {
        let mut c = Classification::new(Kind::Unknown, Shape::Mistake);
        if mistake == Mistake::Quoted {
            let inner = classify(&Token::new(lint::unquoted(text)), ctx);
            if inner.defect.is_none() && inner.kind != Kind::Unknown {
                c.kind = inner.kind;
                c.prefix = inner.prefix;
            }
        }
        c.defect = Some(Defect::Malformed(mistake));
        return c;
    }
    if let Some((instance, jwt)) = split_jwt_job_token(text) {
        return classify_jwt(instance, jwt, ctx);
    }
    let (instance_prefix, typed) = split_instance_prefix(text);
    match routable::decode(text) {
        routable::Outcome::Routable(r) => return classify_routable(r, ctx),
        routable::Outcome::Corrupted(why) => {
            let (kind, prefix) = match known_prefix(typed) {
                Some((p, kind)) => (kind, format!("{}{p}", instance_part(instance_prefix))),
                None => (Kind::Unknown, String::new()),
            };
            return Classification {
                prefix,
                defect: Some(Defect::Corrupted(why)),
                ..Classification::new(kind, Shape::Routable(routable::Version::V1))
            };
        }
        routable::Outcome::NotRoutable => {}
    }
    if let Some(custom) = ctx.pat_prefix.filter(|p| !p.is_empty())
        && let Some(body) = text.strip_prefix(custom)
    {
        let mut c = prefixed(Kind::PersonalAccessToken, custom, None);
        c.notes.push(format!(
            "Starts with the custom personal access token prefix `{custom}` you named."
        ));
        check_body_length(&mut c, body, 20, "20 characters");
        return c;
    }
    if let Some((prefix, kind)) = known_prefix(typed) {
        let body = &typed[prefix.len()..];
        // No GitLab token has an empty body, or one outside the characters tokens are made of:
        // GitLab refuses it whatever it is, so the text alone says so (offline as online).
        let token_chars = |b: u8| b.is_ascii_alphanumeric() || b"-_.".contains(&b);
        if body.is_empty() || !body.bytes().all(token_chars) {
            let mut c = prefixed(kind, prefix, instance_prefix);
            c.defect = Some(Defect::Malformed(Mistake::NotTokenText {
                empty: body.is_empty(),
            }));
            return c;
        }
        return classify_prefixed(kind, prefix, instance_prefix, body);
    }
    classify_unprefixed(text)
}

fn instance_part(instance: Option<&str>) -> String {
    instance.map(|i| format!("{i}-")).unwrap_or_default()
}

/// Splits `acme-glpat-…` into (`acme`, `glpat-…`): the instance prefix is anything before the
/// last known type prefix that follows a hyphen (reference, section 1.2).
fn split_instance_prefix(text: &str) -> (Option<&str>, &str) {
    let mut starts = text
        .match_indices('-')
        .map(|(i, _)| i + 1)
        .filter(|&i| known_prefix(&text[i..]).is_some());
    match starts.next_back() {
        Some(i)
            if i >= 2
                && text[..i - 1]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            (Some(&text[..i - 1]), &text[i..])
        }
        _ => (None, text),
    }
}

/// `glcbt-<JWT>`, with an optional instance prefix in front (GitLab joins the two with a
/// hyphen in `prepend_instance_prefix`; accept them joined directly too).
fn split_jwt_job_token(text: &str) -> Option<(Option<&str>, &str)> {
    let at = text.find("glcbt-eyJ")?;
    let jwt = &text[at + "glcbt-".len()..];
    if !jwt::looks_like_jwt(jwt) {
        return None;
    }
    let instance = text[..at].trim_end_matches('-');
    let plausible = text[..at]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    match (at, plausible) {
        (0, _) => Some((None, jwt)),
        (_, true) if !instance.is_empty() => Some((Some(instance), jwt)),
        _ => None,
    }
}

fn known_prefix(text: &str) -> Option<(&'static str, Kind)> {
    PREFIXES
        .iter()
        .find(|(p, _)| text.starts_with(p))
        .map(|&(p, k)| (p, k))
}

fn prefixed(kind: Kind, prefix: &str, instance: Option<&str>) -> Classification {
    let mut c = Classification::new(kind, Shape::Prefixed);
    c.prefix = format!("{}{prefix}", instance_part(instance));
    if let Some(i) = instance {
        c.instance_prefix = Some(i.to_owned());
        c.notes.push(format!(
            "Carries the instance token prefix `{i}-` (GitLab 17.10+, \
             flag custom_prefix_for_all_token_types)."
        ));
    }
    c
}

fn classify_jwt(instance: Option<&str>, jwt: &str, ctx: &Context<'_>) -> Classification {
    let mut c = prefixed(Kind::JobToken, "glcbt-", instance);
    c.shape = Shape::Jwt;
    match jwt::decode(jwt) {
        Ok(claims) => {
            if let Some(exp) = claims.expires_at.filter(|&exp| exp <= ctx.now) {
                c.defect = Some(Defect::ExpiredJwt { expired_at: exp });
            }
            c.job = Some(claims);
        }
        Err(jwt::JwtError::Undecodable) => c.defect = Some(Defect::BrokenJwt),
        Err(jwt::JwtError::NotAJobToken) => c.notes.push(
            "The JWT after `glcbt-` is not a GitLab job token (no `gid://gitlab/Ci::Build/` \
             subject or another audience)."
                .to_owned(),
        ),
    }
    c
}

fn classify_routable(r: routable::Routable, ctx: &Context<'_>) -> Classification {
    let (instance, typed) = split_instance_prefix(&r.prefix);
    let kind = match known_prefix(typed) {
        Some((p, kind)) if p.len() == typed.len() => Some(kind),
        // Runners created in the UI since 2024 carry their type too: `glrt-t3_`.
        Some((p, kind @ Kind::RunnerAuthenticationToken))
            if runner_type_prefix(&typed[p.len()..]).is_some_and(|(_, rest)| rest.is_empty()) =>
        {
            Some(kind)
        }
        _ => None,
    };
    let custom = ctx.pat_prefix.is_some_and(|p| p == r.prefix);
    let mut c = match kind {
        Some(kind) => prefixed(kind, typed, instance),
        None if !custom && !is_plausible_custom_prefix(&r.prefix) => {
            // A valid checksum behind a prefix no administrator could set: report nothing of
            // the text, which may be all secret.
            let mut c = Classification::new(Kind::Unknown, Shape::Routable(r.version));
            c.notes.push(
                "It has a routable token's structure and checksum, behind a prefix GitLab does \
                 not use."
                    .to_owned(),
            );
            return c;
        }
        None => {
            let mut c = prefixed(Kind::PersonalAccessToken, &r.prefix, None);
            if !custom {
                c.notes.push(format!(
                    "The prefix `{}` is not one of GitLab's; only personal, project and group \
                     access tokens take a custom prefix, so it is read as one.",
                    r.prefix
                ));
            }
            c
        }
    };
    c.shape = Shape::Routable(r.version);
    if c.kind == Kind::RunnerAuthenticationToken {
        let scope = match (r.routing.group_id, r.routing.project_id) {
            (Some(_), _) => "a group runner",
            (_, Some(_)) => "a project runner",
            _ => "a runner",
        };
        c.notes.push(format!("The routing payload names {scope}."));
    }
    c.routing = Some(r.routing);
    c
}

fn classify_prefixed(
    kind: Kind,
    prefix: &str,
    instance: Option<&str>,
    body: &str,
) -> Classification {
    let mut c = prefixed(kind, prefix, instance);
    match kind {
        Kind::JobToken => {
            if let Some((partition, rest)) = partition_prefix(body) {
                c.notes.push(format!(
                    "Database-form job token of partition {partition} (before JWT job tokens)."
                ));
                check_body_length(&mut c, rest, 20, "20 characters after the partition");
            } else {
                check_body_length(&mut c, body, 20, "20 characters");
            }
        }
        Kind::RunnerAuthenticationToken => {
            if let Some((kind_name, rest)) = runner_type_prefix(body) {
                c.notes.push(format!("Created for {kind_name}."));
                check_body_length(&mut c, rest, 20, "20 characters after the runner type");
            } else if !(is_hex(body, 30) || body.len() == 20) {
                check_body_length(&mut c, body, 20, "20 characters");
            }
        }
        Kind::FeedToken => {
            if let Some(user_id) = path_dependent_feed_user(body) {
                c.routing = Some(Routing {
                    user_id: Some(user_id),
                    ..Routing::default()
                });
                c.notes.push(
                    "A path-dependent feed token: it is only valid for the one feed URL it was \
                     generated for."
                        .to_owned(),
                );
            } else {
                check_body_length(&mut c, body, 20, "20 characters");
            }
        }
        Kind::OauthApplicationSecret => check_body_length(&mut c, body, 64, "64 hex characters"),
        Kind::TriggerToken => check_body_length(&mut c, body, 40, "40 hex characters"),
        Kind::AgentToken => check_body_length(&mut c, body, 50, "50 characters"),
        Kind::IncomingEmailToken => {
            if body.len() > 25 {
                check_body_length(&mut c, body, 25, "at most 25 characters");
            }
        }
        Kind::WorkspaceToken => c
            .notes
            .push("Workspace tokens are routable; this one has no routable payload.".to_owned()),
        _ => check_body_length(&mut c, body, 20, "20 characters"),
    }
    c
}

/// A body of unexpected length is worth a note but proves nothing: GitLab changes lengths, and
/// a false "malformed" would be worse than a request.
fn check_body_length(c: &mut Classification, body: &str, expected: usize, shape: &str) {
    if body.len() != expected {
        c.notes.push(format!(
            "After its prefix GitLab issues {shape}; this token has {}: check that it was \
             copied whole.",
            body.len()
        ));
    }
}

fn classify_unprefixed(text: &str) -> Classification {
    if is_hex(text, 64) {
        let mut c = Classification::ambiguous(
            vec![Kind::OauthAccessToken, Kind::OauthApplicationSecret],
            Shape::Legacy,
        );
        c.notes.push(
            "64 lowercase hex characters: an OAuth access token, or an OAuth application \
             secret from before the `gloas-` prefix."
                .to_owned(),
        );
        return c;
    }
    if let Some((partition, rest)) = partition_prefix(text)
        && is_friendly(rest)
    {
        let mut c = Classification::new(Kind::JobToken, Shape::Legacy);
        c.notes.push(format!(
            "Unprefixed job token of partition {partition} (GitLab 16.x, before `glcbt-`)."
        ));
        return c;
    }
    if let Some((kind_name, rest)) = runner_type_prefix(text)
        && is_friendly(rest)
    {
        let mut c = Classification::new(Kind::RunnerAuthenticationToken, Shape::Legacy);
        c.notes.push(format!(
            "Unprefixed runner token for {kind_name} (registered with a registration token)."
        ));
        return c;
    }
    if is_hex(text, 30) {
        let mut c = Classification::ambiguous(
            vec![Kind::TriggerToken, Kind::RunnerAuthenticationToken],
            Shape::Legacy,
        );
        c.notes.push(
            "30 lowercase hex characters: an old pipeline trigger token or a very old runner \
             token."
                .to_owned(),
        );
        return c;
    }
    if is_friendly(text) {
        let mut c = Classification::ambiguous(FRIENDLY_CANDIDATES.to_vec(), Shape::Legacy);
        c.notes.push(
            "20 characters without a prefix: an older personal access, deploy, feed, runner or \
             job token; only GitLab can tell which."
                .to_owned(),
        );
        return c;
    }
    if let Some(split) = text.len().checked_sub(20)
        && is_friendly(&text[split..])
        && text[..split].ends_with(['-', '_'])
        && is_plausible_custom_prefix(&text[..split])
    {
        let prefix = &text[..split];
        let mut c = Classification::new(Kind::PersonalAccessToken, Shape::Prefixed);
        c.prefix = prefix.to_owned();
        c.notes.push(format!(
            "`{prefix}` is not one of GitLab's prefixes; an administrator can set a custom prefix \
             for personal access tokens, so it is read as one (name it with --pat-prefix)."
        ));
        return c;
    }
    let mut c = Classification::new(Kind::Unknown, Shape::Unrecognised);
    if jwt::looks_like_jwt(text) {
        c.notes.push(
            "This is a JWT but not a GitLab API token: perhaps an ID token (`id_tokens:`) meant \
             for a third party such as Vault or a cloud provider."
                .to_owned(),
        );
    } else if text.starts_with("_gitlab_session=") {
        c.notes
            .push("This is a GitLab session cookie, not an API token.".to_owned());
    }
    c
}

/// A custom personal access token prefix an administrator could have set: short (GitLab allows
/// 20 characters) and of URL-safe characters. Anything longer would be secret text.
fn is_plausible_custom_prefix(prefix: &str) -> bool {
    (1..=20).contains(&prefix.len())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `Devise.friendly_token`: 20 URL-safe base64 characters without `l`, `I`, `O` or `0`.
fn is_friendly(s: &str) -> bool {
    s.len() == 20
        && s.bytes()
            .all(|b| (b.is_ascii_alphanumeric() || b == b'_' || b == b'-') && !b"lIO0".contains(&b))
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `<partition id in hex>_`: job tokens since build partitioning (`64_` is partition 100).
fn partition_prefix(body: &str) -> Option<(u64, &str)> {
    let (hex, rest) = body.split_once('_')?;
    if hex.is_empty() || hex.len() > 5 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((u64::from_str_radix(hex, 16).ok()?, rest))
}

/// `t1_`, `t2_`, `t3_`: instance, group and project runners.
fn runner_type_prefix(body: &str) -> Option<(&'static str, &str)> {
    let rest = body.get(3..)?;
    let name = match body.get(..3)? {
        "t1_" => "an instance runner",
        "t2_" => "a group runner",
        "t3_" => "a project runner",
        _ => return None,
    };
    Some((name, rest))
}

/// `glft-<64 hex>-<user id>`: a feed token bound to one feed path.
fn path_dependent_feed_user(body: &str) -> Option<u64> {
    let (hmac, user) = body.split_once('-')?;
    (is_hex(hmac, 64) && !user.is_empty() && user.bytes().all(|b| b.is_ascii_digit()))
        .then(|| user.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests;
