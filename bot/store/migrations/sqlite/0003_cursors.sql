-- Where a polling reader stopped (e.g. the last X direct-message event read), saved in the
-- same transaction as the events it read: nothing read twice, nothing skipped.
CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL
);
