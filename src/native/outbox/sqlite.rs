//! The SQLite backend (feature `sqlite`): one embedded file in WAL mode, runtime queries
//! through sqlx (no compile-time macros, no network).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
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
        include_str!("migrations/sqlite/0001_outbox.sql"),
    ),
    (
        2,
        "retention and redelivery",
        include_str!("migrations/sqlite/0002_retention_and_redelivery.sql"),
    ),
    (
        3,
        "ordering",
        include_str!("migrations/sqlite/0003_ordering.sql"),
    ),
    (
        4,
        "trace context",
        include_str!("migrations/sqlite/0004_trace_context.sql"),
    ),
];

/// The longest [`SqliteOptions::busy_timeout`]: one day.
const MAX_BUSY_TIMEOUT: Duration = Duration::from_secs(86_400);

/// The durability of each commit (SQLite's `synchronous` pragma, in WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// `FULL` (the default): every commit is fsynced before it returns, so a committed
    /// event survives a power loss.
    #[default]
    Full,
    /// `NORMAL`: the WAL is fsynced at checkpoints only. A committed event survives a
    /// crash of the process, but the last commits before a power loss or an OS crash
    /// can be lost (the database stays consistent). Faster.
    Normal,
}

/// Settings of an SQLite outbox.
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub(crate) path: PathBuf,
    pub(crate) synchronous: Synchronous,
    pub(crate) busy_timeout: Duration,
    pub(crate) migrate_to: Option<i64>,
}

impl SqliteOptions {
    /// An outbox in the file at `path` (created if missing), `synchronous=FULL`, a 5 s
    /// busy timeout.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Self {
            path: path.as_ref().to_path_buf(),
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            migrate_to: None,
        }
    }

    /// Sets the commit durability (default [`Synchronous::Full`]).
    #[must_use]
    pub fn synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// How long to wait for a lock another connection holds (default 5 s) before
    /// failing with "database is locked". Capped at one day: the connection pool adds it
    /// to an `Instant`, which must not overflow.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout.min(MAX_BUSY_TIMEOUT);
        self
    }

    /// Applies migrations only up to `version` (for upgrade tests).
    #[doc(hidden)]
    #[must_use]
    pub fn migrate_to(mut self, version: i64) -> Self {
        self.migrate_to = Some(version);
        self
    }

    fn connect_options(&self) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(&self.path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match self.synchronous {
                Synchronous::Full => SqliteSynchronous::Full,
                Synchronous::Normal => SqliteSynchronous::Normal,
            })
            .busy_timeout(self.busy_timeout)
            .foreign_keys(true)
            // Statement journals (kept by every multi-row write inside a transaction:
            // the batched inserts, claims and finishes) in memory, not in a temporary
            // file: measured with strace, a spilled statement journal wrote about 3.7
            // pages (7.5 `pwrite`s) per delivery to /var/tmp. Nothing durable lives there.
            .pragma("temp_store", "memory")
    }
}

async fn migrate(conn: &mut SqliteConnection, upto: Option<i64>) -> Result<(), OutboxError> {
    super::migrate::migrator(MIGRATIONS, upto)
        .await?
        .run(conn)
        .await
        .map_err(|e| OutboxError::db("applying migrations", e))
}

/// Opens the file with one connection, applies the migrations and checks the schema;
/// the clear error for a locked, corrupt or unwritable file comes from here.
pub(crate) async fn open_and_migrate(options: &SqliteOptions) -> Result<(), OutboxError> {
    let what = || format!("opening {}", options.path.display());
    let mut conn = SqliteConnection::connect_with(&options.connect_options())
        .await
        .map_err(|e| OutboxError::db(&what(), e))?;
    migrate(&mut conn, options.migrate_to).await?;
    sqlx::query("SELECT count(*) FROM deliveries")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| OutboxError::db(&what(), e))?;
    conn.close().await.map_err(|e| OutboxError::db(&what(), e))
}

