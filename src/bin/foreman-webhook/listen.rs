//! `listen`: a local receiver that verifies and prints every request; with
//! `--forward-to`, each verified request is forwarded to the developer's own handler
//! (headers and body as received) and the handler's answer goes back to the sender.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use hyper::body::Bytes;
use hyper::header;

use crate::shared::receiver::{self, Answer, Received, Reply};
use crate::shared::{
    paint, parse_http_url, ColorChoice, Failure, SecretArgs, Stream, DEFAULT_MAX_INPUT_BYTES,
};

#[derive(Args)]
pub struct ListenArgs {
    #[command(flatten)]
    secrets: SecretArgs,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to bind; loopback by default.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Forward each verified request (method, headers, body) to this URL, your own
    /// handler, and answer the sender with its status and body.
    #[arg(long, value_name = "URL", value_parser = parse_http_url)]
    forward_to: Option<String>,
    /// Largest request body accepted, in bytes (larger ones get 413).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_INPUT_BYTES)]
    max_body_bytes: u64,
    /// Fraction of valid requests (0.0 to 1.0) answered with --status instead of 200, to rehearse retries.
    #[arg(long, default_value_t = 0.0, value_parser = parse_rate)]
    fail_rate: f64,
    /// Status of rehearsed failures (with --fail-rate; alone, every valid request gets it).
    #[arg(long, value_parser = clap::value_parser!(u16).range(100..=599))]
    status: Option<u16>,
    /// Answer the first N valid requests with --status (default 500), then succeed.
    #[arg(long, default_value_t = 0)]
    fail_first: u64,
    /// `Retry-After` seconds sent with rehearsed failures.
    #[arg(long)]
    retry_after: Option<u64>,
    /// Exit after this many requests (for scripts and tests).
    #[arg(long)]
    max_requests: Option<u64>,
    /// One JSON object per request on stdout instead of the human format.
    #[arg(long)]
    json: bool,
}

fn parse_rate(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err("must be between 0.0 and 1.0".into())
    }
}

/// A tiny deterministic generator for `--fail-rate` (no crypto use).
struct Rehearsal {
    state: AtomicU64,
}

impl Rehearsal {
    fn next_unit(&self) -> f64 {
        // SplitMix64 step.
        let mut z = self
            .state
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// What the handler's side of a forward produced.
enum Forwarded {
    No,
    Status(u16),
    Failed(String),
}

/// The fixed part of the listener's decisions.
struct Plan {
    fail_status: Option<u16>,
    fail_rate: f64,
    fail_first: u64,
    retry_after: Option<u64>,
    rehearsal: Rehearsal,
    valid_seen: AtomicU64,
    forward: Option<(reqwest::Client, String)>,
}

impl Plan {
    /// A rehearsed failure for this valid request, if one is due.
    fn rehearse(&self) -> Option<Answer> {
        let due = self.valid_seen.fetch_add(1, Ordering::SeqCst) < self.fail_first
            || (self.fail_rate > 0.0 && self.rehearsal.next_unit() < self.fail_rate);
        due.then(|| Answer {
            status: self.fail_status.unwrap_or(500),
            retry_after: self.retry_after,
            body: None,
        })
    }

    /// Sends the verified request on to the developer's handler.
    async fn forward(&self, r: &Received) -> (Answer, Forwarded) {
        let Some((client, url)) = &self.forward else {
            return (Answer::status(200), Forwarded::No);
        };
        let mut headers = r.headers.clone();
        for h in [
            header::HOST,
            header::CONTENT_LENGTH,
            header::CONNECTION,
            header::TRANSFER_ENCODING,
        ] {
            headers.remove(h);
        }
        let sent = client
            .request(r.method.clone(), url.as_str())
            .headers(headers)
            .body(r.body.clone())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let body = resp.bytes().await.unwrap_or_default();
                let answer = Answer {
                    status,
                    retry_after: None,
                    body: Some(body),
                };
                (answer, Forwarded::Status(status))
            }
            Err(e) => {
                let why = if e.is_connect() {
                    "cannot connect".to_owned()
                } else if e.is_timeout() {
                    "timed out".to_owned()
                } else {
                    e.to_string()
                };
                let answer = Answer {
                    status: 502,
                    retry_after: None,
                    body: Some(Bytes::from(format!(
                        "forward to your handler failed: {why}\n"
                    ))),
                };
                (answer, Forwarded::Failed(why))
            }
        }
    }
}

