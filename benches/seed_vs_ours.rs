//! The Go seed's dispatcher against ours on the same burst and the same receiver
//! (issues 12 and 15: "≥ 10× the Go seed's deliveries/s on the same 20,000-event burst at
//! ≤ 0.1× its peak RSS").
//!
//! Not run directly: `perf/seed-vs-ours.sh` builds this binary, builds the Go seed's
//! driver (`perf/seed/driver.go`) and drives both. This one binary has three roles:
//! - `--receiver`: the shared receiver on 127.0.0.1 (hyper, HTTP/1.1 keep-alive, one
//!   thread, listen backlog 4096). `POST` anything: reads the body, answers `200` (or
//!   `500` to every odd-numbered job's first attempt after `GET /reset?fail=1`), and
//!   records the wall-clock time of each 2xx. `GET /wait?n=N` answers once N distinct
//!   jobs have had a 2xx (or after 300 s) with `ok=… last_ns=… first_ns=… requests=…
//!   failed=… conns=…`.
//! - `--ours N DELIVERY_URL CONTROL_URL FAIL [mt]`: our [`Dispatcher`] (in-memory store,
//!   its own current-thread runtime as a synchronous worker gets, or with `mt` a 2-worker
//!   runtime handed to it with `.runtime(handle)`; `max_concurrency(64)`,
//!   `max_per_host(64)`, `max_pending(N + 16)`) fires the burst of N signed 1 KiB events,
//!   then prints a `RESULT` line like the Go driver's, with this process's VmHWM.
//! - `--report FILE`: the table of `RESULT` lines, medians and ratios.

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--receiver") => native::receiver(),
        Some("--ours") => native::ours(&args[2..]),
        Some("--report") => native::report(&args[2]),
        _ => {
            eprintln!("run perf/seed-vs-ours.sh (this binary is its receiver, sender and report)");
            std::process::exit(2);
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(unsafe_code)] // clock_gettime for CPU-time clocks
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::collections::{BTreeMap, HashSet};
    use std::convert::Infallible;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use bytes::Bytes;
    use foreman_webhook::native::OutcomeKind;
    use foreman_webhook::{Dispatcher, Event, RawJson, Secret, Timestamp};
    use http_body_util::{BodyExt, Full};
    use hyper::body::Incoming;
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper::{Method, Request, Response, StatusCode};
    use hyper_util::rt::TokioIo;
    use tokio::sync::Notify;

    use crate::common::{load, machine, median};

    const SECRET: &str = "whsec-seed-vs-ours";

    /// Our senders: `impl=` value and the name in the tables.
    const VARIANTS: [(&str, &str); 2] = [
        ("ours", "ours (own 1-thread runtime)"),
        ("ours-mt", "ours (caller's 2-worker runtime)"),
    ];

    fn now_ns() -> u128 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_nanos()
    }

    /// What the receiver counts since the last `/reset`.
    #[derive(Default)]
    struct Counts {
        fail_half: bool,
        /// Jobs seen at least once (for "first attempt").
        seen: HashSet<Vec<u8>>,
        /// Jobs answered 2xx.
        delivered: HashSet<Vec<u8>>,
        requests: u64,
        failed: u64,
        conns: u64,
        first_ns: u128,
        last_ns: u128,
    }

    struct Shared {
        counts: Mutex<Counts>,
        changed: Notify,
    }

    /// The job id in a body: the string after `"job_id":"`.
    fn job_id(body: &[u8]) -> &[u8] {
        let key = br#""job_id":""#;
        let Some(at) = body.windows(key.len()).position(|w| w == key) else {
            return b"";
        };
        let rest = &body[at + key.len()..];
        &rest[..rest.iter().position(|&b| b == b'"').unwrap_or(rest.len())]
    }

    fn odd_job(id: &[u8]) -> bool {
        id.last()
            .is_some_and(|d| d.is_ascii_digit() && (d - b'0') % 2 == 1)
    }

    fn query(req: &Request<Incoming>, key: &str) -> Option<u64> {
        req.uri().query()?.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == key).then(|| v.parse().ok())?
        })
    }

    async fn handle(
        shared: Arc<Shared>,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        if req.method() == Method::GET {
            let text = match req.uri().path() {
                "/reset" => {
                    let fail_half = query(&req, "fail") == Some(1);
                    *shared.counts.lock().unwrap() = Counts {
                        fail_half,
                        ..Counts::default()
                    };
                    "reset".to_owned()
                }
                "/wait" => {
                    let n = query(&req, "n").unwrap_or(0) as usize;
                    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
                    loop {
                        let changed = shared.changed.notified();
                        {
                            let c = shared.counts.lock().unwrap();
                            if c.delivered.len() >= n || tokio::time::Instant::now() >= deadline {
                                break format!(
                                    "ok={} last_ns={} first_ns={} requests={} failed={} conns={}",
                                    c.delivered.len(),
                                    c.last_ns,
                                    c.first_ns,
                                    c.requests,
                                    c.failed,
                                    c.conns
                                );
                            }
                        }
                        let _ = tokio::time::timeout_at(deadline, changed).await;
                    }
                }
                _ => String::new(),
            };
            return Ok(Response::new(Full::new(Bytes::from(text))));
        }
        let body = req
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let id = job_id(&body);
        let mut c = shared.counts.lock().unwrap();
        let t = now_ns();
        if c.requests == 0 {
            c.first_ns = t;
        }
        c.requests += 1;
        let first_attempt = c.seen.insert(id.to_vec());
        if c.fail_half && first_attempt && odd_job(id) {
            c.failed += 1;
            let mut resp = Response::new(Full::new(Bytes::new()));
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            return Ok(resp);
        }
        if c.delivered.insert(id.to_vec()) {
            c.last_ns = t;
            shared.changed.notify_waiters();
        }
        Ok(Response::new(Full::new(Bytes::new())))
    }

    /// The receiver: prints `PORT <n>` and serves until killed.
    pub fn receiver() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.set_reuseaddr(true).expect("SO_REUSEADDR");
            socket
                .bind("127.0.0.1:0".parse().unwrap())
                .expect("bind 127.0.0.1");
            // The seed opens a connection per event at once: a deep accept queue
            // (capped by net.core.somaxconn) keeps its SYNs from being dropped.
            let listener = socket.listen(4096).expect("listen");
            println!("PORT {}", listener.local_addr().expect("addr").port());
            std::io::stdout().flush().ok();
            let shared = Arc::new(Shared {
                counts: Mutex::new(Counts::default()),
                changed: Notify::new(),
            });
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(s) => s,
                    Err(e) => {
                        // Out of file descriptors: say so, back off, keep serving.
                        eprintln!("receiver: accept: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                shared.counts.lock().unwrap().conns += 1;
                let shared = shared.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req| handle(shared.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    }

    /// A `GET` to the receiver's control port, without an HTTP client (so the sender's
    /// own client and pool are the dispatcher's alone).
    fn control(base: &str, path: &str) -> String {
        let addr = base.trim_start_matches("http://").trim_end_matches('/');
        let mut s = std::net::TcpStream::connect(addr).expect("connect to the receiver");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        text.split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .trim()
            .to_owned()
    }

    fn vmhwm_kb() -> u64 {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find_map(|l| {
                l.strip_prefix("VmHWM:")?
                    .trim()
                    .strip_suffix("kB")?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or(0)
    }

    /// Our side: `--ours N DELIVERY_URL CONTROL_URL FAIL [mt]`. With `mt`, the
    /// dispatcher runs on a 2-worker multi-thread tokio runtime handed to it with
    /// `.runtime(handle)` (as in an async service), instead of the current-thread runtime
    /// it starts for itself when built outside one (as in a synchronous worker).
    pub fn ours(args: &[String]) {
        let n: u64 = args[0].parse().expect("N");
        let (url, ctl, fail) = (&args[1], &args[2], &args[3]);
        let mt = args.get(4).is_some_and(|a| a == "mt");
        let rt = mt.then(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
        });
        let finished = Arc::new(AtomicU64::new(0));
        let delivered = Arc::new(AtomicU64::new(0));
        let (done_tx, done) = std::sync::mpsc::channel::<()>();
        let (fin, del) = (finished.clone(), delivered.clone());
        let mut builder = Dispatcher::builder();
        if let Some(rt) = &rt {
            builder = builder.runtime(rt.handle().clone());
        }
        let dispatcher = builder
            .secret(Secret::new(SECRET).unwrap())
            .allow_cidr("127.0.0.1/32")
            .max_concurrency(64)
            .max_per_host(64)
            .max_pending(n as usize + 16)
            .on_outcome(move |o| {
                if matches!(o.kind, OutcomeKind::Delivered { .. }) {
                    del.fetch_add(1, Ordering::AcqRel);
                }
                if fin.fetch_add(1, Ordering::AcqRel) + 1 == n {
                    let _ = done_tx.send(());
                }
            })
            .build()
            .expect("dispatcher");

        // The same 1 KiB body as the Go driver's (job ids of the same width).
        let mut template = Event::new("job-000000", "running", Timestamp::UNIX_EPOCH);
        template.previous_state = "queued".into();
        template.model = "llama-3-8b".into();
        let pad = 1024 - template.to_json().len() - r#"{"log":""}"#.len() + "null".len();
        template.result =
            Some(RawJson::new(format!(r#"{{"log":"{}"}}"#, "x".repeat(pad))).unwrap());
        assert_eq!(template.to_json().len(), 1024);

        control(ctl, &format!("/reset?fail={fail}"));
        let t0_ns = now_ns();
        let t0 = Instant::now();
        let mut event = template;
        for i in 0..n {
            event.job_id = format!("job-{i:06}");
            dispatcher.fire(url, &event);
        }
        let fire_ns = t0.elapsed().as_nanos();
        let got = control(ctl, &format!("/wait?n={n}"));
        let hwm = vmhwm_kb();
        done.recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("outcomes missing: {:?}", dispatcher.stats()));
        let s = dispatcher.stats();
        assert_eq!(s.delivered, n, "{s:?}");
        assert_eq!(delivered.load(Ordering::Acquire), n);
        dispatcher.shutdown_blocking(Duration::from_secs(5));
        println!(
            "RESULT impl={} fail={fail} n={n} t0_ns={t0_ns} fire_ns={fire_ns} {got} vmhwm_kb={hwm}",
            if mt { "ours-mt" } else { "ours" }
        );
        drop(dispatcher);
        drop(rt);
    }

    /// One sender run: the fields of its `RESULT` line plus what the script appended.
    struct Run(BTreeMap<String, String>);

    impl Run {
        fn num(&self, k: &str) -> f64 {
            self.0
                .get(k)
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::NAN)
        }
        fn get(&self, k: &str) -> &str {
            self.0.get(k).map_or("", String::as_str)
        }
        /// Deliveries/s: N ÷ (first `fire` → the receiver's last first-time 2xx).
        fn rate(&self) -> f64 {
            let span = (self.num("last_ns") - self.num("t0_ns")) / 1e9;
            self.num("ok") / span
        }
        fn complete(&self) -> bool {
            self.num("ok") == self.num("n")
        }
    }

    fn med(mut v: Vec<f64>) -> f64 {
        median(&mut v)
    }

    fn range(v: &[f64], f: impl Fn(f64) -> String) -> String {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        format!("{}–{}", f(lo), f(hi))
    }

    /// `--report FILE`: the table.
    pub fn report(path: &str) {
        let text = std::fs::read_to_string(path).expect("results file");
        let runs: Vec<Run> = text
            .lines()
            .filter_map(|l| l.strip_prefix("RESULT "))
            .map(|l| {
                Run(l
                    .split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect())
            })
            .collect();
        println!("machine: {}", machine());
        println!();
        let scenarios = [
            ("0", "burst, receiver answers 200"),
            (
                "1",
                "burst, receiver fails half of the first attempts (500)",
            ),
        ];
        let mut verdicts = Vec::new();
        for (fail, title) in scenarios {
            let of = |imp: &str| -> Vec<&Run> {
                runs.iter()
                    .filter(|r| r.get("impl") == imp && r.get("fail") == fail)
                    .collect()
            };
            let seed = of("seed");
            let variants: Vec<(&str, Vec<&Run>)> = VARIANTS
                .iter()
                .map(|&(imp, name)| (name, of(imp)))
                .filter(|(_, rs)| !rs.is_empty())
                .collect();
            if seed.is_empty() && variants.is_empty() {
                continue;
            }
            let n = seed
                .first()
                .or(variants.first().and_then(|v| v.1.first()))
                .map_or(0.0, |r| r.num("n"));
            println!("#### {title}: {n} events of 1024 B");
            println!();
            println!("| sender | run | deliveries/s | first fire → last 2xx | fire loop | peak RSS (VmHWM) | max RSS (time -v) | sender CPU | receiver CPU | connections accepted | requests (500s) |");
            println!("|---|---|---|---|---|---|---|---|---|---|---|");
            let all =
                std::iter::once(("Go seed", &seed)).chain(variants.iter().map(|(n, rs)| (*n, rs)));
            for (name, rs) in all {
                for r in rs.iter() {
                    println!(
                        "| {name} | {} | {:.0}{} | {:.3} s | {:.1} ms | {:.1} MB | {:.1} MB | {:.2} s | {:.2} s | {} | {} ({}) |",
                        r.get("run"),
                        r.rate(),
                        if r.complete() { "" } else { " (INCOMPLETE: ok < n)" },
                        (r.num("last_ns") - r.num("t0_ns")) / 1e9,
                        r.num("fire_ns") / 1e6,
                        r.num("vmhwm_kb") / 1024.0,
                        r.num("maxrss_kb") / 1024.0,
                        r.num("user_s") + r.num("sys_s"),
                        r.num("recv_cpu_s"),
                        r.get("conns"),
                        r.get("requests"),
                        r.get("failed"),
                    );
                }
            }
            println!();
            if seed.is_empty() {
                continue;
            }
            let rate = |rs: &[&Run]| med(rs.iter().map(|r| r.rate()).collect());
            let rss = |rs: &[&Run]| med(rs.iter().map(|r| r.num("vmhwm_kb")).collect());
            let cpu = |rs: &[&Run]| {
                med(rs
                    .iter()
                    .map(|r| r.num("user_s") + r.num("sys_s"))
                    .collect())
            };
            let recv = |rs: &[&Run]| med(rs.iter().map(|r| r.num("recv_cpu_s")).collect());
            type Metric<'a> = (
                &'a str,
                &'a dyn Fn(&[&Run]) -> f64,
                &'a dyn Fn(&Run) -> f64,
                fn(f64) -> String,
            );
            let metrics: [Metric; 4] = [
                ("deliveries/s", &rate, &|r: &Run| r.rate(), |x| {
                    format!("{x:.0}")
                }),
                (
                    "peak RSS (VmHWM)",
                    &rss,
                    &|r: &Run| r.num("vmhwm_kb"),
                    |x| format!("{:.1} MB", x / 1024.0),
                ),
                (
                    "sender CPU (user+sys) per run",
                    &cpu,
                    &|r: &Run| r.num("user_s") + r.num("sys_s"),
                    |x| format!("{x:.2} s"),
                ),
                (
                    "receiver CPU per run",
                    &recv,
                    &|r: &Run| r.num("recv_cpu_s"),
                    |x| format!("{x:.2} s"),
                ),
            ];
            for (name, ours) in &variants {
                // Per round (same run number): ours ÷ seed, interleaved, so load hits both.
                let pair = |f: &dyn Fn(&Run) -> f64| -> Vec<f64> {
                    seed.iter()
                        .filter_map(|s| {
                            let o = ours.iter().find(|o| o.get("run") == s.get("run"))?;
                            Some(f(o) / f(s))
                        })
                        .collect()
                };
                println!(
                    "| medians, {} round(s) | Go seed | {name} | ours ÷ seed | per-round ratios |",
                    seed.len()
                );
                println!("|---|---|---|---|---|");
                for (label, agg, per, show) in &metrics {
                    let ratio = agg(ours) / agg(&seed);
                    println!(
                        "| {label} | {} | {} | **{ratio:.3}×** | {} |",
                        show(agg(&seed)),
                        show(agg(ours)),
                        range(&pair(*per), |x| format!("{x:.3}×"))
                    );
                }
                println!();
                if fail == "0" {
                    let (rr, sr) = (rate(ours) / rate(&seed), rss(ours) / rss(&seed));
                    verdicts.push((
                        format!("≥ 10× the Go seed's deliveries/s ({n}-event burst): {name}"),
                        format!("{rr:.2}×"),
                        rr >= 10.0,
                    ));
                    verdicts.push((
                        format!("≤ 0.1× the Go seed's peak RSS (same run): {name}"),
                        format!("{sr:.3}×"),
                        sr <= 0.1,
                    ));
                }
            }
        }
        if !verdicts.is_empty() {
            println!("| target (issue 15) | measured | verdict |");
            println!("|---|---|---|");
            for (t, m, ok) in verdicts {
                println!("| {t} | {m} | {} |", crate::common::verdict(ok));
            }
            println!();
        }
        println!("load average after: {}", load());
    }
}