/// The SQLite store: a small pool (SQLite runs one writer at a time anyway).
pub(crate) struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens, migrates and pools (needs a tokio runtime context).
    pub(crate) async fn open(options: &SqliteOptions) -> Result<Self, OutboxError> {
        open_and_migrate(options).await?;
        Ok(Self::lazy(options))
    }

    /// A pool whose connections open on first use; call after [`open_and_migrate`],
    /// inside the runtime that will use it.
    pub(crate) fn lazy(options: &SqliteOptions) -> Self {
        // One connection: SQLite has one writer at a time, and the writer, the claim loop
        // and the finisher on separate connections met SQLITE_BUSY, whose handler
        // sleeps (ms steps) before retrying. Queued in the pool instead they take turns
        // at once. Measured with outbox_bench (20,000 events, same loaded machine, two
        // runs each): FULL 5,139 / 5,766 deliveries/s with 1 connection against 3,325 /
        // 4,455 with 4; NORMAL 6,647 / 6,374 against 3,474 / 4,127.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(0)
            .acquire_timeout(options.busy_timeout.saturating_add(Duration::from_secs(5)))
            .connect_lazy_with(options.connect_options());
        Self { pool }
    }
}

fn db(context: &'static str) -> impl Fn(sqlx::Error) -> OutboxError {
    move |e| OutboxError::db(context, e)
}

/// The id stored for an event that was not inserted: the existing event's id when its
/// idempotency key is taken, else its own id (an id that is already stored).
async fn stored_id(conn: &mut SqliteConnection, d: &NewDelivery) -> Result<EventId, OutboxError> {
    let existing: Option<String> = match &d.idempotency_key {
        Some(key) => sqlx::query_scalar("SELECT id FROM events WHERE idempotency_key = ?1")
            .bind(key)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("looking up an idempotency key"))?,
        None => None,
    };
    Ok(existing.map_or_else(|| d.event_id_owned(), EventId))
}

