-- Ladder schema, version 2: the escalation matrix.
-- Drafts are edited freely; activating one freezes its text as a new numbered version.
-- Versions are never changed or deleted, so every event can name the version that decided it.

CREATE TABLE matrix_drafts (
    name           TEXT PRIMARY KEY,
    source         TEXT NOT NULL,
    updated_by     TEXT NOT NULL,
    updated_at_ns  INTEGER NOT NULL
);

CREATE TABLE matrix_versions (
    version        INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    source         TEXT NOT NULL,
    created_by     TEXT NOT NULL,
    created_at_ns  INTEGER NOT NULL
);
CREATE TRIGGER matrix_versions_no_update BEFORE UPDATE ON matrix_versions
BEGIN SELECT RAISE(ABORT, 'matrix versions are immutable'); END;
CREATE TRIGGER matrix_versions_no_delete BEFORE DELETE ON matrix_versions
BEGIN SELECT RAISE(ABORT, 'matrix versions are immutable'); END;

-- Every activation and rollback, newest last; the last row is the active version.
CREATE TABLE matrix_activations (
    seq      INTEGER PRIMARY KEY,
    version  INTEGER NOT NULL REFERENCES matrix_versions (version),
    kind     TEXT    NOT NULL,
    by_user  TEXT    NOT NULL,
    at_ns    INTEGER NOT NULL
);

ALTER TABLE events ADD COLUMN matrix_version INTEGER;
