//! The scheduling decisions (pure): which retries are due, and which ready deliveries may
//! start under the global and per-host concurrency limits. No clock, no tokio: the caller
//! passes "now" and gets back the work to start, so it is unit-tested without a runtime.
//!
//! A delivery whose host is at its limit waits in that host's queue (so one slow
//! receiver cannot hold the global slots) and moves to the front of the ready queue when
//! one of that host's attempts ends.
//!
//! Order of service when a slot is free: due retries first (earliest due first), then the
//! ready queue (deliveries a host released, claimed durable rows), then fresh events
//! ([`Sched::push_fresh`]: what `fire` sent over the dispatcher's lock-free channel). So
//! a burst of fresh events can delay a due retry by at most the attempts already in
//! flight, never by the length of the burst.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The latest deadline the scheduler arms: 30 years from now (tokio's own "far future").
/// A longer wait (`base_delay(Duration::MAX)`, a huge `Retry-After` under an unbounded
/// cap, a shutdown deadline of `Duration::MAX`) is due at this horizon instead of
/// overflowing the clock: the delivery stays pending until it is due or shutdown
/// abandons it, and still ends in exactly one outcome.
pub(crate) const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// `now + wait`, saturating at `now + FAR_FUTURE`: never panics, never earlier than
/// `now`.
pub(crate) fn deadline(now: Instant, wait: Duration) -> Instant {
    now.checked_add(wait.min(FAR_FUTURE))
        .or_else(|| now.checked_add(Duration::from_secs(86_400)))
        .unwrap_or(now)
}

/// The dispatcher's scheduler clock: nanoseconds since the dispatcher's start, 8 bytes
/// per waiting retry (a `tokio::time::Instant` is 16). A type of its own, not a bare
/// `u64`, so it cannot be mixed up with another unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Tick(pub(crate) u64);

impl Tick {
    /// `self + d`, saturating.
    pub(crate) fn after(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// `self − earlier`, zero if `earlier` is later.
    pub(crate) fn since(self, earlier: Self) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

/// What the scheduler needs to know about a delivery.
pub(crate) trait Schedulable {
    /// The per-destination key (`host[:port]`).
    fn host_key(&self) -> &str;
    /// A tie-breaker among retries due at the same instant (lower first).
    fn order(&self) -> u64;
}

/// Ready deliveries, scheduled retries and the slots in use. `T` is the clock's instant.
pub(crate) struct Sched<J, T> {
    timers: BinaryHeap<Timer<J, T>>,
    /// Retries whose time has come, earliest first: served before anything else.
    due: VecDeque<J>,
    ready: VecDeque<J>,
    /// Fresh events, in the order `fire` sent them: served last.
    fresh: VecDeque<J>,
    hosts: HashMap<Box<str>, HostSlots<J>>,
    active: usize,
}

struct HostSlots<J> {
    active: usize,
    waiting: VecDeque<J>,
}

impl<J> Default for HostSlots<J> {
    fn default() -> Self {
        Self {
            active: 0,
            waiting: VecDeque::new(),
        }
    }
}

impl<J: Schedulable, T: Ord> Default for Sched<J, T> {
    fn default() -> Self {
        Self {
            timers: BinaryHeap::new(),
            due: VecDeque::new(),
            ready: VecDeque::new(),
            fresh: VecDeque::new(),
            hosts: HashMap::new(),
            active: 0,
        }
    }
}

/// A retry waiting for its time; ordered so that `BinaryHeap` pops the earliest first.
struct Timer<J, T> {
    due: T,
    job: J,
}

impl<J: Schedulable, T: Ord> PartialEq for Timer<J, T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<J: Schedulable, T: Ord> Eq for Timer<J, T> {}

impl<J: Schedulable, T: Ord> PartialOrd for Timer<J, T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<J: Schedulable, T: Ord> Ord for Timer<J, T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the max-heap's top is the earliest deadline (then the lowest order).
        other
            .due
            .cmp(&self.due)
            .then_with(|| other.job.order().cmp(&self.job.order()))
    }
}

impl<J: Schedulable, T: Ord + Copy> Sched<J, T> {
    /// Queues a delivery to start as soon as the limits allow.
    pub(crate) fn push_ready(&mut self, job: J) {
        self.ready.push_back(job);
    }

