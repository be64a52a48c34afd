//! The durable outbox: where deliveries wait when a database store is configured, and the
//! admin API over it (status, list, attempts, redeliver, prune).
//!
//! The dispatcher keeps one scheduler, one retry policy, one signer and one SSRF guard;
//! what changes with the store is where a pending delivery lives. The in-memory store
//! (the default) is the scheduler's own queue and heap. A durable store implements the
//! crate-internal `Store` interface (insert a batch, claim due deliveries under a lease,
//! finish one with a fencing token, give claims back) with SQL for its backend; see
//! `docs/outbox.md` for the table of stores and their guarantees.
//!
//! Times in the database are milliseconds since the Unix epoch (UTC).
#![cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]

use core::fmt;
use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod migrate;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod rows;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

#[cfg(feature = "sqlite")]
pub use sqlite::{enqueue_sqlite, SqliteOptions, Synchronous};

#[cfg(feature = "postgres")]
pub(crate) mod postgres;

#[cfg(feature = "postgres")]
pub use postgres::{enqueue_postgres, PostgresOptions};

use super::outcome::RejectReason;

/// How long finished deliveries are kept before pruning (7 days).
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a claim (lease) on a delivery lasts by default: 60 s, six times the default
/// request timeout, so a lease never expires under a request that is still running.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);
/// How often a durable dispatcher looks for work nobody told it about (rows inserted by
/// another process or a transactional enqueue), at most.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// How many bytes of each response the attempt history keeps.
pub const RESPONSE_HEAD_CAP: usize = 256;

/// Where a dispatcher keeps pending deliveries (set on the builder).
#[derive(Debug, Clone, Default)]
pub(crate) enum StoreConfig {
    /// The scheduler's own memory (the default): nothing survives the process.
    #[default]
    Memory,
    /// An embedded SQLite file.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteOptions),
    /// A PostgreSQL database shared by a fleet.
    #[cfg(feature = "postgres")]
    Postgres(Box<PostgresOptions>),
    /// A store setting that failed to parse (reported by `build`).
    #[allow(dead_code)]
    Invalid(String),
}

/// A durable store's settings shared by every backend.
#[derive(Debug, Clone)]
pub(crate) struct DurableSettings {
    pub(crate) lease: Duration,
    pub(crate) poll: Duration,
    pub(crate) retention: Duration,
    pub(crate) deliver: bool,
}

impl Default for DurableSettings {
    fn default() -> Self {
        Self {
            lease: DEFAULT_LEASE,
            poll: DEFAULT_POLL_INTERVAL,
            retention: DEFAULT_RETENTION,
            deliver: true,
        }
    }
}

/// The state of one delivery (one event to one URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a process (under a lease) and being attempted.
    InFlight,
    /// A 2xx arrived. Terminal.
    Delivered,
    /// Every attempt failed, or the destination was refused: a dead letter. Terminal
    /// until redelivered.
    Dead,
}

impl DeliveryState {
    /// The spelling in the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    /// `true` for delivered and dead.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Delivered | Self::Dead)
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "in_flight" => Self::InFlight,
            "delivered" => Self::Delivered,
            "dead" => Self::Dead,
            _ => return None,
        })
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DeliveryState {
    type Err = OutboxError;
    fn from_str(s: &str) -> Result<Self, OutboxError> {
        Self::parse(s).ok_or_else(|| {
            OutboxError::usage(format!(
                "unknown delivery state `{s}`: expected pending, in_flight, delivered or dead"
            ))
        })
    }
}

/// What started an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// The retry schedule (the first attempt included).
    Scheduled,
    /// A redelivery asked for by a person or a script.
    Manual,
}

impl Trigger {
    /// `scheduled` or `manual`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Manual => "manual",
        }
    }
}

/// The stored id of an event: its Standard Webhooks `webhook-id` (`msg_` + 32 hex
/// digits), the same on every attempt, after restarts and in every process.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(pub(crate) String);

