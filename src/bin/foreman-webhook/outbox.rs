//! `outbox status|list|attempts|redeliver|prune`: inspect and repair a durable store.

use std::io::Write;

use clap::{Args, Subcommand};
use foreman_webhook::native::outbox::{DeliveryState, Redeliver};
use foreman_webhook::native::EventId;

use crate::duration::{parse_duration, AGE_UNITS};
use crate::shared::{runtime, Failure, EXIT_NO};
use crate::store::{Store, StoreArg};

#[derive(Args)]
pub struct OutboxArgs {
    #[command(subcommand)]
    command: OutboxCommand,
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Counts by state, the oldest pending age and the next due time.
    Status {
        #[command(flatten)]
        store: StoreArg,
        /// One JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Deliveries in one state, oldest first.
    List {
        #[command(flatten)]
        store: StoreArg,
        /// dead, pending, in_flight or delivered (default: every state).
        #[arg(long)]
        state: Option<DeliveryState>,
        /// At most this many rows.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Every attempt of one event's deliveries.
    Attempts {
        #[command(flatten)]
        store: StoreArg,
        /// The event id (its webhook-id, `msg_...`).
        event_id: String,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// Put one event's deliveries, or every dead letter, back to pending (a manual attempt).
    Redeliver {
        #[command(flatten)]
        store: StoreArg,
        /// The event id (its webhook-id).
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        event_id: Option<String>,
        /// Every dead letter.
        #[arg(long)]
        all_dead: bool,
    },
    /// Delete events whose deliveries all finished longer ago than DURATION.
    Prune {
        #[command(flatten)]
        store: StoreArg,
        /// 90s, 15m, 12h, 7d...
        #[arg(long, value_parser = |s: &str| parse_duration(s, AGE_UNITS))]
        older_than: std::time::Duration,
    },
}

fn db_failure(e: foreman_webhook::native::OutboxError) -> Failure {
    Failure {
        code: EXIT_NO,
        message: e.to_string(),
    }
}

pub fn run(a: OutboxArgs) -> Result<u8, Failure> {
    let rt = runtime()?;
    rt.block_on(async move {
        let mut out = std::io::stdout().lock();
        match a.command {
            OutboxCommand::Status { store, json } => {
                let outbox = Store::parse(&store.store)?.open().await?;
                let s = outbox.status().await.map_err(db_failure)?;
                if json {
                    let _ = writeln!(
                        out,
                        "{}",
                        serde_json::json!({"pending": s.pending, "in_flight": s.in_flight,
                            "delivered": s.delivered, "dead": s.dead,
                            "oldest_pending_age_ms": s.oldest_pending_age_ms,
                            "next_due_ms": s.next_due_ms})
                    );
                } else {
                    let _ = writeln!(
                        out,
                        "pending {}  in_flight {}  delivered {}  dead {}",
                        s.pending, s.in_flight, s.delivered, s.dead
                    );
                    if let Some(age) = s.oldest_pending_age_ms {
                        let _ = writeln!(out, "oldest pending: {:.1} s old", age as f64 / 1000.0);
                    }
                    if let Some(due) = s.next_due_ms {
                        let _ = writeln!(out, "next due: {due} (ms since the Unix epoch)");
                    }
                }
            }
            OutboxCommand::List {
                store,
                state,
                limit,
                json,
            } => {
                let outbox = Store::parse(&store.store)?.open().await?;
                for r in outbox.list(state, limit).await.map_err(db_failure)? {
                    if json {
                        let _ = writeln!(
                            out,
                            "{}",
                            serde_json::json!({"event_id": r.event_id.as_str(), "url": r.url,
                                "job_id": r.job_id, "job_state": r.job_state,
                                "state": r.state.as_str(), "attempts": r.attempts,
                                "next_attempt_ms": r.next_attempt_ms, "created_ms": r.created_ms})
                        );
                    } else {
                        let _ = writeln!(
                            out,
                            "{}  {:<9}  {} attempt(s)  {} {}  {}",
                            r.event_id, r.state, r.attempts, r.job_id, r.job_state, r.url
                        );
                    }
                }
            }
            OutboxCommand::Attempts {
                store,
                event_id,
                json,
            } => {
                let outbox = Store::parse(&store.store)?.open().await?;
                let rows = outbox
                    .attempts(&EventId::new(event_id.clone()))
                    .await
                    .map_err(db_failure)?;
                if rows.is_empty() {
                    return Err(Failure {
                        code: EXIT_NO,
                        message: format!("no attempts recorded for {event_id}"),
                    });
                }
                for a in rows {
                    let head = String::from_utf8_lossy(&a.response_head);
                    let result = a
                        .status
                        .map(|s| format!("HTTP {s}"))
                        .or(a.error.clone())
                        .unwrap_or_default();
                    if json {
                        let _ = writeln!(
                            out,
                            "{}",
                            serde_json::json!({"number": a.number, "trigger": a.trigger.as_str(),
                                "url": a.url, "started_ms": a.started_ms,
                                "duration_ms": a.duration_ms, "status": a.status,
                                "error": a.error, "response_head": head})
                        );
                    } else {
                        let _ = writeln!(
                            out,
                            "#{} {:<9} {:>5} ms  {}  {}  {}",
                            a.number,
                            a.trigger.as_str(),
                            a.duration_ms,
                            result,
                            a.url,
                            head.trim()
                                .replace(['\n', '\r'], " ")
                                .chars()
                                .take(80)
                                .collect::<String>()
                        );
                    }
                }
            }
            OutboxCommand::Redeliver {
                store,
                event_id,
                all_dead,
            } => {
                let outbox = Store::parse(&store.store)?.open().await?;
                let which = match (event_id, all_dead) {
                    (_, true) => Redeliver::AllDead,
                    (Some(id), false) => Redeliver::Event(EventId::new(id)),
                    (None, false) => return Err(Failure::usage("give EVENT_ID or --all-dead")),
                };
                let n = outbox.redeliver(&which).await.map_err(db_failure)?;
                let _ = writeln!(out, "{n} deliveries back to pending (manual)");
                if n == 0 {
                    return Ok(EXIT_NO);
                }
            }
            OutboxCommand::Prune { store, older_than } => {
                let outbox = Store::parse(&store.store)?.open().await?;
                let n = outbox.prune(older_than).await.map_err(db_failure)?;
                let _ = writeln!(out, "pruned {n} events");
            }
        }
        Ok(0)
    })
}
