//! Receiving: one [`Receiver`], configured once, verifies a request under either or both
//! schemes from any header map and the raw body, and returns the decoded [`Event`].
//!
//! ```
//! use foreman_webhook::{Receiver, Secret, SIGNATURE_HEADER};
//!
//! let receiver = Receiver::builder()
//!     .foreman_secret(Secret::new("It's a Secret to Everybody")?)
//!     .build()?;
//! let body = br#"{"job_id":"job-1","state":"succeeded","timestamp":"2026-11-28T14:00:00Z"}"#;
//! let sig = foreman_webhook::sign(body, &Secret::new("It's a Secret to Everybody")?);
//! let headers = [(SIGNATURE_HEADER, sig.to_string())];
//! let event = receiver.receive(&headers, body)?;
//! assert_eq!(event.job_id, "job-1");
//!
//! let forged = [(SIGNATURE_HEADER, "sha256=00")];
//! assert_eq!(receiver.receive(&forged, body).unwrap_err().code(), "wrong_length");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Acceptance rules
//!
//! | situation                                              | answer                         |
//! |--------------------------------------------------------|--------------------------------|
//! | scheme configured (it has keys), its header absent      | that scheme refuses: `missing_prefix` (an absent `X-Foreman-Signature` reads as an empty one, as in the JS API) or `missing_header` |
//! | scheme not configured, its header present               | ignored (not a verdict)        |
//! | [`Require::Every`] (default)                            | every configured scheme must verify; the first refusal (X-Foreman-Signature first) is the reason |
//! | [`Require::Any`]                                        | one configured scheme verifying is enough (for migrating senders from one scheme to the other: a replay with a valid `X-Foreman-Signature` then passes) |
//! | several lines of one header                             | joined by [`join_lines`]: a space for `webhook-signature`, `", "` otherwise (so a repeated single-valued header is refused) |
//! | Standard Webhooks timestamp                             | within the tolerance (default [`DEFAULT_TOLERANCE_SECS`] s) of the receiver's clock, both bounds inclusive |
//! | replay guard on, `webhook-id` already accepted in the window | `replayed` (only after every signature check passed) |
//! | body over the limit (default [`DEFAULT_BODY_LIMIT`])    | `body_too_large`, before any MAC is computed |
//! | verified, body not an `Event`                           | `malformed_event` ([`Receiver::receive`] only) |
//!
//! The clock is read inside ([`Receiver::check`]); tests inject one with
//! [`ReceiverBuilder::clock`] or pass the time to [`Receiver::check_at`].

use core::fmt;
use std::sync::Arc;

use crate::event::Event;
use crate::signature::{verify_any, Secret, MAX_SECRETS, SIGNATURE_HEADER};
use crate::standard::{
    self, Headers, StandardWebhook, DEFAULT_TOLERANCE_SECS, ID_HEADER, TIMESTAMP_HEADER,
};

mod clock;
mod headers;
mod replay;
mod verdict;

pub use headers::{header_value, join_lines, line_separator, HeaderSource};
pub use replay::{ReplayGuard, DEFAULT_REPLAY_CAPACITY};
pub use verdict::{ConfigError, ReceiveError, Verdict};

/// Default largest body a receiver accepts: 1 MiB (an event's inline artifacts are
/// limited to 256 KiB in total by default).
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// Which configured schemes must verify.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Require {
    /// Every scheme that has keys must verify (the default).
    #[default]
    Every,
    /// One configured scheme verifying is enough.
    Any,
}

type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Verifies webhook requests under `X-Foreman-Signature` and/or Standard Webhooks.
/// Cheap to clone (the configuration is shared), `Send + Sync`.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    foreman: Vec<Secret>,
    standard: Option<StandardWebhook>,
    tolerance_secs: u64,
    require: Require,
    replay: Option<ReplayGuard>,
    clock: Option<Clock>,
    body_limit: usize,
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Receiver")
            .field("foreman_keys", &i.foreman.len())
            .field("standard", &i.standard)
            .field("tolerance_secs", &i.tolerance_secs)
            .field("require", &i.require)
            .field(
                "replay_capacity",
                &i.replay.as_ref().map(ReplayGuard::capacity),
            )
            .field("body_limit", &i.body_limit)
            .finish()
    }
}

/// Configures a [`Receiver`]; from [`Receiver::builder`].
#[derive(Default)]
#[must_use]
pub struct ReceiverBuilder {
    foreman: Vec<Secret>,
    standard: Vec<Secret>,
    tolerance_secs: Option<u64>,
    require: Require,
    replay: Option<usize>,
    clock: Option<Clock>,
    body_limit: Option<usize>,
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("foreman_keys", &self.foreman.len())
            .field("standard_keys", &self.standard.len())
            .finish_non_exhaustive()
    }
}

