//! `sign`: print the signature headers of a body.

use std::io::Write;

use clap::Args;
use foreman_webhook::standard::{self, StandardWebhook};
use foreman_webhook::Signer;

use crate::shared::{now_unix, Failure, InputArgs, SecretArgs};

#[derive(Args)]
pub struct SignArgs {
    #[command(flatten)]
    secrets: SecretArgs,
    #[command(flatten)]
    input: InputArgs,
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

pub fn run(a: SignArgs) -> Result<u8, Failure> {
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
    let body = a.input.read("the body")?;
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
        let ts = a.timestamp.unwrap_or_else(now_unix);
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
