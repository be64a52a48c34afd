-- Version 3: per-job ordering. An ordered delivery carries its event's job id as
-- order_key; only the oldest undelivered (pending or in flight) delivery of an
-- (order_key, url) pair can be claimed. NULL = not ordered (every row before v3).
ALTER TABLE foreman_deliveries ADD COLUMN order_key TEXT;
CREATE INDEX foreman_deliveries_order ON foreman_deliveries (order_key, url, id)
    WHERE order_key IS NOT NULL AND state IN ('pending', 'in_flight');
