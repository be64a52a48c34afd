//! `demo`: a verifying receiver and a dispatcher on 127.0.0.1, two realistic job
//! lifecycles, rehearsed failures, a forged request, and a summary that must add up.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use clap::Args;
use foreman_webhook::native::{Outcome, OutcomeKind};
use foreman_webhook::{format_artifacts, Artifact, Dispatcher, Event, Secret, Signer, Timestamp};
use tokio::sync::mpsc;

use crate::shared::receiver::{self, sync_handler, Answer, Received};
use crate::shared::{now_unix, runtime, Failure, EXIT_NO};

#[derive(Args)]
pub struct DemoArgs {
    /// Wait before the first retry, in milliseconds (the real default is 1000).
    #[arg(long, default_value_t = 250)]
    base_delay_ms: u64,
    /// Print the summary as JSON (the timeline still goes to stderr).
    #[arg(long)]
    json: bool,
}

const FOREMAN_SECRET: &str = "demo-secret-change-me";
const STANDARD_SECRET: &str = "whsec_ZGVtby1zdGFuZGFyZC13ZWJob29rcy1rZXk=";

/// Per-event attempt bookkeeping on the receiver side.
#[derive(Default)]
struct Seen {
    attempts: HashMap<String, (u32, Instant)>,
    requests: u64,
    valid: u64,
    refused: u64,
    deliveries: HashMap<String, u32>,
}

struct Clock(Instant);

impl Clock {
    fn t(&self) -> String {
        format!("+{:>6.3}s", self.0.elapsed().as_secs_f64())
    }
}

pub fn run(a: DemoArgs) -> Result<u8, Failure> {
    runtime()?.block_on(demo(a))
}

fn line(json: bool, s: &str) {
    if json {
        eprintln!("{s}");
    } else {
        println!("{s}");
    }
}

