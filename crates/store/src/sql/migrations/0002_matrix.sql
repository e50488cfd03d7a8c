-- Ladder schema, version 2: the escalation matrix.
-- Drafts are edited freely; activating one freezes its text as a new numbered version.
-- Versions are never changed or deleted, so every event can name the version that decided it.

CREATE TABLE matrix_drafts (
    name           TEXT PRIMARY KEY,
    source         TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    updated_at_ns  INTEGER NOT NULL
);

-- `version` is assigned by the code (max + 1), not by the database.
CREATE TABLE matrix_versions (
    version        INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    source         TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at_ns  INTEGER NOT NULL
);
-- [sqlite]
CREATE TRIGGER matrix_versions_no_update BEFORE UPDATE ON matrix_versions
BEGIN SELECT RAISE(ABORT, 'matrix versions are immutable'); END;
CREATE TRIGGER matrix_versions_no_delete BEFORE DELETE ON matrix_versions
BEGIN SELECT RAISE(ABORT, 'matrix versions are immutable'); END;
-- [postgres]
CREATE TRIGGER matrix_versions_no_update BEFORE UPDATE ON matrix_versions
    FOR EACH ROW EXECUTE FUNCTION ladder_refuse_change('matrix versions are immutable');
CREATE TRIGGER matrix_versions_no_delete BEFORE DELETE ON matrix_versions
    FOR EACH ROW EXECUTE FUNCTION ladder_refuse_change('matrix versions are immutable');
-- TRUNCATE skips row triggers: refused too (see events_no_truncate).
CREATE TRIGGER matrix_versions_no_truncate BEFORE TRUNCATE ON matrix_versions
    FOR EACH STATEMENT EXECUTE FUNCTION ladder_refuse_change('matrix versions are immutable');
-- [end]

-- Every activation and rollback, newest last; the last row is the active version.
-- `seq` is assigned by the database (inserts leave it out).
CREATE TABLE matrix_activations (
    seq      {assigned_key},
    version  INTEGER NOT NULL REFERENCES matrix_versions (version),
    kind     TEXT    NOT NULL,
    by_user  TEXT    NOT NULL,
    at_ns    INTEGER NOT NULL
);

ALTER TABLE events ADD COLUMN matrix_version INTEGER;
