//! Lateness of retries against their schedule with 100 000 deliveries waiting on retry
//! (issue 9, section 4; the memory half is `examples/pending_memory.rs`, and
//! `perf/memory-and-timers.sh` runs both).
//!
//! Run: `CARGO_TARGET_DIR=/work/target-bench cargo bench --features native --bench retry_timers`
//! (`N=20000`, `RETRY_DELAY_SECS=30` to change the load and the wait; `QUICK=1` for a
//! smoke run of 10 000 with a 10 s wait).
//!
//! Method. The receiver is down: every attempt goes to a closed port on 127.0.0.1 and is
//! refused at once. The dispatcher (`max_retries(1)`, base delay D, no jitter) logs
//! `webhook delivery failed` with the job id and the attempt number at the end of each
//! failed attempt; a minimal `tracing` subscriber here takes a monotonic timestamp of
//! each such event. The dispatcher computes a retry's due time as "end of attempt 1 + D"
//! right after that log line, so for each delivery
//!
//! `lateness = t(end of attempt 2) − t(end of attempt 1) − D`
//!
//! is how much later than scheduled the retry ran (over-estimated by the microseconds
//! between the log line and the scheduling; both timestamps are taken at the same point
//! of an attempt, so the attempt's own cost cancels out except for its variation). The
//! exhausted outcome (`on_outcome`, right after attempt 2) gives a second estimate. All N
//! deliveries are waiting on retry at once when the first retry comes due (checked: the
//! run says so, or says it was not).

