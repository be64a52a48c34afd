//! No secret and no signature value in the `Debug`/`Display` output of any public type or
//! error (the `Display` of a `Signature` is the header value itself, by design, and is
//! the only exception). Dispatcher logs are covered by tests/dispatcher_logs.rs.
#![cfg(not(target_arch = "wasm32"))]

use base64::Engine as _;
use foreman_webhook::standard::{Headers, StandardWebhook};
use foreman_webhook::{sign, verify, verify_any, Secret, Signer};

const KEY: &str = "SUPER-secret-key-7b1d";

fn forbidden(body: &[u8]) -> Vec<String> {
    let secret = Secret::new(KEY).unwrap();
    let sig = sign(body, &secret);
    let std_sig = StandardWebhook::new(std::slice::from_ref(&secret))
        .unwrap()
        .sign("msg_1", 1_700_000_000, body);
    vec![
        KEY.to_owned(),
        hex::encode(KEY),
        base64::engine::general_purpose::STANDARD.encode(KEY),
        secret.to_standard(),
        hex::encode(sig.as_bytes()),
        std_sig.trim_start_matches("v1,").to_owned(),
    ]
}

fn assert_clean(what: &str, text: &str, body: &[u8]) {
    for f in forbidden(body) {
        assert!(!text.contains(&f), "{what} leaks {f:?}: {text}");
    }
}

#[test]
fn core_types_and_errors_print_no_secret() {
    let body = br#"{"job_id":"j"}"#;
    let secret = Secret::new(KEY).unwrap();
    let signer = Signer::new(&secret);
    let sig = signer.sign(body);
    let wh = StandardWebhook::new(std::slice::from_ref(&secret)).unwrap();
    let std_sig = wh.sign("msg_1", 1_700_000_000, body);
    let headers = Headers {
        id: Some("msg_1"),
        timestamp: Some("1700000000"),
        signature: Some(&std_sig),
    };
    let outputs = [
        ("Secret", format!("{secret:?}")),
        ("Signer", format!("{signer:?}")),
        ("Signature Debug", format!("{sig:?}")),
        ("StandardWebhook", format!("{wh:?}")),
        (
            "Headers",
            format!(
                "{:?}",
                Headers {
                    signature: None,
                    ..headers
                }
            ),
        ),
        (
            "VerifyError",
            format!(
                "{:?} {}",
                verify(b"x", &sig.to_string(), &secret),
                verify(b"x", &sig.to_string(), &secret).unwrap_err()
            ),
        ),
        (
            "verify_any",
            format!(
                "{:?}",
                verify_any(b"x", &sig.to_string(), std::slice::from_ref(&secret))
            ),
        ),
        ("StandardError", {
            let e = wh.verify(&headers, b"tampered", 1_700_000_000).unwrap_err();
            format!("{e:?} {e}")
        }),
        ("SecretError", {
            let e = Secret::new("").unwrap_err();
            let m = Secret::from_standard("whsec_!!!").unwrap_err();
            format!("{e:?} {e} {m:?} {m}")
        }),
    ];
    for (what, text) in &outputs {
        assert_clean(what, text, body);
    }
    // Sanity: the checker itself catches a leak.
    let leaked = std::panic::catch_unwind(|| assert_clean("probe", &format!("x{KEY}x"), body));
    assert!(leaked.is_err());
}

#[cfg(feature = "native")]
#[test]
fn dispatcher_and_builder_print_no_secret() {
    let body = br#"{"job_id":"j"}"#;
    let secret = Secret::new(KEY).unwrap();
    let builder = foreman_webhook::Dispatcher::builder()
        .secret(secret.clone())
        .standard_webhooks(std::slice::from_ref(&secret));
    assert_clean("DispatcherBuilder", &format!("{builder:?}"), body);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let d = rt.block_on(async { builder.build().unwrap() });
    assert_clean("Dispatcher", &format!("{d:?}"), body);
    let report = d.shutdown_blocking(std::time::Duration::from_millis(10));
    assert_clean("ShutdownReport", &format!("{report:?}"), body);
    let bad = foreman_webhook::Dispatcher::builder()
        .standard_webhooks(&[])
        .build()
        .unwrap_err();
    assert_clean("BuildError", &format!("{bad:?} {bad}"), body);
}
