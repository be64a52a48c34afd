-- Version 1: events (the exact body bytes; the id is the Standard Webhooks webhook-id),
-- one delivery per (event, URL) with its lease, and the attempt history. No secret is
-- ever stored: requests are signed at send time.
CREATE TABLE foreman_events (
    id              TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    job_id          TEXT NOT NULL,
    state           TEXT NOT NULL,
    body            BYTEA NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE foreman_deliveries (
    id               BIGSERIAL PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES foreman_events (id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    lease_token      BIGINT NOT NULL DEFAULT 0,
    UNIQUE (event_id, url)
);

CREATE INDEX foreman_deliveries_due ON foreman_deliveries (state, next_attempt_at);

CREATE TABLE foreman_attempts (
    delivery_id BIGINT NOT NULL REFERENCES foreman_deliveries (id) ON DELETE CASCADE,
    number      BIGINT NOT NULL,
    trigger     TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    status      BIGINT,
    error       TEXT,
    response    BYTEA
);

CREATE INDEX foreman_attempts_delivery ON foreman_attempts (delivery_id, number);
