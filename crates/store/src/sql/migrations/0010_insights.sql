-- The facts of the "revise the rules" insights, kept with the writes that change them so
-- the dashboard and /api/v1/insights never read every case of their period.
--
-- `case_insights`: one row per case, what it says about itself (ladder_core::insights::
-- CaseOutcome) and the instant of its last escalation (to compute it again on the next
-- write without reading the log). `day` is the UTC day of the case's opening.
-- `insight_categories` and `insight_codes`: per day and category (cases with one), the
-- summable counts of ladder_core::insights::CategoryCounts; a write subtracts the case's old
-- counts and adds its new ones. Only a category whose counts may make a suggestion has its
-- resolved-above cases read from `case_insights` (index `case_insights_above`).
-- `insight_approvals` and `insight_breaches`: each approval request and each breach of a
-- 24x7 clock, by the case's opening day (a period reads its own rows).
-- Filled from the case documents and the log by the migration runner (Rust) right after
-- this file runs.
CREATE TABLE case_insights (
    number            INTEGER PRIMARY KEY,
    day               TEXT NOT NULL,
    category          TEXT,
    escalated         INTEGER NOT NULL,
    last_escalated_ns INTEGER,
    resolved_code     TEXT,
    after_escalation_ns INTEGER
);
CREATE INDEX case_insights_above ON case_insights (category, day) WHERE resolved_code IS NOT NULL;

CREATE TABLE insight_categories (
    day                     TEXT NOT NULL,
    category                TEXT NOT NULL,
    cases                   INTEGER NOT NULL,
    escalated               INTEGER NOT NULL,
    resolved_above          INTEGER NOT NULL,
    resolved_above_quickly  INTEGER NOT NULL,
    PRIMARY KEY (day, category)
) WITHOUT ROWID;

CREATE TABLE insight_codes (
    day      TEXT NOT NULL,
    category TEXT NOT NULL,
    code     TEXT NOT NULL,
    n        INTEGER NOT NULL,
    PRIMARY KEY (day, category, code)
) WITHOUT ROWID;

CREATE TABLE insight_approvals (
    number       INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    day          TEXT NOT NULL,
    action       TEXT NOT NULL,
    amount       REAL NOT NULL,
    requested_by TEXT,
    PRIMARY KEY (number, position)
) WITHOUT ROWID;
CREATE INDEX insight_approvals_day ON insight_approvals (day);

CREATE TABLE insight_breaches (
    number  INTEGER NOT NULL,
    clock   INTEGER NOT NULL,
    day     TEXT NOT NULL,
    level   TEXT NOT NULL,
    due_ns  INTEGER NOT NULL,
    PRIMARY KEY (number, clock)
) WITHOUT ROWID;
CREATE INDEX insight_breaches_day ON insight_breaches (day);
