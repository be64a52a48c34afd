//! The I/O half: `fire`, the scheduler task, attempts over hyper, shutdown.
//!
//! Shape: `fire` vets the URL (once per destination and thread, cached), serializes the
//! event once and sends a [`Job`] over a lock-free channel to a single scheduler task,
//! which starts attempts while the global and per-host concurrency limits allow: due
//! retries (a binary heap of deadlines) first, then the ready queue, then fresh events
//! (a job whose host is busy waits in that host's queue, so one slow receiver cannot
//! hold the global slots). Each attempt is one task that sends,
//! classifies with the pure [`RetryPolicy`], and either finishes the job or puts it back
//! in the heap. A job value is owned by exactly one place at a time, so it reaches
//! exactly one terminal outcome.

use core::fmt;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, error, warn};

use super::address::AddressPolicy;
use super::chunks::Chunks;
use super::config::{Config, OutcomeFn};
use super::durable::{Durable, DurableJob, Write};
use super::error::{BuildError, BuildErrorKind};
use super::http::{loggable, vet_url, Chain, Http};
use super::job::{Dest, Job};
use super::outbox::{
    now_ms, AttemptRow, Claimed, EventId, Finish, NewDelivery, OutboxError, OutboxErrorKind,
    Transition, Trigger,
};
use super::outcome::{
    Counters, DeliveryId, Outcome, OutcomeKind, RejectReason, ShutdownReport, Stats,
};
use super::retry::{splitmix64, AttemptOutcome, Next, RetryPolicy};
use super::schedule::{deadline, Sched, Started, Tick};
use super::telemetry::{log_span, redact_url, ErrorClass, TelemetryConfig, Trail};
use crate::Event;

pub(super) const OPEN: u8 = 0;
/// The most finished attempts recorded in one transaction.
const FINISH_BATCH: usize = 512;
/// The most fired events the writer commits in one transaction.
const WRITE_BATCH: usize = 1024;
const DRAINING: u8 = 1;
pub(super) const CANCELLED: u8 = 2;

/// Delivers signed [`Event`]s to webhook URLs in the background; see the
/// [module docs](super) for the defaults, the runtime and the guarantees.
///
/// Cloning is cheap and every clone drives the same deliveries.
#[derive(Clone)]
pub struct Dispatcher {
    shared: Arc<Shared>,
}

struct Shared {
    inner: Arc<Inner>,
    owned: Option<OwnedRuntime>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // The last handle is gone: pending deliveries still finish (as Go's goroutines
        // would), then the scheduler task and any owned runtime thread exit.
        self.inner.detached.store(true, Ordering::Release);
        self.inner.wake.notify_one();
        if let Some(owned) = &mut self.owned {
            if let Some(stop) = owned.stop.take() {
                let _ = stop.send(Arc::clone(&self.inner));
            }
        }
    }
}

/// The runtime the dispatcher made for itself: a current-thread tokio runtime driven by
/// one background thread named `foreman-webhook` (or, with `worker_threads(n ≥ 2)`, a
/// multi-thread runtime with n workers of that name). With one thread, a second
/// current-thread runtime on a thread named `foreman-webhook-retry` takes the due retries
/// with odd ids and starts the next due ones itself after each (in memory; see
/// [`Inner::launch`]): fresh events never run there, so the retries of a burst come due
/// at the rate one thread ran it and are served by two. It sleeps (no CPU) while nothing
/// is retried.
struct OwnedRuntime {
    stop: Option<tokio::sync::oneshot::Sender<Arc<Inner>>>,
}

/// The two runtimes' handles: deliveries and the scheduler; the retry thread's (if any).
type Handles = (Handle, Option<Handle>);

impl OwnedRuntime {
    fn start(workers: usize) -> Result<(Handles, Self), BuildError> {
        let mut builder = if workers > 1 {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(workers);
            b
        } else {
            tokio::runtime::Builder::new_current_thread()
        };
        let rt = builder
            .enable_all()
            .thread_name("foreman-webhook")
            .build()
            .map_err(|e| BuildError::new(BuildErrorKind::Runtime, e))?;
        let handle = rt.handle().clone();
        let retry = if workers > 1 {
            None
        } else {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .thread_name("foreman-webhook-retry")
                .build()
                .map_err(|e| BuildError::new(BuildErrorKind::Runtime, e))?;
            let handle = rt.handle().clone();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            std::thread::Builder::new()
                .name("foreman-webhook-retry".into())
                .spawn(move || {
                    // Until the main thread has seen every delivery end (or is gone).
                    let _ = rt.block_on(stopped);
                    rt.shutdown_timeout(Duration::from_millis(100));
                })
                .map_err(|e| BuildError::new(BuildErrorKind::Runtime, e))?;
            Some((handle, stop))
        };
        let (retry_handle, retry_stop) = match retry {
            Some((h, s)) => (Some(h), Some(s)),
            None => (None, None),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<Arc<Inner>>();
        std::thread::Builder::new()
            .name("foreman-webhook".into())
            .spawn(move || {
                rt.block_on(async move {
                    if let Ok(inner) = stopped.await {
                        inner.wait_idle().await;
                    }
                });
                rt.shutdown_timeout(Duration::from_millis(100));
                if let Some(stop) = retry_stop {
                    let _ = stop.send(());
                }
            })
            .map_err(|e| BuildError::new(BuildErrorKind::Runtime, e))?;
        Ok(((handle, retry_handle), Self { stop: Some(stop) }))
    }
}

pub(super) struct Inner {
    http: Http,
    policy: RetryPolicy,
    max_pending: usize,
    max_concurrency: usize,
    max_per_host: usize,
    jitter_seed: u64,
    addresses: Arc<AddressPolicy>,
    /// Scheduler state, touched only by the runtime's side (the scheduler task and the
    /// attempts), never by `fire`. Deadlines are nanoseconds since `epoch` (8 bytes per
    /// waiting retry instead of a 16-byte `Instant`).
    sched: Mutex<Sched<Job, Tick>>,
    epoch: Instant,
    /// `fire` → the scheduler: a lock-free unbounded MPSC channel (a linked list of
    /// 32-slot blocks that the receiver recycles), so `fire` never waits for the
    /// scheduler; `max_pending` bounds it through `pending`.
    fresh: tokio::sync::mpsc::UnboundedSender<Job>,
    /// Keep each job's attempt trail (timings, last result): only when someone reads it
    /// (an `on_outcome` callback, the `otel` layer, a durable store).
    keep_trail: bool,
    pub(super) wake: Notify,
    pub(super) pending: AtomicUsize,
    pub(super) idle: Notify,
    pub(super) phase: AtomicU8,
    cancel: Notify,
    report: Mutex<Option<ShutdownReport>>,
    counters: Counters,
    on_outcome: Option<OutcomeFn>,
    next_id: AtomicU64,
    pub(super) detached: AtomicBool,
    handle: Handle,
    /// The own retry thread's runtime (one-thread own runtime, in memory): due retries
    /// with odd ids start there ([`launch`](Self::launch)).
    retry_handle: Option<Handle>,
    /// The durable store's half, when one is configured.
    pub(super) durable: Option<Durable>,
    pub(super) telemetry: TelemetryConfig,
    /// `ordered_per_job`: in memory, a (job, URL) pair's deliveries go one at a time.
    ordered: bool,
    /// A circuit breaker is configured: attempts report their results to it.
    breaker: bool,
    /// Body memory written ahead by a background thread, so `fire` takes no page fault
    /// (see `chunks.rs`).
    bodies: Chunks,
}

/// The in-memory ordering key of a delivery: its job and URL.
fn order_key(job: &Job) -> String {
    let mut key = String::with_capacity(job.job_id().len() + job.url().len() + 1);
    key.push_str(job.job_id());
    key.push('\0');
    key.push_str(job.url());
    key
}

impl Dispatcher {
    /// Queues `event` for delivery to `url` and returns at once: never blocks, never
    /// fails, never panics, from async code or a plain thread.
    ///
    /// The event is serialized once ([`Event::to_json`]); those bytes are signed and sent
    /// on every attempt. The returned id appears in the event's [`Outcome`]. Events that
    /// cannot be accepted end at once, logged and counted: an invalid URL or a forbidden
    /// IP literal is [`OutcomeKind::Rejected`], a full queue
    /// [`OutcomeKind::DroppedAtCapacity`], a fire after shutdown began
    /// [`OutcomeKind::AbandonedAtShutdown`].
    ///
    /// With a durable store `fire` hands the event to a channel that a writer task
    /// commits in batches (one transaction, one fsync, per batch). Until that commit the
    /// event is only in memory: a crash in that window (normally a few milliseconds)
    /// loses it, and with [`max_pending`](super::DispatcherBuilder::max_pending) events
    /// already on their way to the store it is dropped as
    /// [`OutcomeKind::DroppedAtCapacity`]. Use
    /// [`fire_durable`](Self::fire_durable) to wait for the commit.
    pub fn fire(&self, url: &str, event: &Event) -> DeliveryId {
        self.shared.inner.fire(url, event)
    }

