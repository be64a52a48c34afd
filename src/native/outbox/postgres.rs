//! The PostgreSQL backend (feature `postgres`): the fleet store. Claims are batches of
//! `FOR UPDATE SKIP LOCKED` rows committed before any HTTP request; finishing presents the
//! claim's fencing token; expired leases return to pending; new rows `NOTIFY` the fleet.
//!
//! Tables live in the `foreman_webhook` schema (so sqlx's migration table does not
//! meet the application's own). No TLS is compiled in: connect over a trusted network or
//! a local socket (`sslmode=disable`/`prefer`).

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgListener, PgPool, PgPoolOptions};
use sqlx::{Connection, Row};

use super::rows::{attempt_row, count_row, delivery_row};
use super::{
    AttemptRow, BoxFut, Claimed, DeliveryRow, DeliveryState, EventId, Finish, NewDelivery,
    OutboxError, OutboxStatus, Redeliver, Store, Transition, RESPONSE_HEAD_CAP,
};
use crate::Event;

/// The embedded, versioned schema: (version, description, SQL). Applied in order on
/// start; sqlx records what ran in `_sqlx_migrations` with a checksum.
pub(crate) const MIGRATIONS: super::migrate::Versions = &[
    (
        1,
        "outbox",
        include_str!("migrations/postgres/0001_outbox.sql"),
    ),
    (
        2,
        "retention and redelivery",
        include_str!("migrations/postgres/0002_retention_and_redelivery.sql"),
    ),
    (
        3,
        "ordering",
        include_str!("migrations/postgres/0003_ordering.sql"),
    ),
    (
        4,
        "trace context",
        include_str!("migrations/postgres/0004_trace_context.sql"),
    ),
];

/// The schema the tables live in.
pub(crate) const SCHEMA: &str = "foreman_webhook";

/// The channel new rows are announced on.
pub(crate) const CHANNEL: &str = "foreman_webhook_outbox";

/// Settings of a PostgreSQL outbox: a URL, or a pool the application already has.
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    pub(crate) connect: PgConnectOptions,
    pub(crate) pool: Option<PgPool>,
    pub(crate) poll_only: bool,
    pub(crate) max_connections: u32,
    pub(crate) migrate_to: Option<i64>,
}

impl PostgresOptions {
    /// An outbox on the database at `url` (`postgres://user@host:port/db`).
    ///
    /// # Errors
    /// [`OutboxErrorKind::Usage`](super::OutboxErrorKind::Usage) when the URL does not
    /// parse.
    pub fn new(url: &str) -> Result<Self, OutboxError> {
        let connect: PgConnectOptions = url
            .parse()
            .map_err(|e| OutboxError::usage(format!("webhook outbox: postgres url: {e}")))?;
        Ok(Self {
            connect: connect.application_name("foreman-webhook"),
            pool: None,
            poll_only: false,
            max_connections: 8,
            migrate_to: None,
        })
    }

    /// An outbox reached through the application's own pool (migrations run on a
    /// separate connection opened with the pool's options).
    pub fn from_pool(pool: PgPool) -> Self {
        Self {
            connect: (*pool.connect_options()).clone(),
            pool: Some(pool),
            poll_only: false,
            max_connections: 8,
            migrate_to: None,
        }
    }

    /// Never `LISTEN`: find new rows by polling only (for PgBouncer in transaction
    /// pooling mode, where `LISTEN` does not work).
    #[must_use]
    pub fn poll_only(mut self, poll_only: bool) -> Self {
        self.poll_only = poll_only;
        self
    }

    /// Connections in the pool this store opens (default 8; ignored with a given pool).
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Applies migrations only up to `version` (for upgrade tests).
    #[doc(hidden)]
    #[must_use]
    pub fn migrate_to(mut self, version: i64) -> Self {
        self.migrate_to = Some(version);
        self
    }
}

async fn migrate(conn: &mut PgConnection, upto: Option<i64>) -> Result<(), OutboxError> {
    super::migrate::migrator(MIGRATIONS, upto)
        .await?
        .run(conn)
        .await
        .map_err(|e| OutboxError::db("applying migrations", e))
}

