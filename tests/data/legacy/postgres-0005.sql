-- The PostgreSQL store as it was before the store redesign (migrations 0001-0005), with
-- data: the upgrade test loads it into a scratch schema (legacy_schema is replaced).
SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;
SET default_tablespace = '';
SET default_table_access_method = heap;
CREATE TABLE legacy_schema.agents (
    id bigint NOT NULL,
    name text NOT NULL,
    token_hash text NOT NULL,
    created_at double precision NOT NULL
);
CREATE SEQUENCE legacy_schema.agents_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE legacy_schema.agents_id_seq OWNED BY legacy_schema.agents.id;
CREATE TABLE legacy_schema.conversations (
    id bigint NOT NULL,
    channel text NOT NULL,
    customer_id text NOT NULL,
    customer_name text,
    state text DEFAULT '{}'::text NOT NULL,
    last_customer_ms bigint,
    version integer DEFAULT 0 NOT NULL,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL
);
CREATE SEQUENCE legacy_schema.conversations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE legacy_schema.conversations_id_seq OWNED BY legacy_schema.conversations.id;
CREATE TABLE legacy_schema.cursors (
    name text NOT NULL,
    value text NOT NULL,
    updated_at double precision NOT NULL
);
CREATE TABLE legacy_schema.deletions (
    code text NOT NULL,
    channel text NOT NULL,
    conversations integer NOT NULL,
    requested_at double precision NOT NULL
);
CREATE TABLE legacy_schema.escalations (
    id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    status text NOT NULL,
    reason text NOT NULL,
    intent text,
    score double precision,
    agent text,
    created_at double precision NOT NULL,
    claimed_at double precision,
    resolved_at double precision
);
CREATE SEQUENCE legacy_schema.escalations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE legacy_schema.escalations_id_seq OWNED BY legacy_schema.escalations.id;
CREATE TABLE legacy_schema.inbox (
    id bigint NOT NULL,
    channel text NOT NULL,
    platform_id text NOT NULL,
    customer_id text NOT NULL,
    kind text NOT NULL,
    message text NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    lease_owner text,
    lease_until double precision,
    error text,
    received_at double precision NOT NULL,
    done_at double precision
);
CREATE SEQUENCE legacy_schema.inbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE legacy_schema.inbox_id_seq OWNED BY legacy_schema.inbox.id;
CREATE TABLE legacy_schema.messages (
    id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    direction text NOT NULL,
    author text NOT NULL,
    agent text,
    text text NOT NULL,
    payload text,
    attachments integer DEFAULT 0 NOT NULL,
    platform_id text,
    intent text,
    score double precision,
    created_at double precision NOT NULL
);
CREATE SEQUENCE legacy_schema.messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE legacy_schema.messages_id_seq OWNED BY legacy_schema.messages.id;
CREATE TABLE legacy_schema.outbox (
    id bigint NOT NULL,
    conversation_id bigint NOT NULL,
    message_id bigint,
    author text NOT NULL,
    reply text NOT NULL,
    first_of_turn boolean DEFAULT false NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at double precision NOT NULL,
    lease_owner text,
    lease_until double precision,
    error text,
    platform_message_id text,
    created_at double precision NOT NULL,
    sent_at double precision
);
CREATE SEQUENCE legacy_schema.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;
ALTER SEQUENCE legacy_schema.outbox_id_seq OWNED BY legacy_schema.outbox.id;
CREATE TABLE legacy_schema.schema_migrations (
    version integer NOT NULL,
    name text NOT NULL,
    applied_at double precision NOT NULL
);
ALTER TABLE ONLY legacy_schema.agents ALTER COLUMN id SET DEFAULT nextval('legacy_schema.agents_id_seq'::regclass);
ALTER TABLE ONLY legacy_schema.conversations ALTER COLUMN id SET DEFAULT nextval('legacy_schema.conversations_id_seq'::regclass);
ALTER TABLE ONLY legacy_schema.escalations ALTER COLUMN id SET DEFAULT nextval('legacy_schema.escalations_id_seq'::regclass);
ALTER TABLE ONLY legacy_schema.inbox ALTER COLUMN id SET DEFAULT nextval('legacy_schema.inbox_id_seq'::regclass);
ALTER TABLE ONLY legacy_schema.messages ALTER COLUMN id SET DEFAULT nextval('legacy_schema.messages_id_seq'::regclass);
ALTER TABLE ONLY legacy_schema.outbox ALTER COLUMN id SET DEFAULT nextval('legacy_schema.outbox_id_seq'::regclass);
INSERT INTO legacy_schema.agents VALUES (1, 'ana', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1796563075.9203994);
INSERT INTO legacy_schema.agents VALUES (2, 'bruno', 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 1796563075.9212968);
INSERT INTO legacy_schema.conversations VALUES (1, 'messenger', 'psid-1', 'Léa Martin', '{"last_intent":"forgot_password","last_action":null,"awaiting_feedback":true,"misses":0,"offered_human":false,"escalated":false,"disclosed":true,"choices":[],"answered":[],"facts":{},"recent_ms":[],"flood_noticed":false}', 1764000000000, 1, 1796563075.9043827, 1796563075.906283);
INSERT INTO legacy_schema.conversations VALUES (2, 'messenger', 'psid-2', NULL, '{"last_intent":null,"last_action":null,"awaiting_feedback":false,"misses":0,"offered_human":false,"escalated":true,"disclosed":true,"choices":[],"answered":[],"facts":{},"recent_ms":[],"flood_noticed":false}', 1764000000000, 1, 1796563075.9043827, 1796563075.906283);
INSERT INTO legacy_schema.conversations VALUES (3, 'twitter', '42', 'Jo', '{"last_intent":"forgot_password","last_action":null,"awaiting_feedback":true,"misses":0,"offered_human":false,"escalated":false,"disclosed":true,"choices":[],"answered":[],"facts":{},"recent_ms":[],"flood_noticed":false}', 1764000000000, 1, 1796563075.9043827, 1796563075.906283);
INSERT INTO legacy_schema.cursors VALUES ('twitter:dm', '1001', 1796563075.89397);
INSERT INTO legacy_schema.deletions VALUES ('0123456789abcdef0123', 'messenger', 0, 1796563075.9262373);
INSERT INTO legacy_schema.escalations VALUES (1, 2, 'claimed', 'asked_for_human', 'human', 97, 'ana', 1796563075.906283, 1796563075.9224265, NULL);
INSERT INTO legacy_schema.inbox VALUES (1, 'messenger', 'm1', 'psid-1', 'message', '{"channel":"messenger","platform_id":"m1","sender_id":"psid-1","sender_name":"Léa Martin","text":"j''ai oublié mon mot de passe","payload":null,"attachments":0,"timestamp_ms":1764000000000,"post_id":null}', 'done', 1, NULL, NULL, NULL, 1796563075.89397, 1796563075.906283);
INSERT INTO legacy_schema.inbox VALUES (2, 'messenger', 'm2', 'psid-2', 'message', '{"channel":"messenger","platform_id":"m2","sender_id":"psid-2","sender_name":null,"text":"je veux parler à un humain","payload":null,"attachments":0,"timestamp_ms":1764000000000,"post_id":null}', 'done', 1, NULL, NULL, NULL, 1796563075.89397, 1796563075.906283);
INSERT INTO legacy_schema.inbox VALUES (3, 'twitter', 'dm-1', '42', 'message', '{"channel":"twitter","platform_id":"dm-1","sender_id":"42","sender_name":"Jo","text":"mdp oublié","payload":null,"attachments":0,"timestamp_ms":1764000000000,"post_id":null}', 'done', 1, NULL, NULL, NULL, 1796563075.89397, 1796563075.906283);
INSERT INTO legacy_schema.inbox VALUES (4, 'messenger', 'm3', 'psid-3', 'message', '{"channel":"messenger","platform_id":"m3","sender_id":"psid-3","sender_name":null,"text":"cc","payload":null,"attachments":0,"timestamp_ms":1764000000000,"post_id":null}', 'pending', 0, NULL, NULL, NULL, 1796563075.9270005, NULL);
INSERT INTO legacy_schema.messages VALUES (1, 1, 'in', 'customer', NULL, 'j''ai oublié mon mot de passe', NULL, 0, 'm1', 'forgot_password', 91.5, 1796563075.906283);
INSERT INTO legacy_schema.messages VALUES (2, 2, 'in', 'customer', NULL, 'je veux parler à un humain', NULL, 0, 'm2', 'human', 97, 1796563075.906283);
INSERT INTO legacy_schema.messages VALUES (3, 3, 'in', 'customer', NULL, 'mdp oublié', NULL, 0, 'dm-1', 'forgot_password', 91.5, 1796563075.906283);
INSERT INTO legacy_schema.messages VALUES (4, 1, 'out', 'bot', NULL, 'Vous pouvez réinitialiser votre mot de passe.', NULL, 0, NULL, NULL, NULL, 1796563075.906283);
INSERT INTO legacy_schema.messages VALUES (5, 1, 'out', 'bot', NULL, 'Est-ce que cela a résolu votre problème ?', NULL, 0, NULL, NULL, NULL, 1796563075.906283);
INSERT INTO legacy_schema.messages VALUES (6, 2, 'out', 'bot', NULL, 'Je transmets votre demande à un conseiller.', NULL, 0, NULL, NULL, NULL, 1796563075.906283);
INSERT INTO legacy_schema.messages VALUES (7, 3, 'out', 'bot', NULL, 'Vous pouvez réinitialiser votre mot de passe.', NULL, 0, NULL, NULL, NULL, 1796563075.906283);
INSERT INTO legacy_schema.messages VALUES (8, 3, 'out', 'bot', NULL, 'Est-ce que cela a résolu votre problème ?', NULL, 0, NULL, NULL, NULL, 1796563075.906283);
INSERT INTO legacy_schema.messages VALUES (9, 2, 'out', 'agent', 'ana', 'Bonjour, je suis Ana.', NULL, 0, NULL, NULL, NULL, 1796563075.9242718);
INSERT INTO legacy_schema.outbox VALUES (2, 1, 5, 'bot', '{"text":"Est-ce que cela a résolu votre problème ?","quick_replies":[],"buttons":[],"reply_to_post":null}', false, 'pending', 0, 1796563075.906283, NULL, NULL, NULL, NULL, 1796563075.906283, NULL);
INSERT INTO legacy_schema.outbox VALUES (5, 3, 8, 'bot', '{"text":"Est-ce que cela a résolu votre problème ?","quick_replies":[],"buttons":[],"reply_to_post":null}', false, 'pending', 0, 1796563075.906283, NULL, NULL, NULL, NULL, 1796563075.906283, NULL);
INSERT INTO legacy_schema.outbox VALUES (1, 1, 4, 'bot', '{"text":"Vous pouvez réinitialiser votre mot de passe.","quick_replies":[],"buttons":[],"reply_to_post":null}', true, 'sent', 1, 1796563075.906283, NULL, NULL, NULL, 'mid.1', 1796563075.906283, 1796563075.917433);
INSERT INTO legacy_schema.outbox VALUES (3, 2, 6, 'bot', '{"text":"Je transmets votre demande à un conseiller.","quick_replies":[],"buttons":[],"reply_to_post":null}', true, 'sent', 1, 1796563075.906283, NULL, NULL, NULL, 'mid.3', 1796563075.906283, 1796563075.9186404);
INSERT INTO legacy_schema.outbox VALUES (4, 3, 7, 'bot', '{"text":"Vous pouvez réinitialiser votre mot de passe.","quick_replies":[],"buttons":[],"reply_to_post":null}', true, 'sent', 1, 1796563075.906283, NULL, NULL, NULL, 'mid.4', 1796563075.906283, 1796563075.919525);
INSERT INTO legacy_schema.outbox VALUES (6, 2, 9, 'agent', '{"text":"Bonjour, je suis Ana.","quick_replies":[],"buttons":[],"reply_to_post":null}', false, 'pending', 0, 1796563075.9242718, NULL, NULL, NULL, NULL, 1796563075.9242718, NULL);
INSERT INTO legacy_schema.schema_migrations VALUES (1, '0001_pipeline.sql', 1796563075.886244);
INSERT INTO legacy_schema.schema_migrations VALUES (2, '0002_deletions.sql', 1796563075.88924);
INSERT INTO legacy_schema.schema_migrations VALUES (3, '0003_failed_indexes.sql', 1796563075.8906953);
INSERT INTO legacy_schema.schema_migrations VALUES (4, '0004_inbox_pending_id.sql', 1796563075.8915474);
INSERT INTO legacy_schema.schema_migrations VALUES (5, '0005_outbox_open_due.sql', 1796563075.8925118);
SELECT pg_catalog.setval('legacy_schema.agents_id_seq', 2, true);
SELECT pg_catalog.setval('legacy_schema.conversations_id_seq', 3, true);
SELECT pg_catalog.setval('legacy_schema.escalations_id_seq', 1, true);
SELECT pg_catalog.setval('legacy_schema.inbox_id_seq', 4, true);
SELECT pg_catalog.setval('legacy_schema.messages_id_seq', 9, true);
SELECT pg_catalog.setval('legacy_schema.outbox_id_seq', 6, true);
ALTER TABLE ONLY legacy_schema.agents
    ADD CONSTRAINT agents_name_key UNIQUE (name);
