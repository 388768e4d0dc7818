-- fieldsync server, schema 1 (embedded SQLite backend).

CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE users (
    username      TEXT PRIMARY KEY NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    manager       TEXT,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE user_territories (
    username  TEXT NOT NULL REFERENCES users(username),
    territory TEXT NOT NULL,
    PRIMARY KEY (username, territory)
) STRICT;

-- One row per logged-in device; its refresh tokens rotate within it.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL,
    username    TEXT NOT NULL REFERENCES users(username),
    device_name TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    revoked     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY NOT NULL,       -- SHA-256 of the token, hex
    session_id TEXT NOT NULL REFERENCES sessions(id),
    expires_at INTEGER NOT NULL,                -- unix seconds
    used       INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

-- Every document: its kind, the scope fields access control reads, and its compacted state.
CREATE TABLE docs (
    id           TEXT PRIMARY KEY NOT NULL,
    kind         TEXT NOT NULL,
    territory    TEXT,
    owner        TEXT,
    customer     TEXT,
    author       TEXT,
    approver     TEXT,
    first_seq    INTEGER NOT NULL,
    last_seq     INTEGER NOT NULL,
    heads        TEXT NOT NULL,
    snapshot     BLOB,                           -- Automerge save as of snapshot_seq
    snapshot_seq INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX docs_owner ON docs(kind, owner);
CREATE INDEX docs_territory ON docs(kind, territory);
CREATE INDEX docs_customer ON docs(customer);
CREATE INDEX docs_approver ON docs(approver);
CREATE INDEX docs_first_seq ON docs(first_seq);

-- The log: every accepted change once, and every scope event (a document entering or leaving
-- a user's scope), under one server-wide increasing sequence number.
CREATE TABLE log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id      TEXT NOT NULL,
    event       TEXT NOT NULL CHECK (event IN ('change', 'enter', 'leave')),
    username    TEXT,                            -- scope events: whose scope
    hash        TEXT,                            -- changes: Automerge change hash
    bytes       BLOB,                            -- changes: the change
    device_time INTEGER,                         -- changes: the device's clock (unix seconds)
    received_at INTEGER NOT NULL,                -- the server's clock (unix milliseconds)
    writer      TEXT,                            -- changes: the user who pushed it
    session     TEXT                             -- changes: the device session that pushed it
) STRICT;
CREATE UNIQUE INDEX log_change_hash ON log(doc_id, hash) WHERE event = 'change';
CREATE INDEX log_doc ON log(doc_id, seq);
CREATE INDEX log_user ON log(username, seq) WHERE username IS NOT NULL;
