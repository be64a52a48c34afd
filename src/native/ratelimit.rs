//! The rate limit per destination (pure): a token bucket over a caller-given clock.
//! The scheduler asks before each attempt; a delivery without a token waits in its
//! destination's queue (or, with a durable store, back in the store) until one is due.

use std::time::Duration;

use super::schedule::Moment;

/// At most `per_second` attempts per second to one destination (`host[:port]`), with
/// bursts of up to `burst` (default 1), given to
/// [`DispatcherBuilder::rate_limit`](super::DispatcherBuilder::rate_limit) (every
/// destination) or [`rate_limit_host`](super::DispatcherBuilder::rate_limit_host) (one).
///
/// The limit is per process: a fleet of N relays sends up to N × the limit.
///
/// ```
/// use foreman_webhook::native::RateLimit;
/// let limit = RateLimit::per_second(50.0).burst(10);
/// assert_eq!(limit.rate(), 50.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    per_second: f64,
    burst: u32,
}

impl RateLimit {
    /// `per_second` attempts per second (a value ≤ 0 or not finite is treated as one
    /// attempt per hour), burst 1.
    pub fn per_second(per_second: f64) -> Self {
        let per_second = if per_second.is_finite() && per_second > 0.0 {
            per_second
        } else {
            1.0 / 3600.0
        };
        Self {
            per_second,
            burst: 1,
        }
    }

    /// Allows up to `burst` attempts at once after a quiet period (at least 1).
    #[must_use]
    pub fn burst(mut self, burst: u32) -> Self {
        self.burst = burst.max(1);
        self
    }

    /// Attempts per second.
    pub fn rate(&self) -> f64 {
        self.per_second
    }

    /// The burst size.
    pub fn burst_size(&self) -> u32 {
        self.burst
    }

    fn interval(&self) -> Duration {
        Duration::try_from_secs_f64(1.0 / self.per_second).unwrap_or(Duration::from_secs(3600))
    }
}

/// One destination's bucket.
#[derive(Debug)]
pub(crate) struct Bucket<T> {
    tokens: f64,
    last: T,
    /// With a durable store: the next free slot handed to a delivery given back to the
    /// store, so that deferred deliveries come back spread at the rate.
    next_slot: T,
    /// When a waiting delivery was told a token would be there: a wake-up that comes
    /// later than that is credited (up to one token), so timer lateness does not lower
    /// the rate below the limit.
    promised: Option<T>,
}

impl<T: Moment> Bucket<T> {
    /// A full bucket.
    pub(crate) fn new(limit: &RateLimit, now: T) -> Self {
        Self {
            tokens: f64::from(limit.burst),
            last: now,
            next_slot: now,
            promised: None,
        }
    }

    fn refill(&mut self, limit: &RateLimit, now: T) {
        if now > self.last {
            let add = now.since(self.last).as_secs_f64() * limit.per_second;
            // A wake-up up to one interval late is credited; a promise nobody came back
            // for (an idle destination) is not.
            let late = self
                .promised
                .is_some_and(|p| now > p && now.since(p) <= limit.interval());
            let cap = f64::from(limit.burst) + if late { 1.0 } else { 0.0 };
            self.tokens = (self.tokens + add).min(cap);
            self.last = now;
        }
    }

    /// `None` when a token is there now, else when the next one will be.
    pub(crate) fn ready_at(&mut self, limit: &RateLimit, now: T) -> Option<T> {
        self.refill(limit, now);
        if self.tokens >= 1.0 {
            return None;
        }
        let missing = (1.0 - self.tokens) / limit.per_second;
        // Round up to the next microsecond so that the answer is never early.
        let wait = Duration::from_micros((missing * 1e6).ceil() as u64);
        let at = now.after(wait);
        self.promised = Some(at);
        Some(at)
    }

    /// Takes one token (call after `ready_at` said `None`).
    pub(crate) fn take(&mut self) {
        self.tokens -= 1.0;
        if self.tokens < 1.0 {
            self.promised = None;
        }
    }

