//! `send`: deliver one event with the real retry policy.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;
use foreman_webhook::native::{
    Outcome, OutcomeKind, RejectReason, DEFAULT_BASE_DELAY, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT,
};
use foreman_webhook::{Dispatcher, Event};

use crate::shared::{
    init_log, keys_and_allowlist, parse_http_url, ColorChoice, Failure, InputArgs, SecretArgs,
    EXIT_NO,
};

#[derive(Args)]
pub struct SendArgs {
    /// Destination URL (http or https).
    #[arg(long, value_parser = parse_http_url)]
    url: String,
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    input: InputArgs,
    /// Send a JSON body that is not an event (no `job_id` or `state`) anyway: its missing
    /// fields go out as their zero values, as a Go receiver would decode them.
    #[arg(long)]
    raw: bool,
    /// Allow loopback and private destinations (127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
    #[arg(long)]
    allow_private: bool,
    /// Allow one more CIDR range or address (repeatable), e.g. `--allow 127.0.0.1/32`.
    #[arg(long = "allow", value_name = "CIDR")]
    allow: Vec<String>,
    /// Retries after the first attempt.
    #[arg(long, default_value_t = DEFAULT_MAX_RETRIES)]
    max_retries: u32,
    /// Wait before the first retry, in milliseconds (then doubling).
    #[arg(long, default_value_t = DEFAULT_BASE_DELAY.as_millis() as u64)]
    base_delay_ms: u64,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT.as_secs())]
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
    /// With --store: deliver these events in order per job (a job's next event to this
    /// URL waits until the previous one is delivered or dead), whichever relay sends them.
    #[arg(long, requires = "store")]
    ordered: bool,
}

/// The JSON members an event must have (`job_id`, `state`), unless `--raw`.
fn missing_event_fields(v: &serde_json::Value) -> Vec<&'static str> {
    ["job_id", "state"]
        .into_iter()
        .filter(|k| !v.get(k).is_some_and(serde_json::Value::is_string))
        .collect()
}

pub fn run(a: SendArgs, color: ColorChoice) -> Result<u8, Failure> {
    let body = a.input.read("the event JSON")?;
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    if let Some(store) = &a.store {
        return crate::store::send(store, &a.url, &body, a.jsonl, a.ordered, a.json);
    }
    if a.store.is_some() || a.jsonl || a.ordered {
        return Err(Failure::usage(
            "--store needs a build with the `sqlite` or `postgres` feature",
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&body)
        .map_err(|e| Failure::usage(format!("the event is not valid JSON: {e}")))?;
    let missing = missing_event_fields(&json);
    if !a.raw && !missing.is_empty() {
        return Err(Failure::usage(format!(
            "the body is not an event: no string `{}` (pass --raw to send it anyway)",
            missing.join("` or `")
        )));
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
    init_log(!a.json, color);
    let (tx, rx) = mpsc::channel::<Outcome>();
    let mut builder = Dispatcher::builder()
        .max_retries(a.max_retries)
        .base_delay(Duration::from_millis(a.base_delay_ms))
        .timeout(Duration::from_secs(a.timeout.max(1)))
        .on_outcome(move |o| {
            let _ = tx.send(o.clone());
        });
    builder = keys_and_allowlist(builder, foreman, &standard, &a.allow, a.allow_private);
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
            let hint = if a.allow_private
                || !a.allow.is_empty()
                || reason != RejectReason::ForbiddenAddress
            {
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
