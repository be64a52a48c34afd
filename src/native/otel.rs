//! OpenTelemetry spans and metrics for the dispatcher (feature `otel`).
//!
//! Give the builder an [`Otel`] ([`DispatcherBuilder::otel`](super::DispatcherBuilder::otel))
//! made from your tracer and meter providers (or [`Otel::global`]). Only the
//! OpenTelemetry API crate is a dependency: the application chooses the SDK and the
//! exporters.
//!
//! **Spans.** Each delivery is an `INTERNAL` span `webhook deliver`, a new trace root that
//! *links* to the span current at `fire` (the delivery outlives the caller's request).
//! Each attempt is a `CLIENT` span named `POST`, a child of the delivery span, with the
//! HTTP client semantic-convention attributes `http.request.method`, `server.address`,
//! `server.port`, `url.full` (user and password `REDACTED`, query dropped unless
//! [`record_url_query`](super::DispatcherBuilder::record_url_query)),
//! `http.response.status_code`, `error.type` (the status code for a non-2xx response,
//! else `timeout` / `transport` / `refused`) and `http.request.resend_count` on retries.
//! With [`propagate`](Otel::propagate), each attempt carries the W3C `traceparent` (and
//! `tracestate`) of its attempt span to the receiver.
//!
//! **Metrics** (meter `foreman-webhook`):
//! - `http.client.request.duration` (histogram, `s`): per attempt, with
//!   `http.request.method`, `server.address`, `server.port`, `http.response.status_code`
//!   or `error.type`;
//! - `webhook.deliveries` (counter): terminal outcomes, by `outcome` and `server.address`;
//! - `webhook.attempts` (counter): by `status_class` (`2xx` … `5xx`, `error`) and
//!   `server.address`;
//! - `webhook.retries` (counter): retries scheduled;
//! - `webhook.circuit.transitions` (counter): circuit-breaker state changes per
//!   destination, by `state` (`opened`, `half_open`, `reopened`, `closed`) and
//!   `server.address` (see docs/delivery-policy.md);
//! - gauges `webhook.pending` and `webhook.in_flight`; with a durable store also
//!   `webhook.dead_letters` and `webhook.oldest_due_age` (`s`), read from the store
//!   every [`gauge_interval`](Otel::gauge_interval).
//!
//! **Cardinality.** `server.address`/`server.port` labels are given to the first
//! [`host_label_limit`](Otel::host_label_limit) distinct destinations (default 100);
//! every later destination is counted under `server.address="_other"` without a port.
//! No label or attribute ever holds a secret, a signature, a header value or a query
//! value named like a credential.

use core::fmt;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use opentelemetry::global::{BoxedTracer, ObjectSafeTracerProvider};
use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider};
use opentelemetry::trace::{
    Link, SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
    Tracer,
};
use opentelemetry::{Context, InstrumentationScope, KeyValue, Value};
use url::Url;

use super::outbox::StoredTrace;
use super::outcome::OutcomeKind;
use super::telemetry::ErrorClass;

