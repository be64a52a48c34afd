//! Exact-size buffers made ahead on one thread, for bodies that leave their chunk to wait
//! for a retry or in a queue (`chunks.rs`, `Body::unshare`; [`exact`]).
//!
//! Measured reason (`examples/pending_memory.rs`): copied into buffers that the runtime
//! threads allocate themselves, among their short-lived allocations, 100,000 bodies
//! waiting for a retry took 1,267 B each; in this pool's buffers, 1,113–1,157 B (the
//! budget is 1,150 B, issue 15). Before chunks, `fire` wrote every body into one of these
//! buffers; it fell behind a burst (a thread faulting 4 KiB pages cannot outrun a loop
//! that fires on a 2-core VM), which chunks on huge pages do not.
//!
//! One process-wide pool with a small background thread (`foreman-webhook-bodies`) that
//! allocates buffers of the size last asked for and *writes* them once (`resize(n, 0)`:
//! `vec![0; n]` would use `calloc` and leave the pages untouched), then hands them over in
//! batches of [`BATCH`]. A thread keeps one batch in a thread-local and takes a buffer per
//! body; it swaps an exhausted batch for a full one with `try_lock` (never waits) and
//! wakes the pool's thread (`filler.rs`) when fewer than half of the batches it
//! keeps ready are left. With no buffer at hand (pool empty or busy, a body larger than
//! the buffers) it allocates.
//!
//! Each body keeps its buffer (exact-size: the buffers are made at the size last asked
//! for, so `into_boxed_slice` does not move it), and a freed body returns to the
//! allocator like any other, where the pool's thread finds it again for the next buffers.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::filler::{Fill, Filler};

/// Buffers per batch (one `try_lock` per this many fires).
pub(crate) const BATCH: usize = 64;
/// Bytes of buffers kept ready per dispatcher, once it has fired (at least two batches).
const READY_BYTES: usize = 4 << 20;
/// Buffers larger than this are not prepared (a body that big is allocated by `fire`).
const MAX_SIZE: usize = 64 << 10;

type Batch = Vec<Vec<u8>>;

/// A dispatcher's pool of pre-faulted body buffers and the thread that fills it.
pub(crate) struct Prefault {
    shared: Arc<Shared>,
    filler: Filler,
}

struct Shared {
    /// Full batches and the capacity of their buffers, ready for firing threads.
    ready: Mutex<Vec<(usize, Batch)>>,
    /// Emptied batch vectors and stale batches (buffers smaller than `fire` now needs),
    /// for the filler to reuse or free, so that firing threads free none of them (a free
    /// there takes the allocator's lock on the filler thread's arena) unless this lock
    /// is busy.
    empties: Mutex<Vec<Batch>>,
    /// `ready.len()`, readable without the lock (stored under it).
    ready_count: AtomicUsize,
    /// The capacity to give buffers: the size `fire` last needed (0 = no fire yet).
    size: AtomicUsize,
    /// Buffers `fire` had to allocate itself (no buffer at hand or one too small).
    misses: AtomicUsize,
}

std::thread_local! {
    /// This thread's current batch (buffers are taken from its end).
    static LOCAL: RefCell<Batch> = const { RefCell::new(Vec::new()) };
}

impl Prefault {
    /// A pool and its filler thread (none if the thread cannot be started: `fire` then
    /// allocates as it did before).
    pub(crate) fn start() -> Self {
        Self::new(true)
    }

    fn new(filler: bool) -> Self {
        let shared = Arc::new(Shared {
            ready: Mutex::new(Vec::new()),
            empties: Mutex::new(Vec::new()),
            ready_count: AtomicUsize::new(0),
            size: AtomicUsize::new(0),
            misses: AtomicUsize::new(0),
        });
        let filler = Filler::start(&shared, filler);
        Self { shared, filler }
    }

    /// A pool with no filler thread: every `take` misses (tests and one-off encoders).
    #[cfg(test)]
    pub(crate) fn inert() -> Self {
        Self::new(false)
    }

    /// Buffers `fire` had to allocate itself so far.
    #[cfg(test)]
    pub(crate) fn misses(&self) -> usize {
        self.shared.misses.load(Ordering::Relaxed)
    }

    /// Writes a body with `write` into a pre-faulted buffer (or, with none at hand, a
    /// freshly allocated one of `hint` bytes) and returns it, exact-size. Never blocks.
    pub(crate) fn write(&self, hint: usize, write: impl FnOnce(&mut Vec<u8>)) -> Box<[u8]> {
        let mut buf = self.take().unwrap_or_default();
        let prepared = buf.capacity();
        if prepared == 0 {
            buf.reserve_exact(hint);
        }
        write(&mut buf);
        let need = buf.len();
        // The size for the next buffers: this body's (kept if close, so bodies of one
        // size in a row get exact buffers and alternating sizes do not thrash it).
        let size = self.shared.size.load(Ordering::Relaxed);
        if need > size || need < size - size / 4 {
            self.shared.size.store(need, Ordering::Relaxed);
        }
        if need > prepared || prepared == 0 {
            self.shared.misses.fetch_add(1, Ordering::Relaxed);
            if need <= MAX_SIZE {
                self.wake();
            }
        }
        // No move when the buffer is exact; else shrunk in place (no new page touched).
        buf.into_boxed_slice()
    }

