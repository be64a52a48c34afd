//! `fire` without the scheduler's lock, due retries before fresh events, and the
//! dispatcher's own multi-thread runtime: every guarantee against real receivers on
//! 127.0.0.1 (real time).
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use foreman_webhook::native::OutcomeKind;
use foreman_webhook::{Dispatcher, Event, Timestamp};
use support::{outcomes, Receiver, Reply};

fn event(job: &str) -> Event {
    Event::new(
        job,
        "succeeded",
        Timestamp::from_unix_seconds(1_764_338_400).unwrap(),
    )
}

/// Four threads fire at once while shutdown begins in the middle of the burst: each
/// returned id gets exactly one outcome, the cap's drops and the shutdown's abandons
/// included, and the counters add up.
fn race_fire_and_shutdown(workers: usize) {
    const THREADS: usize = 4;
    const PER_THREAD: usize = 1500;
    let rx = Receiver::start(|_, _| Reply::status(200));
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .worker_threads(workers)
        .max_pending(2000)
        .max_concurrency(16)
        .max_per_host(16)
        .on_outcome(cb)
        .build()
        .unwrap();
    let url = rx.url("/hook");
    let start = Arc::new(Barrier::new(THREADS + 1));
    let firing: Vec<_> = (0..THREADS)
        .map(|t| {
            let (d, url, start) = (d.clone(), url.clone(), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                (0..PER_THREAD)
                    .map(|i| d.fire(&url, &event(&format!("job-{t}-{i}"))))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    start.wait();
    std::thread::sleep(Duration::from_millis(5));
    let report = d.shutdown_blocking(Duration::from_millis(50));
    let ids: Vec<_> = firing.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(ids.len(), THREADS * PER_THREAD);
    let mut seen = HashMap::new();
    for _ in 0..ids.len() {
        let o = out.next(20);
        assert!(
            seen.insert(o.id, o.kind).is_none(),
            "two outcomes for {:?}",
            o.id
        );
    }
    assert!(
        out.none_within(Duration::from_millis(200)),
        "an extra outcome"
    );
    for id in &ids {
        assert!(seen.contains_key(id), "no outcome for {id:?}");
    }
    let count = |f: fn(&OutcomeKind) -> bool| seen.values().filter(|k| f(k)).count() as u64;
    let delivered = count(|k| matches!(k, OutcomeKind::Delivered { .. }));
    let dropped = count(|k| *k == OutcomeKind::DroppedAtCapacity);
    let abandoned = count(|k| *k == OutcomeKind::AbandonedAtShutdown);
    assert_eq!(
        delivered + dropped + abandoned,
        ids.len() as u64,
        "{seen:?}"
    );
    let s = d.stats();
    assert_eq!(s.fired, ids.len() as u64);
    assert_eq!(s.pending, 0);
    assert_eq!(s.fired, s.terminal(), "{s:?}");
    assert_eq!(
        (s.delivered, s.dropped_at_capacity, s.abandoned_at_shutdown),
        (delivered, dropped, abandoned)
    );
    // Every delivery was received; a request cut short by the shutdown may have been
    // received too (its event is abandoned); dropped events never left.
    let hits = rx.hits().len() as u64;
    assert!(
        (delivered..=delivered + abandoned).contains(&hits),
        "{hits} requests for {delivered} deliveries"
    );
    assert_eq!(report.stats.pending, 0);
    assert!(abandoned > 0, "the shutdown landed in the burst: {s:?}");
}

#[test]
fn racing_fires_and_shutdown_end_every_event_once_on_one_thread() {
    race_fire_and_shutdown(1);
}

#[test]
fn racing_fires_and_shutdown_end_every_event_once_on_two_threads() {
    race_fire_and_shutdown(2);
}

/// One slot, a burst of 40 fresh events (25 ms each at the receiver) queued before a
/// retry comes due: the retry goes next, ahead of every fresh event still waiting. (It
/// used to queue behind all of them, about a second late.)
#[test]
fn a_due_retry_goes_before_fresh_events_already_waiting() {
    let rx = Receiver::start(|n, _| {
        Reply::status(if n == 0 { 500 } else { 200 }).delay(Duration::from_millis(25))
    });
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .base_delay(Duration::from_millis(100))
        .max_concurrency(1)
        .max_per_host(1)
        .on_outcome(cb)
        .build()
        .unwrap();
    let url = rx.url("/hook");
    d.fire(&url, &event("retry-me"));
    // Wait for the first attempt's 500, then queue the burst behind it.
    let t0 = Instant::now();
    while d.stats().retries_scheduled == 0 {
        assert!(t0.elapsed() < Duration::from_secs(10), "no retry scheduled");
        std::thread::sleep(Duration::from_millis(1));
    }
    let scheduled_at = Instant::now();
    for i in 0..40 {
        d.fire(&url, &event(&format!("fresh-{i}")));
    }
    let got = out.take(41, 30);
    assert!(got
        .iter()
        .all(|o| matches!(o.kind, OutcomeKind::Delivered { .. })));
    let hits = rx.hits();
    let order: Vec<String> = hits
        .iter()
        .map(|h| {
            let v: serde_json::Value = serde_json::from_slice(&h.body).unwrap();
            v["job_id"].as_str().unwrap().to_owned()
        })
        .collect();
    let second = order
        .iter()
        .skip(1)
        .position(|j| j == "retry-me")
        .expect("the retry was sent")
        + 1;
    // Due at 100 ms; each attempt holds the only slot ~25 ms: the retry waits for at
    // most the attempt in flight when it comes due (a few more on a loaded machine),
    // never for the rest of the 40.
    assert!(
        second <= 10,
        "retry sent as request {second} of {}: {order:?}",
        order.len()
    );
    let retry_hit = hits[second].at;
    let late = retry_hit.saturating_duration_since(scheduled_at + Duration::from_millis(100));
    assert!(late < Duration::from_millis(400), "retry {late:?} late");
}

/// `fire` while the scheduler is busy (every slot held, a long backlog) returns at once,
/// and a shutdown then still ends every event exactly once.
#[test]
fn fire_is_fast_while_the_scheduler_is_busy() {
    // The receiver holds each request, so the scheduler is busy with a full set of slots
    // and a long backlog; `fire` must still return at once.
    let rx = Receiver::start(|_, _| Reply::status(200).delay(Duration::from_millis(50)));
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .max_concurrency(4)
        .max_per_host(4)
        .max_pending(100_000)
        .on_outcome(cb)
        .build()
        .unwrap();
    let url = rx.url("/hook");
    let t0 = Instant::now();
    for i in 0..20_000 {
        d.fire(&url, &event(&format!("job-{i}")));
    }
    let took = t0.elapsed();
    // Generous bound for a debug build on a loaded machine: 20,000 fires, no waiting.
    assert!(took < Duration::from_secs(10), "{took:?}");
    let report = d.shutdown_blocking(Duration::from_millis(200));
    let s = report.stats;
    assert_eq!(s.pending, 0);
    assert_eq!(s.fired, 20_000);
    assert_eq!(s.fired, s.terminal(), "{s:?}");
    assert_eq!(s.delivered + s.abandoned_at_shutdown, 20_000);
    let mut n = 0;
    while !out.none_within(Duration::from_millis(300)) {
        n += 1;
    }
    assert_eq!(n, 20_000);
}
