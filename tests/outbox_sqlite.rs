//! The SQLite outbox (feature `sqlite`) against an in-process receiver on 127.0.0.1 and a
//! real SQLite file in a temporary directory: stored ids, restarts, idempotency,
//! transactional enqueue, migrations from v1, dead letters and redelivery, pruning, and
//! clear errors for locked, corrupt and unreachable databases.
#![cfg(all(feature = "sqlite", not(target_arch = "wasm32")))]

mod support;

use std::time::Duration;

use foreman_webhook::native::outbox::{
    enqueue_sqlite, DeliveryState, Redeliver, SqliteOptions, Synchronous, Trigger,
};
use foreman_webhook::native::{BuildErrorKind, Outbox, OutboxErrorKind, OutcomeKind};
use foreman_webhook::{Dispatcher, Event, Secret, Timestamp};
use sqlx::Connection;
use support::{outcomes, Receiver, Reply};

const STD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn event(job: &str) -> Event {
    Event::new(
        job,
        "succeeded",
        Timestamp::from_unix_seconds(1_764_338_400).unwrap(),
    )
}

use support::TempDir;

fn local() -> foreman_webhook::DispatcherBuilder {
    Dispatcher::builder()
        .allow_cidr("127.0.0.1/32")
        .base_delay(Duration::from_millis(20))
        .poll_interval(Duration::from_millis(50))
        .standard_webhooks(&[Secret::from_standard(STD_SECRET).unwrap()])
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn stored_id_is_the_webhook_id_on_every_retry_and_history_is_kept() {
    let dir = TempDir::new("ids");
    let rx = Receiver::start(|n, _| {
        if n < 2 {
            Reply::status(500).body("nope")
        } else {
            Reply::status(200).body("ok thanks")
        }
    });
    let (cb, out) = outcomes();
    let d = local()
        .outbox_sqlite(dir.db())
        .on_outcome(cb)
        .build()
        .unwrap();
    let ev = event("job-1");
    let id = rt().block_on(d.fire_durable(&rx.url("/h"), &ev)).unwrap();
    assert!(
        id.as_str().starts_with("msg_") && id.as_str().len() == 36,
        "{id}"
    );
    let o = out.next(10);
    assert_eq!(o.kind, OutcomeKind::Delivered { status: 200 });
    assert_eq!(o.webhook_id.as_deref(), Some(id.as_str()));
    assert_eq!(o.attempts, 3);
    let hits = rx.hits();
    assert_eq!(hits.len(), 3);
    for h in &hits {
        assert_eq!(h.header("webhook-id"), Some(id.as_str()));
        assert_eq!(&h.body[..], &ev.to_json()[..], "the exact stored bytes");
    }
    let outbox = d.outbox().unwrap();
    let rt = rt();
    let attempts = rt.block_on(outbox.attempts(&id)).unwrap();
    let statuses: Vec<_> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(500), Some(500), Some(200)]);
    assert_eq!(
        attempts.iter().map(|a| a.number).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    assert!(attempts.iter().all(|a| a.trigger == Trigger::Scheduled));
    assert_eq!(attempts[0].response_head, b"nope");
    assert_eq!(attempts[2].response_head, b"ok thanks");
    let status = rt.block_on(outbox.status()).unwrap();
    assert_eq!((status.pending, status.delivered, status.dead), (0, 1, 0));
    // No secret is stored anywhere in the file.
    d.shutdown_blocking(Duration::from_secs(5));
    let bytes = std::fs::read(dir.db()).unwrap();
    let wal = std::fs::read(dir.0.join("outbox.db-wal")).unwrap_or_default();
    for hay in [&bytes, &wal] {
        assert!(!hay.windows(10).any(|w| w == &STD_SECRET.as_bytes()[6..16]));
    }
}

