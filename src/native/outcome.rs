//! What happened to fired events: terminal outcomes, counters, the shutdown report.

use core::fmt;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

/// The number `fire` gives an event, unique within one dispatcher; outcomes carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub(crate) u64);

impl DeliveryId {
    /// The number (1 for the first event fired, then increasing).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The one terminal outcome every fired event ends in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// What `fire` returned for this event; with a durable store, for an event delivered
    /// or dead after being stored, the store's delivery number instead (use
    /// [`webhook_id`](Self::webhook_id) as the stable key there).
    pub id: DeliveryId,
    /// The event's `job_id`.
    pub job_id: String,
    /// The event's `state`.
    pub state: String,
    /// Attempts started (0 when `fire` itself refused the event; 1 for a name that
    /// resolved only to forbidden addresses, refused before any connection).
    pub attempts: u32,
    /// The event's Standard Webhooks `webhook-id`: the stored event id with a durable
    /// store; with the in-memory store, the `msg_…` id its attempts carried (sent when
    /// [`standard_webhooks`](super::DispatcherBuilder::standard_webhooks) is set). Log
    /// lines about the delivery carry it as the `webhook_id` field.
    pub webhook_id: Option<String>,
    /// How it ended.
    pub kind: OutcomeKind,
    /// The destination as given to `fire` (normalized), with any user name and password
    /// replaced by `REDACTED`, the fragment dropped and the query dropped unless
    /// [`record_url_query`](super::DispatcherBuilder::record_url_query) is on.
    pub url: String,
    /// The HTTP status of the last attempt that got a response head (`None` when it got
    /// none, or when there was no attempt).
    pub last_status: Option<u16>,
    /// Why the last attempt failed without a response (`None` when it got one, or when
    /// there was no attempt).
    pub last_error: Option<super::ErrorClass>,
    /// When each attempt this process made started and how long it took, in order
    /// (attempts made by an earlier process are in the durable store's history).
    pub timings: Vec<super::AttemptTiming>,
}

/// How an event's delivery ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutcomeKind {
    /// A 2xx response arrived.
    Delivered {
        /// Its status code.
        status: u16,
    },
    /// Every attempt failed.
    Exhausted,
    /// Refused without retrying (bad URL, forbidden destination).
    Rejected(RejectReason),
    /// `fire` found the pending-deliveries cap reached.
    DroppedAtCapacity,
    /// Still pending when shutdown's deadline passed, or fired after shutdown began.
    AbandonedAtShutdown,
}

/// Why an event was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The URL does not parse, has no host, is longer than 8 KiB, or is one the HTTP
    /// client cannot send (a host with `{`, `"` or a backtick, which the URL standard
    /// accepts but `http::Uri` does not).
    InvalidUrl,
    /// The scheme is not `http` or `https`.
    UnsupportedScheme,
    /// The destination is (or resolves only to) an address the
    /// [`AddressPolicy`](super::AddressPolicy) refuses.
    ForbiddenAddress,
}

impl RejectReason {
    /// The stable reason code (one of [`crate::reason::ALL`]): `invalid_url`,
    /// `unsupported_scheme` or `forbidden_address`.
    pub fn code(self) -> &'static str {
        use crate::reason;
        match self {
            Self::InvalidUrl => reason::INVALID_URL,
            Self::UnsupportedScheme => reason::UNSUPPORTED_SCHEME,
            Self::ForbiddenAddress => reason::FORBIDDEN_ADDRESS,
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidUrl => "webhook url must be an absolute http(s) URL with a valid host, at most 8 KiB long",
            Self::UnsupportedScheme => "webhook url scheme must be http or https",
            Self::ForbiddenAddress => {
                "webhook destination is a non-global address (loopback, private, link-local, ...) not in the allowlist"
            }
        })
    }
}

