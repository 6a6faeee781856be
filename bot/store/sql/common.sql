-- Named queries both databases run as written: parameters are $1, $2… (SQLite reads them
-- as ?1, ?2…). A name may be given again in sqlite.sql or postgres.sql, where the two
-- differ; every name must exist for both (checked when the module is imported).
-- A query marked (bulk) is run once for many rows: PostgreSQL's text takes each column
-- as an array, SQLite's is run for each row.
-- Times are seconds since the epoch; platform timestamps are milliseconds.

-- name: create_migrations_table
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at DOUBLE PRECISION NOT NULL
)

-- name: migrations_applied
SELECT version, name FROM schema_migrations ORDER BY version

-- name: record_migration
INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)

-- name: forget_migrations
DELETE FROM schema_migrations

-- name: schema_version
SELECT MAX(version) FROM schema_migrations

-- name: ping
SELECT 1

-- name: write_probe
-- A write that changes nothing: can the database be written right now?
UPDATE schema_migrations SET applied_at = applied_at
WHERE version = (SELECT MIN(version) FROM schema_migrations)

-- name: cursor
SELECT value FROM cursors WHERE name = $1

-- name: release_stale_events
-- Only this process can hold leases (the connector is exclusive): release the last one's.
UPDATE inbox SET lease_owner = NULL, lease_until = NULL WHERE status = 'pending'

-- name: release_stale_replies
-- A reply that was being sent when the process died may have reached the platform: it is
-- retried only after a wait, time for the platform's echo to confirm it (and cancel the
-- retry) if it did.
UPDATE outbox SET status = 'pending', lease_owner = NULL, lease_until = NULL,
                  next_attempt_at = $1, error = 'unconfirmed when the last process stopped'
WHERE status = 'sending'

-- name: drop_bot_replies
-- A person took over: the bot's replies still waiting are not sent.
UPDATE outbox SET status = 'dropped', error = 'a person took over', lease_owner = NULL
WHERE conversation_id = $1 AND author = 'bot' AND status IN ('pending', 'sending')

