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
        let mut all_windows = HashSet::new();
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
            // Every byte escaped (`%67%6C…`), as a hostile server may send unreserved ones too;
            // windows start on a `%`, as every piece of it does.
            let all = percent_encode_all(part);
            for case in [all.clone(), all.to_ascii_lowercase()] {
                for start in (0..case.len()).step_by(3) {
                    if let Some(window) = case.as_bytes().get(start..start + 3 * MIN_PIECE) {
                        all_windows.insert(window.to_ascii_lowercase());
                    }
                }
            }
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
        let windows = [
            (MIN_PIECE, raw_windows),
            (16, b64_windows),
            (3 * MIN_PIECE, all_windows),
        ]
        .into_iter()
        .filter(|(_, set)| !set.is_empty())
        .collect();
        Scrubber { spellings, windows }
    }

    /// A rendered JSON document, scrubbed string by string, so that it stays JSON (scrubbing
    /// the text itself could cut an escape such as `\b` in two). Written back as the JSON
    /// renderer writes it.
    /// A document that needs no scrubbing (every report, but for a hostile server's) is kept as
    /// it is, field order included.
    pub fn scrub_json_text(&self, text: &str) -> String {
        if self.scrub(text) == text {
            return text.to_owned();
        }
        match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                let pretty = serde_json::to_string_pretty(&self.scrub_json(value))
                    .unwrap_or_else(|_| self.scrub(text));
                format!("{}\n", crate::report::json::json_escape_unsafe(&pretty))
            }
            Err(_) => self.scrub(text),
        }
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

    /// The text with every spelling of every secret, and every piece of one, replaced. Invisible
    /// characters go first: put between a token's characters, they would hide it.
    pub fn scrub(&self, text: &str) -> String {
        if self.spellings.is_empty() {
            // Nothing to hide: the text stays exactly as it came (the audit judges it).
            return text.to_owned();
        }
        let visible: String = text.chars().filter(|&c| !is_invisible(c)).collect();
        let whole = self
            .spellings
            .iter()
            .fold(visible, |acc, s| acc.replace(s.as_str(), REDACTED));
        self.scrub_pieces(&whole)
    }

    /// Replaces every run of the text covered by a window of a secret part.
    fn scrub_pieces(&self, text: &str) -> String {
        // ASCII lowercasing keeps every byte where it is: the offsets found hold in `text`.
        let lower = text.to_ascii_lowercase();
        let bytes = lower.as_bytes();
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
/// `user:token` pair, the value's; all of it when it has none. Of a routable token, only the
/// random part: the routing payload after it (`o:1`, `u:42`, …) is the same in every token of a
/// user or an organization, and removing its pieces would mangle other tokens in a report.
pub fn secret_part(token: &Token) -> &str {
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
    let class = crate::classify::classify(&Token::new(value), &crate::classify::Context::default());
    let part = value
        .strip_prefix(class.prefix.as_str())
        .filter(|rest| !rest.is_empty())
        .unwrap_or(value);
    match class.shape {
        crate::classify::Shape::Routable(_) => part.get(..ROUTABLE_RANDOM_CHARS).unwrap_or(part),
        _ => part,
    }
}

/// The base64 characters that carry a routable token's 16 random bytes.
const ROUTABLE_RANDOM_CHARS: usize = 21;

/// Windows are kept in ASCII lowercase and matched against the lowercased text: an echo in
/// another case (`GLPAT-…`, `%2f` for `%2F`) is the secret all the same.
fn add_windows(set: &mut HashSet<Vec<u8>>, text: &[u8], len: usize) {
    for window in text.windows(len) {
        set.insert(window.to_ascii_lowercase());
    }
}

/// Characters that must never reach a terminal or a log raw: control characters (C0, DEL, C1:
/// ESC, CR, BEL, NUL, CSI…) and the bidirectional formatting characters that reorder what a
/// reader sees.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// Characters that print as nothing, or reorder or break lines: Unicode's format characters
/// (Cf: soft hyphen, zero-width spaces and joiners, bidirectional marks and overrides, the byte
/// order mark, tags), the line and paragraph separators, and the Hangul fillers. Interleaved
/// with a token's characters they would hide it from the scrubber and show it to a reader.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{115F}' | '\u{1160}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}'
        | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0001}'
        | '\u{E0020}'..='\u{E007F}')
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

