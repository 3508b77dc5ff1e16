//! Token-shaped text inside other text: a token pasted into `--project`, a path, a URL's host or
//! a query string. Flags refuse such values (their error never repeats them), and a text that
//! must be shown has every token-shaped run masked.
//!
//! Modern tokens are recognised by their prefix anywhere in the text (`glpat-` followed by at
//! least eight token characters), JWTs by their `eyJ…` header. The older unprefixed shapes
//! (20 friendly characters, 30 or 64 hex digits, a custom prefix before 20 characters) also fit
//! many ordinary names, so a word of those shapes only counts when it looks random: it mixes
//! upper- and lowercase letters with digits, or is 30 or more hex digits.

use super::{Context, PREFIXES, classify};
use crate::token::{Kind, Token};

/// The fewest token characters after a known prefix for the text to count as a token.
const MIN_BODY: usize = 8;

/// Whether any part of the text looks like a GitLab token.
pub fn is_token_shaped(text: &str) -> bool {
    !runs(text).is_empty()
}

/// The text with every token-shaped run replaced by its prefix and `…` (`glpat-…`).
pub fn mask_token_shaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end, keep) in runs(text) {
        out.push_str(&text[at..start]);
        out.push_str(&text[start..start + keep]);
        out.push('…');
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// The token-shaped runs: `(start, end, public prefix length)`, in order, not overlapping.
fn runs(text: &str) -> Vec<(usize, usize, usize)> {
    let mut found = Vec::new();
    let mut word_start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (is_token_char(c) && i < text.len(), word_start) {
            (true, None) => word_start = Some(i),
            (false, Some(start)) => {
                if let Some(run) = token_in_word(&text[start..i]) {
                    found.push((start + run.0, start + run.1, run.2));
                }
                word_start = None;
            }
            _ => {}
        }
    }
    found
}

/// A token inside one word of token characters: `(start, end, prefix length)`.
fn token_in_word(word: &str) -> Option<(usize, usize, usize)> {
    for (prefix, _) in PREFIXES {
        if let Some(at) = word.find(prefix) {
            let body = &word[at + prefix.len()..];
            if body.len() >= MIN_BODY {
                return Some((at, word.len(), prefix.len()));
            }
        }
    }
    if let Some(at) = word.find("eyJ")
        && word[at..].len() >= 24
        && word[at..].contains('.')
    {
        return Some((at, word.len(), 0));
    }
    // Words trimmed of the separators that paths and URLs put around names.
    let core = word.trim_matches(['.', '-', '_']);
    if core.len() < 20 {
        return None;
    }
    let offset = word.find(core).unwrap_or(0);
    let class = classify(&Token::new(core), &Context::default());
    let recognised = class.kind != Kind::Unknown || !class.candidates.is_empty();
    let hex = core.len() >= 30 && core.bytes().all(|b| b.is_ascii_hexdigit());
    (recognised && (looks_random(core) || hex)).then_some((offset, offset + core.len(), 0))
}

/// Mixed case and digits: what random token text has and names and paths rarely do.
fn looks_random(text: &str) -> bool {
    text.bytes().any(|b| b.is_ascii_uppercase())
        && text.bytes().any(|b| b.is_ascii_lowercase())
        && text.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_anywhere_are_found() {
        for text in [
            "glpat-AAECAwQFBgcICQoLDA0OD286MQp1OjlpeAk.01.0z089t292",
            "group/glpat-abcdefgh1234",
            "/tmp/my-gldt-abcdefghijkl.txt",
            "https://acme-glpat-xyzxyzxyzxyz.example.com",
            "eyJhbGciOiJSUzI1NiJ9.eyJqdGkiOiJ4In0.sig",
            "a9Fk3LmQ7xZp2RtYw8Vb",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "project 5f3e2d1c0b9a8f7e6d5c4b3a2f1e0d",
        ] {
            assert!(is_token_shaped(text), "{text}");
        }
    }

    #[test]
    fn ordinary_names_and_paths_are_not_tokens() {
        for text in [
            "",
            "12345",
            "acme/app",
            "gitlab-org/gitlab-runner",
            "gitlab+deploy-token-12",
            "my-very-long-project-name",
            "/builds/acme/app/glprobe.env",
            "https://gitlab.example.com",
            "/etc/ssl/certs/ca-certificates.crt",
            "glpat-",
            "glpat-short",
            "abcdefghijklmnopqrst",
        ] {
            assert!(!is_token_shaped(text), "{text}");
        }
    }

    #[test]
    fn masking_keeps_the_rest_of_the_text() {
        assert_eq!(
            mask_token_shaped("/tmp/glpat-abcdefgh1234/x.env"),
            "/tmp/glpat-…/x.env"
        );
        assert_eq!(mask_token_shaped("acme/app"), "acme/app");
        assert_eq!(mask_token_shaped("a a9Fk3LmQ7xZp2RtYw8Vb b"), "a … b");
    }
}
