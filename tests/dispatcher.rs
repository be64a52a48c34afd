//! The native dispatcher against an in-process receiver on 127.0.0.1 (real time, scaled delays).
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod support;

use std::time::{Duration, Instant};

use foreman_webhook::native::{OutcomeKind, RejectReason, StaticResolver};
use foreman_webhook::standard::StandardWebhook;
use foreman_webhook::{verify, Dispatcher, Event, Secret, Timestamp};
use support::{closed_port, outcomes, Receiver, Reply};

const SECRET: &str = "s3cr3t-for-tests-only";

fn event(job: &str) -> Event {
    let mut e = Event::new(
        job,
        "succeeded",
        Timestamp::from_unix_seconds(1_764_338_400).unwrap(),
    );
    e.previous_state = "running".into();
    e.model = "llama".into();
    e.attempt = 1;
    e
}

fn local() -> foreman_webhook::DispatcherBuilder {
    Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .base_delay(Duration::from_millis(20))
}

#[test]
fn exact_body_and_signature_that_verifies() {
    let rx = Receiver::always(204);
    let (cb, out) = outcomes();
    let secret = Secret::new(SECRET).unwrap();
    let d = local()
        .secret(secret.clone())
        .on_outcome(cb)
        .build()
        .unwrap();
    let ev = event("job-1");
    let id = d.fire(&rx.url("/hook"), &ev);
    let o = out.next(10);
    assert_eq!(o.id, id);
    assert_eq!(o.job_id, "job-1");
    assert_eq!(o.state, "succeeded");
    assert_eq!(o.attempts, 1);
    assert_eq!(o.kind, OutcomeKind::Delivered { status: 204 });
    let hits = rx.hits();
    assert_eq!(hits.len(), 1);
    let hit = &hits[0];
    assert_eq!(hit.path, "/hook");
    assert_eq!(&hit.body[..], &ev.to_json()[..], "the exact bytes");
    assert_eq!(hit.header("content-type"), Some("application/json"));
    assert!(hit
        .header("user-agent")
        .unwrap()
        .starts_with("foreman-webhook/"));
    let sig = hit.header("x-foreman-signature").unwrap();
    assert_eq!(verify(&hit.body, sig, &secret), Ok(()));
    assert_eq!(Event::from_json(&hit.body).unwrap(), ev);
    let s = d.stats();
    assert_eq!((s.fired, s.delivered, s.attempts, s.pending), (1, 1, 1, 0));
}

#[test]
fn unsigned_without_a_secret() {
    let rx = Receiver::always(200);
    let (cb, out) = outcomes();
    let d = local().on_outcome(cb).build().unwrap();
    d.fire(&rx.url("/"), &event("job-u"));
    assert!(matches!(out.next(10).kind, OutcomeKind::Delivered { .. }));
    assert!(rx.hits()[0].header("x-foreman-signature").is_none());
}

#[test]
fn standard_webhooks_headers_stable_id_fresh_signature() {
    let rx = Receiver::start(|n, _| Reply::status(if n < 2 { 500 } else { 200 }));
    let (cb, out) = outcomes();
    let std_secret = Secret::from_standard("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    let d = local()
        .secret(Secret::new(SECRET).unwrap())
        .standard_webhooks(std::slice::from_ref(&std_secret))
        .on_outcome(cb)
        .build()
        .unwrap();
    d.fire(&rx.url("/"), &event("job-std"));
    assert_eq!(out.next(10).attempts, 3);
    let hits = rx.hits();
    let wh = StandardWebhook::new(std::slice::from_ref(&std_secret)).unwrap();
    let ids: Vec<_> = hits
        .iter()
        .map(|h| h.header("webhook-id").unwrap())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "same id on every retry");
    for h in &hits {
        let headers = foreman_webhook::standard::Headers::from_fn(|n| h.header(n));
        let ts: i64 = h.header("webhook-timestamp").unwrap().parse().unwrap();
        assert!(wh.verify(&headers, &h.body, ts).is_ok());
        assert!(h.header("x-foreman-signature").is_some());
    }
    assert!(
        Dispatcher::builder()
            .standard_webhooks(&[])
            .build()
            .is_err(),
        "no secrets"
    );
}

#[test]
fn retries_500_then_delivers() {
    let rx = Receiver::start(|n, _| Reply::status(if n == 0 { 500 } else { 200 }));
    let (cb, out) = outcomes();
    let d = local().on_outcome(cb).build().unwrap();
    d.fire(&rx.url("/"), &event("job-2"));
    let o = out.next(10);
    assert_eq!(o.kind, OutcomeKind::Delivered { status: 200 });
    assert_eq!(o.attempts, 2);
    assert_eq!(rx.hits().len(), 2);
    let s = d.stats();
    assert_eq!(
        (
            s.attempts,
            s.failed_attempts,
            s.retries_scheduled,
            s.delivered
        ),
        (2, 1, 1, 1)
    );
}

