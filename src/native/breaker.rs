//! The circuit breaker per destination (pure): a state machine over a caller-given clock.
//! No tokio, no I/O: the scheduler asks [`Breaker::admit`] before an attempt and reports
//! each attempt's result to [`Breaker::record`]; unit tests drive it with plain numbers.
//!
//! Closed → (a run of consecutive failures, or a failure rate over a window) → Open for
//! `open_for` → HalfOpen: exactly one probe attempt → success closes, failure reopens with
//! the open time doubled (up to `max_open_for`). Waiting deliveries are not attempted
//! while the circuit is open, so they keep their place and their attempts.

use std::collections::VecDeque;
use std::time::Duration;

use super::schedule::Moment;

/// Settings of the circuit breaker per destination (`host[:port]`), given to
/// [`DispatcherBuilder::circuit_breaker`](super::DispatcherBuilder::circuit_breaker).
///
/// A failure is an attempt that ended in a timeout, a transport error, a 5xx or a 429;
/// any other response (2xx, 3xx, 4xx) shows the destination is up and counts as a success.
///
/// ```
/// use std::time::Duration;
/// use foreman_webhook::native::CircuitBreaker;
/// let breaker = CircuitBreaker::new()
///     .consecutive_failures(5)
///     .failure_rate(70, 20, Duration::from_secs(300)) // Convoy's default
///     .open_for(Duration::from_secs(30));
/// # let _ = breaker;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CircuitBreaker {
    pub(crate) consecutive: u32,
    pub(crate) rate: Option<FailureRate>,
    pub(crate) open_for: Duration,
    pub(crate) max_open_for: Duration,
    pub(crate) probe_timeout: Option<Duration>,
}

/// Trip when at least `percent` % of at least `min_attempts` attempts in the last
/// `window` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FailureRate {
    pub(crate) percent: u8,
    pub(crate) min_attempts: u32,
    pub(crate) window: Duration,
}

/// The most attempts the failure-rate window remembers per destination.
const WINDOW_CAP: usize = 512;

impl Default for CircuitBreaker {
    fn default() -> Self {
        Self {
            consecutive: 5,
            rate: None,
            open_for: Duration::from_secs(30),
            max_open_for: Duration::from_secs(300),
            probe_timeout: None,
        }
    }
}

impl CircuitBreaker {
    /// Trips after 5 consecutive failures, stays open 30 s, doubling after each failed
    /// probe up to 5 min.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trips after `n` consecutive failed attempts (default 5; 0 turns this rule off).
    #[must_use]
    pub fn consecutive_failures(mut self, n: u32) -> Self {
        self.consecutive = n;
        self
    }

    /// Also trips when at least `percent` % of the attempts in the last `window` failed,
    /// once there were at least `min_attempts` of them (the window remembers the last 512
    /// attempts). Off by default.
    #[must_use]
    pub fn failure_rate(mut self, percent: u8, min_attempts: u32, window: Duration) -> Self {
        self.rate = Some(FailureRate {
            percent: percent.min(100),
            min_attempts: min_attempts.max(1),
            window,
        });
        self
    }

    /// How long the circuit stays open before one probe is let through (default 30 s).
    #[must_use]
    pub fn open_for(mut self, open_for: Duration) -> Self {
        self.open_for = open_for;
        self.max_open_for = self.max_open_for.max(open_for);
        self
    }

    /// The longest open time after repeated failed probes (default 5 min; the open time
    /// doubles after each failed probe).
    #[must_use]
    pub fn max_open_for(mut self, max: Duration) -> Self {
        self.max_open_for = max.max(self.open_for);
        self
    }

    /// How long a probe may go without a result before another probe is allowed
    /// (default: twice the request timeout plus one second).
    #[must_use]
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = Some(timeout);
        self
    }
}

/// What the breaker allows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admit<T> {
    /// Closed: go.
    Go,
    /// Half-open: this attempt is the one probe.
    Probe,
    /// Open (or a probe is out): ask again at this time.
    Wait(T),
}

/// A state change worth a log line and a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// Closed → open: attempts to the destination pause.
    Opened,
    /// Open → half-open: one probe goes out.
    HalfOpen,
    /// The probe failed: open again, for longer.
    Reopened,
    /// The probe succeeded: closed.
    Closed,
}

