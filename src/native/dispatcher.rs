//! The I/O half: `fire`, the scheduler task, attempts over reqwest, shutdown.
//!
//! Shape: `fire` vets the URL, serializes the event once and pushes a [`Job`] onto the
//! ready queue under one short lock; a single scheduler task moves due retries from a
//! binary heap to the ready queue and starts attempts while the global and per-host
//! concurrency limits allow (a job whose host is busy waits in that host's queue, so one
//! slow receiver cannot hold the global slots). Each attempt is one task that sends,
//! classifies with the pure [`RetryPolicy`], and either finishes the job or puts it back
//! in the heap. A job value is owned by exactly one place at a time, so it reaches
//! exactly one terminal outcome.

use core::fmt;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, error, warn};

use super::builder::{random_u64, BuildError, BuildErrorKind, DispatcherBuilder, OutcomeFn};
use super::http::{loggable, vet_url, Chain, Http};
use super::job::{Job, Scheduled};
use super::outcome::{
    Counters, DeliveryId, Outcome, OutcomeKind, RejectReason, ShutdownReport, Stats,
};
use super::policy::{splitmix64, AddressPolicy, AttemptOutcome, Next, RetryPolicy};
use crate::standard::StandardWebhook;
use crate::Event;

const OPEN: u8 = 0;
const DRAINING: u8 = 1;
const CANCELLED: u8 = 2;

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
/// one background thread named `foreman-webhook`.
struct OwnedRuntime {
    stop: Option<tokio::sync::oneshot::Sender<Arc<Inner>>>,
}

impl OwnedRuntime {
    fn start() -> Result<(Handle, Self), BuildError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .thread_name("foreman-webhook")
            .build()
            .map_err(|e| BuildError::new(BuildErrorKind::Runtime, e))?;
        let handle = rt.handle().clone();
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
            })
            .map_err(|e| BuildError::new(BuildErrorKind::Runtime, e))?;
        Ok((handle, Self { stop: Some(stop) }))
    }
}

struct Inner {
    http: Http,
    policy: RetryPolicy,
    max_pending: usize,
    max_concurrency: usize,
    max_per_host: usize,
    jitter_seed: u64,
    addresses: Arc<AddressPolicy>,
    sched: Mutex<Sched>,
    wake: Notify,
    pending: AtomicUsize,
    idle: Notify,
    phase: AtomicU8,
    cancel: Notify,
    report: Mutex<Option<ShutdownReport>>,
    counters: Counters,
    on_outcome: Option<OutcomeFn>,
    next_id: AtomicU64,
    detached: AtomicBool,
    handle: Handle,
}

#[derive(Default)]
struct Sched {
    timers: BinaryHeap<Scheduled>,
    ready: VecDeque<Job>,
    hosts: HashMap<Box<str>, HostSlots>,
    active: usize,
}

#[derive(Default)]
struct HostSlots {
    active: usize,
    waiting: VecDeque<Job>,
}

impl Dispatcher {
    /// A builder with the Go defaults (see the [module docs](super)).
    pub fn builder() -> DispatcherBuilder {
        DispatcherBuilder::default()
    }

