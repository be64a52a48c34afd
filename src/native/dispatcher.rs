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
use std::borrow::Cow;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::error::Error as StdError;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use tokio::runtime::Handle;
use tokio::sync::Notify;
use tokio::time::Instant;
use tracing::{debug, error, warn};
use url::{Host, Position, Url};

use super::job::{Job, Scheduled};
use super::outcome::{
    Counters, DeliveryId, Outcome, OutcomeKind, RejectReason, ShutdownReport, Stats,
};
use super::policy::{
    splitmix64, AddressPolicy, AttemptOutcome, Next, RetryPolicy, DEFAULT_TIMEOUT,
};
use super::resolve::{ForbiddenDestination, GuardedResolver, NameResolver, SystemResolver};
use crate::standard::StandardWebhook;
use crate::{Event, Secret, Signer, SIGNATURE_HEADER};

/// Default cap on accepted, not yet finished deliveries.
pub const DEFAULT_MAX_PENDING: usize = 10_000;
/// Default cap on requests in flight at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;
/// Default cap on requests in flight to one destination (`host[:port]`).
pub const DEFAULT_MAX_PER_HOST: usize = 8;
/// Default number of response-body bytes read (then the response is dropped).
pub const DEFAULT_RESPONSE_BODY_CAP: usize = 4096;
/// Default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("foreman-webhook/", env!("CARGO_PKG_VERSION"));

const OPEN: u8 = 0;
const DRAINING: u8 = 1;
const CANCELLED: u8 = 2;

type OutcomeFn = Arc<dyn Fn(&Outcome) + Send + Sync>;

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
    client: reqwest::Client,
    signing: Signing,
    policy: RetryPolicy,
    body_cap: usize,
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

/// The signature headers put on each attempt.
struct Signing {
    foreman: Option<Signer>,
    standard: Option<StandardWebhook>,
    /// Random per dispatcher, so `webhook-id`s differ across restarts.
    instance: u64,
}

impl Signing {
    fn apply(&self, mut req: reqwest::RequestBuilder, job: &Job) -> reqwest::RequestBuilder {
        let body = job.body();
        if let Some(signer) = &self.foreman {
            if let Some(v) = sensitive(&signer.sign(&body).header_value()) {
                req = req.header(SIGNATURE_HEADER, v);
            }
        }
        if let Some(standard) = &self.standard {
            // Stable per event (the same on every retry), fresh timestamp and signature.
            let id = format!("msg_{:016x}{:016x}", self.instance, job.id);
            let now = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
            let sig = standard.sign(&id, now, &body);
            req = req
                .header(crate::standard::ID_HEADER, id)
                .header(crate::standard::TIMESTAMP_HEADER, now.to_string());
            if let Some(v) = sensitive(&sig) {
                req = req.header(crate::standard::SIGNATURE_HEADER, v);
            }
        }
        req
    }
}

