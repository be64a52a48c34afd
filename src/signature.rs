//! The `X-Foreman-Signature: sha256=<hex>` scheme: HMAC-SHA256 over the exact body bytes.
//!
//! # Acceptance rules (what [`verify`] decides)
//!
//! | header                                   | answer                                   |
//! |------------------------------------------|------------------------------------------|
//! | `sha256=` + 64 lowercase hex, matching   | `Ok(())` (exactly what Go accepts)       |
//! | `sha256=` + 64 **uppercase/mixed** hex   | `Ok(())` if the decoded bytes match; Go rejects it, but hex is a spelling of bytes and the bytes are what is authenticated |
//! | surrounding spaces/tabs                  | trimmed first, as every HTTP parser strips them (RFC 9110 OWS) |
//! | no `sha256=` prefix, `SHA256=`, `sha1=`  | [`VerifyError::MissingPrefix`]           |
//! | hex part not 64 characters               | [`VerifyError::WrongLength`]             |
//! | 64 characters, not all hex               | [`VerifyError::MalformedHex`]            |
//! | well-formed, different MAC               | [`VerifyError::Mismatch`]                |
//! | empty secret / no secret                 | refused when the [`Secret`] is built ([`SecretError::Empty`]); the `bool` helpers answer `false` |
//! | empty body                               | valid input, signed and verified like any other |
//!
//! The MAC comparison is on the 32 decoded bytes, in constant time (`hmac`'s
//! `verify_slice`, built on `subtle`). Secrets are used byte for byte: a secret is never
//! trimmed, so `"s3cret "` and `"s3cret"` are different keys.

use core::fmt;
use core::str::FromStr;

use hmac::{Hmac, KeyInit, Mac};
// The npm package's main wasm module hashes with its own SHA-256 compression
// (src/wasm/sha256.rs: +25 % in V8, measured there); every other build, the verify-only
// module included (its size budget), with sha2's.
#[cfg(not(all(
    feature = "wasm",
    target_arch = "wasm32",
    target_feature = "simd128",
    not(target_feature = "atomics")
)))]
use sha2::Sha256;

#[cfg(all(
    feature = "wasm",
    target_arch = "wasm32",
    target_feature = "simd128",
    not(target_feature = "atomics")
))]
use crate::wasm::sha256::Sha256;

use crate::reason;

/// The HTTP header that carries the signature: `X-Foreman-Signature`.
pub const SIGNATURE_HEADER: &str = "X-Foreman-Signature";

/// The prefix of the header value: `sha256=`.
pub const SIGNATURE_PREFIX: &str = "sha256=";

/// Most keys accepted in one rotation list (per scheme): 64. A longer list is a caller's
/// mistake ([`SecretError::TooMany`]), and bounds the work an invalid request costs.
pub const MAX_SECRETS: usize = 64;

/// Length of the hex digest that follows the prefix.
const HEX_LEN: usize = 64;

/// HMAC-SHA256 (the `hmac` crate), as every scheme of this crate computes it.
pub(crate) type HmacSha256 = Hmac<Sha256>;

/// An HMAC key. Never empty; its `Debug` output is `Secret([REDACTED])`.
///
/// ```
/// use foreman_webhook::Secret;
/// let secret: Secret = "It's a Secret to Everybody".parse()?;
/// assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
/// assert!(Secret::new("").is_err());
/// # Ok::<(), foreman_webhook::SecretError>(())
/// ```
///
/// `==` compares the key bytes in constant time (`subtle`); only the lengths may leak.
///
/// ```
/// use foreman_webhook::Secret;
/// assert_eq!(Secret::new("k1")?, Secret::new("k1")?);
/// assert_ne!(Secret::new("k1")?, Secret::new("k2")?);
/// assert_ne!(Secret::new("k1")?, Secret::new("k1 ")?);
/// # Ok::<(), foreman_webhook::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Secret(Box<[u8]>);

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        subtle::ConstantTimeEq::ct_eq(&*self.0, &*other.0).into()
    }
}

impl Eq for Secret {}