#[test]
fn fired_events_survive_a_restart_and_keep_their_id() {
    let dir = TempDir::new("restart");
    let rx = Receiver::always(204);
    // First process: stores only (as `send` does), then goes away.
    let first = local()
        .outbox_sqlite(dir.db())
        .deliver(false)
        .build()
        .unwrap();
    for i in 0..50 {
        first.fire(&rx.url("/r"), &event(&format!("job-{i}")));
    }
    let report = first.shutdown_blocking(Duration::from_secs(5));
    assert!(!report.deadline_reached);
    drop(first);
    assert!(
        rx.hits().is_empty(),
        "nothing delivered by a store-only process"
    );
    let rt = rt();
    let outbox = rt
        .block_on(Outbox::open_sqlite(SqliteOptions::new(dir.db())))
        .unwrap();
    let pending = rt
        .block_on(outbox.list(Some(DeliveryState::Pending), 100))
        .unwrap();
    assert_eq!(pending.len(), 50);
    // Second process delivers what the first stored.
    let (cb, out) = outcomes();
    let second = local()
        .outbox_sqlite(dir.db())
        .on_outcome(cb)
        .build()
        .unwrap();
    let got = out.take(50, 20);
    assert!(got
        .iter()
        .all(|o| matches!(o.kind, OutcomeKind::Delivered { .. })));
    let mut ids: Vec<_> = rx
        .hits()
        .iter()
        .map(|h| h.header("webhook-id").unwrap().to_owned())
        .collect();
    ids.sort();
    let mut stored: Vec<_> = pending.iter().map(|r| r.event_id.to_string()).collect();
    stored.sort();
    assert_eq!(ids, stored, "the ids stored by the first process were sent");
    second.shutdown_blocking(Duration::from_secs(5));
}

#[test]
fn idempotency_key_stores_once() {
    let dir = TempDir::new("idem");
    let rx = Receiver::always(200);
    let d = local()
        .outbox_sqlite(dir.db())
        .deliver(false)
        .build()
        .unwrap();
    let rt = rt();
    let a = rt
        .block_on(d.fire_durable_with_key(&rx.url("/"), &event("j"), Some("job-j-done")))
        .unwrap();
    let b = rt
        .block_on(d.fire_durable_with_key(&rx.url("/"), &event("j"), Some("job-j-done")))
        .unwrap();
    assert_eq!(a, b);
    let c = rt
        .block_on(d.fire_durable_with_key(&rx.url("/"), &event("j"), Some("other")))
        .unwrap();
    assert_ne!(a, c);
    let s = rt.block_on(d.outbox().unwrap().status()).unwrap();
    assert_eq!(s.pending, 2);
}

#[test]
fn fire_durable_errors_are_typed() {
    let d = Dispatcher::builder().build().unwrap();
    let e = rt()
        .block_on(d.fire_durable("https://example.com/", &event("x")))
        .unwrap_err();
    assert_eq!(e.kind(), OutboxErrorKind::NotDurable);
    let dir = TempDir::new("typed");
    let d = Dispatcher::builder()
        .outbox_sqlite(dir.db())
        .build()
        .unwrap();
    let e = rt()
        .block_on(d.fire_durable("http://127.0.0.1:9/", &event("x")))
        .unwrap_err();
    assert!(matches!(e.kind(), OutboxErrorKind::Rejected(_)), "{e}");
    let e = rt()
        .block_on(d.fire_durable("not a url", &event("x")))
        .unwrap_err();
    assert!(matches!(e.kind(), OutboxErrorKind::Rejected(_)), "{e}");
}

#[test]
fn transactional_enqueue_commits_or_rolls_back_with_the_callers_writes() {
    let dir = TempDir::new("tx");
    let rx = Receiver::always(200);
    let (cb, out) = outcomes();
    let _dispatcher = local()
        .outbox_sqlite(dir.db())
        .on_outcome(cb)
        .build()
        .unwrap();
    let rt = rt();
    rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.db().display()))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE jobs (id TEXT PRIMARY KEY, state TEXT)")
            .execute(&mut conn)
            .await
            .unwrap();
        // Rolled back: neither the job row nor the webhook exist.
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO jobs VALUES ('job-rb', 'done')")
            .execute(&mut *tx)
            .await
            .unwrap();
        enqueue_sqlite(&mut tx, &rx.url("/tx"), &event("job-rb"), None)
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        // Committed: both.
        let mut tx = conn.begin().await.unwrap();
        sqlx::query("INSERT INTO jobs VALUES ('job-ok', 'done')")
            .execute(&mut *tx)
            .await
            .unwrap();
        let id = enqueue_sqlite(&mut tx, &rx.url("/tx"), &event("job-ok"), None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let o = out.next(10);
        assert_eq!(o.job_id, "job-ok");
        assert_eq!(o.webhook_id.as_deref(), Some(id.as_str()));
        assert!(matches!(o.kind, OutcomeKind::Delivered { .. }));
        let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(jobs, 1);
    });
    assert!(
        out.none_within(Duration::from_millis(300)),
        "the rolled-back one never goes"
    );
    assert_eq!(rx.hits().len(), 1);
    assert!(rx
        .hits()
        .iter()
        .all(|h| h.body.windows(6).any(|w| w == b"job-ok")));
}

