//! JWT job tokens: `glcbt-` followed by an RS256 JWT (`lib/ci/job_token/jwt.rb`).
//!
//! The claims are read without verifying the signature: glprobe has no key, and needs none to
//! say which job the token names, which instance issued it and whether it has expired. GitLab
//! decides validity; the decoded claims only explain its answer.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

use super::routable::parse_base36;

const SUBJECT_PREFIX: &str = "gid://gitlab/Ci::Build/";
const AUDIENCE: &str = "gitlab-authz-token";
/// 9999-12-31T23:59:59Z: the last instant a calendar date of four digits can name.
const MAX_UNIX_SECONDS: i64 = 253_402_300_799;

/// The claims of a GitLab job token that glprobe reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobClaims {
    /// The job id, from `sub` (`gid://gitlab/Ci::Build/<id>`).
    pub job_id: Option<u64>,
    /// `iss`: the host of the instance that issued the token.
    pub issuer: Option<String>,
    /// `exp`, in seconds since the epoch.
    pub expires_at: Option<i64>,
    /// `iat`, in seconds since the epoch.
    pub issued_at: Option<i64>,
    /// `p`: the project the job belongs to.
    pub project_id: Option<u64>,
    /// `u`: the user the job runs as.
    pub user_id: Option<u64>,
    /// `o`: the organization.
    pub organization_id: Option<u64>,
    /// `g`: the group.
    pub group_id: Option<u64>,
}

/// Why a JWT-shaped text is not a GitLab job token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwtError {
    /// The header or payload is not base64url-encoded JSON.
    Undecodable,
    /// A valid JWT, but not a GitLab job token (no `Ci::Build` subject, another audience).
    NotAJobToken,
}

#[derive(Deserialize)]
struct RawClaims {
    sub: Option<String>,
    iss: Option<String>,
    aud: Option<Value>,
    exp: Option<Value>,
    iat: Option<Value>,
    p: Option<Value>,
    u: Option<Value>,
    o: Option<Value>,
    g: Option<Value>,
}

/// The host name in a JWT's `iss`: `gitlab.example.com`, or the host of
/// `https://gitlab.example.com:8443/root`, lowercased. `None` when it is not a plain host name
/// (then nothing can be compared).
///
/// Read as a browser reads a URL: `\\` ends the authority like `/`, and a user name before
/// `@` is no host (`https://gitlab.example.com@evil.example` is evil.example's).
pub fn issuer_host(iss: &str) -> Option<String> {
    let iss = iss.trim();
    let rest = match iss.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http") =>
        {
            rest
        }
        Some(_) => return None,
        None => iss.strip_prefix("//").unwrap_or(iss),
    };
    let authority = rest.split(['/', '\\', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    host_of(host)
}

/// The host of `host[:port]` or `[v6]:port`, lowercased; `None` unless it is a plain name.
pub fn host_of(authority: &str) -> Option<String> {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    // A trailing dot names the same host (`gitlab.example.com.`).
    let host = host.strip_suffix('.').unwrap_or(host);
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:".contains(&b));
    plain.then(|| host.to_ascii_lowercase())
}

/// True when the text has the three dot-separated parts of a JWT with a JSON header.
pub fn looks_like_jwt(text: &str) -> bool {
    text.starts_with("eyJ") && text.split('.').count() == 3
}

/// Decodes the claims of a JWT without verifying it.
pub fn decode(jwt: &str) -> Result<JobClaims, JwtError> {
    let mut parts = jwt.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Undecodable);
    };
    let header: Value = decode_part(header)?;
    if !header.is_object() {
        return Err(JwtError::Undecodable);
    }
    let raw: RawClaims =
        serde_json::from_value(decode_part(payload)?).map_err(|_| JwtError::Undecodable)?;

    let job_id = raw
        .sub
        .as_deref()
        .and_then(|s| s.strip_prefix(SUBJECT_PREFIX))
        .and_then(|id| id.parse().ok());
    let audience_ok = match &raw.aud {
        None => true,
        Some(Value::String(a)) => a == AUDIENCE,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(AUDIENCE)),
        Some(_) => false,
    };
    if job_id.is_none() || !audience_ok {
        return Err(JwtError::NotAJobToken);
    }
    Ok(JobClaims {
        job_id,
        issuer: raw.iss,
        // A date GitLab could write (1970 to 9999); anything else is no expiry to report.
        expires_at: raw
            .exp
            .as_ref()
            .and_then(Value::as_i64)
            .filter(|exp| (0..=MAX_UNIX_SECONDS).contains(exp)),
        issued_at: raw.iat.as_ref().and_then(Value::as_i64),
        project_id: raw.p.as_ref().and_then(routing_id),
        user_id: raw.u.as_ref().and_then(routing_id),
        organization_id: raw.o.as_ref().and_then(routing_id),
        group_id: raw.g.as_ref().and_then(routing_id),
    })
}

fn decode_part<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, JwtError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| JwtError::Undecodable)?;
    serde_json::from_slice(&bytes).map_err(|_| JwtError::Undecodable)
}

/// The payload of any JWT, decoded without verifying it (the registry's answer to
/// `/jwt/auth`, read only for its `access` claim).
pub fn payload(jwt: &str) -> Option<Value> {
    let mut parts = jwt.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    decode_part::<Value>(payload).ok().filter(Value::is_object)
}

/// Routing claims are ids written in base36 like the routable-token payload; accept a plain
/// JSON number too.
fn routing_id(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_base36(s),
        _ => None,
    }
}

/// Builds a JWT with these claims and a dummy signature, for the tests and the benchmark
/// (glprobe never verifies signatures, GitLab does).
pub fn encode_unsigned(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"test","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_a_gitlab_job_token() {
        let jwt = encode_unsigned(&json!({
            "sub": "gid://gitlab/Ci::Build/4242", "iss": "gitlab.example.com",
            "aud": "gitlab-authz-token", "exp": 1_900_000_000, "iat": 1_899_990_000,
            "version": "0.1.0", "o": "1", "u": "9ix", "p": "2s", "g": "a"
        }));
        assert!(looks_like_jwt(&jwt));
        let claims = decode(&jwt).unwrap();
        assert_eq!(claims.job_id, Some(4242));
        assert_eq!(claims.issuer.as_deref(), Some("gitlab.example.com"));
        assert_eq!(claims.expires_at, Some(1_900_000_000));
        assert_eq!(claims.user_id, Some(12345));
        assert_eq!(claims.project_id, Some(100));
        assert_eq!(claims.group_id, Some(10));
    }

    #[test]
    fn any_payload_decodes_without_a_key() {
        let token = encode_unsigned(&json!({"access": [{"name": "g/app", "actions": ["pull"]}]}));
        assert_eq!(payload(&token).unwrap()["access"][0]["actions"][0], "pull");
        assert_eq!(payload("eyJ.bm90IGpzb24.x"), None);
        assert_eq!(payload("a.b"), None);
        let array = format!("eyJ.{}.x", URL_SAFE_NO_PAD.encode("[1]"));
        assert_eq!(payload(&array), None, "a payload is an object");
    }

    #[test]
    fn other_jwts_are_not_job_tokens() {
        let id_token = encode_unsigned(&json!({
            "sub": "project_path:group/app:ref_type:branch:ref:main",
            "aud": "https://vault.example.com", "iss": "https://gitlab.example.com"
        }));
        assert_eq!(decode(&id_token), Err(JwtError::NotAJobToken));
        assert_eq!(decode("eyJ.eyJ.x"), Err(JwtError::Undecodable));
        assert_eq!(decode("eyJhbGciOiJ9"), Err(JwtError::Undecodable));
    }
}
