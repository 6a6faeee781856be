-- SQLite's text of the named queries that differ from common.sql. A query may be several
-- statements separated by ";": they run in order in the caller's transaction, each with the
-- parameters it names, and the last one's rows are the result. A list given as a parameter
-- arrives as JSON text (read with json_each). Work is claimed with a compare-and-set
-- UPDATE … RETURNING: one process writes (the connector's lock file sees to it).

-- name: lock_migrations
-- The write transaction the migrations run in is exclusive already.
SELECT 1

-- name: add_events (bulk)
-- Acknowledged webhooks are appended to a table without any index to update, so the
-- acknowledgement costs one append; `claim_events` moves them into `inbox`, where
-- redeliveries are dropped by its unique key.
INSERT INTO arrivals (channel, platform_id, customer_id, kind, message, received_at)
VALUES ($1, $2, $3, $4, $5, $6)

-- name: save_cursors (bulk)
INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3)
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at

-- name: claim_events
-- $1 owner, $2 end of the lease, $3 now, $4 how many. First the oldest arrivals move into
-- the inbox (in order, so each conversation's events keep theirs), twice as many as are
-- claimed: a backlog waits in `arrivals`, and the claims stay quick. Then the oldest
-- pending event of each conversation whose lease is free, with its conversation (created
-- on first contact), leased.
INSERT INTO inbox (channel, platform_id, customer_id, kind, message, received_at)
SELECT channel, platform_id, customer_id, kind, message, received_at FROM arrivals
WHERE id <= (SELECT MAX(id) FROM (SELECT id FROM arrivals ORDER BY id LIMIT 2 * $4))
ORDER BY id
ON CONFLICT (channel, platform_id) DO NOTHING;
DELETE FROM arrivals
WHERE id <= (SELECT MAX(id) FROM (SELECT id FROM arrivals ORDER BY id LIMIT 2 * $4));
CREATE TEMP TABLE IF NOT EXISTS claiming (id INTEGER PRIMARY KEY);
DELETE FROM temp.claiming;
INSERT INTO temp.claiming (id)
SELECT i.id FROM (
    SELECT MIN(id) AS id FROM inbox WHERE status = 'pending' GROUP BY channel, customer_id
) AS heads JOIN inbox AS i USING (id)
WHERE i.lease_until IS NULL OR i.lease_until < $3
ORDER BY i.id LIMIT $4;
INSERT INTO conversations (channel, customer_id, customer_name, created_at, updated_at)
SELECT channel, customer_id, json_extract(message, '$.sender_name'), $3, $3 FROM inbox
WHERE id IN (SELECT id FROM temp.claiming)
ON CONFLICT (channel, customer_id) DO UPDATE
    SET customer_name = COALESCE(excluded.customer_name, customer_name);
UPDATE inbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
WHERE id IN (SELECT id FROM temp.claiming);
SELECT i.id AS event_id, i.kind, i.message, i.attempts, c.id AS conversation_id, c.channel,
       c.customer_id, c.customer_name, c.state, c.last_customer_ms, c.version
FROM temp.claiming AS claimed
JOIN inbox AS i ON i.id = claimed.id
JOIN conversations AS c ON c.channel = i.channel AND c.customer_id = i.customer_id

-- name: new_message_ids
-- Ids for a batch's transcript lines, taken in the batch's own write transaction.
WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
SELECT (SELECT COALESCE(MAX(id), 0) FROM messages) + i FROM n

-- name: finish_turns
-- $1 now, $2 owner, $3 the batch as JSON; see postgres.sql for what it does.
CREATE TEMP TABLE IF NOT EXISTS finishing (
    event_id        INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL,
    state           TEXT    NOT NULL,
    ms              INTEGER
);
DELETE FROM temp.finishing;
INSERT INTO temp.finishing (event_id, conversation_id, state, ms)
SELECT json_extract(t.value, '$.event_id'), json_extract(t.value, '$.conversation_id'),
       json_extract(t.value, '$.state'), json_extract(t.value, '$.ms')
FROM json_each($3, '$.turns') AS t
JOIN inbox AS i
  ON i.id = json_extract(t.value, '$.event_id') AND i.lease_owner = $2
 AND i.status = 'pending'
JOIN conversations AS c
  ON c.id = json_extract(t.value, '$.conversation_id')
 AND c.version = json_extract(t.value, '$.version');
UPDATE conversations
SET state = f.state, updated_at = $1, last_customer_ms = COALESCE(f.ms, last_customer_ms),
    version = version + 1
FROM temp.finishing AS f WHERE conversations.id = f.conversation_id;
UPDATE inbox SET status = 'done', done_at = $1, lease_owner = NULL, lease_until = NULL
WHERE id IN (SELECT event_id FROM temp.finishing);
UPDATE inbox SET lease_owner = NULL, lease_until = NULL
WHERE lease_owner = $2 AND status = 'pending'
  AND id IN (SELECT json_extract(value, '$.event_id') FROM json_each($3, '$.turns'));
INSERT INTO messages (id, conversation_id, direction, author, agent, text, payload,
                      attachments, platform_id, intent, score, action, topic, created_at)
SELECT json_extract(m.value, '$.id'), json_extract(m.value, '$.conversation_id'),
       json_extract(m.value, '$.direction'), json_extract(m.value, '$.author'),
       json_extract(m.value, '$.agent'), json_extract(m.value, '$.text'),
       json_extract(m.value, '$.payload'), json_extract(m.value, '$.attachments'),
       json_extract(m.value, '$.platform_id'), json_extract(m.value, '$.intent'),
       json_extract(m.value, '$.score'), json_extract(m.value, '$.action'),
       json_extract(m.value, '$.topic'), $1
FROM json_each($3, '$.messages') AS m
WHERE json_extract(m.value, '$.event_id') IN (SELECT event_id FROM temp.finishing)
ORDER BY m.key;
INSERT INTO outbox (conversation_id, message_id, author, reply, first_of_turn,
                    next_attempt_at, created_at)
SELECT json_extract(r.value, '$.conversation_id'), json_extract(r.value, '$.message_id'),
       'bot', json_extract(r.value, '$.reply'), json_extract(r.value, '$.first_of_turn'),
       $1, $1
FROM json_each($3, '$.replies') AS r
WHERE json_extract(r.value, '$.event_id') IN (SELECT event_id FROM temp.finishing)
ORDER BY r.key;
SELECT 'done' AS what, event_id AS id FROM temp.finishing

-- name: claim_deliveries
-- $1 owner, $2 end of the lease, $3 now, $4 how many: the first open reply of each
-- conversation, when it is due, leased, with whom it goes to and whether another reply of
-- the conversation waits behind it.
WITH heads AS (
    SELECT MIN(id) AS id FROM outbox WHERE status IN ('pending', 'sending')
    GROUP BY conversation_id
)
UPDATE outbox SET status = 'sending', lease_owner = $1, lease_until = $2,
                  attempts = attempts + 1
WHERE id IN (
    SELECT o.id FROM heads JOIN outbox AS o USING (id)
    WHERE (o.status = 'pending' AND o.next_attempt_at <= $3)
       OR (o.status = 'sending' AND o.lease_until < $3)
    ORDER BY o.next_attempt_at, o.id LIMIT $4
)
RETURNING id AS delivery_id, conversation_id, author, reply, first_of_turn, attempts,
    created_at,
    (SELECT c.channel FROM conversations c WHERE c.id = outbox.conversation_id) AS channel,
    (SELECT c.customer_id FROM conversations c WHERE c.id = outbox.conversation_id)
        AS customer_id,
    (SELECT c.last_customer_ms FROM conversations c WHERE c.id = outbox.conversation_id)
        AS last_customer_ms,
    EXISTS (SELECT 1 FROM outbox AS later
            WHERE later.conversation_id = outbox.conversation_id
              AND later.id > outbox.id AND later.status IN ('pending', 'sending')) AS more

-- name: delivered (bulk)
UPDATE outbox SET status = 'sent', sent_at = $1, platform_message_id = $2, error = NULL,
                  lease_owner = NULL, lease_until = NULL
WHERE id = $3 AND lease_owner = $4

-- name: confirm_deliveries (bulk)
UPDATE outbox SET status = 'sent', platform_message_id = $1, sent_at = COALESCE(sent_at, $2),
                  error = NULL, lease_owner = NULL, lease_until = NULL
WHERE id = $3 AND status IN ('pending', 'sending', 'failed')

-- name: waiting_arrivals
-- Acknowledged events not yet moved into the inbox: pending too.
SELECT COUNT(*) FROM arrivals

-- name: forget_events
DELETE FROM inbox WHERE channel = $1 AND customer_id = $2;
DELETE FROM arrivals WHERE channel = $1 AND customer_id = $2

-- name: active_escalations_of
SELECT conversation_id, id AS escalation_id, status, agent FROM escalations
WHERE conversation_id IN (SELECT value FROM json_each($1)) AND status IN ('open', 'claimed')

-- name: names_due
-- Of the conversations $1 (ids), those whose customer's name was not asked of the platform
-- since $2.
SELECT id AS conversation_id, channel, customer_id FROM conversations
WHERE id IN (SELECT value FROM json_each($1))
  AND (name_checked_at IS NULL OR name_checked_at < $2)

-- name: index_conversation
-- $1 conversation, $2 its words (see search_index in the migration).
DELETE FROM search_index WHERE rowid = $1;
INSERT INTO search_index (rowid, document) VALUES ($1, $2)

-- name: search_escalations
-- $1 status or NULL, $2 an FTS5 query (stems as prefixes), $3 how many: newest first.
SELECT v.* FROM search_index s JOIN escalation_view v ON v.conversation_id = s.rowid
WHERE search_index MATCH $2 AND (CAST($1 AS TEXT) IS NULL OR v.status = $1)
ORDER BY v.created_at DESC, v.escalation_id DESC LIMIT $3

-- name: compact_search
-- After a deletion: merge the index's segments, so that the words of the deleted
-- conversations leave it (their pages then overwritten by secure_delete).
INSERT INTO search_index (search_index) VALUES ('optimize')
