//! `relay`: deliver from a durable store until SIGINT/SIGTERM (then finish what is in
//! flight within `--drain-secs` and leave the rest pending for the next relay).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use foreman_webhook::native::{Dispatcher, OutcomeKind};

use crate::shared::{init_log, keys_and_allowlist, runtime, ColorChoice, Failure, SecretArgs};
use crate::store::{Store, StoreArg};

#[derive(Args)]
pub struct RelayArgs {
    #[command(flatten)]
    store: StoreArg,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    policy: crate::policy::PolicyArgs,
    /// Allow loopback and private destinations (127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
    #[arg(long)]
    allow_private: bool,
    /// Allow one more CIDR range or address (repeatable).
    #[arg(long = "allow", value_name = "CIDR")]
    allow: Vec<String>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Retries after the first attempt.
    #[arg(long, default_value_t = 5)]
    max_retries: u32,
    /// Wait before the first retry, in milliseconds (then doubling).
    #[arg(long, default_value_t = 1000)]
    base_delay_ms: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// How long a claim lasts, in milliseconds (default: six request timeouts).
    #[arg(long)]
    lease_ms: Option<u64>,
    /// Longest wait between looks for new work, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    poll_ms: u64,
    /// On SIGINT/SIGTERM, how long in-flight requests may still run, in seconds.
    #[arg(long, default_value_t = 10)]
    drain_secs: u64,
    /// One JSON line per finished delivery on stdout.
    #[arg(long)]
    json: bool,
    /// Print nothing per delivery (only the summary at exit).
    #[arg(long)]
    quiet: bool,
    /// Serve the delivery metrics in Prometheus text format at http://ADDR/metrics
    /// (for example 127.0.0.1:9464); with --otlp-endpoint too, both get the same metrics.
    #[cfg(feature = "prometheus")]
    #[arg(long, value_name = "ADDR")]
    metrics_addr: Option<std::net::SocketAddr>,
    /// Export spans and metrics over OTLP/HTTP (protobuf) to URL/v1/traces and
    /// URL/v1/metrics (for example http://127.0.0.1:4318).
    #[cfg(feature = "otlp")]
    #[arg(long, value_name = "URL")]
    otlp_endpoint: Option<String>,
    /// How often metrics are exported over OTLP, in milliseconds.
    #[cfg(feature = "otlp")]
    #[arg(long, default_value_t = 10_000)]
    otlp_interval_ms: u64,
}