/// A header value marked sensitive (hyper and reqwest then keep it out of their logs).
fn sensitive(s: &str) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(s).ok()?;
    v.set_sensitive(true);
    Some(v)
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
            .field("signed", &inner.signing.foreman.is_some())
            .field("standard_webhooks", &inner.signing.standard.is_some())
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
            callback(&Outcome {
                id: DeliveryId(id),
                job_id: job_id.to_owned(),
                state: state.to_owned(),
                attempts,
                kind,
            });
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
        let result = tokio::select! {
            biased;
            () = self.cancelled() => None,
            sent = Box::pin(self.send(&job)) => Some(sent),
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

    async fn send(&self, job: &Job) -> (AttemptOutcome, Option<reqwest::Error>) {
        let req = self
            .client
            .post(job.url())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let req = self.signing.apply(req, job).body(job.body());
        match req.send().await {
            Ok(mut resp) => {
                let code = resp.status().as_u16();
                let retry_after = match code {
                    429 | 503 => resp
                        .headers()
                        .get(RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| super::parse_retry_after(v, SystemTime::now())),
                    _ => None,
                };
                // Read at most `body_cap` bytes (lets a small response's connection be
                // reused), then drop the rest unread.
                let mut read = 0usize;
                while read < self.body_cap {
                    match resp.chunk().await {
                        Ok(Some(chunk)) => read += chunk.len(),
                        _ => break,
                    }
                }
                (AttemptOutcome::Status { code, retry_after }, None)
            }
            Err(e) => {
                let outcome = if is_forbidden(&e) {
                    AttemptOutcome::Refused
                } else if e.is_timeout() {
                    AttemptOutcome::Timeout
                } else {
                    AttemptOutcome::Transport
                };
                (outcome, Some(e.without_url()))
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

/// Parses and vets a URL: http(s), a host, and an IP-literal host the policy permits
/// (IP literals never reach the resolver, where names are checked). Returns the URL and
/// the span of `host[:port]` in its serialization.
fn vet_url(url: &str, policy: &AddressPolicy) -> Result<(Url, (usize, usize)), RejectReason> {
    let parsed = Url::parse(url).map_err(|_| RejectReason::InvalidUrl)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(RejectReason::UnsupportedScheme);
    }
    let literal = match parsed.host() {
        None => return Err(RejectReason::InvalidUrl),
        Some(Host::Domain("")) => return Err(RejectReason::InvalidUrl),
        Some(Host::Domain(_)) => None,
        Some(Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
    };
    if literal.is_some_and(|ip| !policy.permits(ip)) {
        return Err(RejectReason::ForbiddenAddress);
    }
    let start = parsed[..Position::BeforeHost].len();
    let end = parsed[..Position::AfterPort].len();
    Ok((parsed, (start, end)))
}

/// `true` if the error chain holds the resolver's SSRF refusal.
fn is_forbidden(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn StdError + 'static)> = e.source();
    while let Some(s) = source {
        if s.is::<ForbiddenDestination>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The URL for logs: a password in it is replaced.
fn loggable(url: &str) -> Cow<'_, str> {
    if !url.contains('@') {
        return Cow::Borrowed(url);
    }
    match Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("REDACTED"));
            Cow::Owned(u.to_string())
        }
        Ok(_) => Cow::Borrowed(url),
        Err(_) => Cow::Borrowed("<invalid url>"),
    }
}

/// An error and its sources, `a: b: c`.
struct Chain<'a>(&'a (dyn StdError + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(s) = source {
            write!(f, ": {s}")?;
            source = s.source();
        }
        Ok(())
    }
}

/// Configures a [`Dispatcher`]; every default is the Go package's (see the
/// [module docs](super)).
///
/// ```no_run
/// use std::time::Duration;
/// use foreman_webhook::{Dispatcher, Secret};
/// let dispatcher = Dispatcher::builder()
///     .secret(Secret::new("whsec-demo")?)
///     .base_delay(Duration::from_millis(50))
///     .max_pending(50_000)
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DispatcherBuilder {
    secret: Option<Signer>,
    standard: Option<Result<StandardWebhook, crate::StandardError>>,
    policy: RetryPolicy,
    timeout: Duration,
    user_agent: String,
    max_pending: usize,
    max_concurrency: usize,
    max_per_host: usize,
    body_cap: usize,
    addresses: AddressPolicy,
    allow_error: Option<super::CidrError>,
    resolver: Option<Arc<dyn NameResolver>>,
    on_outcome: Option<OutcomeFn>,
    runtime: Option<Handle>,
    jitter_seed: Option<u64>,
}

impl Default for DispatcherBuilder {
    fn default() -> Self {
        Self {
            secret: None,
            standard: None,
            policy: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            max_pending: DEFAULT_MAX_PENDING,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_per_host: DEFAULT_MAX_PER_HOST,
            body_cap: DEFAULT_RESPONSE_BODY_CAP,
            addresses: AddressPolicy::default(),
            allow_error: None,
            resolver: None,
            on_outcome: None,
            runtime: None,
            jitter_seed: None,
        }
    }
}

impl fmt::Debug for DispatcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatcherBuilder")
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("standard_webhooks", &self.standard.is_some())
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("max_pending", &self.max_pending)
            .field("max_concurrency", &self.max_concurrency)
            .field("max_per_host", &self.max_per_host)
            .field("addresses", &self.addresses)
            .finish_non_exhaustive()
    }
}