#[test]
fn upgrade_from_schema_v1_keeps_and_delivers_pending_rows() {
    let dir = TempDir::new("upgrade");
    let rx = Receiver::always(200);
    let rt = rt();
    let body = event("job-v1").to_json();
    rt.block_on(async {
        // A file at schema version 1, with a pending delivery written in v1's shape.
        Outbox::open_sqlite(SqliteOptions::new(dir.db()).migrate_to(1))
            .await
            .unwrap();
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.db().display()))
            .await
            .unwrap();
        let cols: Vec<String> =
            sqlx::query_scalar("SELECT name FROM pragma_table_info('deliveries')")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert!(
            !cols.iter().any(|c| c == "finished_at"),
            "v1 only: {cols:?}"
        );
        sqlx::query(
            "INSERT INTO events (id, job_id, state, body, created_at) \
             VALUES ('msg_v1000000000000000000000000000001', 'job-v1', 'succeeded', ?1, 0)",
        )
        .bind(&body)
        .execute(&mut conn)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO deliveries (event_id, url, state, next_attempt_at) \
             VALUES ('msg_v1000000000000000000000000000001', ?1, 'pending', 0)",
        )
        .bind(rx.url("/v1"))
        .execute(&mut conn)
        .await
        .unwrap();
        conn.close().await.unwrap();
    });
    let (cb, out) = outcomes();
    let d = local()
        .outbox_sqlite(dir.db())
        .on_outcome(cb)
        .build()
        .unwrap();
    let o = out.next(10);
    assert_eq!(
        o.webhook_id.as_deref(),
        Some("msg_v1000000000000000000000000000001")
    );
    assert!(matches!(o.kind, OutcomeKind::Delivered { .. }));
    assert_eq!(&rx.hits()[0].body[..], &body[..]);
    let versions: Vec<i64> = rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.db().display()))
            .await
            .unwrap();
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(&mut conn)
            .await
            .unwrap()
    });
    assert_eq!(versions, [1, 2, 3, 4]);
    d.shutdown_blocking(Duration::from_secs(5));
}

#[test]
fn dead_letters_are_listed_and_redelivered_as_manual() {
    let dir = TempDir::new("dead");
    let ok = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = ok.clone();
    let rx = Receiver::start(move |_, _| {
        Reply::status(if flag.load(std::sync::atomic::Ordering::SeqCst) {
            200
        } else {
            503
        })
    });
    let (cb, out) = outcomes();
    let d = local()
        .max_retries(1)
        .outbox_sqlite(dir.db())
        .on_outcome(cb)
        .build()
        .unwrap();
    d.fire(&rx.url("/d"), &event("job-dead"));
    assert_eq!(out.next(10).kind, OutcomeKind::Exhausted);
    let outbox = d.outbox().unwrap();
    let rt = rt();
    let dead = rt
        .block_on(outbox.list(Some(DeliveryState::Dead), 10))
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
    assert_eq!(dead[0].job_id, "job-dead");
    ok.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        rt.block_on(outbox.redeliver(&Redeliver::AllDead)).unwrap(),
        1
    );
    assert!(matches!(out.next(10).kind, OutcomeKind::Delivered { .. }));
    let attempts = rt.block_on(outbox.attempts(&dead[0].event_id)).unwrap();
    let triggers: Vec<_> = attempts
        .iter()
        .map(|a| (a.number, a.trigger, a.status))
        .collect();
    assert_eq!(
        triggers,
        [
            (1, Trigger::Scheduled, Some(503)),
            (2, Trigger::Scheduled, Some(503)),
            (3, Trigger::Manual, Some(200)),
        ]
    );
    let s = rt.block_on(outbox.status()).unwrap();
    assert_eq!((s.dead, s.delivered), (0, 1));
    // Pruning removes only what finished before the cutoff.
    assert_eq!(
        rt.block_on(outbox.prune(Duration::from_secs(3600)))
            .unwrap(),
        0
    );
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(rt.block_on(outbox.prune(Duration::ZERO)).unwrap(), 1);
    let s = rt.block_on(outbox.status()).unwrap();
    assert_eq!(s.delivered, 0);
    assert!(rt
        .block_on(outbox.attempts(&dead[0].event_id))
        .unwrap()
        .is_empty());
}

