//! Per-host politeness in one place: how many requests a host has in flight, when it may be
//! asked again (the configured delay, a robots.txt `Crawl-delay`, a `Retry-After`), and
//! whether it is failing so often that it is left alone for a while (a circuit breaker).
//!
//! The fetch scheduler asks without waiting ([`HostBook::try_start`]) and moves on to another
//! host when this one is not ready; listing fetches wait their turn ([`HostBook::start`]).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// Longest a host is left alone after repeated failures.
const MAX_COOLDOWN: Duration = Duration::from_secs(3600);

/// The politeness settings the book applies to every host.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    /// Least time between the end of one request and the start of the next to one host.
    pub delay: Duration,
    /// Requests in flight to one host at most.
    pub max_in_flight: usize,
    /// Consecutive failures after which a host is left alone.
    pub failure_threshold: u32,
    /// How long it is left alone the first time (doubling each time after, up to an hour).
    pub cooldown: Duration,
    /// Longest a `Retry-After` holds the host back: a server asking for longer is asked
    /// again after this, not never.
    pub max_retry_after: Duration,
}

/// Why a host cannot take a request now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotReady {
    /// It can at this time (or when a request in flight ends, if that is later).
    Until(Instant),
    /// It has as many requests in flight as allowed.
    Busy,
    /// It failed too often and is left alone until then.
    Down(Instant),
}

/// How a request to a host ended, for the book.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The host answered (any answer that is not a server failure).
    Answered,
    /// The host failed: a timeout, a refused connection, a 5xx.
    Failed,
    /// The host asked us to come back later (429/503 with `Retry-After`).
    RetryAfter(Duration),
    /// The request was abandoned (shutdown): it says nothing about the host.
    Aborted,
}

#[derive(Debug)]
struct HostState {
    in_flight: usize,
    /// When the host may be asked again; `None` until its first request ends.
    next_allowed: Option<Instant>,
    crawl_delay: Duration,
    consecutive_failures: u32,
    down_until: Option<Instant>,
    times_down: u32,
}

/// What the book knows of every host.
#[derive(Debug)]
pub struct HostBook {
    policy: HostPolicy,
    hosts: Mutex<HashMap<String, HostState>>,
}

/// A host that was backed off, for reports.
#[derive(Debug, Clone, PartialEq)]
pub struct BackedOff {
    /// The host (its origin).
    pub origin: String,
    /// For how long.
    pub cooldown: Duration,
}