impl ReceiverBuilder {
    /// Adds a key for `X-Foreman-Signature` (repeat for rotation: any may match).
    pub fn foreman_secret(mut self, secret: Secret) -> Self {
        self.foreman.push(secret);
        self
    }

    /// Adds a Standard Webhooks key, e.g. `Secret::from_standard("whsec_...")?` (repeat
    /// for rotation).
    pub fn standard_secret(mut self, secret: Secret) -> Self {
        self.standard.push(secret);
        self
    }

    /// The Standard Webhooks timestamp tolerance, both directions (default 300 s).
    pub fn tolerance_secs(mut self, secs: u64) -> Self {
        self.tolerance_secs = Some(secs);
        self
    }

    /// Which configured schemes must verify (default [`Require::Every`]).
    pub fn require(mut self, require: Require) -> Self {
        self.require = require;
        self
    }

    /// Remembers up to `capacity` accepted `webhook-id`s for their tolerance window and
    /// refuses a second delivery as `replayed` (see [`ReplayGuard`] for the memory bound).
    /// Applies to requests whose Standard Webhooks signature verified.
    pub fn replay_guard(mut self, capacity: usize) -> Self {
        self.replay = Some(capacity);
        self
    }

    /// The clock, in Unix seconds (default: the system clock). On wasm32 there is no clock
    /// the core can read: give one (e.g. `js_sys::Date::now() / 1000.0`), or building a
    /// receiver that checks Standard Webhooks timestamps fails with `no_clock`. Also for tests.
    pub fn clock(mut self, now_unix: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Some(Arc::new(now_unix));
        self
    }

    /// Largest body accepted, in bytes (default [`DEFAULT_BODY_LIMIT`]).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = Some(bytes);
        self
    }

    /// The receiver.
    ///
    /// # Errors
    /// [`ConfigError::NoSecret`] without any key, [`ConfigError::TooManySecrets`] over
    /// [`MAX_SECRETS`] keys for one scheme, [`ConfigError::NoClock`] (see there).
    pub fn build(self) -> Result<Receiver, ConfigError> {
        if self.foreman.is_empty() && self.standard.is_empty() {
            return Err(ConfigError::NoSecret);
        }
        if self.foreman.len() > MAX_SECRETS || self.standard.len() > MAX_SECRETS {
            return Err(ConfigError::TooManySecrets);
        }
        let tolerance_secs = self.tolerance_secs.unwrap_or(DEFAULT_TOLERANCE_SECS);
        let standard = if self.standard.is_empty() {
            None
        } else {
            let wh = StandardWebhook::new(&self.standard).map_err(|_| ConfigError::NoSecret)?;
            Some(wh.with_tolerance_secs(tolerance_secs))
        };
        if standard.is_some() && self.clock.is_none() && clock::system_now().is_none() {
            return Err(ConfigError::NoClock);
        }
        Ok(Receiver {
            inner: Arc::new(Inner {
                foreman: self.foreman,
                standard,
                tolerance_secs,
                require: self.require,
                replay: self.replay.map(ReplayGuard::new),
                clock: self.clock,
                body_limit: self.body_limit.unwrap_or(DEFAULT_BODY_LIMIT),
            }),
        })
    }
}

impl Receiver {
    /// A builder: add keys for one or both schemes, then [`ReceiverBuilder::build`].
    pub fn builder() -> ReceiverBuilder {
        ReceiverBuilder::default()
    }

    /// Verifies the request and decodes its body: the verified [`Event`].
    ///
    /// # Errors
    /// A [`ReceiveError`] whose [`code`](ReceiveError::code) says why.
    pub fn receive<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<Event, ReceiveError> {
        self.verify(headers, body)?;
        Event::from_json(body).map_err(ReceiveError::MalformedEvent)
    }

    /// Verifies the request without decoding the body.
    ///
    /// # Errors
    /// A [`ReceiveError`] whose [`code`](ReceiveError::code) says why.
    pub fn verify<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<(), ReceiveError> {
        self.check(headers, body).result()
    }

    /// The verdict per scheme, at the receiver's clock (for tools that show both, like
    /// the CLI's `listen`). Records the `webhook-id` in the replay guard when accepted.
    pub fn check<H: HeaderSource + ?Sized>(&self, headers: &H, body: &[u8]) -> Verdict {
        let now = match &self.inner.clock {
            Some(clock) => clock(),
            // `build` refused a receiver with Standard Webhooks and no clock; without
            // Standard Webhooks the time is not read.
            None => clock::system_now().unwrap_or(0),
        };
        self.check_at(headers, body, now)
    }

