-- Escalation metrics (ladder_core::metrics). `case_metrics` holds each case's folded
-- metrics state, so a write updates the aggregate without re-reading the case's events.
-- `metrics_daily` is the additive aggregate: per UTC day of the cases' opening, dimension
-- (`all`, `channel`, `category`, `priority`, `team`, `agent`, `level`, `initiator`,
-- `segment`) and value (empty when the case has none); a write subtracts the case's old
-- contribution and adds its new one. Each dimension also has a monthly roll-up under
-- `DIM@month`, keyed by the month's first day: a query over a period reads whole months
-- from it and only the ragged ends from the daily rows. A change of a customer's status
-- re-counts the churn columns of that customer's cases in the same transaction. Filled from
-- the event log by the migration runner (Rust) right after this file runs. Note for
-- queries: on PostgreSQL, sum() of these BIGINT columns is NUMERIC (cast it back to BIGINT
-- to read it as i64).
CREATE TABLE case_metrics (
    case_id TEXT PRIMARY KEY,
    doc     TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE metrics_daily (
    dim   TEXT NOT NULL,
    day   TEXT NOT NULL,
    value TEXT NOT NULL,
    cases                      INTEGER NOT NULL DEFAULT 0,
    escalated                  INTEGER NOT NULL DEFAULT 0,
    n_escalations              INTEGER NOT NULL DEFAULT 0,
    supervisor_escalated       INTEGER NOT NULL DEFAULT 0,
    de_escalated               INTEGER NOT NULL DEFAULT 0,
    transferred                INTEGER NOT NULL DEFAULT 0,
    resolved                   INTEGER NOT NULL DEFAULT 0,
    fcr                        INTEGER NOT NULL DEFAULT 0,
    reopened                   INTEGER NOT NULL DEFAULT 0,
    open                       INTEGER NOT NULL DEFAULT 0,
    open_opened_at_sum_s       INTEGER NOT NULL DEFAULT 0,
    csat_sum                   INTEGER NOT NULL DEFAULT 0,
    csat_n                     INTEGER NOT NULL DEFAULT 0,
    csat_escalated_sum         INTEGER NOT NULL DEFAULT 0,
    csat_escalated_n           INTEGER NOT NULL DEFAULT 0,
    csat_not_escalated_sum     INTEGER NOT NULL DEFAULT 0,
    csat_not_escalated_n       INTEGER NOT NULL DEFAULT 0,
    first_escalation_sum_s     INTEGER NOT NULL DEFAULT 0,
    first_escalation_n         INTEGER NOT NULL DEFAULT 0,
    resolution_sum_s           INTEGER NOT NULL DEFAULT 0,
    resolution_n               INTEGER NOT NULL DEFAULT 0,
    level_time_sum_s           INTEGER NOT NULL DEFAULT 0,
    sla_met                    INTEGER NOT NULL DEFAULT 0,
    sla_breached               INTEGER NOT NULL DEFAULT 0,
    with_customer              INTEGER NOT NULL DEFAULT 0,
    escalated_with_customer    INTEGER NOT NULL DEFAULT 0,
    churned                    INTEGER NOT NULL DEFAULT 0,
    escalated_churned          INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dim, day, value)
) WITHOUT ROWID;
