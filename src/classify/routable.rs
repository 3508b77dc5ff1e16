//! Routable tokens: `<prefix><payload>.01.<LL><CRC>` (v1) and `<prefix><payload>.<LL><CRC>` (v0).
//!
//! The payload is URL-safe base64 without padding. In v1 it holds 16 random bytes, the routing
//! text (`k:v` pairs, sorted, joined by `\n`, values in base36) and one byte with the routing
//! text's length; v0 puts the routing text first and ends with the count of random bytes (16).
//! `LL` is the payload length in base36 (2 characters), and the 7-character CRC is the base36
//! CRC-32 of everything before it, prefix included. GitLab source:
//! `lib/authn/token_field/generator/routable_token.rb` and `decoders/v1/routable_payload.rb`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const RANDOM_BYTES: usize = 16;
const CRC_LEN: usize = 7;
const LENGTH_LEN: usize = 2;
/// The shortest payload GitLab can produce: 16 random bytes, `o:1` and a length byte.
const MIN_PAYLOAD_LEN: usize = 27;
const MAX_PAYLOAD_LEN: usize = 300;

/// Which layout of routable token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Unversioned (behind default-off flags, 2024).
    V0,
    /// Version 1, with the `.01.` field.
    V1,
}

/// The routing facts a routable token carries in clear. GitLab writes them in base36.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Routing {
    /// `o`: organization id.
    pub organization_id: Option<u64>,
    /// `u`: user id (the owner, or the runner's creator).
    pub user_id: Option<u64>,
    /// `g`: group id (group runners).
    pub group_id: Option<u64>,
    /// `p`: project id (project runners, agents).
    pub project_id: Option<u64>,
    /// `c`: cell id.
    pub cell_id: Option<u64>,
}

/// A decoded routable token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routable {
    /// The layout.
    pub version: Version,
    /// The exact prefix before the payload, recovered from the length field
    /// (for example `glpat-` or `acme-glpat-`).
    pub prefix: String,
    /// The routing facts.
    pub routing: Routing,
}

/// What the routable check concluded about a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The text does not have the routable shape at all.
    NotRoutable,
    /// It has the shape, but the checksum or the structure is wrong: truncated or altered.
    Corrupted(String),
    /// A well-formed routable token.
    Routable(Routable),
}

/// Checks and decodes a possibly routable token.
pub fn decode(text: &str) -> Outcome {
    let Some((head, tail)) = text.rsplit_once('.') else {
        return Outcome::NotRoutable;
    };
    let (version, prefixed_payload) = match head.rsplit_once('.') {
        Some((prefixed, "01")) => (Version::V1, prefixed),
        Some(_) => return Outcome::NotRoutable,
        None => (Version::V0, head),
    };
    if prefixed_payload.len() < MIN_PAYLOAD_LEN
        || !prefixed_payload
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Outcome::NotRoutable;
    }
    let tail_is_base36 = tail
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    if tail.len() != LENGTH_LEN + CRC_LEN || !tail_is_base36 {
        // A v1 marker with a broken tail is a truncated token; without the marker the dot may
        // mean anything, so make no claim.
        return match version {
            Version::V1 => Outcome::Corrupted({
                let (have, want) = (tail.chars().count(), LENGTH_LEN + CRC_LEN);
                if have == want {
                    format!(
                        "the {want} characters after its `.01.` field are not lowercase base36: \
                         the token was altered (its case changed?)"
                    )
                } else {
                    let what = if have < want {
                        "the end of the token is missing or altered"
                    } else {
                        "something was added at the end, or the token was altered"
                    };
                    let count = if have < want { "only " } else { "" };
                    format!(
                        "{count}{have} characters follow its `.01.` field instead of {want}: {what}"
                    )
                }
            }),
            Version::V0 => Outcome::NotRoutable,
        };
    }

    let (body, crc) = text.split_at(text.len() - CRC_LEN);
    if crc != crc_base36(body) {
        return Outcome::Corrupted(
            "its CRC-32 checksum does not match: characters were lost, added or changed \
             (a truncated or altered paste)"
                .to_owned(),
        );
    }

    let payload_len = match parse_base36(&tail[..LENGTH_LEN]) {
        Some(n) if (n as usize) >= MIN_PAYLOAD_LEN && (n as usize) <= MAX_PAYLOAD_LEN => n as usize,
        _ => return Outcome::Corrupted("its length field is out of range".to_owned()),
    };
    if payload_len > prefixed_payload.len() {
        return Outcome::Corrupted("its length field is longer than the token".to_owned());
    }
    let split = prefixed_payload.len() - payload_len;
    let (prefix, payload) = prefixed_payload.split_at(split);
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(payload) else {
        return Outcome::Corrupted("its payload is not valid base64".to_owned());
    };
    let routing_text = match version {
        Version::V1 => v1_routing_text(&bytes),
        Version::V0 => v0_routing_text(&bytes),
    };
    let Some(routing) = routing_text.and_then(parse_routing) else {
        return Outcome::Corrupted("its routing payload does not decode".to_owned());
    };
    Outcome::Routable(Routable {
        version,
        prefix: prefix.to_owned(),
        routing,
    })
}

