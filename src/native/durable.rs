//! The durable store's state inside a dispatcher: the channel `fire` feeds (bounded by a
//! count), the claims this process holds (lease tokens, stored event ids), and the
//! wake-up for the claim loop. The loops themselves (writer, claimer, pruner) run in the
//! dispatcher; this file knows nothing of it.
#![cfg_attr(
    not(any(feature = "sqlite", feature = "postgres")),
    allow(dead_code, unused_variables)
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot, Notify};

use super::error::{BuildError, BuildErrorKind};
use super::outbox::{
    DurableSettings, EventId, Finish, NewDelivery, OutboxError, OutboxErrorKind, Store,
    StoreConfig, StoredTrace,
};

/// What the group-commit writer receives: an event to store, or a flush barrier answered
/// once everything sent before it is committed.
// Events inline in the channel's slots: a `Box` would be one more allocation per `fire`
// (flush barriers are rare).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Write {
    Event(NewDelivery),
    Flush(oneshot::Sender<Result<(), OutboxError>>),
}

/// A finished attempt on its way to the finisher, with where its answer goes.
pub(crate) type FinishRequest = (Finish, oneshot::Sender<Result<bool, OutboxError>>);

/// What this process holds on one claimed delivery (keyed by the delivery's row id).
#[derive(Debug, Clone)]
pub(crate) struct DurableJob {
    pub(crate) event_id: EventId,
    pub(crate) token: i64,
    pub(crate) manual: bool,
    pub(crate) started: bool,
    /// The trace context stored with the event (its delivery span's parent).
    pub(crate) trace: Option<Arc<StoredTrace>>,
}

pub(crate) struct Durable {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) settings: DurableSettings,
    /// This process's lease owner name.
    pub(crate) owner: String,
    tx: mpsc::UnboundedSender<Write>,
    rx: Mutex<Option<mpsc::UnboundedReceiver<Write>>>,
    /// Fired, not yet committed.
    pub(crate) queued: AtomicUsize,
    /// The most deliveries `queued` may count (`max_pending`).
    capacity: usize,
    claims: Claims,
    claimer: Arc<Notify>,
    finish_tx: mpsc::UnboundedSender<FinishRequest>,
    finish_rx: Mutex<Option<mpsc::UnboundedReceiver<FinishRequest>>>,
}

/// The claims this process holds, by delivery row id. Pure bookkeeping (no I/O), so
/// the re-claim rule is unit-tested below.
#[derive(Debug, Default)]
pub(crate) struct Claims(Mutex<HashMap<u64, DurableJob>>);

impl Claims {
    fn map(&self) -> MutexGuard<'_, HashMap<u64, DurableJob>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a new claim on `id`. A claim already held on the same row is replaced:
    /// the store hands a row out again only once that claim is over (its attempt
    /// recorded, or its lease expired), so the newer token is the one that counts.
    pub(crate) fn hold(&self, id: u64, job: DurableJob) {
        self.map().insert(id, job);
    }

    /// The claim on `id`, marked started (the attempt is under way).
    pub(crate) fn start(&self, id: u64) -> Option<DurableJob> {
        let mut claims = self.map();
        let job = claims.get_mut(&id)?;
        job.started = true;
        Some(job.clone())
    }

    /// Drops the claim on `id` (finished or given back) iff it is still the one with
    /// `token`. The row may have been claimed again already: a retry due at once is
    /// claimable the moment its attempt's record commits, before the recording task
    /// runs again, and that newer claim must stay (dropping it stranded the delivery in
    /// flight until its lease expired, with no outcome meanwhile).
    pub(crate) fn forget(&self, id: u64, token: i64) -> Option<DurableJob> {
        let mut claims = self.map();
        if claims.get(&id)?.token != token {
            return None;
        }
        claims.remove(&id)
    }

    /// The token of the claim held on `id` now.
    pub(crate) fn token(&self, id: u64) -> Option<i64> {
        self.map().get(&id).map(|c| c.token)
    }

