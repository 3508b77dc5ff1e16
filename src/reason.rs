//! The reason codes and exit codes: the vocabulary every stage shares and pipelines parse.
//!
//! A verdict has one primary [`Reason`]. The exit code and the `TOKEN_VALID` value follow from it
//! (with one exception: a requirement can fail on a token whose validity is unknown, see
//! [`Validity`]).

use std::fmt;

/// Why the verdict is what it is. [`Reason::code`] is the contract (`TOKEN_REASON`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// Valid, and every requirement is met (or, with `--offline`, nothing wrong was found).
    Ok,
    /// The variable or file was empty or unset.
    Missing,
    /// The text cannot be a token (quotes, white space, an unexpanded variable, `[MASKED]`, …).
    Malformed,
    /// A routable token whose checksum does not match: truncated or altered.
    Corrupted,
    /// GitLab does not know the token.
    UnknownToken,
    /// The token has expired.
    Expired,
    /// The token was revoked.
    Revoked,
    /// A job token whose job is no longer running (finished, erased, or its project deleted).
    JobNotRunning,
    /// The token is valid but its user may not use GitLab (blocked, deactivated, …).
    UserBlocked,
    /// The token lacks a scope the caller requires (or a permission the target requires).
    InsufficientScope,
    /// The token expires sooner than `--min-days-left` allows.
    ExpiringSoon,
    /// The token is not of the kind its variable name or `--expect` promised.
    KindMismatch,
    /// The token may not access the `--project`: the target's job-token allowlist.
    NotAllowlisted,
    /// The project does not exist, or is not visible to this token.
    ProjectNotFound,
    /// The token's user (or bot, or the job's user) lacks the role the surface needs.
    InsufficientRole,
    /// A job token sent to a route that does not accept job tokens: GitLab treats the request
    /// as anonymous, so its answer says nothing about the token.
    JobTokenNotAccepted,
    /// Nothing safe could decide it (no side-effect-free probe, or a missing input).
    Unverifiable,
    /// GitLab answered with a 5xx, a 429, a redirect, or something that is not its API.
    ServerError,
    /// GitLab could not be reached (refused, timed out, dropped the connection).
    Unreachable,
    /// The TLS handshake failed (unknown CA, wrong name, expired certificate).
    TlsError,
    /// GitLab's rate limit refused the request, and its wait does not fit in the budget.
    RateLimited,
}

/// What a reason says about the token's own validity: the three exit-code groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// Exit 0.
    Fine,
    /// Exit 1: the token is invalid.
    Invalid,
    /// Exit 3: the token is valid (or not known to be invalid) but a requirement failed.
    Requirement,
    /// Exit 4: undetermined.
    Undetermined,
}

impl Reason {
    /// Every reason, in the order of the contract.
    pub const ALL: [Reason; 21] = [
        Reason::Ok,
        Reason::Missing,
        Reason::Malformed,
        Reason::Corrupted,
        Reason::UnknownToken,
        Reason::Expired,
        Reason::Revoked,
        Reason::JobNotRunning,
        Reason::UserBlocked,
        Reason::InsufficientScope,
        Reason::ExpiringSoon,
        Reason::KindMismatch,
        Reason::NotAllowlisted,
        Reason::ProjectNotFound,
        Reason::InsufficientRole,
        Reason::JobTokenNotAccepted,
        Reason::Unverifiable,
        Reason::ServerError,
        Reason::Unreachable,
        Reason::TlsError,
        Reason::RateLimited,
    ];

