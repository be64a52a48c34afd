//! The scheduling decisions (pure): which retries are due, and which ready deliveries may
//! start under the global and per-host concurrency limits. No clock, no tokio: the caller
//! passes "now" and gets back the work to start, so it is unit-tested without a runtime.
//!
//! A delivery whose host is at its limit waits in that host's queue (so one slow
//! receiver cannot hold the global slots) and moves to the front of the ready queue when
//! one of that host's attempts ends. The same queue holds deliveries whose destination's
//! circuit is open or whose rate limit has no token left ([`Gates`]); with a durable
//! store those are handed back instead (`start` returns them as deferred). Ordered
//! deliveries of one (job, URL) pair wait behind each other ([`Sched::push_ordered`]).
//!
//! Order of service when a slot is free: due retries first (earliest due first), then the
//! ready queue (deliveries a host released, claimed durable rows), then fresh events
//! ([`Sched::push_fresh`]: what `fire` sent over the dispatcher's lock-free channel). So
//! a burst of fresh events can delay a due retry by at most the attempts already in
//! flight, never by the length of the burst.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::breaker::{Admit, Breaker, Change, CircuitBreaker};
use super::ratelimit::{Bucket, RateLimit};
use super::timers::Timers;

/// A point in time of the scheduler's clock: tokio's or std's `Instant`, or a plain
/// number of milliseconds in the unit tests.
pub(crate) trait Moment: Ord + Copy {
    /// `self + d`, saturating (never earlier than `self`).
    fn after(self, d: Duration) -> Self;
    /// `self − earlier`, zero if `earlier` is later.
    fn since(self, earlier: Self) -> Duration;
    /// `self − d`, or `self` if that is not representable.
    fn before(self, d: Duration) -> Self;
}

impl Moment for Instant {
    fn after(self, d: Duration) -> Self {
        deadline(self, d)
    }
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
    fn before(self, d: Duration) -> Self {
        self.checked_sub(d).unwrap_or(self)
    }
}

impl Moment for tokio::time::Instant {
    fn after(self, d: Duration) -> Self {
        tokio::time::Instant::from_std(deadline(self.into_std(), d))
    }
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
    fn before(self, d: Duration) -> Self {
        self.checked_sub(d).unwrap_or(self)
    }
}