/// Connects once, creates the schema, applies the migrations (sqlx takes an advisory
/// lock, so a fleet starting together migrates once) and checks the tables; the clear
/// error for an unreachable database comes from here.
/// With `analyze` (a process that will claim), also refreshes the planner's statistics.
pub(crate) async fn open_and_migrate(
    options: &PostgresOptions,
    analyze: bool,
) -> Result<(), OutboxError> {
    let what = "connecting to PostgreSQL";
    let mut conn = PgConnection::connect_with(&options.connect)
        .await
        .map_err(|e| OutboxError::db(what, e))?;
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        .execute(&mut conn)
        .await
        .map_err(|e| OutboxError::db("creating the schema", e))?;
    sqlx::query(&format!("SET search_path TO {SCHEMA}"))
        .execute(&mut conn)
        .await
        .map_err(|e| OutboxError::db("selecting the schema", e))?;
    migrate(&mut conn, options.migrate_to).await?;
    // Fresh planner statistics for the backlog this process starts on (a table filled
    // since the last autovacuum looks tiny, and the claim then sorts every due row
    // instead of reading the index in order). Best effort: needs the table's owner.
    if analyze {
        if let Err(e) = sqlx::query(&format!("ANALYZE {SCHEMA}.foreman_deliveries"))
            .execute(&mut conn)
            .await
        {
            tracing::debug!(error = %e, "webhook outbox: ANALYZE skipped");
        }
    }
    sqlx::query(&format!("SELECT count(*) FROM {SCHEMA}.foreman_deliveries"))
        .fetch_one(&mut conn)
        .await
        .map_err(|e| OutboxError::db(what, e))?;
    conn.close().await.map_err(|e| OutboxError::db(what, e))
}

