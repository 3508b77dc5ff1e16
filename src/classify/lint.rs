//! The mistakes people make with token values, found before any other reading of the text.
//!
//! Each is a proof that the value cannot work as it stands, so each ends the run offline with
//! reason `malformed` and an explanation of its own.

/// A value that cannot be a token as it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mistake {
    /// White space or a line break inside the value; `wrapped_jwt` when it looks like a JWT job
    /// token broken over lines (`base64` without `-w0`).
    InnerWhitespace {
        /// The value looks like a JWT split over several lines.
        wrapped_jwt: bool,
        /// How many lines the value spans.
        lines: usize,
    },
    /// The value is wrapped in quotes, which GitLab would take literally.
    Quoted,
    /// The literal text of a variable reference that was never expanded.
    UnexpandedVariable {
        /// The variable's name (not a secret: it is the whole value).
        name: String,
    },
    /// GitLab's log mask, copied from a job log instead of the real value.
    MaskedPlaceholder,
    /// A control character (other than white space) inside the value.
    ControlCharacter,
    /// A character outside ASCII; `invisible` for zero-width and non-breaking spaces.
    NonAscii {
        /// The character is invisible when printed (U+200B, U+00A0, U+FEFF, …).
        invisible: bool,
    },
    /// A GitLab prefix with nothing after it, or with characters no token has (`#`, `,`, `!`).
    NotTokenText {
        /// Nothing follows the prefix.
        empty: bool,
    },
    /// Longer than any GitLab token can be.
    TooLong {
        /// The value's length in characters.
        chars: usize,
        /// The longest a token of its shape can be.
        limit: usize,
    },
    /// The name of a variable (`CI_JOB_TOKEN`) instead of its value.
    VariableName {
        /// The name (not a secret: it is the whole value).
        name: String,
    },
    /// A whole `NAME=value` line (`GITLAB_TOKEN=glpat-…`, `export …`) instead of the value.
    AssignmentLine {
        /// The variable's name (the part before `=`; the value is never shown).
        name: String,
    },
}

/// The longest a GitLab token can be: JWT job tokens carry their claims (about 1 KB; 8 KiB
/// leaves room for larger claims); every other token is well under 255 characters.
pub const MAX_JWT_CHARS: usize = 8 * 1024;
/// See [`MAX_JWT_CHARS`].
pub const MAX_TOKEN_CHARS: usize = 255;

/// Finds the first mistake in a trimmed, non-empty value.
pub fn check(text: &str) -> Option<Mistake> {
    if text.contains("[MASKED]") {
        return Some(Mistake::MaskedPlaceholder);
    }
    if let Some(name) = unexpanded_variable(text) {
        return Some(Mistake::UnexpandedVariable { name });
    }
    let limit = if text.contains("eyJ") {
        MAX_JWT_CHARS
    } else {
        MAX_TOKEN_CHARS
    };
    let chars = text.chars().count();
    if chars > limit {
        return Some(Mistake::TooLong { chars, limit });
    }
    if is_variable_name(text) {
        return Some(Mistake::VariableName {
            name: text.to_owned(),
        });
    }
    if let Some(name) = assignment_name(text) {
        return Some(Mistake::AssignmentLine { name });
    }
    if text.chars().any(char::is_whitespace) {
        let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
        let compact: String = text.split_whitespace().collect();
        let wrapped_jwt = lines > 1
            && (compact.contains("eyJ") || compact.contains("glcbt-"))
            && compact.matches('.').count() >= 2;
        return Some(Mistake::InnerWhitespace { wrapped_jwt, lines });
    }
    if text.chars().any(char::is_control) {
        return Some(Mistake::ControlCharacter);
    }
    if let Some(c) = text.chars().find(|c| !c.is_ascii()) {
        let invisible = matches!(
            c,
            '\u{00A0}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
        );
        return Some(Mistake::NonAscii { invisible });
    }
    let quoted = |q: char| text.starts_with(q) || text.ends_with(q);
    if quoted('"') || quoted('\'') || quoted('`') {
        return Some(Mistake::Quoted);
    }
    None
}