    /// [`Self::check`] at `now_unix` instead of the receiver's clock.
    pub fn check_at<H: HeaderSource + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now_unix: i64,
    ) -> Verdict {
        let i = &self.inner;
        let webhook_id = header_value(headers, ID_HEADER);
        let mut verdict = Verdict::new(i.require, webhook_id);
        if body.len() > i.body_limit {
            verdict.too_large = Some(i.body_limit);
            return verdict;
        }
        if !i.foreman.is_empty() {
            let header = header_value(headers, SIGNATURE_HEADER).unwrap_or_default();
            verdict.foreman = Some(verify_any(body, &header, &i.foreman));
        }
        let mut signed_ts = None;
        if let Some(wh) = &i.standard {
            let ts = header_value(headers, TIMESTAMP_HEADER);
            let sig = header_value(headers, standard::SIGNATURE_HEADER);
            let h = Headers {
                id: verdict.webhook_id.as_deref(),
                timestamp: ts.as_deref(),
                signature: sig.as_deref(),
            };
            let r = wh.verify(&h, body, now_unix);
            if r.is_ok() {
                signed_ts = ts
                    .as_deref()
                    .and_then(|t| standard::parse_timestamp(t).ok());
            }
            verdict.standard = Some(r);
        }
        if let (Some(guard), Some(ts), Some(id)) = (&i.replay, signed_ts, &verdict.webhook_id) {
            if verdict.result().is_ok() {
                verdict.replayed = !guard.check_and_record(id, ts, now_unix, i.tolerance_secs);
            }
        }
        verdict
    }

    /// The largest body accepted, in bytes: read no more than this from the network.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// The replay guard, when configured (to read its size and eviction count).
    pub fn replay_guard(&self) -> Option<&ReplayGuard> {
        self.inner.replay.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign;

    const BODY: &[u8] = br#"{"job_id":"job-1","state":"succeeded"}"#;

    fn std_secret() -> Secret {
        Secret::from_standard("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap_or_else(|_| {
            unreachable!("valid literal");
        })
    }

    fn both(require: Require) -> Result<Receiver, Box<dyn std::error::Error>> {
        Ok(Receiver::builder()
            .foreman_secret(Secret::new("k")?)
            .standard_secret(std_secret())
            .require(require)
            .replay_guard(16)
            .clock(|| 1_000)
            .build()?)
    }

    fn std_headers(
        id: &str,
        ts: i64,
    ) -> Result<Vec<(&'static str, String)>, Box<dyn std::error::Error>> {
        let wh = StandardWebhook::new(&[std_secret()])?;
        Ok(vec![
            ("webhook-id", id.to_owned()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", wh.sign(id, ts, BODY)),
        ])
    }

    #[test]
    fn both_schemes_every_and_any() -> Result<(), Box<dyn std::error::Error>> {
        let every = both(Require::Every)?;
        let mut h = std_headers("msg_1", 1_000)?;
        // Standard only: X-Foreman-Signature is configured and absent.
        assert_eq!(
            every.verify(&h, BODY).map_err(|e| e.code()),
            Err("missing_prefix")
        );
        h.push((
            "X-Foreman-Signature",
            sign(BODY, &Secret::new("k")?).to_string(),
        ));
        let event = every.receive(&h, BODY)?;
        assert_eq!(event.job_id, "job-1");
        // The same id again inside the window: a replay.
        assert_eq!(
            every.verify(&h, BODY).map_err(|e| e.code()),
            Err("replayed")
        );

        let any = both(Require::Any)?;
        let h = std_headers("msg_2", 1_000)?;
        assert!(any.verify(&h, BODY).is_ok());
        let stale = std_headers("msg_3", 1_000 - 301)?;
        assert_eq!(
            any.verify(&stale, BODY).map_err(|e| e.code()),
            Err("too_old")
        );
        Ok(())
    }

    #[test]
    fn configuration_mistakes_are_typed() {
        assert_eq!(
            Receiver::builder().build().map(|_| ()),
            Err(ConfigError::NoSecret)
        );
        let mut b = Receiver::builder();
        for _ in 0..=MAX_SECRETS {
            b = b.standard_secret(std_secret());
        }
        assert_eq!(
            b.build().map(|_| ()).map_err(|e| e.code()),
            Err("too_many_secrets")
        );
    }

    #[test]
    fn body_limit_refuses_before_verifying() -> Result<(), Box<dyn std::error::Error>> {
        let r = Receiver::builder()
            .foreman_secret(Secret::new("k")?)
            .body_limit(4)
            .build()?;
        let h = [(
            "X-Foreman-Signature",
            sign(BODY, &Secret::new("k")?).to_string(),
        )];
        assert_eq!(
            r.verify(&h, BODY).map_err(|e| e.code()),
            Err("body_too_large")
        );
        Ok(())
    }
}