    /// Claims held now.
    pub(crate) fn len(&self) -> usize {
        self.map().len()
    }
}

impl Durable {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        settings: DurableSettings,
        owner: String,
        capacity: usize,
    ) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let (finish_tx, finish_rx) = mpsc::unbounded_channel();
        Self {
            store,
            settings,
            owner,
            tx,
            rx: Mutex::new(Some(rx)),
            queued: AtomicUsize::new(0),
            capacity: capacity.max(1),
            claims: Claims::default(),
            finish_tx,
            finish_rx: Mutex::new(Some(finish_rx)),
            claimer: Arc::new(Notify::new()),
        }
    }

    /// Hands a new delivery to the writer; `false` when `capacity` deliveries are
    /// already on their way to the store (queued or being committed) or the writer is
    /// gone.
    ///
    /// The channel is unbounded and the bound is this count: the writer moves what
    /// arrives out of the channel every millisecond, even while a commit is under way, so
    /// the channel stays short and reuses its blocks. A bounded channel grew with the
    /// backlog during a long commit (SQLite FULL in a burst) and allocated a fresh block
    /// on the firing thread every 32 events: then all of its page faults (`perf record
    /// -e page-faults`, `examples/outbox_bench`).
    pub(crate) fn try_enqueue(&self, d: NewDelivery) -> bool {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return false;
        }
        let sent = self.tx.send(Write::Event(d)).is_ok();
        if !sent {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
        sent
    }

    /// Records a finished attempt through the finisher task, which commits everything
    /// that finished meanwhile in one batch; `Ok(false)` when the lease was lost.
    pub(crate) async fn finish(&self, done: Finish) -> Result<bool, OutboxError> {
        let (tx, rx) = oneshot::channel();
        if self.finish_tx.send((done, tx)).is_err() {
            return Err(OutboxError::simple(OutboxErrorKind::ShuttingDown));
        }
        rx.await
            .unwrap_or_else(|_| Err(OutboxError::simple(OutboxErrorKind::ShuttingDown)))
    }

    /// The finisher's receiving end (once).
    pub(crate) fn take_finish_receiver(&self) -> Option<mpsc::UnboundedReceiver<FinishRequest>> {
        self.finish_rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Resolves once every event handed to the writer before this call is committed
    /// (a barrier through the writer's own channel, so nothing sent earlier overtakes it).
    pub(crate) async fn flush(&self) -> Result<(), OutboxError> {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Write::Flush(tx)).is_err() {
            return Err(OutboxError::simple(OutboxErrorKind::ShuttingDown));
        }
        rx.await
            .unwrap_or_else(|_| Err(OutboxError::simple(OutboxErrorKind::ShuttingDown)))
    }

    /// The receiving end, for the writer task (once).
    pub(crate) fn take_receiver(&self) -> Option<mpsc::UnboundedReceiver<Write>> {
        self.rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    pub(crate) fn hold(&self, id: u64, job: DurableJob) {
        self.claims.hold(id, job);
    }

    /// See [`Claims::start`].
    pub(crate) fn start(&self, id: u64) -> Option<DurableJob> {
        self.claims.start(id)
    }

    /// See [`Claims::forget`].
    pub(crate) fn forget(&self, id: u64, token: i64) -> Option<DurableJob> {
        self.claims.forget(id, token)
    }

    /// See [`Claims::token`].
    pub(crate) fn token(&self, id: u64) -> Option<i64> {
        self.claims.token(id)
    }

    /// Claims held now.
    pub(crate) fn held(&self) -> usize {
        self.claims.len()
    }

    pub(crate) fn wake_claimer(&self) {
        self.claimer.notify_one();
    }

    pub(crate) async fn claimer_woken(&self) {
        self.claimer.notified().await;
    }
}

