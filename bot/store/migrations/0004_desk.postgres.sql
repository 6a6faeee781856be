-- The desk's own data; see 0004_desk.sqlite.sql. The full-text index is PostgreSQL's, with
-- its French configuration (Snowball stemming: "réinitialisation" finds "réinitialiser").

ALTER TABLE agents ADD COLUMN role TEXT NOT NULL DEFAULT 'agent';

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    agent      TEXT NOT NULL REFERENCES agents (name) ON DELETE CASCADE,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX sessions_agent ON sessions (agent);
CREATE INDEX sessions_expiry ON sessions (expires_at);

ALTER TABLE conversations ADD COLUMN name_checked_at DOUBLE PRECISION;

ALTER TABLE messages ADD COLUMN action TEXT;
ALTER TABLE messages ADD COLUMN topic TEXT;
CREATE INDEX messages_customer_time ON messages (created_at) WHERE author = 'customer';
CREATE INDEX escalations_created ON escalations (created_at);
-- A customer's history, and the reports' "was it handed over", by conversation.
CREATE INDEX escalations_conversation ON escalations (conversation_id, created_at);

CREATE TABLE notes (
    id            BIGSERIAL PRIMARY KEY,
    escalation_id BIGINT NOT NULL REFERENCES escalations (id) ON DELETE CASCADE,
    agent         TEXT   NOT NULL,
    text          TEXT   NOT NULL,
    created_at    DOUBLE PRECISION NOT NULL
);
CREATE INDEX notes_escalation ON notes (escalation_id, id);

CREATE TABLE team_replies (
    id         BIGSERIAL PRIMARY KEY,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

CREATE TABLE review_labels (
    message_id  BIGINT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    intent      TEXT NOT NULL,
    agent       TEXT NOT NULL,
    labelled_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX review_labels_time ON review_labels (labelled_at);

CREATE TABLE search_index (
    conversation_id BIGINT PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    document        TEXT NOT NULL
);
CREATE INDEX search_index_words ON search_index USING GIN (to_tsvector('french', document));
