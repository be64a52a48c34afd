-- Version 2: when a delivery finished (for retention pruning), whether its next attempt
-- was asked for by hand (redelivery), and an index for expired leases.
ALTER TABLE foreman_deliveries ADD COLUMN finished_at BIGINT;
ALTER TABLE foreman_deliveries ADD COLUMN manual BIGINT NOT NULL DEFAULT 0;
CREATE INDEX foreman_deliveries_finished ON foreman_deliveries (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX foreman_deliveries_lease ON foreman_deliveries (lease_expires_at) WHERE state = 'in_flight';
