//! Benchmark (not a test): deliveries per second end to end (first `fire` → last 2xx
//! recorded) and `fire()` latency, for the in-memory store, SQLite FULL, SQLite NORMAL and,
//! when `FOREMAN_BENCH_POSTGRES_URL` is set (and feature `postgres` is on), PostgreSQL with
//! one in-process dispatcher. Every row fires the same 1 KiB events (the Go seed driver's
//! body, `perf/seed/driver.go`) at the same receiver.
//!
//! ```sh
//! # its own receiver (hyper on 127.0.0.1, answers 200):
//! cargo run --release --features sqlite,postgres --example outbox_bench -- 20000
//! # the shared receiver of perf/seed-vs-ours.sh (what perf/outbox-bench.sh does, with the
//! # Go seed and the relays in the same run):
//! FOREMAN_BENCH_RECEIVER=http://127.0.0.1:PORT cargo run ... --example outbox_bench -- 20000
//! # an SQLite outbox with N pending retries (due in an hour), for the RSS row:
//! cargo run ... --example outbox_bench -- --fill PATH 1000000
//! ```

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(not(target_arch = "wasm32"))]
#[path = "../benches/common/mod.rs"]
#[allow(unsafe_code)]
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::convert::Infallible;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use foreman_webhook::native::outbox::{enqueue_sqlite, SqliteOptions, Synchronous};
    use foreman_webhook::native::{DispatcherBuilder, Outbox, OutcomeKind};
    use foreman_webhook::{Dispatcher, Event, RawJson, Secret, Timestamp};
    use http_body_util::{BodyExt, Full};
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use sqlx::Connection;

    /// Our own receiver (when no shared one is given): answers 200 to everything.
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
        format!("http://{}", rx.recv().unwrap())
    }

    /// `GET base + path` on the shared receiver's control endpoints (plain HTTP/1.0).
    fn control(base: &str, path: &str) -> String {
        let addr = base.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("receiver control");
        write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out.split("\r\n\r\n").nth(1).unwrap_or("").trim().to_owned()
    }

    /// The Go seed driver's 1 KiB event (job ids of the same width).
    fn template() -> Event {
        let mut e = Event::new("job-000000", "running", Timestamp::UNIX_EPOCH);
        e.previous_state = "queued".into();
        e.model = "llama-3-8b".into();
        let pad = 1024 - e.to_json().len() - r#"{"log":""}"#.len() + "null".len();
        e.result = Some(RawJson::new(format!(r#"{{"log":"{}"}}"#, "x".repeat(pad))).unwrap());
        assert_eq!(e.to_json().len(), 1024);
        e
    }

    fn run(
        name: &str,
        n: usize,
        base: &str,
        shared: bool,
        store: impl FnOnce(DispatcherBuilder) -> DispatcherBuilder,
    ) {
        let delivered = Arc::new(AtomicU64::new(0));
        let d2 = delivered.clone();
        let builder = Dispatcher::builder()
            .secret(Secret::new("bench-secret").unwrap())
            .allow_cidr("127.0.0.1/32")
            .max_concurrency(64)
            .max_per_host(64)
            // `FOREMAN_BENCH_MAX_PENDING=1000`: `fire()` at the cap (most calls dropped).
            .max_pending(
                std::env::var("FOREMAN_BENCH_MAX_PENDING")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(n + 16),
            )
            .poll_interval(Duration::from_millis(100))
            .on_outcome(move |o| {
                if matches!(o.kind, OutcomeKind::Delivered { .. }) {
                    d2.fetch_add(1, Ordering::Relaxed);
                }
            });
        // `FOREMAN_BENCH_NO_DELIVER=1` (with FIRE_ONLY): store only, no delivering tasks.
        let builder = if std::env::var_os("FOREMAN_BENCH_NO_DELIVER").is_some() {
            builder.deliver(false)
        } else {
            builder
        };
        let d = store(builder).build().unwrap();
        if shared {
            control(base, "/reset?fail=0");
        }
        let url = format!("{base}/hook");
        let mut event = template();
        // Touched now, so the page faults counted below are `fire`'s own.
        let mut lat = vec![Duration::from_nanos(1); n];
        lat.clear();
        // `FOREMAN_BENCH_DIAG=1`: each call also timed in the firing thread's CPU time
        // (a slow call that used little CPU waited for one: preemption, interrupts).
        let mut cpu_lat: Option<Vec<u64>> = std::env::var_os("FOREMAN_BENCH_DIAG").map(|_| {
            let mut v = vec![1u64; n];
            v.clear();
            v
        });
        let t0_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let switches = || {
            std::fs::read_to_string("/proc/thread-self/status")
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains("ctxt_switches"))
                .map(|l| {
                    l.split_whitespace()
                        .last()
                        .unwrap_or("0")
                        .parse::<u64>()
                        .unwrap_or(0)
                })
                .collect::<Vec<_>>()
        };
        // Minor page faults of this (the firing) thread: field 10 of its stat line.
        let minflt = || {
            let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
            let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
            rest.split_whitespace()
                .nth(10 - 3)
                .and_then(|s| s.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let before = switches();
        let faults0 = minflt();
        let start = Instant::now();
        // `FOREMAN_BENCH_RATE=r` (events/s): paced fires (a steady stream below the cap)
        // instead of a burst as fast as the caller can.
        let gap = std::env::var("FOREMAN_BENCH_RATE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .map(|r| Duration::from_secs_f64(1.0 / r));
        for i in 0..n {
            event.job_id = format!("job-{i:06}");
            if let Some(gap) = gap {
                let due = start + gap * i as u32;
                while Instant::now() < due {
                    std::hint::spin_loop();
                }
            }
            let c0 = cpu_lat.as_ref().map(|_| crate::common::thread_cpu_ns());
            let t = Instant::now();
            d.fire(&url, &event);
            lat.push(t.elapsed());
            if let (Some(v), Some(c0)) = (cpu_lat.as_mut(), c0) {
                v.push(crate::common::thread_cpu_ns() - c0);
            }
        }
        if let Some(mut v) = cpu_lat {
            v.sort_unstable();
            let q = |p: f64| v[((v.len() - 1) as f64 * p) as usize] as f64 / 1000.0;
            let mut wall: Vec<u128> = lat.iter().map(Duration::as_nanos).collect();
            wall.sort_unstable();
            let over = lat.iter().filter(|d| d.as_micros() >= 5).count();
            eprintln!(
                "{name}: fire() thread CPU time p50 {:.2} µs p99 {:.2} µs p99.9 {:.2} µs \
                 (wall p99 {:.2} µs; calls ≥ 5 µs wall: {over})",
                q(0.5),
                q(0.99),
                q(0.999),
                wall[(wall.len() - 1) * 99 / 100] as f64 / 1000.0
            );
        }
        let faults = minflt() - faults0;
        let after = switches();
        let delta = |i: usize| after.get(i).unwrap_or(&0) - before.get(i).unwrap_or(&0);
        eprintln!(
            "{name}: firing thread during its {n} fire() calls: {faults} minor page faults \
             ({:.3} per call), {} voluntary and {} involuntary context switches",
            faults as f64 / n as f64,
            delta(0),
            delta(1)
        );
        // `FOREMAN_BENCH_FIRE_ONLY=1`: the `fire()` latencies only (with deliveries
        // running meanwhile), not waiting for every delivery; for p99 over many calls.
        let fire_only = std::env::var_os("FOREMAN_BENCH_FIRE_ONLY").is_some();
        while !fire_only && delivered.load(Ordering::Relaxed) < n as u64 {
            assert!(
                start.elapsed() < Duration::from_secs(600),
                "{name}: stalled"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        let secs = start.elapsed().as_secs_f64();
        let received = if shared {
            // `ok=… last_ns=…`: the receiver's wall clock at its last 2xx, so this is the
            // Go seed driver's measure (first fire → last 2xx received).
            let got = control(base, &format!("/wait?n={n}"));
            let last_ns = got
                .split_whitespace()
                .find_map(|kv| kv.strip_prefix("last_ns="))
                .and_then(|v| v.parse::<u128>().ok())
                .unwrap_or(0);
            let secs = last_ns.saturating_sub(t0_ns) as f64 / 1e9;
            format!(" {:.0} |", n as f64 / secs)
        } else {
            String::new()
        };
        lat.sort();
        let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
        println!(
            "| {name} | {n} | {:.0} | {:.2} | {:.2} | {:.0} |{received}",
            n as f64 / secs,
            p(0.5).as_secs_f64() * 1e6,
            p(0.99).as_secs_f64() * 1e6,
            p(1.0).as_secs_f64() * 1e6,
        );
        d.shutdown_blocking(Duration::from_secs(if fire_only { 1 } else { 10 }));
    }

    /// `--fill PATH N`: N events stored through the transactional enqueue (transactions
    /// of 10,000), then made pending retries due in an hour (attempts = 1), as a failed
    /// first attempt leaves them.
    fn fill(path: &str, n: usize) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            Outbox::open_sqlite(SqliteOptions::new(path).synchronous(Synchronous::Normal))
                .await
                .unwrap();
            let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
                .await
                .unwrap();
            // A small event (the RSS row is about rows not held in memory, not bytes).
            let mut event = Event::new("job-0000000", "running", Timestamp::UNIX_EPOCH);
            let t = Instant::now();
            for chunk in 0..n.div_ceil(10_000) {
                let mut tx = c.begin().await.unwrap();
                for i in chunk * 10_000..((chunk + 1) * 10_000).min(n) {
                    event.job_id = format!("job-{i:07}");
                    enqueue_sqlite(&mut tx, "http://127.0.0.1:9/hook", &event, None)
                        .await
                        .unwrap();
                }
                tx.commit().await.unwrap();
            }
            let due = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64
                + 3_600_000;
            sqlx::query("UPDATE deliveries SET attempts = 1, next_attempt_at = ?1")
                .bind(due)
                .execute(&mut c)
                .await
                .unwrap();
            eprintln!(
                "filled {path}: {n} pending retries in {:.1} s",
                t.elapsed().as_secs_f64()
            );
        });
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        if args.get(1).map(String::as_str) == Some("--fill") {
            return fill(&args[2], args[3].parse().expect("N"));
        }
        let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
        let shared = std::env::var("FOREMAN_BENCH_RECEIVER").ok();
        let base = shared.clone().unwrap_or_else(receiver);
        let shared = shared.is_some();
        let dir = std::env::temp_dir().join(format!("foreman-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        println!(
            "| store | events | deliveries/s (first fire → last 2xx recorded) | fire() p50 µs | p99 µs | max µs |{}",
            if shared {
                " deliveries/s (first fire → last 2xx received) |"
            } else {
                ""
            }
        );
        println!(
            "|---|---|---|---|---|---|{}",
            if shared { "---|" } else { "" }
        );
        // `FOREMAN_BENCH_ROWS=full,normal` runs only those rows (memory, full, normal, pg).
        let rows = std::env::var("FOREMAN_BENCH_ROWS").ok();
        let want = |row: &str| {
            rows.as_deref()
                .is_none_or(|r| r.split(',').any(|x| x == row))
        };
        if want("memory") {
            run("memory", n, &base, shared, |b| b);
        }
        let full = dir.join("full.db");
        if want("full") {
            run("SQLite FULL", n, &base, shared, |b| b.outbox_sqlite(&full));
        }
        let normal = dir.join("normal.db");
        if want("normal") {
            run("SQLite NORMAL", n, &base, shared, |b| {
                b.outbox_sqlite_with(SqliteOptions::new(&normal).synchronous(Synchronous::Normal))
            });
        }
        #[cfg(feature = "postgres")]
        if let (Ok(pg), true) = (std::env::var("FOREMAN_BENCH_POSTGRES_URL"), want("pg")) {
            run("PostgreSQL, 1 dispatcher", n, &base, shared, |b| {
                b.outbox_postgres(&pg)
            });
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
