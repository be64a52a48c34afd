#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(not(feature = "wasm"), forbid(unsafe_code))]
#![warn(missing_docs)]

pub mod artifacts;
pub mod event;
#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub mod native;
pub mod signature;
pub mod standard;
#[cfg(all(feature = "wasm", target_arch = "wasm32"))]
mod wasm;

pub use artifacts::{
    artifacts_json, format_artifacts, format_artifacts_with, plan_artifacts, Artifact,
    InlineLimits, Placement,
};
pub use event::{Event, EventError, RawJson, Timestamp};
#[cfg(all(feature = "native", not(target_arch = "wasm32")))]
pub use native::{Dispatcher, DispatcherBuilder};
pub use signature::{
    sign, verify, verify_any, verify_any_header, verify_signature, Secret, SecretError, Signature,
    Signer, VerifyError, SIGNATURE_HEADER, SIGNATURE_PREFIX,
};
pub use standard::{StandardError, StandardWebhook};
