//! One vocabulary: every reason in the vector files (written by Python, independently of
//! the crate) and every `code()` of the crate's errors is one of `reason::ALL`, and no
//! two codes are spelled the same.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashSet;

use foreman_webhook::receive::ReceiveError;
use foreman_webhook::standard::StandardError;
use foreman_webhook::{reason, ConfigError, SecretError, VerifyError};

mod cases;
use cases::{load, SigCase, StdCase, SIGNATURE_CASES, STANDARD_CASES};

#[test]
fn vector_reasons_are_the_core_codes() {
    let all: HashSet<&str> = reason::ALL.into_iter().collect();
    assert_eq!(all.len(), reason::ALL.len(), "a code is listed twice");
    let sig: Vec<SigCase> = load(include_str!("vectors/signatures.json"), SIGNATURE_CASES);
    let std: Vec<StdCase> = load(include_str!("vectors/standard.json"), STANDARD_CASES);
    let expects = sig.iter().map(|c| c.expect.as_str()).chain(
        std.iter()
            .map(|c| c.expect.split(':').next().unwrap_or_default()),
    );
    let mut seen = HashSet::new();
    for e in expects {
        assert!(all.contains(e), "vector reason `{e}` is not in reason::ALL");
        seen.insert(e);
    }
    // The vectors exercise 13 of the codes; the rest are receiver-only (replay, limits).
    assert_eq!(seen.len(), 13, "{seen:?}");
}

#[test]
fn every_error_code_is_in_the_vocabulary() {
    let codes = [
        VerifyError::MissingPrefix.code(),
        VerifyError::WrongLength.code(),
        VerifyError::MalformedHex.code(),
        VerifyError::Mismatch.code(),
        VerifyError::EmptySecret.code(),
        StandardError::MissingHeader("webhook-id").code(),
        StandardError::MalformedTimestamp.code(),
        StandardError::TooOld.code(),
        StandardError::TooNew.code(),
        StandardError::MalformedSignature.code(),
        StandardError::NoMatchingSignature.code(),
        StandardError::EmptySecret.code(),
        SecretError::Empty.code(),
        SecretError::MalformedStandard.code(),
        SecretError::TooMany.code(),
        ConfigError::NoSecret.code(),
        ConfigError::TooManySecrets.code(),
        ConfigError::NoClock.code(),
        ReceiveError::Replayed.code(),
        ReceiveError::BodyTooLarge { limit: 1 }.code(),
        foreman_webhook::Event::from_json(b"not json")
            .map(|_| ())
            .map_err(|e| e.code())
            .unwrap_err(),
    ];
    for c in codes {
        assert!(reason::ALL.contains(&c), "{c}");
    }
    let distinct: HashSet<&str> = codes.into_iter().collect();
    // Every receiving code but `ok` is produced here; the sender's ten below.
    assert_eq!(distinct.len(), reason::ALL.len() - 1 - SENDER_CODES);
}

/// The codes only the sender (feature `native`) produces.
const SENDER_CODES: usize = 10;

#[cfg(feature = "sqlite")]
#[test]
fn sender_error_codes_are_in_the_vocabulary() {
    use foreman_webhook::native::{OutboxErrorKind, RejectReason};
    use foreman_webhook::{Dispatcher, Event, Timestamp};

    // Errors the real API returns, not hand-made values, where the API can make them.
    let allowlist = Dispatcher::builder()
        .allow_cidr("not a range")
        .build()
        .unwrap_err();
    let dir = std::env::temp_dir().join(format!("fw-reasons-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let corrupt = dir.join("corrupt.db");
    std::fs::write(&corrupt, vec![0x5a; 8192]).unwrap();
    let database = Dispatcher::builder()
        .outbox_sqlite(&corrupt)
        .build()
        .unwrap_err();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let not_durable = rt.block_on(async {
        let d = Dispatcher::builder().build().unwrap();
        let event = Event::new("job-1", "running", Timestamp::from_unix_seconds(0).unwrap());
        let e = d
            .fire_durable("http://127.0.0.1:9/", &event)
            .await
            .unwrap_err();
        d.shutdown(std::time::Duration::from_millis(10)).await;
        e
    });
    assert_eq!(not_durable.kind(), OutboxErrorKind::NotDurable);
    let _ = std::fs::remove_dir_all(&dir);

    let codes = [
        allowlist.code(),
        database.code(),
        not_durable.code(),
        RejectReason::InvalidUrl.code(),
        RejectReason::UnsupportedScheme.code(),
        RejectReason::ForbiddenAddress.code(),
    ];
    assert_eq!(
        codes,
        [
            reason::INVALID_ALLOWLIST,
            reason::DATABASE,
            reason::NOT_DURABLE,
            reason::INVALID_URL,
            reason::UNSUPPORTED_SCHEME,
            reason::FORBIDDEN_ADDRESS,
        ]
    );
    for c in codes {
        assert!(reason::ALL.contains(&c), "{c}");
    }
}
