-- Version 2: when a delivery finished (for retention pruning), whether its next attempt
-- was asked for by hand (redelivery), and an index for expired leases.
ALTER TABLE deliveries ADD COLUMN finished_at INTEGER;
ALTER TABLE deliveries ADD COLUMN manual INTEGER NOT NULL DEFAULT 0;
CREATE INDEX deliveries_finished ON deliveries (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX deliveries_lease ON deliveries (lease_expires_at) WHERE state = 'in_flight';