    /// Stores `event` for `url` in the durable outbox and returns its id (the Standard
    /// Webhooks `webhook-id`) once the commit is done: from then on the event survives a
    /// crash and reaches exactly one terminal state. Delivery happens in the background
    /// as for [`fire`](Self::fire) (by this process or any relay on the same store).
    ///
    /// # Errors
    /// [`OutboxErrorKind::NotDurable`] on the in-memory store,
    /// [`OutboxErrorKind::Rejected`] for a URL `fire` would reject,
    /// [`OutboxErrorKind::ShuttingDown`] after shutdown began, and
    /// [`OutboxErrorKind::Database`] when the commit fails (the event is not stored).
    pub async fn fire_durable(&self, url: &str, event: &Event) -> Result<EventId, OutboxError> {
        self.fire_durable_with_key(url, event, None).await
    }

    /// [`fire_durable`](Self::fire_durable) with an idempotency key: a second call with
    /// the same key stores nothing and returns the first event's id.
    ///
    /// # Errors
    /// As [`fire_durable`](Self::fire_durable).
    pub async fn fire_durable_with_key(
        &self,
        url: &str,
        event: &Event,
        idempotency_key: Option<&str>,
    ) -> Result<EventId, OutboxError> {
        let inner = &self.shared.inner;
        let Some(durable) = &inner.durable else {
            return Err(OutboxError::simple(OutboxErrorKind::NotDurable));
        };
        if inner.phase.load(Ordering::Acquire) != OPEN {
            return Err(OutboxError::simple(OutboxErrorKind::ShuttingDown));
        }
        let new = inner.new_delivery(url, event, idempotency_key)?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let store = Arc::clone(&durable.store);
        inner.handle.spawn(async move {
            let _ = tx.send(store.insert(std::slice::from_ref(&new)).await);
        });
        let ids = rx
            .await
            .unwrap_or_else(|_| Err(OutboxError::simple(OutboxErrorKind::ShuttingDown)))
            .inspect_err(|e| error!(error = %e, "webhook outbox write failed"))?;
        Counters::bump(&inner.counters.fired);
        durable.wake_claimer();
        ids.into_iter()
            .next()
            .ok_or_else(|| OutboxError::simple(OutboxErrorKind::Database))
    }

    /// Resolves once every event `fire` accepted before this call is committed to the
    /// durable store (it then survives a crash and reaches exactly one terminal state).
    /// `fire` + `flush` is the group-commit way to what [`fire_durable`](Self::fire_durable)
    /// does per event: fire a burst, then await one commit for all of it.
    ///
    /// Waits while the database is unreachable (the writer keeps retrying); wrap it in a
    /// timeout to bound that.
    ///
    /// # Errors
    /// [`OutboxErrorKind::NotDurable`] on the in-memory store;
    /// [`OutboxErrorKind::ShuttingDown`] when shutdown abandoned events that were never
    /// written (they end as [`OutcomeKind::AbandonedAtShutdown`]).
    pub async fn flush(&self) -> Result<(), OutboxError> {
        match &self.shared.inner.durable {
            Some(durable) => durable.flush().await,
            None => Err(OutboxError::simple(OutboxErrorKind::NotDurable)),
        }
    }

    /// An admin handle on this dispatcher's durable outbox (status, list, attempts,
    /// redeliver, prune); `None` on the in-memory store.
    pub fn outbox(&self) -> Option<super::outbox::Outbox> {
        self.shared.inner.durable.as_ref().map(|d| {
            super::outbox::Outbox::on_runtime(
                Arc::clone(&d.store),
                self.shared.inner.handle.clone(),
            )
        })
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.inner.stats()
    }

    /// Stops accepting events, lets in-flight requests and scheduled retries run until
    /// `deadline` from now, then abandons what is left and reports (job ids by outcome,
    /// for the events that finished after shutdown began, and the counters).
    ///
    /// Fires after this call are abandoned. Safe to await from any async runtime: the
    /// work runs on the dispatcher's own runtime.
    pub async fn shutdown(&self, deadline: Duration) -> ShutdownReport {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let inner = Arc::clone(&self.shared.inner);
        self.shared.inner.handle.spawn(async move {
            let _ = tx.send(inner.drain(deadline).await);
        });
        rx.await
            .unwrap_or_else(|_| self.shared.inner.fallback_report())
    }

    /// [`Dispatcher::shutdown`] for synchronous code: blocks the calling thread. Do not
    /// call it from a task on the runtime the dispatcher uses (await `shutdown` there);
    /// if that happens anyway it returns after `deadline` plus one second with what it
    /// knows rather than hanging.
    pub fn shutdown_blocking(&self, deadline: Duration) -> ShutdownReport {
        let (tx, rx) = std::sync::mpsc::channel();
        let inner = Arc::clone(&self.shared.inner);
        self.shared.inner.handle.spawn(async move {
            let _ = tx.send(inner.drain(deadline).await);
        });
        rx.recv_timeout(deadline.saturating_add(Duration::from_secs(1)))
            .unwrap_or_else(|_| self.shared.inner.fallback_report())
    }
}

impl fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.shared.inner;
        f.debug_struct("Dispatcher")
            .field("policy", &inner.policy)
            .field("http", &inner.http)
            .field("owns_runtime", &self.shared.owned.is_some())
            .field("stats", &inner.stats())
            .finish_non_exhaustive()
    }
}

impl Inner {
    fn sched(&self) -> MutexGuard<'_, Sched<Job, Tick>> {
        self.sched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `t` as the scheduler's clock (nanoseconds since `epoch`, saturating).
    fn tick(&self, t: Instant) -> Tick {
        Tick(0).after(t.saturating_duration_since(self.epoch))
    }

    /// The instant of a scheduler tick (at most the far-future horizon from now).
    fn instant(&self, tick: Tick) -> Instant {
        self.epoch
            .checked_add(tick.since(Tick(0)))
            .unwrap_or_else(|| {
                Instant::from_std(deadline(
                    Instant::now().into_std(),
                    super::schedule::FAR_FUTURE,
                ))
            })
    }

    pub(super) fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// Vets the URL and builds the stored form of an event.
    fn new_delivery(
        &self,
        url: &str,
        event: &Event,
        idempotency_key: Option<&str>,
    ) -> Result<NewDelivery, OutboxError> {
        let dest = vetted_dest(url, &self.addresses)
            .map_err(|r| OutboxError::simple(OutboxErrorKind::Rejected(r)))?;
        Ok(NewDelivery::new(
            &EventId::random(),
            dest.as_str(),
            event,
            idempotency_key,
            None,
        )
        .ordered(self.ordered))
    }

