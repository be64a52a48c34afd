//! The axum extractors against a real axum server on 127.0.0.1: every signature vector
//! (tests/vectors/signatures.json, standard.json) and both schemes together, sent as raw
//! HTTP/1.1 so the header lines on the wire are exactly the vectors'.
#![cfg(all(feature = "axum", not(target_arch = "wasm32")))]

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use foreman_webhook::axum::{Verified, VerifiedBody};
use foreman_webhook::standard::StandardWebhook;
use foreman_webhook::{sign, Receiver, ReceiverBuilder, Require, Secret};
use std::io::{Read, Write};

mod cases;
use cases::{load, SigCase, StdCase, SIGNATURE_CASES, STANDARD_CASES};

async fn event_handler(Verified(event): Verified) -> String {
    format!("{} {}", event.job_id, event.state)
}

async fn raw_handler(VerifiedBody(body): VerifiedBody) -> (StatusCode, String) {
    (StatusCode::OK, format!("verified {} bytes", body.len()))
}

/// Serves `receiver` on 127.0.0.1:0; `/event` takes `Verified`, `/raw` `VerifiedBody`.
async fn serve(receiver: Receiver) -> SocketAddr {
    let app = Router::new()
        .route("/event", post(event_handler))
        .route("/raw", post(raw_handler))
        .with_state(receiver);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// One POST as raw bytes: each `(name, value)` is one header line, in order.
async fn post_raw(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &[u8])],
    body: &[u8],
) -> (u16, String) {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    )
    .into_bytes();
    for (name, value) in headers {
        req.extend_from_slice(name.as_bytes());
        req.extend_from_slice(b": ");
        req.extend_from_slice(value);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"\r\n");
    req.extend_from_slice(body);
    // A blocking client on the blocking pool: the server runs on the test's runtime.
    let resp = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(&req).unwrap();
        let mut resp = Vec::new();
        stream.read_to_end(&mut resp).unwrap();
        resp
    })
    .await
    .unwrap();
    let resp = String::from_utf8_lossy(&resp).into_owned();
    let status = resp[9..12].parse().unwrap();
    let body = resp
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A value HTTP/1.1 cannot carry in a header line (CR, LF, other controls but tab).
fn unsendable(v: &str) -> bool {
    v.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

#[tokio::test]
async fn every_foreman_signature_vector_through_axum() {
    let cases: Vec<SigCase> = load(include_str!("vectors/signatures.json"), SIGNATURE_CASES);
    let (mut sent, mut unsent) = (0, Vec::new());
    for c in &cases {
        let body = hex::decode(&c.body_hex).unwrap();
        let mut builder = Receiver::builder();
        let mut bad_secret = None;
        for s in &c.secrets {
            match Secret::new(hex::decode(&s.hex).unwrap()) {
                Ok(s) => builder = builder.foreman_secret(s),
                Err(e) => bad_secret = Some(e.code()),
            }
        }
        let receiver = match (bad_secret, builder.build()) {
            (Some(code), _) => {
                assert_eq!(code, c.expect, "{}", c.name);
                continue;
            }
            (None, Err(e)) => {
                assert_eq!(e.code(), c.expect, "{}", c.name);
                continue;
            }
            (None, Ok(r)) => r,
        };
        if unsendable(&c.header) {
            unsent.push(c.name.as_str());
            continue;
        }
        let addr = serve(receiver).await;
        let (status, text) = post_raw(
            addr,
            "/raw",
            &[("X-Foreman-Signature", c.header.as_bytes())],
            &body,
        )
        .await;
        if c.expect == "ok" {
            assert_eq!(status, 200, "{}: {text}", c.name);
            assert_eq!(text, format!("verified {} bytes", body.len()), "{}", c.name);
        } else {
            assert_eq!(
                (status, text.trim()),
                (401, c.expect.as_str()),
                "{}",
                c.name
            );
        }
        sent += 1;
    }
    // Only the header ending in a newline cannot be put on the wire.
    assert_eq!(unsent, ["trailing newline not trimmed"]);
    assert_eq!(
        sent,
        SIGNATURE_CASES - 3,
        "two empty-secret cases are configuration errors"
    );
}

#[tokio::test]
async fn every_standard_webhooks_vector_through_axum() {
    let cases: Vec<StdCase> = load(include_str!("vectors/standard.json"), STANDARD_CASES);
    let mut sent = 0;
    let mut config_errors = 0;
    for c in &cases {
        let body = hex::decode(&c.body_hex).unwrap();
        let now = c.now;
        let mut builder: ReceiverBuilder = Receiver::builder().clock(move || now);
        if let Some(t) = c.tolerance {
            builder = builder.tolerance_secs(t);
        }
        let mut bad_secret = None;
        for s in &c.secrets {
            match Secret::from_standard(s) {
                Ok(s) => builder = builder.standard_secret(s),
                Err(e) => bad_secret = Some(e.code()),
            }
        }
        let receiver = match (bad_secret, builder.build()) {
            (Some(code), _) => Err(code),
            (None, Err(e)) => Err(e.code()),
            (None, Ok(r)) => Ok(r),
        };
        let receiver = match receiver {
            Ok(r) => r,
            Err(code) => {
                assert_eq!(code, c.expect, "{}", c.name);
                config_errors += 1;
                continue;
            }
        };
        let mut headers: Vec<(&str, &[u8])> = Vec::new();
        for (name, v) in [
            ("webhook-id", &c.id),
            ("webhook-timestamp", &c.timestamp),
            ("webhook-signature", &c.signature),
        ] {
            if let Some(v) = v {
                assert!(!unsendable(v), "{}", c.name);
                headers.push((name, v.as_bytes()));
            }
        }
        let addr = serve(receiver).await;
        let (status, text) = post_raw(addr, "/raw", &headers, &body).await;
        // "missing_header:webhook-id": the code, then which header (in the message).
        let code = c.expect.split(':').next().unwrap();
        if code == "ok" {
            assert_eq!(status, 200, "{}: {text}", c.name);
        } else {
            assert_eq!((status, text.trim()), (401, code), "{}", c.name);
        }
        sent += 1;
    }
    assert_eq!(config_errors, 3, "empty, none and undecodable secret");
    assert_eq!(sent, STANDARD_CASES - 3);
}

const EVENT: &[u8] = br#"{"job_id":"job-ax","state":"succeeded","previous_state":"running","timestamp":"2026-11-28T14:00:00Z","model":"m","attempt":1,"result":null,"artifacts":null,"error":null}"#;
const WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

fn both(now: i64) -> Receiver {
    Receiver::builder()
        .foreman_secret(Secret::new("foreman-key").unwrap())
        .standard_secret(Secret::from_standard(WHSEC).unwrap())
        .replay_guard(100)
        .clock(move || now)
        .body_limit(4096)
        .build()
        .unwrap()
}

struct Signed {
    foreman: String,
    id: String,
    ts: String,
    standard: String,
}

fn signed(id: &str, ts: i64, body: &[u8]) -> Signed {
    let wh = StandardWebhook::new(&[Secret::from_standard(WHSEC).unwrap()]).unwrap();
    Signed {
        foreman: sign(body, &Secret::new("foreman-key").unwrap()).to_string(),
        id: id.to_owned(),
        ts: ts.to_string(),
        standard: wh.sign(id, ts, body),
    }
}

impl Signed {
    fn headers(&self) -> Vec<(&str, &[u8])> {
        vec![
            ("X-Foreman-Signature", self.foreman.as_bytes()),
            ("webhook-id", self.id.as_bytes()),
            ("webhook-timestamp", self.ts.as_bytes()),
            ("webhook-signature", self.standard.as_bytes()),
        ]
    }
}

#[tokio::test]
async fn both_schemes_replays_lines_and_limits() {
    let now = 1_764_000_000;
    let addr = serve(both(now)).await;
    let s = signed("msg_1", now, EVENT);

    // Both valid: the handler gets the decoded event.
    let (status, text) = post_raw(addr, "/event", &s.headers(), EVENT).await;
    assert_eq!((status, text.as_str()), (200, "job-ax succeeded"));
    // The same webhook-id again inside the window: refused before the handler.
    let (status, text) = post_raw(addr, "/event", &s.headers(), EVENT).await;
    assert_eq!((status, text.trim()), (401, "replayed"));

    // Either scheme alone is not enough under the default Require::Every.
    let s2 = signed("msg_2", now, EVENT);
    let h = s2.headers();
    let (status, text) = post_raw(addr, "/event", &h[1..], EVENT).await;
    assert_eq!((status, text.trim()), (401, "missing_prefix"));
    let (status, text) = post_raw(addr, "/event", &h[..1], EVENT).await;
    assert_eq!((status, text.trim()), (401, "missing_header"));

    // A stale Standard timestamp with a valid X-Foreman-Signature: refused.
    let old = signed("msg_3", now - 301, EVENT);
    let (status, text) = post_raw(addr, "/event", &old.headers(), EVENT).await;
    assert_eq!((status, text.trim()), (401, "too_old"));

    // webhook-signature over two lines (a bogus entry, then the real one): joined, valid.
    let s4 = signed("msg_4", now, EVENT);
    let bogus = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let mut h = s4.headers();
    h.insert(3, ("webhook-signature", bogus.as_bytes()));
    let (status, text) = post_raw(addr, "/event", &h, EVENT).await;
    assert_eq!((status, text.as_str()), (200, "job-ax succeeded"));

    // X-Foreman-Signature twice (valid, then junk): refused, not picked.
    let s5 = signed("msg_5", now, EVENT);
    let mut h = s5.headers();
    h.insert(1, ("x-foreman-signature", b"sha256=00"));
    let (status, text) = post_raw(addr, "/event", &h, EVENT).await;
    assert_eq!((status, text.trim()), (401, "wrong_length"));

    // Over the explicit 4096-byte limit: 413 before verifying.
    let big = vec![b' '; 5000];
    let s6 = signed("msg_6", now, &big);
    let (status, text) = post_raw(addr, "/event", &s6.headers(), &big).await;
    assert_eq!((status, text.trim()), (413, "body_too_large"));

    // Verified but not an event: 400, the handler never runs.
    let s7 = signed("msg_7", now, b"[1,2]");
    let (status, text) = post_raw(addr, "/event", &s7.headers(), b"[1,2]").await;
    assert_eq!((status, text.trim()), (400, "malformed_event"));
}

#[tokio::test]
async fn require_any_accepts_either_scheme() {
    let now = 1_764_000_000;
    let receiver = Receiver::builder()
        .foreman_secret(Secret::new("foreman-key").unwrap())
        .standard_secret(Secret::from_standard(WHSEC).unwrap())
        .require(Require::Any)
        .clock(move || now)
        .build()
        .unwrap();
    let addr = serve(receiver).await;
    let s = signed("msg_1", now, EVENT);
    let h = s.headers();
    for part in [&h[..1], &h[1..]] {
        let (status, text) = post_raw(addr, "/event", part, EVENT).await;
        assert_eq!((status, text.as_str()), (200, "job-ax succeeded"));
    }
    let (status, text) = post_raw(addr, "/event", &[], EVENT).await;
    assert_eq!((status, text.trim()), (401, "missing_prefix"));
}