impl Change {
    /// The word in logs.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::HalfOpen => "half_open",
            Self::Reopened => "reopened",
            Self::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State<T> {
    Closed,
    Open { until: T },
    HalfOpen { probe_started: T },
}

/// One destination's breaker.
#[derive(Debug)]
pub(crate) struct Breaker<T> {
    state: State<T>,
    consecutive: u32,
    window: VecDeque<(T, bool)>,
    open_for: Duration,
}

impl<T: Moment> Breaker<T> {
    pub(crate) fn new(cfg: &CircuitBreaker) -> Self {
        Self {
            state: State::Closed,
            consecutive: 0,
            window: VecDeque::new(),
            open_for: cfg.open_for,
        }
    }

    /// `true` when closed with nothing remembered (the entry may be dropped).
    pub(crate) fn is_idle(&self) -> bool {
        self.state == State::Closed && self.consecutive == 0 && self.window.is_empty()
    }

    /// May an attempt start at `now`? A `Probe` answer marks the probe as out.
    pub(crate) fn admit(&mut self, cfg: &CircuitBreaker, now: T) -> (Admit<T>, Option<Change>) {
        match self.state {
            State::Closed => (Admit::Go, None),
            State::Open { until } if now < until => (Admit::Wait(until), None),
            State::Open { .. } => {
                self.state = State::HalfOpen { probe_started: now };
                (Admit::Probe, Some(Change::HalfOpen))
            }
            State::HalfOpen { probe_started } => {
                let stale = probe_started.after(cfg.probe_timeout.unwrap_or(self.open_for));
                if now >= stale {
                    // The probe never reported (abandoned, lease lost): try another.
                    self.state = State::HalfOpen { probe_started: now };
                    (Admit::Probe, None)
                } else {
                    // Look again after at most one open interval (the probe's result
                    // normally unblocks the destination before that).
                    let again = now.after(self.open_for);
                    (Admit::Wait(if again < stale { again } else { stale }), None)
                }
            }
        }
    }

