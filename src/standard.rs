//! The [Standard Webhooks](https://www.standardwebhooks.com/) scheme (the one behind
//! Svix), sent beside `X-Foreman-Signature` for replay protection and key rotation.
//!
//! Headers: `webhook-id` (unique per event, the same on every retry), `webhook-timestamp`
//! (integer Unix seconds of this attempt) and `webhook-signature` (space-separated
//! `v1,<base64 HMAC-SHA256>` entries). The MAC covers `{id}.{timestamp}.{body}`, so a
//! captured request stops verifying once its timestamp leaves the tolerance window
//! (default ±300 s), and receivers can de-duplicate retries by `webhook-id`.
//!
//! ```
//! use foreman_webhook::standard::{Headers, StandardWebhook};
//! use foreman_webhook::Secret;
//!
//! let secret = Secret::from_standard("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
//! let wh = StandardWebhook::new(std::slice::from_ref(&secret))?;
//! let body = br#"{"email":"test@example.com","username":"test_user"}"#;
//! let sig = wh.sign("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", 1649367553, body);
//! assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
//!
//! let headers = Headers {
//!     id: Some("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
//!     timestamp: Some("1649367553"),
//!     signature: Some(&sig),
//! };
//! assert!(wh.verify(&headers, body, 1649367553 + 10).is_ok());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decisions
//! * Entries are separated by spaces; repeated `webhook-signature` lines joined with `", "`
//!   (as Node and fetch's `Headers` join them) are split as well.
//! * Any `v1` entry matching under any configured secret passes; entries of other
//!   versions (`v1a`, `v2`) are ignored; entries that are not `version,base64` are skipped.
//!   If no entry at all is well formed the reason is [`StandardError::MalformedSignature`],
//!   otherwise [`StandardError::NoMatchingSignature`].
//! * The timestamp must be ASCII digits (surrounding spaces/tabs trimmed), at most
//!   [`DEFAULT_TOLERANCE_SECS`] old or in the future; both bounds are inclusive.
//! * The current time is passed in (`now_unix`): the core never reads a clock, so it runs
//!   unchanged on `wasm32-unknown-unknown`.

use core::fmt;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use hmac::Mac;
use subtle::ConstantTimeEq;

use crate::reason;
use crate::signature::{keyed, HmacSha256, Secret, SecretError};

/// `webhook-id`
pub const ID_HEADER: &str = "webhook-id";
/// `webhook-timestamp`
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// `webhook-signature`
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The secret prefix, `whsec_`.
pub const SECRET_PREFIX: &str = "whsec_";
/// Default tolerance between `webhook-timestamp` and the receiver's clock: 300 s.
pub const DEFAULT_TOLERANCE_SECS: u64 = 300;

/// Base64 decoding that accepts entries with or without `=` padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Secret {
    /// Parses a Standard Webhooks secret: `whsec_` + base64 of the key bytes (the prefix
    /// is optional, as in the official libraries).
    ///
    /// # Errors
    /// [`SecretError::MalformedStandard`] when the rest is not base64, and
    /// [`SecretError::Empty`] when it decodes to no bytes.
    pub fn from_standard(s: &str) -> Result<Self, SecretError> {
        let b64 = s.strip_prefix(SECRET_PREFIX).unwrap_or(s);
        let key = LENIENT
            .decode(b64)
            .map_err(|_| SecretError::MalformedStandard)?;
        Self::new(key)
    }

    /// The `whsec_…` spelling of this key.
    pub fn to_standard(&self) -> String {
        let mut s = String::from(SECRET_PREFIX);
        STANDARD.encode_string(self.expose(), &mut s);
        s
    }
}

/// The three header values of a request, as received (`None` when absent).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Headers<'a> {
    /// `webhook-id`
    pub id: Option<&'a str>,
    /// `webhook-timestamp`
    pub timestamp: Option<&'a str>,
    /// `webhook-signature`
    pub signature: Option<&'a str>,
}

impl<'a> Headers<'a> {
    /// Reads the three headers through a case-insensitive lookup function, e.g.
    /// `Headers::from_fn(|name| req.headers().get(name)?.to_str().ok())`.
    pub fn from_fn(mut get: impl FnMut(&str) -> Option<&'a str>) -> Self {
        Self {
            id: get(ID_HEADER),
            timestamp: get(TIMESTAMP_HEADER),
            signature: get(SIGNATURE_HEADER),
        }
    }
}

/// Why a Standard Webhooks request did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StandardError {
    /// A required header is absent; the field is its name.
    MissingHeader(&'static str),
    /// `webhook-timestamp` is not an integer number of seconds.
    MalformedTimestamp,
    /// The timestamp is older than the tolerance allows.
    TooOld,
    /// The timestamp is further in the future than the tolerance allows.
    TooNew,
    /// `webhook-signature` holds no well-formed `version,base64` entry.
    MalformedSignature,
    /// Well-formed entries, but no `v1` entry matches under any configured secret.
    NoMatchingSignature,
    /// No secret was configured.
    EmptySecret,
}

impl StandardError {
    /// A short stable identifier for logs and JSON: `missing_header`, `malformed_timestamp`,
    /// `too_old`, `too_new`, `malformed_signature`, `no_matching_signature`, `empty_secret`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) => reason::MISSING_HEADER,
            Self::MalformedTimestamp => reason::MALFORMED_TIMESTAMP,
            Self::TooOld => reason::TOO_OLD,
            Self::TooNew => reason::TOO_NEW,
            Self::MalformedSignature => reason::MALFORMED_SIGNATURE,
            Self::NoMatchingSignature => reason::NO_MATCHING_SIGNATURE,
            Self::EmptySecret => reason::EMPTY_SECRET,
        }
    }
}

