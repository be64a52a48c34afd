//! The scheduled retries (pure, no clock, no tokio): a priority queue that pops the
//! earliest `(due, order)` first, exactly as a `BinaryHeap` would, but O(1) and
//! sequential in memory for the common case.
//!
//! Why not a plain `BinaryHeap`: with 100,000 retries waiting, every pop sifts a
//! 56-byte entry through ~17 levels of a 7 MB array, most of them cache misses; a
//! profile of the retry phase of `benches/retry_timers.rs` (BENCHMARKS.md) put
//! `BinaryHeap::pop` at 0.40 µs per retry, the largest cost a retry has that a first
//! attempt has not. But retries arrive nearly sorted: every retry of attempt k waits
//! the same fixed delay (no jitter by default) and is scheduled at "now", so the
//! retries of one delay class are pushed in due order. They go into a few FIFO *lanes*
//! (each strictly increasing), appended at the back and popped at the front; whatever
//! fits no lane (jitter, a short `Retry-After`, a clock read out of order by another
//! worker thread) goes into a `BinaryHeap` as before. A pop takes the least of the
//! lanes' fronts and the heap's top, so the order out is the heap's order exactly
//! (checked against a `BinaryHeap` by the property test below).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::schedule::Schedulable;

/// At most this many lanes: a lane per delay class in use (1, 2, 4, 8, 16 s by
/// default) and a few spare; each pop compares the lanes' fronts, so few is cheap.
const LANES: usize = 8;

/// A retry waiting for its time; ordered so that `BinaryHeap` pops the earliest first.
pub(crate) struct Timer<J, T> {
    pub(crate) due: T,
    pub(crate) job: J,
}

impl<J: Schedulable, T: Ord> Timer<J, T> {
    /// The order out: earliest due first, then the lowest `order`.
    fn key_cmp(&self, other: &Self) -> Ordering {
        self.due
            .cmp(&other.due)
            .then_with(|| self.job.order().cmp(&other.job.order()))
    }
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
        other.key_cmp(self)
    }
}

/// Where the earliest timer is.
#[derive(Clone, Copy)]
enum Head {
    Lane(usize),
    Heap,
}

/// The scheduled retries, earliest `(due, order)` out first.
pub(crate) struct Timers<J, T> {
    /// Each strictly increasing by `(due, order)` from front to back.
    lanes: Vec<VecDeque<Timer<J, T>>>,
    /// What fits no lane.
    heap: BinaryHeap<Timer<J, T>>,
}

impl<J: Schedulable, T: Ord> Default for Timers<J, T> {
    fn default() -> Self {
        Self {
            lanes: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }
}

impl<J: Schedulable, T: Ord + Copy> Timers<J, T> {
    /// How many timers wait (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.heap.len() + self.lanes.iter().map(VecDeque::len).sum::<usize>()
    }

