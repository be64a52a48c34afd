//! `X-Foreman-Signature` parsing and verification on arbitrary headers and bodies.
#![no_main]
use foreman_webhook::{sign, verify, Secret, Signature, VerifyError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |&b| b as usize).min(data.len().saturating_sub(1));
    let (header, body) = data.get(1..).unwrap_or_default().split_at(split.min(data.len().saturating_sub(1)));
    let header = String::from_utf8_lossy(header);
    let secret = Secret::new("fuzz-secret").unwrap();
    match verify(body, &header, &secret) {
        // Only the real signature verifies.
        Ok(()) => assert_eq!(
            header.trim_matches([' ', '\t']).to_ascii_lowercase(),
            sign(body, &secret).to_string()
        ),
        Err(VerifyError::Mismatch) => assert!(header.parse::<Signature>().is_ok()),
        Err(_) => assert!(header.parse::<Signature>().is_err()),
    }
    // The canonical header always verifies.
    assert_eq!(verify(body, &sign(body, &secret).to_string(), &secret), Ok(()));
});
