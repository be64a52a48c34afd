//! The plain configuration value the builder produces and the I/O parts read. It knows
//! nothing of the builder or the dispatcher (no import cycles: builder → config ←
//! dispatcher, http).

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;

use super::address::AddressPolicy;
use super::outbox::{DurableSettings, StoreConfig};
use super::outcome::Outcome;
use super::resolve::NameResolver;
use super::retry::RetryPolicy;
use super::telemetry::TelemetryConfig;
use crate::standard::StandardWebhook;
use crate::Signer;

/// The callback given to `on_outcome`.
pub(crate) type OutcomeFn = Arc<dyn Fn(&Outcome) + Send + Sync>;

/// Everything a dispatcher runs with, validated.
pub(crate) struct Config {
    pub(crate) secret: Option<Signer>,
    pub(crate) standard: Option<StandardWebhook>,
    pub(crate) policy: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) user_agent: String,
    pub(crate) max_pending: usize,
    pub(crate) max_concurrency: usize,
    pub(crate) max_per_host: usize,
    pub(crate) body_cap: usize,
    pub(crate) addresses: AddressPolicy,
    pub(crate) resolver: Option<Arc<dyn NameResolver>>,
    pub(crate) on_outcome: Option<OutcomeFn>,
    pub(crate) runtime: Option<Handle>,
    /// Threads of the dispatcher's own runtime (≥ 1).
    pub(crate) worker_threads: usize,
    pub(crate) jitter_seed: u64,
    pub(crate) store: StoreConfig,
    pub(crate) durable: DurableSettings,
    pub(crate) telemetry: TelemetryConfig,
}
