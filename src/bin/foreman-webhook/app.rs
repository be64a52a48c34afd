//! Command-line definitions, `sign`, `verify` and `listen`; `send` and `demo` have modules
//! of their own.

use std::io::{IsTerminal, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use foreman_webhook::standard::{self, Headers, StandardWebhook};
use foreman_webhook::{Secret, Signer};

use crate::receiver::{self, Answer, Keys, Received};

/// Exit code of a negative answer: signature invalid, event not delivered.
pub const EXIT_NO: u8 = 1;
/// Exit code of a usage or input error (clap uses it too).
pub const EXIT_USAGE: u8 = 2;

#[derive(Parser)]
#[command(
    name = "foreman-webhook",
    version,
    about = "Signed job-state webhooks: deliver, receive, sign and verify them.",
    long_about = "Signed job-state webhooks: deliver, receive, sign and verify them.\n\n\
        Signatures: `X-Foreman-Signature: sha256=<hex>` (HMAC-SHA256 of the raw body) and, \
        optionally, Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).\n\n\
        Exit codes: 0 success, 1 a negative answer (invalid signature, not delivered), \
        2 a usage or input error.",
    after_help = "Examples:\n  \
        foreman-webhook demo\n  \
        echo -n 'Hello, World!' | foreman-webhook sign --secret \"It's a Secret to Everybody\"\n  \
        foreman-webhook listen --port 8080 --secret s3cret\n  \
        foreman-webhook send --url http://127.0.0.1:8080/hook --secret s3cret --allow-private --file event.json"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a complete delivery + verification demo on 127.0.0.1 (no set-up needed).
    #[command(after_help = "Example:\n  foreman-webhook demo\n  foreman-webhook demo --json")]
    Demo(crate::demo::DemoArgs),
    /// Deliver one event (JSON from --file or stdin) with the real retry policy.
    #[command(after_help = "Examples:\n  \
        foreman-webhook send --url https://hooks.example.com/foreman --secret \"$SECRET\" --file event.json\n  \
        cat event.json | foreman-webhook send --url http://127.0.0.1:8080/ --secret s3cret --allow-private\n\n\
        Exit codes: 0 delivered, 1 not delivered (exhausted or refused), 2 bad input.")]
    Send(crate::send::SendArgs),
    /// Run a local receiver that verifies and prints every request.
    #[command(after_help = "Examples:\n  \
        foreman-webhook listen --port 8080 --secret s3cret\n  \
        foreman-webhook listen --secret s3cret --standard-secret whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD\n  \
        foreman-webhook listen --secret s3cret --fail-rate 0.3 --status 503\n  \
        foreman-webhook listen --port 0 --secret s3cret --fail-first 2 --retry-after 1 --json")]
    Listen(ListenArgs),
    /// Print the signature header of the body on stdin.
    #[command(after_help = "Examples:\n  \
        echo -n 'Hello, World!' | foreman-webhook sign --secret \"It's a Secret to Everybody\"\n  \
        foreman-webhook sign --standard-secret whsec_... --id msg_1 --timestamp 1700000000 < body.json")]
    Sign(SignArgs),
    /// Check a signature of the body on stdin; exit 0 if valid, 1 if not (and say why).
    #[command(after_help = "Examples:\n  \
        echo -n 'Hello, World!' | foreman-webhook verify --secret \"It's a Secret to Everybody\" \\\n      \
        --signature sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n  \
        foreman-webhook verify --standard-secret whsec_... --id msg_1 --timestamp 1700000000 \\\n      \
        --signature 'v1,...' --now 1700000010 < body.json")]
    Verify(VerifyArgs),
    /// Deliver from a durable store (`--store`) until SIGINT/SIGTERM; several relays on one
    /// PostgreSQL form a fleet.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[command(after_help = "Example:\n  \
        foreman-webhook relay --store sqlite:outbox.db --secret \"$SECRET\" --allow-private")]
    Relay(crate::relay::RelayArgs),
    /// Inspect and repair a durable store: status, list, attempts, redeliver, prune.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    Outbox(crate::outbox::OutboxArgs),
}

/// Secrets shared by several subcommands.
#[derive(Args, Clone, Default)]
pub struct SecretArgs {
    /// Secret for `X-Foreman-Signature` (its UTF-8 bytes); repeat for rotation (any may match).
    #[arg(
        long = "secret",
        env = "FOREMAN_WEBHOOK_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub secrets: Vec<String>,
    /// Standard Webhooks secret (`whsec_` + base64); repeat for rotation.
    #[arg(
        long = "standard-secret",
        env = "FOREMAN_WEBHOOK_STANDARD_SECRET",
        value_name = "WHSEC",
        hide_env_values = true
    )]
    pub standard_secrets: Vec<String>,
}

impl SecretArgs {
    pub fn foreman(&self) -> Result<Vec<Secret>, String> {
        self.secrets
            .iter()
            .map(|s| Secret::new(s).map_err(|e| format!("--secret: {e}")))
            .collect()
    }