    /// Whether none waits (tests).
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Schedules `job` at `due`; `true` if it is now the earliest due time (strictly
    /// earlier than every other, as `BinaryHeap::peek` would have said).
    pub(crate) fn push(&mut self, due: T, job: J) -> bool {
        let earliest = self.peek_due().is_none_or(|head| due < head);
        let timer = Timer { due, job };
        // The lane whose last timer is the latest one still before this one (best fit:
        // a delay class keeps to its lane), else an empty lane, else a new one.
        let mut best: Option<(usize, &Timer<J, T>)> = None;
        let mut empty: Option<usize> = None;
        for (i, lane) in self.lanes.iter().enumerate() {
            match lane.back() {
                Some(back) if back.key_cmp(&timer) == Ordering::Less => {
                    if best.is_none_or(|(_, b)| b.key_cmp(back) == Ordering::Less) {
                        best = Some((i, back));
                    }
                }
                Some(_) => {}
                None => {
                    empty.get_or_insert(i);
                }
            }
        }
        let best = best.map(|(i, _)| i);
        match best.or(empty) {
            Some(i) => self.lanes[i].push_back(timer),
            None if self.lanes.len() < LANES => self.lanes.push(VecDeque::from([timer])),
            None => self.heap.push(timer),
        }
        earliest
    }

    /// Where the earliest timer is.
    fn head(&self) -> Option<Head> {
        let mut best: Option<(Head, &Timer<J, T>)> = self.heap.peek().map(|t| (Head::Heap, t));
        for (i, lane) in self.lanes.iter().enumerate() {
            if let Some(front) = lane.front() {
                if best.is_none_or(|(_, b)| front.key_cmp(b) == Ordering::Less) {
                    best = Some((Head::Lane(i), front));
                }
            }
        }
        best.map(|(h, _)| h)
    }

    /// The earliest due time.
    pub(crate) fn peek_due(&self) -> Option<T> {
        let heap = self.heap.peek().map(|t| t.due);
        let lanes = self.lanes.iter().filter_map(|l| l.front().map(|t| t.due));
        heap.into_iter().chain(lanes).min()
    }

    /// Takes the earliest timer if it is due at or before `now`.
    pub(crate) fn pop_due(&mut self, now: T) -> Option<J> {
        let head = self.head()?;
        let timer = match head {
            Head::Heap => {
                if self.heap.peek().is_none_or(|t| t.due > now) {
                    return None;
                }
                self.heap.pop()
            }
            Head::Lane(i) => {
                if self.lanes[i].front().is_none_or(|t| t.due > now) {
                    return None;
                }
                self.lanes[i].pop_front()
            }
        }?;
        Some(timer.job)
    }

    /// Takes every timer, in no particular order.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = J> + '_ {
        self.heap
            .drain()
            .chain(self.lanes.iter_mut().flat_map(|l| l.drain(..)))
            .map(|t| t.job)
    }

    /// Gives back the memory of a burst once it has drained: an empty lane or heap
    /// holding room for more than 1,024 timers is freed.
    pub(crate) fn shrink(&mut self) {
        if self.heap.is_empty() && self.heap.capacity() > 1024 {
            self.heap.shrink_to_fit();
        }
        for lane in &mut self.lanes {
            if lane.is_empty() && lane.capacity() > 1024 {
                lane.shrink_to_fit();
            }
        }
    }