    /// The contract code, as in `TOKEN_REASON`.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Ok => "ok",
            Reason::Missing => "missing",
            Reason::Malformed => "malformed",
            Reason::Corrupted => "corrupted",
            Reason::UnknownToken => "unknown_token",
            Reason::Expired => "expired",
            Reason::Revoked => "revoked",
            Reason::JobNotRunning => "job_not_running",
            Reason::UserBlocked => "user_blocked",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::ExpiringSoon => "expiring_soon",
            Reason::KindMismatch => "kind_mismatch",
            Reason::NotAllowlisted => "not_allowlisted",
            Reason::ProjectNotFound => "project_not_found",
            Reason::InsufficientRole => "insufficient_role",
            Reason::JobTokenNotAccepted => "job_token_not_accepted",
            Reason::Unverifiable => "unverifiable",
            Reason::ServerError => "server_error",
            Reason::Unreachable => "unreachable",
            Reason::TlsError => "tls_error",
            Reason::RateLimited => "rate_limited",
        }
    }

    /// Which exit-code group the reason belongs to.
    pub fn group(self) -> Group {
        match self {
            Reason::Ok => Group::Fine,
            Reason::Missing
            | Reason::Malformed
            | Reason::Corrupted
            | Reason::UnknownToken
            | Reason::Expired
            | Reason::Revoked
            | Reason::JobNotRunning
            | Reason::UserBlocked => Group::Invalid,
            Reason::InsufficientScope
            | Reason::ExpiringSoon
            | Reason::KindMismatch
            | Reason::NotAllowlisted
            | Reason::ProjectNotFound
            | Reason::InsufficientRole
            | Reason::JobTokenNotAccepted => Group::Requirement,
            Reason::Unverifiable
            | Reason::ServerError
            | Reason::Unreachable
            | Reason::TlsError
            | Reason::RateLimited => Group::Undetermined,
        }
    }

    /// The process exit code for a verdict with this primary reason.
    pub fn exit_code(self) -> u8 {
        match self.group() {
            Group::Fine => exit::OK,
            Group::Invalid => exit::INVALID,
            Group::Requirement => exit::REQUIREMENT,
            Group::Undetermined => exit::UNDETERMINED,
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Exit codes, as documented in README and `--help`.
pub mod exit {
    /// Valid, and every requirement met.
    pub const OK: u8 = 0;
    /// The token is invalid.
    pub const INVALID: u8 = 1;
    /// Usage error: bad flags, unreadable token or CA file, a refused URL.
    pub const USAGE: u8 = 2;
    /// The token is valid but a requirement failed.
    pub const REQUIREMENT: u8 = 3;
    /// Undetermined: network, TLS, server error, or no safe probe.
    pub const UNDETERMINED: u8 = 4;
}

/// `TOKEN_VALID`: whether GitLab accepts the token itself, whatever the requirements say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Validity {
    /// GitLab accepts it.
    Valid,
    /// GitLab rejects it, or an offline fact proves it unusable.
    Invalid,
    /// Nothing decided it.
    #[default]
    Unknown,
}

impl Validity {
    /// The contract value: `true`, `false` or `unknown`.
    pub fn code(self) -> &'static str {
        match self {
            Validity::Valid => "true",
            Validity::Invalid => "false",
            Validity::Unknown => "unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_contract() {
        let by_code = |code: u8| -> Vec<&str> {
            Reason::ALL
                .iter()
                .filter(|r| r.exit_code() == code)
                .map(|r| r.code())
                .collect()
        };
        assert_eq!(by_code(0), ["ok"]);
        assert_eq!(
            by_code(1),
            [
                "missing",
                "malformed",
                "corrupted",
                "unknown_token",
                "expired",
                "revoked",
                "job_not_running",
                "user_blocked"
            ]
        );
        assert_eq!(
            by_code(3),
            [
                "insufficient_scope",
                "expiring_soon",
                "kind_mismatch",
                "not_allowlisted",
                "project_not_found",
                "insufficient_role",
                "job_token_not_accepted"
            ]
        );
        assert_eq!(
            by_code(4),
            [
                "unverifiable",
                "server_error",
                "unreachable",
                "tls_error",
                "rate_limited"
            ]
        );
        assert!(by_code(2).is_empty());
    }
}
