//! Calendar dates as days since 1970-01-01 (UTC), enough for expiry dates and days left.
//!
//! The conversions are Howard Hinnant's `days_from_civil` and `civil_from_days`; they are exact
//! for the proleptic Gregorian calendar. A date crate would add weight for four functions.

/// A calendar day, counted from 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub i64);

impl Day {
    /// The day that contains this instant (seconds since the epoch, UTC).
    pub fn from_unix(seconds: i64) -> Day {
        Day(seconds.div_euclid(86_400))
    }

    /// Parses `YYYY-MM-DD`, or the date part of an ISO 8601 timestamp.
    pub fn parse(text: &str) -> Option<Day> {
        let date = text.get(..10)?;
        let mut parts = date.split('-');
        let (Some(y), Some(m), Some(d), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        if text.len() > 10 && !text[10..].starts_with(['T', ' ']) {
            return None;
        }
        Some(Day(days_from_civil(y, m, d)))
    }

    /// Days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Day) -> i64 {
        later.0 - self.0
    }
}

/// An instant as `YYYY-MM-DD HH:MM UTC`.
pub fn format_utc(seconds: i64) -> String {
    let minutes = seconds.rem_euclid(86_400) / 60;
    format!(
        "{} {:02}:{:02} UTC",
        Day::from_unix(seconds),
        minutes / 60,
        minutes % 60
    )
}

/// Parses an HTTP date in the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110) into
/// Unix seconds. The obsolete forms are not accepted: GitLab sends this one.
pub fn parse_http_date(text: &str) -> Option<i64> {
    let (_, rest) = text.trim().split_once(", ")?;
    let mut parts = rest.split(' ');
    let (Some(d), Some(mon), Some(y), Some(time), Some("GMT"), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let m = u32::try_from(MONTHS.iter().position(|&name| name == mon)? + 1).ok()?;
    let (y, d): (i64, u32) = (y.parse().ok()?, d.parse().ok()?);
    if y.to_string().len() != 4 || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let mut hms = time
        .split(':')
        .map(|n| n.parse::<i64>().ok().filter(|_| n.len() == 2));
    let (Some(Some(h)), Some(Some(min)), Some(Some(sec)), None) =
        (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return None;
    };
    if h > 23 || min > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400 + h * 3600 + min * 60 + sec)
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = civil_from_days(self.0);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_days() {
        assert_eq!(Day::parse("1970-01-01"), Some(Day(0)));
        assert_eq!(Day::parse("2000-03-01"), Some(Day(11_017)));
        assert_eq!(Day::parse("2026-11-22").unwrap().to_string(), "2026-11-22");
        assert_eq!(Day::from_unix(1_800_000_000).to_string(), "2027-01-15");
        assert_eq!(Day::from_unix(-1).to_string(), "1969-12-31");
        assert_eq!(format_utc(1_800_000_000), "2027-01-15 08:00 UTC");
    }

    #[test]
    fn timestamps_and_garbage() {
        assert_eq!(
            Day::parse("2021-09-27T21:05:03.203Z"),
            Day::parse("2021-09-27")
        );
        for bad in [
            "2021-02-29",
            "2021-13-01",
            "21-01-01",
            "2021-01-01x",
            "",
            "2021/01/01",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
        assert!(Day::parse("2024-02-29").is_some());
    }

    #[test]
    fn round_trip_over_centuries() {
        for z in (-700_000..2_900_000).step_by(997) {
            let day = Day(z);
            assert_eq!(Day::parse(&day.to_string()), Some(day));
        }
    }
}

#[cfg(test)]
mod http_date_tests {
    use super::*;

    #[test]
    fn imf_fixdate() {
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        for bad in [
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "Sun, 31 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "",
        ] {
            assert_eq!(parse_http_date(bad), None, "{bad}");
        }
    }
}
