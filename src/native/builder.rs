//! The configuration half: [`DispatcherBuilder`], its defaults and [`BuildError`].

use core::fmt;
use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::runtime::Handle;

use super::dispatcher::Dispatcher;
use super::outcome::Outcome;
use super::policy::{AddressPolicy, CidrError, RetryPolicy, DEFAULT_TIMEOUT};
use super::resolve::NameResolver;
use crate::standard::{StandardError, StandardWebhook};
use crate::{Secret, Signer};

/// Default cap on accepted, not yet finished deliveries.
pub const DEFAULT_MAX_PENDING: usize = 10_000;
/// Default cap on requests in flight at once.
pub const DEFAULT_MAX_CONCURRENCY: usize = 64;
/// Default cap on requests in flight to one destination (`host[:port]`).
pub const DEFAULT_MAX_PER_HOST: usize = 8;
/// Default number of response-body bytes read (then the response is dropped).
pub const DEFAULT_RESPONSE_BODY_CAP: usize = 4096;
/// Default `User-Agent`.
pub const DEFAULT_USER_AGENT: &str = concat!("foreman-webhook/", env!("CARGO_PKG_VERSION"));

pub(super) type OutcomeFn = Arc<dyn Fn(&Outcome) + Send + Sync>;

/// Configures a [`Dispatcher`]; every default is the Go package's (see the
/// [module docs](super)).
///
/// ```no_run
/// use std::time::Duration;
/// use foreman_webhook::{Dispatcher, Secret};
/// let dispatcher = Dispatcher::builder()
///     .secret(Secret::new("whsec-demo")?)
///     .base_delay(Duration::from_millis(50))
///     .max_pending(50_000)
///     .build()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DispatcherBuilder {
    pub(super) secret: Option<Signer>,
    pub(super) standard: Option<Result<StandardWebhook, StandardError>>,
    pub(super) policy: RetryPolicy,
    pub(super) timeout: Duration,
    pub(super) user_agent: String,
    pub(super) max_pending: usize,
    pub(super) max_concurrency: usize,
    pub(super) max_per_host: usize,
    pub(super) body_cap: usize,
    pub(super) addresses: AddressPolicy,
    pub(super) allow_error: Option<CidrError>,
    pub(super) resolver: Option<Arc<dyn NameResolver>>,
    pub(super) on_outcome: Option<OutcomeFn>,
    pub(super) runtime: Option<Handle>,
    pub(super) jitter_seed: Option<u64>,
}

impl Default for DispatcherBuilder {
    fn default() -> Self {
        Self {
            secret: None,
            standard: None,
            policy: RetryPolicy::default(),
            timeout: DEFAULT_TIMEOUT,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            max_pending: DEFAULT_MAX_PENDING,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            max_per_host: DEFAULT_MAX_PER_HOST,
            body_cap: DEFAULT_RESPONSE_BODY_CAP,
            addresses: AddressPolicy::default(),
            allow_error: None,
            resolver: None,
            on_outcome: None,
            runtime: None,
            jitter_seed: None,
        }
    }
}

impl fmt::Debug for DispatcherBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DispatcherBuilder")
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("standard_webhooks", &self.standard.is_some())
            .field("policy", &self.policy)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("max_pending", &self.max_pending)
            .field("max_concurrency", &self.max_concurrency)
            .field("max_per_host", &self.max_per_host)
            .field("addresses", &self.addresses)
            .finish_non_exhaustive()
    }
}

