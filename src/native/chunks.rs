//! Body memory that is already in memory, so `fire` need not take page faults: bodies are
//! copied into shared chunks on huge pages.
//!
//! Measured reason (BENCHMARKS.md, "`fire()` ≤ 5 µs with every store"): a burst of fires
//! that outruns the delivery side or the writer (SQLite FULL's fsyncs) grows the queue by
//! one ~1.1 KiB body per event, and the first write to each fresh 4 KiB page is a page
//! fault on the firing thread (≈ 1–3 µs on a 2-core VM). The exact-size buffers of
//! `prefault.rs`, made ahead by a thread that takes those same faults itself, fell behind
//! in such a burst: 86 % of the firing thread's faults with SQLite FULL were its misses
//! (`perf record -e page-faults`, `examples/outbox_bench`), and `fire()` p99 was 4.8–6.0 µs
//! in a memory-store burst.
//!
//! So each dispatcher owns a small background thread (`foreman-webhook-bodies`) that
//! makes **chunks**: anonymous mappings of 2 MiB (which Linux places on a 2 MiB boundary
//! since 6.7), advised as a transparent huge page and written once, so one fault (on this
//! thread) brings in the whole chunk. Firing threads copy bodies into a chunk one after
//! the other (a body is a range of it and a reference count on it: no allocation): a
//! chunk holds ≈ 1,900 bodies of 1 KiB. A firing thread keeps its current chunk in a
//! thread-local and swaps a full one for a ready one with `try_lock` (never waits), waking
//! the thread when fewer than half the chunks it keeps ready are left. With none ready
//! (the filler fell behind, or has no core to run on) the firing thread maps one itself
//! and takes 4 KiB faults as it fills it, as before chunks. A body over [`MAX_BODY`] gets
//! its own allocation.
//!
//! A chunk is unmapped when the last body in it is dropped (its memory goes back to the
//! system at once), so a body must not stay long: a durable store's rows live until their
//! batch is committed; in memory, attempts read the chunk, and a delivery that waits (a
//! retry, a host or ordering queue) first moves its body to an exact-size buffer of its
//! own ([`Body::unshare`]; one waiting body would otherwise keep 2 MiB). Those buffers
//! come from `prefault.rs`'s pool, made on its thread: allocated by the runtime threads
//! among their short-lived allocations they cost 12 % more memory per pending retry. With
//! nothing fired for a while a dispatcher keeps at most [`READY`] + 1 chunks (8 MiB) in
//! memory.
//!
//! The two `unsafe` blocks of the native code are here: the copy of a body into its chunk
//! and the slice a body reads back ([`Piece`]); their invariant is stated there. Where
//! transparent huge pages are off or the mapping is not aligned, chunks are still written
//! ahead, 4 KiB pages at a time.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::filler::{Fill, Filler};

/// Bytes per chunk: one huge page on x86-64 and aarch64 (4 KiB base pages).
pub(crate) const CHUNK: usize = 2 << 20;
/// Chunks kept ready per dispatcher, once it has fired.
const READY: usize = 3;
/// Bodies larger than this are allocated by `fire` (a chunk is for many bodies).
pub(crate) const MAX_BODY: usize = 64 << 10;

/// A body (and whatever the caller wrote after it): a range of a shared chunk, or its own
/// exact allocation.
#[derive(Clone, Debug)]
pub(crate) enum Body {
    /// Its own allocation, exact-size.
    Own(Box<[u8]>),
    /// A range of a chunk that other bodies share (see the module docs).
    Chunk(Piece),
}

impl Body {
    /// The bytes.
    pub(crate) fn as_slice(&self) -> &[u8] {
        match self {
            Self::Own(b) => b,
            Self::Chunk(p) => p.as_ref(),
        }
    }

    /// Moves a body out of its chunk into an exact-size buffer of its own (no-op if it
    /// has one), so that it no longer keeps the chunk mapped. The buffer comes from
    /// `prefault.rs`'s pool, made ahead on that pool's thread: copies allocated by the
    /// runtime threads themselves, among their short-lived allocations, cost 12 % more
    /// memory per pending retry (`examples/pending_memory.rs`: 1,267 B against 1,107 B).
    pub(crate) fn unshare(&mut self) {
        if let Self::Chunk(p) = self {
            *self = Self::Own(super::prefault::exact(p.as_ref()));
        }
    }

    /// The first `len` bytes as a `Bytes` for one request: a body in a chunk without a
    /// copy (the request shares the chunk until it is sent), otherwise a copy.
    ///
    /// The delivery keeps its piece of the chunk during the attempt: at most
    /// `max_concurrency` attempts keep a chunk each (and those of a burst share a few),
    /// for at most the request timeout; a delivery that then waits moves out
    /// ([`unshare`](Self::unshare)).
    pub(crate) fn request_bytes(&self, len: usize) -> bytes::Bytes {
        match self {
            Self::Own(b) => bytes::Bytes::copy_from_slice(b.get(..len).unwrap_or_default()),
            Self::Chunk(p) => {
                let mut out = bytes::Bytes::from_owner(p.clone());
                out.truncate(len);
                out
            }
        }
    }
}

