//! `relay --otlp-endpoint`: the built binary exports its spans and metrics over OTLP/HTTP
//! (protobuf) to a collector stand-in on 127.0.0.1 (the test's HTTP receiver), decoded
//! here with the OpenTelemetry protocol's own message types.
#![cfg(all(feature = "otlp", feature = "sqlite", unix))]

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use support::{Receiver, Reply, TempDir};

const BIN: &str = env!("CARGO_BIN_EXE_foreman-webhook");
const SECRET: &str = "cli-otlp-secret";

fn attr(attrs: &[KeyValue], key: &str) -> Option<Value> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.clone())
}

#[test]
fn relay_exports_spans_and_metrics_over_otlp_http() {
    let dir = TempDir::new("cli-otlp");
    let store = format!("sqlite:{}", dir.db().display());
    let hook = Receiver::start(|n, _| Reply::status(if n == 0 { 500 } else { 200 }));
    let collector = Receiver::always(200);

    store_one(
        &store,
        &hook.url("/hook"),
        br#"{"job_id":"job-otlp","state":"failed"}"#,
    );

    let relay = Command::new(BIN)
        .args([
            "relay",
            "--store",
            &store,
            "--secret",
            SECRET,
            "--allow-private",
            "--base-delay-ms",
            "20",
            "--poll-ms",
            "50",
            "--quiet",
            "--otlp-endpoint",
            &format!("http://127.0.0.1:{}", collector.port()),
            "--otlp-interval-ms",
            "200",
        ])
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !status_delivered_n(&store, 1) {
        assert!(Instant::now() < deadline, "relay delivered nothing");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Past a few export intervals, so a periodic export (with the queue gauges, which
    // only a live dispatcher reports) happens before the final one at shutdown.
    std::thread::sleep(Duration::from_millis(800));
    let _ = Command::new("kill")
        .args(["-TERM", &relay.id().to_string()])
        .status();
    let out = relay.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let hits = collector.hits();
    let mut spans: Vec<Span> = Vec::new();
    let mut metric_names = Vec::new();
    for h in &hits {
        assert_eq!(h.header("content-type"), Some("application/x-protobuf"));
        match h.path.as_str() {
            "/v1/traces" => {
                let req = ExportTraceServiceRequest::decode(h.body.as_ref()).unwrap();
                for rs in req.resource_spans {
                    let svc = rs
                        .resource
                        .as_ref()
                        .map(|r| r.attributes.clone())
                        .unwrap_or_default();
                    assert_eq!(
                        attr(&svc, "service.name"),
                        Some(Value::StringValue("foreman-webhook-relay".into()))
                    );
                    for ss in rs.scope_spans {
                        spans.extend(ss.spans);
                    }
                }
            }
            "/v1/metrics" => {
                let req = ExportMetricsServiceRequest::decode(h.body.as_ref()).unwrap();
                for rm in req.resource_metrics {
                    for sm in rm.scope_metrics {
                        metric_names.extend(sm.metrics.into_iter().map(|m| m.name));
                    }
                }
            }
            other => panic!("unexpected OTLP path {other}"),
        }
    }
    let delivery: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "webhook deliver")
        .collect();
    assert_eq!(delivery.len(), 1, "{spans:#?}");
    let attempts: Vec<&Span> = spans.iter().filter(|s| s.name == "POST").collect();
    assert_eq!(attempts.len(), 2);
    for a in &attempts {
        assert_eq!(a.parent_span_id, delivery[0].span_id);
        assert_eq!(a.trace_id, delivery[0].trace_id);
        assert_eq!(a.kind, 3, "SPAN_KIND_CLIENT");
    }
    let codes: Vec<Option<Value>> = attempts
        .iter()
        .map(|a| attr(&a.attributes, "http.response.status_code"))
        .collect();
    assert!(codes.contains(&Some(Value::IntValue(500))));
    assert!(codes.contains(&Some(Value::IntValue(200))));
    assert_eq!(
        attr(&delivery[0].attributes, "webhook.outcome"),
        Some(Value::StringValue("delivered".into()))
    );
    for name in [
        "http.client.request.duration",
        "webhook.deliveries",
        "webhook.attempts",
        "webhook.pending",
    ] {
        assert!(
            metric_names.iter().any(|n| n == name),
            "{name} not in {metric_names:?}"
        );
    }
    let everything: Vec<u8> = hits.iter().flat_map(|h| h.body.to_vec()).collect();
    let text = String::from_utf8_lossy(&everything);
    assert!(!text.contains(SECRET));
    for h in hook.hits() {
        let sig = h.header("x-foreman-signature").unwrap();
        assert!(!text.contains(sig.trim_start_matches("sha256=")));
    }
}

/// `--otlp-endpoint` and `--metrics-addr` together: one meter provider, two readers, so
/// the scrape and the OTLP export both carry the delivery.
#[cfg(feature = "prometheus")]
#[test]
fn relay_exports_over_otlp_and_serves_prometheus_together() {
    use std::io::Read;

    fn scrape(port: u16) -> Option<String> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut raw = String::new();
        s.read_to_string(&mut raw).ok()?;
        let (head, body) = raw.split_once("\r\n\r\n")?;
        head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
    }

    let dir = TempDir::new("cli-otlp-prom");
    let store = format!("sqlite:{}", dir.db().display());
    let hook = Receiver::always(200);
    let collector = Receiver::always(200);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    store_one(
        &store,
        &hook.url("/hook"),
        br#"{"job_id":"job-both","state":"succeeded"}"#,
    );

    let relay = Command::new(BIN)
        .args([
            "relay",
            "--store",
            &store,
            "--secret",
            SECRET,
            "--allow-private",
            "--poll-ms",
            "50",
            "--quiet",
            "--metrics-addr",
            &format!("127.0.0.1:{port}"),
            "--otlp-endpoint",
            &format!("http://127.0.0.1:{}", collector.port()),
            "--otlp-interval-ms",
            "200",
        ])
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let scraped = loop {
        assert!(Instant::now() < deadline, "no delivery in the scrape");
        if let Some(text) = scrape(port) {
            if text.lines().any(|l| {
                l.starts_with("webhook_deliveries")
                    && l.contains("outcome=\"delivered\"")
                    && l.ends_with(" 1")
            }) {
                break text;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(scraped.contains("http_client_request_duration_seconds_count"));
    std::thread::sleep(Duration::from_millis(600));
    let _ = Command::new("kill")
        .args(["-TERM", &relay.id().to_string()])
        .status();
    let out = relay.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut delivered_points = 0i64;
    let mut spans = 0;
    for h in collector.hits() {
        match h.path.as_str() {
            "/v1/metrics" => {
                let req = ExportMetricsServiceRequest::decode(h.body.as_ref()).unwrap();
                for rm in req.resource_metrics {
                    for sm in rm.scope_metrics {
                        for m in sm
                            .metrics
                            .into_iter()
                            .filter(|m| m.name == "webhook.deliveries")
                        {
                            use opentelemetry_proto::tonic::metrics::v1::metric::Data;
                            use opentelemetry_proto::tonic::metrics::v1::number_data_point::Value as N;
                            if let Some(Data::Sum(sum)) = m.data {
                                for p in sum.data_points {
                                    if let Some(N::AsInt(v)) = p.value {
                                        delivered_points = delivered_points.max(v);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            "/v1/traces" => {
                let req = ExportTraceServiceRequest::decode(h.body.as_ref()).unwrap();
                spans += req
                    .resource_spans
                    .iter()
                    .flat_map(|rs| &rs.scope_spans)
                    .map(|ss| ss.spans.len())
                    .sum::<usize>();
            }
            other => panic!("unexpected OTLP path {other}"),
        }
    }
    assert_eq!(delivered_points, 1, "webhook.deliveries over OTLP");
    assert_eq!(spans, 2, "one delivery span, one attempt span");
}

/// Stores one event for `url` in `store` with `send --store` (the relay delivers it).
fn store_one(store: &str, url: &str, event: &[u8]) {
    let mut send = Command::new(BIN)
        .args(["send", "--store", store, "--url", url, "--secret", SECRET])
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    send.stdin.take().unwrap().write_all(event).unwrap();
    assert!(send.wait().unwrap().success());
}

/// The trace context stored with a durable event (migration v4) continues the caller's
/// trace in other processes: an event fired inside a span by a store-only dispatcher is
/// attempted by relay 1 (503, then relay 1 is stopped with the retry pending) and
/// delivered by relay 2. Every attempt span, in both relays, is in the caller's trace, and
/// relay 2's delivery span is a child of the caller's span. An event fired outside any
/// span stores no context (NULL) and gets a trace of its own.
#[test]
fn stored_trace_context_continues_the_callers_trace_in_other_relays() {
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
        TracerProvider,
    };
    use opentelemetry::Context;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use sqlx::Connection;

    let dir = TempDir::new("cli-otlp-trace");
    let db = dir.db();
    let store = format!("sqlite:{}", db.display());
    // The traced event fails its first attempt; everything else is accepted.
    let traced_hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let t = traced_hits.clone();
    let hook = Receiver::start(move |_, hit| {
        let traced = hit.body.windows(9).any(|w| w == b"job-trace");
        if traced && t.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            Reply::status(503)
        } else {
            Reply::status(200)
        }
    });
    let collector = Receiver::always(200);

    // The caller: a span in a trace that arrived with a tracestate (a remote parent).
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer("caller");
    let upstream = SpanContext::new(
        TraceId::from_hex("0af7651916cd43dd8448eb211c80319c").unwrap(),
        SpanId::from_hex("b7ad6b7169203331").unwrap(),
        TraceFlags::SAMPLED,
        true,
        "congo=t61rcWkgMzE".parse::<TraceState>().unwrap(),
    );
    let caller = tracer.start_with_context(
        "job finished",
        &Context::new().with_remote_span_context(upstream),
    );
    let caller_cx = Context::new().with_span(caller);
    let caller_sc = caller_cx.span().span_context().clone();
    // The caller's traceparent as the SDK's W3C propagator writes it (an implementation
    // independent of the one that stores it).
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&caller_cx, &mut carrier);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dispatcher = foreman_webhook::Dispatcher::builder()
        .outbox_sqlite(&db)
        .deliver(false)
        .allow_cidr("127.0.0.1/32")
        .build()
        .unwrap();
    {
        let _in_span = caller_cx.clone().attach();
        dispatcher.fire(
            &hook.url("/hook"),
            &foreman_webhook::Event::new(
                "job-trace",
                "succeeded",
                foreman_webhook::Timestamp::from_unix_seconds(1_764_338_400).unwrap(),
            ),
        );
    }
    rt.block_on(dispatcher.fire_durable(
        &hook.url("/hook"),
        &foreman_webhook::Event::new(
            "job-plain",
            "succeeded",
            foreman_webhook::Timestamp::from_unix_seconds(1_764_338_400).unwrap(),
        ),
    ))
    .unwrap();
    rt.block_on(dispatcher.flush()).unwrap();
    dispatcher.shutdown_blocking(Duration::from_secs(5));
    drop(dispatcher);

    let rows: Vec<(String, Option<String>, Option<String>)> = rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query_as("SELECT job_id, traceparent, tracestate FROM events ORDER BY job_id")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    });
    assert_eq!(
        rows,
        [
            ("job-plain".to_owned(), None, None),
            (
                "job-trace".to_owned(),
                carrier.get("traceparent").cloned(),
                Some("congo=t61rcWkgMzE".to_owned())
            ),
        ]
    );

    let relay = |base_delay_ms: &str| {
        Command::new(BIN)
            .args([
                "relay",
                "--store",
                &store,
                "--secret",
                SECRET,
                "--allow-private",
                "--base-delay-ms",
                base_delay_ms,
                "--poll-ms",
                "50",
                "--quiet",
                "--otlp-endpoint",
                &format!("http://127.0.0.1:{}", collector.port()),
                "--otlp-interval-ms",
                "200",
            ])
            .env_remove("FOREMAN_WEBHOOK_SECRET")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let stop = |child: std::process::Child| {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // Relay 1: the traced event's first attempt (503; its retry waits 5 s in the store,
    // time enough to stop relay 1 first even on a loaded machine) and the plain event;
    // then it stops.
    let first = relay("5000");
    let deadline = Instant::now() + Duration::from_secs(30);
    while hook.hits().len() < 2 {
        assert!(Instant::now() < deadline, "relay 1 attempted too little");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop(first);
    assert_eq!(
        hook.hits().len(),
        2,
        "the retry is not due before relay 1 stops"
    );
    // Relay 2: a new process claims the retry from the store.
    let second = relay("20");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !status_delivered_n(&store, 2) {
        assert!(
            Instant::now() < deadline,
            "relay 2 did not deliver the retry"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    stop(second);

    let spans = exported_spans(&collector.hits());
    let trace_id = caller_sc.trace_id().to_bytes().to_vec();
    let in_trace: Vec<&Span> = spans.iter().filter(|s| s.trace_id == trace_id).collect();
    let attempts: Vec<&Span> = in_trace
        .iter()
        .copied()
        .filter(|s| s.name == "POST")
        .collect();
    let codes: Vec<Option<Value>> = attempts
        .iter()
        .map(|a| attr(&a.attributes, "http.response.status_code"))
        .collect();
    assert_eq!(
        codes,
        [Some(Value::IntValue(503)), Some(Value::IntValue(200))],
        "both relays' attempts are in the caller's trace: {spans:#?}"
    );
    // Relay 2's delivery span (the one that ends delivered) is the caller span's child.
    let delivered: Vec<&Span> = in_trace
        .iter()
        .copied()
        .filter(|s| {
            s.name == "webhook deliver"
                && attr(&s.attributes, "webhook.outcome")
                    == Some(Value::StringValue("delivered".into()))
        })
        .collect();
    assert_eq!(delivered.len(), 1, "{spans:#?}");
    assert_eq!(
        delivered[0].parent_span_id,
        caller_sc.span_id().to_bytes().to_vec()
    );
    assert_eq!(delivered[0].trace_state, "congo=t61rcWkgMzE");
    for a in &attempts {
        assert!(in_trace
            .iter()
            .any(|d| d.name == "webhook deliver" && d.span_id == a.parent_span_id));
    }
    // The plain event: a delivery span of its own trace, with no parent.
    let plain: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "webhook deliver" && s.trace_id != trace_id)
        .collect();
    assert_eq!(plain.len(), 1, "{spans:#?}");
    assert!(plain[0].parent_span_id.is_empty());
}

/// Whether `outbox status` counts `n` delivered.
fn status_delivered_n(store: &str, n: u64) -> bool {
    let out = Command::new(BIN)
        .args(["outbox", "status", "--store", store, "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    v["delivered"] == n
}

/// Every span in the collector's `/v1/traces` requests.
fn exported_spans(hits: &[support::Hit]) -> Vec<Span> {
    hits.iter()
        .filter(|h| h.path == "/v1/traces")
        .flat_map(|h| {
            ExportTraceServiceRequest::decode(h.body.as_ref())
                .unwrap()
                .resource_spans
        })
        .flat_map(|rs| rs.scope_spans)
        .flat_map(|ss| ss.spans)
        .collect()
}

/// `send --store` stores the W3C trace context of `TRACEPARENT` / `TRACESTATE` (a job
/// runner's) with the event, none without it; a malformed `TRACEPARENT` is a usage error
/// that names the variable and stores nothing.
#[test]
fn send_store_keeps_the_trace_context_from_the_environment() {
    use sqlx::Connection;
    let dir = TempDir::new("cli-otlp-env");
    let db = dir.db();
    let store = format!("sqlite:{}", db.display());
    // The example of the W3C Trace Context recommendation.
    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let send = |job: &str, env: &[(&str, &str)]| {
        let mut cmd = Command::new(BIN);
        cmd.args([
            "send",
            "--store",
            &store,
            "--url",
            "http://127.0.0.1:9/hook",
            "--secret",
            SECRET,
        ])
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .env_remove("TRACEPARENT")
        .env_remove("TRACESTATE")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!(r#"{{"job_id":"{job}","state":"succeeded"}}"#).as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(send(
        "job-env",
        &[
            ("TRACEPARENT", PARENT),
            ("TRACESTATE", "rojo=00f067aa0ba902b7")
        ]
    )
    .status
    .success());
    assert!(send("job-none", &[]).status.success());
    let bad = send("job-bad", &[("TRACEPARENT", "00-not-a-trace-01")]);
    assert_eq!(bad.status.code(), Some(2), "a usage error");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("TRACEPARENT"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let rows: Vec<(String, Option<String>, Option<String>)> = rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        sqlx::query_as("SELECT job_id, traceparent, tracestate FROM events ORDER BY job_id")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    });
    assert_eq!(
        rows,
        [
            (
                "job-env".to_owned(),
                Some(PARENT.to_owned()),
                Some("rojo=00f067aa0ba902b7".to_owned())
            ),
            ("job-none".to_owned(), None, None),
        ]
    );
}