    fn fire(&self, url: &str, event: &Event) -> DeliveryId {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        Counters::bump(&self.counters.fired);
        // Correlation: every line logged below carries `delivery_id` and `webhook_id`.
        // The in-memory id is formatted only where it is read (no allocation per fire).
        let event_id = self.durable.as_ref().map(|_| EventId::random());
        let memory_id = self.http.memory_id(id);
        let _log = match &event_id {
            Some(e) => log_span(id, &e.as_str()),
            None => log_span(id, &memory_id),
        }
        .entered();
        let early = |kind| {
            let eid = event_id.as_ref().map(EventId::as_str);
            let wid: &dyn fmt::Display = match &eid {
                Some(e) => e,
                None => &memory_id,
            };
            self.emit(
                id,
                &event.job_id,
                &event.state,
                0,
                Some(wid),
                url,
                None,
                kind,
            );
            DeliveryId(id)
        };
        if self.phase.load(Ordering::Acquire) != OPEN {
            warn!(job_id = %event.job_id, url = %loggable(url), state = %event.state,
                "webhook fired after shutdown began; abandoned");
            return early(OutcomeKind::AbandonedAtShutdown);
        }
        let refuse = |reason: RejectReason| {
            let msg = if reason == RejectReason::ForbiddenAddress {
                "webhook destination refused"
            } else {
                "webhook request creation failed"
            };
            error!(error = %reason, url = %loggable(url), job_id = %event.job_id, "{msg}");
            early(OutcomeKind::Rejected(reason))
        };
        if let Some(durable) = &self.durable {
            // Through the thread's cache of vetted URLs, as in memory: parsing the URL
            // was half of `fire()`'s time with a durable store (perf, outbox_bench).
            let dest = match vetted_dest(url, &self.addresses) {
                Ok(dest) => dest,
                Err(reason) => return refuse(reason),
            };
            self.pending.fetch_add(1, Ordering::AcqRel);
            let new = NewDelivery::new(
                event_id.as_ref().unwrap_or(&EventId::random()),
                dest.as_str(),
                event,
                None,
                Some(&self.bodies),
            )
            .ordered(self.ordered);
            if !durable.try_enqueue(new) {
                self.release_pending();
                error!(job_id = %event.job_id, url = %loggable(url), state = %event.state,
                    max_pending = self.max_pending,
                    "webhook dropped: pending deliveries at capacity");
                return early(OutcomeKind::DroppedAtCapacity);
            }
            return DeliveryId(id);
        }
        let dest = match vetted_dest(url, &self.addresses) {
            Ok(dest) => dest,
            Err(reason) => return refuse(reason),
        };
        if self.pending.fetch_add(1, Ordering::AcqRel) >= self.max_pending {
            self.release_pending();
            error!(job_id = %event.job_id, url = %loggable(url), state = %event.state,
                max_pending = self.max_pending, "webhook dropped: pending deliveries at capacity");
            return early(OutcomeKind::DroppedAtCapacity);
        }
        let Some(mut job) = Job::new(id, event, dest, Some(&self.bodies)) else {
            self.release_pending();
            error!(error = %RejectReason::InvalidUrl, url = %loggable(url), job_id = %event.job_id,
                "webhook request creation failed");
            return early(OutcomeKind::Rejected(RejectReason::InvalidUrl));
        };
        self.telemetry.fired(&mut job, || memory_id.to_string());
        // No lock: the channel wakes the scheduler only when it waits for fresh events
        // (an ordered event is queued behind its job's earlier ones there).
        if let Err(back) = self.fresh.send(job) {
            // The scheduler task is gone (its runtime was shut down): nothing will run it.
            return self.finish_after(back.0, OutcomeKind::AbandonedAtShutdown, DeliveryId(id));
        }
        DeliveryId(id)
    }