impl DispatcherBuilder {
    /// Signs every request with `X-Foreman-Signature: sha256=<hex>` under `secret`
    /// (keyed once). Without it requests go unsigned, as Go does with an empty secret.
    #[must_use]
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secret = Some(Signer::new(&secret));
        self
    }

    /// Also sends the [Standard Webhooks](crate::standard) headers: `webhook-id` (stable
    /// per event, the same on every retry), `webhook-timestamp` and `webhook-signature`
    /// (fresh per attempt, one `v1,` entry per secret, so keys can rotate).
    /// `X-Foreman-Signature` is still sent when [`secret`](Self::secret) is set.
    ///
    /// An empty list makes [`build`](Self::build) fail.
    #[must_use]
    pub fn standard_webhooks(mut self, secrets: &[Secret]) -> Self {
        self.standard = Some(StandardWebhook::new(secrets));
        self
    }

    /// Replaces the whole retry policy.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the wait before the first retry (default 1 s; later waits double).
    #[must_use]
    pub fn base_delay(mut self, base: Duration) -> Self {
        self.policy = self.policy.with_base_delay(base);
        self
    }

    /// Sets the number of retries after the first attempt (default 5).
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.policy = self.policy.with_max_retries(retries);
        self
    }

    /// Sets the per-request timeout, connect to end of the body read (default 10 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the `User-Agent` (default `foreman-webhook/<version>`).
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Caps accepted, unfinished deliveries (default 10 000); past it `fire` drops.
    #[must_use]
    pub fn max_pending(mut self, max: usize) -> Self {
        self.max_pending = max;
        self
    }

    /// Caps requests in flight at once (default 64; at least 1).
    #[must_use]
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = max.max(1);
        self
    }

    /// Caps requests in flight to one `host[:port]` (default 8; at least 1).
    #[must_use]
    pub fn max_per_host(mut self, max: usize) -> Self {
        self.max_per_host = max.max(1);
        self
    }

    /// Caps the response-body bytes read per attempt (default 4 KiB).
    #[must_use]
    pub fn response_body_cap(mut self, bytes: usize) -> Self {
        self.body_cap = bytes;
        self
    }

    /// Replaces the address policy (default: every non-global address refused).
    #[must_use]
    pub fn address_policy(mut self, policy: AddressPolicy) -> Self {
        self.addresses = policy;
        self
    }

    /// Opens a CIDR range to deliveries (e.g. `"127.0.0.1/32"` for local tests); an
    /// invalid entry makes [`build`](Self::build) fail.
    #[must_use]
    pub fn allow_cidr(mut self, cidr: &str) -> Self {
        match self.addresses.clone().allow(cidr) {
            Ok(p) => self.addresses = p,
            Err(e) => self.allow_error = Some(e),
        }
        self
    }

    /// Resolves hostnames with `resolver` instead of the system resolver (the answers
    /// still pass the address policy).
    #[must_use]
    pub fn resolver(mut self, resolver: impl NameResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// Calls `callback` once with each event's terminal [`Outcome`]. It runs on the
    /// dispatcher's runtime thread (or, for events refused inside `fire`, on the caller's
    /// thread): keep it short and non-blocking, e.g. a channel send.
    #[must_use]
    pub fn on_outcome(mut self, callback: impl Fn(&Outcome) + Send + Sync + 'static) -> Self {
        self.on_outcome = Some(Arc::new(callback));
        self
    }

    /// Runs deliveries on this tokio runtime (it must have I/O and time enabled).
    #[must_use]
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Seeds the jitter (default: random per dispatcher).
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Builds the client and starts the scheduler.
    ///
    /// The runtime: the one given to [`runtime`](Self::runtime); else, when called
    /// inside a tokio runtime, that runtime; else a small runtime of its own on one
    /// background thread (so synchronous programs need no tokio setup).
    ///
    /// # Errors
    /// [`BuildError`] when the HTTP client or the runtime cannot be built, an allowlist
    /// entry is invalid, or the Standard Webhooks secret list is empty.
    pub fn build(self) -> Result<Dispatcher, BuildError> {
        if let Some(e) = self.allow_error {
            return Err(BuildError::new(BuildErrorKind::Allowlist, e));
        }
        let standard = match self.standard {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => return Err(BuildError::new(BuildErrorKind::StandardWebhooks, e)),
            None => None,
        };
        let addresses = Arc::new(self.addresses);
        let resolver = GuardedResolver {
            inner: self.resolver.unwrap_or_else(|| Arc::new(SystemResolver)),
            policy: Arc::clone(&addresses),
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .user_agent(self.user_agent)
            .dns_resolver(Arc::new(resolver))
            .build()
            .map_err(|e| BuildError::new(BuildErrorKind::Client, e))?;
        let (handle, owned) = match self.runtime.map(Ok).unwrap_or_else(Handle::try_current) {
            Ok(handle) => (handle, None),
            Err(_) => {
                let (handle, owned) = OwnedRuntime::start()?;
                (handle, Some(owned))
            }
        };
        let instance = random_u64();
        let inner = Arc::new(Inner {
            client,
            signing: Signing {
                foreman: self.secret,
                standard,
                instance,
            },
            policy: self
                .policy
                .with_max_retries(self.policy.max_retries().min(u32::from(u16::MAX) - 1)),
            body_cap: self.body_cap,
            max_pending: self.max_pending,
            max_concurrency: self.max_concurrency,
            max_per_host: self.max_per_host,
            jitter_seed: self.jitter_seed.unwrap_or_else(random_u64),
            addresses,
            sched: Mutex::new(Sched::default()),
            wake: Notify::new(),
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
            phase: AtomicU8::new(OPEN),
            cancel: Notify::new(),
            report: Mutex::new(None),
            counters: Counters::default(),
            on_outcome: self.on_outcome,
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

/// 64 random bits from the standard library's per-process hash keys.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Why [`DispatcherBuilder::build`] failed; the cause is its `source()`.
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
    source: Box<dyn StdError + Send + Sync>,
}

/// What [`BuildError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// The HTTP client (TLS backend, user agent) could not be built.
    Client,
    /// The dispatcher's own runtime or its thread could not be started.
    Runtime,
    /// An allowlist entry is not a CIDR range or address.
    Allowlist,
    /// The Standard Webhooks secret list is invalid (empty).
    StandardWebhooks,
}

impl BuildError {
    fn new(kind: BuildErrorKind, source: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }

    /// What failed.
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            BuildErrorKind::Client => "webhook dispatcher: the HTTP client could not be built",
            BuildErrorKind::Runtime => "webhook dispatcher: its runtime thread could not start",
            BuildErrorKind::Allowlist => {
                "webhook dispatcher: allowlist entry must be a CIDR range like `127.0.0.1/32`"
            }
            BuildErrorKind::StandardWebhooks => {
                "webhook dispatcher: standard webhooks need at least one secret"
            }
        })
    }
}