const SCOPE: &str = "foreman-webhook";
const OTHER: &str = "_other";
/// The bucket boundaries the HTTP semantic conventions recommend for
/// `http.client.request.duration`.
const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// The dispatcher's OpenTelemetry instruments and tracer; see the [module docs](self).
/// Cheap to clone.
#[derive(Clone)]
pub struct Otel {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None`: metrics only ([`Otel::metrics_only`]), no span work at all.
    tracer: Option<BoxedTracer>,
    meter: Meter,
    duration: Histogram<f64>,
    deliveries: Counter<u64>,
    attempts: Counter<u64>,
    retries: Counter<u64>,
    circuit: Counter<u64>,
    hosts: HostLabels,
    propagate: AtomicBool,
    gauge_interval: Mutex<Duration>,
}

impl fmt::Debug for Otel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Otel")
            .field("host_label_limit", &self.inner.hosts.limit())
            .field("propagate", &self.inner.propagate.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Otel {
    /// Instruments from these providers (for example the SDK's `SdkTracerProvider` and
    /// `SdkMeterProvider`), under the instrumentation scope `foreman-webhook`.
    pub fn new<T, M>(tracer_provider: &T, meter_provider: &M) -> Self
    where
        T: ObjectSafeTracerProvider + ?Sized,
        M: MeterProvider + ?Sized,
    {
        let scope = InstrumentationScope::builder(SCOPE)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = BoxedTracer::new(tracer_provider.boxed_tracer(scope.clone()));
        Self::with(Some(tracer), meter_provider.meter_with_scope(scope))
    }

    /// Metrics only, from this meter provider: no spans, and none of their cost (a no-op
    /// tracer given to [`new`](Self::new) still has every span's attributes built, then
    /// dropped); nothing is propagated to receivers. What `relay --metrics-addr` uses.
    pub fn metrics_only<M>(meter_provider: &M) -> Self
    where
        M: MeterProvider + ?Sized,
    {
        let scope = InstrumentationScope::builder(SCOPE)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        Self::with(None, meter_provider.meter_with_scope(scope))
    }

    /// Instruments from the global providers (`opentelemetry::global`), as set when
    /// this is called.
    pub fn global() -> Self {
        let scope = InstrumentationScope::builder(SCOPE)
            .with_version(env!("CARGO_PKG_VERSION"))
            .build();
        let tracer = opentelemetry::global::tracer_provider().boxed_tracer(scope.clone());
        Self::with(
            Some(BoxedTracer::new(tracer)),
            opentelemetry::global::meter_provider().meter_with_scope(scope),
        )
    }

    fn with(tracer: Option<BoxedTracer>, meter: Meter) -> Self {
        let duration = meter
            .f64_histogram("http.client.request.duration")
            .with_unit("s")
            .with_description("Duration of webhook HTTP attempts.")
            .with_boundaries(DURATION_BUCKETS.to_vec())
            .build();
        let deliveries = meter
            .u64_counter("webhook.deliveries")
            .with_unit("{delivery}")
            .with_description("Webhook deliveries that reached a terminal outcome.")
            .build();
        let attempts = meter
            .u64_counter("webhook.attempts")
            .with_unit("{attempt}")
            .with_description("Webhook HTTP attempts, by status class.")
            .build();
        let retries = meter
            .u64_counter("webhook.retries")
            .with_unit("{retry}")
            .with_description("Webhook retries scheduled.")
            .build();
        let circuit = meter
            .u64_counter("webhook.circuit.transitions")
            .with_unit("{transition}")
            .with_description("Circuit-breaker state changes per destination.")
            .build();
        Self {
            inner: Arc::new(Inner {
                tracer,
                meter,
                duration,
                deliveries,
                attempts,
                retries,
                circuit,
                hosts: HostLabels::new(100),
                propagate: AtomicBool::new(false),
                gauge_interval: Mutex::new(Duration::from_secs(5)),
            }),
        }
    }

    /// Send each attempt's W3C `traceparent` (and `tracestate`, when not empty) to the
    /// receiver, so its spans join the sender's trace. Off by default; without a tracer
    /// ([`metrics_only`](Self::metrics_only)) there is nothing to send.
    pub fn propagate(self, on: bool) -> Self {
        self.inner.propagate.store(on, Ordering::Relaxed);
        self
    }

    /// How many distinct destinations (`host:port`) get their own `server.address` and
    /// `server.port` labels on metrics (default 100; 0 puts every destination under
    /// `_other`). Span attributes are not limited: spans carry no aggregation cost.
    pub fn host_label_limit(self, limit: usize) -> Self {
        self.inner.hosts.set_limit(limit);
        self
    }

    /// How often the durable store's gauges (`webhook.dead_letters`,
    /// `webhook.oldest_due_age`) are read from the store (default 5 s; at least 10 ms).
    pub fn gauge_interval(self, every: Duration) -> Self {
        *self
            .inner
            .gauge_interval
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = every.max(Duration::from_millis(10));
        self
    }
}

/// The first `limit` distinct destinations seen keep their labels; the rest are `_other`.
/// A bounded set, so the label count cannot grow with the number of destinations.
struct HostLabels {
    limit: AtomicU64,
    seen: Mutex<HashSet<String>>,
}

impl HostLabels {
    fn new(limit: usize) -> Self {
        Self {
            limit: AtomicU64::new(limit as u64),
            seen: Mutex::new(HashSet::new()),
        }
    }

    fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    fn set_limit(&self, limit: usize) {
        self.limit.store(limit as u64, Ordering::Relaxed);
    }

    /// The labels for a destination: its address and port, or `_other` alone.
    fn labels(&self, dest: &Dest) -> Vec<KeyValue> {
        let key = format!("{}:{}", dest.host, dest.port);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let known = seen.contains(&key) || ((seen.len() as u64) < self.limit() && seen.insert(key));
        drop(seen);
        if known {
            vec![
                KeyValue::new("server.address", dest.host.clone()),
                KeyValue::new("server.port", i64::from(dest.port)),
            ]
        } else {
            vec![KeyValue::new("server.address", OTHER)]
        }
    }
}

/// Host and port of a destination URL.
struct Dest {
    host: String,
    port: u16,
}

impl Dest {
    fn of(url: &str) -> Option<Self> {
        let u = Url::parse(url).ok()?;
        Some(Self {
            host: u.host_str()?.trim_matches(['[', ']']).to_owned(),
            port: u.port_or_known_default()?,
        })
    }
}

/// What every delivery to one destination shares in its spans and metrics: the redacted
/// URL, host and port, and the bounded host labels. Computed once per destination (kept
/// with the dispatcher's shared destination, so a burst to one URL parses it and takes
/// the host-label lock once, not once per delivery: measured in benches/otel_overhead).
pub(crate) struct DestTrace {
    url: Value,
    dest: Option<(Value, i64)>,
    /// `server.address` (+ `server.port`), bounded by [`HostLabels`].
    labels: Vec<KeyValue>,
}

/// A delivery's span, kept with the job until its outcome, with its destination's
/// shared attributes.
pub(crate) struct DeliveryTrace {
    cx: Context,
    dest: Arc<DestTrace>,
    /// The delivery span records (sampled by an SDK); when not, and nothing is
    /// propagated, attempts open no span at all.
    recording: bool,
}

/// One attempt's span, from send to classification.
pub(crate) struct AttemptTrace {
    cx: Context,
    /// The `traceparent` and `tracestate` to send, when propagation is on.
    pub(crate) headers: Option<(String, String)>,
}

impl Otel {
    /// The shared attributes of a destination (`url` already redacted).
    pub(crate) fn dest(&self, url: &str) -> Arc<DestTrace> {
        let parsed = Dest::of(url);
        let labels = match &parsed {
            Some(d) => self.inner.hosts.labels(d),
            None => vec![KeyValue::new("server.address", OTHER)],
        };
        let dest = parsed.map(|d| {
            (
                Value::String(Arc::<str>::from(d.host).into()),
                i64::from(d.port),
            )
        });
        Arc::new(DestTrace {
            url: Value::String(Arc::<str>::from(url).into()),
            dest,
            labels,
        })
    }

    /// Opens the delivery span: a child of the trace context stored with a durable
    /// event (`stored`), else a new root linked to the caller's current span if any.
    pub(crate) fn delivery(
        &self,
        dest: Arc<DestTrace>,
        webhook_id: impl FnOnce() -> String,
        delivery_id: u64,
        stored: Option<&StoredTrace>,
    ) -> DeliveryTrace {
        let Some(tracer) = &self.inner.tracer else {
            return DeliveryTrace {
                cx: Context::new(),
                dest,
                recording: false,
            };
        };
        let (parent, caller) = match stored.and_then(remote_context) {
            // The trace continues where the event was fired, whichever process this is.
            Some(sc) => (
                Context::new().with_remote_span_context(sc),
                SpanContext::NONE,
            ),
            None => (
                Context::new(),
                Context::current().span().span_context().clone(),
            ),
        };
        // Room for the two set at the outcome: the SDK keeps this vector as the span's
        // (measured: growing it at the end cost a reallocation and a copy per span).
        let mut attrs = Vec::with_capacity(7);
        attrs.push(KeyValue::new("url.full", dest.url.clone()));
        attrs.push(KeyValue::new("webhook.id", webhook_id()));
        attrs.push(KeyValue::new("webhook.delivery_id", delivery_id as i64));
        if let Some((host, port)) = &dest.dest {
            attrs.push(KeyValue::new("server.address", host.clone()));
            attrs.push(KeyValue::new("server.port", *port));
        }
        let mut builder = tracer
            .span_builder("webhook deliver")
            .with_kind(SpanKind::Internal)
            .with_attributes(attrs);
        if caller.is_valid() {
            builder = builder.with_links(vec![Link::with_context(caller)]);
        }
        let span = builder.start_with_context(tracer, &parent);
        let recording = opentelemetry::trace::Span::is_recording(&span);
        DeliveryTrace {
            cx: parent.with_span(span),
            dest,
            recording,
        }
    }

    /// Opens an attempt span (`attempt` counts from 1) as a child of the delivery span;
    /// none when the delivery span is not recorded (not sampled, or a no-op tracer) and
    /// no `traceparent` is sent: its children would not be recorded either.
    pub(crate) fn attempt(&self, delivery: &DeliveryTrace, attempt: u32) -> Option<AttemptTrace> {
        let tracer = self.inner.tracer.as_ref()?;
        let propagate = self.inner.propagate.load(Ordering::Relaxed);
        if !delivery.recording && !propagate {
            return None;
        }
        // Room for the status code and error type set at the end (see `delivery`).
        let mut attrs = Vec::with_capacity(7);
        attrs.push(KeyValue::new("http.request.method", "POST"));
        attrs.push(KeyValue::new("url.full", delivery.dest.url.clone()));
        if let Some((host, port)) = &delivery.dest.dest {
            attrs.push(KeyValue::new("server.address", host.clone()));
            attrs.push(KeyValue::new("server.port", *port));
        }
        if attempt > 1 {
            attrs.push(KeyValue::new(
                "http.request.resend_count",
                i64::from(attempt - 1),
            ));
        }
        let span = tracer
            .span_builder("POST")
            .with_kind(SpanKind::Client)
            .with_attributes(attrs)
            .start_with_context(tracer, &delivery.cx);
        let cx = delivery.cx.with_span(span);
        let headers = propagate.then(|| {
            let span = cx.span();
            let sc = span.span_context();
            (traceparent(sc), sc.trace_state().header())
        });
        Some(AttemptTrace { cx, headers })
    }

    /// Ends an attempt span and records the attempt's metrics.
    pub(crate) fn attempt_done(
        &self,
        trace: Option<AttemptTrace>,
        delivery: Option<&DeliveryTrace>,
        duration: Duration,
        status: Option<u16>,
        error: Option<ErrorClass>,
    ) {
        let error_type: Option<Value> = match (status, error) {
            (Some(code), _) if !(200..300).contains(&code) => Some(code.to_string().into()),
            (_, Some(e)) => Some(e.as_str().into()),
            _ => None,
        };
        // The result's attributes, shared by the span and the duration histogram.
        let code = status.map(|c| KeyValue::new("http.response.status_code", i64::from(c)));
        let error_kv = error_type.map(|e| KeyValue::new("error.type", e));
        if let Some(trace) = trace {
            let span = trace.cx.span();
            // One call per lock of the span (each `SpanRef` call takes it).
            span.set_attributes(code.iter().chain(&error_kv).cloned());
            if let Some(e) = &error_kv {
                span.set_status(Status::error(e.value.as_str().into_owned()));
            }
            span.end();
        }
        let other = [KeyValue::new("server.address", OTHER)];
        let host: &[KeyValue] = match delivery {
            Some(d) => &d.dest.labels,
            None => &other,
        };
        let class = match status.map(|c| c / 100) {
            Some(1) => "1xx",
            Some(2) => "2xx",
            Some(3) => "3xx",
            Some(4) => "4xx",
            Some(5) => "5xx",
            Some(_) => "other",
            None => "error",
        };
        self.inner
            .attempts
            .add(1, &[host[0].clone(), KeyValue::new("status_class", class)]);
        // At most five labels (address, port, method, status code, error type), on the
        // stack: no allocation per attempt.
        let method = KeyValue::new("http.request.method", "POST");
        let mut labels: [KeyValue; 5] = core::array::from_fn(|_| KeyValue::new("", ""));
        let mut n = 0;
        for kv in host
            .iter()
            .cloned()
            .chain(core::iter::once(method))
            .chain(code)
            .chain(error_kv)
        {
            labels[n] = kv;
            n += 1;
        }
        self.inner
            .duration
            .record(duration.as_secs_f64(), &labels[..n]);
    }

    /// Counts a retry scheduled.
    pub(crate) fn retry(&self) {
        self.inner.retries.add(1, &[]);
    }

    /// Counts a circuit-breaker state change of the destination `host` (`host[:port]`).
    pub(crate) fn circuit(&self, host: &str, state: &'static str) {
        let address = match Dest::of(&format!("http://{host}/")) {
            Some(dest) => self.inner.hosts.labels(&dest)[0].clone(),
            None => KeyValue::new("server.address", OTHER),
        };
        self.inner
            .circuit
            .add(1, &[KeyValue::new("state", state), address]);
    }

    /// Counts a terminal outcome and ends the delivery span.
    pub(crate) fn outcome(
        &self,
        delivery: Option<&DeliveryTrace>,
        url: &str,
        kind: &OutcomeKind,
        attempts: u32,
    ) {
        let outcome = outcome_label(kind);
        if let Some(d) = delivery.filter(|d| d.recording) {
            let span = d.cx.span();
            span.set_attributes([
                KeyValue::new("webhook.outcome", outcome),
                KeyValue::new("webhook.attempts", i64::from(attempts)),
            ]);
            if !matches!(kind, OutcomeKind::Delivered { .. }) {
                span.set_status(Status::error(outcome));
            }
            span.end();
        }
        let host = match delivery {
            Some(d) => d.dest.labels[0].clone(),
            None => match Dest::of(url) {
                Some(dest) => self.inner.hosts.labels(&dest)[0].clone(),
                None => KeyValue::new("server.address", OTHER),
            },
        };
        self.inner
            .deliveries
            .add(1, &[KeyValue::new("outcome", outcome), host]);
    }

    /// Registers the queue gauges, read from `source` (held weakly: the gauges report
    /// nothing once the dispatcher is gone). The SDK keeps the callbacks; the returned
    /// instrument handles are only markers.
    pub(crate) fn gauges(&self, source: &Weak<dyn GaugeSource>) {
        let meter = &self.inner.meter;
        let pending = Weak::clone(source);
        let in_flight = Weak::clone(source);
        let dead = Weak::clone(source);
        let oldest = Weak::clone(source);
        let _ = meter
            .u64_observable_gauge("webhook.pending")
            .with_unit("{delivery}")
            .with_description("Deliveries accepted and not yet terminal.")
            .with_callback(move |o| {
                if let Some(s) = pending.upgrade() {
                    o.observe(s.pending(), &[]);
                }
            })
            .build();
        let _ = meter
            .u64_observable_gauge("webhook.in_flight")
            .with_unit("{request}")
            .with_description("Webhook requests in flight.")
            .with_callback(move |o| {
                if let Some(s) = in_flight.upgrade() {
                    o.observe(s.in_flight(), &[]);
                }
            })
            .build();
        let _ = meter
            .u64_observable_gauge("webhook.dead_letters")
            .with_unit("{delivery}")
            .with_description("Dead deliveries in the durable store.")
            .with_callback(move |o| {
                if let Some(v) = dead.upgrade().and_then(|s| s.dead_letters()) {
                    o.observe(v, &[]);
                }
            })
            .build();
        let _ = meter
            .f64_observable_gauge("webhook.oldest_due_age")
            .with_unit("s")
            .with_description("Age of the oldest pending delivery in the durable store.")
            .with_callback(move |o| {
                if let Some(v) = oldest.upgrade().and_then(|s| s.oldest_due_age()) {
                    o.observe(v.as_secs_f64(), &[]);
                }
            })
            .build();
    }

    /// How often the store's gauges are refreshed.
    pub(crate) fn gauge_every(&self) -> Duration {
        *self
            .inner
            .gauge_interval
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where the gauges read from (the dispatcher).
pub(crate) trait GaugeSource: Send + Sync {
    fn pending(&self) -> u64;
    fn in_flight(&self) -> u64;
    /// `None` without a durable store (or before its first read).
    fn dead_letters(&self) -> Option<u64>;
    /// `None` without a durable store, or when nothing is pending.
    fn oldest_due_age(&self) -> Option<Duration>;
}

/// The W3C `traceparent` of a span context (version 00). Formatted here: the propagator
/// lives in the SDK, which the library does not depend on.
fn traceparent(sc: &SpanContext) -> String {
    format!(
        "00-{:032x}-{:016x}-{:02x}",
        sc.trace_id(),
        sc.span_id(),
        sc.trace_flags().to_u8()
    )
}

/// The trace context to store with a durable event fired now: the current span's, when
/// there is a valid one (sampled or not: the relay's sampler decides as a child would).
pub(crate) fn current_trace() -> Option<StoredTrace> {
    let cx = Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        let state = sc.trace_state().header();
        StoredTrace {
            parent: traceparent(sc),
            state: (!state.is_empty()).then_some(state),
        }
    })
}

/// A stored trace context as the remote parent of a delivery span; `None` for a
/// `traceparent` that is not valid W3C (version 00 form: `00-<32 hex>-<16 hex>-<2 hex>`,
/// lowercase, ids not all zero; a later version's extra fields are ignored). An
/// unparsable `tracestate` is dropped, as the W3C propagator does.
pub(crate) fn remote_context(stored: &StoredTrace) -> Option<SpanContext> {
    let mut parts = stored.parent.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    if !hex(version, 2) || version == "ff" || (version == "00" && parts.next().is_some()) {
        return None;
    }
    if !hex(trace, 32) || !hex(span, 16) || !hex(flags, 2) {
        return None;
    }
    let flags = u8::from_str_radix(flags, 16).ok()?;
    let state = stored
        .state
        .as_deref()
        .and_then(|s| s.parse::<TraceState>().ok())
        .unwrap_or_default();
    let sc = SpanContext::new(
        TraceId::from_hex(trace).ok()?,
        SpanId::from_hex(span).ok()?,
        TraceFlags::new(flags) & TraceFlags::SAMPLED,
        true,
        state,
    );
    sc.is_valid().then_some(sc)
}

/// The context of a W3C trace context received from elsewhere (an incoming request's
/// headers, the `TRACEPARENT` / `TRACESTATE` environment variables of a job runner), as a
/// remote parent: attach it around `fire` (`let _g = cx.attach();`) and a durable event
/// stores it, so its delivery continues that trace. `None` when `traceparent` is not a
/// valid W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`, lowercase, ids not zero); an
/// invalid `tracestate` is dropped.
pub fn remote_parent(traceparent: &str, tracestate: Option<&str>) -> Option<Context> {
    let stored = StoredTrace {
        parent: traceparent.to_owned(),
        state: tracestate.map(str::to_owned),
    };
    remote_context(&stored).map(|sc| Context::new().with_remote_span_context(sc))
}

