//! The retry schedule (pure): waits between attempts, classification of an attempt's
//! outcome and `Retry-After` parsing. No I/O, no clock, no sleeping: everything here is a
//! function of its arguments and is tested without sockets or tokio.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Retries after the first attempt (Go: `maxRetries: 5`), so 6 attempts in all.
pub const DEFAULT_MAX_RETRIES: u32 = 5;
/// Wait before the first retry; doubled for each further one (Go: `baseDelay: 1s`).
pub const DEFAULT_BASE_DELAY: Duration = Duration::from_secs(1);
/// Whole-request timeout, connect to last byte read (Go: `http.Client{Timeout: 10s}`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest wait a `Retry-After` header can impose (not in Go, which ignores it).
pub const DEFAULT_RETRY_AFTER_CAP: Duration = Duration::from_secs(60);

/// When to retry and how long to wait: the Go schedule by default (1 attempt + 5
/// retries, waits of 1, 2, 4, 8, 16 s), optionally jittered, lengthened by `Retry-After`.
///
/// ```
/// use std::time::Duration;
/// use foreman_webhook::native::RetryPolicy;
/// let waits: Vec<u64> = RetryPolicy::default().delays().map(|d| d.as_secs()).collect();
/// assert_eq!(waits, [1, 2, 4, 8, 16]);
/// let fast = RetryPolicy::default().with_base_delay(Duration::from_millis(50));
/// assert_eq!(fast.delays().last(), Some(Duration::from_millis(800)));
/// ```
///
/// A schedule can also be a list of waits ([`with_schedule`](Self::with_schedule)), e.g.
/// Svix's minutes-to-hours ladder; such long waits only make sense with a durable outbox
/// (an in-memory dispatcher loses them at shutdown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    jitter: Jitter,
    retry_after_cap: Duration,
    /// The waits before retries 1, 2, ...: replaces the doubling when set (the last
    /// wait repeats if `max_retries` is larger).
    schedule: Option<Arc<[Duration]>>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: DEFAULT_MAX_RETRIES,
            base_delay: DEFAULT_BASE_DELAY,
            jitter: Jitter::None,
            retry_after_cap: DEFAULT_RETRY_AFTER_CAP,
            schedule: None,
        }
    }
}

/// Randomisation of the retry waits, off by default (the Go schedule is exact).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// Waits are exactly the schedule.
    #[default]
    None,
    /// Each wait is drawn uniformly from `[(100 − p) %, 100 %]` of the scheduled wait
    /// (values above 100 are treated as 100). Never longer than the schedule.
    Percent(u8),
}

impl RetryPolicy {
    /// The Go policy; same as `default()`.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the number of retries after the first attempt (0 = a single attempt).
    #[must_use]
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the wait before the first retry; retry `n` waits `base × 2^(n−1)`.
    #[must_use]
    pub fn with_base_delay(mut self, base: Duration) -> Self {
        self.base_delay = base;
        self
    }

    /// Replaces the doubling schedule by an explicit list of waits: retry `n` waits
    /// `waits[n − 1]`, and `max_retries` becomes `waits.len()` (raise it afterwards with
    /// [`with_max_retries`](Self::with_max_retries) to repeat the last wait). An empty
    /// list means a single attempt. Jitter and `Retry-After` apply as usual.
    ///
    /// ```
    /// use std::time::Duration;
    /// use foreman_webhook::native::RetryPolicy;
    /// let min = |m: u64| Duration::from_secs(60 * m);
    /// let svix = RetryPolicy::default().with_schedule(&[
    ///     Duration::from_secs(5), min(5), min(30), min(120), min(300), min(600), min(600),
    /// ]);
    /// assert_eq!(svix.max_attempts(), 8);
    /// assert_eq!(svix.delays().nth(2), Some(min(30)));
    /// ```
    #[must_use]
    pub fn with_schedule(mut self, waits: &[Duration]) -> Self {
        self.max_retries = u32::try_from(waits.len()).unwrap_or(u32::MAX);
        self.schedule = Some(waits.into());
        self
    }

    /// The explicit schedule, if one was set with [`with_schedule`](Self::with_schedule).
    pub fn schedule(&self) -> Option<&[Duration]> {
        self.schedule.as_deref()
    }

