//! Signed job-state webhooks: a job worker POSTs every state change of a job to the job's
//! webhook URL, signed, retried, never blocking the job; receivers verify the signature
//! over the raw body.
//!
//! The wire format is the Go `webhook` package's: the same JSON keys and `null`s
//! ([`Event`]), `X-Foreman-Signature: sha256=<hex>` (HMAC-SHA256 of the body), the same
//! retry waits. Beside it, the [Standard Webhooks](https://www.standardwebhooks.com/)
//! scheme ([`StandardWebhook`]) adds a replay window, a stable message id and key
//! rotation. The core has no I/O and builds for every target, `wasm32-unknown-unknown`
//! included; the npm package of the same name is this crate compiled to WebAssembly.
//!
//! # Sign and verify
//!
//! Build the event, encode it **once**, sign those bytes, send those bytes. The receiver
//! verifies the raw body it got, before parsing it.
//!
//! ```
//! use foreman_webhook::{verify, Event, Secret, Signer, Timestamp, VerifyError};
//!
//! let secret = Secret::new("whsec-demo-secret")?; // an empty secret is refused
//! let signer = Signer::new(&secret); // keyed once, reused for every body
//!
//! let mut event = Event::new("job-42", "succeeded", Timestamp::from_unix_seconds(1_764_338_400)?);
//! event.previous_state = "running".into();
//! let body = event.to_json(); // the exact bytes sent
//! let header = signer.sign(&body).to_string(); // "sha256=<64 hex>"
//!
//! // Receiver: the raw body and the header value.
//! verify(&body, &header, &secret)?;
//! assert_eq!(Event::from_json(&body)?, event);
//!
//! // Any change is caught, with a reason for the logs (never a panic).
//! let mut tampered = body.clone();
//! tampered[10] ^= 1;
//! assert_eq!(verify(&tampered, &header, &secret), Err(VerifyError::Mismatch));
//! assert_eq!(verify(&body, "sha1=abc", &secret).unwrap_err().code(), "missing_prefix");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`verify`] accepts every header Go's `VerifySignature` accepts (`sha256=` and 64
//! lowercase hex digits) and compares the decoded 32 bytes in constant time. Decisions
//! beyond Go, each a case in the shared vector file:
//!
//! | input | answer |
//! |---|---|
//! | uppercase or mixed-case hex | accepted when the bytes match (Go rejects) |
//! | spaces or tabs around the header value | trimmed |
//! | another prefix (`sha1=`, `SHA256=`, none) | [`VerifyError::MissingPrefix`] |
//! | not 64 hex digits / a non-hex digit | [`VerifyError::WrongLength`] / [`VerifyError::MalformedHex`] |
//! | an empty secret | refused by [`Secret::new`]; [`verify_signature`] returns `false` |
//! | an empty body | valid input |
//! | several secrets (a key rotation) | [`verify_any`] passes if any matches, trying all |
//!
//! Secrets are never trimmed, printed or logged: [`Secret`], [`Signer`] and
//! [`Signature`] print as `[REDACTED]`, and `==` on secrets is constant-time.
//!
//! # Replay protection: Standard Webhooks
//!
//! `X-Foreman-Signature` covers only the body: a captured request verifies forever.
//! [`StandardWebhook`] signs `{id}.{timestamp}.{body}` into `webhook-signature`, checks
//! the timestamp against a window (±300 s by default) and takes several keys for a
//! rotation. The receiver's clock is a parameter, so the check is pure.
//!
//! ```
//! use foreman_webhook::standard::Headers;
//! use foreman_webhook::{Secret, StandardWebhook};
//!
//! let secret = Secret::from_standard("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
//! let wh = StandardWebhook::new(&[secret])?;
//! let body = br#"{"job_id":"job-42","state":"running"}"#;
//! let now = 1_764_338_400;
//! let sig = wh.sign("msg_2bX1", now, body);
//! let headers = Headers { id: Some("msg_2bX1"), timestamp: Some("1764338400"), signature: Some(&sig) };
//! assert!(wh.verify(&headers, body, now + 5).is_ok());
//! assert_eq!(wh.verify(&headers, body, now + 3600).unwrap_err().code(), "too_old");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! **Which scheme?** Receivers written today should verify the Standard Webhooks
//! headers (replay window, de-duplication by `webhook-id`, zero-downtime key rotation,
//! official verifiers in many languages). `X-Foreman-Signature` stays for receivers built
//! against the Go package; the dispatcher sends it by default and adds the Standard
//! headers when asked. Decisions, each a case in the shared vectors: the tolerance is
//! ±300 s inclusive, both directions; unknown versions (`v1a`, `v2`) are ignored;
//! entries that are not `version,base64` are skipped; the timestamp must be digits only;
//! the `whsec_` prefix is optional on secrets.
//!
//! # Artifacts
//!
//! [`format_artifacts`] writes the `artifacts` field: text inline up to 256 KiB,
//! otherwise a `/jobs/{id}/artifacts/{name}` reference, with the Go package's defects
//! fixed (binary data as base64, escaped URLs, one inline budget per payload); see the
//! [`artifacts`] module.
//!
//! ```
//! use foreman_webhook::{format_artifacts, Artifact, Event, Timestamp};
//!
//! let mut event = Event::new("job-42", "succeeded", Timestamp::UNIX_EPOCH);
//! event.artifacts = format_artifacts("job-42", &[
//!     Artifact::inline("summary.txt", "text/plain", b"all good"),
//!     Artifact::reference("weights.bin", "application/octet-stream", 5 << 30),
//! ]);
//! let json = event.artifacts.as_ref().map(|a| a.get().to_owned()).unwrap_or_default();
//! assert!(json.contains(r#""data":"all good""#));
//! assert!(json.contains(r#""url":"/jobs/job-42/artifacts/weights.bin""#));
//! ```
//!
//! # Sending from a worker (feature `native`)
//!
//! `Dispatcher` (tokio + hyper) keeps the Go package's promise — `fire` never blocks,
//! fails or panics — and adds bounded queues, graceful shutdown, `Retry-After`, an SSRF
//! guard (only global addresses by default) and exactly one outcome per event. Built
//! outside a tokio runtime it runs a small one of its own on a background thread.
//!
//! ```no_run
//! # #[cfg(all(feature = "native", not(target_arch = "wasm32")))] {
//! use std::time::{Duration, SystemTime};
//! use foreman_webhook::{Dispatcher, Event, Secret, Timestamp};
//!
//! let dispatcher = Dispatcher::builder()
//!     .secret(Secret::new("whsec-demo-secret")?) // X-Foreman-Signature on every request
//!     .build()?; // the Go defaults: 1 + 5 attempts, waits 1, 2, 4, 8, 16 s, 10 s timeout
//!
//! let event = Event::new("job-1", "running", Timestamp::from(SystemTime::now()));
//! dispatcher.fire("https://hooks.example.com/foreman", &event); // returns at once
//!
//! let report = dispatcher.shutdown_blocking(Duration::from_secs(30));
//! println!("delivered {:?}, abandoned {:?}", report.delivered, report.abandoned);
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The builder's settings, the outcomes and the SSRF rules are documented on the `native`
//! module; `examples/worker.rs` is a runnable loop against a local receiver.
//!
//! # Agreement with the Go package
//!
//! [`Event::from_json`] decodes as Go's `json.Unmarshal` does (case-folded and duplicate
//! keys, `null`s, invalid UTF-8), [`Event::to_json`] writes the same JSON value as Go's
//! `json.Marshal` and [`Event::to_go_json`] Go's exact bytes; [`format_artifacts`] writes
//! the value the seed's `FormatArtifacts` writes for text artifacts. All four are checked
//! against Go itself (`tests/vectors/go_*.json`, written by the seed's struct and function
//! under `encoding/json`); the two remaining differences (both for malformed input) are
//! listed on [`Event::from_json`]. Signatures are checked against Python's `hmac` and published
//! vectors; the retry waits are the seed's (1, 2, 4, 8, 16 s).
//!
//! # Features
#![doc = document_features::document_features!()]
#![cfg_attr(docsrs, feature(doc_cfg))]
// No `unsafe` but in audited places, each allowed where it is: the npm package's wasm
// exports (`wasm`) and the dispatcher's body chunks (`native::chunks`: one copy in, one
// slice out).
#![deny(unsafe_code)]
// Library code returns errors (tests may unwrap), and uses one module style: `foo.rs`
// next to `foo/`. Set here, not in Cargo.toml's [lints], which would also cover the
// integration tests, benches and examples.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::mod_module_files)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod artifacts;
#[cfg(feature = "axum")]
pub mod axum;
pub mod event;
#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;
pub mod network;
pub mod reason;
pub mod receive;
pub mod signature;
pub mod standard;
// The npm package's WebAssembly module (`wasm`: the whole package; `wasm-verify` alone:
// `foreman-webhook/verify`): raw exports, no wasm-bindgen; `#[no_mangle]` exports and the
// lol_alloc global allocator need `unsafe`.
#[cfg(all(any(feature = "wasm", feature = "wasm-verify"), target_arch = "wasm32"))]
#[allow(unsafe_code)]
mod wasm;

/// The README's Rust examples, compiled and run as doctests (with `native` and `axum`, which the
/// dispatcher and receiver examples need; CI tests with every feature).
#[cfg(all(doctest, feature = "native", feature = "axum"))]
#[doc = include_str!("../README.md")]
mod readme {}

pub use artifacts::{
    artifacts_json, format_artifacts, format_artifacts_with, plan_artifacts, Artifact,
    InlineLimits, Placement,
};
pub use event::{Event, EventError, RawJson, Timestamp};
#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub use native::{Dispatcher, DispatcherBuilder};
pub use network::PRIVATE_NETWORKS;
pub use receive::{
    ConfigError, HeaderSource, ReceiveError, Receiver, ReceiverBuilder, Require, Verdict,
};
pub use signature::{
    sign, verify, verify_any, verify_signature, Secret, SecretError, Signature, Signer,
    VerifyError, MAX_SECRETS, SIGNATURE_HEADER, SIGNATURE_PREFIX,
};
pub use standard::{StandardError, StandardWebhook};

/// docs/receiving.md, compiled and run as doctests (its axum example needs `axum`).
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../docs/receiving.md")]
pub struct ReceivingGuide;
