//! Delivery policy against real receivers on 127.0.0.1: per-job ordering (in memory and
//! in SQLite across a restart), the circuit breaker per destination (pausing without
//! burning attempts, one probe per interval, healthy destinations unharmed), the rate
//! limit per destination (measured), and the latency cost of ordering (printed; run with
//! `--nocapture`). The PostgreSQL fleet case lives in tests/outbox_postgres.rs.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use foreman_webhook::native::{CircuitBreaker, Outcome, OutcomeKind, RateLimit};
use foreman_webhook::{Dispatcher, DispatcherBuilder, Event, Timestamp};
use support::{Receiver, Reply};

const STATES: [&str; 3] = ["queued", "running", "succeeded"];

/// The tests that measure time run one at a time (the others may run beside them).
static TIMED: Mutex<()> = Mutex::new(());

fn timed() -> std::sync::MutexGuard<'static, ()> {
    TIMED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Outcomes that are not `Delivered`, for assertion messages.
fn undelivered(outcomes: &[Outcome]) -> Vec<(String, u32, OutcomeKind)> {
    outcomes
        .iter()
        .filter(|o| !matches!(o.kind, OutcomeKind::Delivered { .. }))
        .map(|o| (o.job_id.clone(), o.attempts, o.kind))
        .collect()
}

fn event(job: &str, state: &str) -> Event {
    Event::new(
        job,
        state,
        Timestamp::from_unix_seconds(1_764_338_400).unwrap(),
    )
}

fn local() -> DispatcherBuilder {
    Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .timeout(Duration::from_secs(5))
}

/// Every request a receiver got: (job, state, status answered), in arrival order.
type Log = Arc<Mutex<Vec<(String, String, u16)>>>;

