-- Macros: canned replies of a team or of one user. The document holds the macro; the
-- columns are what lists filter on. A name is unique per owner.
CREATE TABLE macros (
    id             TEXT PRIMARY KEY,
    owner_kind     TEXT    NOT NULL,
    owner_id       TEXT    NOT NULL,
    name           TEXT    NOT NULL,
    doc            TEXT    NOT NULL,
    updated_at_us  INTEGER NOT NULL
);
CREATE UNIQUE INDEX macros_owner_name ON macros (owner_kind, owner_id, name);
