//! After the walk: the same token in several places (by keyed fingerprint), and each routable
//! access token joined to its bot user's entry in the inventories, without using the token.

use std::collections::HashMap;

use super::findings::{Code, Finding, Severity};
use super::inspect::{self, Found};
use super::places::BotToken;
use crate::date::Day;

/// One `duplicate_token` finding per place of a token found in more than one place.
pub fn duplicates(found: &[Found]) -> Vec<Finding> {
    let mut by_print: HashMap<&str, Vec<&Found>> = HashMap::new();
    for f in found {
        by_print.entry(&f.fingerprint).or_default().push(f);
    }
    let mut out = Vec::new();
    for same in by_print.values().filter(|v| v.len() > 1) {
        for f in same {
            let others: Vec<String> = same
                .iter()
                .filter(|o| o.place != f.place)
                .take(3)
                .map(|o| o.place.describe())
                .collect();
            let more = same.len().saturating_sub(1 + others.len());
            let more = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            out.push(
                Finding::new(
                    Code::DuplicateToken,
                    Severity::Exposure,
                    f.place.clone(),
                    format!(
                        "The same token is stored in {} places (also {}{more}): rotate it \
                         everywhere at once, or keep it in one group variable.",
                        same.len(),
                        others.join(", ")
                    ),
                )
                .token(Some(f.kind.name().to_owned()), Some(f.fingerprint.clone())),
            );
        }
    }
    out
}

/// The inventory join: a routable access token's user id to its bot's tokens.
pub fn inventories(found: &[Found], bots: &[BotToken], today: Day, min_days: i64) -> Vec<Finding> {
    let mut by_user: HashMap<u64, Vec<&BotToken>> = HashMap::new();
    for b in bots {
        by_user.entry(b.user_id).or_default().push(b);
    }
    let mut out = Vec::new();
    for f in found {
        let Some(user) = f.user_id else { continue };
        let token = |code, severity, message: String| {
            Finding::new(code, severity, f.place.clone(), message)
                .token(Some(f.kind.name().to_owned()), Some(f.fingerprint.clone()))
        };
        let Some(entries) = by_user.get(&user) else {
            out.push(token(
                Code::NotInInventory,
                Severity::Uninspectable,
                format!(
                    "The token's owner (user {user}) has no project or group access token in \
                     the places read: a personal access token, a bot deleted 30 days after its \
                     token expired or was revoked, or a token of another place; check it \
                     (--probe-found) or replace it."
                ),
            ));
            continue;
        };
        let active = entries.iter().filter(|b| b.active).max_by_key(|b| {
            b.expires_at
                .as_deref()
                .and_then(Day::parse)
                .map_or(i64::MAX, |d| d.0)
        });
        match active {
            Some(b) => {
                if let Some((code, severity, when)) =
                    inspect::expiry(b.expires_at.as_deref(), today, min_days)
                {
                    out.push(token(
                        code,
                        severity,
                        format!(
                            "Its bot's access token ({}) {when}; rotate it and update this \
                             variable.",
                            b.place.describe()
                        ),
                    ));
                }
            }
            None => {
                let revoked = entries.iter().find(|b| b.revoked);
                let (code, what, at) = match revoked {
                    Some(b) => (Code::TokenRevoked, "was revoked", b),
                    None => (Code::TokenExpired, "has expired", &entries[0]),
                };
                out.push(token(
                    code,
                    Severity::Broken,
                    format!(
                        "Its bot's access token ({}) {what}: every job using this variable \
                         fails to authenticate; create a new token and store it here.",
                        at.place.describe()
                    ),
                ));
            }
        }
    }
    out
}