    /// Records the result of an attempt that started at `started` and ended at `now`.
    pub(crate) fn record(
        &mut self,
        cfg: &CircuitBreaker,
        failed: bool,
        started: T,
        now: T,
    ) -> Option<Change> {
        match self.state {
            // Attempts begun before the circuit opened; they say nothing new.
            State::Open { .. } => None,
            State::HalfOpen { probe_started } => {
                if started < probe_started {
                    return None;
                }
                if failed {
                    self.open_for = self.open_for.saturating_mul(2).min(cfg.max_open_for);
                    self.state = State::Open {
                        until: now.after(self.open_for),
                    };
                    Some(Change::Reopened)
                } else {
                    self.open_for = cfg.open_for;
                    self.state = State::Closed;
                    self.consecutive = 0;
                    self.window.clear();
                    Some(Change::Closed)
                }
            }
            State::Closed => {
                self.consecutive = if failed {
                    self.consecutive.saturating_add(1)
                } else {
                    0
                };
                let mut trip = cfg.consecutive > 0 && self.consecutive >= cfg.consecutive;
                if let Some(rate) = cfg.rate {
                    if self.window.len() >= WINDOW_CAP {
                        self.window.pop_front();
                    }
                    self.window.push_back((now, failed));
                    while self
                        .window
                        .front()
                        .is_some_and(|(t, _)| now.since(*t) > rate.window)
                    {
                        self.window.pop_front();
                    }
                    let n = self.window.len() as u64;
                    let bad = self.window.iter().filter(|(_, f)| *f).count() as u64;
                    trip |= n >= u64::from(rate.min_attempts)
                        && bad * 100 >= n * u64::from(rate.percent);
                }
                if !trip {
                    return None;
                }
                self.consecutive = 0;
                self.window.clear();
                self.open_for = cfg.open_for;
                self.state = State::Open {
                    until: now.after(self.open_for),
                };
                Some(Change::Opened)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1000; // the test clock counts milliseconds

    fn cfg() -> CircuitBreaker {
        CircuitBreaker::new()
            .consecutive_failures(3)
            .open_for(Duration::from_secs(10))
            .max_open_for(Duration::from_secs(25))
    }

    #[test]
    fn trips_after_consecutive_failures_then_probes_once() {
        let c = cfg();
        let mut b: Breaker<u64> = Breaker::new(&c);
        assert_eq!(b.admit(&c, 0).0, Admit::Go);
        assert_eq!(b.record(&c, true, 0, 1), None);
        assert_eq!(b.record(&c, false, 1, 2), None, "a success resets the run");
        assert_eq!(b.record(&c, true, 2, 3), None);
        assert_eq!(b.record(&c, true, 3, 4), None);
        assert_eq!(b.record(&c, true, 4, 5), Some(Change::Opened));
        // Open: everything waits until 5 + 10 s.
        assert_eq!(b.admit(&c, 6).0, Admit::Wait(5 + 10 * S));
        assert_eq!(b.admit(&c, 5 + 10 * S - 1).0, Admit::Wait(5 + 10 * S));
        // A late result of an attempt begun before the trip changes nothing.
        assert_eq!(b.record(&c, false, 4, 7), None);
        // Due: one probe; a second caller waits for it.
        assert_eq!(
            b.admit(&c, 5 + 10 * S),
            (Admit::Probe, Some(Change::HalfOpen))
        );
        assert!(matches!(b.admit(&c, 5 + 10 * S + 1).0, Admit::Wait(_)));
        // A result from before the probe is ignored; the probe's failure reopens for 20 s.
        assert_eq!(b.record(&c, true, 4, 10 * S + 100), None);
        let t = 10 * S + 200;
        assert_eq!(b.record(&c, true, 5 + 10 * S, t), Some(Change::Reopened));
        assert_eq!(b.admit(&c, t + 1).0, Admit::Wait(t + 20 * S));
        // Next failed probe: doubled again but capped at 25 s.
        assert_eq!(b.admit(&c, t + 20 * S).0, Admit::Probe);
        let t2 = t + 20 * S + 50;
        assert_eq!(b.record(&c, true, t + 20 * S, t2), Some(Change::Reopened));
        assert_eq!(b.admit(&c, t2).0, Admit::Wait(t2 + 25 * S));
        // A successful probe closes and resets the open time.
        assert_eq!(b.admit(&c, t2 + 25 * S).0, Admit::Probe);
        assert_eq!(
            b.record(&c, false, t2 + 25 * S, t2 + 25 * S + 9),
            Some(Change::Closed)
        );
        assert_eq!(b.admit(&c, t2 + 25 * S + 10).0, Admit::Go);
        assert!(b.is_idle());
        for i in 0..3 {
            b.record(&c, true, 100 * S + i, 100 * S + i);
        }
        assert_eq!(
            b.admit(&c, 100 * S + 3).0,
            Admit::Wait(100 * S + 2 + 10 * S)
        );
    }

    #[test]
    fn a_silent_probe_is_replaced_after_the_probe_timeout() {
        let c = cfg().probe_timeout(Duration::from_secs(4));
        let mut b: Breaker<u64> = Breaker::new(&c);
        for i in 0..3 {
            b.record(&c, true, i, i);
        }
        assert_eq!(b.admit(&c, 10 * S + 2).0, Admit::Probe);
        assert_eq!(b.admit(&c, 10 * S + 3).0, Admit::Wait(14 * S + 2));
        // With a probe timeout longer than the open time, callers look again after
        // one open interval.
        let c2 = cfg().probe_timeout(Duration::from_secs(60));
        let mut b2: Breaker<u64> = Breaker::new(&c2);
        for i in 0..3 {
            b2.record(&c2, true, i, i);
        }
        assert_eq!(b2.admit(&c2, 10 * S + 2).0, Admit::Probe);
        assert_eq!(b2.admit(&c2, 10 * S + 3).0, Admit::Wait(20 * S + 3));
        assert_eq!(b.admit(&c, 14 * S + 2).0, Admit::Probe);
    }

    #[test]
    fn trips_on_failure_rate_over_the_window() {
        // 50 % of at least 10 attempts over 60 s; consecutive rule off.
        let c = CircuitBreaker::new().consecutive_failures(0).failure_rate(
            50,
            10,
            Duration::from_secs(60),
        );
        let mut b: Breaker<u64> = Breaker::new(&c);
        // Alternating: 4 failures of 9 attempts → below the minimum count.
        for i in 0..9u64 {
            assert_eq!(b.record(&c, i % 2 == 1, i * S, i * S), None, "{i}");
        }
        // 10th attempt, a failure: 5 of 10 = 50 % → trips.
        assert_eq!(b.record(&c, true, 9 * S, 9 * S), Some(Change::Opened));
        // Old failures leave the window: 9 failures (under the minimum count), then a
        // minute later 9 successes and a failure: 1 of 10 in the window (would be 10 of
        // 19 without the window).
        let mut b: Breaker<u64> = Breaker::new(&c);
        for i in 0..9 {
            assert_eq!(b.record(&c, true, i, i), None);
        }
        for i in 0..9 {
            assert_eq!(b.record(&c, false, 61 * S + i, 61 * S + i), None);
        }
        assert_eq!(b.record(&c, true, 62 * S, 62 * S), None, "1 of 10 failed");
    }
}