impl StdError for BuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vet_url_rules() {
        let strict = AddressPolicy::default();
        let ok = vet_url("https://hooks.example.com:8443/a?b=c", &strict).unwrap();
        assert_eq!(&ok.0.as_str()[ok.1 .0..ok.1 .1], "hooks.example.com:8443");
        for (url, why) in [
            ("not a url", RejectReason::InvalidUrl),
            ("/relative", RejectReason::InvalidUrl),
            ("ftp://example.com/", RejectReason::UnsupportedScheme),
            ("file:///etc/passwd", RejectReason::UnsupportedScheme),
            ("http://127.0.0.1:9/", RejectReason::ForbiddenAddress),
            ("http://2130706433/", RejectReason::ForbiddenAddress),
            ("http://0x7f.1/", RejectReason::ForbiddenAddress),
            ("http://0177.0.0.1/", RejectReason::ForbiddenAddress),
            (
                "http://169.254.169.254/latest",
                RejectReason::ForbiddenAddress,
            ),
            ("http://[::1]/", RejectReason::ForbiddenAddress),
            ("http://[::ffff:127.0.0.1]/", RejectReason::ForbiddenAddress),
            ("http://[::ffff:7f00:1]/", RejectReason::ForbiddenAddress),
            ("http://[fe80::1]/", RejectReason::ForbiddenAddress),
            ("http://10.0.0.1/", RejectReason::ForbiddenAddress),
        ] {
            assert_eq!(vet_url(url, &strict).err(), Some(why), "{url}");
        }
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(
            loggable("https://user:hunter2@example.com/x"),
            "https://user:REDACTED@example.com/x"
        );
        assert_eq!(loggable("https://example.com/x"), "https://example.com/x");
    }
}
