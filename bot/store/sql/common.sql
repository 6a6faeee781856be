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
-- $1 the earliest time a reply left in doubt goes again (at a start when no other process
-- was running). A reply that was being sent when the process died may have reached the
-- platform, and so may one tried before (its send timed out, say): neither goes again
-- before $1, time for the platform's echo to confirm it (and cancel the retry) if it did.
-- An echo could not reach the stopped process.
UPDATE outbox
SET error = CASE WHEN status = 'sending' THEN 'unconfirmed when the last process stopped'
                 ELSE error END,
    status = 'pending', lease_owner = NULL, lease_until = NULL, next_attempt_at = $1
WHERE status = 'sending' OR (status = 'pending' AND attempts > 0 AND next_attempt_at < $1)

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
-- $1 the name the platform gave (NULL: none, the one known stays), $2 conversation, $3 now.
UPDATE conversations SET customer_name = COALESCE($1, customer_name), name_checked_at = $3
WHERE id = $2

-- name: conversation
SELECT id AS conversation_id, channel, customer_id, customer_name, state, last_customer_ms,
       version
FROM conversations WHERE channel = $1 AND customer_id = $2

-- name: transcript
SELECT m.id, m.direction, m.author, m.agent, m.text, m.payload, m.attachments, m.intent,
       m.score, m.created_at, o.status AS delivery, o.error, m.action
FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
WHERE m.conversation_id = $1 ORDER BY m.id

-- name: transcript_texts
-- What the search index holds of a conversation's messages.
SELECT text FROM messages WHERE conversation_id = $1 ORDER BY id

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
INSERT INTO agents (name, token_hash, created_at, role) VALUES ($1, $2, $3, $4)

-- name: remove_agent
DELETE FROM agents WHERE name = $1

-- name: agents
SELECT name, created_at, role FROM agents ORDER BY name

-- name: agent_for
SELECT name, role FROM agents WHERE token_hash = $1

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

-- name: agent_named
SELECT name, created_at, role FROM agents WHERE name = $1

-- name: resolved_escalations
-- The latest handled conversations, newest first ($1 how many; index escalations_status).
SELECT * FROM escalation_view WHERE status = 'resolved'
ORDER BY created_at DESC, escalation_id DESC LIMIT $1

-- name: agent_escalations
-- What one agent holds ($1), oldest first.
SELECT * FROM escalation_view WHERE status = 'claimed' AND agent = $1
ORDER BY created_at, escalation_id

-- name: release_escalation
-- $1 escalation, $2 the caller, $3 the caller is an admin: back to the queue, unheld.
UPDATE escalations SET status = 'open', agent = NULL, claimed_at = NULL
WHERE id = $1 AND status = 'claimed' AND (agent = $2 OR $3)

-- name: transfer_escalation
-- $1 escalation, $2 the caller, $3 the caller is an admin, $4 the new holder, $5 now.
-- The holder hands it over; an admin may also give one nobody holds yet.
UPDATE escalations SET status = 'claimed', agent = $4, claimed_at = $5
WHERE id = $1 AND ((status = 'claimed' AND agent = $2) OR ($3 AND status IN ('open', 'claimed')))

-- == sessions ==

-- name: add_session
INSERT INTO sessions (id_hash, agent, created_at, expires_at) VALUES ($1, $2, $3, $4)

-- name: session_agent
-- $1 the session id's hash, $2 now: the agent it signs in, while it has not expired.
SELECT a.name, a.role, s.expires_at FROM sessions s JOIN agents a ON a.name = s.agent
WHERE s.id_hash = $1 AND s.expires_at > $2

-- name: renew_session
UPDATE sessions SET expires_at = $2 WHERE id_hash = $1

-- name: end_session
DELETE FROM sessions WHERE id_hash = $1

-- name: purge_sessions
DELETE FROM sessions WHERE expires_at <= $1

-- == notes ==

-- name: add_note
INSERT INTO notes (escalation_id, agent, text, created_at) VALUES ($1, $2, $3, $4)

-- name: notes
SELECT agent, text, created_at FROM notes WHERE escalation_id = $1 ORDER BY id

-- name: conversation_notes
SELECT n.text FROM notes n JOIN escalations e ON e.id = n.escalation_id
WHERE e.conversation_id = $1 ORDER BY n.id

-- == customers ==

-- name: conversation_by_id
SELECT id AS conversation_id, channel, customer_id, customer_name, state, last_customer_ms,
       version
FROM conversations WHERE id = $1

-- == the team's ready-made replies ==

-- name: team_replies
SELECT id, title, text, author, created_at, updated_at FROM team_replies ORDER BY title, id

-- name: add_team_reply
INSERT INTO team_replies (title, text, author, created_at, updated_at)
VALUES ($1, $2, $3, $4, $4)
RETURNING id

-- name: update_team_reply
UPDATE team_replies SET title = $2, text = $3, author = $4, updated_at = $5 WHERE id = $1

-- name: delete_team_reply
DELETE FROM team_replies WHERE id = $1

-- == the review of what the bot missed ==

-- name: customer_message
SELECT id FROM messages WHERE id = $1 AND author = 'customer'

