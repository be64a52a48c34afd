//! `--store STORE`: `sqlite:PATH` (or a `postgres://` URL, once that store is built in),
//! turned into a dispatcher builder or an admin handle. Shared by `send --store`,
//! `relay` and `outbox`.

use clap::Args;
#[cfg(feature = "postgres")]
use foreman_webhook::native::outbox::PostgresOptions;
#[cfg(feature = "sqlite")]
use foreman_webhook::native::outbox::SqliteOptions;
use foreman_webhook::native::{DispatcherBuilder, Outbox};

use crate::shared::Failure;

/// The `--store` argument.
#[derive(Args, Clone)]
pub struct StoreArg {
    /// The outbox: `sqlite:PATH` (a file, created if missing) or a `postgres://` URL.
    #[arg(long, env = "FOREMAN_WEBHOOK_STORE", value_name = "STORE")]
    pub store: String,
}

/// A parsed `--store`.
pub enum Store {
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteOptions),
    #[cfg(feature = "postgres")]
    Postgres(Box<PostgresOptions>),
}

impl Store {
    pub fn parse(spec: &str) -> Result<Self, Failure> {
        if let Some(path) = spec.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(Failure::usage("--store sqlite:PATH needs a file path"));
            }
            #[cfg(feature = "sqlite")]
            return Ok(Self::Sqlite(SqliteOptions::new(path)));
            #[cfg(not(feature = "sqlite"))]
            return Err(Failure::usage(
                "--store sqlite:PATH: the SQLite store is not in this build",
            ));
        }
        if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            return PostgresOptions::new(spec)
                .map(|o| Self::Postgres(Box::new(o)))
                .map_err(|e| Failure::usage(e.to_string()));
            #[cfg(not(feature = "postgres"))]
            return Err(Failure::usage(
                "--store postgres://...: the PostgreSQL store is not in this build (use sqlite:PATH)",
            ));
        }
        Err(Failure::usage(format!(
            "--store must be `sqlite:PATH` or a `postgres://` URL, not `{spec}`"
        )))
    }

    /// Points `builder` at this store.
    pub fn configure(&self, builder: DispatcherBuilder) -> DispatcherBuilder {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(o) => builder.outbox_sqlite_with(o.clone()),
            #[cfg(feature = "postgres")]
            Self::Postgres(o) => builder.outbox_postgres_with((**o).clone()),
        }
    }

    /// An admin handle (no delivery).
    pub async fn open(&self) -> Result<Outbox, Failure> {
        let opened = match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite(o) => Outbox::open_sqlite(o.clone()).await,
            #[cfg(feature = "postgres")]
            Self::Postgres(o) => Outbox::open_postgres((**o).clone()).await,
        };
        opened.map_err(|e| Failure {
            code: crate::shared::EXIT_NO,
            message: e.to_string(),
        })
    }
}

/// `send --store`: store the event(s) durably, no delivery here; exit 0 once committed.
/// `TRACEPARENT` (and `TRACESTATE`) from the environment as a remote parent context, if
/// set; a value that is not a W3C `traceparent` is a usage error.
#[cfg(feature = "otel")]
fn trace_from_env() -> Result<Option<opentelemetry::Context>, Failure> {
    let Some(parent) = std::env::var("TRACEPARENT")
        .ok()
        .filter(|p| !p.trim().is_empty())
    else {
        return Ok(None);
    };
    let state = std::env::var("TRACESTATE").ok();
    foreman_webhook::native::otel::remote_parent(&parent, state.as_deref())
        .map(Some)
        .ok_or_else(|| {
            Failure::usage(format!(
                "TRACEPARENT={parent:?} is not a W3C traceparent: give \
                 00-<32 lowercase hex trace id>-<16 hex span id>-<2 hex flags>, or unset it"
            ))
        })
}

pub fn send(
    spec: &str,
    url: &str,
    body: &[u8],
    jsonl: bool,
    ordered: bool,
    json: bool,
) -> Result<u8, Failure> {
    use foreman_webhook::native::Dispatcher;
    use foreman_webhook::Event;
    let store = Store::parse(spec)?;
    let events: Vec<Event> = if jsonl {
        body.split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
            .map(|(i, l)| {
                Event::from_json(l)
                    .map_err(|e| Failure::usage(format!("line {}: not an Event: {e}", i + 1)))
            })
            .collect::<Result<_, _>>()?
    } else {
        vec![Event::from_json(body).map_err(|e| {
            Failure::usage(format!("the event is not valid JSON for an Event: {e}"))
        })?]
    };
    let rt = crate::shared::runtime()?;
    // A W3C trace context from the environment is stored with the events: the relay's
    // delivery spans continue that trace.
    #[cfg(feature = "otel")]
    let _trace = trace_from_env()?.map(opentelemetry::Context::attach);
    rt.block_on(async move {
        // The relay that delivers applies its own address policy (and signs with its
        // secrets); storing accepts any http(s) URL.
        let mut builder = Dispatcher::builder()
            .deliver(false)
            .max_pending(events.len().max(1))
            .allow_cidr("0.0.0.0/0")
            .allow_cidr("::/0");
        if ordered {
            builder = builder.ordered_per_job();
        }
        let dispatcher = store.configure(builder).build().map_err(|e| Failure {
            code: crate::shared::EXIT_NO,
            message: format!(
                "{e}: {}",
                std::error::Error::source(&e)
                    .map(ToString::to_string)
                    .unwrap_or_default()
            ),
        })?;
        let mut ids = Vec::new();
        if let [event] = events.as_slice() {
            let id = dispatcher
                .fire_durable(url, event)
                .await
                .map_err(|e| Failure {
                    code: crate::shared::EXIT_NO,
                    message: e.to_string(),
                })?;
            ids.push(id.to_string());
        } else {
            for e in &events {
                dispatcher.fire(url, e);
            }
        }
        let report = dispatcher
            .shutdown(std::time::Duration::from_secs(30))
            .await;
        let s = report.stats;
        if s.rejected + s.dropped_at_capacity + s.abandoned_at_shutdown > 0 {
            return Err(Failure {
                code: crate::shared::EXIT_NO,
                message: format!(
                    "not all events were stored: {} refused, {} dropped, {} abandoned",
                    s.rejected, s.dropped_at_capacity, s.abandoned_at_shutdown
                ),
            });
        }
        if json {
            println!(
                "{}",
                serde_json::json!({"stored": events.len(), "event_ids": ids})
            );
        } else if let [id] = ids.as_slice() {
            println!("stored {id} (a relay on {spec} delivers it)");
        } else {
            println!(
                "stored {} events (a relay on {spec} delivers them)",
                events.len()
            );
        }
        Ok(0)
    })
}