impl Durable {
    /// Opens the configured store: `None` for the in-memory one. The file is opened,
    /// migrated and checked once on a helper thread (so `build()` gives the clear error
    /// for a locked, corrupt or unreachable database, from async code or not); the pool
    /// then opens its connections lazily on the dispatcher's runtime.
    pub(crate) fn open(
        store: &StoreConfig,
        settings: &DurableSettings,
        capacity: usize,
        handle: &Handle,
    ) -> Result<Option<Self>, BuildError> {
        let owner = format!(
            "pid{}-{:08x}",
            std::process::id(),
            super::random::random_u64() & 0xffff_ffff
        );
        match store {
            StoreConfig::Memory => Ok(None),
            #[cfg(feature = "sqlite")]
            StoreConfig::Sqlite(options) => {
                let opts = options.clone();
                on_helper_thread(move || async move {
                    super::outbox::sqlite::open_and_migrate(&opts).await
                })?;
                let _entered = handle.enter();
                let store = super::outbox::sqlite::SqliteStore::lazy(options);
                Ok(Some(Self::new(
                    Arc::new(store),
                    settings.clone(),
                    owner,
                    capacity,
                )))
            }
            #[cfg(feature = "postgres")]
            StoreConfig::Postgres(options) => {
                let (opts, analyze) = (options.clone(), settings.deliver);
                on_helper_thread(move || async move {
                    super::outbox::postgres::open_and_migrate(&opts, analyze).await
                })?;
                let _entered = handle.enter();
                let pg = Arc::new(super::outbox::postgres::PgStore::lazy(options));
                let store: Arc<dyn Store> = pg.clone();
                let durable = Self::new(store, settings.clone(), owner, capacity);
                if settings.deliver && !options.poll_only {
                    let wake = Arc::downgrade(&durable.claimer);
                    handle.spawn(async move {
                        pg.listen(|| {
                            wake.upgrade().is_some_and(|n| {
                                n.notify_one();
                                true
                            })
                        })
                        .await;
                    });
                }
                Ok(Some(durable))
            }
            StoreConfig::Invalid(message) => {
                Err(BuildError::new(BuildErrorKind::Store, message.clone()))
            }
        }
    }
}

/// Runs an async database check to completion on a fresh thread with its own small
/// runtime, so it works whether or not the caller is inside a runtime.
fn on_helper_thread<F, Fut>(f: F) -> Result<(), BuildError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), OutboxError>>,
{
    let joined = std::thread::Builder::new()
        .name("foreman-webhook-open".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| BuildError::new(BuildErrorKind::Runtime, e))?;
            rt.block_on(f()).map_err(|e| {
                tracing::error!(error = %e, "webhook outbox: the store could not be opened");
                BuildError::new(BuildErrorKind::Store, e)
            })
        })
        .map_err(|e| BuildError::new(BuildErrorKind::Runtime, e))?
        .join();
    joined.unwrap_or_else(|_| {
        Err(BuildError::new(
            BuildErrorKind::Store,
            "the thread opening the outbox panicked",
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(token: i64) -> DurableJob {
        DurableJob {
            event_id: EventId("msg_x".into()),
            token,
            manual: false,
            started: false,
            trace: None,
        }
    }

    /// The order that lost outcomes on PostgreSQL: attempt 1 records a retry due at once,
    /// the claim loop re-claims the row (token 2) before the recording task forgets its
    /// claim (token 1). Forgetting token 1 must leave token 2 held.
    #[test]
    fn a_reclaim_outlives_the_forget_of_the_claim_before_it() {
        let claims = Claims::default();
        claims.hold(7, claim(1));
        assert!(claims.start(7).is_some());
        claims.hold(7, claim(2)); // re-claimed after attempt 1's record committed
        assert!(
            claims.forget(7, 1).is_none(),
            "the old token removes nothing"
        );
        assert_eq!(claims.token(7), Some(2));
        assert_eq!(claims.len(), 1);
        let second = claims.start(7).expect("attempt 2 finds its claim");
        assert_eq!(second.token, 2);
        assert_eq!(claims.forget(7, 2).map(|c| c.token), Some(2));
        assert_eq!(claims.len(), 0);
        assert!(claims.forget(7, 2).is_none());
    }
}