-- name: label_message
INSERT INTO review_labels (message_id, intent, agent, labelled_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (message_id) DO UPDATE
    SET intent = excluded.intent, agent = excluded.agent, labelled_at = excluded.labelled_at

-- name: review_candidates
-- Customers' messages since $1 that the bot missed, not yet labelled, newest first, at most
-- $2: what it did not understand ("none"); the message it asked about when the customer
-- then chose another problem than its first guess ("clarified", the chosen problem); the
-- message it answered when the customer then said the answer did not help ("not_solved",
-- the problem it answered).
WITH recent AS (
    SELECT id, text, payload, intent, action, topic, created_at,
           LAG(id) OVER w AS prev_id, LAG(text) OVER w AS prev_text,
           LAG(intent) OVER w AS prev_intent, LAG(action) OVER w AS prev_action,
           LAG(topic) OVER w AS prev_topic, LAG(created_at) OVER w AS prev_at
    FROM messages WHERE author = 'customer' AND created_at >= $1
    WINDOW w AS (PARTITION BY conversation_id ORDER BY id)
), missed AS (
    SELECT id, text, created_at, 'none' AS reason, 'none' AS intent FROM recent
    WHERE intent = 'none' AND action IN ('fallback', 'offer_human') AND text <> ''
    UNION ALL
    SELECT prev_id, prev_text, prev_at, 'clarified', SUBSTR(payload, 8) FROM recent
    WHERE prev_action = 'clarify' AND payload LIKE 'intent:%'
      AND action = 'answer' AND SUBSTR(payload, 8) <> COALESCE(prev_intent, '')
    UNION ALL
    SELECT prev_id, prev_text, prev_at, 'not_solved', prev_topic FROM recent
    WHERE action = 'escalate' AND prev_action = 'answer' AND prev_topic IS NOT NULL
)
SELECT missed.id, missed.text, missed.created_at, missed.reason, missed.intent FROM missed
LEFT JOIN review_labels l ON l.message_id = missed.id
WHERE l.message_id IS NULL AND missed.id IS NOT NULL
ORDER BY missed.created_at DESC, missed.id DESC LIMIT $2

-- name: labelled_messages
SELECT l.message_id, l.intent, l.agent, l.labelled_at, m.text
FROM review_labels l JOIN messages m ON m.id = l.message_id
ORDER BY l.message_id

-- == reports ==
-- $1 from (seconds, included), $2 to (seconds, excluded), $3 channel or NULL. A
-- conversation counts on a day when its customer wrote that day. Solved by the bot: the
-- customer said yes after an answer, or got an answer and no escalation in the period.

-- name: report_totals
WITH talk AS (
    SELECT m.conversation_id,
           MAX(CASE WHEN m.action = 'resolved' THEN 1 ELSE 0 END) AS said_yes,
           MAX(CASE WHEN m.action = 'answer' THEN 1 ELSE 0 END) AS answered
    FROM messages m JOIN conversations c ON c.id = m.conversation_id
    WHERE m.author = 'customer' AND m.created_at >= $1 AND m.created_at < $2
      AND (CAST($3 AS TEXT) IS NULL OR c.channel = $3)
    GROUP BY m.conversation_id
)
SELECT COUNT(*) AS conversations,
       COALESCE(SUM(CASE WHEN said_yes = 1 OR (answered = 1 AND NOT EXISTS (
           SELECT 1 FROM escalations e WHERE e.conversation_id = talk.conversation_id
             AND e.created_at >= $1 AND e.created_at < $2)) THEN 1 ELSE 0 END), 0)
           AS solved_by_bot
FROM talk

-- name: report_reasons
SELECT e.reason, COUNT(*) AS escalations
FROM escalations e JOIN conversations c ON c.id = e.conversation_id
WHERE e.created_at >= $1 AND e.created_at < $2 AND (CAST($3 AS TEXT) IS NULL OR c.channel = $3)
GROUP BY e.reason ORDER BY e.reason

-- name: report_problems
-- Per problem: the bot's answers to it, and the "Non" that followed (escalations because
-- the answer did not solve it).
SELECT topic, SUM(answers) AS answers, SUM(noes) AS noes FROM (
    SELECT m.topic, COUNT(*) AS answers, 0 AS noes
    FROM messages m JOIN conversations c ON c.id = m.conversation_id
    WHERE m.author = 'customer' AND m.action = 'answer' AND m.created_at >= $1
      AND m.created_at < $2 AND (CAST($3 AS TEXT) IS NULL OR c.channel = $3)
    GROUP BY m.topic
    UNION ALL
    SELECT e.intent, 0, COUNT(*)
    FROM escalations e JOIN conversations c ON c.id = e.conversation_id
    WHERE e.reason = 'not_solved' AND e.created_at >= $1 AND e.created_at < $2
      AND (CAST($3 AS TEXT) IS NULL OR c.channel = $3)
    GROUP BY e.intent
) AS counted
WHERE topic IS NOT NULL
GROUP BY topic ORDER BY topic

