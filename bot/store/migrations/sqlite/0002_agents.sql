-- Agents of the desk. Only a SHA-256 of each token is kept: tokens are 256 random bits,
-- so a fast hash is enough (there is nothing to brute-force), and a stolen database
-- gives no way in.
CREATE TABLE agents (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  REAL NOT NULL
);

CREATE INDEX escalations_status ON escalations (status, created_at);
