//! Throughput with OpenTelemetry spans and metrics recorded vs not (issue 18's ≤ 10 %).
//!
//! Run: `cargo bench --features otel --bench otel_overhead` (`QUICK=1` for a short run).
//!
//! A lean receiver (hyper, HTTP/1.1 keep-alive, answers 200) runs on its own thread in
//! this process, on 127.0.0.1. Interleaved rounds fire N signed events at concurrency 16
//! into a dispatcher without [`DispatcherBuilder::otel`] (what a build without the
//! feature runs, plus one `None` check per hook) and into one with it, the SDK recording
//! every span (batch processor into an in-memory exporter) and every metric, and one with
//! metrics only (a no-op tracer provider); each round reports delivered events/s; the
//! medians are compared.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    bench::main();
}

#[cfg(not(target_arch = "wasm32"))]
mod bench {
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
    use opentelemetry_sdk::metrics::{InMemoryMetricExporter, PeriodicReader, SdkMeterProvider};
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

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

    fn round(url: &str, n: usize, otel: Option<Otel>) -> f64 {
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
        let t = Instant::now();
        for _ in 0..n {
            d.fire(url, &ev);
        }
        for _ in 0..n {
            rx.recv_timeout(Duration::from_secs(60)).expect("outcome");
        }
        let rate = n as f64 / t.elapsed().as_secs_f64();
        let _ = d.shutdown_blocking(Duration::from_secs(5));
        rate
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    pub fn main() {
        let quick = std::env::var_os("QUICK").is_some();
        let (rounds, n) = if quick { (3, 3_000) } else { (7, 20_000) };
        let url = format!("http://127.0.0.1:{}/hook", receiver());
        let spans = InMemorySpanExporter::default();
        let tracer = SdkTracerProvider::builder()
            .with_batch_exporter(spans.clone())
            .build();
        let meter = SdkMeterProvider::builder()
            .with_reader(PeriodicReader::builder(InMemoryMetricExporter::default()).build())
            .build();
        round(&url, n / 10, None); // warm-up
        let noop = opentelemetry::trace::noop::NoopTracerProvider::new();
        let (mut off, mut on, mut metrics) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            off.push(round(&url, n, None));
            on.push(round(&url, n, Some(Otel::new(&tracer, &meter))));
            metrics.push(round(&url, n, Some(Otel::new(&noop, &meter))));
            spans.reset();
            println!(
                "round {r}: off {:.0}/s, on {:.0}/s, metrics only {:.0}/s",
                off[off.len() - 1],
                on[on.len() - 1],
                metrics[metrics.len() - 1]
            );
        }
        let (off, on, metrics) = (median(off), median(on), median(metrics));
        println!(
            "median delivered/s: otel off {off:.0}, on {on:.0} ({:+.1} %), metrics only (no-op tracer) {metrics:.0} ({:+.1} %); {} events, {} rounds, concurrency 16",
            (on / off - 1.0) * 100.0,
            (metrics / off - 1.0) * 100.0,
            n,
            rounds
        );
    }
}
