//! The audit's vocabulary: finding [`Code`]s, [`Severity`]s, the [`Place`] a finding is about,
//! and the [`Finding`] itself. Nothing here ever holds a value: a finding names where a token
//! sits (path, key, environment scope, inventory item), its kind and its keyed fingerprint.

use std::fmt;
use std::str::FromStr;

/// How bad a finding is, most serious first (the order of [`Severity::rank`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// Fails now.
    Broken,
    /// Fails within `--min-days-left` days.
    Expiring,
    /// Works, but breaks on a predictable event.
    Fragile,
    /// Works, but leaks easily.
    Exposure,
    /// The audit cannot tell.
    Uninspectable,
}

impl Severity {
    /// Every severity, most serious first.
    pub const ALL: [Severity; 5] = [
        Severity::Broken,
        Severity::Expiring,
        Severity::Fragile,
        Severity::Exposure,
        Severity::Uninspectable,
    ];

    /// The name in reports and in `--fail-on`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Broken => "broken",
            Severity::Expiring => "expiring",
            Severity::Fragile => "fragile",
            Severity::Exposure => "exposure",
            Severity::Uninspectable => "uninspectable",
        }
    }

    /// 5 for broken down to 1 for uninspectable: "at or above `--fail-on`" compares ranks.
    pub fn rank(self) -> u8 {
        match self {
            Severity::Broken => 5,
            Severity::Expiring => 4,
            Severity::Fragile => 3,
            Severity::Exposure => 2,
            Severity::Uninspectable => 1,
        }
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Severity, String> {
        Severity::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| "expected broken, expiring, fragile, exposure or uninspectable".into())
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A finding's stable code (README, "Audit findings").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    /// The key is a predefined variable's name: it overrides GitLab's own value.
    OverridesPredefined,
    /// The value cannot work as it stands (quotes, white space, `$NAME`, `[MASKED]`, a scheme).
    Malformed,
    /// A routable token whose checksum fails: truncated or altered.
    RoutableCrcMismatch,
    /// A job token stored in a variable: valid only while its job runs.
    StoredJobToken,
    /// An OAuth access token stored in a variable: it lives two hours.
    StoredOauthToken,
    /// The token (or inventory item) has expired.
    TokenExpired,
    /// The token was revoked.
    TokenRevoked,
    /// The token expires within `--min-days-left` days.
    TokenExpiring,
    /// A routable access token whose user is in no inventory read.
    NotInInventory,
    /// A token-shaped value that is not masked.
    NotMasked,
    /// A token-shaped value that is not protected.
    NotProtected,
    /// A hidden variable: its value is not returned by the API.
    HiddenUninspectable,
    /// A place (or one of its lists) the audit identity may not read.
    NotInspectable,
    /// The same token in several places.
    DuplicateToken,
    /// A trigger or schedule owner who is blocked, banned, deactivated or gone.
    OwnerUnavailable,
}

impl Code {
    /// Every code, in the README's order.
    pub const ALL: [Code; 15] = [
        Code::OverridesPredefined,
        Code::Malformed,
        Code::RoutableCrcMismatch,
        Code::StoredJobToken,
        Code::StoredOauthToken,
        Code::TokenExpired,
        Code::TokenRevoked,
        Code::TokenExpiring,
        Code::NotInInventory,
        Code::NotMasked,
        Code::NotProtected,
        Code::HiddenUninspectable,
        Code::NotInspectable,
        Code::DuplicateToken,
        Code::OwnerUnavailable,
    ];

    /// The code as reports spell it.
    pub fn name(self) -> &'static str {
        match self {
            Code::OverridesPredefined => "overrides_predefined",
            Code::Malformed => "malformed",
            Code::RoutableCrcMismatch => "routable_crc_mismatch",
            Code::StoredJobToken => "stored_job_token",
            Code::StoredOauthToken => "stored_oauth_token",
            Code::TokenExpired => "token_expired",
            Code::TokenRevoked => "token_revoked",
            Code::TokenExpiring => "token_expiring",
            Code::NotInInventory => "not_in_inventory",
            Code::NotMasked => "not_masked",
            Code::NotProtected => "not_protected",
            Code::HiddenUninspectable => "hidden_uninspectable",
            Code::NotInspectable => "not_inspectable",
            Code::DuplicateToken => "duplicate_token",
            Code::OwnerUnavailable => "owner_unavailable",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The scope a place belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// The instance (administrator).
    Instance,
    /// A group.
    Group,
    /// A project.
    Project,
}

impl Scope {
    /// The scope's name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Scope::Instance => "instance",
            Scope::Group => "group",
            Scope::Project => "project",
        }
    }
}

/// Where a finding is: a place (the instance, a group or a project by path), and within it a
/// variable (key and environment scope) or an inventory item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    /// Instance, group or project.
    pub scope: Scope,
    /// The full path (empty for the instance).
    pub path: String,
    /// What inside the place: `variable`, `schedule variable`, `access token`, `deploy token`,
    /// `trigger`, `schedule`, or a list name for `not_inspectable`.
    pub item: String,
    /// The variable's key, or the inventory item's name or id.
    pub name: Option<String>,
    /// The variable's environment scope (project and group variables).
    pub environment: Option<String>,
}

impl Place {
    /// A place with nothing inside it named yet.
    pub fn new(scope: Scope, path: &str, item: &str) -> Place {
        Place {
            scope,
            path: path.to_owned(),
            item: item.to_owned(),
            name: None,
            environment: None,
        }
    }

    /// The same place, naming an item inside it.
    pub fn named(mut self, name: impl Into<String>) -> Place {
        self.name = Some(name.into());
        self
    }

    /// `acme/api` variable `GITLAB_TOKEN` (production), for people.
    pub fn describe(&self) -> String {
        let mut out = match self.scope {
            // The audit's own token belongs to no place.
            Scope::Instance if self.item == "audit token" => String::new(),
            Scope::Instance => "instance ".to_owned(),
            _ => format!("{} ", self.path),
        };
        out.push_str(&self.item);
        if let Some(name) = &self.name {
            out.push(' ');
            out.push_str(name);
        }
        if let Some(env) = self.environment.as_deref().filter(|e| *e != "*") {
            out.push_str(&format!(" ({env})"));
        }
        out
    }
}

/// One problem found. Never a value or any part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The stable code.
    pub code: Code,
    /// How bad it is.
    pub severity: Severity,
    /// Where.
    pub place: Place,
    /// The token's kind (`personal_access_token`, …), when a token is involved and known.
    pub kind: Option<String>,
    /// The token's keyed fingerprint (HMAC-SHA256 with this run's key, 12 hex digits).
    pub fingerprint: Option<String>,
    /// One sentence: what is wrong and what to do.
    pub message: String,
}

impl Finding {
    /// A finding without a token.
    pub fn new(code: Code, severity: Severity, place: Place, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity,
            place,
            kind: None,
            fingerprint: None,
            message: message.into(),
        }
    }

    /// The same finding, naming the token's kind and fingerprint.
    pub fn token(mut self, kind: Option<String>, fingerprint: Option<String>) -> Self {
        self.kind = kind;
        self.fingerprint = fingerprint;
        self
    }

    /// The sort key: severity, then path, then the rest of the place, then the code.
    pub fn sort_key(&self) -> (Severity, &str, &Place, Code) {
        (self.severity, &self.place.path, &self.place, self.code)
    }
}