/// A mapped chunk: written only through the [`Cursor`] that owns it, read through the
/// [`Piece`]s cut from it; unmapped when the last of them is dropped.
struct Chunk(memmap2::MmapRaw);

/// A range of a chunk that was written before the piece was made and is never written
/// again.
#[derive(Clone)]
pub(crate) struct Piece {
    chunk: Arc<Chunk>,
    start: u32,
    len: u32,
}

impl AsRef<[u8]> for Piece {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `start..start + len` lies within the mapping (checked by `Cursor::put`
        // against the mapping's length), which stays mapped while `self.chunk` holds it.
        // Those bytes were written by `Cursor::put` before this piece existed (the piece
        // reached other threads through a channel or a lock, which orders that write
        // before these reads), and no one writes them again: the cursor only writes past
        // its position, which it moves past every piece it makes. So no `&mut` aliases
        // this `&[u8]`.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(
                self.chunk.0.as_ptr().add(self.start as usize),
                self.len as usize,
            )
        }
    }
}

impl std::fmt::Debug for Piece {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Piece")
            .field("start", &self.start)
            .field("len", &self.len)
            .finish()
    }
}

/// The one writer of a chunk: a firing thread's current chunk and where the next body
/// goes.
struct Cursor {
    chunk: Arc<Chunk>,
    /// Bytes written so far; nothing at or after this offset has been handed out.
    pos: usize,
}

impl Cursor {
    /// `bytes` as a piece of this chunk, `None` if it does not fit in what is left.
    fn put(&mut self, bytes: &[u8]) -> Option<Piece> {
        let end = self.pos.checked_add(bytes.len())?;
        if end > self.chunk.0.len() {
            return None;
        }
        let start = u32::try_from(self.pos).ok()?;
        let len = u32::try_from(bytes.len()).ok()?;
        // SAFETY: `pos..end` lies within the mapping (checked above) and no piece covers
        // any byte of it yet (pieces cover only bytes before `pos`), so nothing else reads
        // or writes these bytes while they are copied; a `Cursor` is the only writer of
        // its chunk (it is made once per chunk, holds it until it is full, and is not
        // shared between threads). `bytes` is a different allocation.
        #[allow(unsafe_code)]
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.chunk.0.as_mut_ptr().add(self.pos),
                bytes.len(),
            );
        }
        self.pos = end;
        Some(Piece {
            chunk: Arc::clone(&self.chunk),
            start,
            len,
        })
    }
}

/// A dispatcher's pool of chunks and the thread that makes them.
pub(crate) struct Chunks {
    shared: Arc<Shared>,
    filler: Filler,
}

struct Shared {
    /// Chunks ready for firing threads.
    ready: Mutex<Vec<Cursor>>,
    /// Chunks firing threads filled, for the filler to let go of (the last reference to a
    /// chunk unmaps it, which the firing thread should not do) unless this lock is busy.
    spent: Mutex<Vec<Cursor>>,
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
    /// The current chunk (none before the first body).
    chunk: Option<Cursor>,
    /// Where a body is written first (kept, so warm), then copied into the chunk.
    scratch: Vec<u8>,
}

std::thread_local! {
    static LOCAL: RefCell<Local> = RefCell::new(Local::default());
}

impl Chunks {
    /// A pool and its filler thread (none if the thread cannot be started: firing
    /// threads then map their chunks themselves).
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
        let filler = Filler::start(&shared, filler);
        Self { shared, filler }
    }

    /// A pool with no filler thread (tests): firing threads map every chunk themselves.
    #[cfg(test)]
    pub(crate) fn inert() -> Self {
        Self::new(false)
    }

    /// Bodies allocated apart so far (over [`MAX_BODY`], or no thread-local at hand).
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
    fn cut(&self, chunk: &mut Option<Cursor>, bytes: &[u8]) -> Option<Body> {
        if bytes.len() > MAX_BODY {
            return None;
        }
        if let Some(piece) = chunk.as_mut().and_then(|c| c.put(bytes)) {
            return Some(Body::Chunk(piece));
        }
        // None ready (the filler is behind, or has no core to run on): this thread maps
        // one, untouched, and takes its 4 KiB faults as it fills it, as `fire` did before
        // chunks (see `make_chunk`).
        let fresh = self.take_chunk().or_else(|| make_chunk(false))?;
        if let Some(full) = chunk.replace(fresh) {
            self.recycle(full);
        }
        chunk.as_mut()?.put(bytes).map(Body::Chunk)
    }

    /// A ready chunk (`None` if none is ready or the lock is busy); wakes the filler
    /// when few are left.
    fn take_chunk(&self) -> Option<Cursor> {
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

    /// Hands a full chunk to the filler to let go of (dropped here if its lock is busy),
    /// and wakes it: a spent chunk keeps its 2 MiB until the filler drops it.
    fn recycle(&self, rest: Cursor) {
        if let Ok(mut spent) = self.shared.spent.try_lock() {
            spent.push(rest);
        }
        self.wake();
    }

    fn wake(&self) {
        self.filler.wake();
    }
}