impl EventId {
    /// A fresh id, unique across processes and restarts: 64 bits drawn from the OS once
    /// per process, then 64 bits that are a keyed bijection of a per-process counter
    /// (unique within the process, and not a readable sequence). Measured reason for not
    /// drawing 128 fresh bits per event: two `getrandom` system calls on `fire`'s path.
    pub(crate) fn random() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::OnceLock;
        static PROCESS: OnceLock<(u64, u64)> = OnceLock::new();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let (prefix, key) =
            *PROCESS.get_or_init(|| (super::random::random_u64(), super::random::random_u64()));
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        // Written by hand: `format!("msg_{prefix:016x}{:016x}", …)` was a fifth of
        // `fire()`'s time with a durable store (perf, `examples/outbox_bench` paced).
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut id = [0u8; 36];
        id[..4].copy_from_slice(b"msg_");
        for (half, v) in [prefix, mix(n ^ key)].into_iter().enumerate() {
            for i in 0..16 {
                id[4 + 16 * half + i] = HEX[((v >> (60 - 4 * i)) & 0xf) as usize];
            }
        }
        Self(String::from_utf8(id.to_vec()).unwrap_or_default())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SplitMix64's finalizer: a bijection on `u64` (each step is invertible), so distinct
/// inputs give distinct outputs.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Counts by state and the queue's age, from [`Outbox::status`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxStatus {
    /// Deliveries waiting for an attempt.
    pub pending: u64,
    /// Deliveries claimed by a process.
    pub in_flight: u64,
    /// Delivered (not yet pruned).
    pub delivered: u64,
    /// Dead letters.
    pub dead: u64,
    /// Age of the oldest pending or in-flight delivery's event, in milliseconds.
    pub oldest_pending_age_ms: Option<u64>,
    /// When the next pending delivery is due (ms since the Unix epoch).
    pub next_due_ms: Option<i64>,
}

/// One delivery, as listed by [`Outbox::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryRow {
    /// The event (its `webhook-id`).
    pub event_id: EventId,
    /// The destination.
    pub url: String,
    /// The event's `job_id`.
    pub job_id: String,
    /// The event's `state` (the job's, not the delivery's).
    pub job_state: String,
    /// The delivery's state.
    pub state: DeliveryState,
    /// Attempts started so far.
    pub attempts: u32,
    /// When the next attempt is due (ms since the Unix epoch).
    pub next_attempt_ms: i64,
    /// When the event was stored (ms since the Unix epoch).
    pub created_ms: i64,
}

/// One attempt of a delivery, from [`Outbox::attempts`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptRow {
    /// The destination.
    pub url: String,
    /// 1 for the first attempt.
    pub number: u32,
    /// What started it.
    pub trigger: Trigger,
    /// When it started (ms since the Unix epoch).
    pub started_ms: i64,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// The HTTP status, when a response arrived.
    pub status: Option<u16>,
    /// The error class (`timeout`, `transport`, `refused`) when none did.
    pub error: Option<String>,
    /// The first bytes of the response body (at most [`RESPONSE_HEAD_CAP`]).
    pub response_head: Vec<u8>,
}

/// Which deliveries to redeliver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Redeliver {
    /// Every delivery of one event (whatever its state, except in flight).
    Event(EventId),
    /// Every dead letter.
    AllDead,
}

/// Why an outbox operation failed.
#[derive(Debug)]
pub struct OutboxError {
    kind: OutboxErrorKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync>>,
}

/// What an [`OutboxError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutboxErrorKind {
    /// The database failed (unreachable, locked, corrupt, disk full); see `source()`.
    Database,
    /// The URL was refused (`fire_durable` vets it as `fire` does).
    Rejected(RejectReason),
    /// The dispatcher has no durable store (`fire_durable` on the in-memory store).
    NotDurable,
    /// The dispatcher is shutting down.
    ShuttingDown,
    /// A caller's mistake (an unknown state, a malformed store spec).
    Usage,
}