    pub fn standard(&self) -> Result<Vec<Secret>, String> {
        self.standard_secrets
            .iter()
            .map(|s| Secret::from_standard(s).map_err(|e| format!("--standard-secret: {e}")))
            .collect()
    }

    pub fn keys(&self) -> Result<Keys, String> {
        let foreman = self.foreman()?;
        let standard = self.standard()?;
        if foreman.is_empty() && standard.is_empty() {
            return Err(
                "give --secret (or FOREMAN_WEBHOOK_SECRET) and/or --standard-secret".into(),
            );
        }
        Ok(Keys {
            foreman,
            standard: if standard.is_empty() {
                None
            } else {
                StandardWebhook::new(&standard).ok()
            },
        })
    }
}

#[derive(Args)]
struct ListenArgs {
    #[command(flatten)]
    secrets: SecretArgs,
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to bind; loopback by default.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
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

#[derive(Args)]
struct SignArgs {
    #[command(flatten)]
    secrets: SecretArgs,
    /// Standard Webhooks `webhook-id` (with --standard-secret).
    #[arg(long)]
    id: Option<String>,
    /// Standard Webhooks `webhook-timestamp`, Unix seconds (default: now).
    #[arg(long)]
    timestamp: Option<i64>,
    /// Print a JSON object of header names and values.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct VerifyArgs {
    #[command(flatten)]
    secrets: SecretArgs,
    /// The signature header value: `sha256=<hex>` or, with --standard-secret, `v1,<base64> ...`.
    #[arg(long)]
    signature: String,
    /// Standard Webhooks `webhook-id`.
    #[arg(long)]
    id: Option<String>,
    /// Standard Webhooks `webhook-timestamp`.
    #[arg(long)]
    timestamp: Option<String>,
    /// The receiver's clock, Unix seconds (default: now).
    #[arg(long)]
    now: Option<i64>,
    /// Allowed clock distance in seconds, both directions.
    #[arg(long, default_value_t = standard::DEFAULT_TOLERANCE_SECS)]
    tolerance: u64,
    /// Print a JSON object with the verdict and reason.
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

/// An error for the user: one line, no backtrace, with its exit code.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_USAGE,
            message: message.into(),
        }
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::usage(message)
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(a) => sign(a),
        Command::Verify(a) => verify(a),
        Command::Listen(a) => runtime().and_then(|rt| rt.block_on(listen(a))),
        Command::Send(a) => crate::send::run(a),
        Command::Demo(a) => crate::demo::run(a),
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        Command::Relay(a) => crate::relay::run(a),
        #[cfg(any(feature = "sqlite", feature = "postgres"))]
        Command::Outbox(a) => crate::outbox::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(f) => {
            eprintln!("error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start the async runtime: {e}")))
}

pub fn read_stdin() -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    std::io::stdin()
        .read_to_end(&mut body)
        .map_err(|e| Failure::usage(format!("cannot read the body from stdin: {e}")))?;
    Ok(body)
}

fn sign(a: SignArgs) -> Result<u8, Failure> {
    let foreman = a.secrets.foreman()?;
    let std_secrets = a.secrets.standard()?;
    if foreman.is_empty() && std_secrets.is_empty() {
        return Err(Failure::usage("give --secret and/or --standard-secret"));
    }
    if foreman.len() > 1 {
        return Err(Failure::usage(
            "sign takes one --secret (a body has one X-Foreman-Signature)",
        ));
    }
    let body = read_stdin()?;
    let mut headers: Vec<(&str, String)> = Vec::new();
    if let Some(s) = foreman.first() {
        headers.push((
            foreman_webhook::SIGNATURE_HEADER,
            Signer::new(s).sign(&body).to_string(),
        ));
    }
    if !std_secrets.is_empty() {
        let id =
            a.id.ok_or_else(|| Failure::usage("--standard-secret needs --id (the webhook-id)"))?;
        let ts = a.timestamp.unwrap_or_else(receiver::now_unix);
        let wh = StandardWebhook::new(&std_secrets).map_err(|e| Failure::usage(e.to_string()))?;
        headers.push((standard::ID_HEADER, id.clone()));
        headers.push((standard::TIMESTAMP_HEADER, ts.to_string()));
        headers.push((standard::SIGNATURE_HEADER, wh.sign(&id, ts, &body)));
    }
    let mut out = std::io::stdout().lock();
    if a.json {
        let map: serde_json::Map<String, serde_json::Value> = headers
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.into()))
            .collect();
        let _ = writeln!(out, "{}", serde_json::Value::Object(map));
    } else {
        for (k, v) in headers {
            let _ = writeln!(out, "{k}: {v}");
        }
    }
    Ok(0)
}