pub fn run(a: ListenArgs, color: ColorChoice) -> Result<u8, Failure> {
    crate::shared::runtime()?.block_on(listen(a, color))
}

async fn listen(a: ListenArgs, color: ColorChoice) -> Result<u8, Failure> {
    let receiver = a.secrets.receiver(a.max_body_bytes)?;
    let (listener, addr) = receiver::bind(SocketAddr::new(a.host, a.port))
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on {}:{}: {e}", a.host, a.port)))?;
    let color = color.enabled(Stream::Stdout);
    if a.json {
        println!(
            "{}",
            serde_json::json!({"listening": format!("http://{addr}/"), "forward_to": a.forward_to})
        );
    } else {
        match &a.forward_to {
            Some(to) => println!("listening on http://{addr}/, forwarding verified requests to {to} (Ctrl-C to stop)"),
            None => println!("listening on http://{addr}/ (Ctrl-C to stop)"),
        }
    }
    let _ = std::io::stdout().flush();
    let forward = match &a.forward_to {
        None => None,
        Some(url) => Some((
            reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .map_err(|e| Failure::usage(format!("cannot build the forwarding client: {e}")))?,
            url.clone(),
        )),
    };
    let plan = Arc::new(Plan {
        fail_status: a.status,
        fail_rate: if a.status.is_some() && a.fail_rate == 0.0 && a.fail_first == 0 {
            1.0
        } else {
            a.fail_rate
        },
        fail_first: a.fail_first,
        retry_after: a.retry_after,
        rehearsal: Rehearsal {
            state: AtomicU64::new(0x5EED),
        },
        valid_seen: AtomicU64::new(0),
        forward,
    });
    let count = Arc::new(AtomicU64::new(0));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let max = a.max_requests;
    let json = a.json;
    let handler = Arc::new(move |r: Received| {
        let plan = plan.clone();
        let count = count.clone();
        let done_tx = done_tx.clone();
        Box::pin(async move {
            let (answer, forwarded) = if !r.accepted() {
                (Answer::status(401), Forwarded::No)
            } else if let Some(rehearsed) = plan.rehearse() {
                (rehearsed, Forwarded::No)
            } else {
                plan.forward(&r).await
            };
            print_request(&r, &answer, &forwarded, json, color);
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            if max.is_some_and(|m| n >= m) {
                let _ = done_tx.try_send(());
            }
            answer
        }) as Reply
    });
    let server = tokio::spawn(receiver::serve(listener, receiver, handler));
    tokio::select! {
        _ = done_rx.recv() => {
            // Let the last response flush before exiting.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    server.abort();
    Ok(0)
}

fn print_request(r: &Received, answer: &Answer, fwd: &Forwarded, json: bool, color: bool) {
    let body_json: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
    let mut out = std::io::stdout().lock();
    if json {
        let (handler_status, handler_error) = match fwd {
            Forwarded::No => (None, None),
            Forwarded::Status(s) => (Some(*s), None),
            Forwarded::Failed(e) => (None, Some(e.as_str())),
        };
        let line = serde_json::json!({
            "method": r.method.as_str(),
            "path": r.path,
            "status": answer.status,
            "accepted": r.accepted(),
            "reason": r.refusal().unwrap_or(foreman_webhook::reason::OK),
            "x_foreman_signature": r.foreman().label(),
            "standard_webhooks": r.standard().label(),
            "webhook_id": r.webhook_id(),
            "handler_status": handler_status,
            "handler_error": handler_error,
            "body": body_json,
            "body_bytes": r.body.len(),
        });
        let _ = writeln!(out, "{line}");
    } else {
        let verdict = if r.accepted() { "VALID" } else { "INVALID" };
        let handler = match fwd {
            Forwarded::No => String::new(),
            Forwarded::Status(s) => format!(
                "  handler: {}",
                paint(&s.to_string(), (200..300).contains(s), color)
            ),
            Forwarded::Failed(e) => format!("  handler: {}", paint(e, false, color)),
        };
        let _ = writeln!(
            out,
            "--- {}  {} {}  x-foreman-signature: {}  standard-webhooks: {}  -> {}{handler}",
            paint(verdict, r.accepted(), color),
            r.method,
            r.path,
            r.foreman().label(),
            r.standard().label(),
            answer.status
        );
        match body_json {
            Some(v) => {
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                );
            }
            None => {
                let _ = writeln!(out, "{} bytes (not JSON)", r.body.len());
            }
        }
    }
    let _ = out.flush();
}
