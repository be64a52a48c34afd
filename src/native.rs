//! Sending webhooks (feature `native`): the Go `Dispatcher` in tokio + hyper, bounded,
//! accounted for, and guarded against SSRF.
//!
//! ```no_run
//! use std::time::Duration;
//! use foreman_webhook::{Dispatcher, Event, Secret, Timestamp};
//!
//! let dispatcher = Dispatcher::builder().secret(Secret::new("whsec-demo")?).build()?;
//! let event = Event::new("job-42", "running", Timestamp::from(std::time::SystemTime::now()));
//! dispatcher.fire("https://hooks.example.com/foreman", &event); // returns at once
//! let report = dispatcher.shutdown_blocking(Duration::from_secs(30));
//! println!("delivered {:?}, abandoned {:?}", report.delivered, report.abandoned);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Defaults (all set on [`DispatcherBuilder`])
//!
//! | setting | default | Go |
//! |---|---|---|
//! | attempts | 1 + 5 retries ([`DEFAULT_MAX_RETRIES`]) | same |
//! | waits before retries | 1, 2, 4, 8, 16 s: [`DEFAULT_BASE_DELAY`] × 2^(n−1), no jitter | same |
//! | per-request timeout | 10 s, connect to end of body read ([`DEFAULT_TIMEOUT`]) | same |
//! | delivered | any 2xx; everything else (3xx included) is a failed attempt | same, but Go follows redirects |
//! | `Retry-After` on 429/503 | lengthens the next wait, capped at 60 s ([`DEFAULT_RETRY_AFTER_CAP`]) | ignored |
//! | redirects | never followed | followed (POST becomes GET) |
//! | pending deliveries | 10 000 ([`DEFAULT_MAX_PENDING`]); past it `fire` drops, logs, counts | unbounded |
//! | concurrent requests | 64 in all, 8 per `host[:port]` | unbounded |
//! | response body read | at most 4 KiB ([`DEFAULT_RESPONSE_BODY_CAP`]) | not read |
//! | destinations | global addresses only ([`AddressPolicy`]); open ranges with `allow_cidr` | any |
//! | proxies | none (environment variables ignored, so the vetted address is the one used) | environment |
//! | signature | `X-Foreman-Signature` when a secret is set; Standard Webhooks opt-in | same |
//!
//! # Which runtime runs the deliveries
//!
//! [`DispatcherBuilder::build`] picks, in order: the handle given to
//! [`DispatcherBuilder::runtime`]; the tokio runtime it is called in; otherwise a
//! current-thread runtime of its own, driven by one background thread named
//! `foreman-webhook` ([`DispatcherBuilder::worker_threads`] makes it a multi-thread
//! runtime for bursts one core cannot carry). So a synchronous worker needs no tokio
//! setup, and [`Dispatcher::fire`] works from any thread in every case: it takes no lock
//! the scheduler holds (it hands the job to the scheduler over a lock-free channel) and
//! never awaits. While fires keep coming, the scheduler looks at that channel every
//! millisecond rather than being woken by each `fire` (a wake-up is a system call on the
//! firing thread), so an event of a steady stream may wait up to about a millisecond
//! more before its first attempt; the first one after a quiet spell wakes it at once. Every dispatcher also has a small thread of its own,
//! `foreman-webhook-bodies`, that prepares body buffers (allocated and written, so their
//! memory is already mapped) for `fire` to write events into: about 4 MiB kept ready once
//! the dispatcher has fired, so a burst of fires does not take page faults on the firing
//! thread; it exits with the dispatcher. When the last clone of a dispatcher is
//! dropped, pending deliveries still run to their end; call [`Dispatcher::shutdown`]
//! (async) or [`Dispatcher::shutdown_blocking`] to bound that time and get the report.
//! A borrowed runtime must have I/O and time enabled and outlive the deliveries: if it
//! shuts down first, what was still pending is lost without an outcome, so shut the
//! dispatcher down before the runtime.
//!
//! # Every event accounted for
//!
//! Each fired event ends in exactly one [`OutcomeKind`]: delivered, exhausted, rejected,
//! dropped at capacity, or abandoned at shutdown. [`Dispatcher::stats`] counts them
//! (`fired` = terminal + pending); [`DispatcherBuilder::on_outcome`] receives each one.
//!
//! # SSRF guard
//!
//! IP-literal hosts (any spelling the URL standard accepts: `2130706433`, `0x7f.1`,
//! `[::ffff:127.0.0.1]`) are checked inside `fire`; names are resolved by the pluggable
//! [`NameResolver`] and only permitted addresses are handed to the connector, which
//! connects to exactly those (no second lookup, so DNS rebinding cannot swap them).
//! `localhost` and `*.localhost` always mean loopback. IPv6 transition forms (6to4,
//! Teredo, SIIT, NAT64) are refused like the ranges they could reach (see [`is_global`]).
//! A URL the HTTP client could not send (over 8 KiB, or a host with `{`, `"` or a
//! backtick) is refused inside `fire` too. A refusal is one `error` log line and
//! [`OutcomeKind::Rejected`], never a retry.
//!
//! # Durable outbox (features `sqlite`)
//!
//! [`DispatcherBuilder::outbox_sqlite`] keeps pending deliveries in an SQLite file
//! instead of memory: events survive crashes, each keeps its `webhook-id` across
//! retries, restarts and processes, and every committed event still ends in exactly one
//! terminal state (delivered or dead). [`Dispatcher::fire_durable`] waits for the commit;
//! [`outbox::enqueue_sqlite`] enqueues inside the caller's own transaction; [`Outbox`]
//! lists, redelivers and prunes. Guarantees and the non-durable window of `fire`:
//! `docs/outbox.md`.
//!
//! # Logs
//!
//! Through `tracing`, with the Go messages and fields: `webhook delivery failed`
//! (`error`, `url`, `job_id`, `attempt`, `max`), `webhook non-2xx response` (`status`,
//! ...), `webhook delivered` (debug), `webhook delivery exhausted retries` (error), plus
//! `webhook destination refused`, `webhook dropped: pending deliveries at capacity` and
//! `webhook abandoned at shutdown`. Secrets and signatures are never logged; a password
//! in a URL is logged as `REDACTED`, and a log line carries at most the first 256 bytes
//! of a URL (then `…(N bytes)`).
//!
//! # Extreme settings
//!
//! Every wait is saturating: a retry or shutdown deadline further out than 30 years
//! (`base_delay(Duration::MAX)`, a `Retry-After` cap of `Duration::MAX` with a huge
//! `Retry-After`) is armed 30 years out, so the event stays pending until shutdown
//! abandons it: it still ends in exactly one outcome.