ALTER TABLE ONLY legacy_schema.agents
    ADD CONSTRAINT agents_pkey PRIMARY KEY (id);
ALTER TABLE ONLY legacy_schema.agents
    ADD CONSTRAINT agents_token_hash_key UNIQUE (token_hash);
ALTER TABLE ONLY legacy_schema.conversations
    ADD CONSTRAINT conversations_channel_customer_id_key UNIQUE (channel, customer_id);
ALTER TABLE ONLY legacy_schema.conversations
    ADD CONSTRAINT conversations_pkey PRIMARY KEY (id);
ALTER TABLE ONLY legacy_schema.cursors
    ADD CONSTRAINT cursors_pkey PRIMARY KEY (name);
ALTER TABLE ONLY legacy_schema.deletions
    ADD CONSTRAINT deletions_pkey PRIMARY KEY (code);
ALTER TABLE ONLY legacy_schema.escalations
    ADD CONSTRAINT escalations_pkey PRIMARY KEY (id);
ALTER TABLE ONLY legacy_schema.inbox
    ADD CONSTRAINT inbox_channel_platform_id_key UNIQUE (channel, platform_id);
ALTER TABLE ONLY legacy_schema.inbox
    ADD CONSTRAINT inbox_pkey PRIMARY KEY (id);