/// Inserts one event and its delivery; returns the stored id (the existing one when the
/// idempotency key is taken).
async fn insert_one(conn: &mut SqliteConnection, d: &NewDelivery) -> Result<EventId, OutboxError> {
    let (traceparent, tracestate) = d.trace_columns();
    let inserted = sqlx::query(
        "INSERT INTO events (id, idempotency_key, job_id, state, body, created_at, \
           traceparent, tracestate) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
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
        return stored_id(conn, d).await;
    }
    sqlx::query(
        "INSERT INTO deliveries (event_id, url, state, next_attempt_at, order_key) \
         VALUES (?1, ?2, 'pending', ?3, ?4) ON CONFLICT DO NOTHING",
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

/// Rows per multi-row `INSERT` (8 parameters each, far below SQLite's limit). Measured:
/// one statement per row cost the writer two trips to sqlx's SQLite thread per event;
/// 512 rather than 128 a chunk: a quarter of the trips for a full writer batch.
const INSERT_CHUNK: usize = 512;

/// Inserts up to [`INSERT_CHUNK`] events and their deliveries with two statements;
/// returns the stored ids in order (the existing one where an idempotency key was taken).
async fn insert_chunk(
    conn: &mut SqliteConnection,
    chunk: &[NewDelivery],
) -> Result<Vec<EventId>, OutboxError> {
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO events (id, idempotency_key, job_id, state, body, created_at, \
           traceparent, tracestate) ",
    );
    q.push_values(chunk, |mut b, d| {
        let (traceparent, tracestate) = d.trace_columns();
        b.push_bind(d.event_id())
            .push_bind(d.idempotency_key.as_deref())
            .push_bind(d.job_id())
            .push_bind(d.state())
            .push_bind(d.body())
            .push_bind(d.created_ms)
            .push_bind(traceparent)
            .push_bind(tracestate);
    });
    q.push(" ON CONFLICT DO NOTHING");
    // The count, not `RETURNING id`: sqlx hands each returned row over from its SQLite
    // thread on its own (128 hand-offs a chunk, measured as thread wake-ups that
    // preempted `fire` on 2 cores). Only when some row was skipped (an idempotency key
    // taken) are the stored ones looked up: event ids are unique, so a present id is
    // this event's.
    let stored = q
        .build()
        .execute(&mut *conn)
        .await
        .map_err(db("storing events"))?
        .rows_affected();
    let all = usize::try_from(stored).is_ok_and(|n| n == chunk.len());
    let inserted: std::collections::HashSet<String> = if all {
        std::collections::HashSet::new()
    } else {
        let sql = format!(
            "SELECT id FROM events WHERE id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query_scalar(&sql);
        for d in chunk {
            q = q.bind(d.event_id());
        }
        q.fetch_all(&mut *conn)
            .await
            .map_err(db("storing events"))?
            .into_iter()
            .collect()
    };
    let fresh: Vec<&NewDelivery> = chunk
        .iter()
        .filter(|d| all || inserted.contains(d.event_id()))
        .collect();
    if !fresh.is_empty() {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO deliveries (event_id, url, state, next_attempt_at, order_key) ",
        );
        // Rows get their ids in the batch's order: per-job ordering compares ids.
        q.push_values(&fresh, |mut b, d| {
            b.push_bind(d.event_id())
                .push_bind(d.url())
                .push_bind("pending")
                .push_bind(d.created_ms)
                .push_bind(d.order_key());
        });
        q.push(" ON CONFLICT DO NOTHING");
        q.build()
            .execute(&mut *conn)
            .await
            .map_err(db("storing deliveries"))?;
    }
    let mut ids = Vec::with_capacity(chunk.len());
    for d in chunk {
        if all || inserted.contains(d.event_id()) {
            ids.push(d.event_id_owned());
            continue;
        }
        ids.push(stored_id(conn, d).await?);
    }
    Ok(ids)
}

/// Enqueues `event` for `url` inside the caller's own transaction (or connection) on the
/// outbox database: the webhook commits or rolls back with the caller's other writes.
/// A running durable dispatcher on that file picks it up at its next poll
/// ([`DEFAULT_POLL_INTERVAL`](super::DEFAULT_POLL_INTERVAL) at most).
///
/// The schema must exist: open the file with a dispatcher or
/// [`Outbox::open_sqlite`](super::Outbox::open_sqlite) first. The URL is parsed here and
/// vetted against the address policy by the dispatcher that delivers it.
///
/// ```no_run
/// # async fn demo(pool: sqlx::SqlitePool, event: foreman_webhook::Event) -> Result<(), Box<dyn std::error::Error>> {
/// let mut tx = pool.begin().await?;
/// sqlx::query("UPDATE jobs SET state = 'done' WHERE id = 42").execute(&mut *tx).await?;
/// foreman_webhook::native::outbox::enqueue_sqlite(&mut tx, "https://hooks.example.com/x", &event, None).await?;
/// tx.commit().await?; // both or neither
/// # Ok(()) }
/// ```
///
/// # Errors
/// [`OutboxErrorKind::Usage`](super::OutboxErrorKind::Usage) for a URL that is not
/// http(s) with a host; [`OutboxErrorKind::Database`](super::OutboxErrorKind::Database)
/// when the insert fails.
pub async fn enqueue_sqlite(
    conn: &mut SqliteConnection,
    url: &str,
    event: &Event,
    idempotency_key: Option<&str>,
) -> Result<EventId, OutboxError> {
    let url = normalize_url(url)?;
    let d = NewDelivery::new(&EventId::random(), &url, event, idempotency_key, None);
    insert_one(conn, &d).await
}

/// Parses a URL as `fire` does (http or https, with a host) and returns its normal form.
pub(crate) fn normalize_url(url: &str) -> Result<String, OutboxError> {
    let parsed = url::Url::parse(url)
        .map_err(|e| OutboxError::usage(format!("webhook outbox: invalid url: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(OutboxError::usage(
            "webhook outbox: url must be http(s) with a host".to_owned(),
        ));
    }
    Ok(parsed.into())
}

fn placeholders(from: usize, n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        if i > 0 {
            s.push_str(", ");
        }
        let _ = write!(s, "?{}", from + i);
    }
    s
}