    /// The longest scheduled wait (without `Retry-After`): what decides whether the
    /// policy needs a durable store.
    pub fn longest_wait(&self) -> Duration {
        match &self.schedule {
            Some(s) => s.iter().copied().max().unwrap_or(Duration::ZERO),
            None => self.delay(self.max_retries).unwrap_or(Duration::ZERO),
        }
    }

    /// Sets the jitter.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Sets the longest wait a `Retry-After` header may impose.
    #[must_use]
    pub fn with_retry_after_cap(mut self, cap: Duration) -> Self {
        self.retry_after_cap = cap;
        self
    }

    /// Retries after the first attempt.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Attempts in all: `max_retries + 1`.
    pub fn max_attempts(&self) -> u32 {
        self.max_retries.saturating_add(1)
    }

    /// The wait before the first retry.
    pub fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// The jitter setting.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// The longest wait a `Retry-After` header may impose.
    pub fn retry_after_cap(&self) -> Duration {
        self.retry_after_cap
    }

    /// The scheduled (unjittered) wait before retry `retry` (1-based), or `None` past
    /// `max_retries`. Saturates instead of overflowing.
    pub fn delay(&self, retry: u32) -> Option<Duration> {
        if retry == 0 || retry > self.max_retries {
            return None;
        }
        if let Some(s) = &self.schedule {
            let i = usize::try_from(retry - 1).unwrap_or(usize::MAX);
            return s.get(i).or_else(|| s.last()).copied();
        }
        let factor = 1u32.checked_shl(retry - 1).unwrap_or(u32::MAX);
        Some(self.base_delay.saturating_mul(factor))
    }

    /// The scheduled waits before retries `1..=max_retries`: 1, 2, 4, 8, 16 s by default.
    pub fn delays(&self) -> Delays {
        Delays {
            policy: self.clone(),
            next: 1,
            rng: None,
        }
    }

    /// The waits with this policy's jitter applied, drawn from a generator seeded with
    /// `seed` (the same seed gives the same waits).
    pub fn jittered_delays(&self, seed: u64) -> Delays {
        Delays {
            policy: self.clone(),
            next: 1,
            rng: Some(seed),
        }
    }

    /// Applies the jitter to a scheduled wait, using `sample` (any 64 random bits).
    pub fn apply_jitter(&self, wait: Duration, sample: u64) -> Duration {
        match self.jitter {
            Jitter::None | Jitter::Percent(0) => wait,
            Jitter::Percent(p) => {
                let p = u64::from(p.min(100));
                // Fraction in [0, 1) with 24 bits of resolution.
                let frac = (sample >> 40) as f64 / (1u64 << 24) as f64;
                let cut = wait.as_secs_f64() * (p as f64 / 100.0) * frac;
                // `try_`: a cut too large for a `Duration` (only near `Duration::MAX`) must
                // not panic; it is never more than the wait itself.
                wait.saturating_sub(Duration::try_from_secs_f64(cut).unwrap_or(wait))
            }
        }
    }

    /// What to do after attempt number `attempt` (1-based) ended with `outcome`.
    /// `sample` feeds the jitter (ignored without jitter).
    ///
    /// - any 2xx → [`Next::Delivered`];
    /// - a refused destination → [`Next::Rejected`] (never retried);
    /// - anything else → [`Next::RetryIn`] the scheduled wait, lengthened (never
    ///   shortened) by a `Retry-After` on 429/503 capped at [`Self::retry_after_cap`],
    ///   or [`Next::Exhausted`] after the last attempt.
    ///
    /// ```
    /// use std::time::Duration;
    /// use foreman_webhook::native::{AttemptOutcome, Next, RetryPolicy};
    /// let p = RetryPolicy::default();
    /// let ok = AttemptOutcome::Status { code: 204, retry_after: None };
    /// assert_eq!(p.classify(1, &ok, 0), Next::Delivered);
    /// let busy = AttemptOutcome::Status { code: 503, retry_after: Some(Duration::from_secs(30)) };
    /// assert_eq!(p.classify(1, &busy, 0), Next::RetryIn(Duration::from_secs(30)));
    /// assert_eq!(p.classify(6, &AttemptOutcome::Transport, 0), Next::Exhausted);
    /// ```
    pub fn classify(&self, attempt: u32, outcome: &AttemptOutcome, sample: u64) -> Next {
        let retry_after = match *outcome {
            AttemptOutcome::Status { code, .. } if (200..300).contains(&code) => {
                return Next::Delivered
            }
            AttemptOutcome::Refused => return Next::Rejected,
            AttemptOutcome::Status {
                code: 429 | 503,
                retry_after,
            } => retry_after,
            _ => None,
        };
        let Some(wait) = self.delay(attempt) else {
            return Next::Exhausted;
        };
        let wait = self.apply_jitter(wait, sample);
        match retry_after {
            Some(asked) => Next::RetryIn(wait.max(asked.min(self.retry_after_cap))),
            None => Next::RetryIn(wait),
        }
    }
}

