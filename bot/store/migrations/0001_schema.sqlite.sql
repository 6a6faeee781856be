-- Conversations, their transcript, the inbox and outbox, escalations, agents, poller
-- cursors and deletion requests. Times are seconds since the epoch; platform timestamps are
-- milliseconds. (A database made before this sequence began, at its migration 0008, is
-- this schema already: it is recorded as 0001 when first opened.)

CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    channel          TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    customer_name    TEXT,
    state            TEXT    NOT NULL DEFAULT '{}',
    last_customer_ms INTEGER,
    created_at       REAL    NOT NULL,
    updated_at       REAL    NOT NULL,
    -- Bumped at every change of the state: a worker that computed a turn from an older
    -- state (an agent resolved meanwhile) does not overwrite the newer one.
    version          INTEGER NOT NULL DEFAULT 0,
    UNIQUE (channel, customer_id)
);
CREATE INDEX conversations_updated ON conversations (updated_at);

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

-- Every event a webhook acknowledged; (channel, platform_id) makes redeliveries no-ops.
CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT    NOT NULL,
    platform_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending',   -- pending | done | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL,
    error       TEXT,
    received_at REAL    NOT NULL,
    done_at     REAL,
    UNIQUE (channel, platform_id)
);
CREATE INDEX inbox_pending ON inbox (channel, customer_id, id) WHERE status = 'pending';
CREATE INDEX inbox_done ON inbox (done_at) WHERE status <> 'pending';
CREATE INDEX inbox_failed ON inbox (id) WHERE status = 'failed';

-- The transcript: both directions; customers, the bot, agents and people answering from
-- a platform's own app ("native").
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    direction       TEXT    NOT NULL,                 -- in | out
    author          TEXT    NOT NULL,                 -- customer | bot | agent | native
    agent           TEXT,
    text            TEXT    NOT NULL,
    payload         TEXT,
    attachments     INTEGER NOT NULL DEFAULT 0,
    platform_id     TEXT,
    intent          TEXT,
    score           REAL,
    created_at      REAL    NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

-- Replies to deliver, in order per conversation.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    conversation_id     INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id          INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    author              TEXT    NOT NULL,              -- bot | agent
    reply               TEXT    NOT NULL,
    first_of_turn       INTEGER NOT NULL DEFAULT 0,
    status              TEXT    NOT NULL DEFAULT 'pending',  -- pending | sending | sent | failed | dropped
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     REAL    NOT NULL,
    lease_owner         TEXT,
    lease_until         REAL,
    error               TEXT,
    platform_message_id TEXT,
    created_at          REAL    NOT NULL,
    sent_at             REAL
);
CREATE INDEX outbox_open ON outbox (conversation_id, id) WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';

CREATE TABLE escalations (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL,                 -- open | claimed | resolved
    reason          TEXT    NOT NULL,
    intent          TEXT,
    score           REAL,
    agent           TEXT,
    created_at      REAL    NOT NULL,
    claimed_at      REAL,
    resolved_at     REAL
);
CREATE UNIQUE INDEX escalations_active ON escalations (conversation_id)
    WHERE status IN ('open', 'claimed');
CREATE INDEX escalations_status ON escalations (status, created_at);

-- Agents of the desk. Only a SHA-256 of each token is kept: tokens are 256 random bits,
-- so a fast hash is enough (there is nothing to brute-force), and a stolen database
-- gives no way in.
CREATE TABLE agents (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  REAL NOT NULL
);

-- Where a polling reader stopped (e.g. the last X direct-message event read), saved in the
-- same transaction as the events it read: nothing read twice, nothing skipped.
CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL
);

-- Requests to delete a customer's data, kept so the customer can check the status. Only
-- the confirmation code and what was done are kept, never who asked.
CREATE TABLE deletions (
    code          TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    conversations INTEGER NOT NULL,
    requested_at  REAL NOT NULL
);