ALTER TABLE ONLY legacy_schema.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id);
ALTER TABLE ONLY legacy_schema.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);
ALTER TABLE ONLY legacy_schema.schema_migrations
    ADD CONSTRAINT schema_migrations_pkey PRIMARY KEY (version);
CREATE INDEX conversations_updated ON legacy_schema.conversations USING btree (updated_at);
CREATE UNIQUE INDEX escalations_active ON legacy_schema.escalations USING btree (conversation_id) WHERE (status = ANY (ARRAY['open'::text, 'claimed'::text]));
CREATE INDEX escalations_status ON legacy_schema.escalations USING btree (status, created_at);
CREATE INDEX inbox_done ON legacy_schema.inbox USING btree (done_at) WHERE (status <> 'pending'::text);
CREATE INDEX inbox_failed ON legacy_schema.inbox USING btree (id) WHERE (status = 'failed'::text);
CREATE INDEX inbox_pending ON legacy_schema.inbox USING btree (channel, customer_id, id) WHERE (status = 'pending'::text);
CREATE INDEX inbox_pending_id ON legacy_schema.inbox USING btree (id) WHERE (status = 'pending'::text);
CREATE INDEX messages_conversation ON legacy_schema.messages USING btree (conversation_id, id);
CREATE INDEX outbox_failed ON legacy_schema.outbox USING btree (id) WHERE (status = 'failed'::text);
CREATE INDEX outbox_open ON legacy_schema.outbox USING btree (conversation_id, id) WHERE (status = ANY (ARRAY['pending'::text, 'sending'::text]));
CREATE INDEX outbox_open_due ON legacy_schema.outbox USING btree (next_attempt_at, id) WHERE (status = ANY (ARRAY['pending'::text, 'sending'::text]));
ALTER TABLE ONLY legacy_schema.escalations
    ADD CONSTRAINT escalations_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES legacy_schema.conversations(id) ON DELETE CASCADE;
ALTER TABLE ONLY legacy_schema.messages
    ADD CONSTRAINT messages_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES legacy_schema.conversations(id) ON DELETE CASCADE;
ALTER TABLE ONLY legacy_schema.outbox
    ADD CONSTRAINT outbox_conversation_id_fkey FOREIGN KEY (conversation_id) REFERENCES legacy_schema.conversations(id) ON DELETE CASCADE;
ALTER TABLE ONLY legacy_schema.outbox
    ADD CONSTRAINT outbox_message_id_fkey FOREIGN KEY (message_id) REFERENCES legacy_schema.messages(id) ON DELETE SET NULL;
