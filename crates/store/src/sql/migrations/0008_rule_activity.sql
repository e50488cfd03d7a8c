-- Rule activity, for the "rules that never or always fire" insight: per UTC day on which a
-- trigger happened (while a matrix was in force), how often it happened (`rule` = '') and
-- how often each rule of that trigger fired (its condition held), with the number of the
-- last case it happened on, as an example. Counted in the write path from what the engine
-- evaluated; empty before this migration (the log does not say which rules were evaluated).
--
-- The same migration adds the metrics' `team_agent` rows (first team and first assignee
-- together) from `case_metrics`, so a supervisor's figures by agent can be limited to their
-- teams' cases (filled by the migration runner in Rust right after this file runs).
CREATE TABLE rule_activity (
    day       TEXT NOT NULL,
    trigger   TEXT NOT NULL,
    rule      TEXT NOT NULL,
    n         INTEGER NOT NULL,
    last_case INTEGER NOT NULL,
    PRIMARY KEY (day, trigger, rule)
) WITHOUT ROWID;