    /// Queues `event` for delivery to `url` and returns at once: never blocks, never
    /// fails, never panics, from async code or a plain thread.
    ///
    /// The event is serialized once ([`Event::to_json`]); those bytes are signed and sent
    /// on every attempt. The returned id appears in the event's [`Outcome`]. Events that
    /// cannot be accepted end at once, logged and counted: an invalid URL or a forbidden
    /// IP literal is [`OutcomeKind::Rejected`], a full queue
    /// [`OutcomeKind::DroppedAtCapacity`], a fire after shutdown began
    /// [`OutcomeKind::AbandonedAtShutdown`].
    pub fn fire(&self, url: &str, event: &Event) -> DeliveryId {
        self.shared.inner.fire(url, event)
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
    fn sched(&self) -> MutexGuard<'_, Sched> {
        self.sched.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    fn fire(&self, url: &str, event: &Event) -> DeliveryId {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        Counters::bump(&self.counters.fired);
        let early = |kind| {
            self.emit(id, &event.job_id, &event.state, 0, kind);
            DeliveryId(id)
        };
        if self.phase.load(Ordering::Acquire) != OPEN {
            warn!(job_id = %event.job_id, url = %loggable(url), state = %event.state,
                "webhook fired after shutdown began; abandoned");
            return early(OutcomeKind::AbandonedAtShutdown);
        }
        let (parsed, host) = match vet_url(url, &self.addresses) {
            Ok(ok) => ok,
            Err(reason) => {
                let msg = if reason == RejectReason::ForbiddenAddress {
                    "webhook destination refused"
                } else {
                    "webhook request creation failed"
                };
                error!(error = %reason, url = %loggable(url), job_id = %event.job_id, "{msg}");
                return early(OutcomeKind::Rejected(reason));
            }
        };
        if self.pending.fetch_add(1, Ordering::AcqRel) >= self.max_pending {
            self.release_pending();
            error!(job_id = %event.job_id, url = %loggable(url), state = %event.state,
                max_pending = self.max_pending, "webhook dropped: pending deliveries at capacity");
            return early(OutcomeKind::DroppedAtCapacity);
        }
        let Some(job) = Job::new(
            id,
            event.to_json(),
            parsed.as_str(),
            host,
            &event.job_id,
            &event.state,
        ) else {
            self.release_pending();
            error!(error = %RejectReason::InvalidUrl, url = %loggable(url), job_id = %event.job_id,
                "webhook request creation failed");
            return early(OutcomeKind::Rejected(RejectReason::InvalidUrl));
        };
        self.sched().ready.push_back(job);
        self.wake.notify_one();
        DeliveryId(id)
    }

    /// Counts a terminal outcome and tells whoever listens.
    fn emit(&self, id: u64, job_id: &str, state: &str, attempts: u32, kind: OutcomeKind) {
        self.counters.terminal(&kind);
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
                kind,
            };
            // A panicking callback must not take `fire` or the scheduler down with it.
            let call = std::panic::AssertUnwindSafe(|| callback(&outcome));
            if std::panic::catch_unwind(call).is_err() {
                error!(job_id = %job_id, "webhook outcome callback panicked");
            }
        }
    }

    fn finish(&self, job: Job, kind: OutcomeKind) {
        self.emit(
            job.id,
            job.job_id(),
            job.state(),
            u32::from(job.attempts),
            kind,
        );
        drop(job);
        self.release_pending();
    }

    fn abandon(&self, job: Job) {
        warn!(job_id = %job.job_id(), url = %loggable(job.url()), state = %job.state(),
            attempt = job.attempts, "webhook abandoned at shutdown");
        self.finish(job, OutcomeKind::AbandonedAtShutdown);
    }

    fn release_pending(&self) {
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
    }

    fn schedule(&self, job: Job, wait: Duration) {
        Counters::bump(&self.counters.retries);
        let due = Instant::now() + wait;
        let mut sched = self.sched();
        if self.phase.load(Ordering::Acquire) == CANCELLED {
            drop(sched);
            return self.abandon(job);
        }
        let earliest = sched.timers.peek().is_none_or(|head| due < head.due);
        sched.timers.push(Scheduled { due, job });
        drop(sched);
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Frees the slots an attempt held and lets the next job of that host run.
    fn release_slot(&self, host: &str) {
        let mut guard = self.sched();
        let sched = &mut *guard;
        sched.active = sched.active.saturating_sub(1);
        if let Some(slots) = sched.hosts.get_mut(host) {
            slots.active = slots.active.saturating_sub(1);
            if let Some(next) = slots.waiting.pop_front() {
                sched.ready.push_front(next);
            }
            if slots.active == 0 && slots.waiting.is_empty() {
                sched.hosts.remove(host);
            }
        }
        drop(guard);
        self.wake.notify_one();
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
        let until = Instant::now() + deadline;
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

    /// One attempt: send, classify, then finish or reschedule.
    async fn attempt(self: Arc<Self>, mut job: Job) {
        job.attempts = job.attempts.saturating_add(1);
        let attempt = u32::from(job.attempts);
        Counters::bump(&self.counters.attempts);
        self.counters.in_flight.fetch_add(1, Ordering::Relaxed);
        let sent = tokio::select! {
            biased;
            () = self.cancelled() => None,
            sent = Box::pin(self.http.send(&job)) => Some(sent),
        };
        let result = match sent {
            None => None,
            Some(Ok(head)) => {
                // The status decides: a shutdown cutting the body read short does not
                // turn a 2xx that arrived into an abandoned event.
                tokio::select! {
                    biased;
                    () = self.cancelled() => {}
                    () = Box::pin(self.http.drain(head.response)) => {}
                }
                Some((head.outcome, None))
            }
            Some(Err((outcome, e))) => Some((outcome, Some(e))),
        };
        self.counters.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.release_slot(job.host_key());
        let Some((outcome, err)) = result else {
            return self.abandon(job);
        };
        let mut sample = self.jitter_seed ^ job.id.rotate_left(16) ^ u64::from(attempt);
        let next = self
            .policy
            .classify(attempt, &outcome, splitmix64(&mut sample));
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
        match next {
            Next::Delivered => {
                debug!(url = %url, job_id = %job.job_id(), state = %job.state(), attempt,
                    "webhook delivered");
                let status = match outcome {
                    AttemptOutcome::Status { code, .. } => code,
                    _ => 200,
                };
                self.finish(job, OutcomeKind::Delivered { status });
            }
            Next::RetryIn(wait) => self.schedule(job, wait),
            Next::Rejected => {
                let detail = err
                    .as_ref()
                    .map(|e| Chain(e).to_string())
                    .unwrap_or_default();
                error!(error = %detail, url = %url, job_id = %job.job_id(),
                    "webhook destination refused");
                self.finish(job, OutcomeKind::Rejected(RejectReason::ForbiddenAddress));
            }
            Next::Exhausted => {
                error!(url = %url, job_id = %job.job_id(), state = %job.state(),
                    "webhook delivery exhausted retries");
                self.finish(job, OutcomeKind::Exhausted);
            }
        }
    }
}

/// The scheduler: due retries → ready queue → attempts, within the concurrency limits.
async fn run_scheduler(inner: Arc<Inner>) {
    loop {
        let mut start = Vec::new();
        let mut abandon = Vec::new();
        let next_due = {
            let mut guard = inner.sched();
            let sched = &mut *guard;
            if inner.phase.load(Ordering::Acquire) == CANCELLED {
                abandon.extend(sched.ready.drain(..));
                abandon.extend(sched.timers.drain().map(|s| s.job));
                for slots in sched.hosts.values_mut() {
                    abandon.extend(slots.waiting.drain(..));
                }
                None
            } else {
                let now = Instant::now();
                while sched.timers.peek().is_some_and(|s| s.due <= now) {
                    if let Some(s) = sched.timers.pop() {
                        sched.ready.push_back(s.job);
                    }
                }
                while sched.active < inner.max_concurrency {
                    let Some(job) = sched.ready.pop_front() else {
                        break;
                    };
                    let slots = match sched.hosts.get_mut(job.host_key()) {
                        Some(slots) => slots,
                        None => sched.hosts.entry(job.host_key().into()).or_default(),
                    };
                    if slots.active >= inner.max_per_host {
                        slots.waiting.push_back(job);
                        continue;
                    }
                    slots.active += 1;
                    sched.active += 1;
                    start.push(job);
                }
                // Give back the memory of a burst once it has drained.
                if sched.timers.is_empty() && sched.timers.capacity() > 1024 {
                    sched.timers.shrink_to_fit();
                }
                if sched.ready.is_empty() && sched.ready.capacity() > 1024 {
                    sched.ready.shrink_to_fit();
                }
                sched.timers.peek().map(|s| s.due)
            }
        };
        for job in abandon {
            inner.abandon(job);
        }
        for job in start {
            tokio::spawn(Arc::clone(&inner).attempt(job));
        }
        if inner.detached.load(Ordering::Acquire) && inner.pending.load(Ordering::Acquire) == 0 {
            return;
        }
        let woken = inner.wake.notified();
        match next_due {
            Some(due) => {
                tokio::select! {
                    () = tokio::time::sleep_until(due) => {}
                    () = woken => {}
                }
            }
            None => woken.await,
        }
    }
}

impl Dispatcher {
    /// Builds the client, picks the runtime and starts the scheduler.
    pub(super) fn start(
        b: DispatcherBuilder,
        standard: Option<StandardWebhook>,
    ) -> Result<Self, BuildError> {
        let addresses = Arc::new(b.addresses.clone());
        let http = Http::new(&b, standard, Arc::clone(&addresses))?;
        let (handle, owned) = match b.runtime.map(Ok).unwrap_or_else(Handle::try_current) {
            Ok(handle) => (handle, None),
            Err(_) => {
                let (handle, owned) = OwnedRuntime::start()?;
                (handle, Some(owned))
            }
        };
        let inner = Arc::new(Inner {
            http,
            policy: b
                .policy
                .with_max_retries(b.policy.max_retries().min(u32::from(u16::MAX) - 1)),
            max_pending: b.max_pending,
            max_concurrency: b.max_concurrency,
            max_per_host: b.max_per_host,
            jitter_seed: b.jitter_seed.unwrap_or_else(random_u64),
            addresses,
            sched: Mutex::new(Sched::default()),
            wake: Notify::new(),
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
            phase: AtomicU8::new(OPEN),
            cancel: Notify::new(),
            report: Mutex::new(None),
            counters: Counters::default(),
            on_outcome: b.on_outcome,
            next_id: AtomicU64::new(0),
            detached: AtomicBool::new(false),
            handle: handle.clone(),
        });
        handle.spawn(run_scheduler(Arc::clone(&inner)));
        Ok(Dispatcher {
            shared: Arc::new(Shared { inner, owned }),
        })
    }
}