/// The `outcome` label of a terminal outcome.
pub(crate) fn outcome_label(kind: &OutcomeKind) -> &'static str {
    match kind {
        OutcomeKind::Delivered { .. } => "delivered",
        OutcomeKind::Exhausted => "exhausted",
        OutcomeKind::Rejected(_) => "rejected",
        OutcomeKind::DroppedAtCapacity => "dropped_at_capacity",
        OutcomeKind::AbandonedAtShutdown => "abandoned_at_shutdown",
    }
}

impl super::DispatcherBuilder {
    /// Record OpenTelemetry spans and metrics with these instruments (see
    /// [`Otel`]). Without it the `otel` feature changes nothing.
    pub fn otel(mut self, otel: Otel) -> Self {
        self.telemetry.otel = Some(otel);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_trace_context_round_trips_and_junk_is_refused() {
        let sc = SpanContext::new(
            TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap(),
            SpanId::from_hex("00f067aa0ba902b7").unwrap(),
            TraceFlags::SAMPLED,
            false,
            "vendor=abc".parse().unwrap(),
        );
        let stored = StoredTrace {
            parent: traceparent(&sc),
            state: Some("vendor=abc".into()),
        };
        // The example of the W3C Trace Context recommendation, section 3.2.
        assert_eq!(
            stored.parent,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        let back = remote_context(&stored).unwrap();
        assert_eq!(back.trace_id(), sc.trace_id());
        assert_eq!(back.span_id(), sc.span_id());
        assert!(back.is_sampled() && back.is_remote());
        assert_eq!(back.trace_state().header(), "vendor=abc");
        let parse = |p: &str| {
            remote_context(&StoredTrace {
                parent: p.into(),
                state: None,
            })
        };
        for junk in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(parse(junk).is_none(), "{junk}");
        }
        // A later version may carry more fields.
        assert!(parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-x").is_some());
        assert!(
            !parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
                .unwrap()
                .is_sampled()
        );
    }

    #[test]
    fn host_labels_are_bounded() {
        let h = HostLabels::new(2);
        let d = |p| Dest {
            host: "127.0.0.1".into(),
            port: p,
        };
        assert_eq!(h.labels(&d(1)).len(), 2);
        assert_eq!(h.labels(&d(2)).len(), 2);
        assert_eq!(
            h.labels(&d(3)),
            vec![KeyValue::new("server.address", OTHER)]
        );
        assert_eq!(h.labels(&d(1)).len(), 2);
    }
}