#[cfg(target_arch = "wasm32")]
fn main() {}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    native::main();
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(unsafe_code)] // clock_gettime for CPU-time clocks
mod common;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::fmt;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, OnceLock};
    use std::time::{Duration, Instant};

    use foreman_webhook::native::OutcomeKind;
    use foreman_webhook::{Dispatcher, Event, RawJson, Secret, Timestamp};
    use tracing::field::{Field, Visit};
    use tracing::span;

    use crate::common::{fmt_ns, load, machine, process_cpu, quantile, rss_bytes, verdict};

    /// Per delivery (index = the number in its job id): ns since `EPOCH` at the end of
    /// attempt 1, of attempt 2, and at the exhausted outcome. 0 = not seen.
    struct Marks {
        first: Vec<AtomicU64>,
        second: Vec<AtomicU64>,
        outcome: Vec<AtomicU64>,
        epoch: Instant,
        stray: AtomicU64,
    }

    static MARKS: OnceLock<Marks> = OnceLock::new();

    impl Marks {
        fn now(&self) -> u64 {
            (self.epoch.elapsed().as_nanos() as u64).max(1)
        }
    }

    /// Collects the digits of a formatted job id (`job-000123` → 123) without allocating.
    #[derive(Default)]
    struct Digits(Option<u64>);

    impl fmt::Write for Digits {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            for b in s.bytes().filter(u8::is_ascii_digit) {
                self.0 = Some(self.0.unwrap_or(0) * 10 + u64::from(b - b'0'));
            }
            Ok(())
        }
    }

    #[derive(Default)]
    struct Fields {
        job: Option<u64>,
        attempt: Option<u64>,
    }

    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
            if field.name() == "job_id" {
                let mut d = Digits::default();
                let _ = fmt::write(&mut d, format_args!("{value:?}"));
                self.job = d.0;
            }
        }
        fn record_str(&mut self, field: &Field, value: &str) {
            if field.name() == "job_id" {
                let mut d = Digits::default();
                let _ = fmt::Write::write_str(&mut d, value);
                self.job = d.0;
            }
        }
        fn record_u64(&mut self, field: &Field, value: u64) {
            if field.name() == "attempt" {
                self.attempt = Some(value);
            }
        }
        fn record_i64(&mut self, field: &Field, value: i64) {
            if field.name() == "attempt" {
                self.attempt = u64::try_from(value).ok();
            }
        }
    }

    /// Timestamps `webhook delivery failed` events; ignores everything else.
    struct AttemptClock;

    impl tracing::Subscriber for AttemptClock {
        fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
            meta.is_event() && *meta.level() == tracing::Level::WARN
        }
        fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
            span::Id::from_u64(1)
        }
        fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
        fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
        fn event(&self, event: &tracing::Event<'_>) {
            let Some(marks) = MARKS.get() else { return };
            let now = marks.now();
            let mut f = Fields::default();
            event.record(&mut f);
            let slot = match (f.job, f.attempt) {
                (Some(j), Some(1)) => marks.first.get(j as usize),
                (Some(j), Some(2)) => marks.second.get(j as usize),
                _ => None,
            };
            match slot {
                Some(s) => s.store(now, Ordering::Relaxed),
                None => {
                    marks.stray.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        fn enter(&self, _: &span::Id) {}
        fn exit(&self, _: &span::Id) {}
    }

    fn env_num(name: &str) -> Option<u64> {
        std::env::var(name).ok()?.parse().ok()
    }

    fn wait(done: impl Fn() -> bool, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !done() {
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    fn summary(label: &str, v: &mut [i64]) -> (String, i64) {
        v.sort_unstable();
        let f = |ns: i64| {
            if ns < 0 {
                format!("−{}", fmt_ns(-ns as f64))
            } else {
                fmt_ns(ns as f64)
            }
        };
        let p99 = quantile(v, 0.99);
        (
            format!(
                "| {label} | {} | {} | {} | {} | {} | {} |",
                v.len(),
                f(v[0]),
                f(quantile(v, 0.5)),
                f(p99),
                f(quantile(v, 0.999)),
                f(*v.last().unwrap())
            ),
            p99,
        )
    }

    pub fn main() {
        let quick = std::env::var_os("QUICK").is_some();
        let n = env_num("N").unwrap_or(if quick { 10_000 } else { 100_000 }) as usize;
        let delay =
            Duration::from_secs(env_num("RETRY_DELAY_SECS").unwrap_or(if quick { 10 } else { 30 }));
        println!("machine: {}", machine());

        let epoch = Instant::now();
        let mk = || (0..n).map(|_| AtomicU64::new(0)).collect::<Vec<_>>();
        assert!(MARKS
            .set(Marks {
                first: mk(),
                second: mk(),
                outcome: mk(),
                epoch,
                stray: AtomicU64::new(0),
            })
            .is_ok());
        let marks = MARKS.get().unwrap();
        tracing::subscriber::set_global_default(AttemptClock).expect("subscriber");

        // A port nothing listens on: every attempt is refused at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/hook");
        let exhausted = Arc::new(AtomicU64::new(0));
        let ex = exhausted.clone();
        let dispatcher = Dispatcher::builder()
            .secret(Secret::new("whsec-timer-test").unwrap())
            .allow_cidr("127.0.0.1/32")
            .max_pending(n + 1)
            // `C=n`: the concurrency limit (default 64, as in the delivery bench).
            .max_concurrency(env_num("C").unwrap_or(64) as usize)
            .max_per_host(env_num("C").unwrap_or(64) as usize)
            .max_retries(1)
            .base_delay(delay)
            // `WORKERS=2`: the dispatcher's own runtime on 2 threads (default 1).
            .worker_threads(env_num("WORKERS").unwrap_or(1) as usize)
            .on_outcome(move |o| {
                if o.kind == OutcomeKind::Exhausted {
                    let mut d = Digits::default();
                    let _ = fmt::Write::write_str(&mut d, &o.job_id);
                    if let Some(s) = d.0.and_then(|j| MARKS.get()?.outcome.get(j as usize)) {
                        s.store(MARKS.get().map_or(1, Marks::now), Ordering::Relaxed);
                    }
                    ex.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build()
            .expect("dispatcher");

        let mut template = Event::new("job-000000", "running", Timestamp::UNIX_EPOCH);
        template.previous_state = "queued".into();
        template.model = "llama-3-8b".into();
        let pad = 1024 - template.to_json().len() - r#"{"log":""}"#.len() + "null".len();
        template.result =
            Some(RawJson::new(format!(r#"{{"log":"{}"}}"#, "x".repeat(pad))).unwrap());
        assert_eq!(template.to_json().len(), 1024);

        let rss0 = rss_bytes();
        let cpu0 = process_cpu();
        let t0 = Instant::now();
        let mut event = template.clone();
        for i in 0..n {
            event.job_id = format!("job-{i:06}");
            dispatcher.fire(&url, &event);
        }
        let fired = t0.elapsed();
        let all_waiting = wait(
            || dispatcher.stats().retries_scheduled as usize >= n,
            Duration::from_secs(600),
        );
        let settled = t0.elapsed();
        let s = dispatcher.stats();
        let waiting_before_first_due = all_waiting && settled < delay;
        let rss1 = rss_bytes();
        let cpu1 = process_cpu();
        println!(
            "{n} deliveries of 1024 B to closed port 127.0.0.1:{port}; retry after D = {} s; \
             fired in {:.2} s, all {} waiting on retry after {:.2} s ({}); \
             RSS +{:.0} B per pending delivery (timestamps preallocated; see pending_memory for the clean figure)",
            delay.as_secs(),
            fired.as_secs_f64(),
            s.retries_scheduled,
            settled.as_secs_f64(),
            if waiting_before_first_due {
                "before the first retry came due"
            } else {
                "NOT all before the first retry came due: raise RETRY_DELAY_SECS"
            },
            rss1.saturating_sub(rss0) as f64 / n as f64
        );
        let ok = wait(
            || exhausted.load(Ordering::Relaxed) as usize >= n,
            delay + Duration::from_secs(600),
        );
        let cpu2 = process_cpu();
        println!(
            "retries done after {:.2} s: {ok}; stats {:?}",
            t0.elapsed().as_secs_f64(),
            dispatcher.stats()
        );
        println!(
            "process CPU time: {} per delivery for fire() + first attempt, {} per retry \
             attempt (one runtime thread: at most {:.0} refused attempts/s)",
            fmt_ns((cpu1 - cpu0).as_nanos() as f64 / n as f64),
            fmt_ns((cpu2 - cpu1).as_nanos() as f64 / n as f64),
            n as f64 / (cpu2 - cpu1).as_secs_f64()
        );
        dispatcher.shutdown_blocking(Duration::from_secs(5));

        let d = delay.as_nanos() as i64;
        let mut by_log = Vec::with_capacity(n);
        let mut by_outcome = Vec::with_capacity(n);
        let mut missing = 0;
        // (due time, lateness) to see whether lateness grows through the burst.
        let mut by_due: Vec<(i64, i64)> = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b, o) = (
                marks.first[i].load(Ordering::Relaxed) as i64,
                marks.second[i].load(Ordering::Relaxed) as i64,
                marks.outcome[i].load(Ordering::Relaxed) as i64,
            );
            if a == 0 || b == 0 || o == 0 {
                missing += 1;
                continue;
            }
            by_log.push(b - a - d);
            by_outcome.push(o - a - d);
            by_due.push((a + d, b - a - d));
        }
        by_due.sort_unstable();
        if let (Some(first), Some(last)) = (by_due.first(), by_due.last()) {
            let span = (last.0 - first.0).max(1) as f64 / 1e9;
            let first_ends = by_due.iter().map(|x| x.0 - d).min().unwrap_or(0);
            let last_end = by_due.iter().map(|x| x.0 + x.1).max().unwrap_or(0);
            println!(
                "first attempts ended over {:.2} s ({:.0}/s), so retries came due at that rate; \
                 the retries ran from {:.2} s to {:.2} s after the first came due ({:.0}/s)",
                span,
                by_due.len() as f64 / span,
                0.0,
                (last_end - first.0) as f64 / 1e9,
                by_due.len() as f64 / ((last_end - first.0) as f64 / 1e9)
            );
            let _ = first_ends;
            // The process's CPU over each phase's wall time: how much of a core the
            // runtime thread got (the caller's thread only fires, then sleeps). With one
            // thread the retries need what the burst got: if the replay gets less, the
            // backlog grows whatever a retry costs.
            let replay_wall = (last_end - first.0).max(1) as f64 / 1e9;
            println!(
                "cores used: {:.2} during the first attempts ({:.2} s CPU over {:.2} s), \
                 {:.2} during the retries ({:.2} s CPU over {:.2} s)",
                (cpu1 - cpu0).as_secs_f64() / span,
                (cpu1 - cpu0).as_secs_f64(),
                span,
                (cpu2 - cpu1).as_secs_f64() / replay_wall,
                (cpu2 - cpu1).as_secs_f64(),
                replay_wall
            );
            let tenth = (by_due.len() / 10).max(1);
            let p99_of = |part: &[(i64, i64)]| {
                let mut v: Vec<i64> = part.iter().map(|x| x.1).collect();
                v.sort_unstable();
                quantile(&v, 0.99)
            };
            println!(
                "lateness p99 by due time: first tenth {}, middle tenth {}, last tenth {}",
                fmt_ns(p99_of(&by_due[..tenth]) as f64),
                fmt_ns(p99_of(&by_due[by_due.len() / 2..by_due.len() / 2 + tenth]) as f64),
                fmt_ns(p99_of(&by_due[by_due.len() - tenth..]) as f64)
            );
        }
        println!(
            "timestamps: {} complete, {missing} missing, {} unmatched log events",
            by_log.len(),
            marks.stray.load(Ordering::Relaxed)
        );
        if by_log.is_empty() {
            return;
        }
        println!();
        println!("| lateness of the retry vs its schedule | deliveries | min | p50 | p99 | p99.9 | max |");
        println!("|---|---|---|---|---|---|---|");
        let (row, p99) = summary(
            "end of attempt 2 − end of attempt 1 − D (log timestamps)",
            &mut by_log,
        );
        println!("{row}");
        println!(
            "{}",
            summary(
                "exhausted outcome − end of attempt 1 − D (outcome callback)",
                &mut by_outcome
            )
            .0
        );
        println!();
        println!("| target | measured | verdict |");
        println!("|---|---|---|");
        println!(
            "| retry lateness p99 ≤ 50 ms with {n} waiting | {} ({:.2}× the budget) | {} |",
            fmt_ns(p99 as f64),
            50e6 / p99.max(1) as f64,
            verdict(p99 <= 50_000_000 && waiting_before_first_due)
        );
        println!();
        println!("load average after the run: {}", load());
    }
}
