-- Approval inbox: the lowest role that may decide one of the case's pending approvals, and
-- when the oldest of them was requested; both NULL without a pending approval. The partial
-- index makes "what waits for a supervisor, oldest first" one index range scan.
ALTER TABLE cases ADD COLUMN approval_role TEXT;
ALTER TABLE cases ADD COLUMN approval_since_ns INTEGER;
CREATE INDEX cases_approvals ON cases (approval_role, approval_since_ns, number) WHERE approval_role IS NOT NULL;