/// The PostgreSQL store.
pub(crate) struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Opens, migrates and pools (needs a tokio runtime context).
    pub(crate) async fn open(options: &PostgresOptions) -> Result<Self, OutboxError> {
        open_and_migrate(options, false).await?;
        Ok(Self::lazy(options))
    }

    /// The given pool, or one whose connections open on first use.
    pub(crate) fn lazy(options: &PostgresOptions) -> Self {
        let pool = options.pool.clone().unwrap_or_else(|| {
            PgPoolOptions::new()
                .max_connections(options.max_connections)
                .min_connections(0)
                .acquire_timeout(Duration::from_secs(10))
                // No ping before each use: a broken connection fails its statement, which
                // every caller retries; the ping was one more round trip per statement.
                .test_before_acquire(false)
                .connect_lazy_with(options.connect.clone())
        });
        Self { pool }
    }

    /// Wakes the claim loop on every `NOTIFY` on [`CHANNEL`] (notifications that arrive
    /// together coalesce into one wake-up: the debounce), until `wake` returns `false`.
    /// Reconnects after a lost connection; polling covers the gap.
    pub(crate) async fn listen(&self, wake: impl Fn() -> bool) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let mut listener = match PgListener::connect_with(&self.pool).await {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook outbox: LISTEN connection failed; polling meanwhile");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    if !wake() {
                        return;
                    }
                    continue;
                }
            };
            if let Err(e) = listener.listen(CHANNEL).await {
                tracing::warn!(error = %e, "webhook outbox: LISTEN failed; polling meanwhile");
                tokio::time::sleep(backoff).await;
                continue;
            }
            backoff = Duration::from_millis(100);
            loop {
                match tokio::time::timeout(Duration::from_secs(5), listener.try_recv()).await {
                    Ok(Ok(Some(_))) | Ok(Ok(None)) => {
                        if !wake() {
                            return;
                        }
                    }
                    Ok(Err(_)) => break,
                    Err(_) => {
                        // Quiet: check that someone still listens to us.
                        if !wake() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

fn db(context: &'static str) -> impl Fn(sqlx::Error) -> OutboxError {
    move |e| OutboxError::db(context, e)
}

/// Inserts one event and its delivery; returns the stored id (the existing one when the
/// idempotency key is taken).
async fn insert_one(conn: &mut PgConnection, d: &NewDelivery) -> Result<EventId, OutboxError> {
    let (traceparent, tracestate) = d.trace_columns();
    let inserted = sqlx::query(
        "INSERT INTO foreman_webhook.foreman_events (id, idempotency_key, job_id, state, body, \
           created_at, traceparent, tracestate) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(d.event_id())
    .bind(d.idempotency_key.as_deref())
    .bind(d.job_id())
    .bind(d.state())
    .bind(d.body())
    .bind(d.created_ms)
    .bind(traceparent)
    .bind(tracestate)
    .execute(&mut *conn)
    .await
    .map_err(db("storing an event"))?
    .rows_affected();
    if inserted == 0 {
        let existing: Option<String> = match &d.idempotency_key {
            Some(key) => sqlx::query_scalar(
                "SELECT id FROM foreman_webhook.foreman_events WHERE idempotency_key = $1",
            )
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("looking up an idempotency key"))?,
            None => None,
        };
        return Ok(existing.map_or_else(|| d.event_id_owned(), EventId));
    }
    sqlx::query(
        "INSERT INTO foreman_webhook.foreman_deliveries (event_id, url, state, next_attempt_at, order_key) \
         VALUES ($1, $2, 'pending', $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(d.event_id())
    .bind(d.url())
    .bind(d.created_ms)
    .bind(d.order_key())
    .execute(&mut *conn)
    .await
    .map_err(db("storing a delivery"))?;
    Ok(d.event_id_owned())
}

/// Inserts a batch of events and their deliveries with one statement (the rows go in as
/// parallel arrays); returns the stored ids in order (the existing one where an
/// idempotency key was taken, looked up with one more statement only then).
async fn insert_batch(
    conn: &mut PgConnection,
    batch: &[NewDelivery],
) -> Result<Vec<EventId>, OutboxError> {
    let n = batch.len();
    let mut ids = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut jobs = Vec::with_capacity(n);
    let mut states = Vec::with_capacity(n);
    let mut bodies = Vec::with_capacity(n);
    let mut created = Vec::with_capacity(n);
    let mut urls = Vec::with_capacity(n);
    let mut order_keys = Vec::with_capacity(n);
    let mut traceparents = Vec::with_capacity(n);
    let mut tracestates = Vec::with_capacity(n);
    for d in batch {
        ids.push(d.event_id());
        keys.push(d.idempotency_key.as_deref());
        jobs.push(d.job_id());
        states.push(d.state());
        bodies.push(d.body());
        created.push(d.created_ms);
        urls.push(d.url());
        order_keys.push(d.order_key());
        let (traceparent, tracestate) = d.trace_columns();
        traceparents.push(traceparent);
        tracestates.push(tracestate);
    }
    // The deliveries get their ids in the batch's order (`ORDER BY n.ord`): per-job
    // ordering compares ids.
    let inserted: Vec<String> = sqlx::query_scalar(
        "WITH n AS ( \
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], \
             $6::int8[], $7::text[], $8::text[], $9::text[], $10::text[]) WITH ORDINALITY \
             AS n(id, key, job_id, state, body, created_at, url, order_key, traceparent, \
               tracestate, ord)), \
         ins AS ( \
           INSERT INTO foreman_webhook.foreman_events (id, idempotency_key, job_id, state, body, \
             created_at, traceparent, tracestate) \
           SELECT id, key, job_id, state, body, created_at, traceparent, tracestate FROM n \
           ON CONFLICT DO NOTHING \
           RETURNING id), \
         dl AS ( \
           INSERT INTO foreman_webhook.foreman_deliveries (event_id, url, state, next_attempt_at, \
             order_key) \
           SELECT n.id, n.url, 'pending', n.created_at, n.order_key FROM n \
           JOIN ins ON ins.id = n.id ORDER BY n.ord \
           ON CONFLICT DO NOTHING) \
         SELECT id FROM ins",
    )
    .bind(&ids)
    .bind(&keys)
    .bind(&jobs)
    .bind(&states)
    .bind(&bodies)
    .bind(&created)
    .bind(&urls)
    .bind(&order_keys)
    .bind(&traceparents)
    .bind(&tracestates)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("storing events"))?;
    if inserted.len() == n {
        return Ok(batch.iter().map(|d| d.event_id_owned()).collect());
    }
    let inserted: std::collections::HashSet<String> = inserted.into_iter().collect();
    let taken: Vec<&str> = batch
        .iter()
        .filter(|d| !inserted.contains(d.event_id()))
        .filter_map(|d| d.idempotency_key.as_deref())
        .collect();
    let existing: std::collections::HashMap<String, String> = sqlx::query_as(
        "SELECT idempotency_key, id FROM foreman_webhook.foreman_events \
         WHERE idempotency_key = ANY($1)",
    )
    .bind(&taken)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("looking up idempotency keys"))?
    .into_iter()
    .collect();
    Ok(batch
        .iter()
        .map(|d| {
            if inserted.contains(d.event_id()) {
                return d.event_id_owned();
            }
            d.idempotency_key
                .as_ref()
                .and_then(|k| existing.get(k))
                .map_or_else(|| d.event_id_owned(), |id| EventId(id.clone()))
        })
        .collect())
}

/// Enqueues `event` for `url` inside the caller's own transaction (or connection) on the
/// outbox database: the webhook commits or rolls back with the caller's other writes.
/// The relays hear of it through `NOTIFY` at commit (or their next poll).
///
/// The schema must exist: start a dispatcher or
/// [`Outbox::open_postgres`](super::Outbox::open_postgres) on the database first. The URL is parsed here and
/// vetted against the address policy by the dispatcher that delivers it.
///
/// ```no_run
/// # async fn demo(pool: sqlx::PgPool, event: foreman_webhook::Event) -> Result<(), Box<dyn std::error::Error>> {
/// let mut tx = pool.begin().await?;
/// sqlx::query("UPDATE jobs SET state = 'done' WHERE id = 42").execute(&mut *tx).await?;
/// foreman_webhook::native::outbox::enqueue_postgres(&mut tx, "https://hooks.example.com/x", &event, None).await?;
/// tx.commit().await?; // both or neither
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`OutboxErrorKind::Usage`](super::OutboxErrorKind::Usage) for a URL that is not
/// http(s) with a host; [`OutboxErrorKind::Database`](super::OutboxErrorKind::Database)
/// when the insert fails.
pub async fn enqueue_postgres(
    conn: &mut PgConnection,
    url: &str,
    event: &Event,
    idempotency_key: Option<&str>,
) -> Result<EventId, OutboxError> {
    let url = normalize_url(url)?;
    let d = NewDelivery::new(&EventId::random(), &url, event, idempotency_key, None);
    let id = insert_one(conn, &d).await?;
    notify(conn).await?;
    Ok(id)
}

/// `NOTIFY` the relays (delivered at commit; several in one transaction fold into one).
async fn notify(conn: &mut PgConnection) -> Result<(), OutboxError> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(CHANNEL)
        .execute(conn)
        .await
        .map_err(db("notifying the relays"))?;
    Ok(())
}