    /// A buffer from this thread's batch, swapping an exhausted batch for a full one.
    fn take(&self) -> Option<Vec<u8>> {
        LOCAL
            .try_with(|local| {
                let mut local = local.try_borrow_mut().ok()?;
                if let Some(buf) = local.pop() {
                    return Some(buf);
                }
                let full = self.take_batch()?;
                let empty = std::mem::replace(&mut *local, full);
                self.recycle(empty);
                local.pop()
            })
            .ok()
            .flatten()
    }

    /// Hands a batch vector back to the filler (dropped if the lock is busy).
    fn recycle(&self, batch: Batch) {
        if batch.capacity() > 0 {
            if let Ok(mut empties) = self.shared.empties.try_lock() {
                empties.push(batch);
            }
        }
    }

    fn take_batch(&self) -> Option<Batch> {
        let size = self.shared.size.load(Ordering::Relaxed);
        let mut got = None;
        let mut left = 0;
        if let Ok(mut ready) = self.shared.ready.try_lock() {
            // Stale batches (made before bodies grew) go back: a few per call at most.
            for _ in 0..4 {
                let Some((cap, batch)) = ready.pop() else {
                    break;
                };
                if cap >= size {
                    got = Some(batch);
                    break;
                }
                self.recycle(batch);
            }
            // Kept equal to `ready.len()` under the lock.
            left = ready.len();
            self.shared.ready_count.store(left, Ordering::Release);
        }
        if left <= target_batches(size) / 2 {
            self.wake();
        }
        got
    }

    fn wake(&self) {
        self.filler.wake();
    }
}

/// `bytes` in an exact-size buffer from a process-wide pool (a body leaving its chunk,
/// `chunks::Body::unshare`): the buffers of delivery bodies that wait for a retry are then
/// made on one thread, packed together, away from the runtime threads' short-lived
/// allocations.
pub(crate) fn exact(bytes: &[u8]) -> Box<[u8]> {
    static POOL: std::sync::OnceLock<Prefault> = std::sync::OnceLock::new();
    POOL.get_or_init(Prefault::start)
        .write(bytes.len(), |b| b.extend_from_slice(bytes))
}

/// Batches to keep ready for buffers of `size` bytes.
fn target_batches(size: usize) -> usize {
    (READY_BYTES / (size.max(1) * BATCH)).max(2)
}

impl Fill for Shared {
    /// Makes batches until the target is ready (nothing before the first fire).
    fn fill(&self) {
        loop {
            let size = self.size.load(Ordering::Relaxed);
            if size == 0 || size > MAX_SIZE {
                return;
            }
            if self.ready_count.load(Ordering::Acquire) >= target_batches(size) {
                return;
            }
            let mut batch = self
                .empties
                .lock()
                .ok()
                .and_then(|mut e| e.pop())
                .unwrap_or_default();
            // A stale batch's buffers are freed here, on this thread.
            batch.clear();
            batch.reserve_exact(BATCH);
            for _ in 0..BATCH {
                // Writing touches every page (the point; `vec![0; n]` is `calloc`, which
                // may leave fresh pages untouched); `clear` keeps them.
                #[allow(clippy::slow_vector_initialization)]
                let mut buf = Vec::with_capacity(size);
                buf.resize(size, 0);
                buf.clear();
                batch.push(buf);
            }
            match self.ready.lock() {
                Ok(mut ready) => {
                    ready.push((size, batch));
                    self.ready_count.store(ready.len(), Ordering::Release);
                }
                Err(_) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_what_the_writer_wrote_with_or_without_a_buffer() {
        let write_all = |p: &Prefault| {
            for i in 0..3_000 {
                // Sizes that change now and then, and sometimes outgrow the buffers.
                let want: Vec<u8> = (0..(i / 700 + 1) * 300 + i % 7).map(|b| b as u8).collect();
                let got = p.write(16, |b| b.extend_from_slice(&want));
                assert_eq!(&got[..], &want[..]);
            }
        };
        write_all(&Prefault::start());
        // A thread's batch is its own (whichever pool filled it): a fresh thread with a
        // pool that has no filler has no buffer at hand for any body.
        std::thread::spawn(move || {
            let inert = Prefault::inert();
            write_all(&inert);
            assert_eq!(inert.misses(), 3_000);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn bodies_of_a_steady_size_find_a_buffer_made_ahead() {
        let pool = Prefault::start();
        let body = vec![7u8; 1100];
        pool.write(16, |b| b.extend_from_slice(&body));
        assert_eq!(pool.misses(), 1, "the first body has no buffer yet");
        let t = std::time::Instant::now();
        while pool.shared.ready_count.load(Ordering::Acquire) < 4 {
            assert!(
                t.elapsed() < std::time::Duration::from_secs(20),
                "no filler"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        for _ in 0..4 * BATCH {
            let got = pool.write(16, |b| b.extend_from_slice(&body));
            assert_eq!(&got[..], &body[..]);
        }
        assert_eq!(
            pool.misses(),
            1,
            "every later body found a buffer of its size"
        );
    }

    #[test]
    fn the_filler_thread_exits_with_its_pool() {
        let pool = Prefault::start();
        pool.write(8, |b| b.extend_from_slice(b"abc"));
        let weak = Arc::downgrade(&pool.shared);
        drop(pool);
        // The only strong reference left is the filler's, for the length of one fill.
        let t = std::time::Instant::now();
        while weak.strong_count() > 0 {
            assert!(t.elapsed() < std::time::Duration::from_secs(10));
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}
