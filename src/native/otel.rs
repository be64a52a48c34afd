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
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, Weak};
use std::time::{Duration, SystemTime};

use opentelemetry::global::{BoxedSpan, BoxedTracer, ObjectSafeTracerProvider};
use opentelemetry::metrics::{Counter, Histogram, Meter, MeterProvider};
use opentelemetry::trace::{
    Link, Span as _, SpanBuilder, SpanContext, SpanId, SpanKind, Status, TraceContextExt,
    TraceFlags, TraceId, TraceState, Tracer,
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
    seen: Mutex<HashMap<String, Arc<HostSlot>>>,
    other: Arc<HostSlot>,
}

impl HostLabels {
    fn new(limit: usize) -> Self {
        Self {
            limit: AtomicU64::new(limit as u64),
            seen: Mutex::new(HashMap::new()),
            other: Arc::new(HostSlot::new(vec![KeyValue::new("server.address", OTHER)])),
        }
    }

    fn limit(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    fn set_limit(&self, limit: usize) {
        self.limit.store(limit as u64, Ordering::Relaxed);
    }

    /// The metric slot of a destination: its own (address and port labels) while fewer
    /// than `limit` destinations have one, else the shared `_other` slot.
    fn slot(&self, dest: &Dest) -> Arc<HostSlot> {
        let key = format!("{}:{}", dest.host, dest.port);
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = seen.get(&key) {
            return Arc::clone(slot);
        }
        if (seen.len() as u64) >= self.limit() {
            return Arc::clone(&self.other);
        }
        let slot = Arc::new(HostSlot::new(vec![
            KeyValue::new("server.address", dest.host.clone()),
            KeyValue::new("server.port", i64::from(dest.port)),
        ]));
        seen.insert(key, Arc::clone(&slot));
        slot
    }

    /// Every slot (at most `limit` + 1).
    fn slots(&self) -> Vec<Arc<HostSlot>> {
        let seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.values()
            .cloned()
            .chain(core::iter::once(Arc::clone(&self.other)))
            .collect()
    }
}

/// The `status_class` labels of `webhook.attempts`, in [`HostSlot::attempts`] order.
const CLASSES: [&str; 7] = ["1xx", "2xx", "3xx", "4xx", "5xx", "other", "error"];
/// The `outcome` labels of `webhook.deliveries`, in [`HostSlot::deliveries`] order.
const OUTCOMES: [&str; 5] = [
    "delivered",
    "exhausted",
    "rejected",
    "dropped_at_capacity",
    "abandoned_at_shutdown",
];
/// The most distinct results (status codes, error classes) whose histogram label sets a
/// slot keeps ready; rarer ones are built per record.
const RESULTS_MAX: usize = 32;

/// One metric label set (a destination, or `_other`) and what is counted under it.
///
/// The two counters are added up here, in atomics, and handed to the SDK's counters
/// when a reader collects (see [`Otel::flush`]): the SDK hashes a measurement's whole
/// attribute set on every `add` (SipHash, about 1 200 instructions per `add` with this
/// set, counted with perf/otel-instructions.sh), an atomic add costs one instruction.
/// The exported values are the same: every collection first moves what was counted.
struct HostSlot {
    /// `server.address` (+ `server.port`).
    labels: Vec<KeyValue>,
    attempts: [AtomicU64; CLASSES.len()],
    deliveries: [AtomicU64; OUTCOMES.len()],
    /// The duration histogram's label sets by result (status code, or
    /// `RESULT_ERROR + ErrorClass`), made once: recorded with the slice as made, which
    /// the SDK finds first (it looks a measurement's attributes up in the order given).
    results: RwLock<Vec<(u32, Box<[KeyValue]>)>>,
}

/// Result keys of errors without a status (above every `u16`).
const RESULT_ERROR: u32 = 1 << 16;

impl HostSlot {
    fn new(labels: Vec<KeyValue>) -> Self {
        Self {
            labels,
            attempts: Default::default(),
            deliveries: Default::default(),
            results: RwLock::new(Vec::new()),
        }
    }

    /// The duration histogram's labels for one result: address, port, method, and the
    /// status code or error type.
    fn result_labels(&self, status: Option<u16>, error: Option<ErrorClass>) -> Box<[KeyValue]> {
        let mut labels = Vec::with_capacity(self.labels.len() + 3);
        labels.extend(self.labels.iter().cloned());
        labels.push(KeyValue::new("http.request.method", "POST"));
        if let Some(code) = status {
            labels.push(KeyValue::new("http.response.status_code", i64::from(code)));
        }
        if let Some(e) = error_type(status, error) {
            labels.push(KeyValue::new("error.type", e));
        }
        labels.into_boxed_slice()
    }

