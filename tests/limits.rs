//! GitLab's rate limits (issue 8, item 11): a path is never asked again before GitLab's
//! `Retry-After` (or `RateLimit-Reset`) has passed; a wait that does not fit in `--timeout`
//! ends the run at once as `rate_limited` (exit 4), saying when to retry and which limit.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;

use crate::support::gitlab::{FakeGitLab, Recorded, Reply, Routes};
use crate::support::tokens::pat;
use crate::support::{Outcome, assert_code, assert_no_leak, glprobe};

const SELF: &str = "/api/v4/personal_access_tokens/self";
const USER: &str = "/api/v4/user";

/// Rack::Attack's throttled answer (`lib/gitlab/rack_attack.rb`): text/plain `Retry later\n`
/// with `Retry-After` and the `RateLimit-*` headers.
fn throttled(retry_after: &str) -> Reply {
    let reset = unix_now() + 3600;
    Reply::raw(429, "text/plain", "Retry later\n")
        .header("Retry-After", retry_after)
        .header("RateLimit-Name", "throttle_authenticated_api")
        .header("RateLimit-Limit", "2000")
        .header("RateLimit-Observed", "2001")
        .header("RateLimit-Remaining", "0")
        .header("RateLimit-Reset", &reset.to_string())
}

/// GitLab's application limiter (`lib/api/helpers/rate_limiter.rb`): JSON, no `Retry-After`.
fn application_limit() -> Reply {
    Reply::json(
        429,
        json!({"message": {"error": "This endpoint has been requested too many times. Try again later."}}),
    )
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap()
}

fn both(reply: Reply) -> Routes {
    Routes::new()
        .on("GET", SELF, reply.clone())
        .on("GET", USER, reply)
}

fn run(server: &FakeGitLab, timeout: &str) -> Outcome {
    let token = pat(7);
    let out = glprobe(&[
        "--url",
        &server.url(),
        "--token-env",
        "TOK",
        "--timeout",
        timeout,
    ])
    .env("TOK", &token)
    .run();
    assert_no_leak(&token, &out, &[]);
    out
}

fn on_path<'a>(requests: &'a [Recorded], path: &str) -> Vec<&'a Recorded> {
    requests.iter().filter(|r| r.path == path).collect()
}

#[track_caller]
fn assert_rate_limited(out: &Outcome) {
    assert_code(out, 4);
    assert!(
        out.stdout.contains("Reason   rate_limited"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Valid    unknown"), "{}", out.stdout);
}

#[test]
fn a_wait_longer_than_the_budget_stops_at_once_and_says_when() {
    let server = FakeGitLab::start(both(throttled("3600")));
    let out = run(&server, "8");
    assert_rate_limited(&out);
    assert!(
        out.elapsed < Duration::from_secs(2),
        "waited {:?}",
        out.elapsed
    );
    let requests = server.requests();
    assert_eq!(on_path(&requests, SELF).len(), 1, "asked again");
    // Sent in the same wave; once the first 429 is in, the other is not even sent.
    assert!(on_path(&requests, USER).len() <= 1, "asked again");
    assert!(
        out.stdout.contains("throttle_authenticated_api"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("(in 3600 s)"), "{}", out.stdout);
    assert!(out.stdout.contains("2000 requests"), "{}", out.stdout);
    assert!(!out.stdout.contains("raise --timeout"), "{}", out.stdout);
}

#[test]
fn absurd_waits_and_reset_times_are_not_shortened() {
    for reply in [
        throttled("99999999999"),
        // No Retry-After, but RateLimit-Reset an hour ahead.
        Reply::raw(429, "text/plain", "Retry later\n")
            .header("RateLimit-Reset", &(unix_now() + 3600).to_string()),
    ] {
        let server = FakeGitLab::start(both(reply));
        let out = run(&server, "8");
        assert_rate_limited(&out);
        assert!(
            out.elapsed < Duration::from_secs(2),
            "waited {:?}",
            out.elapsed
        );
        assert_eq!(on_path(&server.requests(), SELF).len(), 1);
    }
}

#[test]
fn no_path_is_asked_again_before_retry_after() {
    // Seconds, and an HTTP date three seconds ahead (IMF-fixdate has whole seconds).
    let date = || {
        let at = unix_now() + 3;
        let days = at.div_euclid(86_400);
        let secs = at.rem_euclid(86_400);
        // 1970-01-01 was a Thursday.
        let weekday =
            ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
        let ymd = glprobe::date::Day::from_unix(at).to_string();
        let parts: Vec<usize> = ymd.split('-').map(|p| p.parse().unwrap()).collect();
        let (y, m, d) = (parts[0], parts[1], parts[2]);
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        format!(
            "{weekday}, {d:02} {} {y} {:02}:{:02}:{:02} GMT",
            months[m - 1],
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
    };
    for (retry_after, at_least) in [("2".to_owned(), 1900), (String::new(), 1000)] {
        let retry_after = if retry_after.is_empty() {
            date()
        } else {
            retry_after
        };
        let server = FakeGitLab::start(both(throttled(&retry_after)));
        let out = run(&server, "9");
        assert_rate_limited(&out);
        let requests = server.requests();
        for path in [SELF, USER] {
            let times: Vec<_> = on_path(&requests, path).iter().map(|r| r.at).collect();
            assert!(times.len() >= 2, "{retry_after}: {path} was not retried");
            // A fixed date has passed after the first wait: only the first gap is GitLab's.
            let gaps = if retry_after.contains("GMT") {
                1
            } else {
                times.len() - 1
            };
            for pair in times.windows(2).take(gaps) {
                let gap = pair[1].duration_since(pair[0]);
                assert!(
                    gap >= Duration::from_millis(at_least),
                    "{retry_after}: {path} asked again after {gap:?}"
                );
            }
        }
    }
}

#[test]
fn the_application_limiter_without_retry_after_is_backed_off_and_named() {
    let server = FakeGitLab::start(both(application_limit()));
    let out = run(&server, "5");
    assert_rate_limited(&out);
    assert!(
        out.stdout.contains("application rate limit"),
        "{}",
        out.stdout
    );
    let requests = server.requests();
    let times: Vec<_> = on_path(&requests, SELF).iter().map(|r| r.at).collect();
    assert_eq!(times.len(), 3, "three attempts with backoff");
    assert!(times[1].duration_since(times[0]) >= Duration::from_millis(200));
    assert!(times[2].duration_since(times[1]) >= Duration::from_millis(450));
}

#[test]
fn waits_past_a_u64_and_resets_already_past_are_never_early() {
    // More seconds than a u64 holds: the longest wait, so nothing is asked again.
    let server = FakeGitLab::start(both(throttled("99999999999999999999")));
    let out = run(&server, "8");
    assert_rate_limited(&out);
    assert_eq!(on_path(&server.requests(), SELF).len(), 1);
    // A reset already past still backs off: never back to back.
    let past = Reply::raw(429, "text/plain", "Retry later\n")
        .header("RateLimit-Reset", &(unix_now() - 60).to_string());
    let server = FakeGitLab::start(both(past));
    let out = run(&server, "5");
    assert_rate_limited(&out);
    let requests = server.requests();
    let times: Vec<_> = on_path(&requests, SELF).iter().map(|r| r.at).collect();
    for pair in times.windows(2) {
        assert!(
            pair[1].duration_since(pair[0]) >= Duration::from_millis(200),
            "{times:?}"
        );
    }
}