#[test]
fn exhausted_after_exactly_six_attempts_with_doubling_waits() {
    let base = Duration::from_millis(40);
    let rx = Receiver::always(500);
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .base_delay(base)
        .on_outcome(cb)
        .build()
        .unwrap();
    d.fire(&rx.url("/"), &event("job-3"));
    let o = out.next(20);
    assert_eq!(o.kind, OutcomeKind::Exhausted);
    assert_eq!(o.attempts, 6);
    let hits = rx.hits();
    assert_eq!(hits.len(), 6, "1 attempt + 5 retries");
    let gaps: Vec<Duration> = hits.windows(2).map(|w| w[1].at - w[0].at).collect();
    for (i, gap) in gaps.iter().enumerate() {
        let nominal = base * (1 << i);
        assert!(
            *gap >= nominal && *gap < nominal + Duration::from_millis(250),
            "wait {} was {gap:?}, scheduled {nominal:?}",
            i + 1
        );
    }
    assert!(
        out.none_within(Duration::from_millis(200)),
        "one outcome only"
    );
    let s = d.stats();
    assert_eq!((s.exhausted, s.attempts, s.failed_attempts), (1, 6, 6));
}

#[test]
fn timeout_is_a_failed_attempt() {
    let rx = Receiver::start(|_, _| Reply::status(200).delay(Duration::from_secs(3)));
    let (cb, out) = outcomes();
    let d = local()
        .timeout(Duration::from_millis(200))
        .max_retries(1)
        .on_outcome(cb)
        .build()
        .unwrap();
    let t0 = Instant::now();
    d.fire(&rx.url("/"), &event("job-t"));
    let o = out.next(10);
    assert_eq!(o.kind, OutcomeKind::Exhausted);
    assert_eq!(o.attempts, 2);
    assert!(t0.elapsed() < Duration::from_secs(2), "{:?}", t0.elapsed());
    assert_eq!(rx.hits().len(), 2);
}

#[test]
fn connection_refused_is_retried_then_exhausted() {
    let url = format!("http://127.0.0.1:{}/hook", closed_port());
    let (cb, out) = outcomes();
    let d = local().max_retries(2).on_outcome(cb).build().unwrap();
    d.fire(&url, &event("job-r"));
    let o = out.next(10);
    assert_eq!((o.kind, o.attempts), (OutcomeKind::Exhausted, 3));
    let s = d.stats();
    assert_eq!(
        (s.attempts, s.failed_attempts, s.retries_scheduled),
        (3, 3, 2)
    );
}

#[test]
fn redirects_are_not_followed() {
    let rx = Receiver::start(|_, hit| {
        if hit.path == "/hook" {
            Reply::status(302).header("location", "/elsewhere")
        } else {
            Reply::status(200)
        }
    });
    let (cb, out) = outcomes();
    let d = local().max_retries(1).on_outcome(cb).build().unwrap();
    d.fire(&rx.url("/hook"), &event("job-3xx"));
    let o = out.next(10);
    assert_eq!((o.kind, o.attempts), (OutcomeKind::Exhausted, 2));
    let paths: Vec<_> = rx.hits().into_iter().map(|h| h.path).collect();
    assert_eq!(paths, ["/hook", "/hook"], "3xx is a failed attempt");
}

#[test]
fn response_body_is_read_only_up_to_the_cap() {
    // 8 MiB answer: delivered without reading it all.
    let rx = Receiver::start(|_, _| Reply::status(200).body(vec![b'x'; 8 << 20]));
    let (cb, out) = outcomes();
    let d = local().on_outcome(cb).build().unwrap();
    d.fire(&rx.url("/"), &event("job-big"));
    assert_eq!(out.next(10).kind, OutcomeKind::Delivered { status: 200 });
}

#[test]
fn retry_after_is_honoured() {
    let rx = Receiver::start(|n, _| {
        if n == 0 {
            Reply::status(503).header("retry-after", "1")
        } else {
            Reply::status(200)
        }
    });
    let (cb, out) = outcomes();
    let d = local().on_outcome(cb).build().unwrap();
    d.fire(&rx.url("/"), &event("job-ra"));
    assert_eq!(out.next(10).attempts, 2);
    let hits = rx.hits();
    let gap = hits[1].at - hits[0].at;
    assert!(
        gap >= Duration::from_millis(950) && gap < Duration::from_secs(2),
        "Retry-After: 1 lengthened the 20 ms wait to about 1 s: {gap:?}"
    );
}