pub fn run(a: RelayArgs, color: ColorChoice) -> Result<u8, Failure> {
    let store = Store::parse(&a.store.store)?;
    let foreman = a.secrets.foreman()?;
    let standard = a.secrets.standard()?;
    if foreman.is_empty() && standard.is_empty() {
        return Err(Failure::usage(
            "give --secret (or FOREMAN_WEBHOOK_SECRET) and/or --standard-secret",
        ));
    }
    init_log(false, color);
    #[cfg(feature = "prometheus")]
    #[allow(unused_mut)]
    let mut prometheus = match a.metrics_addr {
        Some(addr) => Some(crate::metrics::Prometheus::bind(addr)?),
        None => None,
    };
    #[cfg(feature = "otlp")]
    let otlp = match &a.otlp_endpoint {
        // With --metrics-addr too, its reader joins the OTLP meter provider.
        Some(url) => Some(crate::otlp::Otlp::start(
            url,
            Duration::from_millis(a.otlp_interval_ms.max(10)),
            |b| {
                #[cfg(feature = "prometheus")]
                if let Some(reader) = prometheus.as_mut().and_then(|p| p.take_reader()) {
                    return b.with_reader(reader);
                }
                b
            },
        )?),
        None => None,
    };
    #[cfg(feature = "otlp")]
    let otlp_otel = otlp.as_ref().map(|o| o.otel.clone());
    let rt = runtime()?;
    let result = rt.block_on(async move {
        // Listen for SIGINT/SIGTERM before opening the store, so a stop that arrives while
        // the relay starts is graceful too (not the default action, which kills it).
        let mut stop = StopSignals::listen();
        let delivered = Arc::new(AtomicU64::new(0));
        let dead = Arc::new(AtomicU64::new(0));
        let (d2, x2) = (delivered.clone(), dead.clone());
        let (json, quiet) = (a.json, a.quiet);
        let timeout = Duration::from_secs(a.timeout.max(1));
        let mut builder = Dispatcher::builder()
            .max_retries(a.max_retries)
            .base_delay(Duration::from_millis(a.base_delay_ms))
            .timeout(timeout)
            .max_concurrency(a.concurrency)
            .max_per_host(a.concurrency)
            .lease(a.lease_ms.map_or(timeout * 6, Duration::from_millis))
            .poll_interval(Duration::from_millis(a.poll_ms.max(1)))
            .on_outcome(move |o| {
                let ok = matches!(o.kind, OutcomeKind::Delivered { .. });
                if ok { &d2 } else { &x2 }.fetch_add(1, Ordering::Relaxed);
                if quiet {
                    return;
                }
                let id = o.webhook_id.as_deref().unwrap_or("-");
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"webhook_id": id, "job_id": o.job_id,
                            "state": o.state, "delivered": ok, "attempts": o.attempts,
                            "outcome": format!("{:?}", o.kind), "url": o.url,
                            "last_status": o.last_status,
                            "last_error": o.last_error.map(|e| e.as_str()),
                            "durations_ms": o.timings.iter()
                                .map(|t| t.duration.as_secs_f64() * 1e3)
                                .collect::<Vec<_>>()})
                    );
                } else {
                    println!(
                        "{id} {} {:?} after {} attempt(s)",
                        o.job_id, o.kind, o.attempts
                    );
                }
            });
        #[cfg(feature = "prometheus")]
        let _metrics = match prometheus {
            Some(p) => {
                let (otel, metrics) = p.serve()?;
                if let Some(otel) = otel {
                    builder = builder.otel(otel);
                }
                Some(metrics)
            }
            None => None,
        };
        #[cfg(feature = "otlp")]
        if let Some(otel) = otlp_otel {
            builder = builder.otel(otel);
        }
        builder = store.configure(builder);
        builder = a.policy.apply(builder)?;
        builder = keys_and_allowlist(builder, foreman, &standard, &a.allow, a.allow_private);
        let dispatcher = builder.build().map_err(|e| Failure {
            code: crate::shared::EXIT_NO,
            message: format!(
                "{e}: {}",
                std::error::Error::source(&e)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        })?;
        eprintln!(
            "relay: delivering from {} (SIGINT/SIGTERM to stop)",
            a.store.store
        );
        stop.wait().await;
        eprintln!("relay: stopping; in-flight requests get {} s", a.drain_secs);
        let report = dispatcher.shutdown(Duration::from_secs(a.drain_secs)).await;
        eprintln!(
            "relay: delivered {}, dead {}, attempts {}{}",
            delivered.load(Ordering::Relaxed),
            dead.load(Ordering::Relaxed),
            report.stats.attempts,
            if report.deadline_reached {
                " (drain deadline reached; the rest stays pending)"
            } else {
                ""
            }
        );
        Ok(0)
    });
    drop(rt);
    #[cfg(feature = "otlp")]
    if let Some(otlp) = otlp {
        otlp.shutdown();
    }
    result
}

/// SIGINT and SIGTERM, registered when created (`tokio::signal::ctrl_c` registers only
/// when first polled).
struct StopSignals {
    #[cfg(unix)]
    unix: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignals {
    fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let unix = signal(SignalKind::terminate())
                .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
                .ok();
            Self { unix }
        }
        #[cfg(not(unix))]
        Self {}
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        if let Some((term, int)) = &mut self.unix {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