mod address;
mod breaker;
mod builder;
mod chunks;
mod config;
mod dispatcher;
mod durable;
mod error;
mod filler;
mod http;
mod job;
#[cfg(feature = "otel")]
#[cfg_attr(docsrs, doc(cfg(feature = "otel")))]
pub mod otel;
pub mod outbox;
mod outcome;
mod prefault;
mod random;
mod ratelimit;
mod resolve;
mod retry;
mod schedule;
mod telemetry;
mod timers;

pub use address::{canonical, is_global, is_localhost_name, AddressPolicy, CidrError};
pub use breaker::CircuitBreaker;
pub use builder::{
    DispatcherBuilder, DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_PENDING, DEFAULT_MAX_PER_HOST,
    DEFAULT_RESPONSE_BODY_CAP, DEFAULT_USER_AGENT,
};
pub use dispatcher::Dispatcher;
pub use error::{BuildError, BuildErrorKind};
pub use outbox::{EventId, Outbox, OutboxError, OutboxErrorKind};
pub use outcome::{DeliveryId, Outcome, OutcomeKind, RejectReason, ShutdownReport, Stats};
pub use ratelimit::RateLimit;
pub use resolve::{ForbiddenDestination, NameResolver, Resolving, StaticResolver, SystemResolver};
pub use retry::{
    parse_retry_after, AttemptOutcome, Delays, Jitter, Next, RetryPolicy, DEFAULT_BASE_DELAY,
    DEFAULT_MAX_RETRIES, DEFAULT_RETRY_AFTER_CAP, DEFAULT_TIMEOUT,
};
pub use telemetry::{AttemptTiming, ErrorClass};