/// Counters since the dispatcher was built. `fired` always equals the sum of the five
/// terminal counters plus `pending`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Calls to `fire`.
    pub fired: u64,
    /// Terminal: delivered (2xx).
    pub delivered: u64,
    /// Terminal: every attempt failed.
    pub exhausted: u64,
    /// Terminal: refused (bad URL, forbidden destination).
    pub rejected: u64,
    /// Terminal: dropped because the pending cap was reached.
    pub dropped_at_capacity: u64,
    /// Terminal: abandoned at shutdown.
    pub abandoned_at_shutdown: u64,
    /// HTTP attempts started.
    pub attempts: u64,
    /// Attempts that ended without a 2xx.
    pub failed_attempts: u64,
    /// Retries scheduled.
    pub retries_scheduled: u64,
    /// Accepted and not yet terminal (queued, waiting to retry, or in flight).
    pub pending: u64,
    /// Requests in flight right now.
    pub in_flight: u64,
    /// Times a destination's circuit opened (or reopened after a failed probe).
    pub circuits_opened: u64,
    /// Times a destination's circuit closed again after a successful probe.
    pub circuits_closed: u64,
    /// Deliveries a durable dispatcher gave back to the store unattempted because their
    /// destination's circuit was open or its rate limit had no token (not terminal).
    pub deferred: u64,
}

impl Stats {
    /// Events that reached their terminal outcome.
    pub fn terminal(&self) -> u64 {
        self.delivered
            + self.exhausted
            + self.rejected
            + self.dropped_at_capacity
            + self.abandoned_at_shutdown
    }
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) fired: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) exhausted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) abandoned: AtomicU64,
    pub(crate) attempts: AtomicU64,
    pub(crate) failed_attempts: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) in_flight: AtomicU64,
    pub(crate) circuits_opened: AtomicU64,
    pub(crate) circuits_closed: AtomicU64,
    pub(crate) deferred: AtomicU64,
}

impl Counters {
    pub(crate) fn bump(c: &AtomicU64) {
        c.fetch_add(1, AcqRel);
    }

    pub(crate) fn terminal(&self, kind: &OutcomeKind) {
        Self::bump(match kind {
            OutcomeKind::Delivered { .. } => &self.delivered,
            OutcomeKind::Exhausted => &self.exhausted,
            OutcomeKind::Rejected(_) => &self.rejected,
            OutcomeKind::DroppedAtCapacity => &self.dropped,
            OutcomeKind::AbandonedAtShutdown => &self.abandoned,
        });
    }

    /// A snapshot; `pending` is derived (`fired − terminal`, terminal counters read
    /// first), so `fired == terminal() + pending` holds in every snapshot.
    pub(crate) fn snapshot(&self) -> Stats {
        let mut stats = Stats {
            delivered: self.delivered.load(Acquire),
            exhausted: self.exhausted.load(Acquire),
            rejected: self.rejected.load(Acquire),
            dropped_at_capacity: self.dropped.load(Acquire),
            abandoned_at_shutdown: self.abandoned.load(Acquire),
            attempts: self.attempts.load(Relaxed),
            failed_attempts: self.failed_attempts.load(Relaxed),
            retries_scheduled: self.retries.load(Relaxed),
            in_flight: self.in_flight.load(Relaxed),
            circuits_opened: self.circuits_opened.load(Relaxed),
            circuits_closed: self.circuits_closed.load(Relaxed),
            deferred: self.deferred.load(Relaxed),
            ..Stats::default()
        };
        stats.fired = self.fired.load(Acquire);
        stats.pending = stats.fired.saturating_sub(stats.terminal());
        stats
    }
}

/// What [`Dispatcher::shutdown`](super::Dispatcher::shutdown) saw: the job ids of the
/// events that reached a terminal outcome after shutdown began (in the order they did),
/// and the lifetime counters at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Delivered during the drain.
    pub delivered: Vec<String>,
    /// Gave up (every attempt failed) during the drain.
    pub exhausted: Vec<String>,
    /// Rejected during the drain.
    pub rejected: Vec<String>,
    /// Still pending at the deadline (or fired after shutdown began): not delivered.
    pub abandoned: Vec<String>,
    /// `true` when the deadline passed with deliveries still pending.
    pub deadline_reached: bool,
    /// The counters after shutdown.
    pub stats: Stats,
}

impl ShutdownReport {
    pub(crate) fn record(&mut self, job_id: &str, kind: &OutcomeKind) {
        let list = match kind {
            OutcomeKind::Delivered { .. } => &mut self.delivered,
            OutcomeKind::Exhausted => &mut self.exhausted,
            OutcomeKind::Rejected(_) => &mut self.rejected,
            OutcomeKind::DroppedAtCapacity | OutcomeKind::AbandonedAtShutdown => {
                &mut self.abandoned
            }
        };
        list.push(job_id.to_owned());
    }
}
