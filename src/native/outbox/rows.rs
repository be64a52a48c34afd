//! Reading stored rows back into the outbox's types: one decoder per row kind for both
//! SQL backends (their queries differ in dialect and table names, not in the columns).

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{AttemptRow, DeliveryRow, DeliveryState, EventId, OutboxStatus, Trigger};

/// A row of `outbox list`: columns `event_id, url, job_id, job_state, state, attempts,
/// next_attempt_at, created_at`.
pub(super) fn delivery_row<'r, R>(r: &'r R) -> Result<DeliveryRow, sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let state: String = r.try_get("state")?;
    let attempts: i64 = r.try_get("attempts")?;
    Ok(DeliveryRow {
        event_id: EventId(r.try_get("event_id")?),
        url: r.try_get("url")?,
        job_id: r.try_get("job_id")?,
        job_state: r.try_get("job_state")?,
        state: DeliveryState::parse(&state).unwrap_or(DeliveryState::Pending),
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_ms: r.try_get("next_attempt_at")?,
        created_ms: r.try_get("created_at")?,
    })
}

/// A row of `outbox attempts`: columns `url, number, trigger, started_at, duration_ms,
/// status, error, response`.
pub(super) fn attempt_row<'r, R>(r: &'r R) -> Result<AttemptRow, sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let trigger: String = r.try_get("trigger")?;
    let status: Option<i64> = r.try_get("status")?;
    let duration: i64 = r.try_get("duration_ms")?;
    let number: i64 = r.try_get("number")?;
    Ok(AttemptRow {
        url: r.try_get("url")?,
        number: u32::try_from(number).unwrap_or(0),
        trigger: if trigger == "manual" {
            Trigger::Manual
        } else {
            Trigger::Scheduled
        },
        started_ms: r.try_get("started_at")?,
        duration_ms: u64::try_from(duration).unwrap_or(0),
        status: status.and_then(|s| u16::try_from(s).ok()),
        error: r.try_get("error")?,
        response_head: r
            .try_get::<Option<Vec<u8>>, _>("response")?
            .unwrap_or_default(),
    })
}

/// Adds a `state, n` row of `SELECT state, count(*) AS n … GROUP BY state` to `status`.
pub(super) fn count_row<'r, R>(status: &mut OutboxStatus, r: &'r R) -> Result<(), sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
{
    let state: String = r.try_get("state")?;
    let n: i64 = r.try_get("n")?;
    let n = u64::try_from(n).unwrap_or(0);
    match DeliveryState::parse(&state) {
        Some(DeliveryState::Pending) => status.pending = n,
        Some(DeliveryState::InFlight) => status.in_flight = n,
        Some(DeliveryState::Delivered) => status.delivered = n,
        Some(DeliveryState::Dead) => status.dead = n,
        None => {}
    }
    Ok(())
}
