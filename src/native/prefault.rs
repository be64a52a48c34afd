//! Body memory that is already in memory, so `fire` need not take page faults.
//!
//! Measured reason (BENCHMARKS.md, "fire() without page faults"): a burst of fires that
//! outruns the delivery side (or SQLite FULL's fsyncs) grows the heap by one ~1 KiB body
//! per event, and the first write to each fresh 4 KiB page is a page fault on the firing
//! thread (≈ 1–3 µs each on a 2-core VM): that was the tail of `fire()` in a burst. It
//! vanished with the heap on huge pages (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, which
//! a library cannot ask of its users). The previous remedy, a thread that malloc'd and
//! wrote one buffer per body ahead of `fire`, took those same faults itself and fell
//! behind in a burst (86 % of the firing thread's faults with SQLite FULL were its misses,
//! `perf record -e page-faults`).
//!
//! So each dispatcher owns a small background thread (`foreman-webhook-bodies`) that makes
//! **chunks**: 2 MiB of memory aligned to 2 MiB, advised as a transparent huge page
//! (`madvise(MADV_HUGEPAGE)`, the one `unsafe` call of the native code: [`advise_huge`])
//! and written once, so one fault (on this thread) brings in the whole chunk. Firing
//! threads carve bodies out of a chunk ([`BytesMut::split`]: no allocation, no copy
//! beyond the body's own bytes): a chunk holds ≈ 1,900 bodies of 1 KiB. A firing thread
//! keeps its current chunk in a thread-local and swaps an exhausted one for a ready one
//! with `try_lock` (never waits), waking the thread when fewer than half the chunks it
//! keeps ready are left. With no chunk at hand (none ready or the lock busy, a body over
//! [`MAX_BODY`]) `fire` allocates the body as before.
//!
//! A chunk is freed when the last body cut from it is dropped, so a body must not stay
//! long: a delivery that waits (a retry, a host or ordering queue) or starts its first
//! attempt moves its body out to an exact allocation ([`Body::unshare`]), and a durable
//! store's bodies live only until their batch is committed. What a chunk costs while
//! it lives is its 2 MiB; with nothing fired for a while a dispatcher keeps at most
//! [`READY`] + 1 chunks (8 MiB) in memory.
//!
//! Where transparent huge pages are off (`/sys/kernel/mm/transparent_hugepage/enabled`
//! = `never`) or not on Linux, chunks are still written ahead, 4 KiB pages at a time.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::thread::Thread;

use bytes::{Bytes, BytesMut};

/// Bytes per chunk: one huge page on x86-64 and aarch64 (4 KiB base pages).
pub(crate) const CHUNK: usize = 2 << 20;
/// Chunks kept ready per dispatcher, once it has fired.
const READY: usize = 3;
/// Bodies larger than this are allocated by `fire` (a chunk is for many bodies).
pub(crate) const MAX_BODY: usize = 64 << 10;

/// A body (and whatever the caller wrote after it): in a shared chunk, or its own exact
/// allocation.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    /// Its own allocation, exact-size.
    Own(Box<[u8]>),
    /// Cut from a chunk that other bodies share (see the module docs).
    Chunk(Bytes),
}

impl Body {
    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Own(b) => b,
            Self::Chunk(b) => b,
        }
    }

    /// Moves a body out of its chunk into its own exact allocation (no-op if it has one),
    /// so that it no longer keeps the chunk alive.
    pub(crate) fn unshare(&mut self) {
        if let Self::Chunk(b) = self {
            *self = Self::Own(Box::from(&b[..]));
        }
    }

    /// The first `len` bytes as a `Bytes` for one request. A body in a chunk is handed
    /// over without a copy and the body itself moves to its own allocation (a delivery
    /// that is being attempted may wait for a retry next); otherwise a copy.
    pub(crate) fn request_bytes(&mut self, len: usize) -> Bytes {
        match self {
            Self::Own(b) => Bytes::copy_from_slice(b.get(..len).unwrap_or_default()),
            Self::Chunk(b) => {
                let out = b.slice(..len.min(b.len()));
                self.unshare();
                out
            }
        }
    }
}

