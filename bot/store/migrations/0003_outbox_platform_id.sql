-- A message the account sent comes back from some platforms without saying which app
-- sent it: the outbox tells whether it was one of ours, by the platform's message id.
CREATE INDEX outbox_platform_id ON outbox (platform_message_id)
    WHERE platform_message_id IS NOT NULL;