    /// Counts a terminal outcome and tells whoever listens.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &self,
        id: u64,
        job_id: &str,
        state: &str,
        attempts: u32,
        webhook_id: Option<&dyn fmt::Display>,
        url: &str,
        trail: Option<&mut Trail>,
        kind: OutcomeKind,
    ) {
        self.counters.terminal(&kind);
        self.telemetry
            .outcome(url, trail.as_deref(), &kind, attempts);
        if self.phase.load(Ordering::Acquire) != OPEN {
            if let Some(report) = self
                .report
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_mut()
            {
                report.record(job_id, &kind);
            }
        }
        if let Some(callback) = &self.on_outcome {
            let outcome = Outcome {
                id: DeliveryId(id),
                job_id: job_id.to_owned(),
                state: state.to_owned(),
                attempts,
                // Formatted straight into the outcome: nothing is allocated for it
                // when no callback reads it.
                webhook_id: webhook_id.map(ToString::to_string),
                kind,
                url: redact_url(url, self.telemetry.keep_query),
                last_status: trail.as_ref().and_then(|t| t.last_status),
                last_error: trail.as_ref().and_then(|t| t.last_error),
                // Moved, not copied: the delivery ends here (one allocation less per
                // outcome).
                timings: trail
                    .map(|t| std::mem::take(&mut t.timings))
                    .unwrap_or_default(),
            };
            // A panicking callback must not take `fire` or the scheduler down with it.
            let call = std::panic::AssertUnwindSafe(|| callback(&outcome));
            if std::panic::catch_unwind(call).is_err() {
                error!(job_id = %job_id, "webhook outcome callback panicked");
            }
        }
    }

    fn finish_after(&self, job: Job, kind: OutcomeKind, id: DeliveryId) -> DeliveryId {
        warn!(job_id = %job.job_id(), url = %loggable(job.url()), state = %job.state(),
            "webhook abandoned: the dispatcher's runtime is gone");
        self.finish(job, None, kind);
        id
    }

    fn finish(&self, mut job: Job, webhook_id: Option<&EventId>, kind: OutcomeKind) {
        let mut trail = job.trail.take();
        let stored = webhook_id.map(EventId::as_str);
        let memory_id = self.http.memory_id(job.id);
        let webhook_id: &dyn fmt::Display = match &stored {
            Some(w) => w,
            None => &memory_id,
        };
        self.emit(
            job.id,
            job.job_id(),
            job.state(),
            u32::from(job.attempts),
            Some(webhook_id),
            job.url(),
            trail.as_deref_mut(),
            kind,
        );
        // In memory, the next event of this (job, URL) may go now (a durable store
        // orders in its claim query instead).
        if self.ordered && self.durable.is_none() && self.sched().order_done(&order_key(&job)) {
            self.wake.notify_one();
        }
        drop(job);
        self.release_pending();
    }

    /// Gives a claimed delivery that a gate refused (circuit open, no token) back to the
    /// store, due at `at`, its attempt not counted: it keeps its place and its attempts,
    /// and does not hold a claim while it waits.
    fn defer(self: &Arc<Self>, job: Job, at: Instant) {
        let Some(durable) = &self.durable else {
            // In memory the scheduler keeps refused deliveries itself.
            return self.sched().push_ready(job);
        };
        Counters::bump(&self.counters.deferred);
        let claim = durable
            .token(job.id)
            .and_then(|token| durable.forget(job.id, token));
        let Some(claim) = claim else {
            return self.release_pending();
        };
        let wait = at.saturating_duration_since(Instant::now());
        let due = now_ms().saturating_add(super::outbox::ms(wait));
        let row = (i64::try_from(job.id).unwrap_or(0), claim.token, due);
        let store = Arc::clone(&durable.store);
        let this = Arc::clone(self);
        self.handle.spawn(async move {
            if let Err(e) = store.defer(&[row]).await {
                warn!(error = %e, "webhook outbox: could not give a claim back; its lease will expire");
            }
            this.release_pending();
            if let Some(d) = &this.durable {
                d.wake_claimer();
            }
        });
    }

    /// Logs and counts a destination's circuit state change.
    fn circuit_changed(&self, host: &str, change: super::breaker::Change) {
        use super::breaker::Change;
        self.telemetry.circuit(host, change.as_str());
        match change {
            Change::Opened | Change::Reopened => {
                Counters::bump(&self.counters.circuits_opened);
                warn!(host = %host, state = change.as_str(), "webhook destination circuit opened");
            }
            Change::HalfOpen => {
                debug!(host = %host, state = change.as_str(), "webhook destination circuit probing");
            }
            Change::Closed => {
                Counters::bump(&self.counters.circuits_closed);
                warn!(host = %host, state = change.as_str(), "webhook destination circuit closed");
            }
        }
    }

    /// Ends `job` at shutdown. With a durable store this is not an outcome: the claim
    /// (`token`, or the one held on the job's row when `None`) is given back and the
    /// delivery stays pending in the store for the next process.
    fn abandon(self: &Arc<Self>, job: Job, token: Option<i64>) {
        if let Some(durable) = &self.durable {
            let claim = token
                .or_else(|| durable.token(job.id))
                .and_then(|token| durable.forget(job.id, token));
            if let Some(claim) = claim {
                let store = Arc::clone(&durable.store);
                let this = Arc::clone(self);
                let release = (
                    i64::try_from(job.id).unwrap_or(0),
                    claim.token,
                    claim.started,
                );
                self.handle.spawn(async move {
                    if let Err(e) = store.release(&[release]).await {
                        warn!(error = %e, "webhook outbox: could not give a claim back; its lease will expire");
                    }
                    this.release_pending();
                });
                durable.wake_claimer();
                return;
            }
            self.release_pending();
            return;
        }
        warn!(job_id = %job.job_id(), url = %loggable(job.url()), state = %job.state(),
            attempt = job.attempts, "webhook abandoned at shutdown");
        self.finish(job, None, OutcomeKind::AbandonedAtShutdown);
    }

    pub(super) fn release_pending(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
            if self.detached.load(Ordering::Acquire) {
                self.wake.notify_one();
            }
        }
    }

    async fn wait_idle(&self) {
        loop {
            let idle = self.idle.notified();
            if self.pending.load(Ordering::Acquire) == 0 {
                return;
            }
            idle.await;
        }
    }

    async fn cancelled(&self) {
        loop {
            let cancel = self.cancel.notified();
            if self.phase.load(Ordering::Acquire) == CANCELLED {
                return;
            }
            cancel.await;
        }
    }

    fn cancel_all(&self) {
        {
            let _sched = self.sched();
            self.phase.store(CANCELLED, Ordering::Release);
        }
        self.cancel.notify_waiters();
        self.wake.notify_one();
        if let Some(d) = &self.durable {
            d.wake_claimer();
        }
    }

    fn schedule(self: &Arc<Self>, job: Job, wait: Duration) {
        Counters::bump(&self.counters.retries);
        self.telemetry.retry();
        let due = self.tick(Instant::from_std(deadline(Instant::now().into_std(), wait)));
        let mut sched = self.sched();
        if self.phase.load(Ordering::Acquire) == CANCELLED {
            drop(sched);
            return self.abandon(job, None);
        }
        let earliest = sched.push_timer(due, job);
        drop(sched);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Frees the slots an attempt held and lets the next job of that host run.
    fn release_slot(&self, host: &str) {
        self.sched().release(host);
        self.wake.notify_one();
    }

    /// [`release_slot`](Self::release_slot), and tells the destination's breaker (if
    /// any) whether the attempt begun at `started` failed.
    fn release_slot_after(
        &self,
        host: &str,
        failed: Option<bool>,
        started: Instant,
    ) -> Option<super::breaker::Change> {
        let change = {
            let mut sched = self.sched();
            sched.release(host);
            match failed {
                Some(failed) if self.breaker => {
                    sched.record(host, failed, self.tick(started), self.tick(Instant::now()))
                }
                _ => None,
            }
        };
        if let Some(change) = change {
            self.circuit_changed(host, change);
        }
        self.wake.notify_one();
        change
    }

    async fn drain(self: Arc<Self>, deadline: Duration) -> ShutdownReport {
        {
            let mut report = self.report.lock().unwrap_or_else(PoisonError::into_inner);
            if report.is_none() {
                *report = Some(ShutdownReport::default());
            }
        }
        let _ = self
            .phase
            .compare_exchange(OPEN, DRAINING, Ordering::AcqRel, Ordering::Acquire);
        if let Some(d) = &self.durable {
            d.wake_claimer();
        }
        let until = Instant::from_std(super::schedule::deadline(
            Instant::now().into_std(),
            deadline,
        ));
        let mut reached = false;
        loop {
            let idle = self.idle.notified();
            if self.pending.load(Ordering::Acquire) == 0 {
                break;
            }
            if reached {
                idle.await;
                continue;
            }
            tokio::select! {
                () = idle => {}
                () = tokio::time::sleep_until(until) => {
                    reached = true;
                    self.cancel_all();
                }
            }
        }
        self.cancel_all();
        let mut report = self
            .report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_default();
        report.deadline_reached = reached;
        report.stats = self.stats();
        report
    }

    fn fallback_report(&self) -> ShutdownReport {
        let mut report = self
            .report
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .unwrap_or_default();
        report.deadline_reached = true;
        report.stats = self.stats();
        report
    }

    /// Starts what a scheduler pass picked: breaker changes logged, refused claims
    /// deferred, attempts spawned. A due retry with an odd id runs on the retry thread
    /// (if there is one: its core was idle while the burst the retries come from ran on
    /// the main one), everything else on the main runtime.
    fn launch(self: &Arc<Self>, started: Started<Job, Tick>) {
        for (host, change) in started.changes {
            self.circuit_changed(&host, change);
        }
        for (job, at) in started.deferred {
            self.defer(job, self.instant(at));
        }
        for job in started.go {
            match &self.retry_handle {
                Some(h) if job.attempts > 0 && job.id % 2 == 1 => {
                    drop(h.spawn(Arc::clone(self).retry_attempt(job)));
                }
                _ => drop(self.handle.spawn(Arc::clone(self).attempt(job))),
            }
        }
    }

    /// An attempt on the retry thread, then a scheduler pass from there: the thread
    /// starts the next due retries itself instead of waiting for the scheduler task,
    /// which runs behind the main thread's own attempts.
    async fn retry_attempt(self: Arc<Self>, job: Job) {
        Arc::clone(&self).attempt(job).await;
        let started = {
            let mut sched = self.sched();
            if self.phase.load(Ordering::Acquire) == CANCELLED {
                return;
            }
            sched.start(
                self.tick(Instant::now()),
                self.max_concurrency,
                self.max_per_host,
            )
        };
        self.launch(started);
    }

    /// One attempt, in the delivery's log span: see [`attempt_claimed`](Self::attempt_claimed).
    async fn attempt(self: Arc<Self>, job: Job) {
        use tracing::Instrument as _;
        let claim = match &self.durable {
            Some(d) => match d.start(job.id) {
                Some(claim) => Some(claim),
                // No claim for this id any more (given back meanwhile, e.g. at shutdown
                // through another copy of the row claimed again after its lease ran
                // out). This job was counted as pending when claimed and has not been
                // released: release it too (else shutdown waits for it forever).
                None => {
                    self.release_slot(job.host_key());
                    return self.release_pending();
                }
            },
            None => None,
        };
        let span = match &claim {
            Some(c) => log_span(job.id, &c.event_id.as_str()),
            None => log_span(job.id, &self.http.memory_id(job.id)),
        };
        self.attempt_claimed(job, claim).instrument(span).await;
    }

    /// One attempt: send, classify, then finish or reschedule (in memory or in the store).
    async fn attempt_claimed(self: Arc<Self>, mut job: Job, claim: Option<DurableJob>) {
        job.attempts = job.attempts.saturating_add(1);
        let attempt = u32::from(job.attempts);
        Counters::bump(&self.counters.attempts);
        self.counters.in_flight.fetch_add(1, Ordering::Relaxed);
        let started_ms = now_ms();
        let started_at = std::time::SystemTime::now();
        let started = Instant::now();
        let webhook_id = claim.as_ref().map(|c| c.event_id.as_str());
        let job_number = job.id;
        let span = self.telemetry.attempt_started(
            &mut job,
            claim.is_some(),
            claim.as_ref().and_then(|c| c.trace.as_deref()),
            started_at,
            || match webhook_id {
                Some(w) => w.to_owned(),
                None => self.http.memory_webhook_id(job_number),
            },
        );
        let keep = if claim.is_some() {
            super::outbox::RESPONSE_HEAD_CAP
        } else {
            0
        };
        let body = job.request_body();
        let sent = tokio::select! {
            biased;
            () = self.cancelled() => None,
            sent = Box::pin(self.http.send(&job, body, webhook_id)) => Some(sent),
        };
        let result = match sent {
            None => None,
            Some(Ok(head)) => {
                // The status decides: a shutdown cutting the body read short does not
                // turn a 2xx that arrived into an abandoned event.
                let body = tokio::select! {
                    biased;
                    () = self.cancelled() => Vec::new(),
                    body = Box::pin(self.http.drain(head.response, head.deadline, keep)) => body,
                };
                Some((head.outcome, None, body))
            }
            Some(Err((outcome, e))) => Some((outcome, Some(e), Vec::new())),
        };
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        // What the breaker counts as the destination failing: no response, or 5xx/429.
        let failed = result.as_ref().and_then(|(outcome, _, _)| match outcome {
            AttemptOutcome::Status { code, .. } => Some(*code >= 500 || *code == 429),
            AttemptOutcome::Refused => None,
            _ => Some(true),
        });
        let change = self.release_slot_after(job.host_key(), failed, started);
        // A failed probe: the destination is still down; the attempt is the breaker's,
        // not the event's (it does not count against the retries).
        let probe_failed = change == Some(super::breaker::Change::Reopened);
        let Some((outcome, err, response_head)) = result else {
            let token = claim.as_ref().map(|c| c.token);
            return self.abandon(job, token);
        };
        let (last_status, last_error) = match &outcome {
            AttemptOutcome::Status { code, .. } => (Some(*code), None),
            AttemptOutcome::Timeout => (None, Some(ErrorClass::Timeout)),
            AttemptOutcome::Refused => (None, Some(ErrorClass::Refused)),
            _ => (None, Some(ErrorClass::Transport)),
        };
        let took = started.elapsed();
        if self.keep_trail || claim.is_some() {
            job.trail_mut()
                .record(started_at, took, last_status, last_error);
        }
        self.telemetry
            .attempt_finished(span, &mut job, took, last_status, last_error);
        let mut sample = self.jitter_seed ^ job.id.rotate_left(16) ^ u64::from(attempt);
        let next = if probe_failed {
            job.attempts = job.attempts.saturating_sub(1);
            let retry = u32::from(job.attempts).max(1);
            Next::RetryIn(self.policy.delay(retry).unwrap_or_default())
        } else {
            self.policy
                .classify(attempt, &outcome, splitmix64(&mut sample))
        };
        if next != Next::Delivered {
            Counters::bump(&self.counters.failed_attempts);
        }
        let max = self.policy.max_attempts();
        let url = loggable(job.url());
        match (&outcome, &err) {
            (AttemptOutcome::Status { code, .. }, _) if next != Next::Delivered => {
                warn!(status = code, url = %url, job_id = %job.job_id(), attempt, max,
                    "webhook non-2xx response");
            }
            (_, Some(e)) if next != Next::Rejected => {
                warn!(error = %Chain(e), url = %url, job_id = %job.job_id(), attempt, max,
                    "webhook delivery failed");
            }
            _ => {}
        }
        let kind = match next {
            Next::Delivered => {
                debug!(url = %url, job_id = %job.job_id(), state = %job.state(), attempt,
                    "webhook delivered");
                let status = match outcome {
                    AttemptOutcome::Status { code, .. } => code,
                    _ => 200,
                };
                Some(OutcomeKind::Delivered { status })
            }
            Next::RetryIn(_) => None,
            Next::Rejected => {
                let detail = err
                    .as_ref()
                    .map(|e| Chain(e).to_string())
                    .unwrap_or_default();
                error!(error = %detail, url = %url, job_id = %job.job_id(),
                    "webhook destination refused");
                Some(OutcomeKind::Rejected(RejectReason::ForbiddenAddress))
            }
            Next::Exhausted => {
                error!(url = %url, job_id = %job.job_id(), state = %job.state(),
                    "webhook delivery exhausted retries");
                Some(OutcomeKind::Exhausted)
            }
        };
        drop(url);
        let Some(claim) = claim else {
            match (kind, next) {
                (Some(kind), _) => self.finish(job, None, kind),
                (None, Next::RetryIn(wait)) => self.schedule(job, wait),
                (None, _) => self.finish(job, None, OutcomeKind::Exhausted),
            }
            return;
        };
        let (status, error) = match (&outcome, &err) {
            (AttemptOutcome::Status { code, .. }, _) => (Some(*code), None),
            (AttemptOutcome::Timeout, _) => (None, Some("timeout")),
            (AttemptOutcome::Refused, _) => (None, Some("refused")),
            _ => (None, Some("transport")),
        };
        let done = Finish {
            delivery_id: i64::try_from(job.id).unwrap_or(0),
            token: claim.token,
            uncount: probe_failed,
            next: match next {
                Next::Delivered => Transition::Delivered,
                Next::RetryIn(wait) => {
                    Transition::RetryAt(now_ms().saturating_add(super::outbox::ms(wait)))
                }
                Next::Rejected | Next::Exhausted => Transition::Dead,
            },
            attempt: AttemptRow {
                url: job.url().to_owned(),
                number: attempt,
                trigger: trigger_of(claim.manual),
                started_ms,
                duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                status,
                error: error.map(str::to_owned),
                response_head,
            },
        };
        self.record(job, claim, done, kind).await;
    }

    /// Writes a finished attempt to the store (under the claim's fencing token) and emits
    /// the outcome once it is committed.
    async fn record(
        self: &Arc<Self>,
        mut job: Job,
        claim: DurableJob,
        done: Finish,
        kind: Option<OutcomeKind>,
    ) {
        let Some(durable) = &self.durable else {
            return;
        };
        if matches!(done.next, Transition::RetryAt(_)) {
            Counters::bump(&self.counters.retries);
            self.telemetry.retry();
        }
        let mut wait = Duration::from_millis(50);
        let committed = loop {
            match durable.finish(done.clone()).await {
                Ok(held) => break Some(held),
                Err(e) => {
                    error!(error = %e, job_id = %job.job_id(), "webhook outbox write failed; retrying");
                    if self.phase.load(Ordering::Acquire) == CANCELLED {
                        break None;
                    }
                    tokio::select! {
                        () = tokio::time::sleep(wait) => {}
                        () = self.cancelled() => {}
                    }
                    wait = (wait * 2).min(Duration::from_secs(2));
                }
            }
        };
        // Only this attempt's claim: the row may be claimed again already (see `forget`).
        durable.forget(job.id, claim.token);
        match (committed, kind) {
            (Some(true), Some(kind)) => self.finish(job, Some(&claim.event_id), kind),
            (Some(false), _) => {
                warn!(job_id = %job.job_id(), webhook_id = %claim.event_id,
                    "webhook outbox: lease lost before the attempt was recorded (another process took over)");
                self.release_pending();
            }
            // A retry is recorded (or the lease will expire): the store keeps it pending.
            _ => {
                self.telemetry.park(&mut job);
                self.release_pending();
            }
        }
        durable.wake_claimer();
    }

    /// The claim window: how many claims this process holds at most.
    fn claim_window(&self) -> usize {
        self.max_concurrency.saturating_mul(2).max(1)
    }

    /// Takes up to the claim window of due deliveries from the store into the ready queue.
    async fn claim_some(self: &Arc<Self>, durable: &Durable) -> Result<usize, OutboxError> {
        let room = self.claim_window().saturating_sub(durable.held());
        if room == 0 {
            return Ok(0);
        }
        let lease = super::outbox::ms(durable.settings.lease);
        let rows = durable
            .store
            .claim(&durable.owner, room, now_ms(), lease)
            .await?;
        let n = rows.len();
        let refused = self.admit(durable, rows);
        self.refuse_claimed(durable, refused).await;
        Ok(n)
    }

    /// Holds freshly claimed deliveries and puts them in the ready queue (no I/O);
    /// returns those this process's address policy refuses, with the reason, for
    /// [`refuse_claimed`](Self::refuse_claimed).
    fn admit(&self, durable: &Durable, rows: Vec<Claimed>) -> Vec<(Claimed, RejectReason)> {
        let n = rows.len();
        let mut refused = Vec::new();
        for mut c in rows {
            let id = u64::try_from(c.delivery_id).unwrap_or(0);
            self.pending.fetch_add(1, Ordering::AcqRel);
            durable.hold(
                id,
                DurableJob {
                    event_id: c.event_id.clone(),
                    token: c.token,
                    manual: c.manual,
                    started: false,
                    trace: c.trace.take().map(Arc::new),
                },
            );
            let body = std::mem::take(&mut c.body);
            let job = vetted_dest(&c.url, &self.addresses).and_then(|dest| {
                Job::from_body(id, body, dest, &c.job_id, &c.state).ok_or(RejectReason::InvalidUrl)
            });
            match job {
                Ok(mut job) => {
                    job.attempts = u16::try_from(c.attempts.saturating_sub(1)).unwrap_or(u16::MAX);
                    self.sched().push_ready(job);
                }
                Err(reason) => refused.push((c, reason)),
            }
        }
        if n > 0 {
            self.wake.notify_one();
        }
        refused
    }

    /// Claimed deliveries stored by another process or a transactional enqueue, refused
    /// by this one's address policy: dead letters, never sent.
    async fn refuse_claimed(&self, durable: &Durable, refused: Vec<(Claimed, RejectReason)>) {
        for (c, reason) in refused {
            let id = u64::try_from(c.delivery_id).unwrap_or(0);
            error!(error = %reason, url = %loggable(&c.url), job_id = %c.job_id,
                "webhook destination refused");
            let done = Finish {
                delivery_id: c.delivery_id,
                token: c.token,
                uncount: false,
                next: Transition::Dead,
                attempt: AttemptRow {
                    url: c.url.clone(),
                    number: c.attempts,
                    trigger: trigger_of(c.manual),
                    started_ms: now_ms(),
                    duration_ms: 0,
                    status: None,
                    error: Some("refused".into()),
                    response_head: Vec::new(),
                },
            };
            durable.forget(id, c.token);
            match durable.finish(done).await {
                Ok(true) => self.emit(
                    id,
                    &c.job_id,
                    &c.state,
                    c.attempts,
                    Some(&c.event_id.as_str()),
                    &c.url,
                    None,
                    OutcomeKind::Rejected(reason),
                ),
                Ok(false) => {}
                Err(e) => error!(error = %e, "webhook outbox write failed"),
            }
            self.release_pending();
        }
    }

    /// The claim loop: due deliveries from the store into the scheduler, woken by new
    /// commits and finished attempts, else at the earliest due time or the poll interval.
    async fn run_claimer(self: Arc<Self>) {
        let Some(durable) = &self.durable else {
            return;
        };
        let poll = durable.settings.poll;
        loop {
            if self.phase.load(Ordering::Acquire) != OPEN || self.detached.load(Ordering::Acquire) {
                return;
            }
            let woken = durable.claimer_woken();
            let mut wait = poll;
            match self.claim_some(durable).await {
                Ok(n) if n > 0 && durable.held() < self.claim_window() => {
                    continue;
                }
                // The window is full: a finished attempt wakes this loop (no query).
                Ok(_) if durable.held() >= self.claim_window() => {}
                Ok(_) => {
                    if let Ok(Some(due)) = durable.store.next_due().await {
                        let ms = u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0);
                        wait = wait.min(Duration::from_millis(ms));
                    }
                }
                Err(e) => error!(error = %e, "webhook outbox: claiming failed; retrying"),
            }
            if wait.is_zero() && durable.held() < self.claim_window() {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                () = woken => {}
                () = tokio::time::sleep(wait.max(Duration::from_millis(1))) => {}
            }
        }
    }

    /// The group-commit writer: everything `fire` queued since the last commit goes in
    /// one transaction.
    async fn run_writer(self: Arc<Self>) {
        let Some(durable) = &self.durable else {
            return;
        };
        let Some(mut rx) = durable.take_receiver() else {
            return;
        };
        let mut batch = Vec::with_capacity(WRITE_BATCH);
        let mut events = Vec::with_capacity(WRITE_BATCH);
        let mut flushes = Vec::new();
        // What came in and waits for a commit, in order. The channel is emptied into it
        // every `FRESH_POLL` while a commit is under way as well, so the channel stays
        // short and `fire` allocates nothing for it (see `Durable::try_enqueue`).
        let mut backlog: VecDeque<Write> = VecDeque::new();
        let split =
            |batch: &mut Vec<Write>, events: &mut Vec<NewDelivery>, flushes: &mut Vec<_>| {
                for w in batch.drain(..) {
                    match w {
                        Write::Event(d) => events.push(d),
                        Write::Flush(reply) => flushes.push(reply),
                    }
                }
            };
        let take = |rx: &mut tokio::sync::mpsc::UnboundedReceiver<Write>,
                    backlog: &mut VecDeque<Write>| {
            while let Ok(w) = rx.try_recv() {
                backlog.push_back(w);
            }
        };
        // When the last batch with events came in: while events keep coming, the writer
        // looks at the channel every `FRESH_POLL` instead of waiting on it, so that
        // `fire` does not wake a runtime thread per event (a futex wake-up on the firing
        // thread, and the woken thread competing for the two cores: the tail of a paced
        // `fire()`, BENCHMARKS.md). A fired event then waits up to about a millisecond
        // more before its commit starts; the first one after a quiet spell still wakes
        // the writer.
        let mut last_events: Option<Instant> = None;
        loop {
            let idle = self.idle.notified();
            if self.detached.load(Ordering::Acquire) && durable.queued.load(Ordering::Acquire) == 0
            {
                return;
            }
            take(&mut rx, &mut backlog);
            let cancelled = self.phase.load(Ordering::Acquire) == CANCELLED;
            if backlog.is_empty() && !cancelled {
                if last_events.is_some_and(|t| t.elapsed() < FRESH_ACTIVE) {
                    tokio::select! {
                        () = tokio::time::sleep(FRESH_POLL) => {}
                        () = self.cancelled() => {}
                    }
                    // Looks again (or, once the stream has stopped for `FRESH_ACTIVE`,
                    // waits on the channel); a cancel is seen below.
                    continue;
                }
                tokio::select! {
                    w = rx.recv() => match w {
                        Some(w) => backlog.push_back(w),
                        // Every sender is gone: nothing more can come.
                        None => return,
                    },
                    () = self.cancelled() => {}
                    () = idle => continue,
                }
            }
            if backlog.is_empty() || self.phase.load(Ordering::Acquire) == CANCELLED {
                if self.phase.load(Ordering::Acquire) == CANCELLED {
                    // What was not written is abandoned, each with its outcome.
                    rx.close();
                    take(&mut rx, &mut backlog);
                    batch.extend(backlog.drain(..));
                    split(&mut batch, &mut events, &mut flushes);
                    self.abandon_unwritten(durable, &mut events);
                    for reply in flushes.drain(..) {
                        let _ = reply.send(Err(OutboxError::simple(OutboxErrorKind::ShuttingDown)));
                    }
                    return;
                }
                continue;
            }
            let n = backlog.len().min(WRITE_BATCH);
            batch.extend(backlog.drain(..n));
            split(&mut batch, &mut events, &mut flushes);
            if !events.is_empty() {
                last_events = Some(Instant::now());
            }
            let mut wait = Duration::from_millis(20);
            let mut abandoned = false;
            while !events.is_empty() {
                let inserted = {
                    let insert = durable.store.insert(&events);
                    tokio::pin!(insert);
                    loop {
                        tokio::select! {
                            biased;
                            r = &mut insert => break r,
                            () = tokio::time::sleep(FRESH_POLL) => take(&mut rx, &mut backlog),
                        }
                    }
                };
                match inserted {
                    Ok(_) => break,
                    Err(e) => {
                        error!(error = %e, events = events.len(), "webhook outbox write failed; retrying");
                        if self.phase.load(Ordering::Acquire) == CANCELLED {
                            self.abandon_unwritten(durable, &mut events);
                            abandoned = true;
                            break;
                        }
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {}
                            () = self.cancelled() => {}
                        }
                        wait = (wait * 2).min(Duration::from_secs(2));
                    }
                }
            }
            // Everything sent before each barrier was in this batch (or an earlier one).
            for reply in flushes.drain(..) {
                let _ = reply.send(if abandoned {
                    Err(OutboxError::simple(OutboxErrorKind::ShuttingDown))
                } else {
                    Ok(())
                });
            }
            let done = events.len();
            events.clear();
            durable.queued.fetch_sub(done, Ordering::AcqRel);
            for _ in 0..done {
                self.release_pending();
            }
            durable.wake_claimer();
        }
    }

    /// The finisher: every attempt that finished while the last batch was being committed
    /// goes in the next one (one transaction, one fsync; one statement on PostgreSQL).
    async fn run_finisher(self: Arc<Self>) {
        let Some(durable) = &self.durable else {
            return;
        };
        let Some(mut rx) = durable.take_finish_receiver() else {
            return;
        };
        let mut batch = Vec::with_capacity(FINISH_BATCH);
        let mut finishes = Vec::with_capacity(FINISH_BATCH);
        loop {
            let idle = self.idle.notified();
            if self.detached.load(Ordering::Acquire) && self.pending.load(Ordering::Acquire) == 0 {
                return;
            }
            let n = tokio::select! {
                n = rx.recv_many(&mut batch, FINISH_BATCH) => n,
                () = idle => continue,
            };
            if n == 0 {
                return;
            }
            let (done, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
            finishes.clear();
            finishes.extend(done);
            // The claims these finishes end make room: the store may refill it in the
            // same transaction (SQLite: one commit for both). Not while shutting down.
            let room = if self.phase.load(Ordering::Acquire) == OPEN
                && !self.detached.load(Ordering::Acquire)
            {
                (self.claim_window() + finishes.len()).saturating_sub(durable.held())
            } else {
                0
            };
            let lease = super::outbox::ms(durable.settings.lease);
            let owner = durable.owner.as_str();
            match durable
                .store
                .finish_and_claim(&finishes, now_ms(), owner, room, lease)
                .await
            {
                Ok((held, claimed)) => {
                    // Held before the finished claims are forgotten (by `record`, once
                    // answered), so the claim loop never sees room these took.
                    let refused = self.admit(durable, claimed);
                    for (reply, held) in replies.into_iter().zip(held) {
                        let _ = reply.send(Ok(held));
                    }
                    if !refused.is_empty() {
                        // Recorded through this very task: not awaited here.
                        let this = Arc::clone(&self);
                        self.handle.spawn(async move {
                            if let Some(durable) = &this.durable {
                                this.refuse_claimed(durable, refused).await;
                            }
                        });
                    }
                }
                Err(e) => {
                    // Each waiter retries on its own (with backoff), so one bad batch
                    // does not lose the others.
                    let message = e.to_string();
                    for reply in replies {
                        let _ =
                            reply.send(Err(OutboxError::db("recording attempts", message.clone())));
                    }
                }
            }
        }
    }

    fn abandon_unwritten(&self, durable: &Durable, batch: &mut Vec<NewDelivery>) {
        let n = batch.len();
        for d in batch.drain(..) {
            warn!(job_id = %d.job_id(), url = %loggable(d.url()), "webhook abandoned at shutdown (never stored)");
            self.emit(
                0,
                d.job_id(),
                d.state(),
                0,
                Some(&d.event_id()),
                d.url(),
                None,
                OutcomeKind::AbandonedAtShutdown,
            );
            self.release_pending();
        }
        durable.queued.fetch_sub(n, Ordering::AcqRel);
    }

    /// Deletes finished events past the retention, every retention/10 (at most hourly).
    async fn run_pruner(self: Arc<Self>) {
        let Some(durable) = &self.durable else {
            return;
        };
        let retention = durable.settings.retention;
        let every = (retention / 10).clamp(Duration::from_secs(1), Duration::from_secs(3600));
        loop {
            let idle = self.idle.notified();
            if self.detached.load(Ordering::Acquire) {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = self.cancelled() => return,
                () = idle => continue,
            }
            let before = now_ms().saturating_sub(super::outbox::ms(retention));
            match durable.store.prune(before).await {
                Ok(0) => {}
                Ok(n) => debug!(events = n, "webhook outbox pruned"),
                Err(e) => warn!(error = %e, "webhook outbox: pruning failed"),
            }
        }
    }
}

