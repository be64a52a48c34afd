//! OpenTelemetry spans and metrics, read back through the SDK's in-memory exporters: the
//! span tree and attributes of a delivered, a retried and an exhausted event, metric
//! values after a mixed run, bounded host labels over 10,000 destinations, and no secret,
//! signature or credential in any attribute or label.
#![cfg(all(feature = "otel", not(target_arch = "wasm32")))]

mod support;

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use foreman_webhook::native::otel::Otel;
use foreman_webhook::native::{OutcomeKind, StaticResolver};
use foreman_webhook::{Dispatcher, Event, Secret, Timestamp};
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use support::{closed_port, outcomes, Receiver, Reply};

const SECRET: &str = "hunter2-super-secret-key";
const STD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Sdk {
    spans: InMemorySpanExporter,
    tracer: SdkTracerProvider,
    metrics: InMemoryMetricExporter,
    meter: SdkMeterProvider,
}

fn sdk() -> Sdk {
    let spans = InMemorySpanExporter::default();
    let tracer = SdkTracerProvider::builder()
        .with_simple_exporter(spans.clone())
        .build();
    let metrics = InMemoryMetricExporter::default();
    let meter = SdkMeterProvider::builder()
        .with_reader(PeriodicReader::builder(metrics.clone()).build())
        .build();
    Sdk {
        spans,
        tracer,
        metrics,
        meter,
    }
}

fn attr<'a>(s: &'a SpanData, key: &str) -> Option<&'a Value> {
    s.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| &kv.value)
}

fn int(s: &SpanData, key: &str) -> Option<i64> {
    match attr(s, key) {
        Some(Value::I64(v)) => Some(*v),
        _ => None,
    }
}

fn text(s: &SpanData, key: &str) -> Option<String> {
    attr(s, key).map(|v| v.as_str().into_owned())
}

/// One metric point: name, sorted labels, value (sum, gauge value or histogram count).
type Points = Vec<(String, BTreeMap<String, String>, f64)>;

fn points(sdk: &Sdk) -> Points {
    sdk.meter.force_flush().unwrap();
    let all = sdk.metrics.get_finished_metrics().unwrap();
    let last = all.last().expect("one export");
    let labels = |it: &mut dyn Iterator<Item = &KeyValue>| {
        it.map(|kv| (kv.key.to_string(), kv.value.as_str().into_owned()))
            .collect::<BTreeMap<_, _>>()
    };
    let mut out = Vec::new();
    for scope in last.scope_metrics() {
        for m in scope.metrics() {
            let name = m.name().to_owned();
            match m.data() {
                AggregatedMetrics::U64(MetricData::Sum(s)) => {
                    for p in s.data_points() {
                        out.push((name.clone(), labels(&mut p.attributes()), p.value() as f64));
                    }
                }
                AggregatedMetrics::U64(MetricData::Gauge(g)) => {
                    for p in g.data_points() {
                        out.push((name.clone(), labels(&mut p.attributes()), p.value() as f64));
                    }
                }
                AggregatedMetrics::F64(MetricData::Gauge(g)) => {
                    for p in g.data_points() {
                        out.push((name.clone(), labels(&mut p.attributes()), p.value()));
                    }
                }
                AggregatedMetrics::F64(MetricData::Histogram(h)) => {
                    for p in h.data_points() {
                        out.push((name.clone(), labels(&mut p.attributes()), p.count() as f64));
                    }
                }
                other => panic!("unexpected metric {name}: {other:?}"),
            }
        }
    }
    out
}