#[test]
fn normal_synchronous_works_too() {
    let dir = TempDir::new("normal");
    let rx = Receiver::always(200);
    let (cb, out) = outcomes();
    let d = local()
        .outbox_sqlite_with(SqliteOptions::new(dir.db()).synchronous(Synchronous::Normal))
        .on_outcome(cb)
        .build()
        .unwrap();
    for i in 0..20 {
        d.fire(&rx.url("/n"), &event(&format!("n{i}")));
    }
    assert!(out
        .take(20, 10)
        .iter()
        .all(|o| matches!(o.kind, OutcomeKind::Delivered { .. })));
}

#[test]
fn an_extreme_busy_timeout_is_capped_not_a_panic() {
    // The pool adds the busy timeout to an `Instant`: `Duration::MAX` must not overflow.
    let dir = TempDir::new("busy-max");
    let rx = Receiver::always(200);
    let (cb, out) = outcomes();
    let d = local()
        .outbox_sqlite_with(SqliteOptions::new(dir.db()).busy_timeout(Duration::MAX))
        .on_outcome(cb)
        .build()
        .unwrap();
    let id = rt()
        .block_on(d.fire_durable(&rx.url("/busy"), &event("busy-max")))
        .unwrap();
    let got = out.take(1, 10);
    assert!(matches!(got[0].kind, OutcomeKind::Delivered { .. }), "{id}");
}

#[test]
fn locked_corrupt_and_unreachable_files_fail_build_clearly() {
    // Locked: another connection holds an exclusive lock past the busy timeout.
    let dir = TempDir::new("locked");
    let rt = rt();
    let mut holder = rt.block_on(async {
        let mut c =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", dir.db().display()))
                .await
                .unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut c)
            .await
            .unwrap();
        c
    });
    let err = Dispatcher::builder()
        .outbox_sqlite_with(SqliteOptions::new(dir.db()).busy_timeout(Duration::from_millis(200)))
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::Store);
    let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(text.contains("locked"), "{text}");
    rt.block_on(async {
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    });

    // Corrupt: not a database at all.
    let dir = TempDir::new("corrupt");
    std::fs::write(dir.db(), vec![0x5a; 8192]).unwrap();
    let err = Dispatcher::builder()
        .outbox_sqlite(dir.db())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::Store);
    let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(text.contains("not a database"), "{text}");

    // Unreachable: the directory does not exist.
    let err = Dispatcher::builder()
        .outbox_sqlite("/nonexistent-dir-foreman/outbox.db")
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), BuildErrorKind::Store);
    let text = format!("{err}: {}", std::error::Error::source(&err).unwrap());
    assert!(text.contains("unable to open"), "{text}");
}

#[test]
fn fire_durable_after_the_file_goes_read_only_is_an_error_not_a_panic() {
    let dir = TempDir::new("ro");
    let d = local()
        .outbox_sqlite(dir.db())
        .deliver(false)
        .build()
        .unwrap();
    let rt = rt();
    rt.block_on(d.fire_durable("http://127.0.0.1:1/", &event("a")))
        .unwrap();
    // Another connection takes an exclusive lock: commits fail after the busy timeout.
    let mut holder = rt.block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.db().display()))
            .await
            .unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut c)
            .await
            .unwrap();
        c
    });
    let _ = &mut holder;
    let started = std::time::Instant::now();
    let e = rt
        .block_on(d.fire_durable("http://127.0.0.1:1/", &event("b")))
        .unwrap_err();
    assert_eq!(e.kind(), OutboxErrorKind::Database, "{e}");
    assert!(started.elapsed() < Duration::from_secs(30));
    // `fire` still returns at once meanwhile.
    let t = std::time::Instant::now();
    d.fire("http://127.0.0.1:1/", &event("c"));
    assert!(t.elapsed() < Duration::from_millis(50));
}