impl OutboxError {
    pub(crate) fn db(context: &str, e: impl Into<Box<dyn StdError + Send + Sync>>) -> Self {
        Self {
            kind: OutboxErrorKind::Database,
            message: format!("webhook outbox: {context}"),
            source: Some(e.into()),
        }
    }

    pub(crate) fn usage(message: String) -> Self {
        Self {
            kind: OutboxErrorKind::Usage,
            message,
            source: None,
        }
    }

    pub(crate) fn simple(kind: OutboxErrorKind) -> Self {
        let message = match kind {
            OutboxErrorKind::Rejected(r) => format!("webhook outbox: url refused: {r}"),
            OutboxErrorKind::NotDurable => {
                "webhook outbox: fire_durable needs a durable store (outbox_sqlite or outbox_postgres)".to_owned()
            }
            OutboxErrorKind::ShuttingDown => {
                "webhook outbox: the dispatcher is shutting down".into()
            }
            OutboxErrorKind::Database => "webhook outbox: database error".into(),
            OutboxErrorKind::Usage => "webhook outbox: invalid use".into(),
        };
        Self {
            kind,
            message,
            source: None,
        }
    }

    /// What failed.
    pub fn kind(&self) -> OutboxErrorKind {
        self.kind
    }

    /// The stable reason code (one of [`crate::reason::ALL`]): `database`, the
    /// [`RejectReason::code`] of a refused URL, `not_durable`, `shutting_down` or `usage`.
    pub fn code(&self) -> &'static str {
        use crate::reason;
        match self.kind {
            OutboxErrorKind::Database => reason::DATABASE,
            OutboxErrorKind::Rejected(r) => r.code(),
            OutboxErrorKind::NotDurable => reason::NOT_DURABLE,
            OutboxErrorKind::ShuttingDown => reason::SHUTTING_DOWN,
            OutboxErrorKind::Usage => reason::USAGE,
        }
    }
}

impl fmt::Display for OutboxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.source {
            write!(f, ": {s}")?;
        }
        Ok(())
    }
}

impl StdError for OutboxError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

// ---------------------------------------------------------------------------------------
// The store interface (crate-internal).

pub(crate) type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A new event for one URL, as `fire` hands it to the writer.
///
/// The body, the event id, the URL, the job id and the state share one buffer (`fire`
/// cuts it from a chunk written ahead, see `chunks.rs`; it lives until its batch is
/// committed): strings that outlive `fire` each took fresh heap on the firing thread
/// while a burst grew the writer's queue (measured with SQLite FULL,
/// `examples/outbox_bench.rs`).
#[derive(Debug, Clone)]
pub(crate) struct NewDelivery {
    /// body ‖ event id ‖ url ‖ job id ‖ state.
    buf: super::chunks::Body,
    body_len: u32,
    id_len: u32,
    url_len: u32,
    job_id_len: u32,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) created_ms: i64,
    /// Delivered in order with the job's other ordered events to this URL: stored as
    /// the row's `order_key` (the job id), which the claim queries respect.
    pub(crate) ordered: bool,
    /// The caller's trace context at `fire` (feature `otel`, a valid span current).
    pub(crate) trace: Option<Box<StoredTrace>>,
}

/// A W3C trace context stored with an event (migration v4): the `traceparent` of the
/// span current when the event was fired and its `tracestate` (`None` when empty). The
/// delivery span of whichever process claims the event is its child, so a restarted
/// process or another relay continues the caller's trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredTrace {
    pub(crate) parent: String,
    pub(crate) state: Option<String>,
}

impl StoredTrace {
    /// The columns' values, each NULL when absent.
    pub(crate) fn columns(trace: Option<&Self>) -> (Option<&str>, Option<&str>) {
        match trace {
            Some(t) => (Some(t.parent.as_str()), t.state.as_deref()),
            None => (None, None),
        }
    }

    /// From the stored columns: a context only when `traceparent` is set.
    pub(crate) fn from_columns(parent: Option<String>, state: Option<String>) -> Option<Self> {
        parent.map(|parent| Self { parent, state })
    }
}

