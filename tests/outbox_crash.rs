//! Crash test of the SQLite outbox: a child process (this test binary, running the
//! ignored `crash_child` entry) stores 5,000 events in batches and delivers them to a
//! receiver on 127.0.0.1 that fails a third of requests; it is SIGKILLed at random
//! moments (during the enqueue transactions, mid-request, between a 2xx and its record)
//! and restarted each time, then a last run finishes.
//!
//! Afterwards every committed event has exactly one delivery in exactly one terminal
//! state; every delivered event reached the receiver at least once with a valid Standard
//! Webhooks signature (checked with `ring`'s HMAC, not the crate's) over the same bytes;
//! duplicates are counted and printed (they can only come from a kill: at most one claim
//! window per kill).
//!
//! `CRASH_EVENTS` (default 5000), `CRASH_KILLS` (default 20), `CRASH_SEED` change the run.
#![cfg(all(feature = "sqlite", unix))]

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use foreman_webhook::native::outbox::{enqueue_sqlite, SqliteOptions};
use foreman_webhook::native::Outbox;
use foreman_webhook::{Dispatcher, Event, Secret, Timestamp};
use sqlx::{Connection, Row};
use support::{Receiver, Reply};

const STD_SECRET: &str = "whsec_Q3Jhc2hUZXN0U2VjcmV0Rm9yRm9yZW1hbg==";
const CHILD_ENV: &str = "FOREMAN_CRASH_CHILD_DB";
const URL_ENV: &str = "FOREMAN_CRASH_CHILD_URL";
const EVENTS_ENV: &str = "CRASH_EVENTS";

fn events() -> usize {
    std::env::var(EVENTS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

fn event(i: usize) -> Event {
    let mut e = Event::new(
        format!("crash-{i}"),
        "succeeded",
        Timestamp::from_unix_seconds(1_764_338_400).unwrap(),
    );
    e.attempt = 1;
    e
}

/// The child: store every event (idempotent by key, 500 per transaction), then deliver
/// until nothing is pending or in flight.
#[test]
#[ignore = "entry point of the child process spawned by `crash_kill_restart`"]
fn crash_child() {
    let (Ok(db), Ok(url)) = (std::env::var(CHILD_ENV), std::env::var(URL_ENV)) else {
        panic!("run by crash_kill_restart only");
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let d = Dispatcher::builder()
            .allow_cidr("127.0.0.1/32")
            .standard_webhooks(&[Secret::from_standard(STD_SECRET).unwrap()])
            .base_delay(Duration::from_millis(20))
            .timeout(Duration::from_millis(500))
            .lease(Duration::from_millis(1500))
            .poll_interval(Duration::from_millis(50))
            .outbox_sqlite(&db)
            .build()
            .unwrap();
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{db}"))
            .await
            .unwrap();
        sqlx::query("PRAGMA busy_timeout = 10000")
            .execute(&mut conn)
            .await
            .unwrap();
        let n = events();
        for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
            let mut tx = conn.begin().await.unwrap();
            for &i in chunk {
                enqueue_sqlite(&mut tx, &url, &event(i), Some(&format!("crash-{i}")))
                    .await
                    .unwrap();
            }
            tx.commit().await.unwrap();
        }
        let outbox = d.outbox().unwrap();
        loop {
            let s = outbox.status().await.unwrap();
            if s.pending == 0 && s.in_flight == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        d.shutdown(Duration::from_secs(5)).await;
    });
}

/// `v1,<base64>` signatures in `webhook-signature`, computed independently with ring.
fn signature_ok(id: &str, ts: &str, body: &[u8], header: &str) -> bool {
    let key_b64 = STD_SECRET.trim_start_matches("whsec_");
    let Ok(key) = base64::engine::general_purpose::STANDARD.decode(key_b64) else {
        return false;
    };
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let mut msg = Vec::new();
    msg.extend_from_slice(id.as_bytes());
    msg.push(b'.');
    msg.extend_from_slice(ts.as_bytes());
    msg.push(b'.');
    msg.extend_from_slice(body);
    let want = base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, &msg));
    header
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(want.as_str()))
}

/// splitmix64: the kill moments, reproducible from a seed.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// (event id, body, delivery state, attempts, deliveries of the event)
type StoredRow = (String, Vec<u8>, Option<String>, i64, i64);

#[derive(Default)]
struct Books {
    /// webhook-id → (times accepted with 2xx, the body bytes)
    accepted: HashMap<String, (u32, Vec<u8>)>,
    bad_signatures: u32,
    body_changed: u32,
    requests: u64,
}

