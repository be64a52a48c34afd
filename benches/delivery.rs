//! Delivery throughput and `fire()` latency, against the receiver's ceiling and a plain
//! reqwest loop, in one run (issue 9, section 3).
//!
//! Run: `CARGO_TARGET_DIR=/work/target-bench cargo bench --features native --bench delivery`
//! (`QUICK=1` for a short smoke run). Needs `wrk` (Debian package `wrk`) for the ceiling.
//!
//! A fast receiver (hyper, HTTP/1.1 keep-alive, reads the body, answers `200`, one thread)
//! runs in a child process (this binary with `--receiver`) on 127.0.0.1, so the CPU time
//! this process spends is the sender's alone. For each concurrency c = 1, 16, 64 and over
//! interleaved rounds, four senders post the same signed 1 KiB event:
//! - `wrk -t1 -c<c>` with the body and header in a Lua script: the receiver's ceiling;
//! - a plain reqwest loop: c tasks on a current-thread runtime, sign + POST + read the
//!   response, no queue, no retry bookkeeping;
//! - the same loop over hyper-util's pooled client (what the Dispatcher sends with);
//! - the [`Dispatcher`] with `max_concurrency(c)`, built outside a runtime (so on its own
//!   current-thread runtime, the default for a synchronous worker): N `fire()` calls as
//!   fast as the caller can, then wait until all N are delivered.
//!
//! Reported: delivered events/s (medians of the rounds), CPU time of this process per
//! delivery (user + system, all threads: `CLOCK_PROCESS_CPUTIME_ID`, what `getrusage`
//! sums, cross-checked against `/proc/self/stat`), and the
//! latency of every `fire()` call (p50/p99/max), also with the pending queue at its cap
//! (most calls then take the drop path).

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    if std::env::args().any(|a| a == "--receiver") {
        native::receiver();
    } else {
        native::main();
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(unsafe_code)] // clock_gettime for CPU-time clocks
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::convert::Infallible;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use bytes::Bytes;
    use foreman_webhook::native::OutcomeKind;
    use foreman_webhook::{Dispatcher, Event, RawJson, Secret, Signer, Timestamp};
    use http_body_util::{BodyExt, Empty};
    use hyper::body::Incoming;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Request, Response};
    use hyper_util::rt::TokioIo;

    use crate::common::{
        children_cpu, fmt_ns, load, machine, median, pid_cpu, process_cpu, process_cpu_proc,
        quantile, thread_cpu_ns, thread_events, verdict,
    };

    const CONCURRENCY: [usize; 3] = [1, 16, 64];
    const SECRET: &str = "whsec-delivery-bench";

    /// The receiver child: prints `PORT <n>`, serves until its stdin closes.
    pub fn receiver() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind 127.0.0.1");
            println!("PORT {}", listener.local_addr().expect("addr").port());
            std::io::stdout().flush().ok();
            let (gone_tx, gone) = tokio::sync::oneshot::channel::<()>();
            std::thread::spawn(move || {
                let mut sink = Vec::new();
                let _ = std::io::stdin().read_to_end(&mut sink);
                let _ = gone_tx.send(());
            });
            let accept = async {
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
            };
            tokio::select! {
                () = accept => {}
                _ = gone => {}
            }
        });
    }

    struct ReceiverProcess {
        child: Child,
        port: u16,
        pid: u32,
    }

    impl ReceiverProcess {
        fn start() -> Self {
            let mut child = Command::new(std::env::current_exe().expect("current exe"))
                .arg("--receiver")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .expect("start the receiver child");
            let mut line = String::new();
            BufReader::new(child.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("receiver port");
            let port = line
                .trim()
                .strip_prefix("PORT ")
                .and_then(|p| p.parse().ok())
                .expect("receiver prints PORT <n>");
            let pid = child.id();
            Self { child, port, pid }
        }
    }

    impl Drop for ReceiverProcess {
        fn drop(&mut self) {
            drop(self.child.stdin.take()); // EOF: the child exits
            let _ = self.child.wait();
        }
    }

    /// A 1 KiB event (exactly 1024 bytes of JSON).
    fn event_1k() -> Event {
        let mut event = Event::new("job-000042", "running", Timestamp::UNIX_EPOCH);
        event.previous_state = "queued".into();
        event.model = "llama-3-8b".into();
        let pad = 1024 - event.to_json().len() - r#"{"log":""}"#.len() + "null".len();
        event.result = Some(RawJson::new(format!(r#"{{"log":"{}"}}"#, "x".repeat(pad))).unwrap());
        assert_eq!(event.to_json().len(), 1024);
        event
    }

    fn wrk_available() -> bool {
        Command::new("wrk")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    }

    /// `wrk -t1 -c<c>` for `secs` seconds: requests per second, and wrk's own CPU time
    /// per request.
    fn wrk(url: &str, script: &std::path::Path, c: usize, secs: u64) -> Option<(f64, f64)> {
        let cpu0 = children_cpu();
        let out = Command::new("wrk")
            .args(["-t1", &format!("-c{c}"), &format!("-d{secs}s"), "-s"])
            .arg(script)
            .arg(url)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().find(|l| l.starts_with("Requests/sec:"))?;
        if text.contains("Non-2xx") || text.contains("Socket errors") {
            eprintln!("wrk reported errors:\n{text}");
        }
        let rps: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        let cpu_ns = (children_cpu() - cpu0).as_nanos() as f64;
        Some((rps, cpu_ns / (rps * secs as f64)))
    }

    struct Run {
        per_sec: f64,
        cpu_per: Duration,
        /// The same from `/proc/self/stat` (10 ms ticks), as a cross-check.
        cpu_per_proc: Duration,
    }

    /// c tasks on one current-thread runtime: sign, POST, read the response; n in all.
    fn reqwest_loop(url: &str, body: &Bytes, c: usize, n: u64) -> Run {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let signer = Arc::new(Signer::new(&Secret::new(SECRET).unwrap()));
        let url: Arc<str> = url.into();
        rt.block_on(async {
            // Warm-up: one connection per task.
            let warm: Vec<_> = (0..c)
                .map(|_| {
                    tokio::spawn(post(
                        client.clone(),
                        url.clone(),
                        signer.clone(),
                        body.clone(),
                    ))
                })
                .collect();
            for w in warm {
                w.await.unwrap();
            }
            let left = Arc::new(AtomicU64::new(n));
            let (t0, cpu0) = (Instant::now(), process_cpu());
            let cpu0_proc = process_cpu_proc();
            let tasks: Vec<_> = (0..c)
                .map(|_| {
                    let (client, url, signer, body, left) = (
                        client.clone(),
                        url.clone(),
                        signer.clone(),
                        body.clone(),
                        left.clone(),
                    );
                    tokio::spawn(async move {
                        while left
                            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_sub(1))
                            .is_ok()
                        {
                            post(client.clone(), url.clone(), signer.clone(), body.clone()).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let (el, cpu) = (t0.elapsed(), process_cpu() - cpu0);
            Run {
                per_sec: n as f64 / el.as_secs_f64(),
                cpu_per: cpu / n as u32,
                cpu_per_proc: (process_cpu_proc() - cpu0_proc) / n as u32,
            }
        })
    }

    /// The reqwest loop's shape over hyper-util's pooled client directly (no reqwest
    /// layer): c tasks on one current-thread runtime, sign, POST, read; n in all. Tells
    /// whether reqwest's own layer is a large part of the cost (`ONLY=hyper`).
    fn hyper_loop(url: &str, body: &Bytes, c: usize, n: u64) -> Run {
        use http_body_util::Full;
        use hyper_util::client::legacy::Client;
        use hyper_util::rt::TokioExecutor;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let signer = Arc::new(Signer::new(&Secret::new(SECRET).unwrap()));
        let uri: hyper::Uri = url.parse().expect("uri");
        rt.block_on(async move {
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
            let post = move |client: Client<_, Full<Bytes>>, body: Bytes| {
                let (uri, signer) = (uri.clone(), signer.clone());
                async move {
                    let req = Request::post(uri)
                        .header("content-type", "application/json")
                        .header(
                            foreman_webhook::SIGNATURE_HEADER,
                            signer.sign(&body).header_value(),
                        )
                        .body(Full::new(body))
                        .expect("request");
                    let resp = client.request(req).await.expect("receiver answers");
                    assert!(resp.status().is_success());
                    let _ = resp.into_body().collect().await;
                }
            };
            let warm: Vec<_> = (0..c)
                .map(|_| tokio::spawn(post(client.clone(), body.clone())))
                .collect();
            for w in warm {
                w.await.unwrap();
            }
            let left = Arc::new(AtomicU64::new(n));
            let (t0, cpu0) = (Instant::now(), process_cpu());
            let cpu0_proc = process_cpu_proc();
            let tasks: Vec<_> = (0..c)
                .map(|_| {
                    let (client, body, left) = (client.clone(), body.clone(), left.clone());
                    let post = post.clone();
                    tokio::spawn(async move {
                        while left
                            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| v.checked_sub(1))
                            .is_ok()
                        {
                            post(client.clone(), body.clone()).await;
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            let (el, cpu) = (t0.elapsed(), process_cpu() - cpu0);
            Run {
                per_sec: n as f64 / el.as_secs_f64(),
                cpu_per: cpu / n as u32,
                cpu_per_proc: (process_cpu_proc() - cpu0_proc) / n as u32,
            }
        })
    }

    /// One signed POST of `body`; panics unless the answer is a 2xx.
    async fn post(client: reqwest::Client, url: Arc<str>, signer: Arc<Signer>, body: Bytes) {
        let resp = client
            .post(&*url)
            .header("content-type", "application/json")
            .header(
                foreman_webhook::SIGNATURE_HEADER,
                signer.sign(&body).header_value(),
            )
            .body(body)
            .send()
            .await
            .expect("receiver answers");
        assert!(resp.status().is_success());
        let _ = resp.bytes().await;
    }

    /// The dispatcher at concurrency c: n fires, then wait for n deliveries. Appends the
    /// latency of every `fire()` (ns) to `lat`.
    fn dispatcher_run(
        url: &str,
        event: &Event,
        c: usize,
        n: u64,
        lat: &mut Vec<u64>,
        mut cpu_lat: Option<&mut Vec<u64>>,
    ) -> Run {
        // The outcome callback says when the warm-up and the run are delivered, so this
        // thread sleeps instead of polling (a poll loop would take CPU from the
        // dispatcher's thread on a 2-core machine).
        let delivered = Arc::new(AtomicU64::new(0));
        let (done_tx, done) = std::sync::mpsc::channel::<()>();
        let (warm, target) = (c as u64, c as u64 + n);
        let count = delivered.clone();
        let dispatcher = Dispatcher::builder()
            .secret(Secret::new(SECRET).unwrap())
            .allow_cidr("127.0.0.1/32")
            .max_concurrency(c)
            .max_per_host(c)
            .max_pending(n as usize + c + 16)
            // `WORKERS=2`: the dispatcher's own runtime on 2 threads (default 1).
            .worker_threads(
                std::env::var("WORKERS")
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(1),
            )
            .on_outcome(move |o| {
                if matches!(o.kind, OutcomeKind::Delivered { .. }) {
                    let k = count.fetch_add(1, Ordering::AcqRel) + 1;
                    if k == warm || k == target {
                        let _ = done_tx.send(());
                    }
                }
            })
            .build()
            .expect("dispatcher");
        // Warm-up: c deliveries, so the pool holds its connections.
        for _ in 0..c {
            dispatcher.fire(url, event);
        }
        done.recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("warm-up deliveries: {:?}", dispatcher.stats()));
        // The latency vectors' pages touched now, so the page faults counted below are
        // `fire`'s own.
        for v in [Some(&mut *lat), cpu_lat.as_deref_mut()]
            .into_iter()
            .flatten()
        {
            let len = v.len();
            v.resize(len + n as usize, 0);
            v.truncate(len);
        }
        let (t0, cpu0, cpu0_proc) = (Instant::now(), process_cpu(), process_cpu_proc());
        let events0 = thread_events();
        // `RATE=r` (events/s): paced fires (a steady stream below the cap) instead of a
        // burst as fast as the caller can.
        let gap = std::env::var("RATE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .map(|r| Duration::from_secs_f64(1.0 / r));
        for i in 0..n {
            if let Some(gap) = gap {
                let due = t0 + gap * i as u32;
                while Instant::now() < due {
                    std::hint::spin_loop();
                }
            }
            if let Some(cpu_lat) = cpu_lat.as_deref_mut() {
                // Diagnostic: the CPU time of each call too (a syscall each side).
                let c0 = thread_cpu_ns();
                let t = Instant::now();
                dispatcher.fire(url, event);
                lat.push(t.elapsed().as_nanos() as u64);
                cpu_lat.push(thread_cpu_ns() - c0);
                continue;
            }
            let t = Instant::now();
            dispatcher.fire(url, event);
            lat.push(t.elapsed().as_nanos() as u64);
        }
        let e = thread_events();
        println!(
            "{}c={c} run, firing thread during its {n} `fire()` calls: {} minor page \
             faults ({:.3} per call), {} involuntary and {} voluntary context switches",
            if cpu_lat.is_some() { "diagnostic " } else { "" },
            e.0 - events0.0,
            (e.0 - events0.0) as f64 / n as f64,
            e.1 - events0.1,
            e.2 - events0.2
        );
        if cpu_lat.is_some() {
            println!();
        }
        done.recv_timeout(Duration::from_secs(600))
            .unwrap_or_else(|_| panic!("deliveries did not finish: {:?}", dispatcher.stats()));
        let (el, cpu) = (t0.elapsed(), process_cpu() - cpu0);
        let cpu_proc = process_cpu_proc() - cpu0_proc;
        let s = dispatcher.stats();
        assert_eq!(s.delivered, target, "{s:?}");
        assert_eq!(s.failed_attempts, 0, "{s:?}");
        dispatcher.shutdown_blocking(Duration::from_secs(5));
        Run {
            per_sec: n as f64 / el.as_secs_f64(),
            cpu_per: cpu / n as u32,
            cpu_per_proc: cpu_proc / n as u32,
        }
    }

    /// `fire()` with the pending queue held at its cap: latencies (ns) of calls that were
    /// accepted and of calls that took the drop path.
    fn at_capacity(url: &str, event: &Event, calls: usize) -> (Vec<u64>, Vec<u64>) {
        let dropped = Arc::new(AtomicU64::new(0));
        let d = dropped.clone();
        let dispatcher = Dispatcher::builder()
            .secret(Secret::new(SECRET).unwrap())
            .allow_cidr("127.0.0.1/32")
            .max_concurrency(64)
            .max_per_host(64)
            .max_pending(1000)
            .on_outcome(move |o| {
                if o.kind == OutcomeKind::DroppedAtCapacity {
                    d.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build()
            .expect("dispatcher");
        let (mut accepted, mut drops) = (vec![0; calls], vec![0; calls]);
        // Pages touched now (`vec!` is calloc), so the faults counted are `fire`'s.
        accepted
            .iter_mut()
            .chain(drops.iter_mut())
            .for_each(|x| *x = 1);
        accepted.clear();
        drops.clear();
        let events0 = thread_events();
        for _ in 0..calls {
            let before = dropped.load(Ordering::Relaxed);
            let t = Instant::now();
            dispatcher.fire(url, event);
            let ns = t.elapsed().as_nanos() as u64;
            // Drops are counted on this thread, inside `fire`.
            if dropped.load(Ordering::Relaxed) == before {
                accepted.push(ns);
            } else {
                drops.push(ns);
            }
        }
        let e = thread_events();
        println!(
            "at capacity, firing thread during its {calls} `fire()` calls: {} minor page \
             faults ({:.3} per call), {} involuntary and {} voluntary context switches",
            e.0 - events0.0,
            (e.0 - events0.0) as f64 / calls as f64,
            e.1 - events0.1,
            e.2 - events0.2
        );
        dispatcher.shutdown_blocking(Duration::from_secs(10));
        (accepted, drops)
    }

    fn lat_row(label: &str, lat: &mut [u64]) -> (String, u64) {
        lat.sort_unstable();
        if lat.is_empty() {
            return (format!("| {label} | 0 calls | | | | |"), 0);
        }
        let p99 = quantile(lat, 0.99);
        (
            format!(
                "| {label} | {} | {} | {} | {} | {} |",
                lat.len(),
                fmt_ns(quantile(lat, 0.5) as f64),
                fmt_ns(p99 as f64),
                fmt_ns(quantile(lat, 0.999) as f64),
                fmt_ns(*lat.last().unwrap() as f64),
            ),
            p99,
        )
    }

    pub fn main() {
        let quick = std::env::var_os("QUICK").is_some();
        let rounds = if quick { 1 } else { 3 };
        let wrk_secs = if quick { 2 } else { 4 };
        println!("machine: {}", machine());
        let have_wrk = wrk_available();
        if !have_wrk {
            eprintln!(
                "wrk not found: the receiver's ceiling is not measured \
                 (install the Debian package: apt-get install -y wrk)"
            );
        }

        let receiver = ReceiverProcess::start();
        let url = format!("http://127.0.0.1:{}/hook", receiver.port);
        let event = event_1k();
        let body = Bytes::from(event.to_json());
        let header = Signer::new(&Secret::new(SECRET).unwrap())
            .sign(&body)
            .header_value();
        let script =
            std::env::temp_dir().join(format!("delivery-bench-{}.lua", std::process::id()));
        std::fs::write(
            &script,
            format!(
                "wrk.method = \"POST\"\nwrk.body = [==[{}]==]\n\
                 wrk.headers[\"Content-Type\"] = \"application/json\"\n\
                 wrk.headers[\"X-Foreman-Signature\"] = \"{header}\"\n",
                String::from_utf8_lossy(&body)
            ),
        )
        .expect("write the wrk script");

        // Profiling aid: `ONLY=dispatcher|reqwest|hyper C=64 N=200000` runs just that sender
        // (e.g. under `perf record`), no wrk, no table.
        if let Ok(only) = std::env::var("ONLY") {
            let num = |k: &str, d: u64| {
                std::env::var(k)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(d)
            };
            let (c, n) = (num("C", 64) as usize, num("N", 200_000));
            let mut lat = Vec::with_capacity(n as usize);
            if only == "capacity" {
                // `fire()` with the pending queue held at its cap (max_pending 1000).
                let (mut accepted, mut drops) = at_capacity(&url, &event, n as usize);
                let mut all: Vec<u64> = accepted.iter().chain(&drops).copied().collect();
                println!("{}", lat_row("at capacity: all calls", &mut all).0);
                println!("{}", lat_row("  of which accepted", &mut accepted).0);
                println!("{}", lat_row("  of which dropped", &mut drops).0);
                println!("load average after: {}", load());
                return;
            }
            // `DIAG=1`: each call also timed in thread CPU time, and the calls over
            // 100 µs of wall time shown with their CPU time (work or descheduling?).
            let mut cpu_lat = std::env::var_os("DIAG").map(|_| Vec::with_capacity(n as usize));
            let run = if only == "reqwest" {
                reqwest_loop(&url, &body, c, n)
            } else if only == "hyper" {
                hyper_loop(&url, &body, c, n)
            } else {
                dispatcher_run(&url, &event, c, n, &mut lat, cpu_lat.as_mut())
            };
            if let Some(cpu) = &cpu_lat {
                let slow: Vec<(u64, u64)> = lat
                    .iter()
                    .zip(cpu)
                    .filter(|(w, _)| **w > 100_000)
                    .map(|(w, c)| (*w, *c))
                    .collect();
                let slow_cpu_max = slow.iter().map(|s| s.1).max().unwrap_or(0);
                println!(
                    "calls over 100 µs wall: {} of {}; their thread CPU time: max {}, \
                     sum {} vs wall sum {} (the rest is waiting for a CPU)",
                    slow.len(),
                    lat.len(),
                    fmt_ns(slow_cpu_max as f64),
                    fmt_ns(slow.iter().map(|s| s.1).sum::<u64>() as f64),
                    fmt_ns(slow.iter().map(|s| s.0).sum::<u64>() as f64),
                );
                let mut cpu = cpu.clone();
                println!("{}", lat_row("thread CPU time per call", &mut cpu).0);
            }
            println!(
                "{only} c={c} n={n}: {:.0} ev/s, CPU {:?} per delivery",
                run.per_sec, run.cpu_per
            );
            if !lat.is_empty() {
                lat.sort_unstable();
                println!(
                    "fire() over {} calls: p50 {} p99 {} p99.9 {} max {}",
                    lat.len(),
                    fmt_ns(quantile(&lat, 0.5) as f64),
                    fmt_ns(quantile(&lat, 0.99) as f64),
                    fmt_ns(quantile(&lat, 0.999) as f64),
                    fmt_ns(*lat.last().unwrap() as f64)
                );
            }
            println!("load average after: {}", load());
            return;
        }
        println!("receiver: 127.0.0.1:{} (child process, one thread); body {} B; {rounds} interleaved round(s)", receiver.port, body.len());
        println!();
        let mut rows = Vec::new();
        let mut busy_rows = Vec::new();
        let mut fire_lat: Vec<u64> = Vec::new();
        for c in CONCURRENCY {
            let (mut w, mut w_cpu, mut r, mut d) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            let (mut r_cpu, mut d_cpu) = (Vec::new(), Vec::new());
            let (mut h, mut h_cpu) = (Vec::new(), Vec::new());
            // Share of one CPU the receiver used while `f` ran.
            let busy = |f: &mut dyn FnMut()| {
                let (t, cpu) = (Instant::now(), pid_cpu(receiver.pid));
                f();
                (pid_cpu(receiver.pid) - cpu).as_secs_f64() / t.elapsed().as_secs_f64()
            };
            let (mut w_busy, mut r_busy, mut d_busy) = (Vec::new(), Vec::new(), Vec::new());
            let wrk_run = |w: &mut Vec<f64>, w_cpu: &mut Vec<f64>, w_busy: &mut Vec<f64>| {
                let mut got = None;
                if have_wrk {
                    w_busy.push(busy(&mut || got = wrk(&url, &script, c, wrk_secs)));
                }
                if let Some((rps, cpu)) = got {
                    eprintln!(
                        "c={c} wrk: {rps:.0}/s, wrk CPU {} per request, receiver busy {:.0} %",
                        fmt_ns(cpu),
                        w_busy.last().unwrap_or(&0.0) * 100.0
                    );
                    w.push(rps);
                    w_cpu.push(cpu);
                }
                got.map(|g| g.0)
            };
            // Size the runs from the ceiling: about 2 s of work each.
            let first = wrk_run(&mut w, &mut w_cpu, &mut w_busy);
            let n = ((first.unwrap_or(5000.0) * if quick { 1.0 } else { 2.0 }) as u64)
                .clamp(2000, 200_000);
            for round in 0..rounds {
                for k in 0..4 {
                    match (k + round) % 4 {
                        0 if round > 0 => {
                            wrk_run(&mut w, &mut w_cpu, &mut w_busy);
                        }
                        0 => {}
                        1 => {
                            let mut run = None;
                            r_busy.push(busy(&mut || run = Some(reqwest_loop(&url, &body, c, n))));
                            let run = run.expect("ran");
                            eprintln!(
                                "c={c} reqwest: {:.0}/s, CPU {:?} ({:?} by /proc/self/stat), receiver busy {:.0} %",
                                run.per_sec, run.cpu_per, run.cpu_per_proc, r_busy.last().unwrap_or(&0.0) * 100.0
                            );
                            r.push(run.per_sec);
                            r_cpu.push(run.cpu_per.as_nanos() as f64);
                        }
                        2 => {
                            let run = hyper_loop(&url, &body, c, n);
                            eprintln!(
                                "c={c} hyper-util loop: {:.0}/s, CPU {:?} ({:?} by /proc/self/stat)",
                                run.per_sec, run.cpu_per, run.cpu_per_proc
                            );
                            h.push(run.per_sec);
                            h_cpu.push(run.cpu_per.as_nanos() as f64);
                        }
                        _ => {
                            let mut lat = Vec::with_capacity(n as usize);
                            let mut run = None;
                            d_busy.push(busy(&mut || {
                                run = Some(dispatcher_run(&url, &event, c, n, &mut lat, None));
                            }));
                            let run = run.expect("ran");
                            eprintln!(
                                "c={c} dispatcher: {:.0}/s, CPU {:?} ({:?} by /proc/self/stat), receiver busy {:.0} %",
                                run.per_sec, run.cpu_per, run.cpu_per_proc, d_busy.last().unwrap_or(&0.0) * 100.0
                            );
                            d.push(run.per_sec);
                            d_cpu.push(run.cpu_per.as_nanos() as f64);
                            if c == 64 {
                                fire_lat.extend(lat);
                            }
                        }
                    }
                }
            }
            let wm = (!w.is_empty()).then(|| (median(&mut w), median(&mut w_cpu)));
            let med = |v: &mut Vec<f64>| if v.is_empty() { 0.0 } else { median(v) };
            busy_rows.push((c, med(&mut w_busy), med(&mut r_busy), med(&mut d_busy)));
            let row = (
                c,
                n,
                wm,
                median(&mut r),
                median(&mut r_cpu),
                median(&mut d),
                median(&mut d_cpu),
                median(&mut h),
                median(&mut h_cpu),
            );
            rows.push(row);
        }

        println!("| c | events per run | wrk (receiver ceiling) req/s | wrk CPU/request | reqwest loop ev/s | reqwest CPU/delivery | hyper-util loop ev/s | hyper-util CPU/delivery | Dispatcher ev/s | Dispatcher CPU/delivery | Dispatcher / wrk | Dispatcher / reqwest loop | Dispatcher / hyper-util loop |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        for (c, n, wm, r, rc, d, dc, h, hc) in &rows {
            println!(
                "| {c} | {n} | {} | {} | {r:.0} | {} | {h:.0} | {} | {d:.0} | {} | {} | {:.2}× | {:.2}× |",
                wm.map_or("n/a (no wrk)".into(), |v| format!("{:.0}", v.0)),
                wm.map_or("n/a".into(), |v| fmt_ns(v.1)),
                fmt_ns(*rc),
                fmt_ns(*hc),
                fmt_ns(*dc),
                wm.map_or("n/a".into(), |v| format!("{:.2}×", d / v.0)),
                d / r,
                d / h,
            );
        }
        println!();
        println!();
        println!("Receiver (one thread) busy, share of one CPU while each sender ran (median):");
        println!();
        println!("| c | during wrk | during the reqwest loop | during the Dispatcher |");
        println!("|---|---|---|---|");
        for (c, w, r, d) in &busy_rows {
            println!(
                "| {c} | {:.0} % | {:.0} % | {:.0} % |",
                w * 100.0,
                r * 100.0,
                d * 100.0
            );
        }
        println!();
        println!(
            "Rates: medians of {rounds} interleaved round(s); CPU: user + system time of the \
             sending process (all threads) or of wrk, per delivery; the receiver's CPU is in \
             neither."
        );
        println!();

        // Diagnostic: one more c=64 run with each `fire()` also timed in thread CPU time,
        // to tell work from waiting (preemption, the lock) in the latency tail.
        let n64 = rows.iter().find(|r| r.0 == 64).map_or(20_000, |r| r.1);
        let (mut diag_wall, mut diag_cpu) = (Vec::new(), Vec::new());
        dispatcher_run(&url, &event, 64, n64, &mut diag_wall, Some(&mut diag_cpu));

        let calls = if quick { 50_000 } else { 300_000 };
        let (mut accepted, mut drops) = at_capacity(&url, &event, calls);
        let mut all: Vec<u64> = accepted.iter().chain(&drops).copied().collect();
        println!("`fire()` latency (wall time of each call, on the firing thread):");
        println!();
        println!("| case | calls | p50 | p99 | p99.9 | max |");
        println!("|---|---|---|---|---|---|");
        let (row, p99_flow) = lat_row("c=64 runs, queue below its cap", &mut fire_lat);
        println!("{row}");
        let (row, p99_cap) = lat_row(
            "at capacity (max_pending 1000 reached): all calls",
            &mut all,
        );
        println!("{row}");
        println!("{}", lat_row("  of which accepted", &mut accepted).0);
        println!("{}", lat_row("  of which dropped", &mut drops).0);
        println!(
            "{}",
            lat_row(
                "diagnostic c=64 run: wall time (CPU clock read around each call)",
                &mut diag_wall
            )
            .0
        );
        println!(
            "{}",
            lat_row(
                "diagnostic c=64 run: thread CPU time of the same calls",
                &mut diag_cpu
            )
            .0
        );
        println!();

        println!("| target | measured | verdict |");
        println!("|---|---|---|");
        if let Some((_, _, wm, r, _, d, _, _, _)) = rows.iter().find(|row| row.0 == 64) {
            match wm {
                Some((w, _)) => println!(
                    "| Dispatcher ≥ 0.5× wrk's req/s at c=64 | {:.2}× | {} |",
                    d / w,
                    verdict(d / w >= 0.5)
                ),
                None => println!(
                    "| Dispatcher ≥ 0.5× wrk's req/s at c=64 | wrk missing | not measured |"
                ),
            }
            println!(
                "| Dispatcher faster than a plain reqwest loop at c=64 | {:.2}× | {} |",
                d / r,
                verdict(d >= r)
            );
        }
        println!(
            "| `fire()` p99 ≤ 5 µs, queue below its cap | {} ({:.2}× the budget) | {} |",
            fmt_ns(p99_flow as f64),
            5000.0 / p99_flow as f64,
            verdict(p99_flow <= 5000)
        );
        println!(
            "| `fire()` p99 ≤ 5 µs at capacity | {} ({:.2}× the budget) | {} |",
            fmt_ns(p99_cap as f64),
            5000.0 / p99_cap as f64,
            verdict(p99_cap <= 5000)
        );
        println!();
        println!("load average after the run: {}", load());
        let _ = std::fs::remove_file(&script);
        drop(receiver);
    }
}