/// True when the whole value is a variable reference (`$NAME`, `${NAME}`): it names a variable,
/// it is not a secret, and the explanation quotes it.
pub fn is_variable_reference(text: &str) -> bool {
    unexpanded_variable(text).is_some()
}

/// True when the whole value is a placeholder, not a secret: a variable reference, or GitLab's
/// log mask `[MASKED]`. The scrubber leaves these alone, so that their explanation can quote
/// them.
pub fn is_placeholder(text: &str) -> bool {
    text == "[MASKED]" || is_variable_reference(text) || is_variable_name(text)
}

/// An environment variable's name as people write them: capitals, digits and underscores, with
/// at least one underscore (`CI_JOB_TOKEN`, `GITLAB_TOKEN`). No token looks like this.
fn is_variable_name(text: &str) -> bool {
    (3..=64).contains(&text.len())
        && text.starts_with(|c: char| c.is_ascii_uppercase())
        && text.contains('_')
        && text
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The name of a `NAME=value` or `export NAME=value` line; `None` for anything else.
fn assignment_name(text: &str) -> Option<String> {
    let line = text.strip_prefix("export ").unwrap_or(text);
    let (name, value) = line.split_once('=')?;
    let is_name = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (is_name && !value.trim_matches('=').is_empty()).then(|| name.to_owned())
}

/// `$NAME`, `${NAME}` or `$$NAME` making up the whole value.
fn unexpanded_variable(text: &str) -> Option<String> {
    let rest = text.trim_start_matches('$');
    if rest.len() == text.len() {
        return None;
    }
    let name = match rest.strip_prefix('{') {
        Some(inner) => inner.strip_suffix('}')?,
        None => rest,
    };
    let valid = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| name.to_owned())
}

/// The value without surrounding quotes, when [`Mistake::Quoted`] applies.
pub fn unquoted(text: &str) -> &str {
    text.trim_matches(|c| c == '"' || c == '\'' || c == '`')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_mistakes() {
        use Mistake::*;
        let cases: &[(&str, Option<Mistake>)] = &[
            ("glpat-abcdefghijkmnpqrstu", None),
            ("[MASKED]", Some(MaskedPlaceholder)),
            (
                "$CI_JOB_TOKEN",
                Some(UnexpandedVariable {
                    name: "CI_JOB_TOKEN".into(),
                }),
            ),
            (
                "${DEPLOY_TOKEN}",
                Some(UnexpandedVariable {
                    name: "DEPLOY_TOKEN".into(),
                }),
            ),
            (
                "$$MY_TOKEN",
                Some(UnexpandedVariable {
                    name: "MY_TOKEN".into(),
                }),
            ),
            (
                "glpat-abc def",
                Some(InnerWhitespace {
                    wrapped_jwt: false,
                    lines: 1,
                }),
            ),
            (
                "glcbt-eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJnaWQ6\nLy9naXRsYWIvQ2k6OkJ1aWxkLzEifQ.c2ln",
                Some(InnerWhitespace {
                    wrapped_jwt: true,
                    lines: 2,
                }),
            ),
            ("\"glpat-abcdefghijkmnpqrstu\"", Some(Quoted)),
            ("'gldt-abcdefghijkmnpqrstu'", Some(Quoted)),
            ("glpat-abc\u{7}def", Some(ControlCharacter)),
            ("glpat-abc\u{200B}def", Some(NonAscii { invisible: true })),
            ("glpat-abcé", Some(NonAscii { invisible: false })),
            (
                "$(cat token)",
                Some(InnerWhitespace {
                    wrapped_jwt: false,
                    lines: 1,
                }),
            ),
            ("$1abc", None),
        ];
        for (text, expected) in cases {
            assert_eq!(&check(text), expected, "{text:?}");
        }
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquoted("\"abc\""), "abc");
        assert_eq!(unquoted("'abc"), "abc");
    }
}