impl fmt::Display for StandardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingHeader(h) => write!(f, "missing required header `{h}`"),
            Self::MalformedTimestamp => {
                f.write_str("`webhook-timestamp` must be an integer number of Unix seconds")
            }
            Self::TooOld => f.write_str("message timestamp too old (outside the tolerance)"),
            Self::TooNew => f.write_str("message timestamp too new (outside the tolerance)"),
            Self::MalformedSignature => {
                f.write_str("`webhook-signature` must be space-separated `v1,<base64>` entries")
            }
            Self::NoMatchingSignature => f.write_str("no matching signature found"),
            Self::EmptySecret => f.write_str(reason::NO_SECRET_MESSAGE),
        }
    }
}

impl std::error::Error for StandardError {}

/// Signs and verifies Standard Webhooks requests with one or more keys (rotation),
/// keyed once and reused.
#[derive(Clone)]
pub struct StandardWebhook {
    keys: Vec<HmacSha256>,
    tolerance_secs: u64,
}

impl fmt::Debug for StandardWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardWebhook")
            .field("keys", &self.keys.len())
            .field("tolerance_secs", &self.tolerance_secs)
            .finish()
    }
}

impl StandardWebhook {
    /// Keys for signing (every key signs) and verifying (any key may match).
    ///
    /// # Errors
    /// [`StandardError::EmptySecret`] for an empty list.
    pub fn new(secrets: &[Secret]) -> Result<Self, StandardError> {
        if secrets.is_empty() {
            return Err(StandardError::EmptySecret);
        }
        Ok(Self {
            keys: secrets.iter().map(|s| keyed(s.expose())).collect(),
            tolerance_secs: DEFAULT_TOLERANCE_SECS,
        })
    }

    /// Sets the allowed distance, in seconds and in both directions, between
    /// `webhook-timestamp` and `now_unix`.
    #[must_use]
    pub fn with_tolerance_secs(mut self, secs: u64) -> Self {
        self.tolerance_secs = secs;
        self
    }

    /// The tolerance, set in place (the npm package's hot path keeps one keyed value per
    /// secret set and reads the tolerance per call).
    #[cfg(all(feature = "wasm", target_arch = "wasm32"))]
    pub(crate) fn set_tolerance_secs(&mut self, secs: u64) {
        self.tolerance_secs = secs;
    }

    /// The `webhook-signature` value: one `v1,<base64>` entry per key, space-separated.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut out = String::with_capacity(48 * self.keys.len());
        for k in &self.keys {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str("v1,");
            STANDARD.encode_string(mac_of(k, id, timestamp, body), &mut out);
        }
        out
    }

    /// Verifies a request against `now_unix` (the receiver's clock, in Unix seconds).
    ///
    /// # Errors
    /// A [`StandardError`] saying why the request was refused.
    pub fn verify(
        &self,
        headers: &Headers<'_>,
        body: &[u8],
        now_unix: i64,
    ) -> Result<(), StandardError> {
        let id = headers.id.ok_or(StandardError::MissingHeader(ID_HEADER))?;
        let ts = headers
            .timestamp
            .ok_or(StandardError::MissingHeader(TIMESTAMP_HEADER))?;
        let sigs = headers
            .signature
            .ok_or(StandardError::MissingHeader(SIGNATURE_HEADER))?;
        let ts = parse_timestamp(ts)?;
        // `ts` is 0..10^18 (digits only) and the tolerance saturates: no overflow.
        let tol = i64::try_from(self.tolerance_secs).unwrap_or(i64::MAX);
        if now_unix.saturating_sub(ts) > tol {
            return Err(StandardError::TooOld);
        }
        if ts.saturating_sub(now_unix) > tol {
            return Err(StandardError::TooNew);
        }
        let expected: Vec<[u8; 32]> = self.keys.iter().map(|k| mac_of(k, id, ts, body)).collect();
        let mut well_formed = false;
        let mut matched = subtle::Choice::from(0u8);
        // Entries are separated by spaces; repeated header lines arrive joined by ", "
        // (Node's `req.headers`, fetch's `Headers.get`), which leaves a trailing comma on
        // every entry but the last. Base64 has no comma, so stripping it is lossless.
        let entries = sigs
            .split([' ', '\t'])
            .map(|e| e.strip_suffix(',').unwrap_or(e))
            .filter(|e| !e.is_empty());
        for entry in entries {
            let Some((version, b64)) = entry.split_once(',') else {
                continue;
            };
            // One decoding path: room for more than a MAC, to tell "valid base64 of
            // another length" (well formed, cannot match) from junk.
            let mut buf = [0u8; 48];
            let got = match LENIENT.decode_slice(b64, &mut buf) {
                Ok(32) => &buf[..32],
                Ok(_) | Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
                    well_formed = true;
                    continue;
                }
                Err(_) => continue,
            };
            well_formed = true;
            if version != "v1" {
                continue;
            }
            for e in &expected {
                matched |= e[..].ct_eq(got);
            }
        }
        if bool::from(matched) {
            Ok(())
        } else if well_formed {
            Err(StandardError::NoMatchingSignature)
        } else {
            Err(StandardError::MalformedSignature)
        }
    }
}

fn mac_of(k: &HmacSha256, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    let mut mac = k.clone();
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(itoa::Buffer::new().format(timestamp).as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Parses `webhook-timestamp`: ASCII digits only, surrounding spaces/tabs trimmed.
///
/// # Errors
/// [`StandardError::MalformedTimestamp`].
pub fn parse_timestamp(s: &str) -> Result<i64, StandardError> {
    let s = s.trim_matches([' ', '\t']);
    if s.is_empty() || s.len() > 18 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StandardError::MalformedTimestamp);
    }
    s.parse().map_err(|_| StandardError::MalformedTimestamp)
}
