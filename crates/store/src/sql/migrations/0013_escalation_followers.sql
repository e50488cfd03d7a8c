-- Who follows an escalation after it left: the users who escalated a case and the teams it
-- was escalated out of (projections of the case's `escalated_by` and `escalated_from`, like
-- `case_workers`). Cases escalated before this version are listed after
-- `ladder admin rebuild`.
CREATE TABLE case_escalators (
    user_id TEXT    NOT NULL,
    number  INTEGER NOT NULL,
    PRIMARY KEY (user_id, number)
) WITHOUT ROWID;

CREATE TABLE case_escalated_from (
    team_id TEXT    NOT NULL,
    number  INTEGER NOT NULL,
    PRIMARY KEY (team_id, number)
) WITHOUT ROWID;
