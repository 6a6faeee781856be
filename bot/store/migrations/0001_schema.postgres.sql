-- The schema of 0001_schema.sqlite.sql in PostgreSQL's types, without `arrivals` (webhooks
-- go straight into the indexed inbox) and with the indexes the claims walk. (A database
-- made before this sequence began, at its migration 0005, is this schema already: it is
-- recorded as 0001 when first opened.)

CREATE TABLE conversations (
    id               BIGSERIAL PRIMARY KEY,
    channel          TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    customer_name    TEXT,
    state            TEXT    NOT NULL DEFAULT '{}',
    last_customer_ms BIGINT,
    version          INTEGER NOT NULL DEFAULT 0,
    created_at       DOUBLE PRECISION NOT NULL,
    updated_at       DOUBLE PRECISION NOT NULL,
    UNIQUE (channel, customer_id)
);
CREATE INDEX conversations_updated ON conversations (updated_at);

CREATE TABLE inbox (
    id          BIGSERIAL PRIMARY KEY,
    channel     TEXT    NOT NULL,
    platform_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending',
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION,
    error       TEXT,
    received_at DOUBLE PRECISION NOT NULL,
    done_at     DOUBLE PRECISION,
    UNIQUE (channel, platform_id)
);
CREATE INDEX inbox_pending ON inbox (channel, customer_id, id) WHERE status = 'pending';
-- The inbox claim walks pending events in id order.
CREATE INDEX inbox_pending_id ON inbox (id) WHERE status = 'pending';
CREATE INDEX inbox_done ON inbox (done_at) WHERE status <> 'pending';
CREATE INDEX inbox_failed ON inbox (id) WHERE status = 'failed';

CREATE TABLE messages (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT  NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    direction       TEXT    NOT NULL,
    author          TEXT    NOT NULL,
    agent           TEXT,
    text            TEXT    NOT NULL,
    payload         TEXT,
    attachments     INTEGER NOT NULL DEFAULT 0,
    platform_id     TEXT,
    intent          TEXT,
    score           DOUBLE PRECISION,
    created_at      DOUBLE PRECISION NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);

CREATE TABLE outbox (
    id                  BIGSERIAL PRIMARY KEY,
    conversation_id     BIGINT  NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id          BIGINT  REFERENCES messages (id) ON DELETE SET NULL,
    author              TEXT    NOT NULL,
    reply               TEXT    NOT NULL,
    first_of_turn       BOOLEAN NOT NULL DEFAULT FALSE,
    status              TEXT    NOT NULL DEFAULT 'pending',
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     DOUBLE PRECISION NOT NULL,
    lease_owner         TEXT,
    lease_until         DOUBLE PRECISION,
    error               TEXT,
    platform_message_id TEXT,
    created_at          DOUBLE PRECISION NOT NULL,
    sent_at             DOUBLE PRECISION
);
CREATE INDEX outbox_open ON outbox (conversation_id, id) WHERE status IN ('pending', 'sending');
-- The outbox claim walks the open replies in the order they are due.
CREATE INDEX outbox_open_due ON outbox (next_attempt_at, id)
    WHERE status IN ('pending', 'sending');
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';

CREATE TABLE escalations (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id BIGINT  NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    intent          TEXT,
    score           DOUBLE PRECISION,
    agent           TEXT,
    created_at      DOUBLE PRECISION NOT NULL,
    claimed_at      DOUBLE PRECISION,
    resolved_at     DOUBLE PRECISION
);
CREATE UNIQUE INDEX escalations_active ON escalations (conversation_id)
    WHERE status IN ('open', 'claimed');
CREATE INDEX escalations_status ON escalations (status, created_at);

CREATE TABLE agents (
    id          BIGSERIAL PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  DOUBLE PRECISION NOT NULL
);

CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE deletions (
    code          TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    conversations INTEGER NOT NULL,
    requested_at  DOUBLE PRECISION NOT NULL
);