/// The waits of a [`RetryPolicy`], one per retry (an `Iterator<Item = Duration>`).
#[derive(Debug, Clone)]
pub struct Delays {
    policy: RetryPolicy,
    next: u32,
    rng: Option<u64>,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let wait = self.policy.delay(self.next)?;
        self.next += 1;
        Some(match &mut self.rng {
            Some(state) => self.policy.apply_jitter(wait, splitmix64(state)),
            None => wait,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = (self.policy.max_retries + 1).saturating_sub(self.next) as usize;
        (left, Some(left))
    }
}

impl ExactSizeIterator for Delays {}

/// SplitMix64: a tiny seedable generator for jitter (not for anything secret).
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// How one attempt ended, as far as the policy cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// A response arrived (any status, including 3xx: redirects are never followed).
    Status {
        /// The HTTP status code.
        code: u16,
        /// The parsed `Retry-After` header, if any (see [`parse_retry_after`]).
        retry_after: Option<Duration>,
    },
    /// No response within the request timeout.
    Timeout,
    /// Connection refused or reset, DNS failure, TLS failure, ...
    Transport,
    /// The destination is forbidden by the [`AddressPolicy`](super::AddressPolicy) (found after resolution).
    Refused,
}

/// The decision after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Next {
    /// A 2xx arrived: done.
    Delivered,
    /// Try again after this wait.
    RetryIn(Duration),
    /// That was the last attempt: log and drop.
    Exhausted,
    /// The destination is forbidden: drop without retrying.
    Rejected,
}

