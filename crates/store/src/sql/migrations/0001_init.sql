-- Ladder schema, version 1.
-- The event log is the truth and is append-only (enforced by triggers below);
-- every other table is a projection or directory data.

-- [postgres]
-- Raises the message given as the trigger's argument: the append-only and immutability
-- triggers of this and later migrations (SQLite: RAISE(ABORT, 'message')). SQLSTATE 23000,
-- as SQLite reports a RAISE(ABORT) as a constraint failure.
CREATE FUNCTION ladder_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = TG_ARGV[0], ERRCODE = 'integrity_constraint_violation';
END;
$$;
-- [end]

-- `seq` is assigned by the database (SQLite: the rowid, read back with last_insert_rowid();
-- PostgreSQL: INSERT … RETURNING seq).
CREATE TABLE events (
    seq      {assigned_key},
    case_id  TEXT    NOT NULL,
    version  INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    schema   INTEGER NOT NULL,
    at_ns    INTEGER NOT NULL,
    actor    TEXT    NOT NULL,
    data     TEXT    NOT NULL,
    UNIQUE (case_id, version)
);
CREATE INDEX events_at ON events (at_ns);
-- [sqlite]
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: never updated'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only: never deleted'); END;
-- [postgres]
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    FOR EACH ROW EXECUTE FUNCTION ladder_refuse_change('events are append-only: never updated');
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION ladder_refuse_change('events are append-only: never deleted');
-- TRUNCATE skips row triggers (SQLite has no TRUNCATE; its DELETE without WHERE fires the
-- trigger above), so it is refused too.
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION ladder_refuse_change('events are append-only: never deleted');
-- [end]

-- Projection: one narrow row per case with the columns lists filter on, so scanning an
-- index range touches small rows; the folded state lives in `case_docs`. `number` is
-- assigned by the code (max + 1), not by the database.
CREATE TABLE cases (
    number         INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    status         TEXT    NOT NULL,
    level          TEXT    NOT NULL,
    team_id        TEXT,
    assignee_id    TEXT,
    customer_id    TEXT,
    priority       TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    category       TEXT,
    created_at_ns  INTEGER NOT NULL,
    updated_at_ns  INTEGER NOT NULL,
    version        INTEGER NOT NULL
);
CREATE INDEX cases_status   ON cases (status, number);
CREATE INDEX cases_team     ON cases (team_id, number);
CREATE INDEX cases_assignee ON cases (assignee_id, number);
CREATE INDEX cases_customer ON cases (customer_id, number);
CREATE INDEX cases_level    ON cases (level, number);
CREATE INDEX cases_priority ON cases (priority, number);
CREATE INDEX cases_channel  ON cases (channel, number);

-- The folded case state (JSON), by case number.
CREATE TABLE case_docs (
    number INTEGER PRIMARY KEY,
    doc    TEXT    NOT NULL
);

-- Everyone who has had a case assigned keeps seeing it.
CREATE TABLE case_workers (
    user_id TEXT    NOT NULL,
    number  INTEGER NOT NULL,
    PRIMARY KEY (user_id, number)
) WITHOUT ROWID;

CREATE TABLE messages (
    id          TEXT PRIMARY KEY,
    case_number INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    author      TEXT    NOT NULL,
    visibility  TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    at_ns       INTEGER NOT NULL
);
CREATE INDEX messages_case ON messages (case_number, seq);

-- Full-text search: one row per text (subject and description, each message, each new
-- subject), numbered case number << 20 | event version, so a case's texts are adjacent and
-- reading backwards yields the newest cases first.
-- [sqlite]
-- An FTS5 table (porter stemmer, unicode61, diacritics removed) whose rowid is that number.
CREATE VIRTUAL TABLE case_text USING fts5(
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- [postgres]
-- `rowid` is an ordinary key column (the code writes `rowid, body` as on SQLite) and `tsv`
-- the English-stemmed terms, searched with `tsv @@ <tsquery>` instead of `body MATCH <fts5
-- query>`. The 'english' configuration drops stop words and keeps diacritics (unaccent is
-- an extension, not assumed here).
CREATE TABLE case_text (
    rowid  BIGINT   PRIMARY KEY,
    body   TEXT     NOT NULL,
    tsv    tsvector GENERATED ALWAYS AS (to_tsvector('english'::regconfig, body)) STORED
);
CREATE INDEX case_text_tsv ON case_text USING gin (tsv);
-- [end]

CREATE TABLE teams (
    id             TEXT PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    level          TEXT NOT NULL,
    doc            TEXT NOT NULL,
    updated_at_ns  INTEGER NOT NULL
);

-- `active` is 0 or 1 (an integer on both backends; not BOOLEAN).
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    active         INTEGER NOT NULL,
    password_hash  TEXT,
    doc            TEXT NOT NULL,
    updated_at_ns  INTEGER NOT NULL
);

CREATE TABLE user_teams (
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id)
) WITHOUT ROWID;

CREATE TABLE customers (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    segment        TEXT,
    doc            TEXT NOT NULL,
    updated_at_ns  INTEGER NOT NULL
);
CREATE INDEX customers_name ON customers (name);

-- One identity (an email address, a phone number) belongs to one customer.
CREATE TABLE customer_identities (
    channel     TEXT NOT NULL,
    value       TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    PRIMARY KEY (channel, value)
) WITHOUT ROWID;
CREATE INDEX customer_identities_customer ON customer_identities (customer_id);

-- API tokens: only a SHA-256 hash of the secret is kept.
CREATE TABLE tokens (
    id             TEXT PRIMARY KEY,
    user_id        TEXT NOT NULL,
    name           TEXT NOT NULL,
    hash           TEXT NOT NULL UNIQUE,
    created_at_ns  INTEGER NOT NULL,
    expires_at_ns  INTEGER,
    revoked_at_ns  INTEGER
);
CREATE INDEX tokens_user ON tokens (user_id);

-- Results of writes made with an Idempotency-Key, so a retry gets the same answer.
CREATE TABLE idempotency (
    scope          TEXT NOT NULL,
    key            TEXT NOT NULL,
    fingerprint    TEXT NOT NULL,
    result         TEXT NOT NULL,
    created_at_ns  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;
