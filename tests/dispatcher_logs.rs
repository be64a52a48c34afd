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
    let _ = d.shutdown_blocking(Duration::from_secs(5));
    // One more past capacity and after shutdown, for those log lines too.
    d.fire(&rx.url("/hook"), &ev);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    if std::env::var_os("SHOW_LOGS").is_some() {
        eprintln!("{logs}");
    }
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
