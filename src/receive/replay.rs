//! A bounded memory of accepted `webhook-id`s (Standard Webhooks asks receivers to
//! remember them for the tolerance window).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Default number of ids remembered: 10 000 (at most about 2 MB, see [`ReplayGuard`]).
pub const DEFAULT_REPLAY_CAPACITY: usize = 10_000;

/// Remembers the `webhook-id`s of accepted requests while their timestamp is inside the
/// tolerance window, so a second delivery of the same id is refused as `replayed`.
///
/// # Memory bound
/// At most `capacity` ids are held. Each is kept as its SHA-256 (32 bytes, whatever the
/// id's length) with its timestamp, once in a hash map and once in an insertion-ordered
/// queue, which round their slots up to a power of two; once ids start being forgotten
/// the map grows once more (removed slots are reused only after a rehash). Measured
/// (tests/replay_memory.rs): `capacity` 10 000 holds 1.33 MB when first full and 2.0 MB
/// at most under any churn, about 200 bytes per id of capacity.
///
/// # When it is full
/// Ids whose window has passed are dropped first (a replay of those is refused anyway as
/// `too_old`). If every remembered id is still inside its window, the oldest inserted one
/// is forgotten to make room, so a replay of *that* id would pass; [`Self::evicted_live`]
/// counts these, and a non-zero count means the capacity is too small for the traffic.
/// Only requests whose signature verified are remembered, so an attacker without the key
/// cannot fill the memory.
#[derive(Debug)]
pub struct ReplayGuard {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    seen: HashMap<[u8; 32], i64>,
    order: VecDeque<([u8; 32], i64)>,
    evicted_live: u64,
}

impl ReplayGuard {
    /// A guard remembering at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
        }
    }

    /// Records `id` (signed with timestamp `ts`) as accepted at `now`, all in Unix seconds.
    /// Returns `false` when the id was already accepted and its window (`tolerance_secs`
    /// around its timestamp) has not passed: a replay.
    pub fn check_and_record(&self, id: &str, ts: i64, now: i64, tolerance_secs: u64) -> bool {
        let tol = i64::try_from(tolerance_secs).unwrap_or(i64::MAX);
        let expired = |t: i64| now.saturating_sub(t) > tol;
        let key: [u8; 32] = Sha256::digest(id.as_bytes()).into();
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&t) = st.seen.get(&key) {
            if !expired(t) {
                return false;
            }
        }
        // Forget what has left its window, oldest insertions first.
        while let Some(&(k, t)) = st.order.front() {
            if !expired(t) && st.order.len() < self.capacity {
                break;
            }
            st.order.pop_front();
            if st.seen.get(&k) == Some(&t) {
                st.seen.remove(&k);
            }
            if !expired(t) {
                st.evicted_live += 1;
            }
        }
        st.seen.insert(key, ts);
        st.order.push_back((key, ts));
        true
    }

    /// Ids currently remembered (never more than the capacity).
    pub fn len(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .len()
    }

    /// `true` when no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given to [`Self::new`].
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Ids forgotten while still inside their window because the guard was full.
    pub fn evicted_live(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .evicted_live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_delivery_inside_the_window_is_a_replay() {
        let g = ReplayGuard::new(8);
        assert!(g.check_and_record("msg_1", 1000, 1000, 300));
        assert!(!g.check_and_record("msg_1", 1000, 1200, 300));
        assert!(g.check_and_record("msg_2", 1000, 1200, 300));
        // Outside the window it is forgotten (the timestamp check refuses it anyway).
        assert!(g.check_and_record("msg_1", 1000, 1301, 300));
    }

    #[test]
    fn memory_stays_bounded_and_evictions_are_counted() {
        let g = ReplayGuard::new(100);
        for i in 0..1000 {
            assert!(g.check_and_record(&format!("msg_{i}"), 5000, 5000, 300));
            assert!(g.len() <= 100);
        }
        assert_eq!(g.len(), 100);
        assert_eq!(g.evicted_live(), 900);
        // The newest 100 are still remembered, the oldest were forgotten.
        assert!(!g.check_and_record("msg_999", 5000, 5001, 300));
        assert!(!g.check_and_record("msg_900", 5000, 5001, 300));
        assert!(g.check_and_record("msg_0", 5000, 5001, 300));
    }

    #[test]
    fn expired_ids_make_room_before_live_ones() {
        let g = ReplayGuard::new(2);
        assert!(g.check_and_record("a", 0, 0, 10));
        assert!(g.check_and_record("b", 100, 100, 10));
        assert!(g.check_and_record("c", 100, 100, 10)); // "a" expired: dropped, not counted
        assert_eq!(g.evicted_live(), 0);
        assert!(!g.check_and_record("b", 100, 105, 10));
        assert!(!g.check_and_record("c", 100, 105, 10));
    }
}