/// How many vetted destinations each firing thread remembers.
const DEST_CACHE: usize = 8;

/// One remembered destination: the URL as given, the address policy that vetted it, the
/// result.
type CachedDest = (Box<str>, std::sync::Weak<AddressPolicy>, Arc<Dest>);

thread_local! {
    /// The destinations this thread fired to last: (URL as given, the address policy
    /// that vetted it, the result). A hit skips parsing and vetting the URL again and
    /// shares the stored URL between the jobs (no lock: per thread). The `Weak` keeps
    /// the policy's allocation, so its address identifies that policy.
    static DESTS: std::cell::RefCell<Vec<CachedDest>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// [`vet_url`] and the job's shared destination for `url`, through the thread's cache.
/// Vetting depends only on the URL and the policy (IP literals are checked here; names
/// at connection time), so a cached verdict is the verdict.
fn vetted_dest(url: &str, policy: &Arc<AddressPolicy>) -> Result<Arc<Dest>, RejectReason> {
    let hit = DESTS.with(|cache| {
        let cache = cache.borrow();
        cache
            .iter()
            .find(|(raw, p, _)| &**raw == url && std::ptr::eq(p.as_ptr(), Arc::as_ptr(policy)))
            .map(|(_, _, dest)| Arc::clone(dest))
    });
    if let Some(dest) = hit {
        return Ok(dest);
    }
    let (parsed, host) = vet_url(url, policy)?;
    let dest = Dest::new(parsed, host).ok_or(RejectReason::InvalidUrl)?;
    DESTS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() >= DEST_CACHE {
            cache.remove(0);
        }
        cache.push((url.into(), Arc::downgrade(policy), Arc::clone(&dest)));
    });
    Ok(dest)
}

