-- Keys the servers generate once and share through the database, by name: `portal` signs
-- the customer portal's links (HMAC-SHA256), so a link works on every server and after a
-- restart. Never logged, never exported.
CREATE TABLE server_secrets (
    name           TEXT    PRIMARY KEY,
    secret         BLOB    NOT NULL,
    created_at_us  INTEGER NOT NULL
);
