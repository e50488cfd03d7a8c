-- Inbound email: the Message-IDs of a case's messages (threading replies by In-Reply-To and
-- References, and refusing a message taken in twice), the attachments kept with them (their
-- bytes in the row; sizes bounded by the intake), and what the intake declined (auto-replies,
-- bounces, loops), counted per reason and day.
CREATE TABLE email_messages (
    message_id   TEXT    PRIMARY KEY,
    case_id      TEXT    NOT NULL,
    at_us        INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX email_messages_case ON email_messages (case_id);

CREATE TABLE attachments (
    id           TEXT    PRIMARY KEY,
    case_id      TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    filename     TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    bytes        BLOB    NOT NULL,
    at_us        INTEGER NOT NULL
);
CREATE INDEX attachments_case ON attachments (case_id);

CREATE TABLE inbound_declined (
    day          TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (day, reason)
) WITHOUT ROWID;
