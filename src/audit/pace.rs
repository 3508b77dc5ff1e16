//! Pacing from GitLab's `RateLimit-*` headers, shared by every worker of a run.
//!
//! While `RateLimit-Remaining` stays at or above 20 % of `RateLimit-Limit`, requests go out as
//! fast as the workers send them. Below that, the requests left (less one per worker, for those
//! already in flight) are spread evenly until `RateLimit-Reset`; with none left, everyone waits
//! for the reset. 429s and their `Retry-After` stay the HTTP layer's work
//! ([`crate::probe::http::Client::send`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::probe::http::RateLimit;

/// Below this share of the limit left, the pacer spreads the requests.
const SLOW_BELOW_PERCENT: u64 = 20;
/// The window assumed when GitLab gives a remaining count but no reset time.
const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// The shared pacing state.
pub struct Pacer {
    workers: u64,
    deadline: Instant,
    state: Mutex<State>,
    waits: AtomicU64,
}

struct State {
    /// The earliest the next request may start.
    next: Instant,
    /// The spacing between requests; zero when there is room.
    spacing: Duration,
}

impl Pacer {
    /// A pacer for this many concurrent workers, for a run that must end by `deadline`.
    pub fn new(workers: usize, deadline: Instant) -> Pacer {
        Pacer {
            workers: workers.max(1) as u64,
            deadline,
            state: Mutex::new(State {
                next: Instant::now(),
                spacing: Duration::ZERO,
            }),
            waits: AtomicU64::new(0),
        }
    }

    /// Waits for this request's turn; false (at once, without waiting) when that turn comes
    /// after the deadline: the request is not to be sent.
    pub fn before(&self) -> bool {
        let wait = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = state.next.max(now);
            if slot >= self.deadline {
                return false;
            }
            state.next = slot + state.spacing;
            slot - now
        };
        if !wait.is_zero() {
            self.waits.fetch_add(1, Ordering::Relaxed);
            thread::sleep(wait);
        }
        true
    }

    /// Learns from a response's headers. `now_unix` is the current Unix time.
    pub fn observe(&self, rate: &RateLimit, now_unix: i64) {
        let (Some(limit), Some(remaining)) = (rate.limit, rate.remaining) else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if limit == 0 || remaining * 100 >= limit * SLOW_BELOW_PERCENT {
            state.spacing = Duration::ZERO;
            return;
        }
        let window = rate
            .reset
            .map(|reset| Duration::from_secs(u64::try_from((reset - now_unix).max(1)).unwrap_or(1)))
            .unwrap_or(DEFAULT_WINDOW)
            .min(Duration::from_secs(3600));
        let budget = remaining.saturating_sub(self.workers);
        if budget == 0 {
            state.spacing = Duration::ZERO;
            state.next = state.next.max(Instant::now() + window);
        } else {
            state.spacing = window / u32::try_from(budget).unwrap_or(u32::MAX);
        }
    }

    /// How many requests had to wait for their turn.
    pub fn waits(&self) -> u64 {
        self.waits.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn a_turn_past_the_deadline_is_refused_at_once() {
        let p = Pacer::new(2, Instant::now() + Duration::from_millis(200));
        p.observe(&rate(100, 2, 3600), 1000);
        let t = Instant::now();
        assert!(!p.before());
        assert!(t.elapsed() < Duration::from_millis(50));
    }

    fn rate(limit: u64, remaining: u64, reset_in: i64) -> RateLimit {
        RateLimit {
            limit: Some(limit),
            remaining: Some(remaining),
            reset: Some(1000 + reset_in),
            ..RateLimit::default()
        }
    }

    #[test]
    fn full_speed_above_a_fifth() {
        let p = Pacer::new(4, far());
        p.observe(&rate(100, 20, 10), 1000);
        let t = Instant::now();
        for _ in 0..5 {
            assert!(p.before());
        }
        assert!(t.elapsed() < Duration::from_millis(50));
        assert_eq!(p.waits(), 0);
    }

    #[test]
    fn spreads_the_rest_until_the_reset() {
        let p = Pacer::new(4, far());
        // 14 left, 4 in flight: 10 over 1 s, 100 ms apart.
        p.observe(&rate(100, 14, 1), 1000);
        let t = Instant::now();
        for _ in 0..4 {
            assert!(p.before());
        }
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(290), "{took:?}");
        assert!(took < Duration::from_millis(600), "{took:?}");
    }

    #[test]
    fn none_left_waits_for_the_reset() {
        let p = Pacer::new(2, far());
        p.observe(&rate(100, 2, 1), 1000);
        let t = Instant::now();
        p.before();
        assert!(t.elapsed() >= Duration::from_millis(900));
        // Back above a fifth: full speed again.
        p.observe(&rate(100, 99, 60), 1001);
        let t = Instant::now();
        p.before();
        p.before();
        assert!(t.elapsed() < Duration::from_millis(50));
    }
}
