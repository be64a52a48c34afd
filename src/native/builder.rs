//! The configuration half: [`DispatcherBuilder`] and its defaults. It produces a plain
//! [`Config`] and hands it to [`Dispatcher`]; nothing imports the builder back.

use core::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use super::address::{AddressPolicy, CidrError};
use super::breaker::CircuitBreaker;
use super::config::{Config, OutcomeFn};
use super::dispatcher::Dispatcher;
use super::error::{BuildError, BuildErrorKind};
use super::outbox::{DurableSettings, StoreConfig};
use super::outcome::Outcome;
use super::random::random_u64;
use super::ratelimit::RateLimit;
use super::resolve::NameResolver;
use super::retry::{RetryPolicy, DEFAULT_TIMEOUT};
use super::schedule::GatePolicy;
use super::telemetry::TelemetryConfig;
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
    secret: Option<Signer>,
    standard: Option<Result<StandardWebhook, StandardError>>,
    policy: RetryPolicy,
    timeout: Duration,
    user_agent: String,
    max_pending: usize,
    max_concurrency: usize,
    max_per_host: usize,
    body_cap: usize,
    addresses: AddressPolicy,
    allow_error: Option<CidrError>,
    resolver: Option<Arc<dyn NameResolver>>,
    on_outcome: Option<OutcomeFn>,
    runtime: Option<Handle>,
    worker_threads: usize,
    jitter_seed: Option<u64>,
    store: StoreConfig,
    durable: DurableSettings,
    pub(super) telemetry: TelemetryConfig,
    gates: GatePolicy,
    ordered: bool,
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
            worker_threads: 1,
            jitter_seed: None,
            store: StoreConfig::Memory,
            durable: DurableSettings::default(),
            telemetry: TelemetryConfig::default(),
            gates: GatePolicy::default(),
            ordered: false,
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
            .field("store", &self.store)
            .field("gates", &self.gates)
            .field("ordered", &self.ordered)
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

    /// Replaces the doubling waits by an explicit list (see
    /// [`RetryPolicy::with_schedule`]): retry `n` waits `waits[n − 1]`, and there are
    /// `waits.len()` retries. The default stays the Go schedule (1, 2, 4, 8, 16 s).
    ///
    /// Waits of minutes to hours (Svix-style schedules) only make sense with a durable
    /// outbox ([`outbox_sqlite`](Self::outbox_sqlite), `outbox_postgres`): in memory a
    /// pending retry is lost when the process stops, and holds a pending slot
    /// meanwhile. [`build`](Self::build) logs a warning when a wait is over 5 minutes
    /// and the store is in memory.
    #[must_use]
    pub fn retry_schedule(mut self, waits: &[Duration]) -> Self {
        self.policy = self.policy.with_schedule(waits);
        self
    }

    /// Delivers each job's events to a URL in the order they were fired: a job's next
    /// event to the same URL is not sent before the previous one is delivered or has
    /// failed for good (exhausted, rejected); events of other jobs, and of the same job
    /// to other URLs, are not held back. Off by default (each event on its own, as Go).
    ///
    /// The job is [`Event::job_id`](crate::Event). With a durable store the order is kept
    /// in the store: only the oldest undelivered event of a (job, URL) pair can be
    /// claimed, so it survives restarts and holds across a fleet of processes sharing a
    /// PostgreSQL outbox. The cost: an event waits for its predecessor's retries (see
    /// `docs/delivery-policy.md` for measured numbers).
    #[must_use]
    pub fn ordered_per_job(mut self) -> Self {
        self.ordered = true;
        self
    }

    /// A circuit breaker per destination (`host[:port]`): after the configured failures,
    /// attempts to that destination pause (waiting deliveries keep their place and do
    /// not use up attempts) and one probe at a time tests recovery. State changes are
    /// logged (`webhook destination circuit opened` / `closed`, with `host`) and counted
    /// in [`Stats`](super::Stats). Off by default.
    #[must_use]
    pub fn circuit_breaker(mut self, breaker: CircuitBreaker) -> Self {
        self.gates.breaker = Some(breaker);
        self
    }

    /// Limits attempts to every destination (`host[:port]`) to this rate, per process
    /// (a token bucket; deliveries without a token wait their turn). Off by default.
    #[must_use]
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.gates.rate = Some(limit);
        self
    }

    /// Limits attempts to one destination (`host` or `host:port` as in the URL, e.g.
    /// `"hooks.example.com"` or `"127.0.0.1:8080"`), overriding
    /// [`rate_limit`](Self::rate_limit) for it.
    #[must_use]
    pub fn rate_limit_host(mut self, host: &str, limit: RateLimit) -> Self {
        self.gates
            .host_rates
            .insert(host.to_ascii_lowercase(), limit);
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

    /// How many threads the dispatcher's own runtime runs deliveries on, when it makes
    /// one (no [`runtime`](Self::runtime) given and `build` called outside a tokio
    /// runtime). Default 1: a current-thread runtime on one background thread, where
    /// every fresh event is delivered, plus (in memory) a second one for retries: it
    /// takes half the due retries and, after each, starts the next due ones itself, and
    /// sleeps while nothing is retried. The retries of a burst come due at the rate one
    /// thread delivered it, so they need more than that thread to run on time
    /// (BENCHMARKS.md, "retry lateness"; a retry costs more CPU this way, a fresh event
    /// does not). With 2 or more it is one multi-thread runtime: attempts (signing,
    /// TLS, HTTP) spread over the threads, for bursts one core cannot keep up with; `0`
    /// means one per available core. `fire` never waits for these threads either way.
    ///
    /// Measured on 2 shared cores (BENCHMARKS.md, "hyper-util client" run): 2 threads
    /// cost 30–70 % more CPU per delivery than 1 (thread hand-offs) for no consistent
    /// gain in rate; hence the default of 1.
    #[must_use]
    pub fn worker_threads(mut self, threads: usize) -> Self {
        self.worker_threads = threads;
        self
    }

    /// Seeds the jitter (default: random per dispatcher).
    #[must_use]
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// Keeps pending deliveries in an embedded SQLite file at `path` (created and
    /// migrated on [`build`](Self::build); WAL, `synchronous=FULL`) instead of memory,
    /// so they survive crashes and restarts. See [`outbox`](super::outbox) and
    /// `docs/outbox.md`.
    #[cfg(feature = "sqlite")]
    #[must_use]
    pub fn outbox_sqlite(self, path: impl AsRef<std::path::Path>) -> Self {
        self.outbox_sqlite_with(super::outbox::SqliteOptions::new(path))
    }

    /// [`outbox_sqlite`](Self::outbox_sqlite) with options (e.g.
    /// [`Synchronous::Normal`](super::outbox::Synchronous::Normal)).
    #[cfg(feature = "sqlite")]
    #[must_use]
    pub fn outbox_sqlite_with(mut self, options: super::outbox::SqliteOptions) -> Self {
        self.store = StoreConfig::Sqlite(options);
        self
    }

    /// Keeps pending deliveries in PostgreSQL at `url`, shared by any number of processes
    /// (a fleet): claims in batches with `FOR UPDATE SKIP LOCKED`, leases with fencing,
    /// `LISTEN/NOTIFY` wake-ups plus polling. An invalid URL makes
    /// [`build`](Self::build) fail.
    #[cfg(feature = "postgres")]
    #[must_use]
    pub fn outbox_postgres(mut self, url: &str) -> Self {
        self.store = match super::outbox::PostgresOptions::new(url) {
            Ok(o) => StoreConfig::Postgres(Box::new(o)),
            Err(e) => StoreConfig::Invalid(e.to_string()),
        };
        self
    }

    /// [`outbox_postgres`](Self::outbox_postgres) through the application's own pool.
    #[cfg(feature = "postgres")]
    #[must_use]
    pub fn outbox_postgres_pool(self, pool: sqlx::PgPool) -> Self {
        self.outbox_postgres_with(super::outbox::PostgresOptions::from_pool(pool))
    }

    /// [`outbox_postgres`](Self::outbox_postgres) with options (e.g.
    /// [`poll_only`](super::outbox::PostgresOptions::poll_only) behind PgBouncer).
    #[cfg(feature = "postgres")]
    #[must_use]
    pub fn outbox_postgres_with(mut self, options: super::outbox::PostgresOptions) -> Self {
        self.store = StoreConfig::Postgres(Box::new(options));
        self
    }

    /// With a durable store: how long a claim on a delivery lasts (default 60 s). Keep
    /// it well above the request [`timeout`](Self::timeout): a process that dies holding
    /// claims delays those deliveries by up to this long.
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.durable.lease = lease.max(Duration::from_millis(1));
        self
    }

    /// With a durable store: the longest wait before looking for work this process was
    /// not told about (rows from other processes, transactional enqueues); default 1 s.
    #[must_use]
    pub fn poll_interval(mut self, every: Duration) -> Self {
        self.durable.poll = every.max(Duration::from_millis(1));
        self
    }

    /// With a durable store: how long finished deliveries are kept (default 7 days).
    #[must_use]
    pub fn retention(mut self, keep: Duration) -> Self {
        self.durable.retention = keep;
        self
    }

    /// With a durable store: `false` makes this dispatcher only store events (no
    /// delivery in this process; a relay delivers them). Default `true`.
    #[must_use]
    pub fn deliver(mut self, deliver: bool) -> Self {
        self.durable.deliver = deliver;
        self
    }

    /// Keep the query string in the URL that outcomes (and, with the `otel` feature,
    /// spans) record; values of parameters named like credentials (`token`, `sig`,
    /// `signature`, `key`, ...) are still replaced by `REDACTED`. Off by default: the
    /// query is dropped, since it often carries a receiver's token.
    pub fn record_url_query(mut self, keep: bool) -> Self {
        self.telemetry.keep_query = keep;
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
    pub fn build(self) -> Result<Dispatcher, BuildError> {
        Dispatcher::start(self.into_config()?)
    }

    /// Validates the settings into the plain [`Config`] the dispatcher runs with.
    fn into_config(mut self) -> Result<Config, BuildError> {
        if let Some(e) = self.allow_error.take() {
            return Err(BuildError::new(BuildErrorKind::Allowlist, e));
        }
        let standard = match self.standard.take() {
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => return Err(BuildError::new(BuildErrorKind::StandardWebhooks, e)),
            None => None,
        };
        if let Some(b) = &mut self.gates.breaker {
            if b.probe_timeout.is_none() {
                b.probe_timeout = Some(
                    self.timeout
                        .saturating_mul(2)
                        .saturating_add(Duration::from_secs(1)),
                );
            }
        }
        if matches!(self.store, StoreConfig::Memory)
            && self.policy.longest_wait() > Duration::from_secs(300)
        {
            tracing::warn!(
                longest_wait_s = self.policy.longest_wait().as_secs(),
                "webhook retry schedule has waits over 5 minutes with the in-memory store: pending retries are lost when the process stops (use a durable outbox)"
            );
        }
        let max_retries = self.policy.max_retries().min(u32::from(u16::MAX) - 1);
        Ok(Config {
            secret: self.secret,
            standard,
            policy: self.policy.with_max_retries(max_retries),
            timeout: self.timeout,
            user_agent: self.user_agent,
            max_pending: self.max_pending,
            max_concurrency: self.max_concurrency,
            max_per_host: self.max_per_host,
            body_cap: self.body_cap,
            addresses: self.addresses,
            resolver: self.resolver,
            on_outcome: self.on_outcome,
            runtime: self.runtime,
            worker_threads: match self.worker_threads {
                0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
                n => n,
            },
            jitter_seed: self.jitter_seed.unwrap_or_else(random_u64),
            store: self.store,
            durable: self.durable,
            telemetry: self.telemetry,
            gates: self.gates,
            ordered: self.ordered,
        })
    }
}

impl Dispatcher {
    /// A builder with the Go defaults (see the [module docs](super)).
    pub fn builder() -> DispatcherBuilder {
        DispatcherBuilder::default()
    }
}