impl NewDelivery {
    /// The row for `event` to `url` (already vetted), created now: the body is encoded
    /// here, once, and stored as the exact bytes every attempt signs and sends (written
    /// into a chunk of `bodies` when it has one at hand).
    pub(crate) fn new(
        event_id: &EventId,
        url: &str,
        event: &crate::Event,
        idempotency_key: Option<&str>,
        bodies: Option<&super::chunks::Chunks>,
    ) -> Self {
        let (id, job_id, state) = (event_id.as_str(), &event.job_id, &event.state);
        let mut body_len = 0;
        let mut write = |b: &mut Vec<u8>| {
            event.write_json(b);
            body_len = b.len();
            for part in [id, url, job_id, state] {
                b.extend_from_slice(part.as_bytes());
            }
        };
        let hint = event.json_len_hint() + id.len() + url.len() + job_id.len() + state.len();
        let buf = match bodies {
            Some(bodies) => bodies.write(hint, write),
            None => {
                let mut b = Vec::with_capacity(hint);
                write(&mut b);
                super::chunks::Body::Own(b.into_boxed_slice())
            }
        };
        // Lengths over 4 GiB cannot be buffered here in the first place.
        let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Self {
            buf,
            body_len: len(body_len),
            id_len: len(id.len()),
            url_len: len(url.len()),
            job_id_len: len(job_id.len()),
            idempotency_key: idempotency_key.map(str::to_owned),
            created_ms: now_ms(),
            ordered: false,
            trace: current_trace().map(Box::new),
        }
    }

    /// The buffer's bytes from `skip` (a sum of the lengths before), `len` long.
    fn part(&self, skip: &[u32], len: usize) -> &[u8] {
        let from = skip.iter().map(|&n| n as usize).sum::<usize>();
        self.buf
            .as_slice()
            .get(from..from + len)
            .unwrap_or_default()
    }

    fn text(&self, skip: &[u32], len: u32) -> &str {
        std::str::from_utf8(self.part(skip, len as usize)).unwrap_or_default()
    }

    /// The exact bytes every attempt signs and sends: `event.to_json()`'s.
    pub(crate) fn body(&self) -> &[u8] {
        self.part(&[], self.body_len as usize)
    }

    /// The event's id (its `webhook-id`).
    pub(crate) fn event_id(&self) -> &str {
        self.text(&[self.body_len], self.id_len)
    }

    /// The event's id, owned.
    pub(crate) fn event_id_owned(&self) -> EventId {
        EventId(self.event_id().to_owned())
    }

    /// The destination URL (vetted, normalized).
    pub(crate) fn url(&self) -> &str {
        self.text(&[self.body_len, self.id_len], self.url_len)
    }

    pub(crate) fn job_id(&self) -> &str {
        self.text(&[self.body_len, self.id_len, self.url_len], self.job_id_len)
    }

    pub(crate) fn state(&self) -> &str {
        let skip = [self.body_len, self.id_len, self.url_len, self.job_id_len];
        let from = skip.iter().map(|&n| n as usize).sum::<usize>();
        std::str::from_utf8(self.buf.as_slice().get(from..).unwrap_or_default()).unwrap_or_default()
    }

    /// Marks the delivery as ordered per job (see `DispatcherBuilder::ordered_per_job`).
    #[must_use]
    pub(crate) fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// The `order_key` column: the job id when ordered.
    pub(crate) fn order_key(&self) -> Option<&str> {
        self.ordered.then_some(self.job_id())
    }

    /// The `traceparent` and `tracestate` columns.
    pub(crate) fn trace_columns(&self) -> (Option<&str>, Option<&str>) {
        StoredTrace::columns(self.trace.as_deref())
    }
}

/// The trace context to store with an event fired now: the current OpenTelemetry span's
/// (feature `otel`), none without a valid current span or without the feature.
fn current_trace() -> Option<StoredTrace> {
    #[cfg(feature = "otel")]
    return super::otel::current_trace();
    #[cfg(not(feature = "otel"))]
    None
}