/// A `tracing` writer into memory.
#[derive(Clone, Default)]
struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The child of [`a_file_locked_mid_run_by_another_process_loses_nothing`]: a separate
/// process that takes SQLite's exclusive lock on `FOREMAN_LOCK_DB`, says `locked`, holds
/// it for `FOREMAN_LOCK_MS` and lets go. Does nothing when run on its own.
#[test]
#[ignore = "a child process of a_file_locked_mid_run_by_another_process_loses_nothing"]
fn lock_holder_child() {
    let Ok(path) = std::env::var("FOREMAN_LOCK_DB") else {
        return;
    };
    let hold: u64 = std::env::var("FOREMAN_LOCK_MS").unwrap().parse().unwrap();
    rt().block_on(async {
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{path}"))
            .await
            .unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut c)
            .await
            .unwrap();
        println!("locked");
        use std::io::Write as _;
        std::io::stdout().flush().unwrap();
        tokio::time::sleep(Duration::from_millis(hold)).await;
        sqlx::query("COMMIT").execute(&mut c).await.unwrap();
    });
}

/// Another process holds the file's exclusive lock for 2 s in the middle of a run (busy
/// timeout 200 ms, so the writer, the claim loop and the finisher all meet "database is
/// locked" and retry): `fire` keeps returning at once, `fire_durable` fails with a typed
/// error, and once the lock is gone every fired event ends in exactly one outcome, each
/// delivered once (the 60 s lease outlives the lock, so no attempt is repeated).
#[test]
fn a_file_locked_mid_run_by_another_process_loses_nothing() {
    // The dispatcher's log (its own runtime thread, so a global subscriber; no other test
    // in this binary runs a claim loop against a locked file).
    let logs = Capture::default();
    let writer = logs.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();
    let dir = TempDir::new("lockedmid");
    let rx = Receiver::start(|n, _| Reply::status(if n % 5 == 4 { 503 } else { 200 }));
    let (cb, out) = outcomes();
    let d = local()
        .outbox_sqlite_with(SqliteOptions::new(dir.db()).busy_timeout(Duration::from_millis(200)))
        .on_outcome(cb)
        .build()
        .unwrap();
    let rt = rt();
    let url = rx.url("/locked");
    let mut fired = 0;
    let mut worst = Duration::ZERO;
    let mut fire = |n: usize| {
        for _ in 0..n {
            let t = std::time::Instant::now();
            d.fire(&url, &event(&format!("job-{fired}")));
            worst = worst.max(t.elapsed());
            fired += 1;
        }
    };
    fire(100);
    let mut got = out.take(20, 30);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["lock_holder_child", "--exact", "--ignored", "--nocapture"])
        .env("FOREMAN_LOCK_DB", dir.db())
        .env("FOREMAN_LOCK_MS", "2000")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().unwrap()));
    assert!(
        lines.any(|l| l.is_ok_and(|l| l.trim() == "locked")),
        "the child never took the lock"
    );
    let locked_at = std::time::Instant::now();
    fire(100);
    let e = rt
        .block_on(d.fire_durable(&url, &event("durable-while-locked")))
        .unwrap_err();
    assert_eq!(e.kind(), OutboxErrorKind::Database, "{e}");
    assert!(format!("{e}").contains("locked"), "{e}");
    assert!(
        locked_at.elapsed() < Duration::from_secs(2),
        "the lock must still be held here for the test to mean anything"
    );
    assert!(child.wait().unwrap().success());
    fire(100);
    got.extend(out.take(fired - 20, 30));
    assert!(
        got.iter()
            .all(|o| matches!(o.kind, OutcomeKind::Delivered { .. })),
        "{:?}",
        got.iter()
            .find(|o| !matches!(o.kind, OutcomeKind::Delivered { .. }))
    );
    let ids: std::collections::HashSet<_> = got.iter().map(|o| o.webhook_id.clone()).collect();
    assert_eq!(ids.len(), fired, "one outcome per event");
    assert!(out.none_within(Duration::from_millis(300)));
    let accepted: Vec<String> = rx
        .hits()
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 5 != 4) // the receiver's 2xx answers
        .filter_map(|(_, h)| h.header("webhook-id").map(str::to_owned))
        .collect();
    let distinct: std::collections::HashSet<_> = accepted.iter().collect();
    assert_eq!(distinct.len(), fired, "every event accepted");
    assert_eq!(accepted.len(), fired, "and once only");
    let s = rt.block_on(d.outbox().unwrap().status()).unwrap();
    assert_eq!((s.pending, s.in_flight, s.delivered), (0, 0, fired as u64));
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let claim_errors = logs
        .lines()
        .filter(|l| l.contains("claiming failed; retrying") && l.contains("locked"))
        .count();
    assert!(
        claim_errors > 0,
        "the claim loop never met the lock (so this test proved nothing): {logs}"
    );
    println!(
        "locked mid-run: {fired} fired, all delivered once; {claim_errors} claim errors \
         logged during the lock; worst fire() {worst:?}"
    );
    assert!(worst < Duration::from_secs(1), "fire blocked: {worst:?}");
    d.shutdown_blocking(Duration::from_secs(5));
}

