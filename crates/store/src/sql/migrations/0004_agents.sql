-- Agents' working state: presence, skills, languages and capacity per channel.

-- One row per user who has had a profile or a presence set; a user without a row has the
-- default profile (their skills, default capacities, offline). `presence` and
-- `presence_since_ns` repeat what `profile` (the whole profile as JSON) says, so boards can
-- filter and sort on them.
CREATE TABLE agents (
    user_id            TEXT    PRIMARY KEY,
    presence           TEXT    NOT NULL,
    presence_since_ns  INTEGER NOT NULL,
    profile            TEXT    NOT NULL,
    updated_at_ns      INTEGER NOT NULL
);
CREATE INDEX agents_presence ON agents (presence);
