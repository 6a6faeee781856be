-- /metrics counts the backlog and the failures: with these, neither count reads the
-- whole history (done events and sent replies are most of the rows).
CREATE INDEX inbox_failed ON inbox (id) WHERE status = 'failed';
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';
