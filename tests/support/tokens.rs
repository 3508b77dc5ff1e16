//! Tokens for the tests, made the way GitLab makes them (routable tokens with correct CRCs,
//! JWT job tokens with chosen claims), and recognisable so a leak check can find them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use glprobe::classify::jwt::encode_unsigned;
use glprobe::classify::routable::{Version, encode};
use serde_json::json;

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Sixteen bytes as random as GitLab's, from a counter through splitmix64: two tokens share no
/// long run of characters (the scrubber removes any 12-character piece of a secret, so tokens
/// with long runs in common would scrub each other).
fn random16() -> [u8; 16] {
    static COUNTER: AtomicU64 = AtomicU64::new(0x5eed);
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let n = COUNTER.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::SeqCst);
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&mix(n).to_le_bytes());
    out[8..].copy_from_slice(&mix(n ^ 0xdead_beef_cafe).to_le_bytes());
    out
}

/// A routable personal access token of user `user`.
pub fn pat(user: u64) -> String {
    encode("glpat-", Version::V1, &random16(), &[("o", 1), ("u", user)])
}

/// A routable token with another prefix and payload.
pub fn routable(prefix: &str, pairs: &[(&str, u64)]) -> String {
    encode(prefix, Version::V1, &random16(), pairs)
}

/// A JWT job token of job `job` in project `project`, expiring `exp_in` seconds from now.
pub fn job_jwt(job: u64, project: u64, exp_in: i64, issuer: &str) -> String {
    let exp = now() + exp_in;
    let claims = json!({
        "sub": format!("gid://gitlab/Ci::Build/{job}"), "iss": issuer,
        "aud": "gitlab-authz-token", "version": "0.1.0", "exp": exp, "iat": exp - 3900,
        "nbf": exp - 3905, "jti": "8c2d62ee-4f2a-4b8f-a0c4-0e7d3c1d2b11",
        "o": "1", "u": glprobe::classify::routable::to_base36(4242),
        "p": glprobe::classify::routable::to_base36(project)
    });
    format!("glcbt-{}", encode_unsigned(&claims))
}

/// A 20-character body in Devise.friendly_token's alphabet.
pub const F20: &str = "xKq7Tz9VbNw3RmPa2sYe";
