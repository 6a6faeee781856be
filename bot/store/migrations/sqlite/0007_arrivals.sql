-- Webhooks are acknowledged once their events are appended here: a table without any
-- index to update, so the acknowledgement costs one append. The inbox worker moves them
-- into `inbox`, oldest first, where redeliveries are dropped by its unique key.
CREATE TABLE arrivals (
    id          INTEGER PRIMARY KEY,
    channel     TEXT    NOT NULL,
    platform_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    received_at REAL    NOT NULL
);
