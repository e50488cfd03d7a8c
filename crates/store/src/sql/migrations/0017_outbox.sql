-- The notification outbox: one row per recipient and channel of a notification a case
-- event asked for, written in the transaction of that event, delivered at least once by
-- the delivery worker. `next_attempt_us` is set while the row waits (NULL once delivered
-- or dead); a server claims due rows for a while (`lease_until_us`), like timers, so
-- several servers on one database never send a row at the same time. `idempotency_key`
-- is sent with every attempt, so a receiver can drop the duplicates at-least-once allows.
-- Not a projection: delivery state is not in the event log, and a rebuild leaves it be.
CREATE TABLE deliveries (
    id               {assigned_key},
    case_id          TEXT    NOT NULL,
    case_number      INTEGER NOT NULL,
    event_version    INTEGER NOT NULL,
    event_kind       TEXT    NOT NULL,
    recipient        TEXT    NOT NULL,
    channel          TEXT    NOT NULL,
    address          TEXT    NOT NULL,
    language         TEXT    NOT NULL,
    template         TEXT,
    placeholders     TEXT    NOT NULL,
    idempotency_key  TEXT    NOT NULL UNIQUE,
    status           TEXT    NOT NULL,
    attempts         INTEGER NOT NULL, -- failed attempts since it was (re)queued
    created_at_us    INTEGER NOT NULL,
    next_attempt_us  INTEGER,
    lease_until_us   INTEGER,
    lease_node       TEXT,
    delivered_at_us  INTEGER,
    last_error       TEXT
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_us) WHERE next_attempt_us IS NOT NULL;
CREATE INDEX deliveries_leased ON deliveries (lease_until_us) WHERE lease_until_us IS NOT NULL;
CREATE INDEX deliveries_status ON deliveries (status, id);
CREATE INDEX deliveries_case ON deliveries (case_number, id);

-- Every attempt at a delivery and how it ended (`ok` is 0 or 1).
CREATE TABLE delivery_attempts (
    id           {assigned_key},
    delivery_id  INTEGER NOT NULL,
    at_us        INTEGER NOT NULL,
    node         TEXT    NOT NULL,
    ok           INTEGER NOT NULL,
    error        TEXT
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);

-- Notification templates per event kind and language (built-in defaults otherwise).
CREATE TABLE notification_templates (
    event_kind     TEXT    NOT NULL,
    language       TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    body           TEXT    NOT NULL,
    updated_at_us  INTEGER NOT NULL,
    PRIMARY KEY (event_kind, language)
);

-- How a user is reached on a channel beyond their email (a phone number for SMS).
CREATE TABLE user_contacts (
    user_id  TEXT NOT NULL,
    channel  TEXT NOT NULL,
    address  TEXT NOT NULL,
    PRIMARY KEY (user_id, channel)
);