/// `fire` a burst, then `flush`: once it resolves, every fired event is committed (another
/// connection sees all of them), with one commit per writer batch instead of one per
/// event as `fire_durable` would; on the in-memory store `flush` is a typed error.
#[test]
fn flush_resolves_once_everything_fired_before_it_is_committed() {
    let dir = TempDir::new("flush");
    let d = local()
        .outbox_sqlite(dir.db())
        .deliver(false)
        .build()
        .unwrap();
    let rt = rt();
    let n = 3_000;
    for i in 0..n {
        d.fire("http://127.0.0.1:1/flush", &event(&format!("job-{i}")));
    }
    rt.block_on(d.flush()).unwrap();
    let other = rt
        .block_on(Outbox::open_sqlite(SqliteOptions::new(dir.db())))
        .unwrap();
    let s = rt.block_on(other.status()).unwrap();
    assert_eq!(s.pending, n);
    // Nothing fired since: resolves at once.
    rt.block_on(d.flush()).unwrap();
    let memory = Dispatcher::builder().build().unwrap();
    let e = rt.block_on(memory.flush()).unwrap_err();
    assert_eq!(e.kind(), OutboxErrorKind::NotDurable);
}

/// Migration v4's trace-context columns stay NULL when nothing traces: fired outside any
/// OpenTelemetry span (every build), or in a build without the `otel` feature (where no
/// span is ever current). A delivery fired inside a span is tested in tests/cli_otlp.rs.
#[test]
fn no_trace_context_is_stored_without_a_current_span() {
    let dir = TempDir::new("notrace");
    let rx = Receiver::always(200);
    let d = local()
        .outbox_sqlite(dir.db())
        .deliver(false)
        .build()
        .unwrap();
    let rt = rt();
    d.fire(&rx.url("/a"), &event("job-fire"));
    rt.block_on(d.fire_durable(&rx.url("/b"), &event("job-durable")))
        .unwrap();
    rt.block_on(d.flush()).unwrap();
    d.shutdown_blocking(Duration::from_secs(5));
    rt.block_on(async {
        let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", dir.db().display()))
            .await
            .unwrap();
        let mut tx = conn.begin().await.unwrap();
        enqueue_sqlite(&mut tx, &rx.url("/c"), &event("job-tx"), None)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let rows: Vec<(String, Option<String>, Option<String>)> =
            sqlx::query_as("SELECT job_id, traceparent, tracestate FROM events ORDER BY job_id")
                .fetch_all(&mut conn)
                .await
                .unwrap();
        assert_eq!(
            rows,
            [
                ("job-durable".to_owned(), None, None),
                ("job-fire".to_owned(), None, None),
                ("job-tx".to_owned(), None, None),
            ]
        );
    });
    assert!(rx.hits().is_empty());
}
