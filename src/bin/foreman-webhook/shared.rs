//! What the subcommands share: exit codes, the user-facing error, secrets, reading the
//! body (file or stdin, capped), colour, the log output, the runtime. Imports nothing
//! from the subcommand modules.

pub mod receiver;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, ValueEnum};
use foreman_webhook::{Receiver, Secret};

/// Exit code of a negative answer: signature invalid, event not delivered.
pub const EXIT_NO: u8 = 1;
/// Exit code of a usage or input error (clap uses it too).
pub const EXIT_USAGE: u8 = 2;
/// Default cap on a body read from `--file` or stdin, and on a body `listen` accepts: 16 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: u64 = 16 << 20;

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

    /// The core receiver for these keys (every configured scheme must verify).
    pub fn receiver(&self, body_limit: u64) -> Result<Receiver, String> {
        let mut b =
            Receiver::builder().body_limit(usize::try_from(body_limit).unwrap_or(usize::MAX));
        for s in self.foreman()? {
            b = b.foreman_secret(s);
        }
        for s in self.standard()? {
            b = b.standard_secret(s);
        }
        b.build().map_err(|e| {
            format!("give --secret (or FOREMAN_WEBHOOK_SECRET) and/or --standard-secret: {e}")
        })
    }
}

/// Where a body comes from: `--file` or stdin, capped.
#[derive(Args, Clone)]
pub struct InputArgs {
    /// Read the body from this file instead of stdin.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Refuse a body (file or stdin) larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_INPUT_BYTES)]
    pub max_input_bytes: u64,
}

impl InputArgs {
    /// The body, at most `--max-input-bytes`. From a terminal, says on stderr that it is
    /// waiting for stdin instead of waiting silently.
    pub fn read(&self, what: &str) -> Result<Vec<u8>, Failure> {
        let cap = self.max_input_bytes;
        let too_big = |from: &str| {
            Failure::usage(format!(
                "{from} is larger than {cap} bytes: raise --max-input-bytes if it is meant to be"
            ))
        };
        let mut body = Vec::new();
        match &self.file {
            Some(path) => {
                let f = std::fs::File::open(path)
                    .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
                f.take(cap.saturating_add(1))
                    .read_to_end(&mut body)
                    .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
                if body.len() as u64 > cap {
                    return Err(too_big(&path.display().to_string()));
                }
            }
            None => {
                let stdin = std::io::stdin();
                if stdin.is_terminal() {
                    eprintln!(
                        "reading {what} from stdin: type or paste it, then Ctrl-D (or pass --file PATH)"
                    );
                }
                stdin
                    .lock()
                    .take(cap.saturating_add(1))
                    .read_to_end(&mut body)
                    .map_err(|e| Failure::usage(format!("cannot read {what} from stdin: {e}")))?;
                if body.len() as u64 > cap {
                    return Err(too_big("stdin"));
                }
            }
        }
        Ok(body)
    }
}

/// `--color`: when to use ANSI colour.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Only on a terminal, and not when `NO_COLOR` is set.
    #[default]
    Auto,
    /// Always (overrides `NO_COLOR`).
    Always,
    /// Never.
    Never,
}

/// Which standard stream a colour decision is for.
#[derive(Clone, Copy, Debug)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl ColorChoice {
    /// Whether to colour output written to `stream`.
    pub fn enabled(self, stream: Stream) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Auto => {
                let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
                let tty = match stream {
                    Stream::Stdout => std::io::stdout().is_terminal(),
                    Stream::Stderr => std::io::stderr().is_terminal(),
                };
                tty && !no_color
            }
        }
    }
}

/// `text` in green (`good`) or red, when `color`.
pub fn paint(text: &str, good: bool, color: bool) -> String {
    match (color, good) {
        (true, true) => format!("\x1b[32m{text}\x1b[0m"),
        (true, false) => format!("\x1b[31m{text}\x1b[0m"),
        (false, _) => text.to_owned(),
    }
}

/// Prints the library's log lines (its `tracing` events) to stderr, coloured only when
/// `color` says so for stderr.
pub fn init_log(verbose: bool, color: ColorChoice) {
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
                .with_ansi(color.enabled(Stream::Stderr))
                .with_target(false)
                .without_time(),
        )
        .with(filter)
        .try_init();
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("cannot start the async runtime: {e}")))
}

/// Unix seconds now (native only: the CLI is never built for wasm).
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// An absolute `http(s)` URL with a host, for clap: anything else is a usage error.
pub fn parse_http_url(s: &str) -> Result<String, String> {
    let hint = "must be an absolute http:// or https:// URL with a host, e.g. http://127.0.0.1:3000/webhooks";
    let url = url::Url::parse(s).map_err(|e| format!("{e}: {hint}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "scheme `{}` is not supported: {hint}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("no host: {hint}"));
    }
    Ok(s.to_owned())
}

/// The sending keys and the network allowlist of `send` and `relay`: the first
/// `--secret` signs `X-Foreman-Signature`, every `--standard-secret` signs Standard
/// Webhooks, `--allow CIDR` and `--allow-private` open the SSRF guard.
pub fn keys_and_allowlist(
    mut builder: foreman_webhook::native::DispatcherBuilder,
    foreman: Vec<Secret>,
    standard: &[Secret],
    allow: &[String],
    allow_private: bool,
) -> foreman_webhook::native::DispatcherBuilder {
    if let Some(s) = foreman.into_iter().next() {
        builder = builder.secret(s);
    }
    if !standard.is_empty() {
        builder = builder.standard_webhooks(standard);
    }
    let mut cidrs: Vec<&str> = allow.iter().map(String::as_str).collect();
    if allow_private {
        cidrs.extend(foreman_webhook::PRIVATE_NETWORKS);
    }
    for cidr in cidrs {
        builder = builder.allow_cidr(cidr);
    }
    builder
}
