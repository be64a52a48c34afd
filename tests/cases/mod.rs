//! The shapes of the shared vector files, and their loader, for every Rust harness
//! (tests/vectors.rs natively and under wasm, tests/cli.rs through the binary).
#![allow(dead_code)] // each harness reads the fields it needs

use serde::Deserialize;

/// Cases in tests/vectors/signatures.json.
pub const SIGNATURE_CASES: usize = 46;
/// Cases in tests/vectors/standard.json.
pub const STANDARD_CASES: usize = 46;

#[derive(Deserialize)]
struct File<T> {
    count: usize,
    cases: Vec<T>,
}

/// The cases of a vector file, asserting its declared and actual count (no vacuous pass
/// on a truncated file).
pub fn load<T: for<'de> Deserialize<'de>>(text: &str, expected: usize) -> Vec<T> {
    let file: File<T> = serde_json::from_str(text).expect("vector file parses");
    assert_eq!(
        file.count, expected,
        "vector file count changed: update the constant"
    );
    assert_eq!(file.cases.len(), expected, "vector file truncated?");
    file.cases
}

/// A key: its bytes in hex, and its text when it is UTF-8.
#[derive(Deserialize)]
pub struct SecretHex {
    pub hex: String,
    pub text: Option<String>,
}

/// One `X-Foreman-Signature` case.
#[derive(Deserialize)]
pub struct SigCase {
    pub name: String,
    pub body_hex: String,
    pub secrets: Vec<SecretHex>,
    pub header: String,
    pub expect: String,
}

/// One Standard Webhooks case.
#[derive(Deserialize)]
pub struct StdCase {
    pub name: String,
    pub secrets: Vec<String>,
    pub id: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
    pub body_hex: String,
    pub now: i64,
    pub tolerance: Option<u64>,
    pub expect: String,
    pub sign: Option<String>,
}