/// A dispatcher's pool of chunks and the thread that makes them.
pub(crate) struct Prefault {
    shared: Arc<Shared>,
    filler: Option<Thread>,
}

struct Shared {
    /// Chunks ready for firing threads.
    ready: Mutex<Vec<BytesMut>>,
    /// What is left of chunks firing threads finished with, for the filler to drop (the
    /// last reference to a chunk frees 2 MiB, which the firing thread should not do)
    /// unless this lock is busy.
    spent: Mutex<Vec<BytesMut>>,
    /// `ready.len()`, readable without the lock (stored under it).
    ready_count: AtomicUsize,
    /// Something was fired (no chunk is made before).
    fired: AtomicBool,
    /// Bodies `fire` had to allocate itself (too big for a chunk, or no thread-local).
    misses: AtomicUsize,
    /// Chunks taken from `ready`.
    #[cfg(test)]
    taken: AtomicUsize,
}

/// A firing thread's chunk and the buffer it serializes into.
#[derive(Default)]
struct Local {
    /// The current chunk: bodies are cut from its front.
    chunk: BytesMut,
    /// Where a body is written first (kept, so warm), then copied into the chunk.
    scratch: Vec<u8>,
}

std::thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
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
            spent: Mutex::new(Vec::new()),
            ready_count: AtomicUsize::new(0),
            fired: AtomicBool::new(false),
            misses: AtomicUsize::new(0),
            #[cfg(test)]
            taken: AtomicUsize::new(0),
        });
        let weak = Arc::downgrade(&shared);
        let filler = filler
            .then(|| {
                std::thread::Builder::new()
                    .name("foreman-webhook-bodies".into())
                    .spawn(move || fill_loop(&weak))
                    .ok()
            })
            .flatten()
            .map(|h| h.thread().clone());
        Self { shared, filler }
    }

    /// A pool with no filler thread: every body misses (tests and one-off encoders).
    #[cfg(test)]
    pub(crate) fn inert() -> Self {
        Self::new(false)
    }

    /// Bodies `fire` had to allocate itself so far.
    #[cfg(test)]
    pub(crate) fn misses(&self) -> usize {
        self.shared.misses.load(Ordering::Relaxed)
    }

    /// Writes a body with `write` and returns it: cut from a chunk when this thread has
    /// one with room (or can take one), else in its own allocation of the exact size
    /// (`hint` is where the writing starts). Never blocks.
    pub(crate) fn write(&self, hint: usize, write: impl FnOnce(&mut Vec<u8>)) -> Body {
        if !self.shared.fired.load(Ordering::Relaxed) {
            self.shared.fired.store(true, Ordering::Relaxed);
            self.wake();
        }
        // The thread's buffer (warm), taken out while the body is written.
        let mut scratch = LOCAL
            .try_with(|l| {
                l.try_borrow_mut()
                    .map(|mut l| std::mem::take(&mut l.scratch))
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        scratch.clear();
        scratch.reserve(hint);
        write(&mut scratch);
        let cut = LOCAL
            .try_with(|l| {
                let mut l = l.try_borrow_mut().ok()?;
                self.cut(&mut l.chunk, &scratch)
            })
            .ok()
            .flatten();
        let body = cut.unwrap_or_else(|| {
            self.shared.misses.fetch_add(1, Ordering::Relaxed);
            Body::Own(Box::from(&scratch[..]))
        });
        // The buffer goes back, unless one huge body grew it.
        if scratch.capacity() <= 2 * MAX_BODY {
            let _ = LOCAL.try_with(|l| {
                if let Ok(mut l) = l.try_borrow_mut() {
                    l.scratch = scratch;
                }
            });
        }
        body
    }

    /// `bytes` as a body cut from `chunk` (swapped for a ready one when it has no room
    /// left); `None` when no chunk with room is at hand or the body is over [`MAX_BODY`].
    fn cut(&self, chunk: &mut BytesMut, bytes: &[u8]) -> Option<Body> {
        if bytes.len() > MAX_BODY {
            return None;
        }
        if chunk.capacity() < bytes.len() {
            // None ready (the filler is behind, or it has no core to run on): this
            // thread makes one, untouched. That costs one huge page fault (≈ 0.1–0.5
            // ms) once per ≈ 1,900 bodies of 1 KiB, instead of a 4 KiB page fault every
            // three or four bodies.
            let full = self.take_chunk().unwrap_or_else(|| make_chunk(false));
            self.recycle(std::mem::replace(chunk, full));
        }
        if chunk.capacity() < bytes.len() {
            return None;
        }
        // Within capacity: no allocation, only the copy of the bytes.
        chunk.extend_from_slice(bytes);
        Some(Body::Chunk(chunk.split().freeze()))
    }

    /// A ready chunk (`None` if none is ready or the lock is busy); wakes the filler
    /// when few are left.
    fn take_chunk(&self) -> Option<BytesMut> {
        let mut got = None;
        let mut left = 0;
        if let Ok(mut ready) = self.shared.ready.try_lock() {
            got = ready.pop();
            #[cfg(test)]
            self.shared
                .taken
                .fetch_add(usize::from(got.is_some()), Ordering::Relaxed);
            left = ready.len();
            self.shared.ready_count.store(left, Ordering::Release);
        }
        if left <= READY / 2 {
            self.wake();
        }
        got
    }

    /// Hands what is left of a chunk to the filler to drop (dropped here if its lock is
    /// busy).
    fn recycle(&self, rest: BytesMut) {
        if let Ok(mut spent) = self.shared.spent.try_lock() {
            spent.push(rest);
        }
    }

    fn wake(&self) {
        if let Some(filler) = &self.filler {
            filler.unpark();
        }
    }
}

impl Drop for Prefault {
    fn drop(&mut self) {
        // The filler holds only a `Weak`: woken, it finds the pool gone and exits.
        self.wake();
    }
}

fn fill_loop(pool: &Weak<Shared>) {
    loop {
        {
            let Some(shared) = pool.upgrade() else { return };
            shared.fill();
        }
        std::thread::park();
    }
}

impl Shared {
    /// Drops spent chunk remainders and makes chunks until [`READY`] are ready (nothing
    /// before the first fire).
    fn fill(&self) {
        let spent = std::mem::take(&mut *self.spent.lock().unwrap_or_else(|e| e.into_inner()));
        drop(spent);
        if !self.fired.load(Ordering::Relaxed) {
            return;
        }
        while self.ready_count.load(Ordering::Acquire) < READY {
            let chunk = make_chunk(true);
            match self.ready.lock() {
                Ok(mut ready) => {
                    ready.push(chunk);
                    self.ready_count.store(ready.len(), Ordering::Release);
                }
                Err(_) => return,
            }
        }
    }
}

/// A chunk: [`CHUNK`] bytes of capacity starting at a multiple of [`CHUNK`] (so the
/// kernel can back it with one huge page), advised so, and with `touch` written to (one
/// byte per 4 KiB page: one fault in all on a huge page, else one per page).
fn make_chunk(touch: bool) -> BytesMut {
    // Twice the size, then the aligned middle: the head and the tail are given back
    // untouched (they cost address space, not memory, until the chunk is freed).
    let mut raw = BytesMut::with_capacity(2 * CHUNK);
    let addr = raw.as_ptr() as usize;
    let skip = addr.next_multiple_of(CHUNK) - addr;
    let mut chunk = raw.split_off(skip);
    drop(raw);
    drop(chunk.split_off(CHUNK));
    advise_huge(chunk.spare_capacity_mut());
    if touch {
        for byte in chunk.spare_capacity_mut().iter_mut().step_by(4096) {
            byte.write(0);
        }
    }
    chunk
}

/// Asks the kernel to back `region` with transparent huge pages (best effort: errors,
/// e.g. THP compiled out, are ignored; the memory is used either way).
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn advise_huge(region: &mut [std::mem::MaybeUninit<u8>]) {
    const PAGE: usize = 4096;
    let start = (region.as_mut_ptr() as usize).next_multiple_of(PAGE);
    let end = (region.as_mut_ptr() as usize + region.len()) & !(PAGE - 1);
    if end > start {
        // SAFETY: `madvise(MADV_HUGEPAGE)` only changes how the kernel may back these
        // pages (huge pages instead of 4 KiB ones); it never changes their contents or
        // the mapping, so no Rust invariant depends on it. The range is page-aligned and
        // lies within `region`, memory this function borrows exclusively.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_: &mut [std::mem::MaybeUninit<u8>]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_what_the_writer_wrote_with_or_without_a_chunk() {
        let write_all = |p: &Prefault| {
            let mut kept = Vec::new();
            for i in 0..6_000 {
                // Sizes that change now and then, and sometimes exceed `MAX_BODY`.
                let len = (i / 700 + 1) * 300 + i % 7 + if i % 1000 == 999 { MAX_BODY } else { 0 };
                let want: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
                let got = p.write(16, |b| b.extend_from_slice(&want));
                assert_eq!(got.as_slice(), &want[..]);
                kept.push((got, want));
            }
            // Bodies cut from one chunk stay intact while their neighbours are written,
            // moved out or dropped.
            for (i, (got, want)) in kept.iter_mut().enumerate() {
                if i % 3 == 0 {
                    got.unshare();
                    assert!(matches!(got, Body::Own(_)));
                }
                assert_eq!(got.as_slice(), &want[..]);
            }
        };
        let pool = Prefault::start();
        write_all(&pool);
        // Only the bodies over `MAX_BODY` were allocated apart.
        assert_eq!(pool.misses(), 6);
        // With no filler, the firing thread makes its chunks itself.
        std::thread::spawn(move || {
            let inert = Prefault::inert();
            write_all(&inert);
            assert_eq!(inert.misses(), 6);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn after_the_first_body_bodies_are_cut_from_chunks_made_ahead() {
        let pool = Prefault::start();
        let body = vec![7u8; 1100];
        // The first body: in a chunk this thread made (none was ready yet).
        let first = pool.write(16, |b| b.extend_from_slice(&body));
        assert!(matches!(first, Body::Chunk(_)));
        let t = std::time::Instant::now();
        while pool.shared.ready_count.load(Ordering::Acquire) < READY {
            assert!(
                t.elapsed() < std::time::Duration::from_secs(20),
                "no filler"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        // Two chunks' worth: this thread takes one, then a second one.
        let n = 2 * CHUNK / body.len();
        let mut bodies = Vec::with_capacity(n);
        for _ in 0..n {
            let got = pool.write(16, |b| b.extend_from_slice(&body));
            assert!(matches!(got, Body::Chunk(_)));
            assert_eq!(got.as_slice(), &body[..]);
            bodies.push(got);
        }
        assert_eq!(pool.misses(), 0, "every body found room in a chunk");
        assert!(
            pool.shared.taken.load(Ordering::Relaxed) >= 1,
            "the thread took chunks made ahead"
        );
    }

    #[test]
    fn a_request_takes_a_chunk_body_without_a_copy_and_the_body_moves_out() {
        let pool = Prefault::start();
        let mut body = pool.write(16, |b| b.extend_from_slice(b"{\"a\":1}job-1done"));
        let t = std::time::Instant::now();
        while !matches!(body, Body::Chunk(_)) {
            assert!(t.elapsed() < std::time::Duration::from_secs(20));
            std::thread::sleep(std::time::Duration::from_millis(1));
            body = pool.write(16, |b| b.extend_from_slice(b"{\"a\":1}job-1done"));
        }
        let Body::Chunk(ref shared) = body else {
            unreachable!()
        };
        let at = shared.as_ptr();
        let request = body.request_bytes(7);
        assert_eq!(&request[..], b"{\"a\":1}");
        assert_eq!(request.as_ptr(), at, "the request reads the chunk itself");
        assert!(matches!(body, Body::Own(_)));
        assert_eq!(body.as_slice(), b"{\"a\":1}job-1done");
        // From its own allocation, a copy per request.
        let again = body.request_bytes(7);
        assert_eq!(&again[..], b"{\"a\":1}");
        assert_ne!(again.as_ptr(), body.as_slice().as_ptr());
    }

    #[test]
    fn chunks_are_aligned_to_their_size() {
        for _ in 0..4 {
            let chunk = make_chunk(true);
            assert_eq!(chunk.capacity(), CHUNK);
            assert_eq!(chunk.len(), 0);
            assert_eq!(chunk.as_ptr() as usize % CHUNK, 0);
        }
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
