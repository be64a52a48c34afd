//! Captured `tracing` output of the dispatcher: the Go messages and fields, never a secret or signature.
#![cfg(all(feature = "native", not(target_arch = "wasm32")))]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use foreman_webhook::native::OutcomeKind;
use foreman_webhook::{Dispatcher, Event, Secret, Signer, Timestamp};
use support::{closed_port, outcomes, Receiver, Reply};

const SECRET: &str = "hunter2-super-secret-key";
const STD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

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

#[test]
fn logs_carry_the_go_fields_and_never_a_secret_or_signature() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false) // plain `key=value` text, also when the `ansi` feature is on
            .with_writer(move || writer.clone())
            .finish(),
    )
    .unwrap();

    let rx = Receiver::start(|n, _| Reply::status(if n == 0 { 500 } else { 200 }));
    let secret = Secret::new(SECRET).unwrap();
    let std_secret = Secret::from_standard(STD_SECRET).unwrap();
    let (cb, out) = outcomes();
    let d = Dispatcher::builder()
        .secret(secret.clone())
        .standard_webhooks(std::slice::from_ref(&std_secret))
        .allow_cidr("127.0.0.1/32")
        .base_delay(Duration::from_millis(10))
        .max_retries(1)
        .max_pending(3)
        .on_outcome(cb)
        .build()
        .unwrap();
    let ev = Event::new("job-log", "failed", Timestamp::UNIX_EPOCH);
    d.fire(&rx.url("/hook"), &ev); // 500, then delivered
    d.fire(
        &format!("http://127.0.0.1:{}/x", closed_port()),
        &Event::new("job-refused", "failed", Timestamp::UNIX_EPOCH),
    ); // exhausted
    d.fire(
        "http://127.0.0.2:9/",
        &Event::new("job-ssrf", "failed", Timestamp::UNIX_EPOCH),
    ); // rejected
    d.fire(
        "https://user:pa55word@127.0.0.1:1/",
        &Event::new("job-pw", "failed", Timestamp::UNIX_EPOCH),
    );
    let got = out.take(4, 10);
    assert!(got
        .iter()
        .any(|o| matches!(o.kind, OutcomeKind::Delivered { .. })));
    // What each outcome carries: the redacted URL, the last status or error class, the
    // timings of its attempts, and the webhook-id the receiver saw.
    let delivered = got.iter().find(|o| o.job_id == "job-log").unwrap();
    assert_eq!(delivered.url, rx.url("/hook"));
    assert_eq!(delivered.last_status, Some(200));
    assert_eq!(delivered.last_error, None);
    assert_eq!(delivered.timings.len(), 2);
    assert!(delivered.timings[0].started <= delivered.timings[1].started);
    let seen: Vec<String> = rx
        .hits()
        .iter()
        .map(|h| h.header("webhook-id").unwrap().to_owned())
        .collect();
    assert_eq!(seen.len(), 2);
    assert!(seen
        .iter()
        .all(|w| Some(w) == delivered.webhook_id.as_ref()));
    let refused = got.iter().find(|o| o.job_id == "job-refused").unwrap();
    assert_eq!(refused.kind, OutcomeKind::Exhausted);
    assert_eq!(refused.last_status, None);
    assert_eq!(
        refused.last_error,
        Some(foreman_webhook::native::ErrorClass::Transport)
    );
    assert_eq!(refused.timings.len(), 2);
    let pw = got.iter().find(|o| o.job_id == "job-pw").unwrap();
    assert_eq!(pw.url, "https://REDACTED:REDACTED@127.0.0.1:1/");
    let ssrf = got.iter().find(|o| o.job_id == "job-ssrf").unwrap();
    assert_eq!((ssrf.attempts, ssrf.timings.len()), (0, 0));
    let _ = d.shutdown_blocking(Duration::from_secs(5));
    // One more past capacity and after shutdown, for those log lines too.
    d.fire(&rx.url("/hook"), &ev);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    if std::env::var_os("SHOW_LOGS").is_some() {
        eprintln!("{logs}");
    }
    // Every dispatcher line carries the delivery id and the webhook-id; the delivered
    // event's lines carry the webhook-id its receiver saw.
    let ours: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("foreman_webhook"))
        .collect();
    assert!(ours.len() >= 8, "{logs}");
    for line in &ours {
        assert!(
            line.contains("delivery_id=") && line.contains("webhook_id=msg_"),
            "no correlation fields in {line:?}"
        );
    }
    let wid = delivered.webhook_id.as_deref().unwrap();
    let lines = |needle: &str| ours.iter().filter(|l| l.contains(needle)).count();
    assert_eq!(lines(&format!("webhook_id={wid}")), 2, "{logs}");
    assert_eq!(
        lines(&format!("delivery_id={}", delivered.id)),
        lines(&format!("webhook_id={wid}"))
    );
    for needle in [
        "webhook non-2xx response",
        "status=500",
        "attempt=1",
        "max=2",
        "job_id=job-log",
        "webhook delivered",
        "state=failed",
        "webhook delivery failed",
        "error=",
        "webhook delivery exhausted retries",
        "webhook destination refused",
        "webhook fired after shutdown began",
        "user:REDACTED@",
    ] {
        assert!(logs.contains(needle), "missing {needle:?} in:\n{logs}");
    }
    let body = ev.to_json();
    let foreman_sig = Signer::new(&secret).sign(&body).to_string();
    let hex = foreman_sig.trim_start_matches("sha256=");
    for hit in rx.hits() {
        for name in ["x-foreman-signature", "webhook-signature"] {
            let v = hit.header(name).unwrap();
            assert!(!logs.contains(v), "{name} value logged");
        }
    }
    let std_b64 = STD_SECRET.trim_start_matches("whsec_");
    for secret_text in [SECRET, std_b64, hex, "pa55word"] {
        assert!(
            !logs.contains(secret_text),
            "{secret_text:?} leaked:\n{logs}"
        );
    }
}
