//! The token itself, where it came from, and the names of its kinds.
//!
//! [`Token`] is the only place the secret lives. It cannot be printed: its `Debug` and `Display`
//! say `(redacted)`, and the only way to the text is [`Token::expose`], whose callers are the
//! classifier (which reads it) and the HTTP layer (which sends it). Everything that is shown to
//! people or written to files uses [`Token::masked`] and [`Token::fingerprint`].

mod kind;

pub use kind::Kind;

use std::fmt;

/// A GitLab token: a secret that must never reach any output.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token value as read from its source, trimming surrounding white space
    /// (the newline at the end of a file, the space after a paste).
    pub fn new(raw: &str) -> Token {
        Token(raw.trim().to_owned())
    }

    /// Wraps a value exactly as stored, white space included (the audit judges a CI/CD
    /// variable's value as GitLab holds it: a trailing newline there is a mistake).
    pub fn new_untrimmed(raw: String) -> Token {
        Token(raw)
    }

    /// The secret text. Only the classifier and the HTTP layer call this.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// True when the source held nothing but white space.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A short SHA-256 prefix (12 hex digits, 48 bits): enough to tell two tokens apart in logs,
    /// far too little to recover a token from.
    pub fn fingerprint(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA256, self.0.as_bytes());
        digest.as_ref()[..6]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The masked form shown to people: the recognised public prefix (for example `glpat-`),
    /// an ellipsis, and the last four characters when the secret part is long enough that four
    /// characters give nothing away.
    pub fn masked(&self, prefix: &str) -> String {
        let prefix = if self.0.starts_with(prefix) {
            prefix
        } else {
            ""
        };
        let rest: Vec<char> = self.0[prefix.len()..].chars().collect();
        let tail: String = if rest.len() >= 16 {
            rest[rest.len() - 4..]
                .iter()
                .map(|c| if c.is_ascii_graphic() { *c } else { '?' })
                .collect()
        } else {
            String::new()
        };
        format!("{prefix}…{tail}")
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(redacted)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(redacted)")
    }
}

/// Where the token was read from. The name of an environment variable is also a claim about
/// the kind of token it holds (see [`Source::claimed_kind`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An environment variable, by name.
    Env(String),
    /// A File-type CI/CD variable: the variable holds the path of a file holding the token.
    EnvFile(String),
    /// A file, by path.
    File(String),
    /// Standard input (`--token-file -`).
    Stdin,
}

impl Source {
    /// The kind of token that the variable's name promises, for the variables GitLab itself sets.
    pub fn claimed_kind(&self) -> Option<Kind> {
        match self {
            Source::Env(name) | Source::EnvFile(name) => match name.as_str() {
                "CI_JOB_TOKEN" | "CI_REGISTRY_PASSWORD" => Some(Kind::JobToken),
                "CI_DEPLOY_PASSWORD" => Some(Kind::DeployToken),
                _ => None,
            },
            Source::File(_) | Source::Stdin => None,
        }
    }

    /// The variable's name, when the token came from the environment.
    pub fn variable(&self) -> Option<&str> {
        match self {
            Source::Env(name) | Source::EnvFile(name) => Some(name),
            _ => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Env(name) => write!(f, "${name}"),
            Source::EnvFile(name) => write!(f, "the file named by ${name}"),
            Source::File(path) => write!(f, "file {path}"),
            Source::Stdin => f.write_str("standard input"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let t = Token::new("glpat-SECRETSECRETSECRET1234");
        assert_eq!(format!("{t:?}"), "Token(redacted)");
        assert_eq!(format!("{t}"), "(redacted)");
        assert_eq!(format!("{:?}", Some(&t)), "Some(Token(redacted))");
    }

    #[test]
    fn trims_surrounding_white_space_only() {
        assert_eq!(Token::new("  abc def\n").expose(), "abc def");
        assert!(Token::new(" \n\t").is_empty());
    }

    #[test]
    fn masked_shows_prefix_and_last_four_of_long_tokens() {
        let t = Token::new("glpat-abcdefghijklmnopqrst");
        assert_eq!(t.masked("glpat-"), "glpat-…qrst");
        assert_eq!(t.masked("gldt-"), "…qrst");
        assert_eq!(Token::new("short").masked(""), "…");
    }

    #[test]
    fn fingerprint_is_a_stable_sha256_prefix() {
        // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
        assert_eq!(Token::new("abc").fingerprint(), "ba7816bf8f01");
    }

    #[test]
    fn variable_names_are_claims() {
        assert_eq!(
            Source::Env("CI_JOB_TOKEN".into()).claimed_kind(),
            Some(Kind::JobToken)
        );
        assert_eq!(
            Source::Env("CI_REGISTRY_PASSWORD".into()).claimed_kind(),
            Some(Kind::JobToken)
        );
        assert_eq!(
            Source::Env("CI_DEPLOY_PASSWORD".into()).claimed_kind(),
            Some(Kind::DeployToken)
        );
        assert_eq!(Source::Env("GITLAB_TOKEN".into()).claimed_kind(), None);
        assert_eq!(Source::Stdin.claimed_kind(), None);
    }
}
