-- PostgreSQL's text of the named queries that differ from common.sql. Exclusive work is
-- claimed with FOR UPDATE SKIP LOCKED and leases; each query here is one statement, atomic
-- on its own, so most need no BEGIN and COMMIT around them.

-- name: lock_migrations
-- Instances starting together apply the migrations once, one after the other.
SELECT pg_advisory_xact_lock(7412001)

-- name: add_events (bulk)
-- Acknowledged webhooks; (channel, platform_id) makes a redelivery a no-op.
INSERT INTO inbox (channel, platform_id, customer_id, kind, message, received_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
                     $6::float8[])
ON CONFLICT (channel, platform_id) DO NOTHING

-- name: save_cursors (bulk)
INSERT INTO cursors (name, value, updated_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::float8[])
ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at

-- name: claim_events
-- $1 owner, $2 end of the lease, $3 now, $4 how many. The oldest pending events that head
-- their conversation's queue (no earlier pending event of the same customer) and whose
-- lease is free, leased, with their conversations (created on first contact). Walked in id
-- order (index inbox_pending_id) with one probe of inbox_pending per event: the cost follows
-- what is claimed, not the backlog.
WITH free AS (
    SELECT inbox.id FROM inbox
    WHERE inbox.status = 'pending' AND (inbox.lease_until IS NULL OR inbox.lease_until < $3)
      AND NOT EXISTS (
          SELECT 1 FROM inbox AS earlier
          WHERE earlier.status = 'pending' AND earlier.channel = inbox.channel
            AND earlier.customer_id = inbox.customer_id AND earlier.id < inbox.id
      )
    ORDER BY inbox.id LIMIT $4
    FOR UPDATE OF inbox SKIP LOCKED
), claimed AS (
    UPDATE inbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
    FROM free WHERE inbox.id = free.id
    RETURNING inbox.id, inbox.channel, inbox.customer_id, inbox.kind, inbox.message,
              inbox.attempts
), conversation AS (
    INSERT INTO conversations (channel, customer_id, customer_name, created_at, updated_at)
    SELECT channel, customer_id, message::jsonb ->> 'sender_name', $3, $3 FROM claimed
    ON CONFLICT (channel, customer_id) DO UPDATE
        SET customer_name = COALESCE(excluded.customer_name, conversations.customer_name)
    RETURNING id, channel, customer_id, customer_name, state, last_customer_ms, version
)
SELECT claimed.id AS event_id, claimed.kind, claimed.message, claimed.attempts,
       conversation.id AS conversation_id, conversation.channel, conversation.customer_id,
       conversation.customer_name, conversation.state, conversation.last_customer_ms,
       conversation.version
FROM claimed JOIN conversation USING (channel, customer_id)

-- name: new_message_ids
-- Ids for a batch's transcript lines, taken ahead (a sequence: whatever becomes of them).
SELECT nextval('messages_id_seq') FROM generate_series(1, $1)

-- name: finish_turns
-- $1 now, $2 owner, $3 the batch as JSON: its turns, transcript lines and replies. A turn
-- counts only if its event's lease is still ours (whoever holds an event now finishes it)
-- and its conversation is still at the version the turn was computed from (an agent may
-- have changed it meanwhile). Those turns' events are marked done, their states saved,
-- their transcript lines and replies written; the other events still ours are given back,
-- to be processed again. Each event still ours, with whether its turn was saved.
WITH turn AS (
    SELECT * FROM json_to_recordset($3::json -> 'turns')
        AS t (event_id bigint, conversation_id bigint, state text, ms bigint, version integer)
), held AS (
    SELECT id FROM inbox
    WHERE id IN (SELECT event_id FROM turn) AND lease_owner = $2 AND status = 'pending'
    FOR UPDATE
), saved AS (
    UPDATE conversations c
    SET state = t.state, updated_at = $1, last_customer_ms = COALESCE(t.ms, c.last_customer_ms),
        version = c.version + 1
    FROM turn t
    WHERE c.id = t.conversation_id AND c.version = t.version
      AND t.event_id IN (SELECT id FROM held)
    RETURNING t.event_id
), finished AS (
    UPDATE inbox SET status = 'done', done_at = $1, lease_owner = NULL, lease_until = NULL
    WHERE id IN (SELECT event_id FROM saved)
    RETURNING id
), reopened AS (
    UPDATE inbox SET lease_owner = NULL, lease_until = NULL
    WHERE id IN (SELECT id FROM held) AND id NOT IN (SELECT event_id FROM saved)
    RETURNING id
), added AS (
    INSERT INTO messages (id, conversation_id, direction, author, agent, text, payload,
                          attachments, platform_id, intent, score, action, topic, created_at)
    SELECT m.id, m.conversation_id, m.direction, m.author, m.agent, m."text", m.payload,
           m.attachments, m.platform_id, m.intent, m.score, m.action, m.topic, $1
    FROM json_to_recordset($3::json -> 'messages')
        AS m (id bigint, conversation_id bigint, direction text, author text, agent text,
              "text" text, payload text, attachments integer, platform_id text,
              intent text, score float8, action text, topic text, event_id bigint)
    WHERE m.event_id IN (SELECT event_id FROM saved)
), queued AS (
    INSERT INTO outbox (conversation_id, message_id, author, reply, first_of_turn,
                        next_attempt_at, created_at)
    SELECT r.conversation_id, r.message_id, 'bot', r.reply, r.first_of_turn, $1, $1
    FROM json_to_recordset($3::json -> 'replies')
        AS r (conversation_id bigint, message_id bigint, reply text, first_of_turn boolean,
              event_id bigint, position integer)
    WHERE r.event_id IN (SELECT event_id FROM saved)
    ORDER BY r.position
)
SELECT 'done' AS what, id FROM finished
UNION ALL
SELECT 'reopened', id FROM reopened