#[test]
fn crash_kill_restart() {
    let n = events();
    let kills: u32 = std::env::var("CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let mut seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0xC4A5_0000_0000_0012);
    let dir = std::env::temp_dir().join(format!("foreman-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db: PathBuf = dir.join("outbox.db");

    let books = Arc::new(Mutex::new(Books::default()));
    let b = books.clone();
    let rx = Receiver::start(move |i, hit| {
        let id = hit.header("webhook-id").unwrap_or("").to_owned();
        let ts = hit.header("webhook-timestamp").unwrap_or("");
        let sig = hit.header("webhook-signature").unwrap_or("");
        let mut books = b.lock().unwrap();
        books.requests += 1;
        if !signature_ok(&id, ts, &hit.body, sig) {
            books.bad_signatures += 1;
            return Reply::status(401);
        }
        // A third of requests fail.
        if i % 3 == 2 {
            return Reply::status(500);
        }
        let entry = books
            .accepted
            .entry(id)
            .or_insert_with(|| (0, hit.body.to_vec()));
        entry.0 += 1;
        if entry.1 != hit.body {
            books.body_changed += 1;
        }
        Reply::status(200)
    });
    let url = rx.url("/crash");

    let exe = std::env::current_exe().unwrap();
    let spawn = || {
        Command::new(&exe)
            .args([
                "crash_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &db)
            .env(URL_ENV, &url)
            .env(EVENTS_ENV, n.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let started = Instant::now();
    let mut killed = 0;
    let mut finished_early = 0;
    let mut runs = 0;
    while killed < kills {
        runs += 1;
        assert!(
            runs <= kills * 3,
            "could not kill {kills} times: the work ends too soon"
        );
        let mut child = spawn();
        // A random moment: 30 ms (inside the enqueue transactions) to 900 ms.
        let wait = 30 + next(&mut seed) % 870;
        std::thread::sleep(Duration::from_millis(wait));
        if child.try_wait().unwrap().is_some() {
            finished_early += 1;
            continue;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        killed += 1;
    }
    // The last run finishes the work.
    let mut child = spawn();
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the last child did not finish");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "last child failed: {status:?}");

    // The books, read straight from the file.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (events_n, rows) = rt.block_on(async {
        let _ = Outbox::open_sqlite(SqliteOptions::new(&db)).await.unwrap();
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
            .await
            .unwrap();
        let events_n: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&mut c)
            .await
            .unwrap();
        let rows = sqlx::query(
            "SELECT e.id, e.body, d.state, d.attempts, \
               (SELECT count(*) FROM deliveries x WHERE x.event_id = e.id) AS n \
             FROM events e LEFT JOIN deliveries d ON d.event_id = e.id",
        )
        .fetch_all(&mut c)
        .await
        .unwrap();
        let rows: Vec<StoredRow> = rows
            .iter()
            .map(|r| {
                (
                    r.get("id"),
                    r.get("body"),
                    r.get("state"),
                    r.try_get("attempts").unwrap_or(0),
                    r.get("n"),
                )
            })
            .collect();
        (events_n, rows)
    });
    let books = books.lock().unwrap();
    let (mut delivered, mut dead) = (0u64, 0u64);
    let mut duplicates = 0u64;
    for (id, body, state, _attempts, deliveries) in &rows {
        assert_eq!(*deliveries, 1, "{id}: one delivery per event");
        match state.as_deref() {
            Some("delivered") => {
                delivered += 1;
                let (times, got) = books
                    .accepted
                    .get(id)
                    .unwrap_or_else(|| panic!("{id} delivered but never accepted by the receiver"));
                assert_eq!(got, body, "{id}: the stored bytes were sent");
                duplicates += u64::from(times - 1);
            }
            Some("dead") => {
                dead += 1;
                if let Some((times, _)) = books.accepted.get(id) {
                    // Accepted, then the process was killed before recording it, and
                    // every later attempt failed: only possible through a kill.
                    duplicates += u64::from(*times);
                }
            }
            other => panic!("{id}: not terminal: {other:?}"),
        }
    }
    println!(
        "crash test: {n} events, {killed} SIGKILLs ({finished_early} runs ended before their kill), \
         {} requests, committed {events_n}, delivered {delivered}, dead {dead}, \
         duplicates {duplicates}, bad signatures {}, changed bodies {}, {:.1} s",
        books.requests,
        books.bad_signatures,
        books.body_changed,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        events_n, n as i64,
        "every event committed (re-enqueued by key after kills)"
    );
    assert_eq!(
        delivered + dead,
        n as u64,
        "exactly one terminal state each"
    );
    assert_eq!(books.bad_signatures, 0);
    assert_eq!(books.body_changed, 0);
    assert_eq!(killed, kills);
    // A kill can duplicate at most what the process held (its claim window, 128).
    assert!(
        duplicates <= u64::from(killed) * 128,
        "{duplicates} duplicates after {killed} kills"
    );
    // Dead letters need six failures in a row: rare with one failure in three.
    assert!(dead * 100 <= n as u64, "{dead} dead of {n}");
    let _ = std::fs::remove_dir_all(&dir);
}