impl DispatcherBuilder {
    /// Signs every request with `X-Foreman-Signature: sha256=<hex>` under `secret`
    /// (keyed once). Without it requests go unsigned, as Go does with an empty secret.
    #[must_use]
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secret = Some(Signer::new(&secret));
        self
    }

    /// Also sends the [Standard Webhooks](crate::standard) headers: `webhook-id` (stable
    /// per event, the same on every retry), `webhook-timestamp` and `webhook-signature`
    /// (fresh per attempt, one `v1,` entry per secret, so keys can rotate).
    /// `X-Foreman-Signature` is still sent when [`secret`](Self::secret) is set.
    ///
    /// An empty list makes [`build`](Self::build) fail.
    #[must_use]
    pub fn standard_webhooks(mut self, secrets: &[Secret]) -> Self {
        self.standard = Some(StandardWebhook::new(secrets));
        self
    }

    /// Replaces the whole retry policy.
    #[must_use]
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets the wait before the first retry (default 1 s; later waits double).
    #[must_use]
    pub fn base_delay(mut self, base: Duration) -> Self {
        self.policy = self.policy.with_base_delay(base);
        self
    }

    /// Sets the number of retries after the first attempt (default 5).
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.policy = self.policy.with_max_retries(retries);
        self
    }

    /// Sets the per-request timeout, connect to end of the body read (default 10 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the `User-Agent` (default `foreman-webhook/<version>`).
    #[must_use]
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Caps accepted, unfinished deliveries (default 10 000); past it `fire` drops.
    #[must_use]
    pub fn max_pending(mut self, max: usize) -> Self {
        self.max_pending = max;
        self
    }

    /// Caps requests in flight at once (default 64; at least 1).
    #[must_use]
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = max.max(1);
        self
    }

    /// Caps requests in flight to one `host[:port]` (default 8; at least 1).
    #[must_use]
    pub fn max_per_host(mut self, max: usize) -> Self {
        self.max_per_host = max.max(1);
        self
    }

    /// Caps the response-body bytes read per attempt (default 4 KiB).
    #[must_use]
    pub fn response_body_cap(mut self, bytes: usize) -> Self {
        self.body_cap = bytes;
        self
    }

    /// Replaces the address policy (default: every non-global address refused).
    #[must_use]
    pub fn address_policy(mut self, policy: AddressPolicy) -> Self {
        self.addresses = policy;
        self
    }

    /// Opens a CIDR range to deliveries (e.g. `"127.0.0.1/32"` for local tests); an
    /// invalid entry makes [`build`](Self::build) fail.
    #[must_use]
    pub fn allow_cidr(mut self, cidr: &str) -> Self {
        match self.addresses.clone().allow(cidr) {
            Ok(p) => self.addresses = p,
            Err(e) => self.allow_error = Some(e),
        }
        self
    }

    /// Resolves hostnames with `resolver` instead of the system resolver (the answers
    /// still pass the address policy).
    #[must_use]
    pub fn resolver(mut self, resolver: impl NameResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// Calls `callback` once with each event's terminal [`Outcome`]. It runs on the
    /// dispatcher's runtime thread (or, for events refused inside `fire`, on the caller's
    /// thread): keep it short and non-blocking, e.g. a channel send.
    #[must_use]
    pub fn on_outcome(mut self, callback: impl Fn(&Outcome) + Send + Sync + 'static) -> Self {
        self.on_outcome = Some(Arc::new(callback));
        self
    }

    /// Runs deliveries on this tokio runtime (it must have I/O and time enabled).
    #[must_use]
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Seeds the jitter (default: random per dispatcher).
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Builds the client and starts the scheduler.
    ///
    /// The runtime: the one given to [`runtime`](Self::runtime); else, when called
    /// inside a tokio runtime, that runtime; else a small runtime of its own on one
    /// background thread (so synchronous programs need no tokio setup).
    ///
    /// # Errors
    /// [`BuildError`] when the HTTP client or the runtime cannot be built, an allowlist
    /// entry is invalid, or the Standard Webhooks secret list is empty.
    pub fn build(mut self) -> Result<Dispatcher, BuildError> {
        if let Some(e) = self.allow_error.take() {
            return Err(BuildError::new(BuildErrorKind::Allowlist, e));
        }
        let standard = match self.standard.take() {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => return Err(BuildError::new(BuildErrorKind::StandardWebhooks, e)),
            None => None,
        };
        Dispatcher::start(self, standard)
    }
}

/// 64 random bits from the standard library's per-process hash keys.
pub(super) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// Why [`DispatcherBuilder::build`] failed; the cause is its `source()`.
#[derive(Debug)]
pub struct BuildError {
    kind: BuildErrorKind,
    source: Box<dyn StdError + Send + Sync>,
}

/// What [`BuildError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// The HTTP client (TLS backend, user agent) could not be built.
    Client,
    /// The dispatcher's own runtime or its thread could not be started.
    Runtime,
    /// An allowlist entry is not a CIDR range or address.
    Allowlist,
    /// The Standard Webhooks secret list is invalid (empty).
    StandardWebhooks,
}

impl BuildError {
    pub(super) fn new(
        kind: BuildErrorKind,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }

    /// What failed.
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            BuildErrorKind::Client => "webhook dispatcher: the HTTP client could not be built",
            BuildErrorKind::Runtime => "webhook dispatcher: its runtime thread could not start",
            BuildErrorKind::Allowlist => {
                "webhook dispatcher: allowlist entry must be a CIDR range like `127.0.0.1/32`"
            }
            BuildErrorKind::StandardWebhooks => {
                "webhook dispatcher: standard webhooks need at least one secret"
            }
        })
    }
}

impl StdError for BuildError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&*self.source)
    }
}