#[test]
fn retry_after_is_capped() {
    let date = httpdate_in(3600);
    let rx = Receiver::start(move |n, _| match n {
        0 => Reply::status(429).header("retry-after", "3600"),
        1 => Reply::status(503).header("retry-after", &date),
        _ => Reply::status(200),
    });
    let (cb, out) = outcomes();
    let cap = Duration::from_millis(300);
    let d = local()
        .retry_policy(
            foreman_webhook::native::RetryPolicy::default()
                .with_base_delay(Duration::from_millis(20))
                .with_retry_after_cap(cap),
        )
        .on_outcome(cb)
        .build()
        .unwrap();
    d.fire(&rx.url("/"), &event("job-cap"));
    assert_eq!(out.next(10).attempts, 3);
    let hits = rx.hits();
    for w in hits.windows(2) {
        let gap = w[1].at - w[0].at;
        assert!(
            gap >= cap && gap < cap + Duration::from_millis(400),
            "{gap:?}"
        );
    }
}

fn httpdate_in(secs: u64) -> String {
    // RFC 7231 IMF-fixdate, formatted by hand for the test (no extra dependency).
    let t = std::time::SystemTime::now() + Duration::from_secs(secs);
    let secs = t
        .duration_since(std::time::SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ts = Timestamp::from_unix_seconds(secs).unwrap().to_rfc3339(); // 2026-11-28T14:00:00Z
    let (date, time) = ts.trim_end_matches('Z').split_once('T').unwrap();
    let mut p = date.split('-');
    let (y, m, d): (i64, usize, u32) = (
        p.next().unwrap().parse().unwrap(),
        p.next().unwrap().parse().unwrap(),
        p.next().unwrap().parse().unwrap(),
    );
    let days = secs.div_euclid(86_400);
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][m - 1];
    format!("{wd}, {d:02} {mon} {y} {time} GMT")
}

#[test]
fn capacity_drop_is_counted() {
    let rx = Receiver::start(|_, _| Reply::status(200).delay(Duration::from_millis(300)));
    let (cb, out) = outcomes();
    let d = local().max_pending(2).on_outcome(cb).build().unwrap();
    let t0 = Instant::now();
    for i in 0..5 {
        d.fire(&rx.url("/"), &event(&format!("job-{i}")));
    }
    assert!(
        t0.elapsed() < Duration::from_millis(100),
        "fire never waits"
    );
    let got = out.take(5, 10);
    let dropped: Vec<_> = got
        .iter()
        .filter(|o| o.kind == OutcomeKind::DroppedAtCapacity)
        .map(|o| o.job_id.as_str())
        .collect();
    assert_eq!(dropped, ["job-2", "job-3", "job-4"]);
    assert_eq!(
        got.iter()
            .filter(|o| matches!(o.kind, OutcomeKind::Delivered { .. }))
            .count(),
        2
    );
    let s = d.stats();
    assert_eq!((s.fired, s.dropped_at_capacity, s.delivered), (5, 3, 2));
    assert_eq!(s.terminal() + s.pending, s.fired);
}

#[test]
fn per_host_concurrency_is_bounded() {
    // Each answer takes 100 ms, so a slot is reused at least 100 ms after it was taken:
    // with 2 slots, no 100 ms window can hold 3 arrivals (without the limit, all 6 come
    // at once).
    let hold = Duration::from_millis(100);
    let rx = Receiver::start(move |_, _| Reply::status(200).delay(hold));
    let (cb, out) = outcomes();
    let d = local().max_per_host(2).on_outcome(cb).build().unwrap();
    for i in 0..6 {
        d.fire(&rx.url("/"), &event(&format!("job-{i}")));
    }
    out.take(6, 10);
    let mut at: Vec<Instant> = rx.hits().iter().map(|h| h.at).collect();
    at.sort();
    assert_eq!(at.len(), 6);
    for w in at.windows(3) {
        assert!(w[2] - w[0] >= hold, "3 requests within {:?}", w[2] - w[0]);
    }
    assert_eq!(d.stats().delivered, 6);
}

#[test]
fn shutdown_drains_then_reports() {
    let ok_after_one = Receiver::start(|n, _| Reply::status(if n == 0 { 500 } else { 200 }));
    let never = Receiver::always(503);
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .base_delay(Duration::from_millis(150))
        .on_outcome(cb)
        .build()
        .unwrap();
    d.fire(&ok_after_one.url("/"), &event("job-a")); // retried at ~150 ms, delivered
    d.fire(&never.url("/"), &event("job-b")); // retries at 150, 450, 1050 ms: abandoned
    std::thread::sleep(Duration::from_millis(50));
    let t0 = Instant::now();
    let report = d.shutdown_blocking(Duration::from_millis(700));
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(650) && took < Duration::from_millis(1500),
        "{took:?}"
    );
    assert_eq!(report.delivered, ["job-a"]);
    assert_eq!(report.abandoned, ["job-b"]);
    assert!(report.exhausted.is_empty());
    assert!(report.deadline_reached);
    assert_eq!(report.stats.delivered, 1);
    assert_eq!(report.stats.abandoned_at_shutdown, 1);
    assert_eq!(report.stats.pending, 0);
    assert_eq!(out.take(2, 5).len(), 2);
    assert_eq!(never.hits().len(), 3, "attempts at 0, 150, 450 ms");
    // Fires after shutdown are abandoned at once, still accounted for.
    d.fire(&ok_after_one.url("/"), &event("job-late"));
    assert_eq!(out.next(5).kind, OutcomeKind::AbandonedAtShutdown);
    let s = d.stats();
    assert_eq!(s.fired, s.terminal());
}

