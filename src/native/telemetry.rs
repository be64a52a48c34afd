//! Correlation: the per-delivery `tracing` span every dispatcher log line is emitted in
//! (`delivery_id`, `webhook_id`), what an [`Outcome`](super::Outcome) carries about its
//! attempts (redacted URL, last status or error class, timings), and the hooks the
//! optional OpenTelemetry layer (`otel` feature, [`super::otel`]) plugs into. Kept apart
//! from the dispatcher so the dispatcher only calls a handful of small functions.

use core::fmt;
#[cfg(feature = "otel")]
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use url::Url;

use super::job::Job;

/// Why an attempt failed without an HTTP status (the OpenTelemetry `error.type` of an
/// attempt that got no response).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// The request timeout passed before the response head arrived.
    Timeout,
    /// The connection failed or broke (DNS, TCP, TLS, HTTP protocol error).
    Transport,
    /// The destination resolved only to addresses the address policy refuses.
    Refused,
}

impl ErrorClass {
    /// `timeout`, `transport` or `refused` (the value used in logs, span attributes and
    /// metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Transport => "transport",
            Self::Refused => "refused",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When one attempt started and how long it took (until the response head and the
/// drained body, or the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptTiming {
    /// Wall-clock start.
    pub started: SystemTime,
    /// Duration of the attempt.
    pub duration: Duration,
}

/// What a job remembers of its attempts for its outcome (allocated at the first attempt,
/// so a queued job stays small).
#[derive(Default)]
pub(crate) struct Trail {
    pub(crate) timings: Vec<AttemptTiming>,
    pub(crate) last_status: Option<u16>,
    pub(crate) last_error: Option<ErrorClass>,
    /// The delivery span and its context (`otel` feature).
    #[cfg(feature = "otel")]
    pub(crate) otel: Option<super::otel::DeliveryTrace>,
    /// `traceparent` and `tracestate` for the attempt being sent (`otel` feature).
    #[cfg(feature = "otel")]
    pub(crate) trace_headers: Option<(String, String)>,
}

impl Trail {
    pub(crate) fn record(
        &mut self,
        started: SystemTime,
        duration: Duration,
        status: Option<u16>,
        error: Option<ErrorClass>,
    ) {
        // Exact growth for the first few attempts (most deliveries make one or two; a
        // `Vec`'s first growth reserves four, 128 bytes, for every waiting retry:
        // measured with examples/pending_memory.rs OUTCOME=1), doubling after.
        if self.timings.len() < 4 {
            self.timings.reserve_exact(1);
        }
        self.timings.push(AttemptTiming { started, duration });
        self.last_status = status;
        self.last_error = error;
    }
}

/// Settings for what the outcome, the spans and the metrics record.
#[derive(Clone, Default)]
pub(crate) struct TelemetryConfig {
    /// Keep the query string in recorded URLs (sensitive parameter values still masked).
    pub(crate) keep_query: bool,
    /// The OpenTelemetry instruments and tracer (`otel` feature).
    #[cfg(feature = "otel")]
    pub(crate) otel: Option<super::otel::Otel>,
    /// The durable store's gauges, refreshed by a task (`otel` feature).
    #[cfg(feature = "otel")]
    pub(crate) store_gauges: Arc<StoreGauges>,
    /// Trails (timings, last result, delivery span) of durable deliveries waiting in the
    /// store for a retry, by delivery number, so the outcome lists every attempt this
    /// process made and the retry joins the same delivery span when this process claims
    /// it again (at most [`PARKED_MAX`]).
    parked: Arc<std::sync::Mutex<std::collections::HashMap<u64, Box<Trail>>>>,
}

/// The most trails kept for durable retries; beyond, a re-claimed retry starts afresh.
const PARKED_MAX: usize = 10_000;

/// What an attempt's telemetry carries from send to classification.
#[cfg(feature = "otel")]
pub(crate) type AttemptSpan = Option<super::otel::AttemptTrace>;
/// What an attempt's telemetry carries from send to classification (nothing without
/// the `otel` feature).
#[cfg(not(feature = "otel"))]
pub(crate) struct AttemptSpan;

/// The hooks the dispatcher calls; each does nothing unless the `otel` feature is on and
/// [`DispatcherBuilder::otel`](super::DispatcherBuilder) was given instruments.
impl TelemetryConfig {
    /// `fire` accepted an in-memory job: open its delivery span (linked to the caller's).
    #[cfg_attr(not(feature = "otel"), allow(clippy::unused_self))]
    pub(crate) fn fired(&self, _job: &mut Job, _webhook_id: impl FnOnce() -> String) {
        #[cfg(feature = "otel")]
        if let Some(o) = &self.otel {
            let dest = self.dest_trace(o, _job);
            let trace = o.delivery(dest, _webhook_id, _job.id, None);
            _job.trail_mut().otel = Some(trace);
        }
    }