    /// A time to come back for a delivery that cannot wait here: the first free slot at
    /// or after the next token, one interval after the previous slot handed out.
    /// `ahead` deliveries waiting in memory take the next tokens before it.
    pub(crate) fn defer_slot(&mut self, limit: &RateLimit, now: T, ahead: usize) -> T {
        let first = self.ready_at(limit, now).unwrap_or(now);
        let ahead = u32::try_from(ahead).unwrap_or(u32::MAX);
        let at = first.after(limit.interval().saturating_mul(ahead));
        let slot = if self.next_slot > at {
            self.next_slot
        } else {
            at
        };
        self.next_slot = slot.after(limit.interval());
        slot
    }

    /// `true` when full (the entry may be dropped).
    pub(crate) fn is_full(&mut self, limit: &RateLimit, now: T) -> bool {
        self.refill(limit, now);
        self.tokens >= f64::from(limit.burst) && self.next_slot <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives the bucket with a clock in milliseconds: every time an attempt may go,
    /// it goes; returns the start times.
    fn run(limit: RateLimit, until_us: u64) -> Vec<u64> {
        let mut b: Bucket<u64> = Bucket::new(&limit, 0);
        let mut now = 0u64;
        let mut starts = Vec::new();
        while now < until_us {
            match b.ready_at(&limit, now) {
                None => {
                    b.take();
                    starts.push(now);
                }
                Some(t) => {
                    assert!(t > now);
                    now = t;
                }
            }
        }
        starts
    }

    #[test]
    fn steady_rate_and_burst() {
        // 10/s, burst 1, for 10 s: one every 100 ms.
        let starts = run(RateLimit::per_second(10.0), 10_000);
        assert_eq!(starts.len(), 100, "10 s at 10/s, first token at once");
        assert!(starts.windows(2).all(|w| w[1] - w[0] == 100), "{starts:?}");
        // Burst 5: five at once, then one every 100 ms.
        let starts = run(RateLimit::per_second(10.0).burst(5), 1_000);
        assert_eq!(&starts[..6], &[0, 0, 0, 0, 0, 100]);
        assert_eq!(starts.len(), 5 + 9);
    }

    #[test]
    fn late_wake_ups_do_not_lower_the_rate_and_idle_time_adds_no_burst() {
        // Every wake-up comes 30 ms late: still 10/s over 10 s (±1).
        let limit = RateLimit::per_second(10.0);
        let mut b: Bucket<u64> = Bucket::new(&limit, 0);
        let (mut now, mut starts) = (0u64, Vec::new());
        while now < 10_000 {
            match b.ready_at(&limit, now) {
                None => {
                    b.take();
                    starts.push(now);
                }
                Some(t) => now = t + 30,
            }
        }
        assert!((99..=101).contains(&starts.len()), "{}", starts.len());
        // The credit is at most one token: never 3 starts within one interval.
        assert!(starts.windows(3).all(|w| w[2] - w[0] >= 100), "{starts:?}");
        // After an idle minute, burst 1 still means one at once.
        assert_eq!(b.ready_at(&limit, 70_000), None);
        b.take();
        assert!(b.ready_at(&limit, 70_000).is_some());
    }

    #[test]
    fn deferred_slots_are_spread_at_the_rate() {
        let limit = RateLimit::per_second(4.0);
        let mut b: Bucket<u64> = Bucket::new(&limit, 0);
        assert_eq!(b.ready_at(&limit, 0), None);
        b.take();
        let slots: Vec<u64> = (0..4).map(|_| b.defer_slot(&limit, 10, 0)).collect();
        assert_eq!(slots, [250, 500, 750, 1000]);
        assert!(!b.is_full(&limit, 900));
        assert!(b.is_full(&limit, 1250));
    }

    #[test]
    fn nonsense_rates_are_slow_not_panics() {
        for r in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let l = RateLimit::per_second(r);
            assert!(l.rate() > 0.0 && l.rate() < 1.0);
        }
    }
}
