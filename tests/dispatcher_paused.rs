//! The real default schedule (1, 2, 4, 8, 16 s) in virtual time: no sockets are involved (the name does not resolve), so `start_paused` is exact.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use foreman_webhook::native::{OutcomeKind, StaticResolver};
use foreman_webhook::{Dispatcher, Event, Timestamp};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn default_schedule_exhausts_after_six_attempts_in_31_virtual_seconds() {
    let ended: Arc<Mutex<Option<(Instant, u32, OutcomeKind)>>> = Arc::default();
    let e2 = ended.clone();
    // Built inside the paused runtime, so its timers run on virtual time. Every attempt
    // fails at name resolution (a transport error, retried) without touching the network.
    let d = Dispatcher::builder()
        .resolver(StaticResolver::new())
        .on_outcome(move |o| *e2.lock().unwrap() = Some((Instant::now(), o.attempts, o.kind)))
        .build()
        .unwrap();
    let t0 = Instant::now();
    d.fire(
        "https://receiver-down.test/hook",
        &Event::new("job-v", "failed", Timestamp::UNIX_EPOCH),
    );
    // Attempts happen at 0, 1, 3, 7, 15 and 31 s.
    let mut seen = vec![];
    for check in [0.5, 1.5, 3.5, 7.5, 15.5, 30.5, 31.5] {
        tokio::time::sleep_until(t0 + Duration::from_secs_f64(check)).await;
        seen.push(d.stats().attempts);
    }
    assert_eq!(seen, [1, 2, 3, 4, 5, 5, 6]);
    let (at, attempts, kind) = ended.lock().unwrap().expect("an outcome");
    assert_eq!((attempts, kind), (6, OutcomeKind::Exhausted));
    let total = at - t0;
    assert!(
        total >= Duration::from_secs(31) && total < Duration::from_millis(31_100),
        "{total:?}"
    );
    let s = d.stats();
    assert_eq!(
        (s.exhausted, s.failed_attempts, s.retries_scheduled),
        (1, 6, 5)
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_deadline_in_virtual_time_abandons_the_scheduled_retry() {
    let d = Dispatcher::builder()
        .resolver(StaticResolver::new())
        .build()
        .unwrap();
    d.fire(
        "https://receiver-down.test/hook",
        &Event::new("job-w", "failed", Timestamp::UNIX_EPOCH),
    );
    tokio::time::sleep(Duration::from_millis(1500)).await; // 2 attempts; next at 3 s
    let t0 = Instant::now();
    let report = d.shutdown(Duration::from_secs(1)).await;
    assert!(Instant::now() - t0 >= Duration::from_secs(1));
    assert!(report.deadline_reached);
    assert_eq!(report.abandoned, ["job-w"]);
    assert_eq!(report.stats.attempts, 2);
    assert_eq!(report.stats.abandoned_at_shutdown, 1);
}
