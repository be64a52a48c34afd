//! The built `foreman-webhook` binary: sign/verify against the shared vectors, a
//! listen + send round trip with a retry on 127.0.0.1, the demo's books, exit codes.
#![cfg(all(feature = "cli", not(target_arch = "wasm32")))]

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

mod cases;
use cases::{load, SecretHex, SigCase, StdCase, SIGNATURE_CASES, STANDARD_CASES};

const BIN: &str = env!("CARGO_BIN_EXE_foreman-webhook");

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .env_remove("FOREMAN_WEBHOOK_STANDARD_SECRET")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    // The process may exit before reading stdin (usage errors): ignore a broken pipe.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn sign_and_verify_match_the_vectors() {
    let cases: Vec<SigCase> = load(include_str!("vectors/signatures.json"), SIGNATURE_CASES);
    let mut checked = 0;
    for c in &cases {
        // The CLI takes text secrets; skip non-UTF-8 keys and the list cases.
        let [SecretHex {
            text: Some(secret), ..
        }] = c.secrets.as_slice()
        else {
            continue;
        };
        let body = hex::decode(&c.body_hex).unwrap();
        let out = run(
            &[
                "verify",
                "--secret",
                secret,
                "--signature",
                &c.header,
                "--json",
            ],
            &body,
        );
        if secret.is_empty() {
            assert_eq!(
                out.status.code(),
                Some(2),
                "{}: empty secret is a usage error",
                c.name
            );
            assert!(
                text(&out.stderr).contains("must not be empty"),
                "{}",
                c.name
            );
            checked += 1;
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}: {}", c.name, text(&out.stderr)));
        assert_eq!(v["reason"], c.expect.as_str(), "{}", c.name);
        assert_eq!(
            out.status.code(),
            Some(if c.expect == "ok" { 0 } else { 1 }),
            "{}",
            c.name
        );
        if c.expect == "ok" && c.header == c.header.trim().to_ascii_lowercase() {
            let signed = run(&["sign", "--secret", secret], &body);
            assert_eq!(signed.status.code(), Some(0));
            assert_eq!(
                text(&signed.stdout).trim(),
                format!("X-Foreman-Signature: {}", c.header),
                "{}",
                c.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 35, "only {checked} cases ran");
}

#[test]
fn standard_verify_matches_the_vectors() {
    let cases: Vec<StdCase> = load(include_str!("vectors/standard.json"), STANDARD_CASES);
    let mut checked = 0;
    for c in &cases {
        let (Some(id), Some(ts), Some(sig)) = (&c.id, &c.timestamp, &c.signature) else {
            continue;
        };
        if c.secrets.is_empty() || ts.is_empty() || ts.starts_with(['-', '+']) {
            continue; // clap would read these as flags / no secret given
        }
        let mut args = vec![
            "verify",
            "--signature",
            sig,
            "--id",
            id,
            "--timestamp",
            ts,
            "--json",
        ];
        for s in &c.secrets {
            args.extend(["--standard-secret", s]);
        }
        let now = c.now.to_string();
        args.extend(["--now", &now]);
        let tol = c.tolerance.map(|t| t.to_string());
        if let Some(t) = &tol {
            args.extend(["--tolerance", t]);
        }
        let out = run(&args, &hex::decode(&c.body_hex).unwrap());
        match c.expect.as_str() {
            "empty_secret" | "malformed_secret" => {
                assert_eq!(out.status.code(), Some(2), "{}", c.name);
            }
            expect => {
                let v: serde_json::Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|_| panic!("{}: {}", c.name, text(&out.stderr)));
                assert_eq!(v["reason"], expect, "{}", c.name);
                assert_eq!(
                    out.status.code(),
                    Some(if expect == "ok" { 0 } else { 1 }),
                    "{}",
                    c.name
                );
            }
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} cases ran");
}

type Lines = std::io::Lines<BufReader<std::process::ChildStdout>>;

/// Starts `listen --port 0 --json` with `args`; returns the child, its output lines and
/// the URL it printed first.
fn listen(args: &[&str]) -> (std::process::Child, Lines, String) {
    let mut child = Command::new(BIN)
        .args(["listen", "--port", "0", "--json"])
        .args(args)
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .env_remove("FOREMAN_WEBHOOK_STANDARD_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let url = first["listening"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (child, lines, url)
}

#[test]
fn listen_and_send_round_trip_with_a_retry() {
    let (mut listener, mut lines, url) = listen(&[
        "--secret",
        "round-trip-secret",
        "--fail-first",
        "1",
        "--status",
        "503",
        "--max-requests",
        "2",
    ]);

    let event = br#"{"job_id":"job-rt","state":"succeeded","previous_state":"running","timestamp":"2026-11-28T14:00:00Z","model":"m","attempt":1,"result":{"ok":true},"artifacts":null,"error":null}"#;
    let out = run(
        &[
            "send",
            "--url",
            &url,
            "--secret",
            "round-trip-secret",
            "--allow-private",
            "--base-delay-ms",
            "50",
            "--json",
        ],
        event,
    );
    assert_eq!(out.status.code(), Some(0), "send: {}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["delivered"], true);
    assert_eq!(v["attempts"], 2);
    assert_eq!(v["job_id"], "job-rt");

    let r1: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let r2: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(
        (r1["status"].as_u64(), r2["status"].as_u64()),
        (Some(503), Some(200))
    );
    for r in [&r1, &r2] {
        assert_eq!(r["x_foreman_signature"], "valid");
        assert_eq!(r["body"]["job_id"], "job-rt");
        assert_eq!(r["body_bytes"], event.len());
    }
    assert!(listener.wait().unwrap().success());
}

#[test]
fn send_refuses_loopback_without_allow_private() {
    let event = br#"{"job_id":"j","state":"queued","timestamp":"2026-11-28T14:00:00Z"}"#;
    let out = run(
        &[
            "send",
            "--url",
            "http://127.0.0.1:9/",
            "--secret",
            "s",
            "--max-retries",
            "0",
        ],
        event,
    );
    assert_eq!(out.status.code(), Some(1));
    let msg = text(&out.stdout);
    assert!(
        msg.contains("refused") && msg.contains("--allow-private"),
        "{msg}"
    );
}

#[test]
fn listen_rejects_a_bad_signature_with_401() {
    let (mut listener, mut lines, url) = listen(&["--secret", "right", "--max-requests", "1"]);
    let event = br#"{"job_id":"j","state":"queued","timestamp":"2026-11-28T14:00:00Z"}"#;
    // Signed with the wrong key: the listener answers 401, so send exhausts its retries.
    let out = run(
        &[
            "send",
            "--url",
            &url,
            "--secret",
            "wrong",
            "--allow-private",
            "--max-retries",
            "0",
            "--json",
        ],
        event,
    );
    assert_eq!(out.status.code(), Some(1));
    let r: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(r["status"], 401);
    assert_eq!(r["x_foreman_signature"], "mismatch");
    assert!(listener.wait().unwrap().success());
}

#[test]
fn demo_books_balance() {
    let out = run(&["demo", "--json", "--base-delay-ms", "50"], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["fired"], 6);
    assert_eq!(v["delivered"], 6);
    for k in [
        "exhausted",
        "rejected",
        "dropped_at_capacity",
        "abandoned_at_shutdown",
        "duplicate_deliveries",
    ] {
        assert_eq!(v[k], 0, "{k}");
    }
    // Every attempt the dispatcher counted reached the receiver with valid signatures.
    assert_eq!(v["attempts"], v["receiver_valid"]);
    assert_eq!(v["attempts"], 8);
    assert_eq!(v["receiver_refused"], 2);
    assert_eq!(
        (v["forged_status"].as_u64(), v["replay_status"].as_u64()),
        (Some(401), Some(401))
    );
    let timeline = text(&out.stderr);
    assert!(timeline.contains("429 (Retry-After: 1)"), "{timeline}");
    assert!(timeline.contains("standard=too_old"), "{timeline}");
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for (args, needle) in [
        (&["verify", "--signature", "sha256=00"][..], "--secret"),
        (&["frobnicate"][..], "unrecognized subcommand"),
        (
            &["listen", "--secret", "s", "--fail-rate", "2"][..],
            "between 0.0 and 1.0",
        ),
        (&["sign", "--secret", ""][..], "must not be empty"),
        (
            &["send", "--url", "http://127.0.0.1:9/", "--secret", "s"][..],
            "not valid JSON",
        ),
    ] {
        let out = run(args, b"not json");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
    let help = run(&["--help"], b"");
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("Examples:"));
}

#[test]
fn secrets_never_printed() {
    let out = run(&["sign", "--secret", "top-secret-value-123"], b"body");
    assert!(!text(&out.stdout).contains("top-secret") && !text(&out.stderr).contains("top-secret"));
    let out = run(
        &[
            "verify",
            "--secret",
            "top-secret-value-123",
            "--signature",
            "sha256=zz",
        ],
        b"body",
    );
    assert!(!text(&out.stdout).contains("top-secret") && !text(&out.stderr).contains("top-secret"));
    std::thread::sleep(Duration::from_millis(1));
}
