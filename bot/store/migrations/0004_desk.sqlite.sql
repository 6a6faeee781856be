-- The desk's own data: agents' roles and sessions, internal notes, the team's ready-made
-- replies, when a customer's name was last asked of the platform, what each turn did (for
-- the reports and the review of what the bot missed), agents' labels, and a full-text
-- index of the conversations a person handled.

ALTER TABLE agents ADD COLUMN role TEXT NOT NULL DEFAULT 'agent';   -- agent | admin

-- Desk sign-ins: the browser holds a random id, only its SHA-256 is kept here.
CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY,
    agent      TEXT NOT NULL REFERENCES agents (name) ON DELETE CASCADE,
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX sessions_agent ON sessions (agent);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- When the platform was last asked for the customer's name (asked again after a day).
ALTER TABLE conversations ADD COLUMN name_checked_at REAL;

-- A customer message's turn: what the bot did (answer, clarify, escalate, resolved…) and
-- the problem it was about then. Read by the reports and the review.
ALTER TABLE messages ADD COLUMN action TEXT;
ALTER TABLE messages ADD COLUMN topic TEXT;
-- The reports and the review read customers' messages by time; only those are indexed.
CREATE INDEX messages_customer_time ON messages (created_at) WHERE author = 'customer';
CREATE INDEX escalations_created ON escalations (created_at);
-- A customer's history, and the reports' "was it handed over", by conversation.
CREATE INDEX escalations_conversation ON escalations (conversation_id, created_at);

-- Internal notes: agents among themselves, never sent to the customer.
CREATE TABLE notes (
    id            INTEGER PRIMARY KEY,
    escalation_id INTEGER NOT NULL REFERENCES escalations (id) ON DELETE CASCADE,
    agent         TEXT    NOT NULL,
    text          TEXT    NOT NULL,
    created_at    REAL    NOT NULL
);
CREATE INDEX notes_escalation ON notes (escalation_id, id);

-- The team's own ready-made replies (the article's come from the answer templates).
CREATE TABLE team_replies (
    id         INTEGER PRIMARY KEY,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    author     TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);

-- An agent's word on a customer message the bot missed: the problem it was, or "none".
CREATE TABLE review_labels (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    intent     TEXT NOT NULL,
    agent      TEXT NOT NULL,
    labelled_at REAL NOT NULL
);
CREATE INDEX review_labels_time ON review_labels (labelled_at);

-- Full text of the conversations a person handled (customer, transcript, notes), one row
-- per conversation (rowid = conversation id), words without accents; the query's words are
-- stemmed and matched as prefixes ("reinitialis*" finds réinitialiser and
-- réinitialisation).
CREATE VIRTUAL TABLE search_index USING fts5 (
    document, tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER search_index_forget AFTER DELETE ON conversations BEGIN
    DELETE FROM search_index WHERE rowid = old.id;
END;
