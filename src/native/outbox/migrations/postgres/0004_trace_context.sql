-- Version 4: the caller's W3C trace context at `fire` (feature `otel`), so a delivery
-- claimed by a restarted process or another relay continues the caller's trace.
-- NULL = none (no active span, the feature off, or every row before v4).
ALTER TABLE foreman_events ADD COLUMN traceparent TEXT;
ALTER TABLE foreman_events ADD COLUMN tracestate TEXT;