    /// The job's destination attributes, made once per destination.
    #[cfg(feature = "otel")]
    fn dest_trace(&self, o: &super::otel::Otel, job: &Job) -> Arc<super::otel::DestTrace> {
        Arc::clone(
            job.dest()
                .otel
                .get_or_init(|| o.dest(&redact_url(job.url(), self.keep_query))),
        )
    }

    /// Whether a job must keep its trail: an OpenTelemetry layer reads it (the
    /// dispatcher also keeps it when an `on_outcome` callback will read it).
    pub(crate) fn wants_trail(&self) -> bool {
        #[cfg(feature = "otel")]
        return self.otel.is_some();
        #[cfg(not(feature = "otel"))]
        false
    }

    /// An attempt starts (at `_started`, the dispatcher's clock reading): open its span
    /// (and the delivery span, for a job claimed from a durable store: a child of the
    /// trace context stored with its event, `_stored`); set the headers to propagate.
    pub(crate) fn attempt_started(
        &self,
        _job: &mut Job,
        durable: bool,
        _stored: Option<&super::outbox::StoredTrace>,
        _started: SystemTime,
        _webhook_id: impl FnOnce() -> String,
    ) -> AttemptSpan {
        // A durable retry claimed again (a fresh job past its first attempt): take back
        // the trail it left when it went back to the store. In-memory jobs never take the
        // lock.
        if durable && _job.trail.is_none() && _job.attempts > 1 {
            _job.trail = self
                .parked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .remove(&_job.id);
        }
        #[cfg(feature = "otel")]
        {
            let o = self.otel.as_ref()?;
            let (id, attempt) = (_job.id, u32::from(_job.attempts));
            if _job.trail.as_ref().is_none_or(|t| t.otel.is_none()) {
                let dest = self.dest_trace(o, _job);
                _job.trail_mut().otel = Some(o.delivery(dest, _webhook_id, id, _stored));
            }
            let trail = _job.trail_mut();
            let delivery = trail.otel.as_ref()?;
            let span = o.attempt(delivery, attempt, _started)?;
            trail.trace_headers = span.headers.clone();
            Some(span)
        }
        #[cfg(not(feature = "otel"))]
        AttemptSpan
    }

    /// An attempt was classified: end its span, record its metrics.
    #[cfg_attr(not(feature = "otel"), allow(clippy::unused_self))]
    pub(crate) fn attempt_finished(
        &self,
        _span: AttemptSpan,
        _job: &mut Job,
        _duration: Duration,
        _status: Option<u16>,
        _error: Option<ErrorClass>,
    ) {
        #[cfg(feature = "otel")]
        if let Some(o) = &self.otel {
            let trail = _job.trail.as_deref_mut();
            let delivery = trail.and_then(|t| {
                t.trace_headers = None;
                t.otel.as_ref()
            });
            o.attempt_done(_span, delivery, _duration, _status, _error);
        }
    }

    /// A durable delivery goes back to the store to wait for its retry: keep its trail.
    pub(crate) fn park(&self, job: &mut Job) {
        if let Some(trail) = job.trail.take() {
            let mut parked = self
                .parked
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if parked.len() < PARKED_MAX {
                parked.insert(job.id, trail);
            }
        }
    }

    /// A retry was scheduled.
    #[cfg_attr(not(feature = "otel"), allow(clippy::unused_self))]
    pub(crate) fn retry(&self) {
        #[cfg(feature = "otel")]
        if let Some(o) = &self.otel {
            o.retry();
        }
    }

    /// A destination's circuit changed state (`host` is `host[:port]`).
    #[cfg_attr(not(feature = "otel"), allow(clippy::unused_self))]
    pub(crate) fn circuit(&self, _host: &str, _state: &'static str) {
        #[cfg(feature = "otel")]
        if let Some(o) = &self.otel {
            o.circuit(_host, _state);
        }
    }

    /// A terminal outcome: end the delivery span, count it.
    #[cfg_attr(not(feature = "otel"), allow(clippy::unused_self))]
    pub(crate) fn outcome(
        &self,
        _url: &str,
        _trail: Option<&Trail>,
        _kind: &super::OutcomeKind,
        _attempts: u32,
    ) {
        #[cfg(feature = "otel")]
        if let Some(o) = &self.otel {
            o.outcome(_trail.and_then(|t| t.otel.as_ref()), _url, _kind, _attempts);
        }
    }
}

/// The durable store's numbers for the gauges, refreshed every `gauge_interval`.
#[cfg(feature = "otel")]
#[derive(Default)]
pub(crate) struct StoreGauges {
    known: std::sync::atomic::AtomicBool,
    dead: std::sync::atomic::AtomicU64,
    /// Milliseconds + 1; 0 when nothing is pending.
    oldest_ms: std::sync::atomic::AtomicU64,
}

#[cfg(feature = "otel")]
impl super::otel::GaugeSource for super::dispatcher::Inner {
    fn pending(&self) -> u64 {
        self.stats().pending
    }
    fn in_flight(&self) -> u64 {
        self.stats().in_flight
    }
    fn dead_letters(&self) -> Option<u64> {
        let g = &self.telemetry.store_gauges;
        g.known
            .load(Ordering::Acquire)
            .then(|| g.dead.load(Ordering::Relaxed))
    }
    fn oldest_due_age(&self) -> Option<Duration> {
        let g = &self.telemetry.store_gauges;
        match g.oldest_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms - 1)),
        }
    }
}

