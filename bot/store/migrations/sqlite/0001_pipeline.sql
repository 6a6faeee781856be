-- Conversations, their transcript, the inbox and outbox, and escalations.
-- Times are seconds since the epoch (REAL); platform timestamps are milliseconds (INTEGER).

CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    channel          TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    customer_name    TEXT,
    state            TEXT    NOT NULL DEFAULT '{}',
    last_customer_ms INTEGER,
    created_at       REAL    NOT NULL,
    updated_at       REAL    NOT NULL,
    UNIQUE (channel, customer_id)
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

-- The transcript: both directions, customers, the bot, agents and native inboxes.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    direction       TEXT    NOT NULL,                 -- in | out
    author          TEXT    NOT NULL,                 -- customer | bot | agent | page_inbox | system
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
