//! The background thread of a body pool (`chunks.rs`, `prefault.rs`): woken with
//! [`Filler::wake`], it runs the pool's [`Fill::fill`] and parks again. It holds only a
//! `Weak` to the pool, so once the pool is gone (dropping the [`Filler`] wakes it) it
//! finds nothing to fill and exits.

use std::sync::{Arc, Weak};
use std::thread::Thread;

/// What the thread does each time it is woken.
pub(crate) trait Fill: Send + Sync + 'static {
    /// Brings the pool back to what it keeps ready.
    fn fill(&self);
}

/// A pool's handle on its thread (none when not asked for or when it cannot be started:
/// the pool's users then allocate as they would without it).
pub(crate) struct Filler(Option<Thread>);

impl Filler {
    /// Starts `foreman-webhook-bodies` for `pool` if `start`.
    pub(crate) fn start<T: Fill>(pool: &Arc<T>, start: bool) -> Self {
        let pool = Arc::downgrade(pool);
        let thread = start
            .then(|| {
                std::thread::Builder::new()
                    .name("foreman-webhook-bodies".into())
                    .spawn(move || run(&pool))
                    .ok()
            })
            .flatten()
            .map(|h| h.thread().clone());
        Self(thread)
    }

    /// Wakes the thread (a no-op without one).
    pub(crate) fn wake(&self) {
        if let Some(thread) = &self.0 {
            thread.unpark();
        }
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        // Declared after the pool's `Arc` in its owner, so this runs once the pool is gone.
        self.wake();
    }
}

fn run<T: Fill>(pool: &Weak<T>) {
    loop {
        {
            let Some(pool) = pool.upgrade() else { return };
            pool.fill();
        }
        std::thread::park();
    }
}