/// Parses a URL as `fire` does (http or https, with a host) and returns its normal form.
fn normalize_url(url: &str) -> Result<String, OutboxError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| OutboxError::usage(format!("webhook outbox: invalid url: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(OutboxError::usage(
            "webhook outbox: url must be http(s) with a host".to_owned(),
        ));
    }
    Ok(parsed.into())
}

impl Store for PgStore {
    fn insert<'a>(
        &'a self,
        batch: &'a [NewDelivery],
    ) -> BoxFut<'a, Result<Vec<EventId>, OutboxError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(db("beginning a batch"))?;
            let ids = insert_batch(&mut tx, batch).await?;
            notify(&mut tx).await?;
            tx.commit().await.map_err(db("committing a batch"))?;
            Ok(ids)
        })
    }

    fn claim<'a>(
        &'a self,
        owner: &'a str,
        limit: usize,
        now: i64,
        lease: i64,
    ) -> BoxFut<'a, Result<Vec<Claimed>, OutboxError>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            // One statement (one round trip, committed on its own): the claim, then the
            // claimed events' bodies joined to it.
            let rows = sqlx::query(
                // What may be claimed: expired leases first, then due pending rows, each
                // read in its index's order (one `OR` over both made PostgreSQL sort
                // every due row on every claim: 15 ms with 20,000 due). An ordered row
                // (`order_key`) is due only when no older row of its job and URL is
                // pending or in flight.
                "WITH expired AS ( \
                   SELECT id FROM foreman_webhook.foreman_deliveries \
                   WHERE state = 'in_flight' AND lease_expires_at <= $3 \
                   ORDER BY lease_expires_at LIMIT $4 \
                   FOR UPDATE SKIP LOCKED), \
                 pending AS ( \
                   SELECT id FROM foreman_webhook.foreman_deliveries d \
                   WHERE state = 'pending' AND next_attempt_at <= $3 \
                     AND (order_key IS NULL OR NOT EXISTS ( \
                       SELECT 1 FROM foreman_webhook.foreman_deliveries p \
                       WHERE p.order_key = d.order_key AND p.url = d.url AND p.id < d.id \
                         AND p.state IN ('pending', 'in_flight'))) \
                   ORDER BY next_attempt_at LIMIT $4 \
                   FOR UPDATE SKIP LOCKED), \
                 due AS (SELECT id FROM expired UNION ALL SELECT id FROM pending LIMIT $4), \
                 claimed AS ( \
                 UPDATE foreman_webhook.foreman_deliveries d SET state = 'in_flight', \
                   attempts = d.attempts + 1, lease_owner = $1, lease_expires_at = $2, \
                   lease_token = d.lease_token + 1 \
                 FROM due WHERE d.id = due.id \
                 RETURNING d.id, d.event_id, d.url, d.attempts, d.lease_token, d.manual) \
                 SELECT c.id, c.event_id, c.url, c.attempts, c.lease_token, c.manual, \
                   e.body, e.job_id, e.state, e.traceparent, e.tracestate \
                 FROM claimed c JOIN foreman_webhook.foreman_events e ON e.id = c.event_id",
            )
            .bind(owner)
            .bind(now.saturating_add(lease))
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db("claiming deliveries"))?;
            let read = db("reading a claim");
            let mut claimed = Vec::with_capacity(rows.len());
            for r in &rows {
                let attempts: i64 = r.try_get("attempts").map_err(&read)?;
                let manual: i64 = r.try_get("manual").map_err(&read)?;
                claimed.push(Claimed {
                    delivery_id: r.try_get("id").map_err(&read)?,
                    event_id: EventId(r.try_get("event_id").map_err(&read)?),
                    token: r.try_get("lease_token").map_err(&read)?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                    manual: manual != 0,
                    url: r.try_get("url").map_err(&read)?,
                    body: r.try_get("body").map_err(&read)?,
                    job_id: r.try_get("job_id").map_err(&read)?,
                    state: r.try_get("state").map_err(&read)?,
                    trace: super::StoredTrace::from_columns(
                        r.try_get("traceparent").map_err(&read)?,
                        r.try_get("tracestate").map_err(&read)?,
                    ),
                });
            }
            Ok(claimed)
        })
    }

    fn finish_batch<'a>(
        &'a self,
        batch: &'a [Finish],
        now: i64,
    ) -> BoxFut<'a, Result<Vec<bool>, OutboxError>> {
        Box::pin(async move {
            if batch.is_empty() {
                return Ok(Vec::new());
            }
            // One statement (one round trip, one commit) for the whole batch: the rows go
            // in as parallel arrays; the attempts are recorded for exactly the deliveries
            // whose token still held the lease, and those come back.
            let n = batch.len();
            let mut ids = Vec::with_capacity(n);
            let mut tokens = Vec::with_capacity(n);
            let mut states = Vec::with_capacity(n);
            let mut next_at = Vec::with_capacity(n);
            let mut finished_at: Vec<Option<i64>> = Vec::with_capacity(n);
            let mut numbers = Vec::with_capacity(n);
            let mut triggers = Vec::with_capacity(n);
            let mut started_at = Vec::with_capacity(n);
            let mut durations = Vec::with_capacity(n);
            let mut statuses: Vec<Option<i64>> = Vec::with_capacity(n);
            let mut errors: Vec<Option<&str>> = Vec::with_capacity(n);
            let mut heads: Vec<&[u8]> = Vec::with_capacity(n);
            let mut uncount = Vec::with_capacity(n);
            for done in batch {
                let (state, next, finished) = match done.next {
                    Transition::Delivered => ("delivered", now, Some(now)),
                    Transition::Dead => ("dead", now, Some(now)),
                    Transition::RetryAt(at) => ("pending", at, None),
                };
                let a = &done.attempt;
                ids.push(done.delivery_id);
                tokens.push(done.token);
                states.push(state);
                next_at.push(next);
                finished_at.push(finished);
                numbers.push(i64::from(a.number));
                triggers.push(a.trigger.as_str());
                started_at.push(a.started_ms);
                durations.push(i64::try_from(a.duration_ms).unwrap_or(i64::MAX));
                statuses.push(a.status.map(i64::from));
                errors.push(a.error.as_deref());
                heads.push(&a.response_head[..a.response_head.len().min(RESPONSE_HEAD_CAP)]);
                uncount.push(i64::from(done.uncount));
            }
            let rows: Vec<(i64, i64)> = sqlx::query_as(
                "WITH f AS ( \
                   SELECT * FROM unnest($1::int8[], $2::int8[], $3::text[], $4::int8[], \
                     $5::int8[], $6::int8[], $7::text[], $8::int8[], $9::int8[], $10::int8[], \
                     $11::text[], $12::bytea[], $13::int8[]) \
                   AS f(id, token, state, next_at, finished_at, number, trigger, started_at, \
                     duration_ms, status, error, response, uncount)), \
                 done AS ( \
                   UPDATE foreman_webhook.foreman_deliveries d SET state = f.state, \
                     next_attempt_at = f.next_at, finished_at = f.finished_at, \
                     lease_owner = NULL, lease_expires_at = NULL, manual = 0, \
                     attempts = d.attempts - f.uncount \
                   FROM f WHERE d.id = f.id AND d.lease_token = f.token AND d.state = 'in_flight' \
                   RETURNING d.id, d.lease_token), \
                 recorded AS ( \
                   INSERT INTO foreman_webhook.foreman_attempts (delivery_id, number, trigger, \
                     started_at, duration_ms, status, error, response) \
                   SELECT f.id, f.number, f.trigger, f.started_at, f.duration_ms, f.status, \
                     f.error, f.response \
                   FROM f JOIN done ON done.id = f.id AND done.lease_token = f.token) \
                 SELECT id, lease_token FROM done",
            )
            .bind(&ids)
            .bind(&tokens)
            .bind(&states)
            .bind(&next_at)
            .bind(&finished_at)
            .bind(&numbers)
            .bind(&triggers)
            .bind(&started_at)
            .bind(&durations)
            .bind(&statuses)
            .bind(&errors)
            .bind(&heads)
            .bind(&uncount)
            .fetch_all(&self.pool)
            .await
            .map_err(db("recording attempts"))?;
            let held: std::collections::HashSet<(i64, i64)> = rows.into_iter().collect();
            Ok(batch
                .iter()
                .map(|d| held.contains(&(d.delivery_id, d.token)))
                .collect())
        })
    }

    fn release<'a>(
        &'a self,
        claims: &'a [(i64, i64, bool)],
    ) -> BoxFut<'a, Result<(), OutboxError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(db("beginning a release"))?;
            for &(id, token, started) in claims {
                sqlx::query(
                    "UPDATE foreman_webhook.foreman_deliveries SET state = 'pending', lease_owner = NULL, \
                       lease_expires_at = NULL, attempts = attempts - $3 \
                     WHERE id = $1 AND lease_token = $2 AND state = 'in_flight'",
                )
                .bind(id)
                .bind(token)
                .bind(i64::from(!started))
                .execute(&mut *tx)
                .await
                .map_err(db("releasing a claim"))?;
            }
            tx.commit().await.map_err(db("committing a release"))
        })
    }

    fn defer<'a>(&'a self, claims: &'a [(i64, i64, i64)]) -> BoxFut<'a, Result<(), OutboxError>> {
        Box::pin(async move {
            let mut tx = self
                .pool
                .begin()
                .await
                .map_err(db("beginning a deferral"))?;
            for &(id, token, due) in claims {
                sqlx::query(
                    "UPDATE foreman_webhook.foreman_deliveries SET state = 'pending', \
                       lease_owner = NULL, lease_expires_at = NULL, attempts = attempts - 1, \
                       next_attempt_at = $3 \
                     WHERE id = $1 AND lease_token = $2 AND state = 'in_flight'",
                )
                .bind(id)
                .bind(token)
                .bind(due)
                .execute(&mut *tx)
                .await
                .map_err(db("deferring a claim"))?;
            }
            tx.commit().await.map_err(db("committing a deferral"))
        })
    }

    fn next_due(&self) -> BoxFut<'_, Result<Option<i64>, OutboxError>> {
        Box::pin(async move {
            sqlx::query_scalar(
                "SELECT min(t) FROM ( \
                   SELECT min(next_attempt_at) AS t FROM foreman_webhook.foreman_deliveries WHERE state = 'pending' \
                   UNION ALL \
                   SELECT min(lease_expires_at) FROM foreman_webhook.foreman_deliveries WHERE state = 'in_flight') AS due",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(db("finding the next due delivery"))
        })
    }

    fn status(&self, now: i64) -> BoxFut<'_, Result<OutboxStatus, OutboxError>> {
        Box::pin(async move {
            let mut s = OutboxStatus::default();
            let rows = sqlx::query("SELECT state, count(*) AS n FROM foreman_webhook.foreman_deliveries GROUP BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(db("counting deliveries"))?;
            for r in &rows {
                count_row(&mut s, r).map_err(db("counting deliveries"))?;
            }
            let oldest: Option<i64> = sqlx::query_scalar(
                "SELECT min(e.created_at) FROM foreman_webhook.foreman_deliveries d JOIN foreman_webhook.foreman_events e ON e.id = d.event_id \
                 WHERE d.state IN ('pending', 'in_flight')",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(db("finding the oldest pending delivery"))?;
            s.oldest_pending_age_ms = oldest.map(|t| u64::try_from(now - t).unwrap_or(0));
            s.next_due_ms = sqlx::query_scalar(
                "SELECT min(next_attempt_at) FROM foreman_webhook.foreman_deliveries WHERE state = 'pending'",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(db("finding the next due delivery"))?;
            Ok(s)
        })
    }

    fn list(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> BoxFut<'_, Result<Vec<DeliveryRow>, OutboxError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT d.event_id, d.url, e.job_id, e.state AS job_state, d.state, d.attempts, \
                   d.next_attempt_at, e.created_at \
                 FROM foreman_webhook.foreman_deliveries d JOIN foreman_webhook.foreman_events e ON e.id = d.event_id \
                 WHERE $1::TEXT IS NULL OR d.state = $1 ORDER BY d.id LIMIT $2",
            )
            .bind(state.map(DeliveryState::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db("listing deliveries"))?;
            rows.iter()
                .map(delivery_row)
                .collect::<Result<_, sqlx::Error>>()
                .map_err(db("reading deliveries"))
        })
    }

    fn attempts<'a>(
        &'a self,
        event: &'a EventId,
    ) -> BoxFut<'a, Result<Vec<AttemptRow>, OutboxError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT d.url, a.number, a.trigger, a.started_at, a.duration_ms, a.status, \
                   a.error, a.response \
                 FROM foreman_webhook.foreman_attempts a JOIN foreman_webhook.foreman_deliveries d ON d.id = a.delivery_id \
                 WHERE d.event_id = $1 ORDER BY d.id, a.number, a.started_at",
            )
            .bind(event.as_str())
            .fetch_all(&self.pool)
            .await
            .map_err(db("listing attempts"))?;
            rows.iter()
                .map(attempt_row)
                .collect::<Result<_, _>>()
                .map_err(db("reading attempts"))
        })
    }

    fn redeliver<'a>(
        &'a self,
        which: &'a Redeliver,
        now: i64,
    ) -> BoxFut<'a, Result<u64, OutboxError>> {
        Box::pin(async move {
            let q = match which {
                Redeliver::Event(id) => sqlx::query(
                    "UPDATE foreman_webhook.foreman_deliveries SET state = 'pending', next_attempt_at = $1, manual = 1, \
                       finished_at = NULL WHERE event_id = $2 AND state != 'in_flight'",
                )
                .bind(now)
                .bind(id.as_str()),
                Redeliver::AllDead => sqlx::query(
                    "UPDATE foreman_webhook.foreman_deliveries SET state = 'pending', next_attempt_at = $1, manual = 1, \
                       finished_at = NULL WHERE state = 'dead'",
                )
                .bind(now),
            };
            Ok(q.execute(&self.pool)
                .await
                .map_err(db("redelivering"))?
                .rows_affected())
        })
    }

    fn prune(&self, before: i64) -> BoxFut<'_, Result<u64, OutboxError>> {
        Box::pin(async move {
            Ok(sqlx::query(
                "DELETE FROM foreman_webhook.foreman_events WHERE id IN ( \
                   SELECT event_id FROM foreman_webhook.foreman_deliveries GROUP BY event_id \
                   HAVING bool_and(state IN ('delivered', 'dead')) AND max(finished_at) < $1)",
            )
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db("pruning"))?
            .rows_affected())
        })
    }
}