/// Milliseconds (tests).
impl Moment for u64 {
    fn after(self, d: Duration) -> Self {
        // Rounded up: a wait is never cut short.
        let ms = d.as_nanos().div_ceil(1_000_000);
        self.saturating_add(u64::try_from(ms).unwrap_or(u64::MAX))
    }
    fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.saturating_sub(earlier))
    }
    fn before(self, d: Duration) -> Self {
        self.saturating_sub(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// With a durable store, how far ahead of its token a rate-limited delivery handed back to
/// the store comes back (and how many tokens' worth are kept in memory): claims are
/// database round trips that arrive late under load; a buffer this deep absorbs that.
const RATE_LEAD: Duration = Duration::from_millis(500);

/// The per-destination policies: circuit breaker and rate limits (none by default).
#[derive(Debug, Clone, Default)]
pub(crate) struct GatePolicy {
    pub(crate) breaker: Option<CircuitBreaker>,
    pub(crate) rate: Option<RateLimit>,
    pub(crate) host_rates: HashMap<String, RateLimit>,
}

impl GatePolicy {
    fn is_off(&self) -> bool {
        self.breaker.is_none() && self.rate.is_none() && self.host_rates.is_empty()
    }

    fn rate_for(&self, host: &str) -> Option<&RateLimit> {
        self.host_rates.get(host).or(self.rate.as_ref())
    }
}

/// One destination's breaker and bucket.
struct Gate<T> {
    breaker: Option<Breaker<T>>,
    bucket: Option<Bucket<T>>,
}

/// The breakers and buckets of every destination seen (an entry is dropped when it
/// holds nothing: breaker closed and clean, bucket full).
pub(crate) struct Gates<T> {
    policy: GatePolicy,
    map: HashMap<Box<str>, Gate<T>>,
}

/// A gate's answer for one attempt.
enum Pass<T> {
    Go,
    /// Not before this time; `true` when the wait comes from the rate limit.
    Wait(T, bool),
}

impl<T: Moment> Gates<T> {
    fn new(policy: GatePolicy) -> Self {
        Self {
            policy,
            map: HashMap::new(),
        }
    }

    /// The destination's gate, created on first use (no allocation when it exists).
    fn gate(&mut self, host: &str, now: T) -> Option<&mut Gate<T>> {
        if !self.map.contains_key(host) {
            let gate = Gate {
                breaker: self.policy.breaker.as_ref().map(Breaker::new),
                bucket: self.policy.rate_for(host).map(|l| Bucket::new(l, now)),
            };
            self.map.insert(host.into(), gate);
        }
        self.map.get_mut(host)
    }

    /// May an attempt to `host` start at `now`? Consumes a token / marks the probe.
    fn admit(&mut self, host: &str, now: T, changes: &mut Vec<(Box<str>, Change)>) -> Pass<T> {
        if self.policy.is_off() {
            return Pass::Go;
        }
        let limit = self.policy.rate_for(host).copied();
        let breaker_cfg = self.policy.breaker.clone();
        let Some(gate) = self.gate(host, now) else {
            return Pass::Go;
        };
        if let (Some(bucket), Some(limit)) = (&mut gate.bucket, &limit) {
            if let Some(at) = bucket.ready_at(limit, now) {
                return Pass::Wait(at, true);
            }
        }
        if let (Some(breaker), Some(cfg)) = (&mut gate.breaker, &breaker_cfg) {
            let (admit, change) = breaker.admit(cfg, now);
            if let Some(c) = change {
                changes.push((host.into(), c));
            }
            if let Admit::Wait(at) = admit {
                return Pass::Wait(at, false);
            }
        }
        if let Some(bucket) = &mut gate.bucket {
            bucket.take();
        }
        Pass::Go
    }

    /// How many deliveries to a rate-limited `host` a durable scheduler keeps in memory
    /// waiting for tokens: `max_per_host`, or `RATE_LEAD` worth of tokens if more.
    fn keep(&self, host: &str, max_per_host: usize) -> usize {
        let lead = self
            .policy
            .rate_for(host)
            .map_or(0.0, |l| (l.rate() * RATE_LEAD.as_secs_f64()).ceil());
        max_per_host.max(lead as usize)
    }

    /// A slot for a delivery handed back to the store after a rate-limit wait;
    /// `ahead`: deliveries kept in memory that take the next tokens first.
    fn defer_slot(&mut self, host: &str, now: T, ahead: usize) -> T {
        let limit = self.policy.rate_for(host).copied();
        match (
            limit,
            self.map.get_mut(host).and_then(|g| g.bucket.as_mut()),
        ) {
            // Back half a lead early: it then waits here, in the buffer, for its token.
            (Some(limit), Some(bucket)) => {
                let slot = bucket.defer_slot(&limit, now, ahead).before(RATE_LEAD / 2);
                if slot > now {
                    slot
                } else {
                    now
                }
            }
            _ => now,
        }
    }

    fn record(&mut self, host: &str, failed: bool, started: T, now: T) -> Option<Change> {
        let cfg = self.policy.breaker.clone()?;
        let gate = self.map.get_mut(host)?;
        let change = gate.breaker.as_mut()?.record(&cfg, failed, started, now);
        let limit = self.policy.rate_for(host).copied();
        let idle = gate.breaker.as_ref().is_none_or(Breaker::is_idle)
            && match (&mut gate.bucket, &limit) {
                (Some(b), Some(l)) => b.is_full(l, now),
                _ => true,
            };
        if idle {
            self.map.remove(host);
        }
        change
    }
}

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

impl Moment for Tick {
    fn after(self, d: Duration) -> Self {
        Tick::after(self, d)
    }
    fn since(self, earlier: Self) -> Duration {
        Tick::since(self, earlier)
    }
    fn before(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_sub(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }
}

/// What the scheduler needs to know about a delivery.
pub(crate) trait Schedulable {
    /// The per-destination key (`host[:port]`).
    fn host_key(&self) -> &str;
    /// A tie-breaker among retries due at the same instant (lower first).
    fn order(&self) -> u64;
    /// Called when the delivery is put aside to wait (a host's queue, behind its job's
    /// earlier events, a scheduled retry): it gives up memory it shares with others (a
    /// body chunk, `chunks.rs`), which a long wait must not keep alive.
    fn park(&mut self) {}
}

/// Ready deliveries, scheduled retries and the slots in use. `T` is the clock's instant.
pub(crate) struct Sched<J, T> {
    /// Scheduled retries, earliest first ([`Timers`]: FIFO lanes and a heap).
    timers: Timers<J, T>,
    /// Retries whose time has come, earliest first: served before anything else.
    due: VecDeque<J>,
    ready: VecDeque<J>,
    /// Fresh events, in the order `fire` sent them: served last.
    fresh: VecDeque<J>,
    hosts: HashMap<Box<str>, HostSlots<J, T>>,
    active: usize,
    gates: Gates<T>,
    /// Hosts blocked until a time (circuit open, no token), earliest first.
    wakeups: BinaryHeap<Reverse<(T, Box<str>)>>,
    /// Ordered deliveries waiting for the one ahead of them, by (job, URL) key. A key
    /// present with an empty queue: its head is out (ready, in flight or retrying).
    order: HashMap<Box<str>, VecDeque<J>>,
    /// `Some(hold)`: give deliveries a gate refuses back to the caller (a durable store
    /// keeps them) instead of holding them here; only a rate-limit wait shorter than
    /// `hold`, for at most `max_per_host` deliveries per destination, is kept (so claims
    /// are not held near their lease, nor one destination's backlog in the claim window).
    defer: Option<Duration>,
}

struct HostSlots<J, T> {
    active: usize,
    waiting: VecDeque<J>,
    /// Attempts to this host wait until then (circuit open, rate limit).
    blocked: Option<T>,
}

impl<J, T> Default for HostSlots<J, T> {
    fn default() -> Self {
        Self {
            active: 0,
            waiting: VecDeque::new(),
            blocked: None,
        }
    }
}

impl<J: Schedulable, T: Moment> Default for Sched<J, T> {
    fn default() -> Self {
        Self::new(GatePolicy::default(), None)
    }
}

/// What [`Sched::start`] hands out.
pub(crate) struct Started<J, T> {
    /// Attempts to begin now (each holds its slots until `release`).
    pub(crate) go: Vec<J>,
    /// Deliveries a gate refused, with the time to try again (only in `defer` mode).
    pub(crate) deferred: Vec<(J, T)>,
    /// Breaker state changes, for the logs and counters.
    pub(crate) changes: Vec<(Box<str>, Change)>,
}

impl<J: Schedulable, T: Moment> Sched<J, T> {
    /// A scheduler with these per-destination policies; `defer`: hand refused
    /// deliveries back (durable store) rather than keep them.
    pub(crate) fn new(policy: GatePolicy, defer: Option<Duration>) -> Self {
        Self {
            timers: Timers::default(),
            due: VecDeque::new(),
            ready: VecDeque::new(),
            fresh: VecDeque::new(),
            hosts: HashMap::new(),
            active: 0,
            gates: Gates::new(policy),
            wakeups: BinaryHeap::new(),
            order: HashMap::new(),
            defer,
        }
    }

    /// Queues a delivery to start as soon as the limits allow.
    pub(crate) fn push_ready(&mut self, job: J) {
        self.ready.push_back(job);
    }

    /// Queues an ordered delivery: ready at once if nothing of its (job, URL) `key` is
    /// out, else behind the others of that key, until [`order_done`](Self::order_done).
    pub(crate) fn push_ordered(&mut self, key: &str, mut job: J) {
        match self.order.get_mut(key) {
            Some(queue) => {
                job.park();
                queue.push_back(job);
            }
            None => {
                self.order.insert(key.into(), VecDeque::new());
                self.ready.push_back(job);
            }
        }
    }

    /// The delivery of `key` that was out reached its outcome: the next one (if any)
    /// becomes ready. `true` when one did.
    pub(crate) fn order_done(&mut self, key: &str) -> bool {
        let Some(queue) = self.order.get_mut(key) else {
            return false;
        };
        match queue.pop_front() {
            Some(next) => {
                self.ready.push_back(next);
                true
            }
            None => {
                self.order.remove(key);
                false
            }
        }
    }

    /// Schedules a retry at `due`; `true` if it is now the earliest (the caller's timer
    /// must be re-armed).
    pub(crate) fn push_timer(&mut self, due: T, mut job: J) -> bool {
        job.park();
        self.timers.push(due, job)
    }

    /// Queues a fresh event, behind the due retries and the ready queue.
    pub(crate) fn push_fresh(&mut self, job: J) {
        self.fresh.push_back(job);
    }

    /// Moves every retry due at or before `now` to the due queue, then picks what may
    /// start: at most `max_concurrency` in all and `max_per_host` per host, due retries
    /// first, then the ready queue, then fresh events. The picked deliveries hold their
    /// slots until [`release`](Self::release).
    ///
    /// A destination whose gate refuses (circuit open, no token) is blocked until the
    /// time the gate names; its deliveries wait in its queue, in order, without using an
    /// attempt (or, in `defer` mode, are returned as deferred).
    pub(crate) fn start(
        &mut self,
        now: T,
        max_concurrency: usize,
        max_per_host: usize,
    ) -> Started<J, T> {
        while let Some(job) = self.timers.pop_due(now) {
            self.due.push_back(job);
        }
        while let Some(Reverse((due, _))) = self.wakeups.peek() {
            if *due > now {
                break;
            }
            let Some(Reverse((_, host))) = self.wakeups.pop() else {
                break;
            };
            if let Some(slots) = self.hosts.get_mut(&host) {
                if slots.blocked.is_some_and(|b| b <= now) {
                    slots.blocked = None;
                    if let Some(next) = slots.waiting.pop_front() {
                        self.ready.push_front(next);
                    }
                }
            }
        }
        let mut out = Started {
            go: Vec::new(),
            deferred: Vec::new(),
            changes: Vec::new(),
        };
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
            if slots.blocked.is_some()
                && self.defer.is_some()
                && slots.waiting.len() >= self.gates.keep(job.host_key(), max_per_host)
            {
                // (In defer mode only a rate limit blocks a host.)
                let ahead = slots.waiting.len();
                let at = self.gates.defer_slot(job.host_key(), now, ahead);
                out.deferred.push((job, at));
                continue;
            }
            if slots.active >= max_per_host || slots.blocked.is_some() {
                let mut job = job;
                job.park();
                slots.waiting.push_back(job);
                continue;
            }
            match self.gates.admit(job.host_key(), now, &mut out.changes) {
                Pass::Go => {
                    slots.active += 1;
                    self.active += 1;
                    if slots.active < max_per_host {
                        if let Some(next) = slots.waiting.pop_front() {
                            self.ready.push_front(next);
                        }
                    }
                    out.go.push(job);
                }
                Pass::Wait(at, rate)
                    if self.defer.is_some_and(|hold| {
                        !rate
                            || slots.waiting.len() >= self.gates.keep(job.host_key(), max_per_host)
                            || at.since(now) > hold
                    }) =>
                {
                    let at = if rate {
                        let ahead = slots.waiting.len();
                        self.gates.defer_slot(job.host_key(), now, ahead)
                    } else {
                        at
                    };
                    // The rest of this host's queue goes back too (after this one).
                    let mut rest: Vec<J> = slots.waiting.drain(..).collect();
                    if slots.active == 0 {
                        self.hosts.remove(job.host_key());
                    }
                    out.deferred.push((job, at));
                    for j in rest.drain(..) {
                        let at = if rate {
                            self.gates.defer_slot(j.host_key(), now, 0)
                        } else {
                            at
                        };
                        out.deferred.push((j, at));
                    }
                }
                Pass::Wait(at, _) => {
                    slots.blocked = Some(at);
                    self.wakeups.push(Reverse((at, job.host_key().into())));
                    let mut job = job;
                    job.park();
                    slots.waiting.push_front(job);
                }
            }
        }
        // Give back the memory of a burst once it has drained.
        self.timers.shrink();
        for queue in [&mut self.due, &mut self.ready, &mut self.fresh] {
            if queue.is_empty() && queue.capacity() > 1024 {
                queue.shrink_to_fit();
            }
        }
        out
    }

    /// Frees the slots an attempt to `host` held; the next delivery waiting for that host
    /// goes to the front of the ready queue (unless the host is blocked).
    pub(crate) fn release(&mut self, host: &str) {
        self.active = self.active.saturating_sub(1);
        if let Some(slots) = self.hosts.get_mut(host) {
            slots.active = slots.active.saturating_sub(1);
            if slots.blocked.is_none() {
                if let Some(next) = slots.waiting.pop_front() {
                    self.ready.push_front(next);
                }
            }
            if slots.active == 0 && slots.waiting.is_empty() {
                self.hosts.remove(host);
            }
        }
    }

    /// Tells the destination's breaker how an attempt that began at `started` ended.
    /// A probe's result unblocks the host at once (closed) or re-blocks it (reopened).
    pub(crate) fn record(
        &mut self,
        host: &str,
        failed: bool,
        started: T,
        now: T,
    ) -> Option<Change> {
        let change = self.gates.record(host, failed, started, now)?;
        if let Some(slots) = self.hosts.get_mut(host) {
            // The probe's result: look at the host again now (closed: go; reopened:
            // blocked again until the new open time ends).
            let probe_result = matches!(change, Change::Closed | Change::Reopened);
            if probe_result && slots.blocked.is_some() {
                slots.blocked = None;
                if let Some(next) = slots.waiting.pop_front() {
                    self.ready.push_front(next);
                }
            }
        }
        Some(change)
    }

    /// When the earliest scheduled retry (or blocked destination) is due.
    pub(crate) fn next_due(&self) -> Option<T> {
        let timer = self.timers.peek_due();
        let wake = self.wakeups.peek().map(|Reverse((t, _))| *t);
        match (timer, wake) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes every delivery not started (ready, waiting for a host or for the delivery
    /// ahead of it, scheduled).
    pub(crate) fn take_all(&mut self) -> Vec<J> {
        let mut all: Vec<J> = self.due.drain(..).collect();
        all.extend(self.ready.drain(..));
        all.extend(self.fresh.drain(..));
        all.extend(self.timers.drain());
        for slots in self.hosts.values_mut() {
            all.extend(slots.waiting.drain(..));
        }
        for (_, queue) in self.order.drain() {
            all.extend(queue);
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

    /// A delivery that counts the times it was put aside to wait.
    struct P(u64, &'static str, u32);

    impl Schedulable for P {
        fn host_key(&self) -> &str {
            self.1
        }
        fn order(&self) -> u64 {
            self.0
        }
        fn park(&mut self) {
            self.2 += 1;
        }
    }

    fn parks(v: &[P]) -> Vec<(u64, u32)> {
        v.iter().map(|p| (p.0, p.2)).collect()
    }

    #[test]
    fn deliveries_put_aside_to_wait_are_parked_and_those_that_start_at_once_are_not() {
        let mut s: Sched<P, u64> = Sched::default();
        for p in [P(1, "h", 0), P(2, "h", 0), P(3, "other", 0)] {
            s.push_fresh(p);
        }
        // One per host: 2 waits in h's queue.
        assert_eq!(parks(&s.start(0, 10, 1).go), [(1, 0), (3, 0)]);
        s.release("h");
        assert_eq!(parks(&s.start(0, 10, 1).go), [(2, 1)]);
        // A scheduled retry, and an ordered delivery behind its pair's earlier one.
        s.push_timer(5, P(4, "x", 0));
        s.push_ordered("k", P(5, "y", 0));
        s.push_ordered("k", P(6, "y", 0));
        assert_eq!(parks(&s.start(5, 10, 10).go), [(4, 1), (5, 0)]);
        s.release("y");
        assert!(s.order_done("k"));
        assert_eq!(parks(&s.start(5, 10, 10).go), [(6, 1)]);
    }

    #[test]
    fn retries_start_when_due_earliest_first() {
        let mut s: Sched<J, u64> = Sched::default();
        assert!(s.push_timer(30, J(1, "a")));
        assert!(s.push_timer(10, J(2, "a")));
        assert!(!s.push_timer(20, J(3, "a")));
        assert!(!s.push_timer(10, J(0, "a")));
        assert_eq!(s.next_due(), Some(10));
        assert!(s.start(9, 64, 8).go.is_empty(), "nothing due yet");
        assert_eq!(ids(&s.start(10, 64, 8).go), [0, 2], "ties by order");
        assert_eq!(ids(&s.start(100, 64, 8).go), [3, 1]);
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn global_limit_holds_and_release_frees_a_slot() {
        let mut s: Sched<J, u64> = Sched::default();
        for i in 0..5 {
            s.push_ready(J(i, if i % 2 == 0 { "a" } else { "b" }));
        }
        assert_eq!(ids(&s.start(0, 3, 8).go), [0, 1, 2]);
        assert_eq!(s.active(), 3);
        assert!(s.start(0, 3, 8).go.is_empty(), "all global slots taken");
        s.release("b");
        assert_eq!(ids(&s.start(0, 3, 8).go), [3]);
        assert_eq!(s.active(), 3);
    }

    #[test]
    fn a_busy_host_waits_without_holding_global_slots() {
        let mut s: Sched<J, u64> = Sched::default();
        for i in 0..4 {
            s.push_ready(J(i, "slow"));
        }
        s.push_ready(J(9, "fast"));
        // Two per host: slow gets 2, the other slow ones wait, fast still starts.
        assert_eq!(ids(&s.start(0, 10, 2).go), [0, 1, 9]);
        s.release("slow");
        // The first waiting delivery for "slow" goes first.
        assert_eq!(ids(&s.start(0, 10, 2).go), [2]);
        s.release("slow");
        s.release("slow");
        assert_eq!(ids(&s.start(0, 10, 2).go), [3]);
    }

    #[test]
    fn ordered_deliveries_of_a_pair_go_one_at_a_time_others_not_held() {
        let mut s: Sched<J, u64> = Sched::default();
        s.push_ordered("job-a\0u", J(1, "h"));
        s.push_ordered("job-a\0u", J(2, "h"));
        s.push_ordered("job-b\0u", J(3, "h"));
        s.push_ordered("job-a\0u", J(4, "h"));
        assert_eq!(
            ids(&s.start(0, 10, 10).go),
            [1, 3],
            "one per pair; job-b not held"
        );
        s.release("h");
        assert!(s.start(0, 10, 10).go.is_empty(), "2 waits for 1's outcome");
        assert!(s.order_done("job-a\0u"));
        assert_eq!(ids(&s.start(0, 10, 10).go), [2]);
        assert!(s.order_done("job-a\0u"));
        assert!(!s.order_done("job-b\0u"), "nothing behind 3");
        assert_eq!(ids(&s.start(0, 10, 10).go), [4]);
        assert!(!s.order_done("job-a\0u"));
        assert!(s.order.is_empty());
        // take_all includes the deliveries waiting behind another.
        s.push_ordered("k", J(5, "h"));
        s.push_ordered("k", J(6, "h"));
        let mut all = ids(&s.take_all());
        all.sort_unstable();
        assert_eq!(all, [5, 6]);
    }

    fn breaker_policy() -> GatePolicy {
        GatePolicy {
            breaker: Some(
                CircuitBreaker::new()
                    .consecutive_failures(2)
                    .open_for(Duration::from_secs(10)),
            ),
            ..GatePolicy::default()
        }
    }

    #[test]
    fn an_open_circuit_holds_its_host_and_lets_one_probe_through() {
        let mut s: Sched<J, u64> = Sched::new(breaker_policy(), None);
        s.push_ready(J(1, "dead"));
        s.push_ready(J(2, "dead"));
        assert_eq!(ids(&s.start(0, 10, 10).go), [1, 2]);
        s.release("dead");
        s.release("dead");
        assert_eq!(s.record("dead", true, 0, 5), None);
        assert_eq!(s.record("dead", true, 0, 6), Some(Change::Opened));
        // Open until 6 + 10 000 ms: the dead host's deliveries wait, healthy ones run.
        for i in 3..8 {
            s.push_ready(J(i, "dead"));
        }
        s.push_ready(J(9, "ok"));
        assert_eq!(ids(&s.start(100, 10, 10).go), [9]);
        assert_eq!(s.next_due(), Some(10_006));
        assert!(s.start(10_005, 10, 10).go.is_empty());
        // Due: exactly one probe, the oldest waiting delivery.
        let out = s.start(10_006, 10, 10);
        assert_eq!(ids(&out.go), [3]);
        assert_eq!(out.changes.len(), 1);
        assert_eq!(out.changes[0].1, Change::HalfOpen);
        assert!(s.start(10_007, 10, 10).go.is_empty(), "one probe at a time");
        // The probe fails: reopened for 20 s; the probe job itself is the caller's.
        s.release("dead");
        assert_eq!(
            s.record("dead", true, 10_006, 10_100),
            Some(Change::Reopened)
        );
        assert!(s.start(20_000, 10, 10).go.is_empty());
        let out = s.start(30_100, 10, 10);
        assert_eq!(ids(&out.go), [4]);
        s.release("dead");
        // The probe succeeds: closed, the rest go in order.
        assert_eq!(
            s.record("dead", false, 30_100, 30_200),
            Some(Change::Closed)
        );
        assert_eq!(ids(&s.start(30_200, 10, 10).go), [5, 6, 7]);
    }

    #[test]
    fn a_rate_limited_host_starts_at_the_rate_in_order() {
        let policy = GatePolicy {
            rate: Some(RateLimit::per_second(10.0)),
            ..GatePolicy::default()
        };
        let mut s: Sched<J, u64> = Sched::new(policy, None);
        for i in 0..5 {
            s.push_ready(J(i, "h"));
        }
        s.push_ready(J(9, "other"));
        let mut starts = Vec::new();
        let mut now = 0;
        for _ in 0..100 {
            let go = s.start(now, 10, 10).go;
            for j in &go {
                starts.push((j.0, now));
                s.release(j.1);
            }
            match s.next_due() {
                Some(t) => now = t,
                None => break,
            }
        }
        assert_eq!(
            starts,
            [(0, 0), (9, 0), (1, 100), (2, 200), (3, 300), (4, 400)]
        );
    }

    #[test]
    fn defer_mode_hands_refused_deliveries_back_spread_at_the_rate() {
        let policy = GatePolicy {
            host_rates: [("slow".to_owned(), RateLimit::per_second(4.0))].into(),
            ..GatePolicy::default()
        };
        let mut s: Sched<J, u64> = Sched::new(policy, Some(Duration::ZERO));
        for i in 0..4 {
            s.push_ready(J(i, "slow"));
        }
        s.push_ready(J(7, "fast"));
        let out = s.start(0, 10, 10);
        assert_eq!(ids(&out.go), [0, 7]);
        let back: Vec<(u64, u64)> = out.deferred.iter().map(|(j, t)| (j.0, *t)).collect();
        // Tokens at 250, 500, 750 ms; each comes back half a lead (250 ms) before its own.
        assert_eq!(back, [(1, 0), (2, 250), (3, 500)]);
        assert!(s.take_all().is_empty(), "nothing held");
    }

    #[test]
    fn defer_mode_keeps_a_short_rate_limit_wait_for_a_few_and_defers_the_rest() {
        let policy = GatePolicy {
            rate: Some(RateLimit::per_second(4.0)),
            ..GatePolicy::default()
        };
        let mut s: Sched<J, u64> = Sched::new(policy, Some(Duration::from_secs(1)));
        for i in 0..5 {
            s.push_ready(J(i, "h"));
        }
        let out = s.start(0, 10, 2);
        assert_eq!(ids(&out.go), [0]);
        // 1 and 2 wait here for tokens at 250 and 500 ms; 3 and 4 (tokens at 750 and
        // 1000 ms) go back to the store, due 250 ms before their tokens.
        let back: Vec<(u64, u64)> = out.deferred.iter().map(|(j, t)| (j.0, *t)).collect();
        assert_eq!(back, [(3, 500), (4, 750)]);
        s.release("h");
        assert_eq!(ids(&s.start(250, 10, 2).go), [1]);
        s.release("h");
        assert_eq!(ids(&s.start(500, 10, 2).go), [2]);
        assert!(s.take_all().is_empty());
    }

    #[test]
    fn due_retries_start_before_ready_and_fresh_deliveries() {
        let mut s: Sched<J, u64> = Sched::default();
        for i in 100..110 {
            s.push_fresh(J(i, "h"));
        }
        s.push_ready(J(50, "h"));
        s.push_timer(5, J(2, "h"));
        s.push_timer(3, J(1, "h"));
        s.push_timer(9, J(3, "h"));
        // Two slots: the two due retries win over the ready one and the fresh burst.
        assert_eq!(ids(&s.start(6, 2, 8).go), [1, 2]);
        s.release("h");
        assert_eq!(ids(&s.start(6, 2, 8).go), [50]);
        s.release("h");
        // The third retry comes due while the fresh burst waits: it still goes first.
        assert_eq!(ids(&s.start(9, 2, 8).go), [3]);
        s.release("h");
        s.release("h");
        assert_eq!(ids(&s.start(9, 2, 8).go), [100, 101]);
        assert!(!s.has_room(2));
        assert_eq!(s.take_all().len(), 8);
    }

    #[test]
    fn fresh_events_for_a_busy_host_wait_there_and_others_still_start() {
        let mut s: Sched<J, u64> = Sched::default();
        for j in [J(1, "slow"), J(2, "slow"), J(3, "slow"), J(4, "fast")] {
            s.push_fresh(j);
        }
        assert_eq!(ids(&s.start(0, 10, 1).go), [1, 4]);
        s.release("slow");
        assert_eq!(ids(&s.start(0, 10, 1).go), [2]);
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
        let mut s: Sched<J, u64> = Sched::default();
        s.push_ready(J(1, "h"));
        s.push_ready(J(2, "h"));
        s.push_timer(50, J(3, "h"));
        assert_eq!(ids(&s.start(0, 10, 1).go), [1]);
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

    use crate::native::timers::tests::J;

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
            let got: Vec<u64> = s.start(end, usize::MAX, usize::MAX).go.into_iter().map(|j| j.0).collect();
            prop_assert_eq!(got, scheduled.iter().map(|(_, n)| *n).collect::<Vec<_>>());
            prop_assert!(s.next_due().is_none() && s.take_all().is_empty());
        }
    }
}