fn verify(a: VerifyArgs) -> Result<u8, Failure> {
    let body = read_stdin()?;
    let std_secrets = a.secrets.standard()?;
    let (scheme, verdict): (&str, Result<(), (String, String)>) = if !std_secrets.is_empty() {
        let wh = StandardWebhook::new(&std_secrets)
            .map_err(|e| Failure::usage(e.to_string()))?
            .with_tolerance_secs(a.tolerance);
        let headers = Headers {
            id: a.id.as_deref(),
            timestamp: a.timestamp.as_deref(),
            signature: Some(&a.signature),
        };
        let now = a.now.unwrap_or_else(receiver::now_unix);
        (
            "standard-webhooks",
            wh.verify(&headers, &body, now)
                .map_err(|e| (e.code().to_owned(), e.to_string())),
        )
    } else {
        let secrets = a.secrets.foreman()?;
        if secrets.is_empty() {
            return Err(Failure::usage(
                "give --secret (or FOREMAN_WEBHOOK_SECRET) or --standard-secret",
            ));
        }
        (
            "x-foreman-signature",
            foreman_webhook::verify_any(&body, &a.signature, &secrets)
                .map_err(|e| (e.code().to_owned(), e.to_string())),
        )
    };
    let valid = verdict.is_ok();
    if a.json {
        let (reason, message) = verdict.err().unwrap_or(("ok".into(), "valid".into()));
        println!(
            "{}",
            serde_json::json!({"valid": valid, "scheme": scheme, "reason": reason, "message": message})
        );
    } else {
        match verdict {
            Ok(()) => println!("valid ({scheme})"),
            Err((_, message)) => println!("invalid ({scheme}): {message}"),
        }
    }
    Ok(if valid { 0 } else { EXIT_NO })
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

async fn listen(a: ListenArgs) -> Result<u8, Failure> {
    let keys = Arc::new(a.secrets.keys()?);
    let (listener, addr) = receiver::bind(SocketAddr::new(a.host, a.port))
        .await
        .map_err(|e| Failure::usage(format!("cannot listen on {}:{}: {e}", a.host, a.port)))?;
    let color = std::io::stdout().is_terminal();
    if a.json {
        println!(
            "{}",
            serde_json::json!({"listening": format!("http://{addr}/")})
        );
    } else {
        println!("listening on http://{addr}/ (Ctrl-C to stop)");
    }
    let _ = std::io::stdout().flush();
    let count = Arc::new(AtomicU64::new(0));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::channel::<()>(1);
    let rehearsal = Rehearsal {
        state: AtomicU64::new(0x5EED),
    };
    let fail_status = a.status;
    let fail_rate = if a.status.is_some() && a.fail_rate == 0.0 && a.fail_first == 0 {
        1.0
    } else {
        a.fail_rate
    };
    let fail_first = a.fail_first;
    let valid_seen = AtomicU64::new(0);
    let retry_after = a.retry_after;
    let max = a.max_requests;
    let json = a.json;
    let counter = count.clone();
    let handler = Arc::new(move |r: &Received| {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        let answer = if !r.accepted() {
            Answer {
                status: 401,
                retry_after: None,
            }
        } else if valid_seen.fetch_add(1, Ordering::SeqCst) < fail_first
            || (fail_rate > 0.0 && rehearsal.next_unit() < fail_rate)
        {
            Answer {
                status: fail_status.unwrap_or(500),
                retry_after,
            }
        } else {
            Answer {
                status: 200,
                retry_after: None,
            }
        };
        print_request(r, answer, json, color);
        if max.is_some_and(|m| n >= m) {
            let _ = done_tx.try_send(());
        }
        answer
    });
    let server = tokio::spawn(receiver::serve(listener, keys, handler));
    tokio::select! {
        _ = done_rx.recv() => {
            // Let the last response flush before exiting.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        _ = tokio::signal::ctrl_c() => {}
    }
    server.abort();
    Ok(0)
}

fn print_request(r: &Received, answer: Answer, json: bool, color: bool) {
    let body_json: Option<serde_json::Value> = serde_json::from_slice(&r.body).ok();
    let mut out = std::io::stdout().lock();
    if json {
        let line = serde_json::json!({
            "status": answer.status,
            "accepted": r.accepted(),
            "x_foreman_signature": r.foreman.label(),
            "standard_webhooks": r.standard.label(),
            "webhook_id": r.webhook_id,
            "body": body_json,
            "body_bytes": r.body.len(),
        });
        let _ = writeln!(out, "{line}");
    } else {
        let verdict = if r.accepted() { "VALID" } else { "INVALID" };
        let verdict = match (color, r.accepted()) {
            (true, true) => format!("\x1b[32m{verdict}\x1b[0m"),
            (true, false) => format!("\x1b[31m{verdict}\x1b[0m"),
            _ => verdict.to_owned(),
        };
        let _ = writeln!(
            out,
            "--- {verdict}  x-foreman-signature: {}  standard-webhooks: {}  -> {}",
            r.foreman.label(),
            r.standard.label(),
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
