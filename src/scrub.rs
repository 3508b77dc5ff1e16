//! Keeping secrets out of every text glprobe prints or writes: [`Scrubber`] replaces every
//! spelling of a secret with `[REDACTED]`.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use std::collections::HashSet;

use serde_json::Value;

use crate::token::Token;

/// The shortest piece of a secret that counts as a leak: twelve characters of a token's random
/// part are 60 or more bits, far more than any coincidence in a report.
pub const MIN_PIECE: usize = 12;

/// Replaces every spelling of a secret with `[REDACTED]`: the whole secret as is, in base64
/// (four alphabets) and percent-encoded; and any piece of its secret part (the text after a
/// recognised prefix such as `glpat-`) of [`MIN_PIECE`] characters or more, in the same three
/// spellings. A hostile server that echoes `u<body>`, or half the token, gets nothing out.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    spellings: Vec<String>,
    /// Windows of the secret parts, by length: a text holding any of them holds a piece.
    windows: Vec<(usize, HashSet<Vec<u8>>)>,
}

impl Scrubber {
    /// Prepares the spellings of these secrets.
    pub fn new(secrets: &[&Token]) -> Scrubber {
        let mut spellings = Vec::new();
        let mut raw_windows = HashSet::new();
        let mut b64_windows = HashSet::new();
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
            let part = secret_part(secret).as_bytes();
            add_windows(&mut raw_windows, part, MIN_PIECE);
            let encoded = percent_encode(&String::from_utf8_lossy(part));
            add_windows(&mut raw_windows, encoded.as_bytes(), MIN_PIECE);
            add_windows(
                &mut raw_windows,
                encoded.to_ascii_lowercase().as_bytes(),
                MIN_PIECE,
            );
            // The base64 of any piece of 12 bytes or more holds 16 characters of the base64 of
            // the part read from one of its first three bytes (base64 works in 3-byte groups).
            for skip in 0..3.min(part.len()) {
                for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                    let text = engine.encode(&part[skip..]);
                    // The last group may hold bits of a byte past the piece: leave it out.
                    let whole = text.len() - text.len() % 4;
                    add_windows(&mut b64_windows, &text.as_bytes()[..whole], 16);
                }
            }
        }
        spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
        spellings.dedup();
        let windows = [(MIN_PIECE, raw_windows), (16, b64_windows)]
            .into_iter()
            .filter(|(_, set)| !set.is_empty())
            .collect();
        Scrubber { spellings, windows }
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

    /// The text with every spelling of every secret, and every piece of one, replaced.
    pub fn scrub(&self, text: &str) -> String {
        let whole = self
            .spellings
            .iter()
            .fold(text.to_owned(), |acc, s| acc.replace(s.as_str(), REDACTED));
        self.scrub_pieces(&whole)
    }

    /// Replaces every run of the text covered by a window of a secret part.
    fn scrub_pieces(&self, text: &str) -> String {
        let bytes = text.as_bytes();
        let mut covered: Vec<(usize, usize)> = Vec::new();
        for (len, set) in &self.windows {
            for start in 0..bytes.len().saturating_sub(len - 1) {
                if set.contains(&bytes[start..start + len]) {
                    covered.push((start, start + len));
                }
            }
        }
        if covered.is_empty() {
            return text.to_owned();
        }
        covered.sort_unstable();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        let mut i = 0;
        while i < covered.len() {
            let (mut start, mut end) = covered[i];
            while i + 1 < covered.len() && covered[i + 1].0 <= end {
                end = end.max(covered[i + 1].1);
                i += 1;
            }
            // Whole characters only: widen to the enclosing UTF-8 boundaries.
            start = start.max(at);
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            while !text.is_char_boundary(end) {
                end += 1;
            }
            out.push_str(&text[at..start]);
            out.push_str(REDACTED);
            at = end;
            i += 1;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// What stands where a secret was.
const REDACTED: &str = "[REDACTED]";

/// The part of a token that is secret: the text after its recognised public prefix (and any
/// instance prefix); for a whole `NAME=value` line pasted as the token, or a basic-auth
/// `user:token` pair, the value's; all of it when it has none.
fn secret_part(token: &Token) -> &str {
    let mut value = token.expose();
    // `user:` of a basic-auth pair, then `export NAME=` of a pasted line, in either order.
    for _ in 0..3 {
        let line = value.strip_prefix("export ").unwrap_or(value);
        match line.split_once(['=', ':']) {
            Some((name, rest))
                if !rest.is_empty()
                    && !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_+-.@".contains(&b)) =>
            {
                value = rest;
            }
            _ => break,
        }
    }
    let prefix =
        crate::classify::classify(&Token::new(value), &crate::classify::Context::default()).prefix;
    value
        .strip_prefix(prefix.as_str())
        .filter(|rest| !rest.is_empty())
        .unwrap_or(value)
}

fn add_windows(set: &mut HashSet<Vec<u8>>, text: &[u8], len: usize) {
    for window in text.windows(len) {
        set.insert(window.to_vec());
    }
}

/// Characters that must never reach a terminal or a log raw: control characters (C0, DEL, C1:
/// ESC, CR, BEL, NUL, CSI…) and the bidirectional formatting characters that reorder what a
/// reader sees.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The text with every unsafe character written as a visible escape (`\n`, `\u{1b}`): a
/// user name holding a newline cannot forge a report line.
pub fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Decodes `%XX` escapes (invalid ones are kept as they are).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
    fn pieces_of_the_secret_part_are_removed_in_every_spelling() {
        let token = Token::new("glpat-AAECAwQFBgcICQoLDA0OD286MQp1OjlpeAk.01.0z089t292");
        let scrubber = Scrubber::new(&[&token]);
        let body = &token.expose()["glpat-".len()..];
        let piece = &body[5..19];
        let echoes = [
            format!("u{body}"),
            format!("name {piece} end"),
            format!("b64 {}", STANDARD.encode(&body[3..20])),
            format!("b64 {}", URL_SAFE_NO_PAD.encode(&body[7..30])),
            format!("pct {}", percent_encode(&body[2..16])),
        ];
        for text in echoes {
            let clean = scrubber.scrub(&text);
            assert!(clean.contains("[REDACTED]"), "{text} -> {clean}");
            for window in body.as_bytes().windows(MIN_PIECE) {
                assert!(
                    !clean.contains(std::str::from_utf8(window).unwrap()),
                    "{clean}"
                );
            }
        }
        // The public prefix alone, and short pieces, stay: they are not secret.
        assert_eq!(scrubber.scrub("glpat-…t292"), "glpat-…t292");
        assert_eq!(scrubber.scrub(&body[..11]), &body[..11]);
    }

    #[test]
    fn pieces_next_to_multibyte_characters_keep_the_text_valid() {
        let token = Token::new("glpat-xKq7Tz9VbNw3RmPa2sYe");
        let scrubber = Scrubber::new(&[&token]);
        let clean = scrubber.scrub("é xKq7Tz9VbNw3Rm é");
        assert_eq!(clean, "é [REDACTED] é");
    }

    #[test]
    fn control_characters_become_visible_escapes() {
        assert_eq!(escape_controls("plain"), "plain");
        assert_eq!(
            escape_controls("a\nTOKEN_VALID=true\r\u{1b}[2J\u{7}\u{0}\u{9b}\u{202e}"),
            "a\\nTOKEN_VALID=true\\r\\u{1b}[2J\\u{7}\\u{0}\\u{9b}\\u{202e}"
        );
    }

    #[test]
    fn percent_encoding_keeps_unreserved_characters() {
        assert_eq!(percent_encode("group/sub project"), "group%2Fsub%20project");
        assert_eq!(percent_encode("a-b_c.d~e"), "a-b_c.d~e");
    }
}