#[test]
fn shutdown_returns_early_when_idle() {
    // In flight when shutdown begins, done well before the deadline.
    let rx = Receiver::start(|_, _| Reply::status(200).delay(Duration::from_millis(200)));
    let (cb, out) = outcomes();
    let d = local().on_outcome(cb).build().unwrap();
    d.fire(&rx.url("/"), &event("job-q"));
    let t0 = Instant::now();
    let report = d.shutdown_blocking(Duration::from_secs(10));
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert!(!report.deadline_reached);
    assert_eq!(report.delivered, ["job-q"]);
    assert_eq!(out.next(1).job_id, "job-q");
}

#[test]
fn ssrf_refusals_never_connect() {
    // Loopback destinations only: if the guard ever broke, traffic would still stay on
    // this machine. Every other non-global range, in every spelling, is in tests/ssrf.rs,
    // fired at a dispatcher that can never open a socket.
    let rx = Receiver::always(200);
    let port = rx.port();
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .resolver(
            StaticResolver::new()
                .with("internal.test", ["127.0.0.1".parse().unwrap()])
                .with("mapped.test", ["::ffff:127.0.0.1".parse().unwrap()]),
        )
        .on_outcome(cb)
        .build()
        .unwrap();
    let urls = [
        format!("http://127.0.0.1:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://2130706433:{port}/"),
        format!("http://0x7f000001:{port}/"),
        format!("http://[::1]:{port}/"),
        format!("http://[::ffff:127.0.0.1]:{port}/"),
        format!("http://[::127.0.0.1]:{port}/"),
        format!("http://localhost:{port}/"),
        format!("http://api.localhost:{port}/"),
        format!("http://internal.test:{port}/"),
        format!("http://INTERNAL.test:{port}/"),
        format!("http://mapped.test:{port}/"),
    ];
    let ids: Vec<_> = urls
        .iter()
        .map(|url| d.fire(url, &event("job-ssrf")))
        .collect();
    let got = out.take(urls.len(), 10);
    for o in &got {
        let url = &urls[ids.iter().position(|id| *id == o.id).unwrap()];
        assert_eq!(
            o.kind,
            OutcomeKind::Rejected(RejectReason::ForbiddenAddress),
            "{url}"
        );
    }
    assert!(out.none_within(Duration::from_millis(200)));
    assert_eq!(rx.connections(), 0, "no connection was attempted");
    let s = d.stats();
    assert_eq!(s.rejected, urls.len() as u64);
    assert_eq!(s.retries_scheduled, 0, "a refusal is never retried");
    assert_eq!(
        s.attempts, 5,
        "only names reach the resolver (no connection)"
    );
}

#[test]
fn invalid_urls_are_rejected() {
    let (cb, out) = outcomes();
    let d = Dispatcher::builder().on_outcome(cb).build().unwrap();
    for (url, why) in [
        ("nope", RejectReason::InvalidUrl),
        ("ftp://example.com/", RejectReason::UnsupportedScheme),
        ("http://", RejectReason::InvalidUrl),
    ] {
        d.fire(url, &event("job-bad"));
        assert_eq!(out.next(1).kind, OutcomeKind::Rejected(why), "{url}");
    }
}

#[test]
fn allowlist_opens_exactly_what_it_names() {
    let rx = Receiver::always(200);
    let port = rx.port();
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .resolver(
            StaticResolver::new()
                .with("internal.test", ["127.0.0.1".parse().unwrap()])
                .with("other.test", ["127.0.0.2".parse().unwrap()]),
        )
        .on_outcome(cb)
        .build()
        .unwrap();
    let cases = [
        (format!("http://127.0.0.1:{port}/"), true),
        (format!("http://internal.test:{port}/"), true),
        (format!("http://localhost:{port}/"), true), // ::1 filtered out, 127.0.0.1 kept
        (format!("http://127.0.0.2:{port}/"), false),
        (format!("http://other.test:{port}/"), false),
        (format!("http://[::1]:{port}/"), false),
        (format!("http://127.0.0.3:{port}/"), false),
    ];
    for (url, _) in &cases {
        d.fire(url, &event("job-allow"));
        let o = out.next(10);
        let delivered = matches!(o.kind, OutcomeKind::Delivered { .. });
        let expected = cases.iter().find(|(u, _)| u == url).unwrap().1;
        assert_eq!(delivered, expected, "{url}: {:?}", o.kind);
    }
    assert_eq!(rx.hits().len(), 3);
}