impl Secret {
    /// A secret from raw key bytes (a `&str` is used as its UTF-8 bytes, as Go does).
    ///
    /// # Errors
    /// [`SecretError::Empty`] when `key` is empty: an empty HMAC key makes forgery trivial.
    pub fn new(key: impl AsRef<[u8]>) -> Result<Self, SecretError> {
        let key = key.as_ref();
        if key.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self(key.into()))
    }

    /// The key bytes. Handle with care: never log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl FromStr for Secret {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<&str> for Secret {
    type Error = SecretError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl TryFrom<&[u8]> for Secret {
    type Error = SecretError;
    fn try_from(s: &[u8]) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

/// Why a [`Secret`] could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// The key was empty.
    Empty,
    /// A Standard Webhooks secret was not `whsec_` + base64 of at least one byte.
    MalformedStandard,
    /// More than [`MAX_SECRETS`] keys in one list.
    TooMany,
}

impl SecretError {
    /// The stable reason code: `empty_secret`, `malformed_secret` or `too_many_secrets`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => reason::EMPTY_SECRET,
            Self::MalformedStandard => reason::MALFORMED_SECRET,
            Self::TooMany => reason::TOO_MANY_SECRETS,
        }
    }
}

impl SecretError {
    /// The message, as `Display` writes it (a `&'static str`: the JS bindings throw it
    /// without pulling in the formatting machinery).
    pub fn message(&self) -> &'static str {
        match self {
            Self::Empty => reason::EMPTY_SECRET_MESSAGE,
            Self::MalformedStandard => {
                "standard webhooks secret must be `whsec_` followed by the base64 of a non-empty key"
            }
            Self::TooMany => reason::TOO_MANY_SECRETS_MESSAGE,
        }
    }
}

impl fmt::Display for SecretError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for SecretError {}

/// A parsed or computed HMAC-SHA256 signature; `Display` gives the header value
/// `sha256=<64 lowercase hex>`.
///
/// ```
/// use foreman_webhook::Signature;
/// let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
/// let sig: Signature = header.parse()?;
/// assert_eq!(sig.to_string(), header);
/// # Ok::<(), foreman_webhook::VerifyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature([u8; 32]);

impl Signature {
    /// The 32 MAC bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The header value, `sha256=<hex>` (same as `to_string()`).
    pub fn header_value(&self) -> String {
        let mut out = String::with_capacity(SIGNATURE_PREFIX.len() + HEX_LEN);
        out.push_str(SIGNATURE_PREFIX);
        let mut buf = [0u8; HEX_LEN];
        // Cannot fail: the buffer is exactly twice the input length.
        if hex::encode_to_slice(self.0, &mut buf).is_ok() {
            out.extend(buf.iter().map(|&b| b as char));
        }
        out
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.header_value())
    }
}

impl fmt::Debug for Signature {
    // A signature is a bearer credential for its body: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature([REDACTED])")
    }
}

impl FromStr for Signature {
    type Err = VerifyError;

    /// Parses a header value under the rules in the [module docs](self).
    fn from_str(header: &str) -> Result<Self, Self::Err> {
        let header = header.trim_matches([' ', '\t']);
        let hex_part = header
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(VerifyError::MissingPrefix)?;
        if hex_part.len() != HEX_LEN {
            return Err(VerifyError::WrongLength);
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| VerifyError::MalformedHex)?;
        Ok(Self(bytes))
    }
}

/// Why a signature header did not verify. Attacker-controlled input only ever produces
/// one of these, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum VerifyError {
    /// The header does not start with `sha256=`.
    MissingPrefix,
    /// The part after `sha256=` is not 64 characters long.
    WrongLength,
    /// The part after `sha256=` has 64 characters but not all are hex digits.
    MalformedHex,
    /// Well-formed, but no configured secret produces this MAC for this body.
    Mismatch,
    /// No secret was supplied (an empty secret or an empty list of secrets).
    EmptySecret,
}

impl VerifyError {
    /// A short stable identifier (`"missing_prefix"`, `"mismatch"`, ...) for logs and JSON.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingPrefix => reason::MISSING_PREFIX,
            Self::WrongLength => reason::WRONG_LENGTH,
            Self::MalformedHex => reason::MALFORMED_HEX,
            Self::Mismatch => reason::MISMATCH,
            Self::EmptySecret => reason::EMPTY_SECRET,
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingPrefix => "signature must start with `sha256=`",
            Self::WrongLength => {
                "signature must be `sha256=` followed by 64 hex digits (wrong length)"
            }
            Self::MalformedHex => {
                "signature must be `sha256=` followed by 64 hex digits (found a non-hex character)"
            }
            Self::Mismatch => "signature does not match the body under any configured secret",
            Self::EmptySecret => reason::NO_SECRET_MESSAGE,
        })
    }
}

