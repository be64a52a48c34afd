//! Soak, short variant: 10 000 signed events at a receiver that fails every third request; the books balance.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use foreman_webhook::native::{Outcome, OutcomeKind};
use foreman_webhook::{verify, Dispatcher, Event, Secret, Timestamp};
use support::{Receiver, Reply};

/// `SOAK_EVENTS=100000 cargo test --release --features native --test dispatcher_soak -- --nocapture`
/// runs the long variant.
#[test]
fn soak_a_third_of_requests_fail_every_event_accounted_for() {
    let n: u64 = std::env::var("SOAK_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let secret = Secret::new("soak-secret").unwrap();
    let rx = Receiver::start(|i, _| Reply::status(if i % 3 == 2 { 500 } else { 200 }));
    let seen: Arc<Mutex<HashMap<u64, Outcome>>> = Arc::default();
    let dup = Arc::new(Mutex::new(0u64));
    let (s2, d2) = (seen.clone(), dup.clone());
    let d = Dispatcher::builder()
        .secret(secret.clone())
        .allow_cidr("127.0.0.1/32")
        .base_delay(Duration::from_millis(5)) // compressed: 5, 10, 20, 40, 80 ms
        .max_pending(n as usize)
        .max_per_host(64)
        .on_outcome(move |o| {
            if s2.lock().unwrap().insert(o.id.get(), o.clone()).is_some() {
                *d2.lock().unwrap() += 1;
            }
        })
        .build()
        .unwrap();
    let url = rx.url("/soak");
    let t0 = Instant::now();
    for i in 0..n {
        let mut e = Event::new(format!("job-{i}"), "succeeded", Timestamp::UNIX_EPOCH);
        e.attempt = 1;
        d.fire(&url, &e);
    }
    let fire_time = t0.elapsed();
    let report = d.shutdown_blocking(Duration::from_secs(120));
    let took = t0.elapsed();
    let s = report.stats;
    eprintln!(
        "soak: {n} events in {:.2} s ({:.0} events/s; fire {:.2} µs each)\n{s:#?}",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        fire_time.as_secs_f64() * 1e6 / n as f64
    );
    assert!(!report.deadline_reached);
    assert_eq!(s.fired, n);
    assert_eq!(s.terminal(), n, "every event reached a terminal outcome");
    assert_eq!(s.pending, 0);
    assert_eq!(*dup.lock().unwrap(), 0, "no event has two outcomes");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len() as u64, n, "one outcome per event");
    assert_eq!(s.delivered + s.exhausted, n);

    // The receiver's view: every request signed and exactly as fired; the events it
    // answered with 2xx are exactly the delivered ones.
    let hits = rx.hits();
    assert_eq!(hits.len() as u64, s.attempts);
    let mut ok_jobs = HashSet::new();
    for (i, hit) in hits.iter().enumerate() {
        let sig = hit.header("x-foreman-signature").unwrap();
        assert_eq!(verify(&hit.body, sig, &secret), Ok(()));
        let e = Event::from_json(&hit.body).unwrap();
        if i % 3 != 2 {
            assert!(ok_jobs.insert(e.job_id), "a delivered event was sent again");
        }
    }
    let delivered: HashSet<String> = seen
        .values()
        .filter(|o| matches!(o.kind, OutcomeKind::Delivered { status: 200 }))
        .map(|o| o.job_id.clone())
        .collect();
    assert_eq!(delivered, ok_jobs);
    assert_eq!(s.failed_attempts, s.attempts - s.delivered);
}