#[test]
fn fire_from_a_plain_thread_without_tokio() {
    let rx = Receiver::always(200);
    let (cb, out) = outcomes();
    // Built outside any runtime: the dispatcher runs its own, on a background thread.
    let d = local().on_outcome(cb).build().unwrap();
    let url = rx.url("/");
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let (d, url) = (d.clone(), url.clone());
            std::thread::spawn(move || {
                for i in 0..25 {
                    d.fire(&url, &event(&format!("job-{w}-{i}")));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let got = out.take(100, 20);
    assert!(got
        .iter()
        .all(|o| matches!(o.kind, OutcomeKind::Delivered { .. })));
    let report = d.shutdown_blocking(Duration::from_secs(5));
    assert_eq!(report.stats.delivered, 100);
    assert_eq!(rx.hits().len(), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fire_from_async_code_and_await_shutdown() {
    let rx = Receiver::start(|n, _| Reply::status(if n % 2 == 0 { 500 } else { 200 }));
    // Built inside a runtime: deliveries run on it.
    let d = local().build().unwrap();
    for i in 0..10 {
        d.fire(&rx.url("/"), &event(&format!("job-{i}")));
    }
    let report = d.shutdown(Duration::from_secs(10)).await;
    assert!(!report.deadline_reached);
    // The report names those that finished after shutdown began (the retried ones at
    // least); the counters cover all.
    assert!(!report.delivered.is_empty() && report.delivered.len() <= 10);
    assert!(report.abandoned.is_empty());
    assert_eq!(report.stats.delivered, 10);
    assert_eq!(report.stats.fired, 10);
}

#[tokio::test(flavor = "current_thread")]
async fn fire_inside_a_current_thread_runtime_does_not_block() {
    let rx = Receiver::always(200);
    let (cb, out) = outcomes();
    let d = local().on_outcome(cb).build().unwrap();
    d.fire(&rx.url("/"), &event("job-ct"));
    let report = d.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.delivered, ["job-ct"]);
    assert_eq!(out.next(1).job_id, "job-ct");
}

#[test]
fn debug_output_hides_secrets() {
    let d = local().secret(Secret::new(SECRET).unwrap());
    let s = format!("{d:?}");
    assert!(!s.contains(SECRET) && s.contains("REDACTED"), "{s}");
    let d = d.build().unwrap();
    assert!(!format!("{d:?}").contains(SECRET));
}

#[test]
fn a_2xx_stays_delivered_when_shutdown_cuts_its_stalled_body_short() {
    // Found by the chaos soak: the status line and headers of a 200 arrive, the body
    // stalls; a shutdown deadline during the body read used to abandon the event.
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nstarted");
        std::thread::sleep(Duration::from_secs(5));
    });
    let (cb, out) = outcomes();
    let d = local()
        .timeout(Duration::from_secs(10))
        .on_outcome(cb)
        .build()
        .unwrap();
    d.fire(&format!("http://{addr}/"), &event("job-stall"));
    std::thread::sleep(Duration::from_millis(300)); // the head is in, the body stalls
    let t0 = Instant::now();
    let report = d.shutdown_blocking(Duration::from_millis(100));
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "the deadline still bounds it"
    );
    let o = out.next(1);
    assert_eq!(o.kind, OutcomeKind::Delivered { status: 200 });
    assert_eq!(report.delivered, ["job-stall"]);
    assert!(report.abandoned.is_empty());
}

/// Issue 15: legal but extreme durations (a base delay, a `Retry-After` cap, a request
/// timeout or a shutdown deadline of `Duration::MAX`, a receiver asking for
/// `Retry-After: 99999999999999999999`) never overflow the clock: every event still ends
/// in exactly one outcome and the books balance. Retries that far out are abandoned by a
/// short shutdown deadline, so nothing sleeps for real.
#[test]
fn extreme_durations_still_end_every_event_in_one_outcome() {
    use foreman_webhook::native::{Jitter, Outcome, RetryPolicy};
    use std::sync::{Arc, Mutex};

    let busy =
        Receiver::start(|_, _| Reply::status(503).header("retry-after", "99999999999999999999"));
    let failing = Receiver::always(500);
    let ok = Receiver::always(200);
    let max = Duration::MAX;
    let abandoned = OutcomeKind::AbandonedAtShutdown;
    let cases: Vec<(
        &str,
        foreman_webhook::DispatcherBuilder,
        String,
        OutcomeKind,
        Duration,
    )> = vec![
        (
            "base_delay(MAX), transport error",
            Dispatcher::builder()
                .resolver(StaticResolver::new())
                .base_delay(max),
            "http://down.test/hook".into(),
            abandoned,
            Duration::from_millis(200),
        ),
        (
            "base_delay(MAX), 500",
            local().base_delay(max),
            failing.url("/"),
            abandoned,
            Duration::from_millis(200),
        ),
        (
            "base_delay(MAX), u32::MAX retries, 100 % jitter",
            local().retry_policy(
                RetryPolicy::default()
                    .with_base_delay(max)
                    .with_max_retries(u32::MAX)
                    .with_jitter(Jitter::Percent(100)),
            ),
            failing.url("/"),
            abandoned,
            Duration::from_millis(200),
        ),
        (
            "Retry-After cap MAX, Retry-After: 99999999999999999999",
            local().retry_policy(RetryPolicy::default().with_retry_after_cap(max)),
            busy.url("/"),
            abandoned,
            Duration::from_millis(200),
        ),
        (
            "base_delay(MAX), no retries",
            local().base_delay(max).max_retries(0),
            failing.url("/"),
            OutcomeKind::Exhausted,
            max,
        ),
        (
            "timeout(MAX), shutdown deadline MAX",
            local().timeout(max),
            ok.url("/"),
            OutcomeKind::Delivered { status: 200 },
            max,
        ),
    ];
    const EVENTS: usize = 3;
    for (name, builder, url, expected, deadline) in cases {
        let seen: Arc<Mutex<Vec<Outcome>>> = Arc::default();
        let s2 = Arc::clone(&seen);
        let d = builder
            .on_outcome(move |o| s2.lock().unwrap().push(o.clone()))
            .build()
            .unwrap();
        let ids: Vec<_> = (0..EVENTS)
            .map(|n| d.fire(&url, &event(&format!("extreme-{n}"))))
            .collect();
        // Every first attempt has ended (its outcome is in, or its retry is scheduled).
        let t0 = Instant::now();
        while d.stats().attempts < EVENTS as u64 || d.stats().in_flight > 0 {
            assert!(t0.elapsed() < Duration::from_secs(10), "{name}: attempts");
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(20));
        let report = d.shutdown_blocking(deadline);
        let s = report.stats;
        assert_eq!(s.pending, 0, "{name}: {s:?}");
        assert_eq!(s.fired, EVENTS as u64, "{name}");
        assert_eq!(
            s.fired,
            s.delivered
                + s.exhausted
                + s.rejected
                + s.dropped_at_capacity
                + s.abandoned_at_shutdown,
            "{name}: {s:?}"
        );
        let seen = seen.lock().unwrap();
        let mut got: Vec<_> = seen.iter().map(|o| o.id).collect();
        got.sort();
        assert_eq!(got, ids, "{name}: one outcome per event");
        for o in seen.iter() {
            assert_eq!((o.kind, o.attempts), (expected, 1), "{name}");
        }
        if expected == abandoned {
            assert!(report.deadline_reached, "{name}");
            assert_eq!(report.abandoned.len(), EVENTS, "{name}");
            assert_eq!(s.retries_scheduled, EVENTS as u64, "{name}");
        } else {
            assert!(!report.deadline_reached, "{name}");
        }
    }
    assert_eq!(
        busy.hits().len(),
        3,
        "one attempt each, then a far-future retry"
    );
}

/// Issue 15: URLs the URL standard accepts but the HTTP client cannot send (a host with
/// `{`, `"` or a backtick; a URL over the 8 KiB bound, or over reqwest's 64 KiB) are
/// refused inside `fire`, never attempted or retried, and no log line carries more than
/// a clipped prefix of them.
#[test]
fn urls_the_http_client_cannot_send_are_rejected_in_fire_with_clipped_logs() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);
    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let rx = Receiver::always(200);
    let port = rx.port();
    let long = |n: usize| {
        let head = format!("http://127.0.0.1:{port}/");
        format!("{head}{}", "a".repeat(n - head.len()))
    };
    let unsendable = [
        format!("http://a{{b.test:{port}/hook"),
        format!("http://a\"b.test:{port}/hook"),
        format!("http://a`b.test:{port}/hook"),
        format!("http://x.test:{port}/}}"), // a path character that is fine (control)
        long(70_000),
    ];
    // The premise: the URL parser accepts these, the request URI type the client sends
    // with (`http::Uri`) refuses them (so no packet could leave).
    for url in [
        &unsendable[0],
        &unsendable[1],
        &unsendable[2],
        &unsendable[4],
    ] {
        let parsed = url::Url::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(parsed.as_str().parse::<http::Uri>().is_err(), "{url}");
    }

    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let (cb, out) = outcomes();
    let d = local().on_outcome(cb).build().unwrap();
    let invalid = OutcomeKind::Rejected(RejectReason::InvalidUrl);
    let refused = [
        &unsendable[0],
        &unsendable[1],
        &unsendable[2],
        &unsendable[4],
        &long(8 * 1024 + 1),
        &long(1 << 20),
    ];
    tracing::subscriber::with_default(subscriber, || {
        for url in refused {
            let id = d.fire(url, &event("job-unsendable"));
            let o = out.next(1);
            assert_eq!((o.id, o.kind, o.attempts), (id, invalid, 0), "{:.80}", url);
        }
    });
    // The bound is exactly 8 KiB: a URL of that length is delivered.
    d.fire(&long(8 * 1024), &event("job-at-the-bound"));
    assert_eq!(out.next(10).kind, OutcomeKind::Delivered { status: 200 });
    // The control: `}` in a path is percent-encoded by the URL parser and sendable.
    d.fire(
        &unsendable[3].replace("x.test", "127.0.0.1"),
        &event("job-brace-path"),
    );
    assert_eq!(out.next(10).kind, OutcomeKind::Delivered { status: 200 });
    let s = d.stats();
    assert_eq!((s.rejected, s.attempts, s.retries_scheduled), (6, 2, 0));
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = logs.lines().collect();
    assert_eq!(lines.len(), refused.len(), "{logs:.2000}");
    for line in &lines {
        assert!(
            line.contains("webhook request creation failed"),
            "{line:.300}"
        );
        assert!(line.len() < 700, "a log line of {} bytes", line.len());
    }
    assert!(lines[4].contains("…(8193 bytes)"), "{:.700}", lines[4]);
    assert!(lines[5].contains(&format!("…({} bytes)", 1 << 20)));
}

