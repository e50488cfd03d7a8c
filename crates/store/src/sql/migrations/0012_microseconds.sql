-- Instants as microseconds since the Unix epoch instead of nanoseconds: an i64 of
-- nanoseconds wraps after 2262-04-11 (a call-back due in 3000 was stored as a date in 1830),
-- one of microseconds spans ±292,000 years and holds every instant the API accepts (1970 to
-- 9999). Every `*_ns` column becomes `*_us` holding its value divided by 1000 (rounded
-- towards zero; order is kept), and so does the one duration column
-- (`case_insights.after_escalation`). The append-only tables' update triggers are lifted for
-- the conversion and put back as they were. A value that had already wrapped cannot be
-- recovered: it was written as a wrong date and stays one.

-- [sqlite]
DROP TRIGGER events_no_update;
DROP TRIGGER matrix_versions_no_update;
DROP TRIGGER audit_log_no_update;
-- [postgres]
ALTER TABLE events DISABLE TRIGGER events_no_update;
ALTER TABLE matrix_versions DISABLE TRIGGER matrix_versions_no_update;
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update;
-- [end]

ALTER TABLE events RENAME COLUMN at_ns TO at_us;
UPDATE events SET at_us = at_us / 1000;

ALTER TABLE cases RENAME COLUMN created_at_ns TO created_at_us;
ALTER TABLE cases RENAME COLUMN updated_at_ns TO updated_at_us;
ALTER TABLE cases RENAME COLUMN sla_due_at_ns TO sla_due_at_us;
ALTER TABLE cases RENAME COLUMN queue_rank_ns TO queue_rank_us;
ALTER TABLE cases RENAME COLUMN callback_due_ns TO callback_due_us;
ALTER TABLE cases RENAME COLUMN queued_since_ns TO queued_since_us;
ALTER TABLE cases RENAME COLUMN approval_since_ns TO approval_since_us;
UPDATE cases SET created_at_us = created_at_us / 1000, updated_at_us = updated_at_us / 1000, sla_due_at_us = sla_due_at_us / 1000, queue_rank_us = queue_rank_us / 1000, callback_due_us = callback_due_us / 1000, queued_since_us = queued_since_us / 1000, approval_since_us = approval_since_us / 1000;

ALTER TABLE messages RENAME COLUMN at_ns TO at_us;
UPDATE messages SET at_us = at_us / 1000;

ALTER TABLE teams RENAME COLUMN updated_at_ns TO updated_at_us;
UPDATE teams SET updated_at_us = updated_at_us / 1000;

ALTER TABLE users RENAME COLUMN updated_at_ns TO updated_at_us;
UPDATE users SET updated_at_us = updated_at_us / 1000;

ALTER TABLE customers RENAME COLUMN updated_at_ns TO updated_at_us;
UPDATE customers SET updated_at_us = updated_at_us / 1000;

ALTER TABLE tokens RENAME COLUMN created_at_ns TO created_at_us;
ALTER TABLE tokens RENAME COLUMN expires_at_ns TO expires_at_us;
ALTER TABLE tokens RENAME COLUMN revoked_at_ns TO revoked_at_us;
UPDATE tokens SET created_at_us = created_at_us / 1000, expires_at_us = expires_at_us / 1000, revoked_at_us = revoked_at_us / 1000;

ALTER TABLE idempotency RENAME COLUMN created_at_ns TO created_at_us;
UPDATE idempotency SET created_at_us = created_at_us / 1000;

ALTER TABLE matrix_drafts RENAME COLUMN updated_at_ns TO updated_at_us;
UPDATE matrix_drafts SET updated_at_us = updated_at_us / 1000;

ALTER TABLE matrix_versions RENAME COLUMN created_at_ns TO created_at_us;
UPDATE matrix_versions SET created_at_us = created_at_us / 1000;

ALTER TABLE matrix_activations RENAME COLUMN at_ns TO at_us;
UPDATE matrix_activations SET at_us = at_us / 1000;

ALTER TABLE timers RENAME COLUMN fire_at_ns TO fire_at_us;
ALTER TABLE timers RENAME COLUMN lease_until_ns TO lease_until_us;
UPDATE timers SET fire_at_us = fire_at_us / 1000, lease_until_us = lease_until_us / 1000;

ALTER TABLE agents RENAME COLUMN presence_since_ns TO presence_since_us;
ALTER TABLE agents RENAME COLUMN updated_at_ns TO updated_at_us;
UPDATE agents SET presence_since_us = presence_since_us / 1000, updated_at_us = updated_at_us / 1000;

ALTER TABLE case_insights RENAME COLUMN last_escalated_ns TO last_escalated_us;
ALTER TABLE case_insights RENAME COLUMN after_escalation_ns TO after_escalation_us;
UPDATE case_insights SET last_escalated_us = last_escalated_us / 1000, after_escalation_us = after_escalation_us / 1000;

ALTER TABLE insight_breaches RENAME COLUMN due_ns TO due_us;
UPDATE insight_breaches SET due_us = due_us / 1000;

ALTER TABLE audit_log RENAME COLUMN at_ns TO at_us;
UPDATE audit_log SET at_us = at_us / 1000;

-- [sqlite]
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: never updated'); END;
CREATE TRIGGER matrix_versions_no_update BEFORE UPDATE ON matrix_versions
BEGIN SELECT RAISE(ABORT, 'matrix versions are immutable'); END;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit history is append-only'); END;
-- [postgres]
ALTER TABLE events ENABLE TRIGGER events_no_update;
ALTER TABLE matrix_versions ENABLE TRIGGER matrix_versions_no_update;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update;
-- [end]