-- name: report_first_reply
-- Seconds from an escalation (of the period) to the first reply of a person; the median
-- and the 90th percentile by nearest rank (the value at rank ceil(p * n)).
WITH waits AS (
    SELECT (SELECT MIN(m.created_at) FROM messages m
            WHERE m.conversation_id = e.conversation_id AND m.author IN ('agent', 'native')
              AND m.created_at >= e.created_at) - e.created_at AS seconds
    FROM escalations e JOIN conversations c ON c.id = e.conversation_id
    WHERE e.created_at >= $1 AND e.created_at < $2 AND (CAST($3 AS TEXT) IS NULL OR c.channel = $3)
), ranked AS (
    SELECT seconds, ROW_NUMBER() OVER (ORDER BY seconds) AS rank, COUNT(*) OVER () AS n
    FROM waits WHERE seconds IS NOT NULL
)
SELECT COUNT(*) AS replied,
       MIN(CASE WHEN rank = (n + 1) / 2 THEN seconds END) AS median,
       MIN(CASE WHEN rank = (9 * n + 9) / 10 THEN seconds END) AS p90
FROM ranked

-- name: report_backlog
-- The escalations waiting now, whatever the period ($1 channel or NULL): how many, and
-- since when the oldest waits.
SELECT e.status, COUNT(*) AS escalations, MIN(e.created_at) AS oldest
FROM escalations e JOIN conversations c ON c.id = e.conversation_id
WHERE e.status IN ('open', 'claimed') AND (CAST($1 AS TEXT) IS NULL OR c.channel = $1)
GROUP BY e.status ORDER BY e.status

-- name: report_agents
-- Per agent: escalations of the period they handled, resolved, and their replies in it;
-- what they hold now.
SELECT e.agent,
       COUNT(*) AS handled,
       SUM(CASE WHEN e.status = 'resolved' THEN 1 ELSE 0 END) AS resolved,
       SUM(CASE WHEN e.status = 'claimed' THEN 1 ELSE 0 END) AS holding,
       SUM((SELECT COUNT(*) FROM messages m
            WHERE m.conversation_id = e.conversation_id AND m.author = 'agent'
              AND m.agent = e.agent AND m.created_at >= e.created_at
              AND m.created_at >= $1 AND m.created_at < $2
              AND (e.resolved_at IS NULL OR m.created_at <= e.resolved_at))) AS replies
FROM escalations e JOIN conversations c ON c.id = e.conversation_id
WHERE e.agent IS NOT NULL AND e.created_at >= $1 AND e.created_at < $2
  AND (CAST($3 AS TEXT) IS NULL OR c.channel = $3)
GROUP BY e.agent ORDER BY e.agent

-- name: latest_lines
-- The last $2 lines of conversation $1, newest first, with the reply sent for each of the
-- bot's (the /chat page's answer to one message).
SELECT m.id, m.author, m.platform_id, m.intent, m.score, o.id AS outbox_id, o.reply
FROM messages m LEFT JOIN outbox o ON o.message_id = m.id
WHERE m.conversation_id = $1 ORDER BY m.id DESC LIMIT $2

-- name: report_days
-- Per UTC day and channel of the period ($1 from, $2 until, $3 a channel or NULL): conversations,
-- those the bot solved, escalations, and the customers' yes after an answer.
WITH talk AS (
    SELECT utc_day(m.created_at) AS day, c.channel, m.conversation_id,
           MAX(CASE WHEN m.action = 'resolved' THEN 1 ELSE 0 END) AS said_yes,
           MAX(CASE WHEN m.action = 'answer' THEN 1 ELSE 0 END) AS answered,
           SUM(CASE WHEN m.action = 'resolved' THEN 1 ELSE 0 END) AS yeses
    FROM messages m JOIN conversations c ON c.id = m.conversation_id
    WHERE m.author = 'customer' AND m.created_at >= $1 AND m.created_at < $2
      AND (CAST($3 AS TEXT) IS NULL OR c.channel = $3)
    GROUP BY 1, 2, 3
), escalated AS (
    SELECT utc_day(e.created_at) AS day, c.channel, e.conversation_id, e.reason
    FROM escalations e JOIN conversations c ON c.id = e.conversation_id
    WHERE e.created_at >= $1 AND e.created_at < $2
      AND (CAST($3 AS TEXT) IS NULL OR c.channel = $3)
)
SELECT day, channel, SUM(conversations) AS conversations, SUM(solved) AS solved_by_bot,
       SUM(escalations) AS escalations, SUM(yes) AS yes, SUM(no) AS no
FROM (
    SELECT day, channel, 1 AS conversations,
           CASE WHEN said_yes = 1 OR (answered = 1 AND NOT EXISTS (
               SELECT 1 FROM escalated x WHERE x.conversation_id = talk.conversation_id))
           THEN 1 ELSE 0 END AS solved,
           0 AS escalations, yeses AS yes, 0 AS no
    FROM talk
    UNION ALL
    SELECT day, channel, 0, 0, 1, 0, CASE WHEN reason = 'not_solved' THEN 1 ELSE 0 END
    FROM escalated
) AS counted
GROUP BY day, channel ORDER BY day, channel