fn trigger_of(manual: bool) -> Trigger {
    if manual {
        Trigger::Manual
    } else {
        Trigger::Scheduled
    }
}

/// The scheduler: due retries, then the ready queue, then fresh events from `fire`'s
/// channel → attempts, within the concurrency limits.
/// A fresh event into the scheduler: with `ordered_per_job`, behind the earlier events of
/// its (job, URL) still out.
fn admit_fresh(ordered: bool, sched: &mut Sched<Job, Tick>, job: Job) {
    if ordered {
        let key = order_key(&job);
        sched.push_ordered(&key, job);
    } else {
        sched.push_fresh(job);
    }
}

/// While fresh events keep coming (the last one less than this ago), the scheduler
/// looks at `fire`'s channel every [`FRESH_POLL`] instead of waiting on it, so `fire`
/// does not wake the runtime thread per event (see `run_scheduler`).
const FRESH_ACTIVE: Duration = Duration::from_millis(10);
/// How often the scheduler looks at `fire`'s channel while events keep coming (tokio's
/// timer granularity).
const FRESH_POLL: Duration = Duration::from_millis(1);

async fn run_scheduler(inner: Arc<Inner>, mut fresh: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    // When the last fresh event was admitted.
    let mut last_fresh: Option<Instant> = None;
    loop {
        let mut started = None;
        let mut abandon = Vec::new();
        let (next_due, room) = {
            let mut sched = inner.sched();
            // Fresh events move from the channel into the scheduler at every pass, so the
            // channel's small blocks are recycled at once and a burst's backlog sits in
            // one contiguous queue that is given back whole when it drains (measured:
            // leaving the backlog in the channel's 32-slot blocks left ≈ 45 B of
            // fragmented heap per delivery after a 100,000-event burst,
            // examples/pending_memory.rs).
            while let Ok(job) = fresh.try_recv() {
                admit_fresh(inner.ordered, &mut sched, job);
                last_fresh = Some(Instant::now());
            }
            if inner.phase.load(Ordering::Acquire) == CANCELLED {
                abandon = sched.take_all();
                // Keep listening: a `fire` that passed its phase check just before the
                // cancel still sends, and must be abandoned too.
                (None, true)
            } else {
                started = Some(sched.start(
                    inner.tick(Instant::now()),
                    inner.max_concurrency,
                    inner.max_per_host,
                ));
                (sched.next_due(), sched.has_room(inner.max_concurrency))
            }
        };
        for job in abandon {
            inner.abandon(job, None);
        }
        if let Some(started) = started {
            inner.launch(started);
        }
        if inner.detached.load(Ordering::Acquire) && inner.pending.load(Ordering::Acquire) == 0 {
            return;
        }
        let woken = inner.wake.notified();
        let due = next_due.map(|t| inner.instant(t));
        // A steady stream of fires (a slot free, the last event recent): look at the
        // channel every millisecond rather than wait on it. Measured reason: waiting, the
        // channel wakes this task at every `fire`, and waking the runtime thread is a
        // system call on the firing thread (thread CPU time per paced `fire` at
        // 20,000/s: p50 2–3 µs, p99 14–16 µs, vs 0.9 / 1.4 µs in a burst; BENCHMARKS.md,
        // "`fire()` without page faults"). An event then waits up to about a
        // millisecond more; the first one after a quiet spell still wakes the thread.
        let polling = room && last_fresh.is_some_and(|t| t.elapsed() < FRESH_ACTIVE);
        let poll_at = Instant::now() + FRESH_POLL;
        tokio::select! {
            () = async { if let Some(due) = due { tokio::time::sleep_until(due).await } }, if due.is_some() => {}
            () = woken => {}
            () = tokio::time::sleep_until(poll_at), if polling => {}
            // Only while a slot is free: with every slot busy, fresh events wait in the
            // channel and `fire` wakes nobody.
            job = fresh.recv(), if room && !polling => {
                if let Some(job) = job {
                    admit_fresh(inner.ordered, &mut inner.sched(), job);
                    last_fresh = Some(Instant::now());
                }
            }
        }
    }
}

