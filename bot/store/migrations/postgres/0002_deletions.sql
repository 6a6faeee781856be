-- Requests to delete a customer's data, kept so the customer can check the status. Only
-- the confirmation code and what was done are kept, never who asked.
CREATE TABLE deletions (
    code          TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    conversations INTEGER NOT NULL,
    requested_at  DOUBLE PRECISION NOT NULL
);
CREATE INDEX conversations_updated ON conversations (updated_at);
CREATE INDEX inbox_done ON inbox (done_at) WHERE status <> 'pending';
