-- PostgreSQL twin of crates/store/src/sqlite/0007_metrics.sql (same number; applies on top
-- of the PostgreSQL 0001–0006). As on SQLite, the tables are filled from the event log by
-- the migration runner (Rust) right after this file runs: there is no SQL backfill here.
-- Note for queries: sum() of these BIGINT columns is NUMERIC in PostgreSQL (cast it back to
-- BIGINT to read it as i64).
--
-- Escalation metrics (ladder_core::metrics). `case_metrics` holds each case's folded
-- metrics state, so a write updates the aggregate without re-reading the case's events.
-- `metrics_daily` is the additive aggregate: per UTC day of the cases' opening, dimension
-- (`all`, `channel`, `category`, `priority`, `team`, `agent`, `level`, `initiator`,
-- `segment`) and value (empty when the case has none); a write subtracts the case's old
-- contribution and adds its new one. Each dimension also has a monthly roll-up under
-- `DIM@month`, keyed by the month's first day: a query over a period reads whole months
-- from it and only the ragged ends from the daily rows. A change of a customer's status
-- re-counts the churn columns of that customer's cases in the same transaction. Filled from
-- the event log by the migration runner (Rust) right after this file runs.
CREATE TABLE case_metrics (
    case_id TEXT PRIMARY KEY,
    doc     TEXT NOT NULL
);

CREATE TABLE metrics_daily (
    dim   TEXT NOT NULL,
    day   TEXT NOT NULL,
    value TEXT NOT NULL,
    cases                      BIGINT  NOT NULL DEFAULT 0,
    escalated                  BIGINT  NOT NULL DEFAULT 0,
    n_escalations              BIGINT  NOT NULL DEFAULT 0,
    supervisor_escalated       BIGINT  NOT NULL DEFAULT 0,
    de_escalated               BIGINT  NOT NULL DEFAULT 0,
    transferred                BIGINT  NOT NULL DEFAULT 0,
    resolved                   BIGINT  NOT NULL DEFAULT 0,
    fcr                        BIGINT  NOT NULL DEFAULT 0,
    reopened                   BIGINT  NOT NULL DEFAULT 0,
    open                       BIGINT  NOT NULL DEFAULT 0,
    open_opened_at_sum_s       BIGINT  NOT NULL DEFAULT 0,
    csat_sum                   BIGINT  NOT NULL DEFAULT 0,
    csat_n                     BIGINT  NOT NULL DEFAULT 0,
    csat_escalated_sum         BIGINT  NOT NULL DEFAULT 0,
    csat_escalated_n           BIGINT  NOT NULL DEFAULT 0,
    csat_not_escalated_sum     BIGINT  NOT NULL DEFAULT 0,
    csat_not_escalated_n       BIGINT  NOT NULL DEFAULT 0,
    first_escalation_sum_s     BIGINT  NOT NULL DEFAULT 0,
    first_escalation_n         BIGINT  NOT NULL DEFAULT 0,
    resolution_sum_s           BIGINT  NOT NULL DEFAULT 0,
    resolution_n               BIGINT  NOT NULL DEFAULT 0,
    level_time_sum_s           BIGINT  NOT NULL DEFAULT 0,
    sla_met                    BIGINT  NOT NULL DEFAULT 0,
    sla_breached               BIGINT  NOT NULL DEFAULT 0,
    with_customer              BIGINT  NOT NULL DEFAULT 0,
    escalated_with_customer    BIGINT  NOT NULL DEFAULT 0,
    churned                    BIGINT  NOT NULL DEFAULT 0,
    escalated_churned          BIGINT  NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, day, value)
);
