-- Knowledge articles. `articles` holds each article's current version (the document) and
-- the columns lists filter on; `article_versions` every version as written, with its author
-- (never updated: a change appends one). `n` numbers an article for its full-text row.
CREATE TABLE articles (
    n                {assigned_key},
    id               TEXT    NOT NULL UNIQUE,
    version          INTEGER NOT NULL,
    status           TEXT    NOT NULL,
    doc              TEXT    NOT NULL,
    updated_at_us    INTEGER NOT NULL,
    published_at_us  INTEGER
);
CREATE INDEX articles_updated ON articles (updated_at_us);
CREATE TABLE article_versions (
    article_id  TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    author_id   TEXT    NOT NULL,
    at_us       INTEGER NOT NULL,
    doc         TEXT    NOT NULL,
    PRIMARY KEY (article_id, version)
);
-- Full-text search over the current version, as `case_text` (one row per article, rowid = `n`):
-- the title weighs more than the body (which includes tags, categories and resolution codes).
-- [sqlite]
CREATE VIRTUAL TABLE article_text USING fts5(
    title,
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
-- [postgres]
CREATE TABLE article_text (
    rowid  BIGINT   PRIMARY KEY,
    title  TEXT     NOT NULL,
    body   TEXT     NOT NULL,
    tsv    tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A') ||
        setweight(to_tsvector('english'::regconfig, body), 'B')
    ) STORED
);
CREATE INDEX article_text_tsv ON article_text USING gin (tsv);
-- [end]