/// A delivery this process now holds a lease on.
#[derive(Debug, Clone)]
pub(crate) struct Claimed {
    pub(crate) delivery_id: i64,
    pub(crate) event_id: EventId,
    /// The fencing token: finishing must present it.
    pub(crate) token: i64,
    /// Attempts including the one this claim is for.
    pub(crate) attempts: u32,
    pub(crate) manual: bool,
    pub(crate) url: String,
    pub(crate) body: Vec<u8>,
    pub(crate) job_id: String,
    pub(crate) state: String,
    /// The trace context stored with the event, if any.
    pub(crate) trace: Option<StoredTrace>,
}

/// Where a finished attempt leaves its delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    Delivered,
    RetryAt(i64),
    Dead,
}

/// A finished attempt, recorded under the claim's fencing token.
#[derive(Debug, Clone)]
pub(crate) struct Finish {
    pub(crate) delivery_id: i64,
    pub(crate) token: i64,
    pub(crate) next: Transition,
    /// A failed circuit-breaker probe: recorded in the history, but the attempt does not
    /// count against the delivery's retries (its destination was known to be down).
    pub(crate) uncount: bool,
    pub(crate) attempt: AttemptRow,
}

/// What [`Store::finish_and_claim`] answers: per finish whether its lease still held,
/// then the deliveries claimed.
pub(crate) type FinishedAndClaimed = (Vec<bool>, Vec<Claimed>);

/// What a durable backend does; SQL per backend, the dispatcher's logic shared.
pub(crate) trait Store: Send + Sync + 'static {
    /// Stores new events and their deliveries in one transaction (group commit). An
    /// event whose idempotency key exists already is skipped; its stored id is returned
    /// in its place.
    fn insert<'a>(
        &'a self,
        batch: &'a [NewDelivery],
    ) -> BoxFut<'a, Result<Vec<EventId>, OutboxError>>;
    /// Leases up to `limit` due deliveries (pending and due, or in flight with an expired
    /// lease) to `owner` until `now + lease`, counting the attempt, and commits.
    fn claim<'a>(
        &'a self,
        owner: &'a str,
        limit: usize,
        now: i64,
        lease: i64,
    ) -> BoxFut<'a, Result<Vec<Claimed>, OutboxError>>;
    /// Records finished attempts and moves their deliveries on, in one transaction (the
    /// dispatcher batches what finished meanwhile: one commit, one fsync, per batch). Each
    /// is applied iff its token still holds the lease; the answer says so per finish, in
    /// order (`false`: the lease was lost, expired and taken by another process).
    fn finish_batch<'a>(
        &'a self,
        done: &'a [Finish],
        now: i64,
    ) -> BoxFut<'a, Result<Vec<bool>, OutboxError>>;
    /// [`finish_batch`](Self::finish_batch), then, when `limit > 0`, leases up to `limit`
    /// due deliveries as [`claim`](Self::claim) does: in ONE transaction where the
    /// backend gains by it (one commit, one fsync, one round of hand-offs instead of
    /// two), all or nothing. A backend that does not (the default) only finishes and
    /// claims nothing; its claim loop claims as before.
    fn finish_and_claim<'a>(
        &'a self,
        done: &'a [Finish],
        now: i64,
        owner: &'a str,
        limit: usize,
        lease: i64,
    ) -> BoxFut<'a, Result<FinishedAndClaimed, OutboxError>> {
        let _ = (owner, limit, lease);
        Box::pin(async move { Ok((self.finish_batch(done, now).await?, Vec::new())) })
    }
    /// Gives leases back (shutdown); `started` says the attempt was counted and began.
    fn release<'a>(&'a self, claims: &'a [(i64, i64, bool)])
        -> BoxFut<'a, Result<(), OutboxError>>;
    /// Gives leases back unattempted (the destination's circuit is open or its rate
    /// limit is spent): `(delivery, token, due_ms)`; the claim's attempt is not counted.
    fn defer<'a>(&'a self, claims: &'a [(i64, i64, i64)]) -> BoxFut<'a, Result<(), OutboxError>>;
    /// When the earliest pending delivery or lease expiry is due.
    fn next_due(&self) -> BoxFut<'_, Result<Option<i64>, OutboxError>>;
    /// Counts by state.
    fn status(&self, now: i64) -> BoxFut<'_, Result<OutboxStatus, OutboxError>>;
    /// Deliveries in `state`, oldest first.
    fn list(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> BoxFut<'_, Result<Vec<DeliveryRow>, OutboxError>>;
    /// The attempts of an event's deliveries.
    fn attempts<'a>(
        &'a self,
        event: &'a EventId,
    ) -> BoxFut<'a, Result<Vec<AttemptRow>, OutboxError>>;
    /// Puts deliveries back to pending, due now, as manual; returns how many.
    fn redeliver<'a>(
        &'a self,
        which: &'a Redeliver,
        now: i64,
    ) -> BoxFut<'a, Result<u64, OutboxError>>;
    /// Deletes events whose deliveries all finished before `before`; returns how many.
    fn prune(&self, before: i64) -> BoxFut<'_, Result<u64, OutboxError>>;
}

