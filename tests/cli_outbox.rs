//! The built binary's durable commands on a real SQLite file: `send --store [--jsonl]`,
//! `relay` (stopped with SIGTERM), `outbox status|list|attempts|redeliver|prune`.
#![cfg(all(feature = "cli", feature = "sqlite", unix))]

mod support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{Receiver, Reply};

const BIN: &str = env!("CARGO_BIN_EXE_foreman-webhook");
const SECRET: &str = "cli-outbox-secret";

fn run(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .env_remove("FOREMAN_WEBHOOK_STANDARD_SECRET")
        .env_remove("FOREMAN_WEBHOOK_STORE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn status_json(store: &str) -> serde_json::Value {
    let out = run(&["outbox", "status", "--store", store, "--json"], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn hmac_hex(body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, SECRET.as_bytes());
    hex(ring::hmac::sign(&key, body).as_ref())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Runs a relay until `done` says so, then SIGTERMs it; returns its output.
fn relay_until(store: &str, done: impl Fn() -> bool) -> Output {
    let child = Command::new(BIN)
        .args([
            "relay",
            "--store",
            store,
            "--secret",
            SECRET,
            "--allow-private",
            "--base-delay-ms",
            "20",
            "--poll-ms",
            "50",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "relay made no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    child.wait_with_output().unwrap()
}

#[test]
fn send_store_relay_and_outbox_commands() {
    let dir = std::env::temp_dir().join(format!("foreman-cli-outbox-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = format!("sqlite:{}", dir.join("o.db").display());
    let failed_once = std::sync::atomic::AtomicBool::new(false);
    let rx = Receiver::start(move |_, hit| {
        let job1 = hit.body.windows(7).any(|w| w == b"\"job-1\"");
        if job1 && !failed_once.swap(true, std::sync::atomic::Ordering::SeqCst) {
            Reply::status(503).body("busy")
        } else {
            Reply::status(200).body("thanks")
        }
    });
    let url = rx.url("/hook");

    // One event, then three as JSON Lines; nothing is delivered by `send`.
    let one = br#"{"job_id":"job-1","state":"running"}"#;
    let out = run(
        &["send", "--store", &store, "--url", &url, "--secret", SECRET],
        one,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    let id = line
        .split_whitespace()
        .nth(1)
        .filter(|w| w.starts_with("msg_"))
        .unwrap_or_else(|| panic!("no id in {line:?}"))
        .to_owned();
    let lines = b"{\"job_id\":\"job-2\",\"state\":\"queued\"}\n\n{\"job_id\":\"job-3\",\"state\":\"queued\"}\n{\"job_id\":\"job-4\",\"state\":\"failed\"}\n";
    let out = run(
        &[
            "send", "--store", &store, "--url", &url, "--secret", SECRET, "--jsonl",
        ],
        lines,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("stored 3 events"));
    let bad = run(
        &[
            "send", "--store", &store, "--url", &url, "--secret", SECRET, "--jsonl",
        ],
        b"{\"job_id\":\"ok\",\"state\":\"x\"}\nnot json\n",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("line 2"),
        "{}",
        text(&bad.stderr)
    );
    let s = status_json(&store);
    assert_eq!(s["pending"], 4);
    assert_eq!(s["delivered"], 0);
    assert!(rx.hits().is_empty());

    // A relay delivers them (one 503 first), then stops cleanly on SIGTERM.
    let out = relay_until(&store, || status_json(&store)["delivered"] == 4);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("relay: delivered 4, dead 0"),
        "{}",
        text(&out.stderr)
    );
    let hits = rx.hits();
    assert_eq!(hits.len(), 5);
    for h in &hits {
        let sig = h.header("x-foreman-signature").unwrap();
        assert_eq!(sig, format!("sha256={}", hmac_hex(&h.body)));
    }
    assert_eq!(
        hits.iter()
            .filter(|h| h.header("webhook-id") == Some(id.as_str()))
            .count(),
        0,
        "no standard-webhooks secret given: no webhook-id header"
    );

    // list / attempts.
    let out = run(
        &["outbox", "list", "--store", &store, "--state", "delivered"],
        b"",
    );
    assert_eq!(
        text(&out.stdout).lines().count(),
        4,
        "{}",
        text(&out.stdout)
    );
    let out = run(
        &[
            "outbox", "list", "--store", &store, "--state", "dead", "--json",
        ],
        b"",
    );
    assert!(out.status.success());
    assert_eq!(text(&out.stdout).trim(), "");
    let bad = run(
        &["outbox", "list", "--store", &store, "--state", "gone"],
        b"",
    );
    assert_eq!(bad.status.code(), Some(2));
    let out = run(
        &["outbox", "attempts", "--store", &store, &id, "--json"],
        b"",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let attempts: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(attempts.len(), 2, "the 503 then the 200: {attempts:?}");
    assert_eq!(attempts[0]["status"], 503);
    assert_eq!(attempts[0]["response_head"], "busy");
    assert_eq!(attempts[1]["status"], 200);

    // Redeliver one event: one manual attempt.
    let out = run(&["outbox", "redeliver", "--store", &store, &id], b"");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(status_json(&store)["pending"], 1);
    let out = relay_until(&store, || status_json(&store)["delivered"] == 4);
    assert!(out.status.success());
    let out = run(&["outbox", "attempts", "--store", &store, &id], b"");
    let t = text(&out.stdout);
    assert!(
        t.lines()
            .nth(2)
            .is_some_and(|l| l.contains("manual") && l.contains("HTTP 200")),
        "{t}"
    );
    let none = run(
        &["outbox", "redeliver", "--store", &store, "--all-dead"],
        b"",
    );
    assert_eq!(none.status.code(), Some(1), "nothing dead to redeliver");

    // Prune everything finished.
    let out = run(
        &["outbox", "prune", "--store", &store, "--older-than", "0s"],
        b"",
    );
    assert!(
        text(&out.stdout).contains("pruned 4 events"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(status_json(&store)["delivered"], 0);

    // Store spellings.
    // A postgres URL: unreachable server (exit 1, a clear error) with the `postgres`
    // feature, a usage error (exit 2) without it.
    let pg = run(
        &[
            "outbox",
            "status",
            "--store",
            "postgres://postgres@127.0.0.1:1/x",
        ],
        b"",
    );
    if cfg!(feature = "postgres") {
        assert_eq!(pg.status.code(), Some(1), "{}", text(&pg.stderr));
        assert!(
            text(&pg.stderr).contains("connecting to PostgreSQL"),
            "{}",
            text(&pg.stderr)
        );
    } else {
        assert_eq!(pg.status.code(), Some(2));
    }
    let junk = run(&["outbox", "status", "--store", "mysql://x"], b"");
    assert_eq!(junk.status.code(), Some(2));
    assert!(text(&junk.stderr).contains("sqlite:PATH"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `send --store --jsonl --ordered`, then a relay with the delivery-policy flags: per job
/// the receiver (failing the first attempt of every `running`) sees queued → running →
/// succeeded and nothing out of order, at the `--rate-limit-host` rate.
#[test]
fn ordered_send_and_relay_policy_flags() {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};
    const STATES: [&str; 3] = ["queued", "running", "succeeded"];
    let dir = std::env::temp_dir().join(format!("foreman-cli-policy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = format!("sqlite:{}", dir.join("o.db").display());
    type Log = Arc<Mutex<Vec<(String, String, u16, Instant)>>>;
    let log: Log = Arc::default();
    let l = log.clone();
    let rx = Receiver::start(move |_, hit| {
        let v: serde_json::Value = serde_json::from_slice(&hit.body).unwrap();
        let (job, state) = (v["job_id"].as_str().unwrap(), v["state"].as_str().unwrap());
        let mut log = l.lock().unwrap();
        let first_running =
            state == "running" && !log.iter().any(|(j, s, _, _)| j == job && s == "running");
        let status = if first_running { 500 } else { 200 };
        log.push((job.into(), state.into(), status, hit.at));
        Reply::status(status)
    });
    let url = rx.url("/hook");
    let mut lines = String::new();
    for j in 0..5 {
        for s in STATES {
            lines.push_str(&format!("{{\"job_id\":\"job-{j}\",\"state\":\"{s}\"}}\n"));
        }
    }
    let out = run(
        &[
            "send",
            "--store",
            &store,
            "--url",
            &url,
            "--jsonl",
            "--ordered",
        ],
        lines.as_bytes(),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let host = format!("127.0.0.1:{}=20", rx.port());
    let child = Command::new(BIN)
        .args([
            "relay",
            "--store",
            &store,
            "--secret",
            SECRET,
            "--allow-private",
            "--retry-schedule",
            "50ms,100ms",
            "--breaker-failures",
            "50",
            "--rate-limit-host",
            &host,
            "--poll-ms",
            "20",
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while log.lock().unwrap().len() < 20 {
        assert!(Instant::now() < deadline, "relay made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("relay: delivered 15, dead 0"),
        "{}",
        text(&out.stderr)
    );
    let log = log.lock().unwrap();
    let mut accepted: HashMap<&str, usize> = HashMap::new();
    for (job, state, status, _) in log.iter() {
        let got = accepted.entry(job.as_str()).or_default();
        assert_eq!(state, STATES[*got], "{job}: out of order in {log:?}");
        if *status == 200 {
            *got += 1;
        }
    }
    assert!(accepted.values().all(|&n| n == 3));
    // 20 requests at 20/s: the first at once, then one every 50 ms (≥ 0.95 s in all; the
    // retry waits and the claim polling add to it).
    let span = log[19].3 - log[0].3;
    assert!(span >= Duration::from_millis(900), "{span:?}");
    let bad = run(
        &[
            "relay",
            "--store",
            &store,
            "--secret",
            SECRET,
            "--retry-schedule",
            "5d",
        ],
        b"",
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
    assert!(
        text(&bad.stderr).contains("--retry-schedule"),
        "{}",
        text(&bad.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