impl std::error::Error for VerifyError {}

/// A keyed HMAC state, built once and reused for many bodies (saves two SHA-256
/// compressions per message against re-keying; measurably faster for small bodies).
///
/// ```
/// use foreman_webhook::{Secret, Signer};
/// let signer = Signer::new(&Secret::new("It's a Secret to Everybody")?);
/// let sig = signer.sign(b"Hello, World!");
/// assert_eq!(
///     sig.to_string(),
///     "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
/// );
/// assert!(signer.verify(b"Hello, World!", &sig.to_string()).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    keyed: HmacSha256,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer([REDACTED])")
    }
}

impl Signer {
    /// Keys an HMAC-SHA256 state with `secret`.
    pub fn new(secret: &Secret) -> Self {
        Self {
            keyed: keyed(secret.expose()),
        }
    }

    /// The signature of `body`.
    pub fn sign(&self, body: &[u8]) -> Signature {
        let mut mac = self.keyed.clone();
        mac.update(body);
        Signature(mac.finalize().into_bytes().into())
    }

    /// Checks a header value against `body`.
    ///
    /// # Errors
    /// A [`VerifyError`] saying why the header was refused.
    pub fn verify(&self, body: &[u8], header: &str) -> Result<(), VerifyError> {
        let sig: Signature = header.parse()?;
        self.verify_parsed(body, &sig)
    }

    /// Checks an already-parsed signature against `body`, in constant time.
    ///
    /// # Errors
    /// [`VerifyError::Mismatch`] when the MAC differs.
    pub fn verify_parsed(&self, body: &[u8], sig: &Signature) -> Result<(), VerifyError> {
        let mut mac = self.keyed.clone();
        mac.update(body);
        mac.verify_slice(&sig.0).map_err(|_| VerifyError::Mismatch)
    }
}

/// A keyed MAC for any key bytes (HMAC accepts every key length).
pub(crate) fn keyed(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm is unreachable.
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    }
}

/// The signature of `body` under `secret`. For many bodies, build a [`Signer`] once.
pub fn sign(body: &[u8], secret: &Secret) -> Signature {
    Signer::new(secret).sign(body)
}

/// Verifies a `sha256=<hex>` header value (the Go `VerifySignature`, with a typed reason).
///
/// # Errors
/// A [`VerifyError`] saying why the header was refused.
///
/// ```
/// use foreman_webhook::{verify, Secret, VerifyError};
/// let secret = Secret::new("It's a Secret to Everybody")?;
/// let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
/// assert_eq!(verify(b"Hello, World!", good, &secret), Ok(()));
/// assert_eq!(verify(b"Hello, World?", good, &secret), Err(VerifyError::Mismatch));
/// assert_eq!(verify(b"Hello, World!", "md5=abc", &secret), Err(VerifyError::MissingPrefix));
/// # Ok::<(), foreman_webhook::SecretError>(())
/// ```
pub fn verify(body: &[u8], header: &str, secret: &Secret) -> Result<(), VerifyError> {
    Signer::new(secret).verify(body, header)
}

/// Verifies against several secrets (key rotation): passes if any of them matches.
/// Every secret is tried, so the time taken does not reveal which one matched.
///
/// # Errors
/// [`VerifyError::EmptySecret`] for an empty list, otherwise as [`verify`].
pub fn verify_any(body: &[u8], header: &str, secrets: &[Secret]) -> Result<(), VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::EmptySecret);
    }
    let sig: Signature = header.parse()?;
    let mut ok = subtle::Choice::from(0u8);
    for secret in secrets {
        let matched = Signer::new(secret).verify_parsed(body, &sig).is_ok();
        ok |= subtle::Choice::from(u8::from(matched));
    }
    if bool::from(ok) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// The simple form: `true` iff `header` is a valid signature of `body` under `secret`
/// (its UTF-8 bytes). An empty secret is never valid.
pub fn verify_signature(body: &[u8], header: &str, secret: &str) -> bool {
    Secret::new(secret).is_ok_and(|s| verify(body, header, &s).is_ok())
}
