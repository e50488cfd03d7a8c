-- The audit history of directory changes (teams, users, passwords, customers, tokens,
-- agents' profiles and presence): who did what to which entry, and when. Append-only like
-- the event log. `seq` is assigned by the database (inserts leave it out).
CREATE TABLE audit_log (
    seq        {assigned_key},
    at_ns      INTEGER NOT NULL,
    actor_id   TEXT,
    actor_name TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    detail     TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at_ns, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);
-- [sqlite]
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit history is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit history is append-only'); END;
-- [postgres]
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION ladder_refuse_change('the audit history is append-only');
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION ladder_refuse_change('the audit history is append-only');
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ladder_refuse_change('the audit history is append-only');
-- [end]
