//! Standard Webhooks header parsing and verification on arbitrary input.
#![no_main]
use foreman_webhook::standard::{parse_timestamp, Headers, StandardWebhook};
use foreman_webhook::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let id = parts.next();
    let ts = parts.next();
    let sig = parts.next();
    let body = parts.next().unwrap_or("").as_bytes();
    let _ = Secret::from_standard(id.unwrap_or(""));
    let wh = StandardWebhook::new(&[Secret::new("fuzz-key").unwrap()]).unwrap();
    let now = ts.and_then(|t| parse_timestamp(t).ok()).unwrap_or(0);
    if wh.verify(&Headers { id, timestamp: ts, signature: sig }, body, now).is_ok() {
        // A pass means one entry equals our own signature.
        let own = wh.sign(id.unwrap(), now, body);
        assert!(sig.unwrap().split([' ', '\t']).any(|e| e.trim_end_matches('=') == own.trim_end_matches('=')));
    }
    // Our own signature always passes.
    let own = wh.sign("msg", now, body);
    let ts_s = now.to_string();
    assert!(wh.verify(&Headers { id: Some("msg"), timestamp: Some(&ts_s), signature: Some(&own) }, body, now).is_ok());
});
