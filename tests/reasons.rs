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
    // Every code but `ok` is produced here.
    assert_eq!(distinct.len(), reason::ALL.len() - 1);
}
