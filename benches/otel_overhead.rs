//! Throughput with OpenTelemetry spans and metrics recorded vs not (issue 18's ≤ 10 %).
//!
//! Run: `cargo bench --features otel --bench otel_overhead` (`QUICK=1` for a short run,
//! `ONLY=off|on|metrics` for one variant alone, e.g. under `perf record`;
//! `EXPORTER=discard|memory|otlp` chooses where the spans go, see below).
//!
//! A lean receiver (hyper, HTTP/1.1 keep-alive, answers 200) runs on its own thread in
//! this process, on 127.0.0.1. Interleaved rounds fire N signed events at concurrency 16
//! into a dispatcher without [`DispatcherBuilder::otel`] (what a build without the
//! feature runs, plus one `None` check per hook) and into one with it, the SDK recording
//! every span and every metric, and one with
//! metrics only (`Otel::metrics_only`, no spans); each round reports delivered events/s and the
//! process CPU time per delivery (all threads, the in-process receiver included: the
//! same work in every variant, so the difference is the telemetry's, and unlike the rate
//! it does not move with the machine's load); the medians are compared.
//!
//! Where the spans go (`EXPORTER`): the SDK's `BatchSpanProcessor` (its default limits)
//! always runs, and hands its batches to
//! - `discard` (default): an exporter that counts the spans and drops them: the cost of
//!   the instrumentation up to the export boundary (what the dispatcher controls);
//! - `memory`: the SDK's `InMemorySpanExporter`, which clones every span into a growing
//!   `Vec` (a test tool; earlier runs used it);
//! - `otlp` (build with `--features otel,otlp`): opentelemetry-otlp's OTLP/HTTP protobuf
//!   exporter posting to `/v1/traces` of the in-process receiver (which reads the body
//!   and answers 200 with an empty body, a valid empty export response): what a relay
//!   with `--otlp-endpoint` also pays to encode and send its spans.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    bench::main();
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(unsafe_code)] // clock_gettime for CPU-time clocks
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod bench {
    use super::common::process_cpu;
    use std::convert::Infallible;
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use foreman_webhook::native::otel::Otel;
    use foreman_webhook::{Dispatcher, Event, Secret, Timestamp};
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Incoming;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;
    use opentelemetry_sdk::error::OTelSdkResult;
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::trace::{
        InMemorySpanExporter, SdkTracerProvider, SpanData, SpanExporter,
    };
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// Counts the spans of each batch and drops them.
    #[derive(Debug, Default, Clone)]
    struct Discard(Arc<AtomicU64>);

    impl SpanExporter for Discard {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
            Ok(())
        }
    }

    /// The tracer provider with the exporter `EXPORTER` names, a function that clears
    /// what the exporter kept, if anything, and the discarding exporter's span count.
    fn tracer_provider(url: &str) -> (SdkTracerProvider, Box<dyn Fn()>, Option<Discard>) {
        let exporter = std::env::var("EXPORTER").unwrap_or_default();
        match exporter.as_str() {
            "memory" => {
                let spans = InMemorySpanExporter::default();
                let tp = SdkTracerProvider::builder()
                    .with_batch_exporter(spans.clone())
                    .build();
                (tp, Box::new(move || spans.reset()), None)
            }
            #[cfg(feature = "otlp")]
            "otlp" => {
                use opentelemetry_otlp::{Protocol, WithExportConfig};
                let _ = url;
                let spans = opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(Protocol::HttpBinary)
                    .with_endpoint(format!("{url}/v1/traces"))
                    .build()
                    .expect("otlp exporter");
                let tp = SdkTracerProvider::builder()
                    .with_batch_exporter(spans)
                    .build();
                (tp, Box::new(|| {}), None)
            }
            "" | "discard" => {
                let _ = url;
                let count = Discard::default();
                let tp = SdkTracerProvider::builder()
                    .with_batch_exporter(count.clone())
                    .build();
                (tp, Box::new(|| {}), Some(count))
            }
            other => panic!("EXPORTER={other}: give discard, memory or otlp (feature otlp)"),
        }
    }

    fn receiver() -> u16 {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                tx.send(listener.local_addr().expect("addr").port())
                    .expect("send");
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(async move {
                        let svc = service_fn(|req: Request<Incoming>| async move {
                            let _ = req.into_body().collect().await;
                            Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
                        });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
            });
        });
        rx.recv().expect("port")
    }

    /// Delivered events/s and process CPU µs per delivery.
    fn round(url: &str, n: usize, otel: Option<Otel>) -> (f64, f64) {
        let (tx, rx) = mpsc::channel();
        let mut b = Dispatcher::builder()
            .secret(Secret::new("bench-secret").expect("secret"))
            .allow_cidr("127.0.0.1/32")
            .max_concurrency(16)
            .max_per_host(16)
            .max_pending(n)
            .on_outcome(move |_| {
                let _ = tx.send(());
            });
        if let Some(o) = otel {
            b = b.otel(o);
        }
        let d = b.build().expect("dispatcher");
        let ev = Event::new("job-bench", "succeeded", Timestamp::UNIX_EPOCH);
        let (t, cpu) = (Instant::now(), process_cpu());
        for _ in 0..n {
            d.fire(url, &ev);
        }
        for _ in 0..n {
            rx.recv_timeout(Duration::from_secs(60)).expect("outcome");
        }
        let rate = n as f64 / t.elapsed().as_secs_f64();
        let cpu = (process_cpu() - cpu).as_secs_f64() * 1e6 / n as f64;
        let _ = d.shutdown_blocking(Duration::from_secs(5));
        (rate, cpu)
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    pub fn main() {
        let quick = std::env::var_os("QUICK").is_some();
        let (rounds, n) = if quick { (3, 3_000) } else { (7, 20_000) };
        let base = format!("http://127.0.0.1:{}", receiver());
        let url = format!("{base}/hook");
        let (tracer, reset, exported) = tracer_provider(&base);
        // The SDK's batch queue drops spans when it is full: say so if it did (a dropped
        // span would make "on" look cheaper than it is).
        let check = |deliveries: usize| {
            if let Some(Discard(count)) = &exported {
                let _ = tracer.force_flush();
                let got = count.load(Ordering::Relaxed);
                println!(
                    "spans exported: {got} of {} (2 per delivery with spans)",
                    2 * deliveries
                );
            }
        };
        println!(
            "span exporter: {}",
            std::env::var("EXPORTER").unwrap_or_else(|_| "discard".into())
        );
        let meter = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(InMemoryMetricExporter::default()).build())
            .build();
        round(&url, n / 10, None); // warm-up
        let (mut off, mut on, mut metrics) = (Vec::new(), Vec::new(), Vec::new());
        let (mut off_cpu, mut on_cpu, mut metrics_cpu) = (Vec::new(), Vec::new(), Vec::new());
        // ONLY=off|on|metrics runs one variant (for a profile of it alone).
        if let Ok(only) = std::env::var("ONLY") {
            for r in 0..rounds {
                let (rate, cpu) = match only.as_str() {
                    "off" => round(&url, n, None),
                    "on" => round(&url, n, Some(Otel::new(&tracer, &meter))),
                    _ => round(&url, n, Some(Otel::metrics_only(&meter))),
                };
                reset();
                println!("round {r}: {only} {rate:.0}/s {cpu:.1} µs CPU");
            }
            check(if only == "on" { rounds * n } else { 0 });
            return;
        }
        for r in 0..rounds {
            let runs = [
                round(&url, n, None),
                round(&url, n, Some(Otel::new(&tracer, &meter))),
                round(&url, n, Some(Otel::metrics_only(&meter))),
            ];
            reset();
            off.push(runs[0].0);
            on.push(runs[1].0);
            metrics.push(runs[2].0);
            off_cpu.push(runs[0].1);
            on_cpu.push(runs[1].1);
            metrics_cpu.push(runs[2].1);
            println!(
                "round {r}: off {:.0}/s {:.1} µs CPU, on {:.0}/s {:.1} µs, metrics only {:.0}/s {:.1} µs",
                runs[0].0, runs[0].1, runs[1].0, runs[1].1, runs[2].0, runs[2].1
            );
        }
        check(rounds * n);
        let (off, on, metrics) = (median(off), median(on), median(metrics));
        println!(
            "median delivered/s: otel off {off:.0}, on {on:.0} ({:+.1} %), metrics only {metrics:.0} ({:+.1} %); {} events, {} rounds, concurrency 16",
            (on / off - 1.0) * 100.0,
            (metrics / off - 1.0) * 100.0,
            n,
            rounds
        );
        let (off_cpu, on_cpu, metrics_cpu) = (median(off_cpu), median(on_cpu), median(metrics_cpu));
        println!(
            "median process CPU per delivery: otel off {off_cpu:.2} µs, on {on_cpu:.2} µs ({:+.1} % CPU, i.e. {:+.1} % throughput when CPU-bound), metrics only {metrics_cpu:.2} µs ({:+.1} % CPU)",
            (on_cpu / off_cpu - 1.0) * 100.0,
            (off_cpu / on_cpu - 1.0) * 100.0,
            (metrics_cpu / off_cpu - 1.0) * 100.0,
        );
    }
}
