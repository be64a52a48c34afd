//! `foreman-webhook`: demo, send, listen, sign and verify signed job-state webhooks.
//!
//! This file holds the command line (clap) and the dispatch; each subcommand has its own
//! file, and what they share is in `shared.rs` (which imports none of them). Every
//! decision is the library's.

#[cfg(not(target_arch = "wasm32"))]
mod demo;
#[cfg(all(
    not(target_arch = "wasm32"),
    any(feature = "sqlite", feature = "postgres")
))]
mod duration;
#[cfg(not(target_arch = "wasm32"))]
mod listen;
#[cfg(all(
    not(target_arch = "wasm32"),
    feature = "prometheus",
    any(feature = "sqlite", feature = "postgres")
))]
mod metrics;
#[cfg(all(
    not(target_arch = "wasm32"),
    feature = "otlp",
    any(feature = "sqlite", feature = "postgres")
))]
mod otlp;
#[cfg(all(
    not(target_arch = "wasm32"),
    any(feature = "sqlite", feature = "postgres")
))]
mod outbox;
#[cfg(all(
    not(target_arch = "wasm32"),
    any(feature = "sqlite", feature = "postgres")
))]
mod policy;
#[cfg(all(
    not(target_arch = "wasm32"),
    any(feature = "sqlite", feature = "postgres")
))]
mod relay;
#[cfg(not(target_arch = "wasm32"))]
mod send;
#[cfg(not(target_arch = "wasm32"))]
mod shared;
#[cfg(not(target_arch = "wasm32"))]
mod sign;
#[cfg(all(
    not(target_arch = "wasm32"),
    any(feature = "sqlite", feature = "postgres")
))]
mod store;
#[cfg(not(target_arch = "wasm32"))]
mod verify;

#[cfg(not(target_arch = "wasm32"))]
mod cli {
    use std::process::ExitCode;

    use clap::{Parser, Subcommand};

    use crate::shared::ColorChoice;

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
            foreman-webhook listen --port 8080 --secret s3cret --forward-to http://127.0.0.1:3000/webhooks\n  \
            foreman-webhook send --url http://127.0.0.1:8080/hook --secret s3cret --allow-private --file event.json"
    )]
    struct Cli {
        /// When to colour the output: `auto` (only on a terminal, and not when NO_COLOR
        /// is set), `always` or `never`.
        #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
        color: ColorChoice,
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
        /// Run a local receiver that verifies and prints every request, optionally
        /// forwarding the verified ones to your own handler.
        #[command(after_help = "Examples:\n  \
            foreman-webhook listen --port 8080 --secret s3cret\n  \
            foreman-webhook listen --secret s3cret --forward-to http://127.0.0.1:3000/webhooks\n  \
            foreman-webhook listen --secret s3cret --standard-secret whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD\n  \
            foreman-webhook listen --secret s3cret --fail-rate 0.3 --status 503\n  \
            foreman-webhook listen --port 0 --secret s3cret --fail-first 2 --retry-after 1 --json")]
        Listen(crate::listen::ListenArgs),
        /// Print the signature header of the body on stdin (or --file).
        #[command(after_help = "Examples:\n  \
            echo -n 'Hello, World!' | foreman-webhook sign --secret \"It's a Secret to Everybody\"\n  \
            foreman-webhook sign --standard-secret whsec_... --id msg_1 --timestamp 1700000000 < body.json")]
        Sign(crate::sign::SignArgs),
        /// Check a signature of the body on stdin (or --file); exit 0 if valid, 1 if not (and say why).
        #[command(after_help = "Examples:\n  \
            echo -n 'Hello, World!' | foreman-webhook verify --secret \"It's a Secret to Everybody\" \\\n      \
            --signature sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17\n  \
            foreman-webhook verify --standard-secret whsec_... --id msg_1 --timestamp 1700000000 \\\n      \
            --signature 'v1,...' --now 1700000010 < body.json")]
        Verify(crate::verify::VerifyArgs),
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

    pub fn main() -> ExitCode {
        let cli = Cli::parse();
        let color = cli.color;
        let result = match cli.command {
            Command::Sign(a) => crate::sign::run(a),
            Command::Verify(a) => crate::verify::run(a),
            Command::Listen(a) => crate::listen::run(a, color),
            Command::Send(a) => crate::send::run(a, color),
            Command::Demo(a) => crate::demo::run(a),
            #[cfg(any(feature = "sqlite", feature = "postgres"))]
            Command::Relay(a) => crate::relay::run(a, color),
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
}

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

#[cfg(target_arch = "wasm32")]
fn main() {}