/// The sum of the points of `name` whose labels include every pair in `with`.
fn total(points: &Points, name: &str, with: &[(&str, &str)]) -> f64 {
    points
        .iter()
        .filter(|(n, l, _)| {
            n == name
                && with
                    .iter()
                    .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

#[test]
fn spans_and_metrics_for_delivered_retried_and_exhausted_events() {
    let sdk = sdk();
    let otel = Otel::new(&sdk.tracer, &sdk.meter).propagate(true);
    // /ok answers 200; /retry answers 503 once, then 200.
    let rx = Receiver::start(|n, hit| match hit.path.as_str() {
        "/retry" if n == 0 || n == 1 => Reply::status(503),
        _ => Reply::status(200),
    });
    let (cb, out) = outcomes();
    let secret = Secret::new(SECRET).unwrap();
    let std_secret = Secret::from_standard(STD_SECRET).unwrap();
    let d = Dispatcher::builder()
        .secret(secret)
        .standard_webhooks(std::slice::from_ref(&std_secret))
        .allow_cidr("127.0.0.1/32")
        .base_delay(Duration::from_millis(10))
        .max_retries(1)
        .max_concurrency(1)
        .on_outcome(cb)
        .otel(otel)
        .build()
        .unwrap();
    let caller = sdk.tracer.tracer("app");
    let dead_port = closed_port();
    let ok_url = format!(
        "http://alice:pa55word@127.0.0.1:{}/ok?token=tok-abc&x=1",
        rx.port()
    );
    let caller_cx = caller.in_span("caller", |cx| {
        d.fire(
            &ok_url,
            &Event::new("job-ok", "succeeded", Timestamp::UNIX_EPOCH),
        );
        cx.span().span_context().clone()
    });
    // Sequential, so the receiver's counter n is per path order: fire /retry after /ok.
    let first = out.next(10);
    assert!(matches!(first.kind, OutcomeKind::Delivered { status: 200 }));
    d.fire(
        &rx.url("/retry"),
        &Event::new("job-retry", "failed", Timestamp::UNIX_EPOCH),
    );
    let second = out.next(10);
    assert!(matches!(
        second.kind,
        OutcomeKind::Delivered { status: 200 }
    ));
    assert_eq!(second.attempts, 2);
    d.fire(
        &format!("http://127.0.0.1:{dead_port}/gone"),
        &Event::new("job-dead", "failed", Timestamp::UNIX_EPOCH),
    );
    let third = out.next(10);
    assert_eq!(third.kind, OutcomeKind::Exhausted);
    let _ = d.shutdown_blocking(Duration::from_secs(5));

    let spans = sdk.spans.get_finished_spans().unwrap();
    let deliveries: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.name == "webhook deliver")
        .collect();
    assert_eq!(deliveries.len(), 3, "{spans:#?}");
    let attempts_of = |parent: &SpanData| -> Vec<&SpanData> {
        let mut v: Vec<&SpanData> = spans
            .iter()
            .filter(|s| s.parent_span_id == parent.span_context.span_id())
            .collect();
        v.sort_by_key(|s| s.start_time);
        v
    };
    let delivery = |job_url_part: &str| -> &SpanData {
        deliveries
            .iter()
            .find(|s| text(s, "url.full").unwrap().contains(job_url_part))
            .unwrap()
    };

    // Delivered at once: linked to the caller's span, one CLIENT child.
    let ok = delivery("/ok");
    assert_eq!(ok.span_kind, SpanKind::Internal);
    assert_eq!(ok.parent_span_id, SpanId::INVALID, "a new root");
    let links: Vec<_> = ok.links.iter().collect();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].span_context, caller_cx);
    assert_eq!(
        text(ok, "url.full").unwrap(),
        format!("http://REDACTED:REDACTED@127.0.0.1:{}/ok", rx.port())
    );
    assert_eq!(text(ok, "server.address").unwrap(), "127.0.0.1");
    assert_eq!(int(ok, "server.port"), Some(i64::from(rx.port())));
    assert_eq!(text(ok, "webhook.outcome").unwrap(), "delivered");
    assert_eq!(int(ok, "webhook.attempts"), Some(1));
    assert_eq!(text(ok, "webhook.id"), first.webhook_id);
    assert_eq!(int(ok, "webhook.delivery_id"), Some(first.id.get() as i64));
    let ok_attempts = attempts_of(ok);
    assert_eq!(ok_attempts.len(), 1);
    let a = ok_attempts[0];
    assert_eq!(
        (a.name.as_ref(), a.span_kind.clone()),
        ("POST", SpanKind::Client)
    );
    assert_eq!(
        a.span_context.trace_id(),
        ok.span_context.trace_id(),
        "same trace"
    );
    assert_eq!(text(a, "http.request.method").unwrap(), "POST");
    assert_eq!(int(a, "http.response.status_code"), Some(200));
    assert_eq!(int(a, "server.port"), Some(i64::from(rx.port())));
    assert_eq!(text(a, "url.full"), text(ok, "url.full"));
    assert_eq!(attr(a, "error.type"), None);
    assert_eq!(attr(a, "http.request.resend_count"), None);
    assert_eq!(a.status, Status::Unset);
    // A local child of the delivery span, timed by the dispatcher's own clock readings
    // (the outcome's timings), inside the delivery span.
    assert!(!a.parent_span_is_remote);
    assert_eq!(a.start_time, first.timings[0].started);
    assert_eq!(
        a.end_time,
        first.timings[0].started + first.timings[0].duration
    );
    assert!(ok.start_time <= a.start_time && a.end_time <= ok.end_time);
    // The receiver saw the attempt span as its parent (W3C traceparent).
    let hits = rx.hits();
    let ok_hit = hits.iter().find(|h| h.path == "/ok").unwrap();
    assert_eq!(
        ok_hit.header("traceparent").unwrap(),
        format!(
            "00-{:032x}-{:016x}-01",
            a.span_context.trace_id(),
            a.span_context.span_id()
        )
    );

    // Retried: 503 then 200, the second attempt with resend_count 1.
    let retry = delivery("/retry");
    assert_eq!(retry.links.iter().count(), 0, "fired outside any span");
    assert_eq!(text(retry, "webhook.outcome").unwrap(), "delivered");
    assert_eq!(int(retry, "webhook.attempts"), Some(2));
    let r = attempts_of(retry);
    assert_eq!(r.len(), 2);
    assert_eq!(int(r[0], "http.response.status_code"), Some(503));
    assert_eq!(text(r[0], "error.type").unwrap(), "503");
    assert!(matches!(r[0].status, Status::Error { .. }));
    assert_eq!(attr(r[0], "http.request.resend_count"), None);
    assert_eq!(int(r[1], "http.response.status_code"), Some(200));
    assert_eq!(int(r[1], "http.request.resend_count"), Some(1));
    for (span, timing) in r.iter().zip(&second.timings) {
        assert!(!span.parent_span_is_remote);
        assert_eq!(span.start_time, timing.started);
        assert_eq!(span.end_time, timing.started + timing.duration);
        assert!(retry.start_time <= span.start_time && span.end_time <= retry.end_time);
    }
    let retry_hits: Vec<_> = hits.iter().filter(|h| h.path == "/retry").collect();
    assert_eq!(retry_hits.len(), 2);
    assert_ne!(
        retry_hits[0].header("traceparent"),
        retry_hits[1].header("traceparent"),
        "each attempt its own parent span"
    );

    // Exhausted: two transport errors, the delivery span an error.
    let dead = delivery("/gone");
    assert_eq!(text(dead, "webhook.outcome").unwrap(), "exhausted");
    assert!(matches!(dead.status, Status::Error { .. }));
    let x = attempts_of(dead);
    assert_eq!(x.len(), 2);
    for (i, s) in x.iter().enumerate() {
        assert_eq!(text(s, "error.type").unwrap(), "transport");
        assert_eq!(attr(s, "http.response.status_code"), None);
        assert_eq!(int(s, "server.port"), Some(i64::from(dead_port)));
        assert_eq!(
            int(s, "http.request.resend_count"),
            (i > 0).then_some(i as i64)
        );
    }
    assert_eq!(
        spans.len(),
        3 + 1 + 2 + 2 + 1,
        "deliveries, attempts, caller"
    );

    // Metrics after the mixed run.
    let p = points(&sdk);
    assert_eq!(
        total(&p, "webhook.deliveries", &[("outcome", "delivered")]),
        2.0
    );
    assert_eq!(
        total(&p, "webhook.deliveries", &[("outcome", "exhausted")]),
        1.0
    );
    assert_eq!(total(&p, "webhook.deliveries", &[]), 3.0);
    assert_eq!(
        total(&p, "webhook.attempts", &[("status_class", "2xx")]),
        2.0
    );
    assert_eq!(
        total(&p, "webhook.attempts", &[("status_class", "5xx")]),
        1.0
    );
    assert_eq!(
        total(&p, "webhook.attempts", &[("status_class", "error")]),
        2.0
    );
    assert_eq!(total(&p, "webhook.retries", &[]), 2.0);
    assert_eq!(total(&p, "http.client.request.duration", &[]), 5.0);
    let port = rx.port().to_string();
    assert_eq!(
        total(
            &p,
            "http.client.request.duration",
            &[
                ("server.port", port.as_str()),
                ("http.response.status_code", "200"),
                ("http.request.method", "POST")
            ]
        ),
        2.0
    );
    assert_eq!(
        total(
            &p,
            "http.client.request.duration",
            &[("error.type", "transport")]
        ),
        2.0
    );
    assert_eq!(total(&p, "webhook.pending", &[]), 0.0);
    assert_eq!(total(&p, "webhook.in_flight", &[]), 0.0);

    // No secret, signature, credential or query value anywhere.
    let mut everything = String::new();
    for s in &spans {
        for kv in &s.attributes {
            everything.push_str(&format!("{}={}\n", kv.key, kv.value));
        }
    }
    for (n, l, _) in &p {
        everything.push_str(&format!("{n} {l:?}\n"));
    }
    let mut forbidden = vec![
        SECRET.to_owned(),
        STD_SECRET.trim_start_matches("whsec_").to_owned(),
        "pa55word".to_owned(),
        "alice".to_owned(),
        "tok-abc".to_owned(),
    ];
    for h in &hits {
        for name in ["x-foreman-signature", "webhook-signature"] {
            forbidden.push(h.header(name).unwrap().to_owned());
        }
    }
    for f in forbidden {
        assert!(!everything.contains(&f), "{f:?} leaked:\n{everything}");
    }
}