    /// Schedules a retry at `due`; `true` if it is now the earliest (the caller's timer
    /// must be re-armed).
    pub(crate) fn push_timer(&mut self, due: T, job: J) -> bool {
        let earliest = self.timers.peek().is_none_or(|head| due < head.due);
        self.timers.push(Timer { due, job });
        earliest
    }

    /// Queues a fresh event, behind the due retries and the ready queue.
    pub(crate) fn push_fresh(&mut self, job: J) {
        self.fresh.push_back(job);
    }

    /// Moves every retry due at or before `now` to the due queue, then picks what may
    /// start: at most `max_concurrency` in all and `max_per_host` per host, due retries
    /// first, then the ready queue, then fresh events. The picked deliveries hold their
    /// slots until [`release`](Self::release).
    pub(crate) fn start(&mut self, now: T, max_concurrency: usize, max_per_host: usize) -> Vec<J> {
        while self.timers.peek().is_some_and(|t| t.due <= now) {
            if let Some(t) = self.timers.pop() {
                self.due.push_back(t.job);
            }
        }
        let mut start = Vec::new();
        while self.active < max_concurrency {
            let Some(job) = self
                .due
                .pop_front()
                .or_else(|| self.ready.pop_front())
                .or_else(|| self.fresh.pop_front())
            else {
                break;
            };
            let slots = match self.hosts.get_mut(job.host_key()) {
                Some(slots) => slots,
                None => self.hosts.entry(job.host_key().into()).or_default(),
            };
            if slots.active >= max_per_host {
                slots.waiting.push_back(job);
                continue;
            }
            slots.active += 1;
            self.active += 1;
            start.push(job);
        }
        // Give back the memory of a burst once it has drained.
        if self.timers.is_empty() && self.timers.capacity() > 1024 {
            self.timers.shrink_to_fit();
        }
        for queue in [&mut self.due, &mut self.ready, &mut self.fresh] {
            if queue.is_empty() && queue.capacity() > 1024 {
                queue.shrink_to_fit();
            }
        }
        start
    }

    /// Frees the slots an attempt to `host` held; the next delivery waiting for that host
    /// goes to the front of the ready queue.
    pub(crate) fn release(&mut self, host: &str) {
        self.active = self.active.saturating_sub(1);
        if let Some(slots) = self.hosts.get_mut(host) {
            slots.active = slots.active.saturating_sub(1);
            if let Some(next) = slots.waiting.pop_front() {
                self.ready.push_front(next);
            }
            if slots.active == 0 && slots.waiting.is_empty() {
                self.hosts.remove(host);
            }
        }
    }

    /// When the earliest scheduled retry is due.
    pub(crate) fn next_due(&self) -> Option<T> {
        self.timers.peek().map(|t| t.due)
    }

    /// Takes every delivery not started (ready, waiting for a host, scheduled).
    pub(crate) fn take_all(&mut self) -> Vec<J> {
        let mut all: Vec<J> = self.due.drain(..).collect();
        all.extend(self.ready.drain(..));
        all.extend(self.fresh.drain(..));
        all.extend(self.timers.drain().map(|t| t.job));
        for slots in self.hosts.values_mut() {
            all.extend(slots.waiting.drain(..));
        }
        all
    }

    /// Whether a global slot is free.
    pub(crate) fn has_room(&self, max_concurrency: usize) -> bool {
        self.active < max_concurrency
    }