    /// Timers in the lanes and in the heap (tests).
    #[cfg(test)]
    fn split(&self) -> (usize, usize) {
        (self.lanes.iter().map(VecDeque::len).sum(), self.heap.len())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A job on one host whose order is its number (also the scheduler's property tests).
    #[derive(Debug, PartialEq)]
    pub(crate) struct J(pub(crate) u64);

    impl Schedulable for J {
        fn host_key(&self) -> &str {
            "h"
        }
        fn order(&self) -> u64 {
            self.0
        }
    }

    fn pop_all(t: &mut Timers<J, u64>, now: u64) -> Vec<u64> {
        std::iter::from_fn(|| t.pop_due(now)).map(|j| j.0).collect()
    }

    #[test]
    fn one_delay_class_stays_in_one_lane() {
        let mut t: Timers<J, u64> = Timers::default();
        for n in 0..10_000u64 {
            // Scheduled at "now" = n with a fixed delay of 1,000.
            t.push(n + 1_000, J(n));
        }
        assert_eq!(t.split(), (10_000, 0));
        assert_eq!(t.lanes.len(), 1);
        assert_eq!(t.peek_due(), Some(1_000));
        assert_eq!(pop_all(&mut t, 1_499), (0..500).collect::<Vec<_>>());
        assert_eq!(t.len(), 9_500);
    }

    #[test]
    fn interleaved_delay_classes_take_a_lane_each() {
        let mut t: Timers<J, u64> = Timers::default();
        // Retries after 1, 2, 4, 8 and 16 s, scheduled in turn as attempts end.
        for n in 0..1_000u64 {
            t.push(n + 1_000 * (1 << (n % 5)), J(n));
        }
        assert_eq!(t.split(), (1_000, 0));
        assert_eq!(t.lanes.len(), 5);
        let mut want: Vec<(u64, u64)> = (0..1_000u64)
            .map(|n| (n + 1_000 * (1 << (n % 5)), n))
            .collect();
        want.sort_unstable();
        assert_eq!(
            pop_all(&mut t, u64::MAX),
            want.iter().map(|w| w.1).collect::<Vec<_>>()
        );
        assert!(t.is_empty() && t.peek_due().is_none());
    }

    #[test]
    fn out_of_order_pushes_go_to_the_heap_and_come_out_in_order() {
        let mut t: Timers<J, u64> = Timers::default();
        // Strictly decreasing: each push fits no lane; the first 8 open lanes.
        for n in 0..20u64 {
            t.push(100 - n, J(n));
        }
        assert_eq!(t.split(), (LANES, 20 - LANES));
        assert_eq!(
            pop_all(&mut t, 90),
            [19, 18, 17, 16, 15, 14, 13, 12, 11, 10]
        );
        assert_eq!(t.peek_due(), Some(91));
        assert_eq!(pop_all(&mut t, 100), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    }

    #[test]
    fn earliest_and_ties_as_the_heap() {
        let mut t: Timers<J, u64> = Timers::default();
        assert!(t.push(30, J(1)));
        assert!(t.push(10, J(2)));
        assert!(!t.push(20, J(3)));
        assert!(!t.push(10, J(0)), "a tie is not earlier");
        assert_eq!(t.peek_due(), Some(10));
        assert!(t.pop_due(9).is_none());
        assert_eq!(pop_all(&mut t, 10), [0, 2], "ties by order");
        assert_eq!(pop_all(&mut t, 30), [3, 1]);
    }

    #[test]
    fn drained_lanes_give_their_memory_back() {
        let mut t: Timers<J, u64> = Timers::default();
        for n in 0..5_000u64 {
            t.push(n, J(n));
        }
        assert_eq!(pop_all(&mut t, u64::MAX).len(), 5_000);
        t.shrink();
        assert!(t.lanes.iter().all(|l| l.capacity() <= 1024));
        for n in 0..3u64 {
            t.push(n, J(n));
        }
        assert_eq!(t.drain().count(), 3);
        assert!(t.is_empty() && t.peek_due().is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

        /// Pushes (nearly sorted runs, arbitrary times, ties) and pops interleaved: the
        /// same jobs come out at the same times as from a `BinaryHeap`, and `push`
        /// reports "earliest" as the heap's peek would.
        #[test]
        fn same_order_as_a_binary_heap(
            ops in proptest::collection::vec(
                prop_oneof![
                    // push at now + one of a few fixed delays (a delay class)
                    3 => (0u64..6).prop_map(|k| Op::Push(Some(1u64 << (k * 3)))),
                    // push at an arbitrary time (Retry-After, jitter)
                    1 => any::<u64>().prop_map(|_| Op::Push(None)),
                    // time passes, due timers pop
                    2 => (0u64..600).prop_map(Op::Advance),
                ],
                1..400,
            ),
            times in proptest::collection::vec(0u64..5_000, 400),
            orders in proptest::collection::vec(0u64..50, 400),
        ) {
            let mut t: Timers<J, u64> = Timers::default();
            let mut reference: BinaryHeap<Timer<J, u64>> = BinaryHeap::new();
            let mut now = 0u64;
            for (i, op) in ops.iter().enumerate() {
                match *op {
                    Op::Push(delay) => {
                        let due = match delay {
                            Some(d) => now.saturating_add(d),
                            None => times[i],
                        };
                        // Orders may repeat (a tie on both keys), as ids never do.
                        let order = orders[i] * 1_000 + i as u64;
                        let want = reference.peek().is_none_or(|h| due < h.due);
                        prop_assert_eq!(t.push(due, J(order)), want);
                        reference.push(Timer { due, job: J(order) });
                    }
                    Op::Advance(d) => {
                        now += d;
                        let mut want = Vec::new();
                        while reference.peek().is_some_and(|h| h.due <= now) {
                            want.push(reference.pop().unwrap().job.0);
                        }
                        prop_assert_eq!(pop_all(&mut t, now), want);
                    }
                }
                prop_assert_eq!(t.len(), reference.len());
                prop_assert_eq!(t.peek_due(), reference.peek().map(|h| h.due));
            }
            let mut want = Vec::new();
            while let Some(h) = reference.pop() {
                want.push(h.job.0);
            }
            prop_assert_eq!(pop_all(&mut t, u64::MAX), want);
        }
    }

    #[derive(Debug, Clone, Copy)]
    enum Op {
        Push(Option<u64>),
        Advance(u64),
    }
}