/// A handle on a durable outbox for inspection and repair, without delivering: what the
/// `foreman-webhook outbox` commands use.
#[derive(Clone)]
pub struct Outbox {
    store: Arc<dyn Store>,
    /// The dispatcher's runtime, for a handle from
    /// [`Dispatcher::outbox`](super::Dispatcher::outbox): the store's pool lives there, and a pooled connection
    /// used from another runtime is given back by a task on *that* runtime (lost if it
    /// is not driven any more), so the calls run on the dispatcher's runtime.
    runtime: Option<tokio::runtime::Handle>,
}

impl fmt::Debug for Outbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outbox").finish_non_exhaustive()
    }
}

impl Outbox {
    pub(crate) fn from_store(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            runtime: None,
        }
    }

    pub(crate) fn on_runtime(store: Arc<dyn Store>, runtime: tokio::runtime::Handle) -> Self {
        Self {
            store,
            runtime: Some(runtime),
        }
    }

    /// Runs `f` on the store, on the dispatcher's runtime when there is one.
    async fn run<T, F, Fut>(&self, f: F) -> Result<T, OutboxError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<dyn Store>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, OutboxError>> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        let Some(runtime) = &self.runtime else {
            return f(store).await;
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let _ = tx.send(f(store).await);
        });
        rx.await
            .unwrap_or_else(|_| Err(OutboxError::simple(OutboxErrorKind::ShuttingDown)))
    }

    /// Opens (creating and migrating if needed) an SQLite outbox file.
    ///
    /// # Errors
    /// [`OutboxErrorKind::Database`] when the file cannot be opened, is locked past the
    /// busy timeout, is not a database, or its migrations fail.
    #[cfg(feature = "sqlite")]
    pub async fn open_sqlite(options: SqliteOptions) -> Result<Self, OutboxError> {
        let store = sqlite::SqliteStore::open(&options).await?;
        Ok(Self::from_store(Arc::new(store)))
    }

    /// Opens (migrating if needed) a PostgreSQL outbox.
    ///
    /// # Errors
    /// [`OutboxErrorKind::Database`] when the server cannot be reached or the migrations
    /// fail.
    #[cfg(feature = "postgres")]
    pub async fn open_postgres(options: PostgresOptions) -> Result<Self, OutboxError> {
        let store = postgres::PgStore::open(&options).await?;
        Ok(Self::from_store(Arc::new(store)))
    }

    /// Counts by state, the oldest pending age and the next due time.
    ///
    /// # Errors
    /// [`OutboxErrorKind::Database`] on a database failure.
    pub async fn status(&self) -> Result<OutboxStatus, OutboxError> {
        let now = now_ms();
        self.run(move |s| async move { s.status(now).await }).await
    }

    /// Up to `limit` deliveries in `state` (all states when `None`), oldest first.
    ///
    /// # Errors
    /// [`OutboxErrorKind::Database`] on a database failure.
    pub async fn list(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<DeliveryRow>, OutboxError> {
        self.run(move |s| async move { s.list(state, limit).await })
            .await
    }

    /// Every recorded attempt of `event`'s deliveries, in order.
    ///
    /// # Errors
    /// [`OutboxErrorKind::Database`] on a database failure.
    pub async fn attempts(&self, event: &EventId) -> Result<Vec<AttemptRow>, OutboxError> {
        let event = event.clone();
        self.run(move |s| async move { s.attempts(&event).await })
            .await
    }

    /// Puts the chosen deliveries back to pending, due now; their next attempt is
    /// recorded with the [`Trigger::Manual`] trigger. A redelivery is one more attempt:
    /// if it fails, the delivery is dead again. Returns how many deliveries changed.
    ///
    /// # Errors
    /// [`OutboxErrorKind::Database`] on a database failure.
    pub async fn redeliver(&self, which: &Redeliver) -> Result<u64, OutboxError> {
        let (which, now) = (which.clone(), now_ms());
        self.run(move |s| async move { s.redeliver(&which, now).await })
            .await
    }

    /// Deletes events whose deliveries all finished more than `older_than` ago; returns
    /// how many events were deleted.
    ///
    /// # Errors
    /// [`OutboxErrorKind::Database`] on a database failure.
    pub async fn prune(&self, older_than: Duration) -> Result<u64, OutboxError> {
        let before = now_ms().saturating_sub(ms(older_than));
        self.run(move |s| async move { s.prune(before).await })
            .await
    }
}