/// The counters are added up in the dispatcher and handed to the SDK when a reader
/// collects: each collection sees every outcome and attempt counted so far, two
/// dispatchers with their own `Otel` on one meter provider add up, and what was counted
/// after the last collection is not lost when the dispatcher and its `Otel` are dropped.
#[test]
fn counters_add_up_across_collections_and_dispatchers() {
    let sdk = sdk();
    let rx = Receiver::start(|_, _| Reply::status(200));
    let dispatcher = |otel: Otel| {
        let (cb, out) = outcomes();
        let d = Dispatcher::builder()
            .secret(Secret::new(SECRET).unwrap())
            .allow_cidr("127.0.0.1/32")
            .on_outcome(cb)
            .otel(otel)
            .build()
            .unwrap();
        (d, out)
    };
    let fire = |d: &Dispatcher, out: &support::Outcomes, n: usize| {
        for i in 0..n {
            d.fire(
                &rx.url("/c"),
                &Event::new(format!("job-{i}"), "succeeded", Timestamp::UNIX_EPOCH),
            );
        }
        for o in out.take(n, 10) {
            assert!(matches!(o.kind, OutcomeKind::Delivered { status: 200 }));
        }
    };
    let delivered = |p: &Points| total(p, "webhook.deliveries", &[("outcome", "delivered")]);
    let ok_attempts = |p: &Points| total(p, "webhook.attempts", &[("status_class", "2xx")]);
    let (a, a_out) = dispatcher(Otel::new(&sdk.tracer, &sdk.meter));
    fire(&a, &a_out, 3);
    let p = points(&sdk);
    assert_eq!((delivered(&p), ok_attempts(&p)), (3.0, 3.0));
    let (b, b_out) = dispatcher(Otel::new(&sdk.tracer, &sdk.meter));
    fire(&b, &b_out, 2);
    fire(&a, &a_out, 1);
    let p = points(&sdk);
    assert_eq!((delivered(&p), ok_attempts(&p)), (6.0, 6.0));
    // Counted after the last collection, then the dispatchers (and their `Otel`s) go.
    fire(&a, &a_out, 4);
    fire(&b, &b_out, 5);
    let _ = a.shutdown_blocking(Duration::from_secs(5));
    let _ = b.shutdown_blocking(Duration::from_secs(5));
    drop((a, b));
    let p = points(&sdk);
    assert_eq!((delivered(&p), ok_attempts(&p)), (15.0, 15.0));
    assert_eq!(total(&p, "http.client.request.duration", &[]), 15.0);
    assert_eq!(
        total(
            &p,
            "webhook.deliveries",
            &[("server.address", "127.0.0.1"), ("outcome", "delivered")]
        ),
        15.0
    );
    assert!(
        p.iter()
            .filter(|(n, _, _)| n == "webhook.deliveries" || n == "webhook.attempts")
            .all(|(_, l, _)| !l.contains_key("server.port") && l.len() == 2),
        "counters keep their labels (address + outcome / status class): {p:?}"
    );
}

