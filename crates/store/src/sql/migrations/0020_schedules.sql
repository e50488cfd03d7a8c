-- On-call schedules. The document holds the schedule (its spec, its overrides with their ids,
-- its version); the columns are what lookups use. A slug is unique.
CREATE TABLE schedules (
    id             TEXT    PRIMARY KEY,
    slug           TEXT    NOT NULL UNIQUE,
    version        INTEGER NOT NULL,
    doc            TEXT    NOT NULL,
    updated_at_us  INTEGER NOT NULL
);
-- Calendar feed tokens: a calendar app cannot send a bearer token, so a feed's URL carries a
-- secret of its own, stored as its SHA-256 (`hash`, hex). `kind` is `schedule` or `user`,
-- `target` the schedule's or the user's id; `owner_id` the user who minted it.
CREATE TABLE feed_tokens (
    id             TEXT    PRIMARY KEY,
    hash           TEXT    NOT NULL UNIQUE,
    owner_id       TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    target         TEXT    NOT NULL,
    created_at_us  INTEGER NOT NULL
);
CREATE INDEX feed_tokens_owner ON feed_tokens (owner_id);