/// v1: random bytes, routing text, one byte with the routing text's length.
fn v1_routing_text(bytes: &[u8]) -> Option<&[u8]> {
    let (&len, rest) = bytes.split_last()?;
    let routing = rest.get(RANDOM_BYTES..)?;
    (routing.len() == usize::from(len)).then_some(routing)
}

/// v0: routing text, random bytes, one byte with the count of random bytes.
fn v0_routing_text(bytes: &[u8]) -> Option<&[u8]> {
    let (&count, rest) = bytes.split_last()?;
    let count = usize::from(count);
    (count == RANDOM_BYTES && rest.len() > count).then(|| &rest[..rest.len() - count])
}

fn parse_routing(text: &[u8]) -> Option<Routing> {
    let text = std::str::from_utf8(text).ok()?;
    let mut routing = Routing::default();
    for pair in text.split('\n') {
        let (key, value) = pair.split_once(':')?;
        let slot = match key {
            "o" => &mut routing.organization_id,
            "u" => &mut routing.user_id,
            "g" => &mut routing.group_id,
            "p" => &mut routing.project_id,
            "c" => &mut routing.cell_id,
            // `t` and keys GitLab may add later carry nothing we report.
            _ => continue,
        };
        *slot = Some(parse_base36(value)?);
    }
    Some(routing)
}

/// The 7-character base36 CRC-32 GitLab appends.
pub fn crc_base36(body: &str) -> String {
    format!("{:0>7}", to_base36(u64::from(crc32(body.as_bytes()))))
}

/// zlib's CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), table-driven. A crate such as
/// crc32fast brings 16 KB of slice-by-16 tables to checksum one short string per run; this
/// table is 1 KB and built at compile time.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = i as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |crc, &b| {
        TABLE[usize::from((crc as u8) ^ b)] ^ (crc >> 8)
    })
}

/// Formats a number in lowercase base36, as Ruby's `Integer#to_s(36)`.
pub fn to_base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("base36 digits are ASCII")
}

/// Parses lowercase base36 (as Ruby's `String#to_i(36)` of a clean string).
pub fn parse_base36(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 12 {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, b| {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'z' => b - b'a' + 10,
            _ => return None,
        };
        Some(acc * 36 + u64::from(digit))
    })
}

