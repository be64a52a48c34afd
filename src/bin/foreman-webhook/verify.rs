//! `verify`: check one signature of a body; exit 0 if valid, 1 if not.

use clap::Args;
use foreman_webhook::reason;
use foreman_webhook::standard::{self, Headers, StandardWebhook};

use crate::shared::{now_unix, Failure, InputArgs, SecretArgs, EXIT_NO};

#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    input: InputArgs,
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

pub fn run(a: VerifyArgs) -> Result<u8, Failure> {
    let std_secrets = a.secrets.standard()?;
    let foreman = a.secrets.foreman()?;
    if std_secrets.is_empty() && foreman.is_empty() {
        return Err(Failure::usage(
            "give --secret (or FOREMAN_WEBHOOK_SECRET) or --standard-secret",
        ));
    }
    let body = a.input.read("the body")?;
    let (scheme, verdict): (&str, Result<(), (&str, String)>) = if !std_secrets.is_empty() {
        let wh = StandardWebhook::new(&std_secrets)
            .map_err(|e| Failure::usage(e.to_string()))?
            .with_tolerance_secs(a.tolerance);
        let headers = Headers {
            id: a.id.as_deref(),
            timestamp: a.timestamp.as_deref(),
            signature: Some(&a.signature),
        };
        let now = a.now.unwrap_or_else(now_unix);
        (
            "standard-webhooks",
            wh.verify(&headers, &body, now)
                .map_err(|e| (e.code(), e.to_string())),
        )
    } else {
        (
            "x-foreman-signature",
            foreman_webhook::verify_any(&body, &a.signature, &foreman)
                .map_err(|e| (e.code(), e.to_string())),
        )
    };
    let valid = verdict.is_ok();
    if a.json {
        let (reason, message) = verdict.err().unwrap_or((reason::OK, "valid".into()));
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