-- name: open_escalation
-- A new escalation, unless the conversation has one open already.
INSERT INTO escalations (conversation_id, status, reason, intent, score, agent, created_at,
                         claimed_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (conversation_id) WHERE status IN ('open', 'claimed') DO NOTHING

-- name: claim_open_escalation
-- A person already answers (a native inbox): the open escalation is theirs.
UPDATE escalations SET status = 'claimed', agent = $2, claimed_at = $3
WHERE conversation_id = $1 AND status = 'open'

-- name: release_event
UPDATE inbox SET lease_owner = NULL, lease_until = NULL, error = $1,
                 status = CASE WHEN $2 THEN 'failed' ELSE status END
WHERE id = $3 AND lease_owner = $4

-- name: still_ours
SELECT 1 FROM outbox WHERE id = $1 AND lease_owner = $2 AND status = 'sending'

-- name: sent_by_us
-- $1 channel, $2 customer, $3 platform message id: one of our replies (recorded sent under
-- that id, or on its way to this customer right now, its id not yet recorded).
SELECT EXISTS (SELECT 1 FROM outbox WHERE platform_message_id = $3)
    OR EXISTS (SELECT 1 FROM outbox o JOIN conversations c ON c.id = o.conversation_id
               WHERE c.channel = $1 AND c.customer_id = $2 AND o.status = 'sending')

-- name: retry_later
UPDATE outbox SET status = 'pending', next_attempt_at = $1, error = $2,
                  lease_owner = NULL, lease_until = NULL
WHERE id = $3 AND lease_owner = $4 AND status = 'sending'

-- name: undeliverable
UPDATE outbox SET status = 'failed', error = $1, lease_owner = NULL, lease_until = NULL
WHERE id = $2 AND lease_owner = $3

-- name: set_customer_name
UPDATE conversations SET customer_name = $1 WHERE id = $2

-- name: conversation
SELECT id AS conversation_id, channel, customer_id, customer_name, state, last_customer_ms,
       version
FROM conversations WHERE channel = $1 AND customer_id = $2

-- name: transcript
SELECT m.id, m.direction, m.author, m.agent, m.text, m.payload, m.attachments, m.intent,
       m.score, m.created_at, o.status AS delivery, o.error
FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
WHERE m.conversation_id = $1 ORDER BY m.id

-- name: outbox
SELECT id, conversation_id, author, reply, status, attempts, error, platform_message_id
FROM outbox WHERE conversation_id = $1 ORDER BY id

-- name: backlog_counts
-- The work still to do and the failures, each from a partial index, never the whole
-- history (done events, sent replies).
SELECT 'inbox:pending', COUNT(*) FROM inbox WHERE status = 'pending'
UNION ALL
SELECT 'inbox:failed', COUNT(*) FROM inbox WHERE status = 'failed'
UNION ALL
SELECT 'outbox:' || status, COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')
GROUP BY status
UNION ALL
SELECT 'outbox:failed', COUNT(*) FROM outbox WHERE status = 'failed'

-- name: add_message
INSERT INTO messages (conversation_id, direction, author, agent, text, payload, attachments,
                      platform_id, intent, score, created_at)
VALUES ($1, 'out', $2, $3, $4, NULL, 0, NULL, NULL, NULL, $5)
RETURNING id

-- name: add_delivery
INSERT INTO outbox (conversation_id, message_id, author, reply, first_of_turn,
                    next_attempt_at, created_at)
VALUES ($1, $2, $3, $4, FALSE, $5, $5)

-- name: save_state
UPDATE conversations
SET state = $1, updated_at = $2, version = version + 1
WHERE id = $3

-- name: forget_conversations
DELETE FROM conversations WHERE channel = $1 AND customer_id = $2

-- name: record_deletion
-- The first record of a request stays: the same request again (a replay) changes nothing.
INSERT INTO deletions (code, channel, conversations, requested_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (code) DO NOTHING

-- name: deletion
SELECT code, channel, conversations, requested_at FROM deletions WHERE code = $1

-- name: purge_conversations
-- Conversations untouched since $1, unless a person has them or an event of theirs waits;
-- at most $2 of them (a purge goes by short transactions).
DELETE FROM conversations WHERE id IN (
    SELECT c.id FROM conversations c
    WHERE c.updated_at < $1
      AND NOT EXISTS (SELECT 1 FROM escalations e
                      WHERE e.conversation_id = c.id AND e.status IN ('open', 'claimed'))
      AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.status = 'pending'
                      AND i.channel = c.channel AND i.customer_id = c.customer_id)
    LIMIT $2
)

-- name: purge_events
DELETE FROM inbox WHERE id IN (
    SELECT id FROM inbox WHERE status <> 'pending' AND done_at < $1 LIMIT $2
)

-- name: add_agent
INSERT INTO agents (name, token_hash, created_at) VALUES ($1, $2, $3)

-- name: remove_agent
DELETE FROM agents WHERE name = $1

-- name: agents
SELECT name, created_at FROM agents ORDER BY name

-- name: agent_for
SELECT name FROM agents WHERE token_hash = $1

-- name: escalations
SELECT * FROM escalation_view
WHERE (CAST($1 AS TEXT) IS NULL OR status = $1)
ORDER BY created_at, escalation_id

-- name: escalation
SELECT * FROM escalation_view WHERE escalation_id = $1

-- name: conversation_escalations
SELECT * FROM escalation_view WHERE conversation_id = $1 ORDER BY escalation_id

-- name: active_escalation
SELECT * FROM escalation_view
WHERE conversation_id = $1 AND status IN ('open', 'claimed')

-- name: escalation_holder
SELECT status, agent FROM escalations WHERE id = $1

-- name: take_escalation
-- $1 escalation, $2 agent, $3 now, $4 and $5 the names of the native inboxes: a person
-- answering from the platform's own app leaves the escalation to any agent.
UPDATE escalations SET status = 'claimed', agent = $2,
       claimed_at = CASE WHEN agent = $2 THEN claimed_at ELSE $3 END
WHERE id = $1 AND (status = 'open' OR (status = 'claimed' AND agent IN ($2, $4, $5)))

-- name: resolve_escalation
UPDATE escalations SET status = 'resolved', resolved_at = $3, agent = COALESCE(agent, $2)
WHERE id = $1 AND (status = 'open' OR (status = 'claimed' AND agent IN ($2, $4, $5)))
