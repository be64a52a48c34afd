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

/// Runs the binary with `args` under `script`, so its stdin, stdout and stderr are a
/// terminal (a pty); returns what the terminal showed.
fn run_on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = BIN.to_owned();
    for a in args {
        cmd.push(' ');
        cmd.push('\'');
        cmd.push_str(a);
        cmd.push('\'');
    }
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .envs(env.iter().copied())
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .stdin(Stdio::null())
        .output()
        .expect("`script` (util-linux) runs");
    text(&out.stdout)
}

const ESC: &str = "\x1b[";

#[test]
fn colour_only_on_a_terminal_and_never_in_piped_logs() {
    let dir = std::env::temp_dir().join(format!("fw-cli-colour-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ev = dir.join("event.json");
    std::fs::write(&ev, br#"{"job_id":"j","state":"queued"}"#).unwrap();
    let ev = ev.to_str().unwrap();
    // A refused connection makes the dispatcher log a WARN and an ERROR line.
    let send = |color: &'static str| {
        vec![
            "send",
            "--url",
            "http://127.0.0.1:9/",
            "--secret",
            "s",
            "--allow-private",
            "--max-retries",
            "0",
            "--file",
            ev,
            "--color",
            color,
        ]
    };
    // stderr to a pipe: no ANSI in auto mode, ANSI only when forced.
    let out = run(&send("auto"), b"");
    let log = text(&out.stderr);
    assert!(log.contains("WARN") && !log.contains(ESC), "{log:?}");
    let out = run(&send("always"), b"");
    assert!(text(&out.stderr).contains(ESC));
    let out = run(&send("never"), b"");
    assert!(!text(&out.stderr).contains(ESC));
    // On a terminal: colour in auto mode, none with NO_COLOR or --color never.
    let tty = run_on_a_terminal(&send("auto"), &[]);
    assert!(tty.contains("WARN") && tty.contains(ESC), "{tty:?}");
    let tty = run_on_a_terminal(&send("auto"), &[("NO_COLOR", "1")]);
    assert!(tty.contains("WARN") && !tty.contains(ESC), "{tty:?}");
    let tty = run_on_a_terminal(&send("never"), &[]);
    assert!(tty.contains("WARN") && !tty.contains(ESC), "{tty:?}");
    // `listen`'s verdict on a pipe: plain unless forced.
    for (color, coloured) in [("auto", false), ("always", true)] {
        let (mut child, mut lines, url) =
            listen_human(&["--secret", "k", "--max-requests", "1", "--color", color]);
        let (status, _) = post_raw(
            &url,
            "/hook",
            &[("X-Foreman-Signature", "sha256=00")],
            b"{}",
        );
        assert_eq!(status, 401);
        let line = lines.next().unwrap().unwrap();
        assert!(line.contains("INVALID"), "{line}");
        assert_eq!(line.contains(ESC), coloured, "{line:?}");
        assert!(child.wait().unwrap().success());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `listen --port 0` (human output) with `args`.
fn listen_human(args: &[&str]) -> (std::process::Child, Lines, String) {
    let mut child = Command::new(BIN)
        .args(["listen", "--port", "0"])
        .args(args)
        .env_remove("FOREMAN_WEBHOOK_SECRET")
        .env_remove("FOREMAN_WEBHOOK_STANDARD_SECRET")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let url = first
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches([',', '/'])
        .to_owned();
    (child, lines, url)
}

/// One POST with raw header lines to `base` (`http://host:port`) + `path`.
fn post_raw(base: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    use std::io::Read;
    let host = base.trim_start_matches("http://").trim_end_matches('/');
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).unwrap();
    let status = resp[9..12].parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A one-request-at-a-time HTTP handler on 127.0.0.1 that records what it got and
/// answers 202 "handled".
fn handler_server(requests: usize) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::Read;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/dev-handler", l.local_addr().unwrap());
    let t = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..requests {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Read the head, then Content-Length bytes of body.
            loop {
                let n = s.read(&mut chunk).unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let t = String::from_utf8_lossy(&buf).to_string();
                if let Some((head, body)) = t.split_once("\r\n\r\n") {
                    let len: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len || n == 0 {
                        break;
                    }
                }
            }
            seen.push(String::from_utf8_lossy(&buf).into_owned());
            s.write_all(
                b"HTTP/1.1 202 Accepted\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhandled\n",
            )
            .unwrap();
        }
        seen
    });
    (url, t)
}

#[test]
fn listen_forwards_verified_requests_to_the_handler() {
    let (handler_url, handler) = handler_server(1);
    let (mut listener, mut lines, url) = listen(&[
        "--secret",
        "fwd-key",
        "--forward-to",
        &handler_url,
        "--max-requests",
        "2",
    ]);
    let body = br#"{"job_id":"job-fwd","state":"running"}"#;
    let sig = text(&run(&["sign", "--secret", "fwd-key"], body).stdout)
        .trim()
        .trim_start_matches("X-Foreman-Signature: ")
        .to_owned();
    let (status, answer) = post_raw(
        &url,
        "/hooks/foreman?x=1",
        &[("X-Foreman-Signature", &sig), ("X-Custom", "kept")],
        body,
    );
    assert_eq!(
        (status, answer.as_str()),
        (202, "handled\n"),
        "the handler's answer"
    );
    let r: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(r["method"], "POST");
    assert_eq!(r["path"], "/hooks/foreman?x=1");
    assert_eq!(r["x_foreman_signature"], "valid");
    assert_eq!(r["standard_webhooks"], "-");
    assert_eq!(r["handler_status"], 202);
    assert_eq!(r["status"], 202);

    // A forged request is refused and never reaches the handler.
    let (status, answer) = post_raw(
        &url,
        "/hooks/foreman",
        &[("X-Foreman-Signature", "sha256=00")],
        body,
    );
    assert_eq!((status, answer.trim()), (401, "wrong_length"));
    let r: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(r["handler_status"], serde_json::Value::Null);
    assert_eq!(r["reason"], "wrong_length");
    assert!(listener.wait().unwrap().success());

    let seen = handler.join().unwrap();
    assert_eq!(seen.len(), 1);
    let got = &seen[0];
    assert!(got.starts_with("POST /dev-handler HTTP/1.1\r\n"), "{got}");
    let lower = got.to_ascii_lowercase();
    assert!(
        lower.contains(&format!("x-foreman-signature: {sig}")),
        "{got}"
    );
    assert!(lower.contains("x-custom: kept"), "{got}");
    assert!(got.ends_with(std::str::from_utf8(body).unwrap()), "{got}");
}

#[test]
fn listen_prints_method_path_and_verdicts_and_a_missing_header_is_missing_prefix() {
    let (mut child, mut lines, url) = listen_human(&["--secret", "k", "--max-requests", "1"]);
    let (status, answer) = post_raw(&url, "/some/path", &[], b"{}");
    assert_eq!((status, answer.trim()), (401, "missing_prefix"));
    let line = lines.next().unwrap().unwrap();
    assert!(line.contains("INVALID  POST /some/path"), "{line}");
    assert!(
        line.contains("x-foreman-signature: missing_prefix"),
        "{line}"
    );
    assert!(line.contains("standard-webhooks: -"), "{line}");
    assert!(child.wait().unwrap().success());
}

#[test]
fn invalid_urls_are_usage_errors_with_the_right_hint() {
    for args in [
        &["send", "--url", "not a url", "--secret", "s"][..],
        &["send", "--url", "ftp://example.com/x", "--secret", "s"][..],
        &["send", "--url", "/relative/path", "--secret", "s"][..],
        &["listen", "--secret", "s", "--forward-to", "localhost:3000"][..],
    ] {
        let out = run(args, br#"{"job_id":"j","state":"queued"}"#);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("absolute http:// or https:// URL"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("allow-private"), "{args:?}: {err}");
    }
}

#[test]
fn send_refuses_a_body_that_is_not_an_event_unless_raw() {
    let args = [
        "send",
        "--url",
        "http://127.0.0.1:9/",
        "--secret",
        "s",
        "--max-retries",
        "0",
    ];
    for body in [&br#"{"hello":"world"}"#[..], br#"{"job_id":"j"}"#, b"[1,2]"] {
        let out = run(&args, body);
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(
            err.contains("not an event") && err.contains("--raw"),
            "{err}"
        );
    }
    // With --raw it goes out (here to a listener that verifies it).
    let (mut listener, mut lines, url) = listen(&["--secret", "s", "--max-requests", "1"]);
    let out = run(
        &[
            "send",
            "--url",
            &url,
            "--secret",
            "s",
            "--allow-private",
            "--raw",
            "--json",
        ],
        br#"{"hello":"world"}"#,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(r["x_foreman_signature"], "valid");
    assert!(listener.wait().unwrap().success());
}

#[test]
fn input_is_capped_and_a_terminal_gets_a_hint() {
    // stdin: at the cap passes, one byte over is a usage error naming the flag.
    let ok = run(
        &["sign", "--secret", "s", "--max-input-bytes", "10"],
        b"0123456789",
    );
    assert_eq!(ok.status.code(), Some(0));
    let over = run(
        &["sign", "--secret", "s", "--max-input-bytes", "10"],
        b"0123456789X",
    );
    assert_eq!(over.status.code(), Some(2));
    assert!(
        text(&over.stderr).contains("--max-input-bytes"),
        "{}",
        text(&over.stderr)
    );
    // --file: the same cap.
    let path = std::env::temp_dir().join(format!("fw-cli-cap-{}", std::process::id()));
    std::fs::write(&path, vec![b'x'; 2048]).unwrap();
    let p = path.to_str().unwrap();
    let over = run(
        &[
            "sign",
            "--secret",
            "s",
            "--file",
            p,
            "--max-input-bytes",
            "2047",
        ],
        b"",
    );
    assert_eq!(over.status.code(), Some(2));
    assert!(text(&over.stderr).contains("larger than 2047 bytes"));
    let ok = run(&["sign", "--secret", "s", "--file", p], b"");
    assert_eq!(ok.status.code(), Some(0));
    let _ = std::fs::remove_file(&path);
    // The default cap is the documented 16 MiB.
    let help = text(&run(&["sign", "--help"], b"").stdout);
    assert!(help.contains("[default: 16777216]"), "{help}");
    // Piped stdin: no hint. Stdin on a terminal: a one-line hint instead of silence.
    assert!(!text(&ok.stderr).contains("Ctrl-D"));
    let piped = run(&["sign", "--secret", "s"], b"body");
    assert!(!text(&piped.stderr).contains("Ctrl-D"));
    let tty = run_on_a_terminal(&["sign", "--secret", "s"], &[]);
    assert!(
        tty.contains("reading the body from stdin") && tty.contains("Ctrl-D"),
        "{tty:?}"
    );
}

#[test]
fn cli_structure_main_dispatches_shared_imports_no_subcommand() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin/foreman-webhook/");
    let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).unwrap();
    let subcommands = ["demo", "listen", "send", "sign", "verify"];
    for s in subcommands {
        assert!(read("main.rs").contains(&format!("mod {s};")), "{s}.rs");
    }
    // What is shared depends on no subcommand, and no subcommand on another: no cycles.
    for f in ["shared.rs", "shared/receiver.rs"] {
        let src = read(f);
        for s in subcommands {
            assert!(!src.contains(&format!("crate::{s}")), "{f} uses {s}");
        }
    }
    for a in subcommands {
        let src = read(&format!("{a}.rs"));
        for b in subcommands.iter().filter(|b| **b != a) {
            assert!(
                !src.contains(&format!("crate::{b}::")),
                "{a}.rs uses {b}.rs"
            );
        }
    }
    // The library's defaults, not repeated literals.
    let send = read("send.rs");
    for c in [
        "DEFAULT_MAX_RETRIES",
        "DEFAULT_BASE_DELAY",
        "DEFAULT_TIMEOUT",
    ] {
        assert!(send.contains(c), "send.rs should use {c}");
    }
    // `send` and `relay` share one allowlist step, which uses the library's preset.
    for f in ["send.rs", "relay.rs"] {
        assert!(read(f).contains("keys_and_allowlist("), "{f}");
    }
    let shared = read("shared.rs");
    assert!(
        shared.contains("PRIVATE_NETWORKS"),
        "shared.rs should use PRIVATE_NETWORKS"
    );
    for f in ["send.rs", "relay.rs", "shared.rs"] {
        assert!(
            !read(f).contains("\"127.0.0.0/8\""),
            "{f}: the preset lives in the library"
        );
    }
}

#[test]
fn listen_forward_to_an_unreachable_handler_is_a_502_and_says_so() {
    // A port that was free a moment ago: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}/gone", closed.local_addr().unwrap());
    drop(closed);
    let (mut child, mut lines, url) = listen_human(&[
        "--secret",
        "k",
        "--forward-to",
        &dead,
        "--max-requests",
        "1",
    ]);
    let body = br#"{"job_id":"j","state":"queued"}"#;
    let sig = text(&run(&["sign", "--secret", "k"], body).stdout)
        .trim()
        .trim_start_matches("X-Foreman-Signature: ")
        .to_owned();
    let (status, answer) = post_raw(&url, "/hook", &[("X-Foreman-Signature", &sig)], body);
    assert_eq!(status, 502);
    assert!(answer.contains("cannot connect"), "{answer}");
    let line = lines.next().unwrap().unwrap();
    assert!(line.contains("VALID  POST /hook"), "{line}");
    assert!(line.contains("-> 502  handler: cannot connect"), "{line}");
    assert!(child.wait().unwrap().success());
}
