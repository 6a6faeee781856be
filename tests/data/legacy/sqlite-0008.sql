-- The SQLite store as it was before the store redesign (migrations 0001-0008), with data:
-- the upgrade test loads it into a new file and opens it with the current store.
BEGIN TRANSACTION;
CREATE TABLE agents (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  REAL NOT NULL
);
INSERT INTO "agents" VALUES(1,'ana','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1.79656307581357789038e+09);
INSERT INTO "agents" VALUES(2,'bruno','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',1.796563075814106226e+09);
CREATE TABLE arrivals (
    id          INTEGER PRIMARY KEY,
    channel     TEXT    NOT NULL,
    platform_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    received_at REAL    NOT NULL
);
INSERT INTO "arrivals" VALUES(1,'messenger','m3','psid-3','message','{"channel":"messenger","platform_id":"m3","sender_id":"psid-3","sender_name":null,"text":"cc","payload":null,"attachments":0,"timestamp_ms":1764000000000,"post_id":null}',1.79656307581654787067e+09);
CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    channel          TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    customer_name    TEXT,
    state            TEXT    NOT NULL DEFAULT '{}',
    last_customer_ms INTEGER,
    created_at       REAL    NOT NULL,
    updated_at       REAL    NOT NULL, version INTEGER NOT NULL DEFAULT 0,
    UNIQUE (channel, customer_id)
);
INSERT INTO "conversations" VALUES(1,'messenger','psid-1','Léa Martin','{"last_intent":"forgot_password","last_action":null,"awaiting_feedback":true,"misses":0,"offered_human":false,"escalated":false,"disclosed":true,"choices":[],"answered":[],"facts":{},"recent_ms":[],"flood_noticed":false}',1764000000000,1.79656307580853390692e+09,1.79656307580952405932e+09,1);
INSERT INTO "conversations" VALUES(2,'messenger','psid-2',NULL,'{"last_intent":null,"last_action":null,"awaiting_feedback":false,"misses":0,"offered_human":false,"escalated":true,"disclosed":true,"choices":[],"answered":[],"facts":{},"recent_ms":[],"flood_noticed":false}',1764000000000,1.79656307580853390692e+09,1.79656307580952405932e+09,1);
INSERT INTO "conversations" VALUES(3,'twitter','42','Jo','{"last_intent":"forgot_password","last_action":null,"awaiting_feedback":true,"misses":0,"offered_human":false,"escalated":false,"disclosed":true,"choices":[],"answered":[],"facts":{},"recent_ms":[],"flood_noticed":false}',1764000000000,1.79656307580853390692e+09,1.79656307580952405932e+09,1);
CREATE TABLE cursors (
    name       TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL
);
INSERT INTO "cursors" VALUES('twitter:dm','1001',1.79656307580782651899e+09);
CREATE TABLE deletions (
    code          TEXT PRIMARY KEY,
    channel       TEXT NOT NULL,
    conversations INTEGER NOT NULL,
    requested_at  REAL NOT NULL
);
INSERT INTO "deletions" VALUES('0123456789abcdef0123','messenger',0,1.79656307581608271593e+09);
CREATE TABLE escalations (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    status          TEXT    NOT NULL,                 
    reason          TEXT    NOT NULL,
    intent          TEXT,
    score           REAL,
    agent           TEXT,
    created_at      REAL    NOT NULL,
    claimed_at      REAL,
    resolved_at     REAL
);
INSERT INTO "escalations" VALUES(1,2,'claimed','asked_for_human','human',97.0,'ana',1.79656307580952405932e+09,1.79656307581476068499e+09,NULL);
CREATE TABLE inbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT    NOT NULL,
    platform_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    message     TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending',   
    attempts    INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until REAL,
    error       TEXT,
    received_at REAL    NOT NULL,
    done_at     REAL,
    UNIQUE (channel, platform_id)
);
INSERT INTO "inbox" VALUES(1,'messenger','m1','psid-1','message','{"channel":"messenger","platform_id":"m1","sender_id":"psid-1","sender_name":"Léa Martin","text":"j''ai oublié mon mot de passe","payload":null,"attachments":0,"timestamp_ms":1764000000000,"post_id":null}','done',1,NULL,NULL,NULL,1.79656307580782651899e+09,1.79656307580952405932e+09);
INSERT INTO "inbox" VALUES(2,'messenger','m2','psid-2','message','{"channel":"messenger","platform_id":"m2","sender_id":"psid-2","sender_name":null,"text":"je veux parler à un humain","payload":null,"attachments":0,"timestamp_ms":1764000000000,"post_id":null}','done',1,NULL,NULL,NULL,1.79656307580782651899e+09,1.79656307580952405932e+09);
INSERT INTO "inbox" VALUES(3,'twitter','dm-1','42','message','{"channel":"twitter","platform_id":"dm-1","sender_id":"42","sender_name":"Jo","text":"mdp oublié","payload":null,"attachments":0,"timestamp_ms":1764000000000,"post_id":null}','done',1,NULL,NULL,NULL,1.79656307580782651899e+09,1.79656307580952405932e+09);
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    direction       TEXT    NOT NULL,                 
    author          TEXT    NOT NULL,                 
    agent           TEXT,
    text            TEXT    NOT NULL,
    payload         TEXT,
    attachments     INTEGER NOT NULL DEFAULT 0,
    platform_id     TEXT,
    intent          TEXT,
    score           REAL,
    created_at      REAL    NOT NULL
);
INSERT INTO "messages" VALUES(1,1,'in','customer',NULL,'j''ai oublié mon mot de passe',NULL,0,'m1','forgot_password',91.5,1.79656307580952405932e+09);
INSERT INTO "messages" VALUES(2,1,'out','bot',NULL,'Vous pouvez réinitialiser votre mot de passe.',NULL,0,NULL,NULL,NULL,1.79656307580952405932e+09);
INSERT INTO "messages" VALUES(3,1,'out','bot',NULL,'Est-ce que cela a résolu votre problème ?',NULL,0,NULL,NULL,NULL,1.79656307580952405932e+09);
INSERT INTO "messages" VALUES(4,2,'in','customer',NULL,'je veux parler à un humain',NULL,0,'m2','human',97.0,1.79656307580952405932e+09);
INSERT INTO "messages" VALUES(5,2,'out','bot',NULL,'Je transmets votre demande à un conseiller.',NULL,0,NULL,NULL,NULL,1.79656307580952405932e+09);
INSERT INTO "messages" VALUES(6,3,'in','customer',NULL,'mdp oublié',NULL,0,'dm-1','forgot_password',91.5,1.79656307580952405932e+09);
INSERT INTO "messages" VALUES(7,3,'out','bot',NULL,'Vous pouvez réinitialiser votre mot de passe.',NULL,0,NULL,NULL,NULL,1.79656307580952405932e+09);
INSERT INTO "messages" VALUES(8,3,'out','bot',NULL,'Est-ce que cela a résolu votre problème ?',NULL,0,NULL,NULL,NULL,1.79656307580952405932e+09);
INSERT INTO "messages" VALUES(9,2,'out','agent','ana','Bonjour, je suis Ana.',NULL,0,NULL,NULL,NULL,1.79656307581543588634e+09);
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    conversation_id     INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id          INTEGER REFERENCES messages (id) ON DELETE SET NULL,
    author              TEXT    NOT NULL,              
    reply               TEXT    NOT NULL,
    first_of_turn       INTEGER NOT NULL DEFAULT 0,
    status              TEXT    NOT NULL DEFAULT 'pending',  
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at     REAL    NOT NULL,
    lease_owner         TEXT,
    lease_until         REAL,
    error               TEXT,
    platform_message_id TEXT,
    created_at          REAL    NOT NULL,
    sent_at             REAL
);
INSERT INTO "outbox" VALUES(1,1,2,'bot','{"text":"Vous pouvez réinitialiser votre mot de passe.","quick_replies":[],"buttons":[],"reply_to_post":null}',1,'sent',1,1.79656307580952405932e+09,NULL,NULL,NULL,'mid.1',1.79656307580952405932e+09,1.79656307581194496156e+09);
INSERT INTO "outbox" VALUES(2,1,3,'bot','{"text":"Est-ce que cela a résolu votre problème ?","quick_replies":[],"buttons":[],"reply_to_post":null}',0,'pending',0,1.79656307580952405932e+09,NULL,NULL,NULL,NULL,1.79656307580952405932e+09,NULL);
INSERT INTO "outbox" VALUES(3,2,5,'bot','{"text":"Je transmets votre demande à un conseiller.","quick_replies":[],"buttons":[],"reply_to_post":null}',1,'sent',1,1.79656307580952405932e+09,NULL,NULL,NULL,'mid.3',1.79656307580952405932e+09,1.79656307581253361698e+09);
INSERT INTO "outbox" VALUES(4,3,7,'bot','{"text":"Vous pouvez réinitialiser votre mot de passe.","quick_replies":[],"buttons":[],"reply_to_post":null}',1,'sent',1,1.79656307580952405932e+09,NULL,NULL,NULL,'mid.4',1.79656307580952405932e+09,1.79656307581305217744e+09);
INSERT INTO "outbox" VALUES(5,3,8,'bot','{"text":"Est-ce que cela a résolu votre problème ?","quick_replies":[],"buttons":[],"reply_to_post":null}',0,'pending',0,1.79656307580952405932e+09,NULL,NULL,NULL,NULL,1.79656307580952405932e+09,NULL);
INSERT INTO "outbox" VALUES(6,2,9,'agent','{"text":"Bonjour, je suis Ana.","quick_replies":[],"buttons":[],"reply_to_post":null}',0,'pending',0,1.79656307581543588634e+09,NULL,NULL,NULL,NULL,1.79656307581543588634e+09,NULL);
CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL);
INSERT INTO "schema_migrations" VALUES(1,'0001_pipeline.sql',1.79656307580463051789e+09);
INSERT INTO "schema_migrations" VALUES(2,'0002_agents.sql',1.7965630758049430847e+09);
INSERT INTO "schema_migrations" VALUES(3,'0003_cursors.sql',1.79656307580512952801e+09);
INSERT INTO "schema_migrations" VALUES(4,'0004_state_version.sql',1796563075.80546);
INSERT INTO "schema_migrations" VALUES(5,'0005_native_author.sql',1796563075.80556);
INSERT INTO "schema_migrations" VALUES(6,'0006_deletions.sql',1.79656307580579924576e+09);
INSERT INTO "schema_migrations" VALUES(7,'0007_arrivals.sql',1.79656307580594730381e+09);
INSERT INTO "schema_migrations" VALUES(8,'0008_failed_indexes.sql',1.79656307580615091324e+09);
CREATE INDEX inbox_pending ON inbox (channel, customer_id, id) WHERE status = 'pending';
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX outbox_open ON outbox (conversation_id, id) WHERE status IN ('pending', 'sending');
CREATE UNIQUE INDEX escalations_active ON escalations (conversation_id)
    WHERE status IN ('open', 'claimed');
CREATE INDEX escalations_status ON escalations (status, created_at);
CREATE INDEX conversations_updated ON conversations (updated_at);
CREATE INDEX inbox_done ON inbox (done_at) WHERE status <> 'pending';
CREATE INDEX inbox_failed ON inbox (id) WHERE status = 'failed';
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';
COMMIT;