/// Registers the gauges and, with a durable store, starts the task that reads the
/// store's numbers for them.
#[cfg_attr(not(feature = "otel"), allow(unused_variables))]
pub(crate) fn start(inner: &Arc<super::dispatcher::Inner>, handle: &tokio::runtime::Handle) {
    #[cfg(feature = "otel")]
    if let Some(o) = &inner.telemetry.otel {
        let weak: std::sync::Weak<super::dispatcher::Inner> = Arc::downgrade(inner);
        let source: std::sync::Weak<dyn super::otel::GaugeSource> = weak.clone();
        o.gauges(&source);
        if inner.durable.is_none() {
            return;
        }
        let every = o.gauge_every();
        handle.spawn(async move {
            loop {
                let Some(inner) = weak.upgrade() else { return };
                if inner.phase.load(Ordering::Acquire) == super::dispatcher::CANCELLED {
                    return;
                }
                if let Some(d) = &inner.durable {
                    let now = super::outbox::now_ms();
                    if let Ok(status) = d.store.status(now).await {
                        let g = &inner.telemetry.store_gauges;
                        g.dead.store(status.dead, Ordering::Relaxed);
                        g.oldest_ms.store(
                            status
                                .oldest_pending_age_ms
                                .map_or(0, |ms| ms.saturating_add(1)),
                            Ordering::Relaxed,
                        );
                        g.known.store(true, Ordering::Release);
                    }
                }
                drop(inner);
                tokio::time::sleep(every).await;
            }
        });
    }
}

impl fmt::Debug for TelemetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Telemetry");
        d.field("keep_query", &self.keep_query);
        #[cfg(feature = "otel")]
        d.field("otel", &self.otel.is_some());
        d.finish()
    }
}

/// Query parameters whose values are masked even when the query is kept (the
/// OpenTelemetry semantic conventions' list for `url.full`, plus common token names).
const SENSITIVE_QUERY: &[&str] = &[
    "awsaccesskeyid",
    "signature",
    "sig",
    "x-goog-signature",
    "token",
    "access_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "password",
];

/// The URL as outcomes, span attributes and the relay report it: user name and password
/// replaced by `REDACTED` (the OpenTelemetry `url.full` rule), the fragment dropped, and
/// the query dropped unless `keep_query` (then sensitive parameter values are
/// `REDACTED`). At most [`LOG_URL_MAX`](super::http::LOG_URL_MAX) bytes, like log lines.
pub(crate) fn redact_url(url: &str, keep_query: bool) -> String {
    if !url.contains(['@', '?', '#']) {
        // Nothing to redact (the common case; the dispatcher's URLs are normalized).
        return super::http::loggable(url).into_owned();
    }
    let Ok(mut u) = Url::parse(url) else {
        return "<invalid url>".to_owned();
    };
    if !u.username().is_empty() || u.password().is_some() {
        let _ = u.set_username("REDACTED");
        let _ = u.set_password(Some("REDACTED"));
    }
    u.set_fragment(None);
    if keep_query && u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let masked = SENSITIVE_QUERY.contains(&k.to_ascii_lowercase().as_str());
                (
                    k.into_owned(),
                    if masked {
                        "REDACTED".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    } else {
        u.set_query(None);
    }
    super::http::loggable(u.as_str()).into_owned()
}

/// The span every log line about one delivery is emitted in. At ERROR level so that any
/// subscriber that shows a dispatcher line also shows these fields.
pub(crate) fn log_span(delivery_id: u64, webhook_id: &dyn fmt::Display) -> tracing::Span {
    tracing::error_span!("webhook", delivery_id, webhook_id = %webhook_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_query_and_fragment_are_redacted() {
        let u = "https://alice:pa55@hooks.example.com:8443/p/a?token=abc&x=1#frag";
        assert_eq!(
            redact_url(u, false),
            "https://REDACTED:REDACTED@hooks.example.com:8443/p/a"
        );
        assert_eq!(
            redact_url(u, true),
            "https://REDACTED:REDACTED@hooks.example.com:8443/p/a?token=REDACTED&x=1"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:9/x", false),
            "http://127.0.0.1:9/x"
        );
        assert_eq!(redact_url("not a url?x=1", false), "<invalid url>");
    }
}