-- name: release_stale_replies
-- $1 the earliest time a reply left in doubt goes again, $2 now: as common.sql's, at a
-- start when no other instance was running. A lease that still runs is never taken (an
-- instance the start cannot see may hold it: one of an earlier release, or one whose
-- connections were cut); it only lasts until $1 at least, so that its reply, when its
-- holder is gone, waits as the others do.
WITH running AS (
    UPDATE outbox SET lease_until = $1
    WHERE status = 'sending' AND lease_until >= $2 AND lease_until < $1
)
UPDATE outbox
SET error = CASE WHEN status = 'sending' THEN 'unconfirmed when the last process stopped'
                 ELSE error END,
    status = 'pending', lease_owner = NULL, lease_until = NULL, next_attempt_at = $1
WHERE (status = 'sending' AND lease_until < $2)
   OR (status = 'pending' AND attempts > 0 AND next_attempt_at < $1)

-- name: claim_deliveries
-- $1 owner, $2 end of the lease, $3 now, $4 how many. The replies due that head their
-- conversation's queue (no earlier open reply), walked in (next_attempt_at, id) order
-- (index outbox_open_due) with one probe of outbox_open each, leased, with whom they go to
-- and whether another reply of the conversation waits behind them.
WITH due AS (
    SELECT outbox.id FROM outbox
    WHERE ((outbox.status = 'pending' AND outbox.next_attempt_at <= $3)
           OR (outbox.status = 'sending' AND outbox.lease_until < $3))
      AND NOT EXISTS (
          SELECT 1 FROM outbox AS earlier
          WHERE earlier.status IN ('pending', 'sending')
            AND earlier.conversation_id = outbox.conversation_id AND earlier.id < outbox.id
      )
    ORDER BY outbox.next_attempt_at, outbox.id LIMIT $4
    FOR UPDATE OF outbox SKIP LOCKED
)
UPDATE outbox SET status = 'sending', lease_owner = $1, lease_until = $2,
                  attempts = attempts + 1
FROM due, conversations AS c
WHERE outbox.id = due.id AND c.id = outbox.conversation_id
RETURNING outbox.id AS delivery_id, outbox.conversation_id, outbox.author, outbox.reply,
          outbox.first_of_turn, outbox.attempts, outbox.created_at, c.channel,
          c.customer_id, c.last_customer_ms,
          EXISTS (SELECT 1 FROM outbox AS later
                  WHERE later.conversation_id = outbox.conversation_id
                    AND later.id > outbox.id AND later.status IN ('pending', 'sending'))
              AS more

-- name: delivered (bulk)
-- Replies the platform took: (sent at, platform message id, outbox id, lease owner).
UPDATE outbox
SET status = 'sent', sent_at = d.sent_at, platform_message_id = d.platform_id, error = NULL,
    lease_owner = NULL, lease_until = NULL
FROM unnest($1::float8[], $2::text[], $3::bigint[], $4::text[])
     AS d (sent_at, platform_id, id, owner)
WHERE outbox.id = d.id AND outbox.lease_owner = d.owner

-- name: confirm_deliveries (bulk)
-- The platform echoed replies we sent: (platform message id, now, outbox id). Delivered,
-- whatever we thought: a reply confirmed is never sent again.
UPDATE outbox SET status = 'sent', platform_message_id = r.platform_id,
                  sent_at = COALESCE(outbox.sent_at, r.now), error = NULL,
                  lease_owner = NULL, lease_until = NULL
FROM unnest($1::text[], $2::float8[], $3::bigint[]) AS r (platform_id, now, id)
WHERE outbox.id = r.id AND outbox.status IN ('pending', 'sending', 'failed')

-- name: waiting_arrivals
-- Webhooks go straight into the inbox here: none waits apart.
SELECT 0

-- name: forget_events
DELETE FROM inbox WHERE channel = $1 AND customer_id = $2

-- name: active_escalations_of
-- The active escalation of each of the conversations $1 (ids), one index probe each.
SELECT e.conversation_id, e.id AS escalation_id, e.status, e.agent
FROM unnest($1::bigint[]) AS a (conversation_id)
CROSS JOIN LATERAL (
    SELECT conversation_id, id, status, agent FROM escalations
    WHERE conversation_id = a.conversation_id AND status IN ('open', 'claimed')
    LIMIT 1
) AS e

-- name: names_due
-- Of the conversations $1 (ids), those whose customer's name was not asked of the platform
-- since $2.
SELECT id AS conversation_id, channel, customer_id FROM conversations
WHERE id = ANY($1::bigint[]) AND (name_checked_at IS NULL OR name_checked_at < $2)

-- name: index_conversation
INSERT INTO search_index (conversation_id, document) VALUES ($1, $2)
ON CONFLICT (conversation_id) DO UPDATE SET document = excluded.document

-- name: search_escalations
-- $1 status or NULL, $2 the words searched (see search.py), $3 how many: newest first.
-- The French configuration stems both sides; index search_index_words.
SELECT v.* FROM search_index s JOIN escalation_view v ON v.conversation_id = s.conversation_id
WHERE to_tsvector('french', s.document) @@ websearch_to_tsquery('french', $2)
  AND (CAST($1 AS TEXT) IS NULL OR v.status = $1)
ORDER BY v.created_at DESC, v.escalation_id DESC LIMIT $3

-- name: compact_search
-- The rows went with their conversations (ON DELETE CASCADE).
SELECT 1
