-- Version 1: events (the exact body bytes; the id is the Standard Webhooks webhook-id),
-- one delivery per (event, URL) with its lease, and the attempt history. No secret is
-- ever stored: requests are signed at send time.
CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    idempotency_key TEXT UNIQUE,
    job_id          TEXT NOT NULL,
    state           TEXT NOT NULL,
    body            BLOB NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY,
    event_id         TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    url              TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'in_flight', 'delivered', 'dead')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_owner      TEXT,
    lease_expires_at INTEGER,
    lease_token      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (event_id, url)
);

CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);

CREATE TABLE attempts (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    trigger     TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    status      INTEGER,
    error       TEXT,
    response    BLOB
);

CREATE INDEX attempts_delivery ON attempts (delivery_id, number);
