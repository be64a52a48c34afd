//! What a receiver decides: the per-scheme [`Verdict`], and the typed errors with `code()`.

use core::fmt;

use super::Require;
use crate::event::EventError;
use crate::reason;
use crate::signature::VerifyError;
use crate::standard::StandardError;

/// A caller's mistake when building a [`Receiver`](super::Receiver).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// No key for either scheme.
    NoSecret,
    /// More than [`MAX_SECRETS`](crate::MAX_SECRETS) keys for one scheme.
    TooManySecrets,
    /// Standard Webhooks is configured on a target without a clock the core can read
    /// (wasm32) and no clock was given.
    NoClock,
}

impl ConfigError {
    /// The stable reason code: `empty_secret`, `too_many_secrets` or `no_clock`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoSecret => reason::EMPTY_SECRET,
            Self::TooManySecrets => reason::TOO_MANY_SECRETS,
            Self::NoClock => reason::NO_CLOCK,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoSecret => reason::NO_SECRET_MESSAGE,
            Self::TooManySecrets => reason::TOO_MANY_SECRETS_MESSAGE,
            Self::NoClock => {
                "no clock on this target: give the receiver one with ReceiverBuilder::clock"
            }
        })
    }
}

impl std::error::Error for ConfigError {}

/// Why a request was refused. [`Self::code`] is the stable reason to log or answer with.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReceiveError {
    /// `X-Foreman-Signature` did not verify.
    Foreman(VerifyError),
    /// The Standard Webhooks headers did not verify.
    Standard(StandardError),
    /// The `webhook-id` was already accepted inside the tolerance window.
    Replayed,
    /// The body is larger than the receiver's limit.
    BodyTooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The signatures verified but the body is not an `Event` (the JSON error is the source).
    MalformedEvent(EventError),
}

impl ReceiveError {
    /// The stable reason code (see [`crate::reason`]): the scheme's own code
    /// (`mismatch`, `too_old`, ...), `replayed`, `body_too_large` or `malformed_event`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Foreman(e) => e.code(),
            Self::Standard(e) => e.code(),
            Self::Replayed => reason::REPLAYED,
            Self::BodyTooLarge { .. } => reason::BODY_TOO_LARGE,
            Self::MalformedEvent(e) => e.code(),
        }
    }

    /// `true` when the request is refused for its signatures or as a replay (an HTTP
    /// receiver answers 401), `false` for a body problem.
    pub fn is_unverified(&self) -> bool {
        matches!(self, Self::Foreman(_) | Self::Standard(_) | Self::Replayed)
    }
}

impl fmt::Display for ReceiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Foreman(e) => write!(f, "X-Foreman-Signature: {e}"),
            Self::Standard(e) => write!(f, "Standard Webhooks: {e}"),
            Self::Replayed => {
                f.write_str("webhook-id already received inside the tolerance window")
            }
            Self::BodyTooLarge { limit } => write!(f, "body larger than the {limit}-byte limit"),
            Self::MalformedEvent(_) => f.write_str("the verified body is not an event"),
        }
    }
}

impl std::error::Error for ReceiveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Foreman(e) => Some(e),
            Self::Standard(e) => Some(e),
            Self::MalformedEvent(e) => Some(e),
            _ => None,
        }
    }
}

/// The verdict on one request, per scheme: what [`Receiver::check`](super::Receiver::check) found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// `X-Foreman-Signature`: `None` when the receiver has no key for it.
    pub foreman: Option<Result<(), VerifyError>>,
    /// Standard Webhooks: `None` when the receiver has no key for it.
    pub standard: Option<Result<(), StandardError>>,
    /// The replay guard recognised the `webhook-id`.
    pub replayed: bool,
    /// The body was over the limit (nothing was verified).
    pub too_large: Option<usize>,
    /// The `webhook-id` header, when present.
    pub webhook_id: Option<String>,
    require: Require,
}

impl Verdict {
    /// Nothing checked yet.
    pub(super) fn new(require: Require, webhook_id: Option<String>) -> Self {
        Self {
            foreman: None,
            standard: None,
            replayed: false,
            too_large: None,
            webhook_id,
            require,
        }
    }

    /// `Ok(())` when the request is accepted under the receiver's [`Require`] rule.
    ///
    /// # Errors
    /// The reason for refusing it.
    pub fn result(&self) -> Result<(), ReceiveError> {
        if let Some(limit) = self.too_large {
            return Err(ReceiveError::BodyTooLarge { limit });
        }
        let f = self.foreman.map(|r| r.map_err(ReceiveError::Foreman));
        let s = self.standard.map(|r| r.map_err(ReceiveError::Standard));
        let results: Vec<Result<(), ReceiveError>> = f.into_iter().chain(s).collect();
        let absent = |r: &Result<(), ReceiveError>| {
            matches!(
                r,
                Err(ReceiveError::Foreman(VerifyError::MissingPrefix))
                    | Err(ReceiveError::Standard(StandardError::MissingHeader(_)))
            )
        };
        let outcome = match self.require {
            // The first refusal, X-Foreman-Signature first.
            Require::Every => results.into_iter().find(Result::is_err).unwrap_or(Ok(())),
            Require::Any if results.iter().any(Result::is_ok) => Ok(()),
            // None verified: the reason of a scheme whose header was there, if any.
            Require::Any => {
                let mut refusals = results.into_iter();
                let first = refusals.next().unwrap_or(Ok(()));
                if absent(&first) {
                    refusals.find(|r| !absent(r)).unwrap_or(first)
                } else {
                    first
                }
            }
        };
        outcome?;
        if self.replayed {
            return Err(ReceiveError::Replayed);
        }
        Ok(())
    }

    /// `true` when [`Self::result`] is `Ok`.
    pub fn accepted(&self) -> bool {
        self.result().is_ok()
    }
}