    /// Requests in flight.
    #[cfg(test)]
    pub(crate) fn active(&self) -> usize {
        self.active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct J(u64, &'static str);

    impl Schedulable for J {
        fn host_key(&self) -> &str {
            self.1
        }
        fn order(&self) -> u64 {
            self.0
        }
    }

    fn ids(v: &[J]) -> Vec<u64> {
        v.iter().map(|j| j.0).collect()
    }

    #[test]
    fn retries_start_when_due_earliest_first() {
        let mut s: Sched<J, u32> = Sched::default();
        assert!(s.push_timer(30, J(1, "a")));
        assert!(s.push_timer(10, J(2, "a")));
        assert!(!s.push_timer(20, J(3, "a")));
        assert!(!s.push_timer(10, J(0, "a")));
        assert_eq!(s.next_due(), Some(10));
        assert!(s.start(9, 64, 8).is_empty(), "nothing due yet");
        assert_eq!(ids(&s.start(10, 64, 8)), [0, 2], "ties by order");
        assert_eq!(ids(&s.start(100, 64, 8)), [3, 1]);
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn global_limit_holds_and_release_frees_a_slot() {
        let mut s: Sched<J, u32> = Sched::default();
        for i in 0..5 {
            s.push_ready(J(i, if i % 2 == 0 { "a" } else { "b" }));
        }
        assert_eq!(ids(&s.start(0, 3, 8)), [0, 1, 2]);
        assert_eq!(s.active(), 3);
        assert!(s.start(0, 3, 8).is_empty(), "all global slots taken");
        s.release("b");
        assert_eq!(ids(&s.start(0, 3, 8)), [3]);
        assert_eq!(s.active(), 3);
    }

    #[test]
    fn a_busy_host_waits_without_holding_global_slots() {
        let mut s: Sched<J, u32> = Sched::default();
        for i in 0..4 {
            s.push_ready(J(i, "slow"));
        }
        s.push_ready(J(9, "fast"));
        // Two per host: slow gets 2, the other slow ones wait, fast still starts.
        assert_eq!(ids(&s.start(0, 10, 2)), [0, 1, 9]);
        s.release("slow");
        // The first waiting delivery for "slow" goes first.
        assert_eq!(ids(&s.start(0, 10, 2)), [2]);
        s.release("slow");
        s.release("slow");
        assert_eq!(ids(&s.start(0, 10, 2)), [3]);
    }

    #[test]
    fn due_retries_start_before_ready_and_fresh_deliveries() {
        let mut s: Sched<J, u32> = Sched::default();
        for i in 100..110 {
            s.push_fresh(J(i, "h"));
        }
        s.push_ready(J(50, "h"));
        s.push_timer(5, J(2, "h"));
        s.push_timer(3, J(1, "h"));
        s.push_timer(9, J(3, "h"));
        // Two slots: the two due retries win over the ready one and the fresh burst.
        assert_eq!(ids(&s.start(6, 2, 8)), [1, 2]);
        s.release("h");
        assert_eq!(ids(&s.start(6, 2, 8)), [50]);
        s.release("h");
        // The third retry comes due while the fresh burst waits: it still goes first.
        assert_eq!(ids(&s.start(9, 2, 8)), [3]);
        s.release("h");
        s.release("h");
        assert_eq!(ids(&s.start(9, 2, 8)), [100, 101]);
        assert!(!s.has_room(2));
        assert_eq!(s.take_all().len(), 8);
    }

    #[test]
    fn fresh_events_for_a_busy_host_wait_there_and_others_still_start() {
        let mut s: Sched<J, u32> = Sched::default();
        for j in [J(1, "slow"), J(2, "slow"), J(3, "slow"), J(4, "fast")] {
            s.push_fresh(j);
        }
        assert_eq!(ids(&s.start(0, 10, 1)), [1, 4]);
        s.release("slow");
        assert_eq!(ids(&s.start(0, 10, 1)), [2]);
        let mut rest = ids(&s.take_all());
        rest.sort_unstable();
        assert_eq!(rest, [3]);
    }

    #[test]
    fn ticks_saturate_and_order_like_the_durations() {
        let t = Tick(5).after(Duration::from_millis(2));
        assert_eq!(t, Tick(2_000_005));
        assert_eq!(t.since(Tick(5)), Duration::from_millis(2));
        assert_eq!(Tick(5).since(t), Duration::ZERO);
        assert_eq!(Tick(1).after(Duration::MAX), Tick(u64::MAX));
        assert!(Tick(1) < Tick(2));
    }

    #[test]
    fn take_all_returns_everything_not_started() {
        let mut s: Sched<J, u32> = Sched::default();
        s.push_ready(J(1, "h"));
        s.push_ready(J(2, "h"));
        s.push_timer(50, J(3, "h"));
        assert_eq!(ids(&s.start(0, 10, 1)), [1]);
        let mut rest = ids(&s.take_all());
        rest.sort_unstable();
        assert_eq!(rest, [2, 3]);
        assert!(s.take_all().is_empty());
    }
}

/// The schedule under arbitrary (legal) durations: deadlines saturate, and every
/// delivery the retry policy reschedules comes out of the scheduler exactly once.
#[cfg(test)]
mod props {
    use super::*;
    use crate::native::retry::{AttemptOutcome, Jitter, Next, RetryPolicy};
    use proptest::prelude::*;

    #[derive(Debug, PartialEq)]
    struct J(u64);

    impl Schedulable for J {
        fn host_key(&self) -> &str {
            "h"
        }
        fn order(&self) -> u64 {
            self.0
        }
    }

    fn any_duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::MAX),
            Just(Duration::ZERO),
            Just(FAR_FUTURE),
            Just(FAR_FUTURE + Duration::from_nanos(1)),
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
            (u64::MAX - 1000..=u64::MAX, 0u32..1_000_000_000)
                .prop_map(|(s, n)| Duration::new(s, n)),
            (0u64..10_000_000).prop_map(Duration::from_millis),
        ]
    }

