//! Keeping secrets out of every text glprobe prints or writes: [`Scrubber`] replaces every
//! spelling of a secret with `[REDACTED]`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::token::Token;

/// Replaces every spelling of a secret (as is, base64, percent-encoded) with `[REDACTED]`.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    spellings: Vec<String>,
}

impl Scrubber {
    /// Prepares the spellings of these secrets.
    pub fn new(secrets: &[&Token]) -> Scrubber {
        let mut spellings = Vec::new();
        for secret in secrets {
            let raw = secret.expose();
            if raw.len() < 8 {
                continue;
            }
            spellings.push(raw.to_owned());
            for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
                spellings.push(engine.encode(raw));
            }
            spellings.push(percent_encode(raw));
        }
        spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
        spellings.dedup();
        Scrubber { spellings }
    }

    /// A JSON document with every string (keys included) scrubbed.
    pub fn scrub_json(&self, value: Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.scrub(&s)),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(|v| self.scrub_json(v)).collect())
            }
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| (self.scrub(&k), self.scrub_json(v)))
                    .collect(),
            ),
            other => other,
        }
    }

    /// The text with every spelling of every secret replaced.
    pub fn scrub(&self, text: &str) -> String {
        self.spellings.iter().fold(text.to_owned(), |acc, s| {
            acc.replace(s.as_str(), "[REDACTED]")
        })
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrubber_removes_every_spelling() {
        let token = Token::new("glpat-Secret/Value+With=Chars");
        let scrubber = Scrubber::new(&[&token]);
        let b64 = STANDARD.encode(token.expose());
        let text = format!(
            "a {} b {} c {}",
            token.expose(),
            b64,
            percent_encode(token.expose())
        );
        let clean = scrubber.scrub(&text);
        assert_eq!(clean, "a [REDACTED] b [REDACTED] c [REDACTED]");
    }

    #[test]
    fn percent_encoding_keeps_unreserved_characters() {
        assert_eq!(percent_encode("group/sub project"), "group%2Fsub%20project");
        assert_eq!(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
    }
}
