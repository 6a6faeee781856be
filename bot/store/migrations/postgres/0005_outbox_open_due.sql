-- The outbox claim walks the open replies in the order they are due (see
-- CLAIM_DELIVERIES in postgres.py).
CREATE INDEX outbox_open_due ON outbox (next_attempt_at, id) WHERE status IN ('pending', 'sending');