/// Finishes per multi-row statement pair (9 parameters per row in each, far below
/// SQLite's limit).
const FINISH_CHUNK: usize = 256;

/// Records up to [`FINISH_CHUNK`] finished attempts in one round trip to sqlx's SQLite
/// thread: one `INSERT … SELECT` of the attempts whose claim still holds, then one
/// `UPDATE … FROM (VALUES …)` of their deliveries under the same fencing check. Measured
/// reason: two statements per finish cost the finisher two round trips each (a thread
/// hand-off per statement), and the single connection is shared with the claim loop and
/// the writer.
async fn finish_chunk(
    conn: &mut SqliteConnection,
    chunk: &[Finish],
    now: i64,
) -> Result<Vec<bool>, OutboxError> {
    // Both statements in one query: sqlx binds a multi-statement query's `?`s in order,
    // so every row's values are pushed twice. The attempts go first: the join checks the
    // claim before the update ends it.
    let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
        "INSERT INTO attempts (delivery_id, number, trigger, started_at, duration_ms, status, \
           error, response) \
         SELECT v.column1, v.column3, v.column4, v.column5, v.column6, v.column7, v.column8, \
           v.column9 \
         FROM (",
    );
    q.push_values(chunk, |mut b, done| {
        let a = &done.attempt;
        let head = &a.response_head[..a.response_head.len().min(RESPONSE_HEAD_CAP)];
        b.push_bind(done.delivery_id)
            .push_bind(done.token)
            .push_bind(i64::from(a.number))
            .push_bind(a.trigger.as_str())
            .push_bind(a.started_ms)
            .push_bind(i64::try_from(a.duration_ms).unwrap_or(i64::MAX))
            .push_bind(a.status.map(i64::from))
            .push_bind(a.error.as_deref())
            .push_bind(head);
    });
    q.push(
        ") AS v JOIN deliveries d ON d.id = v.column1 AND d.lease_token = v.column2 \
           AND d.state = 'in_flight'; \
         UPDATE deliveries SET state = v.column3, next_attempt_at = v.column4, \
           finished_at = v.column5, lease_owner = NULL, lease_expires_at = NULL, manual = 0, \
           attempts = attempts - v.column6 \
         FROM (",
    );
    q.push_values(chunk, |mut b, done| {
        let (state, next, finished) = match done.next {
            Transition::Delivered => ("delivered", now, Some(now)),
            Transition::Dead => ("dead", now, Some(now)),
            Transition::RetryAt(at) => ("pending", at, None),
        };
        b.push_bind(done.delivery_id)
            .push_bind(done.token)
            .push_bind(state)
            .push_bind(next)
            .push_bind(finished)
            .push_bind(i64::from(done.uncount));
    });
    q.push(
        ") AS v WHERE deliveries.id = v.column1 AND deliveries.lease_token = v.column2 \
           AND deliveries.state = 'in_flight' \
         RETURNING deliveries.id, deliveries.lease_token",
    );
    let rows = q
        .build()
        .persistent(false)
        .fetch_all(&mut *conn)
        .await
        .map_err(db("recording attempts"))?;
    let mut applied = std::collections::HashSet::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get(0).map_err(db("recording attempts"))?;
        let token: i64 = row.try_get(1).map_err(db("recording attempts"))?;
        applied.insert((id, token));
    }
    Ok(chunk
        .iter()
        .map(|done| applied.contains(&(done.delivery_id, done.token)))
        .collect())
}