async fn demo(a: DemoArgs) -> Result<u8, Failure> {
    let clock = Arc::new(Clock(Instant::now()));
    let json = a.json;
    let foreman_secret = Secret::new(FOREMAN_SECRET).map_err(|e| Failure::usage(e.to_string()))?;
    let standard_secret =
        Secret::from_standard(STANDARD_SECRET).map_err(|e| Failure::usage(e.to_string()))?;

    // The receiver: verifies both schemes; rehearses a 500 then a 429 for one event.
    let verifier = foreman_webhook::Receiver::builder()
        .foreman_secret(foreman_secret.clone())
        .standard_secret(standard_secret.clone())
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;
    let (listener, addr) = receiver::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on 127.0.0.1: {e}")))?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let rec_seen = seen.clone();
    let rec_clock = clock.clone();
    let handler = sync_handler(move |r: &Received| {
        let mut s = rec_seen.lock().unwrap_or_else(|p| p.into_inner());
        s.requests += 1;
        let key = r
            .webhook_id()
            .map_or_else(|| "no-webhook-id".into(), str::to_owned);
        let now = r.at;
        let (attempt, waited) = match s.attempts.get(&key) {
            Some(&(n, last)) => (n + 1, Some(now.duration_since(last))),
            None => (1, None),
        };
        s.attempts.insert(key.clone(), (attempt, now));
        let (job, state) = r.event.as_ref().map_or(("?".into(), "?".into()), |e| {
            (e.job_id.clone(), e.state.clone())
        });
        let answer = if !r.accepted() {
            s.refused += 1;
            Answer {
                status: 401,
                retry_after: None,
                body: None,
            }
        } else {
            s.valid += 1;
            // Rehearse failures on job-7f3a's "succeeded" event: 500, then 429 + Retry-After.
            match (job.as_str(), state.as_str(), attempt) {
                ("job-7f3a", "succeeded", 1) => Answer {
                    status: 500,
                    retry_after: None,
                    body: None,
                },
                ("job-7f3a", "succeeded", 2) => Answer {
                    status: 429,
                    retry_after: Some(1),
                    body: None,
                },
                _ => Answer {
                    status: 200,
                    retry_after: None,
                    body: None,
                },
            }
        };
        if (200..300).contains(&answer.status) {
            *s.deliveries.entry(key).or_default() += 1;
        }
        let detail = r.event.as_ref().map_or(String::new(), |e| {
            let mut d = String::new();
            if let Some(err) = &e.error {
                d.push_str(&format!("\n             error: {err:?}"));
            }
            if let Some(arts) = e
                .artifacts
                .as_ref()
                .filter(|_| (200..300).contains(&answer.status))
            {
                if let Ok(serde_json::Value::Array(list)) = serde_json::from_str(arts.get()) {
                    for a in list {
                        let name = a["name"].as_str().unwrap_or("?");
                        match (a.get("data"), a.get("url")) {
                            (Some(_), _) => d.push_str(&format!(
                                "\n             artifact {name}: inlined ({} bytes)",
                                a["size"]
                            )),
                            (_, Some(u)) => d.push_str(&format!(
                                "\n             artifact {name}: {} bytes, by reference {}",
                                a["size"],
                                u.as_str().unwrap_or("?")
                            )),
                            _ => {}
                        }
                    }
                }
            }
            d
        });
        let status = match answer.retry_after {
            Some(ra) => format!("{} (Retry-After: {ra})", answer.status),
            None => answer.status.to_string(),
        };
        line(
            json,
            &format!(
                "{}  receiver    {:<9} {:<10} attempt {}  waited {:>6}  -> {:<20} signature: foreman={} standard={}{}",
                rec_clock.t(),
                job,
                state,
                attempt,
                waited.map_or("-".into(), |w| format!("{:.2}s", w.as_secs_f64())),
                status,
                r.foreman().label(),
                r.standard().label(),
                detail,
            ),
        );
        answer
    });
    let server = tokio::spawn(receiver::serve(listener, verifier, handler));
    let url = format!("http://{addr}/webhooks/foreman");

    // The dispatcher, allowed to reach exactly 127.0.0.1.
    let (tx, mut outcomes) = mpsc::unbounded_channel::<Outcome>();
    let dispatcher = Dispatcher::builder()
        .secret(foreman_secret.clone())
        .standard_webhooks(std::slice::from_ref(&standard_secret))
        .base_delay(Duration::from_millis(a.base_delay_ms))
        .allow_cidr("127.0.0.1/32")
        .on_outcome(move |o| {
            let _ = tx.send(o.clone());
        })
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?;

    // Print each terminal outcome as it arrives.
    const N_EVENTS: usize = 6;
    let out_clock = clock.clone();
    let printer = tokio::spawn(async move {
        let mut delivered = 0usize;
        let mut other = Vec::new();
        for _ in 0..N_EVENTS {
            match tokio::time::timeout(Duration::from_secs(30), outcomes.recv()).await {
                Ok(Some(o)) => {
                    let what = match o.kind {
                        OutcomeKind::Delivered { status } => {
                            delivered += 1;
                            format!("delivered (HTTP {status})")
                        }
                        k => {
                            other.push(format!("{} {}: {k:?}", o.job_id, o.state));
                            format!("{k:?}")
                        }
                    };
                    line(
                        json,
                        &format!(
                            "{}  outcome     {:<9} {:<10} {what} after {} attempt(s)",
                            out_clock.t(),
                            o.job_id,
                            o.state,
                            o.attempts
                        ),
                    );
                }
                _ => break,
            }
        }
        (delivered, other)
    });

    line(
        json,
        "foreman-webhook demo: a dispatcher delivers signed job events to a verifying receiver",
    );
    line(
        json,
        &format!("  receiver   {url}  (verifies X-Foreman-Signature and Standard Webhooks)"),
    );
    line(
        json,
        &format!(
            "  dispatcher 1 attempt + 5 retries; backoff base shortened to {} ms for the demo (default 1 s: waits 1, 2, 4, 8, 16 s)",
            a.base_delay_ms
        ),
    );
    line(
        json,
        "  only 127.0.0.1/32 is allowlisted; every other non-global address would be refused\n",
    );

    // Two job lifecycles.
    let big_size = 48u64 << 20;
    let report_text = b"accuracy: 0.934\nf1: 0.911\n";
    let artifacts = format_artifacts(
        "job-7f3a",
        &[
            Artifact::inline("metrics.txt", "text/plain", report_text),
            Artifact::reference("model.safetensors", "application/octet-stream", big_size),
        ],
    );
    let mut fired = Vec::new();
    let mut emit = |job: &str, prev: &str, state: &str, attempt: i64, f: &dyn Fn(&mut Event)| {
        let mut e = Event::new(job, state, Timestamp::from(SystemTime::now()));
        e.previous_state = prev.into();
        e.model = "llama-3.1-8b-instruct".into();
        e.attempt = attempt;
        f(&mut e);
        // Print first: the delivery may reach the receiver before `fire` returns.
        line(
            json,
            &format!("{}  dispatcher  {job:<9} {state:<10} fired", clock.t()),
        );
        dispatcher.fire(&url, &e);
        fired.push((job.to_owned(), state.to_owned()));
    };
    emit("job-7f3a", "", "queued", 1, &|_| {});
    emit("job-91c2", "", "queued", 1, &|_| {});
    tokio::time::sleep(Duration::from_millis(120)).await;
    emit("job-7f3a", "queued", "running", 1, &|_| {});
    emit("job-91c2", "queued", "running", 1, &|_| {});
    tokio::time::sleep(Duration::from_millis(120)).await;
    emit("job-91c2", "running", "failed", 1, &|e| {
        e.error = Some("CUDA out of memory: tried to allocate 2.00 GiB".into());
    });
    emit("job-7f3a", "running", "succeeded", 1, &|e| {
        e.result = foreman_webhook::RawJson::new(r#"{"tokens":1834,"finish_reason":"stop"}"#).ok();
        e.artifacts = artifacts.clone();
    });
    let n_fired = fired.len();
    debug_assert_eq!(n_fired, N_EVENTS);

    // A forged request: right body, signature made with the wrong key.
    let forged_body =
        Event::new("job-7f3a", "succeeded", Timestamp::from(SystemTime::now())).to_json();
    let forged_sig =
        Signer::new(&Secret::new("attacker-guess").map_err(|e| Failure::usage(e.to_string()))?)
            .sign(&forged_body)
            .to_string();
    line(
        json,
        &format!(
            "{}  attacker    job-7f3a  succeeded  forged request (wrong key)",
            clock.t()
        ),
    );
    let forged_status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?
        .post(&url)
        .header("content-type", "application/json")
        .header(foreman_webhook::SIGNATURE_HEADER, forged_sig)
        .body(forged_body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);

    // A replay: a request captured ten minutes ago, validly signed under both schemes.
    // The body-only X-Foreman-Signature still matches; the Standard timestamp is too old.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let captured_at = now_unix() - 600;
    let replay_body =
        Event::new("job-91c2", "failed", Timestamp::from(SystemTime::now())).to_json();
    let replay_std = foreman_webhook::StandardWebhook::new(std::slice::from_ref(&standard_secret))
        .map_err(|e| Failure::usage(e.to_string()))?
        .sign("msg_captured", captured_at, &replay_body);
    line(
        json,
        &format!(
            "{}  attacker    job-91c2  failed     replays a request captured 10 min ago",
            clock.t()
        ),
    );
    let replay_status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| Failure::usage(e.to_string()))?
        .post(&url)
        .header("content-type", "application/json")
        .header(
            foreman_webhook::SIGNATURE_HEADER,
            Signer::new(&foreman_secret).sign(&replay_body).to_string(),
        )
        .header("webhook-id", "msg_captured")
        .header("webhook-timestamp", captured_at.to_string())
        .header("webhook-signature", replay_std)
        .body(replay_body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);

    let (delivered, other) = printer.await.unwrap_or_default();
    let report = dispatcher.shutdown(Duration::from_secs(5)).await;
    server.abort();
    let s = seen.lock().unwrap_or_else(|p| p.into_inner());
    let duplicates: u32 = s.deliveries.values().map(|n| n.saturating_sub(1)).sum();
    let st = report.stats;
    let books_balance = st.fired == st.terminal() && st.fired == n_fired as u64;
    let ok = books_balance
        && delivered == n_fired
        && st.delivered == n_fired as u64
        && st.attempts == s.valid
        && forged_status == 401
        && replay_status == 401
        && s.refused == 2
        && duplicates == 0;

    if json {
        println!(
            "{}",
            serde_json::json!({
                "ok": ok,
                "fired": st.fired,
                "delivered": st.delivered,
                "exhausted": st.exhausted,
                "rejected": st.rejected,
                "dropped_at_capacity": st.dropped_at_capacity,
                "abandoned_at_shutdown": st.abandoned_at_shutdown,
                "attempts": st.attempts,
                "failed_attempts": st.failed_attempts,
                "receiver_requests": s.requests,
                "receiver_valid": s.valid,
                "receiver_refused": s.refused,
                "forged_status": forged_status,
                "replay_status": replay_status,
                "duplicate_deliveries": duplicates,
                "delivered_job_ids": report.delivered,
                "elapsed_ms": clock.0.elapsed().as_millis() as u64,
            })
        );
    } else {
        println!("\nsummary (dispatcher counters and shutdown report)");
        println!(
            "  fired {}  delivered {}  exhausted {}  rejected {}  dropped {}  abandoned {}",
            st.fired,
            st.delivered,
            st.exhausted,
            st.rejected,
            st.dropped_at_capacity,
            st.abandoned_at_shutdown
        );
        println!(
            "  attempts {} ({} failed and retried)",
            st.attempts, st.failed_attempts
        );
        println!(
            "  receiver: {} requests, {} with valid signatures, {} refused (forged: HTTP {forged_status}, replayed: HTTP {replay_status})",
            s.requests, s.valid, s.refused
        );
        println!("  books balance: fired = delivered + exhausted + rejected + dropped + abandoned: {books_balance}");
        for o in &other {
            println!("  unexpected: {o}");
        }
        println!(
            "  {} in {:.2} s",
            if ok { "demo OK" } else { "demo FAILED" },
            clock.0.elapsed().as_secs_f64()
        );
    }
    Ok(if ok { 0 } else { EXIT_NO })
}