/// Percent-encodes every byte, unreserved ones included.
fn percent_encode_all(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
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
        // Of a routable token, the random part is the secret; its routing payload is not.
        let random = secret_part(&token);
        assert_eq!(random, &body[..ROUTABLE_RANDOM_CHARS]);
        for text in echoes {
            let clean = scrubber.scrub(&text);
            assert!(clean.contains("[REDACTED]"), "{text} -> {clean}");
            for window in random.as_bytes().windows(MIN_PIECE) {
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

/// Regressions from the attack pass on the field-review fixes.
#[cfg(test)]
mod attacks {
    use super::*;

    #[test]
    fn scrubbing_rendered_json_keeps_it_valid_json() {
        let token = Token::new("glpat-xKq7Tz9VbNw3RmPa2sYe");
        let scrubber = Scrubber::new(&[&token]);
        // The server sent "\u0008Nw3RmPa2sYe": 11 characters of the body after a backspace.
        for text in [
            "\u{8}Nw3RmPa2sYe",
            "\nNw3RmPa2sYe",
            "a xKq7Tz9VbNw3RmPa2sYe",
        ] {
            let doc = serde_json::json!({ "summary": text }).to_string();
            let clean = scrubber.scrub_json_text(&doc);
            assert!(serde_json::from_str::<Value>(&clean).is_ok(), "{clean}");
            assert!(!clean.contains("Nw3RmPa2sYe") || text.len() < 14, "{clean}");
        }
    }

    #[test]
    fn fully_percent_encoded_tokens_are_scrubbed() {
        let token = Token::new("glpat-xKq7Tz9VbNw3RmPa2sYe");
        let scrubber = Scrubber::new(&[&token]);
        let all: String = token
            .expose()
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        for text in [all.clone(), all.to_ascii_lowercase(), all[21..].to_owned()] {
            let clean = scrubber.scrub(&text);
            assert!(!clean.to_ascii_uppercase().contains("%4E%77%33"), "{clean}");
        }
    }

    #[test]
    fn invisible_and_separator_characters_are_escaped_and_cannot_hide_a_token() {
        for c in [
            '\u{061C}',
            '\u{2028}',
            '\u{2029}',
            '\u{200B}',
            '\u{FEFF}',
            '\u{E0041}',
            '\u{AD}',
        ] {
            assert!(is_unsafe_char(c), "U+{:04X}", u32::from(c));
        }
        let token = Token::new("glpat-xKq7Tz9VbNw3RmPa2sYe");
        let scrubber = Scrubber::new(&[&token]);
        let hidden: String = "xKq7Tz9VbNw3RmPa2sYe"
            .chars()
            .flat_map(|c| [c, '\u{200B}'])
            .collect();
        assert_eq!(scrubber.scrub(&hidden), "[REDACTED]");
    }

    #[test]
    fn an_echo_in_another_case_is_the_secret_all_the_same() {
        let token = Token::new("glpat-xKq7Tz9VbNw3RmPa2sYe");
        let scrubber = Scrubber::new(&[&token]);
        assert_eq!(scrubber.scrub("XKQ7TZ9VBNW3RMPA2SYE"), "[REDACTED]");
        assert_eq!(scrubber.scrub("xkq7tz9vbnw3"), "[REDACTED]");
        assert_eq!(scrubber.scrub("a normal sentence"), "a normal sentence");
    }

    #[test]
    fn a_reset_of_i64_min_does_not_panic() {
        let limit = crate::probe::http::RateLimit {
            reset: Some(i64::MIN),
            ..Default::default()
        };
        assert_eq!(
            limit.wait(1_796_000_000),
            Some(std::time::Duration::from_secs(0))
        );
    }
}
