-- SLA clocks: armed timers and the SLA standing of each case.

-- One row per armed clock timer: the soonest instant a clock needs looking at (its next
-- warning threshold or its due instant) and the clock generation it was armed for. The
-- timer engine reads only the head of `timers_due`; the cost of a sweep grows with what
-- is due, not with how many cases are open.
CREATE TABLE timers (
    case_number  INTEGER NOT NULL,
    clock_index  INTEGER NOT NULL,
    case_id      TEXT    NOT NULL,
    generation   INTEGER NOT NULL,
    fire_at_ns   INTEGER NOT NULL,
    PRIMARY KEY (case_number, clock_index)
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (fire_at_ns);

-- breached | at_risk | running | paused, or NULL without live clocks; and the earliest
-- due instant of the counting clocks (for "ordered by time left").
ALTER TABLE cases ADD COLUMN sla TEXT;
ALTER TABLE cases ADD COLUMN sla_due_at_ns INTEGER;
CREATE INDEX cases_sla ON cases (sla, sla_due_at_ns) WHERE sla IS NOT NULL;
