//! Benchmark (not a test): deliveries per second end to end (first `fire` → last 2xx
//! recorded) and `fire()` latency, for the in-memory store, SQLite FULL, SQLite NORMAL and,
//! when `FOREMAN_BENCH_POSTGRES_URL` is set (and feature `postgres` is on), PostgreSQL with
//! one in-process dispatcher. Same receiver (hyper on 127.0.0.1, answers 200) for all rows.
//!
//! ```sh
//! cargo run --release --features sqlite,postgres --example outbox_bench -- 20000
//! ```

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::convert::Infallible;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use foreman_webhook::native::outbox::{SqliteOptions, Synchronous};
    use foreman_webhook::native::{DispatcherBuilder, OutcomeKind};
    use foreman_webhook::{Dispatcher, Event, Secret, Timestamp};
    use http_body_util::{BodyExt, Full};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    fn receiver() -> String {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(l.local_addr().unwrap()).unwrap();
                loop {
                    let Ok((s, _)) = l.accept().await else {
                        continue;
                    };
                    tokio::spawn(async move {
                        let svc =
                            service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                                let _ = req.into_body().collect().await;
                                Ok::<_, Infallible>(hyper::Response::new(Full::new(
                                    Bytes::from_static(b"ok"),
                                )))
                            });
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(s), svc)
                            .await;
                    });
                }
            });
        });
        format!("http://{}/bench", rx.recv().unwrap())
    }

    fn run(
        name: &str,
        n: usize,
        url: &str,
        store: impl FnOnce(DispatcherBuilder) -> DispatcherBuilder,
    ) {
        let delivered = Arc::new(AtomicU64::new(0));
        let d2 = delivered.clone();
        let builder = Dispatcher::builder()
            .secret(Secret::new("bench-secret").unwrap())
            .allow_cidr("127.0.0.1/32")
            .max_pending(n + 1)
            .poll_interval(Duration::from_millis(100))
            .on_outcome(move |o| {
                if matches!(o.kind, OutcomeKind::Delivered { .. }) {
                    d2.fetch_add(1, Ordering::Relaxed);
                }
            });
        let d = store(builder).build().unwrap();
        let events: Vec<Event> = (0..n)
            .map(|i| {
                Event::new(
                    format!("bench-{i}"),
                    "succeeded",
                    Timestamp::from_unix_seconds(1_764_338_400).unwrap(),
                )
            })
            .collect();
        let mut lat = Vec::with_capacity(n);
        let start = Instant::now();
        for e in &events {
            let t = Instant::now();
            d.fire(url, e);
            lat.push(t.elapsed());
        }
        while delivered.load(Ordering::Relaxed) < n as u64 {
            assert!(
                start.elapsed() < Duration::from_secs(600),
                "{name}: stalled"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        let secs = start.elapsed().as_secs_f64();
        lat.sort();
        let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
        println!(
            "| {name} | {n} | {:.0} | {:.2} | {:.2} | {:.2} |",
            n as f64 / secs,
            p(0.5).as_secs_f64() * 1e6,
            p(0.99).as_secs_f64() * 1e6,
            p(1.0).as_secs_f64() * 1e6,
        );
        d.shutdown_blocking(Duration::from_secs(10));
    }

    pub fn main() {
        let n: usize = std::env::args()
            .nth(1)
            .and_then(|a| a.parse().ok())
            .unwrap_or(20_000);
        let url = receiver();
        let dir = std::env::temp_dir().join(format!("foreman-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        println!(
        "| store | events | deliveries/s (fire → 2xx recorded) | fire() p50 µs | p99 µs | max µs |"
    );
        println!("|---|---|---|---|---|---|");
        run("memory", n, &url, |b| b);
        let full = dir.join("full.db");
        run("SQLite FULL", n, &url, |b| b.outbox_sqlite(&full));
        let normal = dir.join("normal.db");
        run("SQLite NORMAL", n, &url, |b| {
            b.outbox_sqlite_with(SqliteOptions::new(&normal).synchronous(Synchronous::Normal))
        });
        #[cfg(feature = "postgres")]
        if let Ok(pg) = std::env::var("FOREMAN_BENCH_POSTGRES_URL") {
            run("PostgreSQL, 1 dispatcher", n, &url, |b| {
                b.outbox_postgres(&pg)
            });
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