/// Issue 15: in-memory `webhook-id`s are `msg_` + 32 lower-case hex digits, the same on
/// every attempt of an event, and distinct across events, dispatchers and processes
/// (the per-dispatcher half comes from the OS random source).
#[test]
fn webhook_ids_are_distinct_across_dispatchers_and_processes() {
    const CHILD: &str = "FOREMAN_WEBHOOK_TEST_ID_CHILD_URL";
    const NAME: &str = "webhook_ids_are_distinct_across_dispatchers_and_processes";
    let fire_ids = |url: &str, dispatchers: usize, events: usize| {
        let std_secret = Secret::from_standard("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        for _ in 0..dispatchers {
            let (cb, out) = outcomes();
            let d = local()
                .standard_webhooks(std::slice::from_ref(&std_secret))
                .on_outcome(cb)
                .build()
                .unwrap();
            for n in 0..events {
                d.fire(url, &event(&format!("job-id-{n}")));
            }
            for o in out.take(events, 10) {
                assert!(matches!(o.kind, OutcomeKind::Delivered { .. }), "{o:?}");
            }
        }
    };
    if let Ok(url) = std::env::var(CHILD) {
        fire_ids(&url, 2, 10);
        return;
    }
    // Every second request to one path fails, so those events are retried.
    let rx = Receiver::start(|n, hit| {
        Reply::status(if hit.path == "/retry" && n % 2 == 0 {
            500
        } else {
            200
        })
    });
    fire_ids(&rx.url("/retry"), 1, 5);
    let retried = rx.hits();
    let mut by_job: std::collections::HashMap<String, Vec<String>> = Default::default();
    for h in &retried {
        let job = String::from_utf8_lossy(&h.body).to_string();
        by_job
            .entry(job)
            .or_default()
            .push(h.header("webhook-id").unwrap().to_owned());
    }
    for ids in by_job.values() {
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "same id on every attempt"
        );
    }
    assert!(
        by_job.values().any(|ids| ids.len() > 1),
        "some event was retried"
    );
    let url = rx.url("/id");
    fire_ids(&url, 20, 10);
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(&exe)
                .args(["--exact", NAME, "--test-threads=1"])
                .env(CHILD, &url)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success(), "a child process failed");
    }
    let hits: Vec<_> = rx.hits().into_iter().filter(|h| h.path == "/id").collect();
    assert_eq!(hits.len(), 20 * 10 + 4 * 2 * 10, "every event once");
    let mut ids: Vec<String> = hits
        .iter()
        .map(|h| h.header("webhook-id").unwrap().to_owned())
        .collect();
    for id in &ids {
        let hex = id.strip_prefix("msg_").unwrap_or("");
        assert!(
            hex.len() == 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
            "malformed webhook-id {id:?}"
        );
    }
    let mut dispatchers: Vec<&str> = ids.iter().map(|id| &id[4..20]).collect();
    dispatchers.sort_unstable();
    dispatchers.dedup();
    assert_eq!(
        dispatchers.len(),
        20 + 4 * 2,
        "one random half per dispatcher"
    );
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), hits.len(), "no webhook-id repeats");
}