/// A receiver that fails the first attempt of every `running` event with 500 (and,
/// optionally, the first `n` attempts of one job's `running`), logging every request.
fn flaky_running(slow_job: Option<(&'static str, usize)>) -> (Receiver, Log) {
    let log: Log = Arc::default();
    let seen: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let l = log.clone();
    let rx = Receiver::start(move |_, hit| {
        let ev = Event::from_json(&hit.body).expect("an event body");
        let status = if ev.state == "running" {
            let mut seen = seen.lock().unwrap();
            let n = seen.entry(ev.job_id.clone()).or_insert(0);
            *n += 1;
            let fails = match slow_job {
                Some((job, k)) if job == ev.job_id => k,
                _ => 1,
            };
            if *n <= fails {
                500
            } else {
                200
            }
        } else {
            200
        };
        l.lock().unwrap().push((ev.job_id, ev.state, status));
        Reply::status(status)
    });
    (rx, log)
}

/// Checks the log against the fired order: per job, every request must be for the
/// first state not yet accepted (so the receiver never sees a later state before the
/// earlier one is delivered). Returns (violations, per-job accepted sequences).
fn check_order(log: &[(String, String, u16)]) -> (usize, HashMap<String, Vec<String>>) {
    let mut accepted: HashMap<String, Vec<String>> = HashMap::new();
    let mut violations = 0;
    for (job, state, status) in log {
        let got = accepted.entry(job.clone()).or_default();
        let head = STATES.get(got.len()).copied().unwrap_or("<none>");
        if state != head {
            violations += 1;
        }
        if (200..300).contains(status) {
            got.push(state.clone());
        }
    }
    (violations, accepted)
}

fn fire_all(d: &Dispatcher, url: &str, jobs: usize) {
    for j in 0..jobs {
        for s in STATES {
            d.fire(url, &event(&format!("job-{j}"), s));
        }
    }
}

#[test]
fn ordered_in_memory_a_failing_running_never_lets_succeeded_overtake() {
    const JOBS: usize = 40;
    // Without ordering: the control run must show the inversion (so the check can fail).
    let (rx, log) = flaky_running(None);
    let d = local()
        .base_delay(Duration::from_millis(50))
        .build()
        .unwrap();
    fire_all(&d, &rx.url("/h"), JOBS);
    let report = d.shutdown_blocking(Duration::from_secs(30));
    assert_eq!(report.stats.delivered, (JOBS * 3) as u64);
    let (unordered_violations, _) = check_order(&log.lock().unwrap());
    assert!(
        unordered_violations >= JOBS / 2,
        "control run: {unordered_violations}"
    );

    // With ordering: strictly queued → running → succeeded per job, every request.
    let (rx, log) = flaky_running(None);
    let d = local()
        .base_delay(Duration::from_millis(50))
        .ordered_per_job()
        .build()
        .unwrap();
    fire_all(&d, &rx.url("/h"), JOBS);
    let report = d.shutdown_blocking(Duration::from_secs(30));
    assert_eq!(report.stats.delivered, (JOBS * 3) as u64);
    let log = log.lock().unwrap();
    let (violations, accepted) = check_order(&log);
    assert_eq!(violations, 0, "{log:?}");
    assert_eq!(accepted.len(), JOBS);
    assert!(accepted.values().all(|v| v == &STATES));
    assert_eq!(log.len(), JOBS * 4, "3 events + 1 failed running per job");
    println!(
        "ordering, memory: {JOBS} jobs, {} requests, {} accepted, 0 out of order \
         (unordered control: {unordered_violations} requests out of order)",
        log.len(),
        JOBS * 3
    );
}

#[test]
fn ordered_jobs_do_not_hold_back_other_jobs() {
    let _timed = timed();
    // job-slow's `running` fails 4 times (waits 100 + 200 + 400 + 800 ms); 20 other
    // jobs fired after it must all be delivered long before.
    let (rx, log) = flaky_running(Some(("job-slow", 4)));
    let done: Arc<Mutex<Vec<(String, String, Instant)>>> = Arc::default();
    let dn = done.clone();
    let d = local()
        .base_delay(Duration::from_millis(100))
        .ordered_per_job()
        .on_outcome(move |o: &Outcome| {
            assert!(matches!(o.kind, OutcomeKind::Delivered { .. }), "{o:?}");
            dn.lock()
                .unwrap()
                .push((o.job_id.clone(), o.state.clone(), Instant::now()));
        })
        .build()
        .unwrap();
    let url = rx.url("/h");
    let t0 = Instant::now();
    for s in STATES {
        d.fire(&url, &event("job-slow", s));
    }
    fire_all(&d, &url, 20);
    d.shutdown_blocking(Duration::from_secs(30));
    let done = done.lock().unwrap();
    let at = |job: &str, state: &str| {
        done.iter()
            .find(|(j, s, _)| j == job && s == state)
            .map(|(_, _, t)| *t - t0)
            .unwrap()
    };
    let slow_running = at("job-slow", "running");
    let others_last = (0..20)
        .map(|j| at(&format!("job-{j}"), "succeeded"))
        .max()
        .unwrap();
    assert!(
        slow_running >= Duration::from_millis(1400),
        "{slow_running:?}"
    );
    assert!(at("job-slow", "succeeded") > slow_running);
    assert!(
        others_last * 3 < slow_running,
        "others done at {others_last:?}, job-slow's running at {slow_running:?}"
    );
    let (violations, _) = check_order(&log.lock().unwrap());
    assert_eq!(violations, 0);
    println!(
        "not held back: 20 other jobs all delivered by {others_last:?}; job-slow's running delivered at {slow_running:?}"
    );
}

/// Fire → outcome latency (ms) of every event by state, for `jobs` jobs × 3 states
/// fired together, and per job the gap between its `queued` and `succeeded` outcomes.
struct Latencies {
    by_state: [Vec<f64>; 3],
    spread: Vec<f64>,
}

fn latencies(ordered: bool, jobs: usize, reply_delay: Duration) -> Latencies {
    let rx = Receiver::start(move |_, _| Reply::status(200).delay(reply_delay));
    let fired: Arc<Mutex<HashMap<(String, String), Instant>>> = Arc::default();
    let done: Arc<Mutex<Vec<(String, usize, f64)>>> = Arc::default();
    let (f, dn) = (fired.clone(), done.clone());
    let mut b = local().on_outcome(move |o: &Outcome| {
        let t = f.lock().unwrap()[&(o.job_id.clone(), o.state.clone())];
        let state = STATES.iter().position(|s| *s == o.state).unwrap();
        dn.lock()
            .unwrap()
            .push((o.job_id.clone(), state, t.elapsed().as_secs_f64() * 1e3));
    });
    if ordered {
        b = b.ordered_per_job();
    }
    let d = b.build().unwrap();
    let url = rx.url("/h");
    for j in 0..jobs {
        let job = format!("job-{j}");
        let now = Instant::now();
        for s in STATES {
            fired
                .lock()
                .unwrap()
                .insert((job.clone(), s.to_owned()), now);
        }
        for s in STATES {
            d.fire(&url, &event(&job, s));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    d.shutdown_blocking(Duration::from_secs(30));
    let done = done.lock().unwrap();
    let mut by_state: [Vec<f64>; 3] = Default::default();
    let mut per_job: HashMap<&str, [f64; 3]> = HashMap::new();
    for (job, state, ms) in done.iter() {
        by_state[*state].push(*ms);
        per_job.entry(job.as_str()).or_default()[*state] = *ms;
    }
    for v in &mut by_state {
        v.sort_by(f64::total_cmp);
    }
    let mut spread: Vec<f64> = per_job.values().map(|l| l[2] - l[0]).collect();
    spread.sort_by(f64::total_cmp);
    Latencies { by_state, spread }
}

fn pct(v: &[f64], p: f64) -> f64 {
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn ordering_latency_cost_is_measured() {
    let _timed = timed();
    // 200 jobs, each firing its 3 events at once (the worst case for ordering: the 2nd
    // and 3rd wait for one and two round trips), a receiver answering after 5 ms.
    const JOBS: usize = 200;
    let delay = Duration::from_millis(5);
    let off = latencies(false, JOBS, delay);
    let on = latencies(true, JOBS, delay);
    let line = |name: &str, l: &Latencies| {
        let s: Vec<String> = (0..3)
            .map(|i| {
                format!(
                    "{} mean {:.1} p50 {:.1} p99 {:.1}",
                    STATES[i],
                    mean(&l.by_state[i]),
                    pct(&l.by_state[i], 0.5),
                    pct(&l.by_state[i], 0.99)
                )
            })
            .collect();
        format!(
            "{name}: {}; succeeded − queued p50 {:.1} ms p99 {:.1} ms",
            s.join(", "),
            pct(&l.spread, 0.5),
            pct(&l.spread, 0.99)
        )
    };
    println!(
        "ordering latency cost (fire→delivered ms, {JOBS} jobs × 3 events fired together, receiver 5 ms)\n  {}\n  {}",
        line("unordered", &off),
        line("ordered", &on)
    );
    for l in [&off, &on] {
        assert!(l.by_state.iter().all(|v| v.len() == JOBS));
    }
    // Ordered: a job's `succeeded` is delivered at least two 5 ms round trips after its
    // `queued`, every time (unordered it may come first: the spread can be negative).
    assert!(on.spread[0] >= 10.0, "{:?}", &on.spread[..5]);
}

#[test]
fn rate_limit_per_destination_is_measured_within_5_percent() {
    let _timed = timed();
    const N: usize = 76;
    let rx = Receiver::always(200);
    let other = Receiver::always(200);
    let host = format!("127.0.0.1:{}", rx.port());
    let d = local()
        .rate_limit_host(&host, RateLimit::per_second(25.0))
        .build()
        .unwrap();
    let t0 = Instant::now();
    for i in 0..N {
        d.fire(&rx.url("/h"), &event(&format!("job-{i}"), "queued"));
        d.fire(&other.url("/h"), &event(&format!("job-{i}"), "queued"));
    }
    let report = d.shutdown_blocking(Duration::from_secs(30));
    assert_eq!(report.stats.delivered, (2 * N) as u64);
    let hits = rx.hits();
    assert_eq!(hits.len(), N);
    let span = (hits[N - 1].at - hits[0].at).as_secs_f64();
    let rate = (N - 1) as f64 / span;
    // The other destination is not limited: all of it arrives at once.
    let o = other.hits();
    let other_span = o[N - 1].at - t0;
    println!("rate limit: 25/s asked, {rate:.2}/s measured over {span:.2} s; unlimited host done in {other_span:?}");
    assert!((rate - 25.0).abs() <= 25.0 * 0.05, "{rate}");
    assert!(other_span < Duration::from_millis(1500), "{other_span:?}");
}

/// `n` events to each of 20 healthy receivers (+ optionally a dead one): the healthy
/// ones' delivery time (fire → last healthy outcome) and mean latency.
struct Run {
    healthy_elapsed: Duration,
    healthy_mean_ms: f64,
}

fn breaker_run(n: usize, dead: Option<&Receiver>, breaker: bool) -> Run {
    // Healthy receivers answer in 20 ms, so the run is bound by the concurrency slots (the
    // resource a dead destination takes from the others), not by this machine's CPU.
    let healthy: Vec<Receiver> = (0..20)
        .map(|_| Receiver::start(|_, _| Reply::status(200).delay(Duration::from_millis(20))))
        .collect();
    let dead_host = dead.map(|r| r.url("/"));
    let fired: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let lat: Arc<Mutex<Vec<(f64, Instant)>>> = Arc::default();
    let (f, l) = (fired.clone(), lat.clone());
    let mut b = local()
        .max_concurrency(16)
        .max_per_host(4)
        .base_delay(Duration::from_millis(100))
        .max_retries(10)
        .on_outcome(move |o: &Outcome| {
            if dead_host.as_deref().is_some_and(|h| o.url.starts_with(h)) {
                return;
            }
            let t = f.lock().unwrap()[&o.id.get()];
            l.lock()
                .unwrap()
                .push((t.elapsed().as_secs_f64() * 1e3, Instant::now()));
        });
    if breaker {
        b = b.circuit_breaker(
            CircuitBreaker::new()
                .consecutive_failures(3)
                .open_for(Duration::from_millis(400))
                .max_open_for(Duration::from_millis(400)),
        );
    }
    let d = b.build().unwrap();
    let t0 = Instant::now();
    for i in 0..n {
        if let Some(dead) = dead {
            d.fire(&dead.url("/h"), &event(&format!("dead-{i}"), "queued"));
        }
        for (k, r) in healthy.iter().enumerate() {
            let id = d.fire(&r.url("/h"), &event(&format!("job-{k}-{i}"), "queued"));
            fired.lock().unwrap().insert(id.get(), Instant::now());
        }
    }
    // Wait for the healthy ones only.
    let deadline = Instant::now() + Duration::from_secs(60);
    while lat.lock().unwrap().len() < n * 20 {
        assert!(Instant::now() < deadline, "healthy deliveries stalled");
        std::thread::sleep(Duration::from_millis(2));
    }
    let lat = lat.lock().unwrap();
    let last = lat.iter().map(|(_, t)| *t).max().unwrap();
    let run = Run {
        healthy_elapsed: last - t0,
        healthy_mean_ms: lat.iter().map(|(ms, _)| ms).sum::<f64>() / lat.len() as f64,
    };
    if dead.is_some() {
        d.shutdown_blocking(Duration::ZERO);
    } else {
        d.shutdown_blocking(Duration::from_secs(10));
    }
    run
}

#[test]
fn breaker_pauses_a_dead_destination_without_burning_attempts_and_probes_once_per_interval() {
    let _timed = timed();
    // The dead destination: 503 after 50 ms for its first 2 s, then healthy.
    let t0 = Instant::now();
    let dead = Receiver::start(move |_, _| {
        if t0.elapsed() < Duration::from_secs(2) {
            Reply::status(503).delay(Duration::from_millis(50))
        } else {
            Reply::status(200)
        }
    });
    let (cb, out) = support::outcomes();
    let d = local()
        .base_delay(Duration::from_millis(50))
        .max_retries(3)
        .circuit_breaker(
            CircuitBreaker::new()
                .consecutive_failures(3)
                .open_for(Duration::from_millis(300))
                .max_open_for(Duration::from_millis(300)),
        )
        .on_outcome(cb)
        .build()
        .unwrap();
    const N: usize = 30;
    for i in 0..N {
        d.fire(&dead.url("/h"), &event(&format!("job-{i}"), "queued"));
    }
    let outcomes = out.take(N, 30);
    let recovered_in = t0.elapsed();
    let stats = d.stats();
    d.shutdown_blocking(Duration::from_secs(5));
    // Recovery comes with the first probe after the 2 s outage (+ one open interval).
    // Loose for a loaded machine: a lost wake-up would wait for the 11 s probe timeout.
    assert!(recovered_in < Duration::from_secs(4), "{recovered_in:?}");
    // Not one event exhausted although each allows only 4 attempts and the destination
    // failed for 2 s: waiting events kept their attempts.
    assert!(
        undelivered(&outcomes).is_empty(),
        "{:?}",
        undelivered(&outcomes)
    );
    let total_attempts: u32 = outcomes.iter().map(|o| o.attempts).sum();
    let hits = dead.hits();
    let failing: Vec<Instant> = hits
        .iter()
        .map(|h| h.at)
        .filter(|at| *at - t0 < Duration::from_secs(2))
        .collect();
    // The first wave (8 in flight, max_per_host 8, plus the ones started as the first
    // failures freed slots before the third tripped the circuit) arrives within ~100 ms;
    // the first probe cannot come before the trip + 300 ms. From then on: at most one
    // request per 300 ms interval while the destination fails.
    let first = failing[0];
    let wave = failing
        .iter()
        .filter(|at| **at - first < Duration::from_millis(200))
        .count();
    assert!((8..=10).contains(&wave), "first wave {wave}");
    let after_trip: Vec<Instant> = failing.iter().copied().skip(wave).collect();
    for w in after_trip.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(280),
            "two probes within {:?}",
            w[1] - w[0]
        );
    }
    assert!(after_trip.len() <= 8, "{} probes in 2 s", after_trip.len());
    assert!(
        stats.circuits_opened >= 1 && stats.circuits_closed >= 1,
        "{stats:?}"
    );
    println!(
        "breaker: {N} events to a destination failing for 2 s: {} failing requests ({} probes after the trip, \
         ≥ 280 ms apart), all {N} delivered by {recovered_in:?} with {total_attempts} attempts in all, opened {} closed {}",
        failing.len(),
        after_trip.len(),
        stats.circuits_opened,
        stats.circuits_closed
    );
}

#[test]
fn breaker_keeps_healthy_destinations_near_their_normal_speed() {
    let _timed = timed();
    const N: usize = 60;
    let dead = || Receiver::start(|_, _| Reply::status(503).delay(Duration::from_millis(200)));
    // Interleave runs and keep each configuration's best of two (a shared, loaded machine).
    let mut base = Vec::new();
    let mut with_breaker = Vec::new();
    let mut without = Vec::new();
    for _ in 0..2 {
        base.push(breaker_run(N, None, true));
        let d = dead();
        with_breaker.push(breaker_run(N, Some(&d), true));
        let d = dead();
        without.push(breaker_run(N, Some(&d), false));
    }
    let best = |v: &[Run]| {
        (
            v.iter().map(|r| r.healthy_elapsed).min().unwrap(),
            v.iter().map(|r| r.healthy_mean_ms).fold(f64::MAX, f64::min),
        )
    };
    let (b_t, b_ms) = best(&base);
    let (w_t, w_ms) = best(&with_breaker);
    let (n_t, n_ms) = best(&without);
    println!(
        "breaker, 20 healthy × {N} events (20 ms each), concurrency 16 (4 per host): no dead host {b_t:?} (mean {b_ms:.1} ms); \
         + dead host with breaker {w_t:?} (mean {w_ms:.1} ms, {:+.1} %); + dead host without breaker {n_t:?} (mean {n_ms:.1} ms, {:+.1} %)",
        (w_t.as_secs_f64() / b_t.as_secs_f64() - 1.0) * 100.0,
        (n_t.as_secs_f64() / b_t.as_secs_f64() - 1.0) * 100.0,
    );
    // The dead host costs the healthy ones little with the breaker. The target is
    // 10 %; measured about +6 % (docs/delivery-policy.md); asserted at 15 % for a loaded
    // machine. Without the breaker it costs about a third.
    assert!(
        w_t.as_secs_f64() <= b_t.as_secs_f64() * 1.15,
        "{w_t:?} vs {b_t:?}"
    );
    assert!(w_ms <= b_ms * 1.15, "{w_ms} vs {b_ms}");
    assert!(w_t < n_t, "{w_t:?} vs {n_t:?}");
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    use super::support::TempDir;

    fn durable(path: &std::path::Path) -> DispatcherBuilder {
        local()
            .outbox_sqlite(path)
            .poll_interval(Duration::from_millis(20))
            .base_delay(Duration::from_millis(100))
    }

    #[test]
    fn ordered_in_sqlite_across_a_restart() {
        const JOBS: usize = 30;
        let dir = TempDir::new("order");
        let (rx, log) = flaky_running(None);
        let url = rx.url("/h");
        // Process 1 stores everything (ordered), delivers a part, and stops at once.
        let d = durable(&dir.db()).ordered_per_job().build().unwrap();
        fire_all(&d, &url, JOBS);
        let deadline = Instant::now() + Duration::from_secs(20);
        while log.lock().unwrap().len() < JOBS {
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(5));
        }
        d.shutdown_blocking(Duration::ZERO);
        let part = log.lock().unwrap().len();
        // Process 2 (any settings: the order lives in the rows) finishes.
        let (cb, out) = support::outcomes();
        let d = durable(&dir.db()).on_outcome(cb).build().unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outbox = d.outbox().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = rt.block_on(outbox.status()).unwrap();
            if s.delivered == (JOBS * 3) as u64 {
                break;
            }
            assert!(Instant::now() < deadline, "{s:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        d.shutdown_blocking(Duration::from_secs(5));
        drop(out);
        let log = log.lock().unwrap();
        let (violations, accepted) = check_order(&log);
        assert_eq!(violations, 0, "{log:?}");
        assert!(accepted.values().all(|v| v == &STATES) && accepted.len() == JOBS);
        println!(
            "ordering, SQLite across a restart: {JOBS} jobs, {} requests ({part} before the restart), 0 out of order",
            log.len()
        );
    }

    #[test]
    fn rate_limit_with_sqlite_is_measured_within_5_percent() {
        let _timed = timed();
        const N: usize = 76;
        let dir = TempDir::new("rate");
        let rx = Receiver::always(200);
        let host = format!("127.0.0.1:{}", rx.port());
        let (cb, out) = support::outcomes();
        let d = durable(&dir.db())
            .rate_limit_host(&host, RateLimit::per_second(25.0))
            .on_outcome(cb)
            .build()
            .unwrap();
        for i in 0..N {
            d.fire(&rx.url("/h"), &event(&format!("job-{i}"), "queued"));
        }
        let outcomes = out.take(N, 30);
        let stats = d.stats();
        d.shutdown_blocking(Duration::from_secs(5));
        assert!(undelivered(&outcomes).is_empty());
        assert!(
            outcomes.iter().all(|o| o.attempts == 1),
            "no attempt used up by waiting"
        );
        let hits = rx.hits();
        assert_eq!(hits.len(), N);
        let span = (hits[N - 1].at - hits[0].at).as_secs_f64();
        let rate = (N - 1) as f64 / span;
        println!(
            "rate limit, SQLite: 25/s asked, {rate:.2}/s measured over {span:.2} s ({} claims deferred back to the store)",
            stats.deferred
        );
        assert!((rate - 25.0).abs() <= 25.0 * 0.05, "{rate}");
    }

    #[test]
    fn breaker_with_sqlite_defers_claims_back_to_the_store() {
        let _timed = timed();
        let dir = TempDir::new("breaker");
        let t0 = Instant::now();
        let dead = Receiver::start(move |_, _| {
            if t0.elapsed() < Duration::from_millis(1500) {
                Reply::status(503)
            } else {
                Reply::status(200)
            }
        });
        let healthy = Receiver::always(200);
        let (cb, out) = support::outcomes();
        let d = durable(&dir.db())
            .max_retries(3)
            .circuit_breaker(
                CircuitBreaker::new()
                    .consecutive_failures(3)
                    .open_for(Duration::from_millis(300))
                    .max_open_for(Duration::from_millis(300)),
            )
            .on_outcome(cb)
            .build()
            .unwrap();
        const N: usize = 30;
        for i in 0..N {
            d.fire(&dead.url("/h"), &event(&format!("dead-{i}"), "queued"));
            d.fire(&healthy.url("/h"), &event(&format!("ok-{i}"), "queued"));
        }
        let outcomes = out.take(2 * N, 30);
        let recovered_in = t0.elapsed();
        let stats = d.stats();
        assert!(recovered_in < Duration::from_secs(5), "{recovered_in:?}");
        d.shutdown_blocking(Duration::from_secs(5));
        assert!(
            undelivered(&outcomes).is_empty(),
            "{:?}",
            undelivered(&outcomes)
        );
        assert!(
            stats.deferred > 0 && stats.circuits_opened >= 1,
            "{stats:?}"
        );
        let failing = dead
            .hits()
            .iter()
            .filter(|h| h.at - t0 < Duration::from_millis(1500))
            .count();
        // 8 in flight at the trip, then about one probe per 300 ms.
        assert!(failing <= 8 + 6, "{failing} failing requests");
        println!(
            "breaker, SQLite: {N} events to a destination failing 1.5 s: {failing} failing requests, \
             {} claims deferred back to the store, all delivered by {recovered_in:?}",
            stats.deferred
        );
    }
}

#[test]
fn ordered_events_waiting_at_shutdown_each_get_one_outcome() {
    // A receiver that never answers in time: every job's first event is in flight or
    // retrying, the other two wait behind it; shutdown abandons them all, once each.
    let rx = Receiver::start(|_, _| Reply::status(503).delay(Duration::from_millis(300)));
    let (cb, out) = support::outcomes();
    let d = local()
        .ordered_per_job()
        .base_delay(Duration::from_secs(5))
        .on_outcome(cb)
        .build()
        .unwrap();
    fire_all(&d, &rx.url("/h"), 10);
    std::thread::sleep(Duration::from_millis(100));
    let report = d.shutdown_blocking(Duration::from_millis(50));
    let outcomes = out.take(30, 10);
    assert!(
        out.none_within(Duration::from_millis(300)),
        "a second outcome"
    );
    let mut ids: Vec<(String, String)> = outcomes
        .iter()
        .map(|o| (o.job_id.clone(), o.state.clone()))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 30, "one outcome per event");
    assert_eq!(report.stats.fired, 30);
    assert_eq!(report.stats.terminal(), 30);
    assert_eq!(report.stats.pending, 0);
    // Only the heads were ever sent.
    assert!(rx.hits().len() <= 10, "{}", rx.hits().len());
}
