//! The plain configuration value the builder produces and the I/O parts read. It knows
//! nothing of the builder or the dispatcher (no import cycles: builder → config ←
//! dispatcher, http).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

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
    pub(crate) jitter_seed: u64,
    pub(crate) store: StoreConfig,
    pub(crate) durable: DurableSettings,
    pub(crate) telemetry: TelemetryConfig,
}

/// 64 random bits from the operating system's random source (`getrandom`): the
/// per-dispatcher part of in-memory `webhook-id`s, durable event ids, jitter seeds and
/// lease owners, so two processes never draw the same values. Should the OS source fail
/// (it does not on the platforms tokio supports), falls back to the standard library's
/// per-process random hash keys mixed with the clock.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_ok() {
        return u64::from_le_bytes(bytes);
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_u64_values_differ() {
        let mut seen: Vec<u64> = (0..1000).map(|_| super::random_u64()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 1000);
        // Not a constant bit pattern: every bit position takes both values.
        let (or, and) = seen
            .iter()
            .fold((0u64, u64::MAX), |(o, a), x| (o | x, a & x));
        assert_eq!((or, and), (u64::MAX, 0));
    }
}