/// Issue 15, in virtual time (no sockets: the name does not resolve): with
/// `base_delay(Duration::MAX)` each retry is armed at the 30-year horizon instead of
/// overflowing, so the event still walks its whole schedule and ends `Exhausted`.
#[tokio::test(start_paused = true)]
async fn base_delay_max_retries_at_the_far_future_horizon_in_virtual_time() {
    use std::sync::{Arc, Mutex};
    let ended: Arc<Mutex<Vec<(tokio::time::Instant, OutcomeKind, u32)>>> = Arc::default();
    let e2 = Arc::clone(&ended);
    let d = Dispatcher::builder()
        .resolver(StaticResolver::new())
        .base_delay(Duration::MAX)
        .max_retries(2)
        .on_outcome(move |o| {
            e2.lock()
                .unwrap()
                .push((tokio::time::Instant::now(), o.kind, o.attempts))
        })
        .build()
        .unwrap();
    let t0 = tokio::time::Instant::now();
    d.fire("https://receiver-down.test/hook", &event("job-far"));
    let year = Duration::from_secs(365 * 86_400);
    // One year at a time (a single tokio sleep is capped at about 2.2 years).
    for _ in 0..29 {
        tokio::time::sleep(year).await;
    }
    assert_eq!(d.stats().attempts, 1, "the first retry is 30 years out");
    for _ in 0..70 {
        tokio::time::sleep(year).await;
        if !ended.lock().unwrap().is_empty() {
            break;
        }
    }
    let ended = ended.lock().unwrap().clone();
    assert_eq!(ended.len(), 1, "{:?} after {:?}", d.stats(), t0.elapsed());
    let (at, kind, attempts) = ended[0];
    assert_eq!((kind, attempts), (OutcomeKind::Exhausted, 3));
    let took = at - t0;
    assert!(took >= 60 * year && took < 61 * year, "{took:?}");
    let s = d.stats();
    assert_eq!((s.pending, s.exhausted, s.retries_scheduled), (0, 1, 2));
}