#[test]
fn host_labels_stay_bounded_over_10000_destinations() {
    const HOSTS: usize = 10_000;
    const LIMIT: usize = 20;
    let sdk = sdk();
    let otel = Otel::new(&sdk.tracer, &sdk.meter).host_label_limit(LIMIT);
    // `Connection: close`, so 10,000 destinations do not leave 10,000 pooled sockets open.
    let rx = Receiver::start(|_, _| Reply::status(204).header("connection", "close"));
    let mut resolver = StaticResolver::new();
    let names: Vec<String> = (0..HOSTS).map(|i| format!("h{i}.example.test")).collect();
    for n in &names {
        resolver = resolver.with(n, [IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    }
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .resolver(resolver)
        .allow_cidr("127.0.0.1/32")
        .max_pending(HOSTS)
        .max_concurrency(32)
        .max_retries(0)
        .on_outcome(cb)
        .otel(otel)
        .build()
        .unwrap();
    for n in &names {
        d.fire(
            &format!("http://{n}:{}/h", rx.port()),
            &Event::new("job", "done", Timestamp::UNIX_EPOCH),
        );
    }
    let got = out.take(HOSTS, 120);
    let not_delivered: Vec<_> = got
        .iter()
        .filter(|o| !matches!(o.kind, OutcomeKind::Delivered { status: 204 }))
        .take(3)
        .collect();
    assert!(not_delivered.is_empty(), "{not_delivered:#?}");
    let _ = d.shutdown_blocking(Duration::from_secs(5));
    assert_eq!(rx.hits().len(), HOSTS);

    let p = points(&sdk);
    for name in [
        "http.client.request.duration",
        "webhook.deliveries",
        "webhook.attempts",
    ] {
        let series: Vec<_> = p.iter().filter(|(n, _, _)| n == name).collect();
        let hosts: HashSet<&str> = series
            .iter()
            .filter_map(|(_, l, _)| l.get("server.address").map(String::as_str))
            .collect();
        assert!(hosts.contains("_other"), "{name}: {hosts:?}");
        assert_eq!(hosts.len(), LIMIT + 1, "{name}: {hosts:?}");
        assert!(series.len() <= LIMIT + 1, "{name}: {} series", series.len());
        assert!(
            series
                .iter()
                .all(|(_, l, _)| !l.contains_key("otel.metric.overflow")),
            "{name} hit the SDK's overflow"
        );
        let sum: f64 = series.iter().map(|(_, _, v)| v).sum();
        assert_eq!(sum, HOSTS as f64, "{name}: every attempt counted");
    }
    assert_eq!(
        total(&p, "webhook.deliveries", &[("server.address", "_other")]),
        (HOSTS - LIMIT) as f64
    );
}

#[test]
fn circuit_breaker_transitions_are_counted_per_destination() {
    use foreman_webhook::native::CircuitBreaker;
    let sdk = sdk();
    let otel = Otel::new(&sdk.tracer, &sdk.meter);
    // Fails 3 times (the trip), then answers 200 (the probe closes the circuit).
    let rx = Receiver::start(|n, _| Reply::status(if n < 3 { 503 } else { 200 }));
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .base_delay(Duration::from_millis(10))
        .max_concurrency(1)
        .circuit_breaker(
            CircuitBreaker::new()
                .consecutive_failures(3)
                .open_for(Duration::from_millis(100)),
        )
        .on_outcome(cb)
        .otel(otel)
        .build()
        .unwrap();
    d.fire(
        &rx.url("/c"),
        &Event::new("job-c", "running", Timestamp::UNIX_EPOCH),
    );
    let o = out.next(10);
    assert!(matches!(o.kind, OutcomeKind::Delivered { status: 200 }));
    d.shutdown_blocking(Duration::from_secs(5));
    let p = points(&sdk);
    let addr = ("server.address", "127.0.0.1");
    for (state, n) in [
        ("opened", 1.0),
        ("half_open", 1.0),
        ("closed", 1.0),
        ("reopened", 0.0),
    ] {
        assert_eq!(
            total(&p, "webhook.circuit.transitions", &[("state", state), addr]),
            n,
            "{state}"
        );
    }
}

/// `Otel::metrics_only`: the same metrics, no span anywhere (the SDK's tracer provider,
/// also current in the caller, records only the caller's own span), and no
/// `traceparent` to the receiver even with `propagate(true)`.
#[test]
fn metrics_only_records_metrics_and_no_spans() {
    let sdk = sdk();
    let rx = Receiver::start(|n, _| Reply::status(if n == 0 { 503 } else { 200 }));
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .secret(Secret::new(SECRET).unwrap())
        .allow_cidr("127.0.0.1/32")
        .base_delay(Duration::from_millis(10))
        .on_outcome(cb)
        .otel(Otel::metrics_only(&sdk.meter).propagate(true))
        .build()
        .unwrap();
    sdk.tracer.tracer("app").in_span("caller", |_| {
        d.fire(
            &rx.url("/m"),
            &Event::new("job-m", "succeeded", Timestamp::UNIX_EPOCH),
        );
    });
    let o = out.next(10);
    assert!(matches!(o.kind, OutcomeKind::Delivered { status: 200 }));
    let p = points(&sdk);
    assert_eq!(
        total(&p, "webhook.deliveries", &[("outcome", "delivered")]),
        1.0
    );
    assert_eq!(total(&p, "http.client.request.duration", &[]), 2.0);
    assert_eq!(
        total(&p, "webhook.attempts", &[("status_class", "5xx")]),
        1.0
    );
    assert_eq!(total(&p, "webhook.retries", &[]), 1.0);
    let _ = d.shutdown_blocking(Duration::from_secs(5));
    let spans = sdk.spans.get_finished_spans().unwrap();
    assert_eq!(
        spans.iter().map(|s| s.name.as_ref()).collect::<Vec<_>>(),
        ["caller"]
    );
    let hits = rx.hits();
    assert_eq!(hits.len(), 2);
    assert!(hits.iter().all(|h| h.header("traceparent").is_none()));
}