    fn any_outcome() -> impl Strategy<Value = AttemptOutcome> {
        prop_oneof![
            Just(AttemptOutcome::Transport),
            Just(AttemptOutcome::Timeout),
            (
                prop_oneof![Just(429u16), Just(503), Just(500), 300u16..600],
                proptest::option::of(any_duration())
            )
                .prop_map(|(code, retry_after)| AttemptOutcome::Status { code, retry_after }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

        #[test]
        fn deadlines_saturate_at_the_far_future(offset_ms in 0u64..10_000_000, wait in any_duration()) {
            let now = Instant::now() + Duration::from_millis(offset_ms);
            let due = deadline(now, wait);
            prop_assert!(due >= now);
            prop_assert_eq!(due - now, wait.min(FAR_FUTURE));
        }

        #[test]
        fn every_rescheduled_delivery_comes_out_once_in_deadline_order(
            base in any_duration(),
            cap in any_duration(),
            retries in 0u32..70,
            jitter in 0u8..=120,
            outcomes in proptest::collection::vec((0u64..8, any_outcome(), any::<u64>()), 1..40),
        ) {
            let policy = RetryPolicy::default()
                .with_base_delay(base)
                .with_retry_after_cap(cap)
                .with_max_retries(retries)
                .with_jitter(Jitter::Percent(jitter));
            let t0 = Instant::now();
            let mut s: Sched<J, Instant> = Sched::default();
            let mut attempts = [0u32; 8];
            let mut scheduled = Vec::new();
            let mut ended = 0usize;
            for (n, (job, outcome, sample)) in outcomes.iter().enumerate() {
                let job = *job as usize;
                attempts[job] += 1;
                match policy.classify(attempts[job], outcome, *sample) {
                    Next::RetryIn(wait) => {
                        // Never shorter than the retry-after asked (as capped), never
                        // longer than the larger of the schedule and the cap.
                        if let AttemptOutcome::Status { code: 429 | 503, retry_after: Some(asked) } = outcome {
                            prop_assert!(wait >= (*asked).min(cap));
                        }
                        let nominal = policy.delay(attempts[job]).unwrap_or(Duration::ZERO);
                        prop_assert!(wait <= nominal.max(cap));
                        let now = t0 + Duration::from_millis(n as u64);
                        let due = deadline(now, wait);
                        s.push_timer(due, J(n as u64));
                        scheduled.push((due, n as u64));
                    }
                    Next::Exhausted => {
                        prop_assert!(attempts[job] > retries);
                        attempts[job] = 0;
                        ended += 1;
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
            prop_assert_eq!(ended + scheduled.len(), outcomes.len());
            // Everything comes due by the far future; earliest first, ties by order.
            scheduled.sort();
            let end = deadline(t0 + Duration::from_secs(1), FAR_FUTURE);
            let got: Vec<u64> = s.start(end, usize::MAX, usize::MAX).into_iter().map(|j| j.0).collect();
            prop_assert_eq!(got, scheduled.iter().map(|(_, n)| *n).collect::<Vec<_>>());
            prop_assert!(s.next_due().is_none() && s.take_all().is_empty());
        }
    }
}