impl EventId {
    /// Wraps a stored id (as printed by `outbox list`) for the admin calls.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_bodies_are_the_events_json() {
        let pool = super::super::chunks::Chunks::start();
        let mut e = crate::Event::new("job-1", "running", crate::Timestamp::UNIX_EPOCH);
        let url = String::from("http://127.0.0.1:9/hook");
        for i in 0..2_000 {
            e.job_id = format!("job-{i}");
            e.result =
                Some(crate::RawJson::new(format!(r#"{{"log":"{}"}}"#, "x".repeat(i))).unwrap());
            e.state = "é".repeat(i % 5);
            let id = EventId::random();
            for bodies in [Some(&pool), None] {
                let d = NewDelivery::new(&id, &url, &e, None, bodies);
                assert_eq!(d.body(), &e.to_json()[..]);
                assert_eq!(
                    (d.event_id(), d.url(), d.job_id(), d.state()),
                    (
                        id.as_str(),
                        url.as_str(),
                        e.job_id.as_str(),
                        e.state.as_str()
                    )
                );
            }
        }
    }

    #[test]
    fn event_ids_are_distinct_well_formed_and_not_a_sequence() {
        let ids: Vec<EventId> = (0..100_000).map(|_| EventId::random()).collect();
        let distinct: std::collections::HashSet<&str> = ids.iter().map(EventId::as_str).collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids[..10] {
            let hex = id.as_str().strip_prefix("msg_").unwrap();
            assert_eq!(hex.len(), 32);
            assert!(hex.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        // The same text as `format!`'s hexadecimal (the id is written by hand).
        for id in &ids[..10] {
            let (a, b) = id.as_str()[4..].split_at(16);
            let (a, b) = (
                u64::from_str_radix(a, 16).unwrap(),
                u64::from_str_radix(b, 16).unwrap(),
            );
            assert_eq!(id.as_str(), format!("msg_{a:016x}{b:016x}"));
        }
        // The second half of two consecutive ids shares no obvious step.
        let tail = |i: usize| u64::from_str_radix(&ids[i].as_str()[20..], 16).unwrap();
        assert!(tail(1).wrapping_sub(tail(0)) != tail(2).wrapping_sub(tail(1)));
    }
}
