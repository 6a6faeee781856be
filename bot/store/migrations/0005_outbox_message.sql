-- A transcript joins each message to its reply's delivery, and deleting a message clears
-- the outbox's reference to it: both find the outbox row by its message, not by a scan.
CREATE INDEX outbox_message ON outbox (message_id) WHERE message_id IS NOT NULL;