    /// Records one attempt's duration under its labels.
    fn record(
        &self,
        histogram: &Histogram<f64>,
        seconds: f64,
        status: Option<u16>,
        error: Option<ErrorClass>,
    ) {
        let key = match (status, error) {
            (Some(code), _) => u32::from(code),
            (None, Some(e)) => RESULT_ERROR + e as u32,
            (None, None) => RESULT_ERROR + 0xff,
        };
        {
            let results = self.results.read().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, labels)) = results.iter().find(|(k, _)| *k == key) {
                histogram.record(seconds, labels);
                return;
            }
        }
        let labels = self.result_labels(status, error);
        histogram.record(seconds, &labels);
        let mut results = self.results.write().unwrap_or_else(PoisonError::into_inner);
        if results.len() < RESULTS_MAX && !results.iter().any(|(k, _)| *k == key) {
            results.push((key, labels));
        }
    }
}

/// `error.type` of an attempt: the status code of a non-2xx response, else the error
/// class of an attempt without a response.
fn error_type(status: Option<u16>, error: Option<ErrorClass>) -> Option<Value> {
    match (status, error) {
        (Some(code), _) if !(200..300).contains(&code) => Some(code.to_string().into()),
        (_, Some(e)) => Some(e.as_str().into()),
        _ => None,
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
/// URL, host and port, and the bounded metric slot. Computed once per destination (kept
/// with the dispatcher's shared destination, so a burst to one URL parses it and takes
/// the host-label lock once, not once per delivery: measured in benches/otel_overhead).
pub(crate) struct DestTrace {
    url: Value,
    dest: Option<(Value, i64)>,
    /// Labels `server.address` (+ `server.port`) and counters, bounded by [`HostLabels`].
    slot: Arc<HostSlot>,
}

/// A delivery's span, kept with the job until its outcome, with its destination's
/// shared attributes.
pub(crate) struct DeliveryTrace {
    /// The span, ended at the outcome (`None` once ended, or without a tracer). Owned
    /// here rather than inside a `Context`, which would box it a second time.
    span: Mutex<Option<BoxedSpan>>,
    /// The parent of the attempt spans: a context holding the delivery span's
    /// `SpanContext` (local, not remote), which is all the SDK reads from a parent.
    parent: Context,
    dest: Arc<DestTrace>,
    /// The delivery span records (sampled by an SDK); when not, and nothing is
    /// propagated, attempts open no span at all.
    recording: bool,
}

/// One attempt's span, from send to classification.
pub(crate) struct AttemptTrace {
    span: BoxedSpan,
    /// When the attempt started (the dispatcher's clock reading, also the span's start).
    started: SystemTime,
    /// The `traceparent` and `tracestate` to send, when propagation is on.
    pub(crate) headers: Option<(String, String)>,
}

impl Otel {
    /// The shared attributes of a destination (`url` already redacted).
    pub(crate) fn dest(&self, url: &str) -> Arc<DestTrace> {
        let parsed = Dest::of(url);
        let slot = match &parsed {
            Some(d) => self.inner.hosts.slot(d),
            None => Arc::clone(&self.inner.hosts.other),
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
            slot,
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
                span: Mutex::new(None),
                parent: Context::new(),
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
                Context::map_current(|cx| cx.span().span_context().clone()),
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
        // The builder's fields set in place: each `with_*` moves the whole builder.
        let mut builder = SpanBuilder::from_name("webhook deliver");
        builder.span_kind = Some(SpanKind::Internal);
        builder.attributes = Some(attrs);
        if caller.is_valid() {
            builder.links = Some(vec![Link::with_context(caller)]);
        }
        let span = tracer.build_with_context(builder, &parent);
        let recording = span.is_recording();
        DeliveryTrace {
            parent: Context::new().with_remote_span_context(span.span_context().clone()),
            span: Mutex::new(Some(span)),
            dest,
            recording,
        }
    }

    /// Opens an attempt span (`attempt` counts from 1, `started` is when it started) as
    /// a child of the delivery span; none when the delivery span is not recorded (not
    /// sampled, or a no-op tracer) and no `traceparent` is sent: its children would not
    /// be recorded either.
    pub(crate) fn attempt(
        &self,
        delivery: &DeliveryTrace,
        attempt: u32,
        started: SystemTime,
    ) -> Option<AttemptTrace> {
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
        let mut builder = SpanBuilder::from_name("POST");
        builder.span_kind = Some(SpanKind::Client);
        builder.start_time = Some(started);
        builder.attributes = Some(attrs);
        let span = tracer.build_with_context(builder, &delivery.parent);
        let headers = propagate.then(|| {
            let sc = span.span_context();
            (traceparent(sc), sc.trace_state().header())
        });
        Some(AttemptTrace {
            span,
            started,
            headers,
        })
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
        if let Some(mut trace) = trace {
            let error_type = error_type(status, error);
            if let Some(code) = status {
                let code = KeyValue::new("http.response.status_code", i64::from(code));
                trace.span.set_attribute(code);
            }
            if let Some(e) = error_type {
                trace
                    .span
                    .set_status(Status::error(e.as_str().into_owned()));
                trace.span.set_attribute(KeyValue::new("error.type", e));
            }
            trace.span.end_with_timestamp(trace.started + duration);
        }
        let slot = match delivery {
            Some(d) => &d.dest.slot,
            None => &self.inner.hosts.other,
        };
        let class = match status.map(|c| c / 100) {
            Some(c @ 1..=5) => usize::from(c) - 1,
            Some(_) => 5,
            None => 6,
        };
        slot.attempts[class].fetch_add(1, Ordering::Relaxed);
        slot.record(&self.inner.duration, duration.as_secs_f64(), status, error);
    }

    /// Counts a retry scheduled.
    pub(crate) fn retry(&self) {
        self.inner.retries.add(1, &[]);
    }

    /// Counts a circuit-breaker state change of the destination `host` (`host[:port]`).
    pub(crate) fn circuit(&self, host: &str, state: &'static str) {
        let address = match Dest::of(&format!("http://{host}/")) {
            Some(dest) => self.inner.hosts.slot(&dest).labels[0].clone(),
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
        let outcome = outcome_index(kind);
        let label = OUTCOMES[outcome];
        if let Some(d) = delivery.filter(|d| d.recording) {
            let span = d.span.lock().unwrap_or_else(PoisonError::into_inner).take();
            if let Some(mut span) = span {
                span.set_attribute(KeyValue::new("webhook.outcome", label));
                span.set_attribute(KeyValue::new("webhook.attempts", i64::from(attempts)));
                if !matches!(kind, OutcomeKind::Delivered { .. }) {
                    span.set_status(Status::error(label));
                }
                span.end();
            }
        }
        let other;
        let slot = match delivery {
            Some(d) => &d.dest.slot,
            None => {
                other = match Dest::of(url) {
                    Some(dest) => self.inner.hosts.slot(&dest),
                    None => Arc::clone(&self.inner.hosts.other),
                };
                &other
            }
        };
        slot.deliveries[outcome].fetch_add(1, Ordering::Relaxed);
    }

    /// Hands what the counters' slots added up since the last call to the SDK's
    /// counters: run first at every collection (from the gauges' callback, which the SDK
    /// runs before it reads its instruments), and when the instruments are dropped.
    fn flush(inner: &Inner) {
        for slot in inner.hosts.slots() {
            let address = &slot.labels[0];
            for (n, class) in slot.attempts.iter().zip(CLASSES) {
                let n = n.swap(0, Ordering::Relaxed);
                if n > 0 {
                    let labels = [address.clone(), KeyValue::new("status_class", class)];
                    inner.attempts.add(n, &labels);
                }
            }
            for (n, outcome) in slot.deliveries.iter().zip(OUTCOMES) {
                let n = n.swap(0, Ordering::Relaxed);
                if n > 0 {
                    let labels = [KeyValue::new("outcome", outcome), address.clone()];
                    inner.deliveries.add(n, &labels);
                }
            }
        }
    }

    /// Registers the queue gauges, read from `source` (held weakly: the gauges report
    /// nothing once the dispatcher is gone). The SDK keeps the callbacks; the returned
    /// instrument handles are only markers.
    pub(crate) fn gauges(&self, source: &Weak<dyn GaugeSource>) {
        let meter = &self.inner.meter;
        let otel = Arc::downgrade(&self.inner);
        let pending = Weak::clone(source);
        let in_flight = Weak::clone(source);
        let dead = Weak::clone(source);
        let oldest = Weak::clone(source);
        let _ = meter
            .u64_observable_gauge("webhook.pending")
            .with_unit("{delivery}")
            .with_description("Deliveries accepted and not yet terminal.")
            .with_callback(move |o| {
                // First the counters' sums (this callback runs before the SDK reads
                // them; see `HostSlot`), whether or not the dispatcher is still there.
                if let Some(otel) = otel.upgrade() {
                    Otel::flush(&otel);
                }
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

/// The index in [`OUTCOMES`] of a terminal outcome's `outcome` label.
fn outcome_index(kind: &OutcomeKind) -> usize {
    match kind {
        OutcomeKind::Delivered { .. } => 0,
        OutcomeKind::Exhausted => 1,
        OutcomeKind::Rejected(_) => 2,
        OutcomeKind::DroppedAtCapacity => 3,
        OutcomeKind::AbandonedAtShutdown => 4,
    }
}

impl Drop for Inner {
    /// What the counters' slots still hold goes to the SDK's counters.
    fn drop(&mut self) {
        Otel::flush(self);
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
        assert_eq!(h.slot(&d(1)).labels.len(), 2);
        assert_eq!(h.slot(&d(2)).labels.len(), 2);
        assert_eq!(
            h.slot(&d(3)).labels,
            vec![KeyValue::new("server.address", OTHER)]
        );
        assert!(Arc::ptr_eq(&h.slot(&d(4)), &h.other));
        assert_eq!(h.slot(&d(1)).labels.len(), 2);
        assert_eq!(h.slots().len(), 3);
    }
}