impl Fill for Shared {
    /// Drops spent chunk remainders and makes chunks until [`READY`] are ready (nothing
    /// before the first fire).
    fn fill(&self) {
        let spent = std::mem::take(&mut *self.spent.lock().unwrap_or_else(|e| e.into_inner()));
        drop(spent);
        if !self.fired.load(Ordering::Relaxed) {
            return;
        }
        while self.ready_count.load(Ordering::Acquire) < READY {
            let Some(chunk) = make_chunk(true) else {
                // Out of address space or memory: `fire` allocates bodies meanwhile.
                return;
            };
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

/// A chunk of [`CHUNK`] bytes: an anonymous mapping (Linux places one of a multiple of
/// 2 MiB on a 2 MiB boundary since 6.7, so one huge page can back it), with `touch`
/// advised as a huge page and written to (one byte per 4 KiB page: one fault in all on a
/// huge page, else one per page). `None` if the mapping fails.
fn make_chunk(touch: bool) -> Option<Cursor> {
    let mut map = memmap2::MmapOptions::new().len(CHUNK).map_anon().ok()?;
    // Only for the filler thread: with its own chunks on huge pages a firing thread's
    // longest calls in a memory-store burst were 10 and 28 ms (a huge page fault, the
    // kernel compacting memory for it: `defrag`), 3–16 ms with 4 KiB faults spread over
    // the chunk's bodies, for a p99 no better (2.5 against 2.3 µs).
    #[cfg(target_os = "linux")]
    if touch {
        let _ = map.advise(memmap2::Advice::HugePage);
    }
    if touch {
        for byte in map.iter_mut().step_by(4096) {
            *byte = 0;
        }
    }
    Some(Cursor {
        chunk: Arc::new(Chunk(memmap2::MmapRaw::from(map))),
        pos: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_what_the_writer_wrote_with_or_without_a_chunk() {
        let write_all = |p: &Chunks| {
            let mut kept = Vec::new();
            for i in 0..6_000 {
                // Sizes that change now and then, and sometimes exceed `MAX_BODY`.
                let len = (i / 700 + 1) * 300 + i % 7 + if i % 1000 == 999 { MAX_BODY } else { 0 };
                let want: Vec<u8> = (0..len).map(|b| (b * 7 + i) as u8).collect();
                let got = p.write(16, |b| b.extend_from_slice(&want));
                assert_eq!(got.as_slice(), &want[..]);
                kept.push((got, want));
            }
            // Bodies cut from one chunk stay intact while their neighbours are written
            // or dropped.
            let mut i = 0;
            kept.retain(|_| {
                i += 1;
                i % 3 != 0
            });
            for (got, want) in &kept {
                assert_eq!(got.as_slice(), &want[..]);
            }
        };
        let pool = Chunks::start();
        write_all(&pool);
        // Only the bodies over `MAX_BODY` were allocated apart.
        assert_eq!(pool.misses(), 6);
        // With no filler, the firing thread makes its chunks itself.
        std::thread::spawn(move || {
            let inert = Chunks::inert();
            write_all(&inert);
            assert_eq!(inert.misses(), 6);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn after_the_first_body_bodies_are_cut_from_chunks_made_ahead() {
        let pool = Chunks::start();
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
    fn a_request_reads_the_chunk_and_an_unshared_body_has_its_own_buffer() {
        let pool = Chunks::start();
        let mut body = pool.write(16, |b| b.extend_from_slice(b"{\"a\":1}job-1done"));
        let Body::Chunk(ref piece) = body else {
            panic!("a small body goes in a chunk")
        };
        let at = piece.as_ref().as_ptr();
        let request = body.request_bytes(7);
        assert_eq!(&request[..], b"{\"a\":1}");
        assert_eq!(request.as_ptr(), at, "the request reads the chunk itself");
        body.unshare();
        assert!(matches!(body, Body::Own(_)));
        assert_eq!(body.as_slice(), b"{\"a\":1}job-1done");
        // The request still reads what it was given; from its own buffer, a copy each time.
        assert_eq!(&request[..], b"{\"a\":1}");
        let again = body.request_bytes(7);
        assert_eq!(&again[..], b"{\"a\":1}");
        assert_ne!(again.as_ptr(), body.as_slice().as_ptr());
    }

    #[test]
    fn a_chunk_takes_bodies_until_it_is_full_and_they_stay_intact() {
        let mut c = make_chunk(true).unwrap();
        let mut pieces = Vec::new();
        for i in 0.. {
            let b = vec![i as u8; 1000];
            match c.put(&b) {
                Some(p) => pieces.push((p, b)),
                None => break,
            }
        }
        assert_eq!(pieces.len(), CHUNK / 1000);
        // Exactly what is left still fits, then nothing.
        assert!(c.put(&[1u8; CHUNK % 1000]).is_some());
        assert!(c.put(&[1]).is_none());
        drop(c);
        for (p, b) in &pieces {
            assert_eq!(p.as_ref(), &b[..]);
        }
    }

    #[test]
    fn the_filler_thread_exits_with_its_pool() {
        let pool = Chunks::start();
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
