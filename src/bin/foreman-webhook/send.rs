//! `send`: deliver one event with the real retry policy.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;
use foreman_webhook::native::{Outcome, OutcomeKind};
use foreman_webhook::{Dispatcher, Event};

use crate::app::{read_stdin, Failure, SecretArgs, EXIT_NO};

/// Ranges `--allow-private` opens: loopback and private networks. Link-local (cloud
/// metadata at 169.254.169.254) stays closed; name it with `--allow` if you must.
pub const PRIVATE_RANGES: [&str; 7] = [
    "127.0.0.0/8",
    "::1/128",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",
    "fc00::/7",
];

#[derive(Args)]
pub struct SendArgs {
    /// Destination URL (http or https).
    #[arg(long)]
    url: String,
    #[command(flatten)]
    secrets: SecretArgs,
    /// Read the event JSON from this file instead of stdin.
    #[arg(long)]
    file: Option<PathBuf>,
    /// Allow loopback and private destinations (127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
    #[arg(long)]
    allow_private: bool,
    /// Allow one more CIDR range or address (repeatable), e.g. `--allow 127.0.0.1/32`.
    #[arg(long = "allow", value_name = "CIDR")]
    allow: Vec<String>,
    /// Retries after the first attempt.
    #[arg(long, default_value_t = 5)]
    max_retries: u32,
    /// Wait before the first retry, in milliseconds (then doubling).
    #[arg(long, default_value_t = 1000)]
    base_delay_ms: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// Print the outcome as one JSON object.
    #[arg(long)]
    json: bool,
    /// Store the event in this durable outbox and exit once committed; a `relay` delivers
    /// it (and signs it with its own secrets): `sqlite:PATH` or a `postgres://` URL.
    #[arg(long, value_name = "STORE")]
    store: Option<String>,
    /// With --store: one event per input line (JSON Lines).
    #[arg(long, requires = "store")]
    jsonl: bool,
}

/// Prints the dispatcher's per-attempt log lines (its `tracing` events) to stderr.
pub fn attempt_log(verbose: bool) {
    let level = if verbose { "debug" } else { "warn" };
    let filter = tracing_subscriber::filter::Targets::new().with_target(
        "foreman_webhook",
        level.parse().unwrap_or(tracing::Level::WARN),
    );
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .without_time(),
        )
        .with(filter)
        .try_init();
}

pub fn run(a: SendArgs) -> Result<u8, Failure> {
    let body = match &a.file {
        Some(path) => std::fs::read(path)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?,
        None => read_stdin()?,
    };
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    if let Some(store) = &a.store {
        return crate::store::send(store, &a.url, &body, a.jsonl, a.json);
    }
    if a.store.is_some() || a.jsonl {
        return Err(Failure::usage(
            "--store needs a build with the `sqlite` or `postgres` feature",
        ));
    }
    let event = Event::from_json(&body)
        .map_err(|e| Failure::usage(format!("the event is not valid JSON for an Event: {e}")))?;
    let foreman = a.secrets.foreman()?;
    let standard = a.secrets.standard()?;
    if foreman.len() > 1 {
        return Err(Failure::usage(
            "send signs with one --secret (X-Foreman-Signature carries one MAC)",
        ));
    }
    if foreman.is_empty() && standard.is_empty() {
        return Err(Failure::usage("give --secret (or FOREMAN_WEBHOOK_SECRET) and/or --standard-secret: unsigned webhooks cannot be verified"));
    }
    attempt_log(!a.json);
    let (tx, rx) = mpsc::channel::<Outcome>();
    let mut builder = Dispatcher::builder()
        .max_retries(a.max_retries)
        .base_delay(Duration::from_millis(a.base_delay_ms))
        .timeout(Duration::from_secs(a.timeout.max(1)))
        .on_outcome(move |o| {
            let _ = tx.send(o.clone());
        });
    if let Some(s) = foreman.into_iter().next() {
        builder = builder.secret(s);
    }
    if !standard.is_empty() {
        builder = builder.standard_webhooks(&standard);
    }
    let mut allow: Vec<&str> = a.allow.iter().map(String::as_str).collect();
    if a.allow_private {
        allow.extend(PRIVATE_RANGES);
    }
    for cidr in allow {
        builder = builder.allow_cidr(cidr);
    }
    let dispatcher = builder.build().map_err(|e| Failure::usage(e.to_string()))?;
    let started = Instant::now();
    dispatcher.fire(&a.url, &event);
    // The whole policy's worst case, plus slack; the dispatcher reports before that.
    let outcome = loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(o) => break Some(o),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if !a.json {
                    eprintln!(
                        "... waiting ({:.0} s elapsed, {} attempt(s) so far)",
                        started.elapsed().as_secs_f64(),
                        dispatcher.stats().attempts
                    );
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break None,
        }
    };
    let report = dispatcher.shutdown_blocking(Duration::from_secs(1));
    let Some(o) = outcome else {
        return Err(Failure {
            code: EXIT_NO,
            message: format!("no outcome reported (stats: {:?})", report.stats),
        });
    };
    let (delivered, what) = match o.kind {
        OutcomeKind::Delivered { status } => (true, format!("delivered: HTTP {status}")),
        OutcomeKind::Exhausted => (false, "not delivered: every attempt failed".to_owned()),
        OutcomeKind::Rejected(reason) => {
            let hint = if a.allow_private || !a.allow.is_empty() {
                ""
            } else {
                " (pass --allow-private, or --allow CIDR, to send to loopback or private addresses)"
            };
            (false, format!("refused: {reason}{hint}"))
        }
        other => (false, format!("not delivered: {other:?}")),
    };
    if a.json {
        println!(
            "{}",
            serde_json::json!({
                "delivered": delivered,
                "outcome": what,
                "attempts": o.attempts,
                "job_id": o.job_id,
                "state": o.state,
                "elapsed_ms": started.elapsed().as_millis() as u64,
            })
        );
    } else {
        println!(
            "{what} after {} attempt(s) in {:.2} s",
            o.attempts,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(if delivered { 0 } else { EXIT_NO })
}
