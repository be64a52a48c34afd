//! Delivery-policy flags shared by `relay`: retry schedule, circuit breaker, rate limits
//! (see docs/delivery-policy.md).

use std::time::Duration;

use clap::Args;
use foreman_webhook::native::{CircuitBreaker, DispatcherBuilder, RateLimit};

use crate::duration::{parse_duration, WAIT_UNITS};
use crate::shared::Failure;

#[derive(Args, Debug, Default)]
pub struct PolicyArgs {
    /// Retry waits as a list, replacing the doubling: e.g. `5s,5m,30m,2h` (units ms, s,
    /// m, h; one retry per entry). Long waits belong with a durable store, as here.
    #[arg(long, value_name = "WAITS")]
    retry_schedule: Option<String>,
    /// Circuit breaker per destination: open after N consecutive failed attempts
    /// (timeouts, transport errors, 5xx, 429).
    #[arg(long, value_name = "N")]
    breaker_failures: Option<u32>,
    /// Circuit breaker: also open when at least PERCENT % of the attempts in the last
    /// --breaker-window-secs failed (once there were --breaker-min-attempts).
    #[arg(long, value_name = "PERCENT")]
    breaker_failure_rate: Option<u8>,
    /// The failure-rate window, in seconds.
    #[arg(long, default_value_t = 300)]
    breaker_window_secs: u64,
    /// The fewest attempts in the window before the failure rate counts.
    #[arg(long, default_value_t = 20)]
    breaker_min_attempts: u32,
    /// How long an open circuit waits before one probe, in milliseconds (doubles after
    /// each failed probe, up to 10 times this).
    #[arg(long, default_value_t = 30_000)]
    breaker_open_ms: u64,
    /// At most this many attempts per second to each destination (per relay process).
    #[arg(long, value_name = "PER_SEC")]
    rate_limit: Option<f64>,
    /// A limit for one destination, `HOST[:PORT]=PER_SEC` (repeatable; overrides
    /// --rate-limit for it).
    #[arg(long, value_name = "HOST=PER_SEC")]
    rate_limit_host: Vec<String>,
}

impl PolicyArgs {
    /// The builder with these policies set.
    pub fn apply(&self, mut b: DispatcherBuilder) -> Result<DispatcherBuilder, Failure> {
        if let Some(list) = &self.retry_schedule {
            let waits = list
                .split(',')
                .filter(|w| !w.trim().is_empty())
                .map(|w| parse_duration(w, WAIT_UNITS))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::usage(format!("--retry-schedule: {e}")))?;
            b = b.retry_schedule(&waits);
        }
        if self.breaker_failures.is_some() || self.breaker_failure_rate.is_some() {
            let open = Duration::from_millis(self.breaker_open_ms.max(1));
            let mut breaker = CircuitBreaker::new()
                .consecutive_failures(self.breaker_failures.unwrap_or(0))
                .open_for(open)
                .max_open_for(open.saturating_mul(10));
            if let Some(pct) = self.breaker_failure_rate {
                breaker = breaker.failure_rate(
                    pct,
                    self.breaker_min_attempts,
                    Duration::from_secs(self.breaker_window_secs.max(1)),
                );
            }
            b = b.circuit_breaker(breaker);
        }
        if let Some(r) = self.rate_limit {
            b = b.rate_limit(RateLimit::per_second(r));
        }
        for spec in &self.rate_limit_host {
            let (host, rate) = spec.rsplit_once('=').ok_or_else(|| {
                Failure::usage(format!(
                    "--rate-limit-host `{spec}`: expected HOST[:PORT]=PER_SEC"
                ))
            })?;
            let rate: f64 = rate.parse().map_err(|_| {
                Failure::usage(format!(
                    "--rate-limit-host `{spec}`: `{rate}` is not a number"
                ))
            })?;
            b = b.rate_limit_host(host, RateLimit::per_second(rate));
        }
        Ok(b)
    }
}
