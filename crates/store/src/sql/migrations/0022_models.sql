-- Ladder schema, version 24: escalation-risk models (issue 22).
-- A trained model is stored whole (its hashing, intercept and weights, as JSON) with the
-- evaluation on its holdout; it is never changed afterwards, so the version recorded with a
-- case's score always names the weights that gave it. What is in force is the last
-- activation (a NULL version: no model), appended like the matrix's.

-- `version` is assigned by the code (max + 1), not by the database.
CREATE TABLE risk_models (
    version        INTEGER PRIMARY KEY,
    model          TEXT    NOT NULL,
    evaluation     TEXT    NOT NULL,
    beats_baseline INTEGER NOT NULL,
    trained_by     TEXT    NOT NULL,
    created_at_us  INTEGER NOT NULL
);

CREATE TABLE risk_model_activations (
    seq      {assigned_key},
    version  INTEGER REFERENCES risk_models (version),
    by_user  TEXT    NOT NULL,
    at_us    INTEGER NOT NULL
);