impl HostBook {
    /// An empty book.
    pub fn new(policy: HostPolicy) -> Self {
        HostBook {
            policy,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    fn with_host<T>(&self, origin: &str, f: impl FnOnce(&mut HostState, &HostPolicy) -> T) -> T {
        let mut hosts = self.hosts.lock().expect("host book lock");
        let state = hosts
            .entry(origin.to_string())
            .or_insert_with(|| HostState {
                in_flight: 0,
                next_allowed: None,
                crawl_delay: Duration::ZERO,
                consecutive_failures: 0,
                down_until: None,
                times_down: 0,
            });
        f(state, &self.policy)
    }

    /// Counts a request to `origin` as in flight without waiting its turn: a redirect chain
    /// that wandered to other hosts hands its first host's turn back this way, for the
    /// caller's [`HostBook::finish`].
    pub fn hold(&self, origin: &str) {
        self.with_host(origin, |host, _| host.in_flight += 1);
    }

    /// Starts a request to `origin` if the host is ready now.
    pub fn try_start(&self, origin: &str) -> Result<(), NotReady> {
        let now = Instant::now();
        self.with_host(origin, |host, policy| {
            if let Some(until) = host.down_until {
                if until > now {
                    return Err(NotReady::Down(until));
                }
                host.down_until = None;
            }
            if host.in_flight >= policy.max_in_flight.max(1) {
                return Err(NotReady::Busy);
            }
            if let Some(at) = host.next_allowed.filter(|at| *at > now) {
                return Err(NotReady::Until(at));
            }
            host.in_flight += 1;
            Ok(())
        })
    }

    /// Waits until `origin` is ready and starts a request; gives up when `stop` fires or the
    /// host is down.
    pub async fn start(&self, origin: &str, stop: &CancellationToken) -> Result<(), NotReady> {
        loop {
            let wait_until = match self.try_start(origin) {
                Ok(()) => return Ok(()),
                Err(NotReady::Down(until)) => return Err(NotReady::Down(until)),
                Err(NotReady::Until(at)) => at,
                // Poll again shortly: the request in flight may end at any time.
                Err(NotReady::Busy) => Instant::now() + Duration::from_millis(50),
            };
            tokio::select! {
                biased;
                () = stop.cancelled() => return Err(NotReady::Busy),
                () = tokio::time::sleep_until(wait_until.into()) => {}
            }
        }
    }

    /// Ends a request started with [`HostBook::try_start`] or [`HostBook::start`]. Returns the
    /// backoff when this failure opened the host's circuit.
    pub fn finish(&self, origin: &str, outcome: Outcome) -> Option<BackedOff> {
        let now = Instant::now();
        self.with_host(origin, |host, policy| {
            host.in_flight = host.in_flight.saturating_sub(1);
            let delay = policy.delay.max(host.crawl_delay);
            host.next_allowed = host.next_allowed.max(Some(later(now, delay)));
            match outcome {
                Outcome::Aborted => None,
                Outcome::Answered => {
                    host.consecutive_failures = 0;
                    host.times_down = 0;
                    None
                }
                Outcome::RetryAfter(wait) => {
                    let wait = wait.min(policy.max_retry_after);
                    host.next_allowed = host.next_allowed.max(Some(later(now, wait)));
                    None
                }
                Outcome::Failed => {
                    host.consecutive_failures += 1;
                    if host.consecutive_failures < policy.failure_threshold.max(1) {
                        return None;
                    }
                    let cooldown = (policy.cooldown * 2u32.saturating_pow(host.times_down.min(10)))
                        .min(MAX_COOLDOWN);
                    host.times_down += 1;
                    host.consecutive_failures = 0;
                    host.down_until = Some(later(now, cooldown));
                    Some(BackedOff {
                        origin: origin.to_string(),
                        cooldown,
                    })
                }
            }
        })
    }

    /// Records a robots.txt `Crawl-delay` for `origin`.
    pub fn set_crawl_delay(&self, origin: &str, delay: Duration) {
        self.with_host(origin, |host, _| host.crawl_delay = delay);
    }
}

/// `now + wait`, or as late as the clock can say when that overflows: a duration that came
/// from outside (a header, a config) must not panic the crawl.
fn later(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait)
        .or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book(delay_ms: u64) -> HostBook {
        HostBook::new(HostPolicy {
            delay: Duration::from_millis(delay_ms),
            max_in_flight: 1,
            failure_threshold: 2,
            cooldown: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(600),
        })
    }

    #[test]
    fn a_retry_after_beyond_any_clock_holds_the_host_back_only_up_to_the_cap() {
        // `Retry-After: 9223372036854775807` panicked here with an overflow, ending the run;
        // `Retry-After: 999999999` held the host's other pages back for ever.
        let book = book(0);
        for wait in [Duration::from_secs(999_999_999), Duration::MAX] {
            assert_eq!(book.try_start("a"), Ok(()));
            book.finish("a", Outcome::RetryAfter(wait));
            match book.try_start("a") {
                Err(NotReady::Until(at)) => assert!(
                    at <= Instant::now() + Duration::from_secs(600),
                    "held back {:?}",
                    at - Instant::now()
                ),
                other => panic!("{other:?}"),
            }
            book.hosts.lock().unwrap().clear();
        }
    }

    #[test]
    fn one_request_at_a_time_then_the_delay() {
        let book = book(10_000);
        assert_eq!(book.try_start("a"), Ok(()));
        assert_eq!(book.try_start("a"), Err(NotReady::Busy));
        assert_eq!(book.try_start("b"), Ok(()), "other hosts are not held back");
        book.finish("a", Outcome::Answered);
        assert!(matches!(book.try_start("a"), Err(NotReady::Until(_))));
    }

    #[test]
    fn retry_after_and_crawl_delay_push_the_next_request_back() {
        let book = book(0);
        book.set_crawl_delay("a", Duration::from_secs(30));
        book.try_start("a").unwrap();
        book.finish("a", Outcome::Answered);
        let Err(NotReady::Until(at)) = book.try_start("a") else {
            panic!()
        };
        assert!(at >= Instant::now() + Duration::from_secs(29));
        book.try_start("b").unwrap();
        book.finish("b", Outcome::RetryAfter(Duration::from_secs(120)));
        let Err(NotReady::Until(at)) = book.try_start("b") else {
            panic!()
        };
        assert!(at >= Instant::now() + Duration::from_secs(119));
    }

    #[test]
    fn repeated_failures_open_the_circuit_with_growing_cooldowns() {
        let book = book(0);
        book.try_start("a").unwrap();
        assert_eq!(book.finish("a", Outcome::Failed), None);
        book.try_start("a").unwrap();
        let first = book
            .finish("a", Outcome::Failed)
            .expect("second failure opens");
        assert_eq!(first.cooldown, Duration::from_secs(60));
        assert!(matches!(book.try_start("a"), Err(NotReady::Down(_))));
        // An answer resets the count; a success in between keeps it closed.
        book.try_start("c").unwrap();
        book.finish("c", Outcome::Failed);
        book.try_start("c").unwrap();
        book.finish("c", Outcome::Answered);
        book.try_start("c").unwrap();
        assert_eq!(book.finish("c", Outcome::Failed), None);
    }
}