/// Parses a `Retry-After` value: delay-seconds (`"120"`) or an HTTP date
/// (`"Wed, 21 Oct 2015 07:28:00 GMT"`, relative to `now`; a past date is zero).
/// Anything else is `None` (ignored).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use foreman_webhook::native::parse_retry_after;
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400);
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(80)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 is "very long": the cap applies anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_schedule_replaces_the_doubling() {
        let s = |v: &[u64]| {
            v.iter()
                .map(|&x| Duration::from_secs(x))
                .collect::<Vec<_>>()
        };
        let p = RetryPolicy::default().with_schedule(&s(&[3, 60, 600]));
        assert_eq!(p.delays().collect::<Vec<_>>(), s(&[3, 60, 600]));
        assert_eq!(p.max_attempts(), 4);
        assert_eq!(p.longest_wait(), Duration::from_secs(600));
        let fail = AttemptOutcome::Status {
            code: 500,
            retry_after: None,
        };
        assert_eq!(
            p.classify(2, &fail, 0),
            Next::RetryIn(Duration::from_secs(60))
        );
        assert_eq!(p.classify(4, &fail, 0), Next::Exhausted);
        // More retries than waits: the last wait repeats.
        let longer = p.clone().with_max_retries(5);
        assert_eq!(
            longer.delays().collect::<Vec<_>>(),
            s(&[3, 60, 600, 600, 600])
        );
        // Retry-After still lengthens a wait; an empty schedule is one attempt.
        let busy = AttemptOutcome::Status {
            code: 503,
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(
            p.classify(1, &busy, 0),
            Next::RetryIn(Duration::from_secs(30))
        );
        let once = RetryPolicy::default().with_schedule(&[]);
        assert_eq!(once.classify(1, &fail, 0), Next::Exhausted);
        assert_eq!(
            RetryPolicy::default().longest_wait(),
            Duration::from_secs(16)
        );
    }

    #[test]
    fn go_schedule() {
        let p = RetryPolicy::default();
        let waits: Vec<_> = p.delays().collect();
        assert_eq!(
            waits,
            [1, 2, 4, 8, 16].map(Duration::from_secs),
            "1 attempt + 5 retries"
        );
        assert_eq!(p.max_attempts(), 6);
        assert_eq!(p.delays().len(), 5);
        assert_eq!(p.delay(0), None);
        assert_eq!(p.delay(6), None);
        let big = p.with_max_retries(80);
        assert_eq!(
            big.delay(80),
            Some(Duration::from_secs(u64::from(u32::MAX)))
        );
        assert!(big.delays().all(|d| d >= Duration::from_secs(1)));
    }

    #[test]
    fn classify_walks_the_schedule_to_exhaustion() {
        let p = RetryPolicy::default();
        let fail = AttemptOutcome::Status {
            code: 500,
            retry_after: None,
        };
        let mut waits = vec![];
        let mut attempt = 1;
        loop {
            match p.classify(attempt, &fail, 7) {
                Next::RetryIn(d) => waits.push(d.as_secs()),
                Next::Exhausted => break,
                other => panic!("{other:?}"),
            }
            attempt += 1;
        }
        assert_eq!(attempt, 6, "exhausted after exactly 6 attempts");
        assert_eq!(waits, [1, 2, 4, 8, 16]);
    }

    #[test]
    fn classify_statuses() {
        let p = RetryPolicy::default();
        for code in [200, 201, 204, 299] {
            let o = AttemptOutcome::Status {
                code,
                retry_after: None,
            };
            assert_eq!(p.classify(1, &o, 0), Next::Delivered, "{code}");
        }
        for code in [100, 301, 302, 307, 308, 400, 404, 410, 500, 599] {
            let o = AttemptOutcome::Status {
                code,
                retry_after: None,
            };
            assert_eq!(
                p.classify(1, &o, 0),
                Next::RetryIn(Duration::from_secs(1)),
                "{code}"
            );
        }
        assert_eq!(
            p.classify(2, &AttemptOutcome::Timeout, 0),
            Next::RetryIn(Duration::from_secs(2))
        );
        assert_eq!(p.classify(1, &AttemptOutcome::Refused, 0), Next::Rejected);
    }

    #[test]
    fn retry_after_lengthens_caps_and_never_shortens() {
        let p = RetryPolicy::default().with_retry_after_cap(Duration::from_secs(30));
        let ra = |code, secs| AttemptOutcome::Status {
            code,
            retry_after: Some(Duration::from_secs(secs)),
        };
        assert_eq!(
            p.classify(1, &ra(429, 10), 0),
            Next::RetryIn(Duration::from_secs(10))
        );
        assert_eq!(
            p.classify(1, &ra(503, 3600), 0),
            Next::RetryIn(Duration::from_secs(30)),
            "capped"
        );
        assert_eq!(
            p.classify(5, &ra(503, 1), 0),
            Next::RetryIn(Duration::from_secs(16)),
            "never shorter than the schedule"
        );
        assert_eq!(
            p.classify(1, &ra(500, 10), 0),
            Next::RetryIn(Duration::from_secs(1)),
            "only 429 and 503"
        );
        assert_eq!(p.classify(6, &ra(503, 10), 0), Next::Exhausted);
    }

    #[test]
    fn retry_after_parsing() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_400);
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(80))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO),
            "past date"
        );
        for bad in [
            "",
            "-1",
            "1.5",
            "soon",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "1e3",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn jitter_is_seeded_bounded_and_off_by_default() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.jittered_delays(1).collect::<Vec<_>>(),
            p.delays().collect::<Vec<_>>()
        );
        let j = p.clone().with_jitter(Jitter::Percent(50));
        let a: Vec<_> = j.jittered_delays(42).collect();
        assert_eq!(a, j.jittered_delays(42).collect::<Vec<_>>(), "seeded");
        assert_ne!(a, j.jittered_delays(43).collect::<Vec<_>>());
        for (got, nominal) in a.iter().zip(p.delays()) {
            assert!(
                *got <= nominal && *got >= nominal / 2,
                "{got:?} vs {nominal:?}"
            );
        }
    }
}