impl Dispatcher {
    /// Picks the runtime, opens the store (if any), builds the client and starts the
    /// scheduler.
    pub(super) fn start(cfg: Config) -> Result<Self, BuildError> {
        let addresses = Arc::new(cfg.addresses.clone());
        let http = Http::new(&cfg, Arc::clone(&addresses))?;
        let ((handle, retry_handle), owned) = match cfg
            .runtime
            .clone()
            .map(Ok)
            .unwrap_or_else(Handle::try_current)
        {
            Ok(handle) => ((handle, None), None),
            Err(_) => {
                let (handles, owned) = OwnedRuntime::start(cfg.worker_threads.max(1))?;
                (handles, Some(owned))
            }
        };
        let durable = Durable::open(&cfg.store, &cfg.durable, cfg.max_pending, &handle)?;
        let (fresh, fresh_rx) = tokio::sync::mpsc::unbounded_channel();
        let keep_trail = cfg.on_outcome.is_some() || cfg.telemetry.wants_trail();
        let inner = Arc::new(Inner {
            http,
            policy: cfg.policy,
            max_pending: cfg.max_pending,
            max_concurrency: cfg.max_concurrency,
            max_per_host: cfg.max_per_host,
            jitter_seed: cfg.jitter_seed,
            addresses,
            sched: Mutex::new(Sched::new(
                cfg.gates.clone(),
                durable.as_ref().map(|d| d.settings.lease / 4),
            )),
            epoch: Instant::now(),
            fresh,
            keep_trail,
            wake: Notify::new(),
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
            phase: AtomicU8::new(OPEN),
            cancel: Notify::new(),
            report: Mutex::new(None),
            counters: Counters::default(),
            on_outcome: cfg.on_outcome,
            next_id: AtomicU64::new(0),
            detached: AtomicBool::new(false),
            handle: handle.clone(),
            // A durable store's retries are claimed rows, run where the store's
            // connections live.
            retry_handle: retry_handle.filter(|_| durable.is_none()),
            durable,
            telemetry: cfg.telemetry,
            ordered: cfg.ordered,
            breaker: cfg.gates.breaker.is_some(),
            bodies: Chunks::start(),
        });
        super::telemetry::start(&inner, &handle);
        handle.spawn(run_scheduler(Arc::clone(&inner), fresh_rx));
        if let Some(d) = &inner.durable {
            handle.spawn(Arc::clone(&inner).run_writer());
            handle.spawn(Arc::clone(&inner).run_pruner());
            if d.settings.deliver {
                handle.spawn(Arc::clone(&inner).run_finisher());
                handle.spawn(Arc::clone(&inner).run_claimer());
            }
        }
        Ok(Dispatcher {
            shared: Arc::new(Shared { inner, owned }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fire` takes no lock the scheduler holds: with the scheduler's mutex held by this
    /// test (so the scheduler task and every attempt's end are stuck), 1 000 fires from
    /// another thread still return; once it is released, shutdown ends every event.
    /// (With the old `fire`, which pushed onto the ready queue under this mutex, the
    /// firing thread blocks and the test fails at its timeout.)
    #[test]
    fn fire_never_waits_for_the_scheduler_lock() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let d = Dispatcher::builder()
            .allow_cidr("127.0.0.1/32")
            .build()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/hook");
        let inner = Arc::clone(&d.shared.inner);
        let guard = inner.sched();
        let (tx, rx) = std::sync::mpsc::channel();
        let firing = d.clone();
        std::thread::spawn(move || {
            let ev = Event::new("job-lock", "succeeded", crate::Timestamp::UNIX_EPOCH);
            for _ in 0..1000 {
                firing.fire(&url, &ev);
            }
            let _ = tx.send(());
        });
        let done = rx.recv_timeout(Duration::from_secs(20));
        drop(guard);
        assert!(done.is_ok(), "fire waited for the scheduler's lock");
        let report = d.shutdown_blocking(Duration::from_millis(200));
        let s = report.stats;
        assert_eq!((s.fired, s.pending), (1000, 0), "{s:?}");
        assert_eq!(s.fired, s.terminal(), "{s:?}");
    }
}
