-- Bumped at every change of a conversation's state: a worker that computed a turn from an
-- older state (an agent resolved meanwhile) does not overwrite the newer one.
ALTER TABLE conversations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
