-- The inbox claim walks pending events in id order (see CLAIM_EVENTS in postgres.py).
CREATE INDEX inbox_pending_id ON inbox (id) WHERE status = 'pending';