/// A raw loopback listener: each connection's first bytes (up to 4 KiB, or until the
/// peer pauses), after which `reply` is written and the connection is held for `hold`.
fn raw_listener(reply: &'static [u8], hold: Duration) -> (u16, std::sync::mpsc::Receiver<Vec<u8>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                s.set_read_timeout(Some(Duration::from_millis(300)))
                    .unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while got.len() < 4096 {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tx.send(got);
                let _ = s.write_all(reply);
                std::thread::sleep(hold);
            });
        }
    });
    (port, rx)
}

/// An `https` destination gets TLS (rustls): the first bytes on the wire are a TLS
/// handshake record offering h2 and http/1.1 by ALPN, nothing of the event leaves in
/// clear, and a peer that does not speak TLS is a failed (transport) attempt.
#[test]
fn https_destinations_get_a_tls_handshake_offering_h2_and_http1() {
    let (port, firsts) = raw_listener(
        b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
        Duration::ZERO,
    );
    let (cb, out) = outcomes();
    let d = local().max_retries(0).on_outcome(cb).build().unwrap();
    d.fire(&format!("https://127.0.0.1:{port}/hook"), &event("job-tls"));
    let o = out.next(10);
    assert_eq!((o.kind, o.attempts), (OutcomeKind::Exhausted, 1));
    let first = firsts.recv_timeout(Duration::from_secs(5)).unwrap();
    // RFC 8446 §5.1: handshake (22), legacy version 3.x; then a ClientHello (1).
    assert_eq!(&first[..2], &[0x16, 0x03], "{first:02x?}");
    assert_eq!(first[5], 0x01, "a ClientHello");
    let has = |needle: &[u8]| first.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"\x02h2"), "ALPN offers h2");
    assert!(has(b"\x08http/1.1"), "ALPN offers http/1.1");
    assert!(!has(b"job-tls") && !has(b"POST"), "nothing in clear");
}

/// The request timeout also bounds the body read: a response head that arrives but a
/// body that never does ends the attempt at the timeout, with the status the head had.
#[test]
fn a_stalled_response_body_ends_at_the_request_timeout() {
    let (port, _firsts) = raw_listener(
        b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial",
        Duration::from_secs(10),
    );
    let (cb, out) = outcomes();
    let d = local()
        .timeout(Duration::from_millis(700))
        .on_outcome(cb)
        .build()
        .unwrap();
    let t0 = Instant::now();
    d.fire(
        &format!("http://127.0.0.1:{port}/hook"),
        &event("job-stall"),
    );
    let o = out.next(10);
    let took = t0.elapsed();
    assert_eq!(o.kind, OutcomeKind::Delivered { status: 200 });
    assert!(
        took >= Duration::from_millis(650),
        "waited for the body: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "ended at the timeout: {took:?}"
    );
}

/// A URL's `user:password@` is sent as `Authorization: Basic` (percent-decoded, as
/// reqwest did) and not in the request target. Expected value from coreutils:
/// `printf 'user:pa ss' | base64`.
#[test]
fn url_credentials_become_basic_auth() {
    let rx = Receiver::always(200);
    let (cb, out) = outcomes();
    let d = local().on_outcome(cb).build().unwrap();
    let url = rx.url("/hook").replace("http://", "http://user:pa%20ss@");
    d.fire(&url, &event("job-auth"));
    assert!(matches!(out.next(10).kind, OutcomeKind::Delivered { .. }));
    let hits = rx.hits();
    assert_eq!(
        hits[0].header("authorization"),
        Some("Basic dXNlcjpwYSBzcw==")
    );
    assert_eq!(hits[0].path, "/hook");
    assert_eq!(hits[0].header("accept"), Some("*/*"));
}
