-- IT incidents. `services` are what monitoring alerts about (the document holds the service;
-- the columns are what lookups use). `service_keys` are their integration (routing) keys,
-- stored as the SHA-256 of the secret, which is shown once; a revoked key stays, marked.
CREATE TABLE services (
    id             TEXT PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    team_id        TEXT    NOT NULL,
    doc            TEXT    NOT NULL,
    updated_at_us  INTEGER NOT NULL
);
CREATE TABLE service_keys (
    id             TEXT PRIMARY KEY,
    key_hash       TEXT    NOT NULL UNIQUE,
    service_id     TEXT    NOT NULL,
    doc            TEXT    NOT NULL,
    created_at_us  INTEGER NOT NULL,
    revoked_at_us  INTEGER
);
CREATE INDEX service_keys_service ON service_keys (service_id, created_at_us);
-- Incidents: a projection of the cases of kind `incident` (rebuilt from the events with the
-- other case projections). `open_key` (service id, a slash, the deduplication key) is set
-- while the incident is open, so one key names at most one open incident of a service.
CREATE TABLE incidents (
    case_id              TEXT PRIMARY KEY,
    number               INTEGER NOT NULL,
    service_id           TEXT    NOT NULL,
    team_id              TEXT    NOT NULL,
    dedup_key            TEXT    NOT NULL,
    open_key             TEXT    UNIQUE,
    severity             TEXT    NOT NULL,
    status               TEXT    NOT NULL,
    triggered_at_us      INTEGER NOT NULL,
    acknowledged_at_us   INTEGER,
    resolved_at_us       INTEGER
);
CREATE INDEX incidents_triggered ON incidents (triggered_at_us);
CREATE INDEX incidents_service ON incidents (service_id, triggered_at_us);