/// Leases up to `limit` due deliveries (see [`Store::claim`]) inside the caller's
/// transaction, with their events' bodies.
async fn claim_in(
    conn: &mut SqliteConnection,
    owner: &str,
    limit: usize,
    now: i64,
    lease: i64,
) -> Result<Vec<Claimed>, OutboxError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = sqlx::query(
        "UPDATE deliveries SET state = 'in_flight', attempts = attempts + 1, \
           lease_owner = ?1, lease_expires_at = ?2, lease_token = lease_token + 1 \
         WHERE id IN ( \
           SELECT id FROM deliveries d WHERE state = 'pending' AND next_attempt_at <= ?3 \
             AND (order_key IS NULL OR NOT EXISTS ( \
               SELECT 1 FROM deliveries p WHERE p.order_key = d.order_key \
                 AND p.url = d.url AND p.id < d.id \
                 AND p.state IN ('pending', 'in_flight'))) \
           UNION ALL \
           SELECT id FROM deliveries WHERE state = 'in_flight' AND lease_expires_at <= ?3 \
           LIMIT ?4) \
         RETURNING id, event_id, url, attempts, lease_token, manual",
    )
    .bind(owner)
    .bind(now.saturating_add(lease))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await
    .map_err(db("claiming deliveries"))?;
    let mut claimed = Vec::with_capacity(rows.len());
    for r in &rows {
        let attempts: i64 = r.try_get("attempts").map_err(db("reading a claim"))?;
        let manual: i64 = r.try_get("manual").map_err(db("reading a claim"))?;
        claimed.push(Claimed {
            delivery_id: r.try_get("id").map_err(db("reading a claim"))?,
            event_id: EventId(r.try_get("event_id").map_err(db("reading a claim"))?),
            token: r.try_get("lease_token").map_err(db("reading a claim"))?,
            attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            manual: manual != 0,
            url: r.try_get("url").map_err(db("reading a claim"))?,
            body: Vec::new(),
            job_id: String::new(),
            state: String::new(),
            trace: None,
        });
    }
    for chunk in claimed.chunks_mut(500) {
        let sql = format!(
            "SELECT id, body, job_id, state, traceparent, tracestate FROM events \
             WHERE id IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(&sql);
        for c in chunk.iter() {
            q = q.bind(c.event_id.as_str());
        }
        let events = q
            .fetch_all(&mut *conn)
            .await
            .map_err(db("reading claimed events"))?;
        for e in &events {
            let id: String = e.try_get("id").map_err(db("reading an event"))?;
            for c in chunk.iter_mut().filter(|c| c.event_id.0 == id) {
                c.body = e.try_get("body").map_err(db("reading an event"))?;
                c.job_id = e.try_get("job_id").map_err(db("reading an event"))?;
                c.state = e.try_get("state").map_err(db("reading an event"))?;
                c.trace = super::StoredTrace::from_columns(
                    e.try_get("traceparent").map_err(db("reading an event"))?,
                    e.try_get("tracestate").map_err(db("reading an event"))?,
                );
            }
        }
    }
    Ok(claimed)
}