/// Builds a routable token the way GitLab's generator does. glprobe itself never makes tokens:
/// the tests and the benchmark use this to generate tokens with correct checksums.
pub fn encode(prefix: &str, version: Version, random: &[u8; 16], pairs: &[(&str, u64)]) -> String {
    let mut pairs: Vec<(&str, u64)> = pairs.to_vec();
    pairs.sort_unstable();
    let routing: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}:{}", to_base36(*v)))
        .collect();
    let routing = routing.join("\n");
    let mut bytes = Vec::new();
    match version {
        Version::V1 => {
            bytes.extend_from_slice(random);
            bytes.extend_from_slice(routing.as_bytes());
            bytes.push(routing.len() as u8);
        }
        Version::V0 => {
            bytes.extend_from_slice(routing.as_bytes());
            bytes.extend_from_slice(random);
            bytes.push(16);
        }
    }
    let payload = URL_SAFE_NO_PAD.encode(bytes);
    let length = format!("{:0>2}", to_base36(payload.len() as u64));
    let body = match version {
        Version::V1 => format!("{prefix}{payload}.01.{length}"),
        Version::V0 => format!("{prefix}{payload}.{length}"),
    };
    let crc = crc_base36(&body);
    format!("{body}{crc}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEQ: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    /// The synthetic vectors of the reference note, computed independently of this code.
    #[test]
    fn reference_vectors_decode() {
        let cases = [
            (
                "glpat-AAECAwQFBgcICQoLDA0OD286MQp1OjlpeAk.01.0z089t292",
                "glpat-",
                Version::V1,
                None,
            ),
            (
                "glpat-AAECAwQFBgcICQoLDA0OD2M6MgpvOjEKdTo5aXgN.01.141oiaoqm",
                "glpat-",
                Version::V1,
                Some(2),
            ),
            (
                "acme-glpat-AAECAwQFBgcICQoLDA0OD286MQp1OjlpeAk.01.0z191yl3l",
                "acme-glpat-",
                Version::V1,
                None,
            ),
            (
                "glpat-bzoxCnU6OWl4AAECAwQFBgcICQoLDA0ODxA.0z0o1tntn",
                "glpat-",
                Version::V0,
                None,
            ),
        ];
        for (token, prefix, version, cell) in cases {
            let Outcome::Routable(r) = decode(token) else {
                panic!("{token} should decode, got {:?}", decode(token));
            };
            assert_eq!(r.prefix, prefix);
            assert_eq!(r.version, version);
            assert_eq!(r.routing.organization_id, Some(1));
            assert_eq!(r.routing.user_id, Some(12345));
            assert_eq!(r.routing.cell_id, cell);
        }
    }

    #[test]
    fn encoder_reproduces_the_reference_vectors() {
        assert_eq!(
            encode("glpat-", Version::V1, &SEQ, &[("o", 1), ("u", 12345)]),
            "glpat-AAECAwQFBgcICQoLDA0OD286MQp1OjlpeAk.01.0z089t292"
        );
        assert_eq!(
            encode("glpat-", Version::V0, &SEQ, &[("o", 1), ("u", 12345)]),
            "glpat-bzoxCnU6OWl4AAECAwQFBgcICQoLDA0ODxA.0z0o1tntn"
        );
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let token = encode("glpat-", Version::V1, &SEQ, &[("o", 1), ("u", 987_654)]);
        for (i, c) in token.char_indices() {
            let replacement = if c == 'A' { 'B' } else { 'A' };
            let mut altered = token.clone();
            altered.replace_range(i..i + 1, &replacement.to_string());
            assert!(
                !matches!(decode(&altered), Outcome::Routable(_)),
                "change at {i} went unnoticed: {altered}"
            );
        }
    }

    #[test]
    fn truncation_is_corruption() {
        let token = encode("glrt-", Version::V1, &SEQ, &[("o", 1), ("p", 77), ("u", 5)]);
        for cut in 1..=9 {
            let truncated = &token[..token.len() - cut];
            assert!(
                matches!(decode(truncated), Outcome::Corrupted(_)),
                "cut {cut}: {:?}",
                decode(truncated)
            );
        }
    }

    #[test]
    fn crc32_matches_zlib() {
        // zlib.crc32 of these strings, as computed by Python's zlib module.
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn base36_round_trips() {
        for n in [0u64, 1, 35, 36, 12345, u64::from(u32::MAX), 1 << 40] {
            assert_eq!(parse_base36(&to_base36(n)), Some(n));
        }
        assert_eq!(to_base36(u64::from(u32::MAX)), "1z141z3");
        assert_eq!(parse_base36("9ix"), Some(12345));
        assert_eq!(parse_base36("A"), None);
        assert_eq!(parse_base36(""), None);
    }

    #[test]
    fn plain_text_is_not_routable() {
        assert_eq!(decode("glpat-abcdefghijkmnpqrstu"), Outcome::NotRoutable);
        assert_eq!(decode("a.b"), Outcome::NotRoutable);
        assert_eq!(decode("eyJhbGciOi.eyJzdWIi.sig"), Outcome::NotRoutable);
    }
}
