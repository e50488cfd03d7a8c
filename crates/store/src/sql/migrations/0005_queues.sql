-- Team queues: the priority score of a queued case and its virtual deadline (see
-- ladder_core::routing::queue_rank), NULL when the case is not waiting in a queue. The
-- partial index makes "the next case of team T" one index probe.
ALTER TABLE cases ADD COLUMN priority_score INTEGER;
ALTER TABLE cases ADD COLUMN queue_rank_ns INTEGER;
-- A booked call-back waits in the outbound queue until its window opens.
ALTER TABLE cases ADD COLUMN callback_due_ns INTEGER;
-- Since when the case has been waiting in its current team's queue (for overflow).
ALTER TABLE cases ADD COLUMN queued_since_ns INTEGER;
CREATE INDEX cases_queue ON cases (team_id, queue_rank_ns, number) WHERE queue_rank_ns IS NOT NULL;
CREATE INDEX cases_queued_since ON cases (team_id, queued_since_ns) WHERE queued_since_ns IS NOT NULL;