impl Store for SqliteStore {
    fn insert<'a>(
        &'a self,
        batch: &'a [NewDelivery],
    ) -> BoxFut<'a, Result<Vec<EventId>, OutboxError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(db("beginning a batch"))?;
            let mut ids = Vec::with_capacity(batch.len());
            for chunk in batch.chunks(INSERT_CHUNK) {
                ids.extend(insert_chunk(&mut tx, chunk).await?);
            }
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
            let mut tx = self.pool.begin().await.map_err(db("beginning a claim"))?;
            let claimed = claim_in(&mut tx, owner, limit, now, lease).await?;
            tx.commit().await.map_err(db("committing a claim"))?;
            Ok(claimed)
        })
    }

    fn finish_batch<'a>(
        &'a self,
        batch: &'a [Finish],
        now: i64,
    ) -> BoxFut<'a, Result<Vec<bool>, OutboxError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(db("beginning a finish"))?;
            let mut held = Vec::with_capacity(batch.len());
            for chunk in batch.chunks(FINISH_CHUNK) {
                held.extend(finish_chunk(&mut tx, chunk, now).await?);
            }
            tx.commit().await.map_err(db("committing attempts"))?;
            Ok(held)
        })
    }

    fn finish_and_claim<'a>(
        &'a self,
        batch: &'a [Finish],
        now: i64,
        owner: &'a str,
        limit: usize,
        lease: i64,
    ) -> BoxFut<'a, Result<super::FinishedAndClaimed, OutboxError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await.map_err(db("beginning a finish"))?;
            let mut held = Vec::with_capacity(batch.len());
            for chunk in batch.chunks(FINISH_CHUNK) {
                held.extend(finish_chunk(&mut tx, chunk, now).await?);
            }
            // The claim sees this transaction's finishes: a retry due at once is
            // claimable again here, under a new token (see `Claims::forget`).
            let claimed = if limit > 0 {
                claim_in(&mut tx, owner, limit, now, lease).await?
            } else {
                Vec::new()
            };
            tx.commit().await.map_err(db("committing attempts"))?;
            Ok((held, claimed))
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
                    "UPDATE deliveries SET state = 'pending', lease_owner = NULL, \
                       lease_expires_at = NULL, attempts = attempts - ?3 \
                     WHERE id = ?1 AND lease_token = ?2 AND state = 'in_flight'",
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
                    "UPDATE deliveries SET state = 'pending', lease_owner = NULL, \
                       lease_expires_at = NULL, attempts = attempts - 1, next_attempt_at = ?3 \
                     WHERE id = ?1 AND lease_token = ?2 AND state = 'in_flight'",
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
                   SELECT min(next_attempt_at) AS t FROM deliveries WHERE state = 'pending' \
                   UNION ALL \
                   SELECT min(lease_expires_at) FROM deliveries WHERE state = 'in_flight')",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(db("finding the next due delivery"))
        })
    }

    fn status(&self, now: i64) -> BoxFut<'_, Result<OutboxStatus, OutboxError>> {
        Box::pin(async move {
            let mut s = OutboxStatus::default();
            let rows = sqlx::query("SELECT state, count(*) AS n FROM deliveries GROUP BY state")
                .fetch_all(&self.pool)
                .await
                .map_err(db("counting deliveries"))?;
            for r in &rows {
                count_row(&mut s, r).map_err(db("counting deliveries"))?;
            }
            let oldest: Option<i64> = sqlx::query_scalar(
                "SELECT min(e.created_at) FROM deliveries d JOIN events e ON e.id = d.event_id \
                 WHERE d.state IN ('pending', 'in_flight')",
            )
            .fetch_one(&self.pool)
            .await
            .map_err(db("finding the oldest pending delivery"))?;
            s.oldest_pending_age_ms = oldest.map(|t| u64::try_from(now - t).unwrap_or(0));
            s.next_due_ms = sqlx::query_scalar(
                "SELECT min(next_attempt_at) FROM deliveries WHERE state = 'pending'",
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
                 FROM deliveries d JOIN events e ON e.id = d.event_id \
                 WHERE ?1 IS NULL OR d.state = ?1 ORDER BY d.id LIMIT ?2",
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
                 FROM attempts a JOIN deliveries d ON d.id = a.delivery_id \
                 WHERE d.event_id = ?1 ORDER BY d.id, a.number, a.started_at",
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
                    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?1, manual = 1, \
                       finished_at = NULL WHERE event_id = ?2 AND state != 'in_flight'",
                )
                .bind(now)
                .bind(id.as_str()),
                Redeliver::AllDead => sqlx::query(
                    "UPDATE deliveries SET state = 'pending', next_attempt_at = ?1, manual = 1, \
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
                "DELETE FROM events WHERE id IN ( \
                   SELECT event_id FROM deliveries GROUP BY event_id \
                   HAVING sum(state IN ('pending', 'in_flight')) = 0 AND max(finished_at) < ?1)",
            )
            .bind(before)
            .execute(&self.pool)
            .await
            .map_err(db("pruning"))?
            .rows_affected())
        })
    }
}
