-- fieldsync server, PostgreSQL schema 1: the tables of the embedded SQLite backend's schema 5,
-- with the log's sequence kept in a row of its own (log_head) so that appends are numbered in
-- the order they commit, and the failed-login records every node shares.

CREATE TABLE server_meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE users (
    username      text PRIMARY KEY,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    manager       text,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    text NOT NULL
);

CREATE TABLE user_territories (
    username  text NOT NULL REFERENCES users(username),
    territory text NOT NULL,
    PRIMARY KEY (username, territory)
);

-- One row per logged-in device; its refresh tokens rotate within it.
CREATE TABLE sessions (
    id          text PRIMARY KEY,
    username    text NOT NULL REFERENCES users(username),
    device_name text NOT NULL,
    created_at  bigint NOT NULL,
    revoked     boolean NOT NULL DEFAULT false
);

CREATE TABLE refresh_tokens (
    hash       text PRIMARY KEY,                -- SHA-256 of the token, hex
    session_id text NOT NULL REFERENCES sessions(id),
    expires_at bigint NOT NULL,                 -- unix seconds
    used       boolean NOT NULL DEFAULT false
);
CREATE INDEX refresh_tokens_session ON refresh_tokens(session_id);

-- Every document: its kind, the scope fields access control reads, the owner and territory its
-- scope is decided by, its compacted state and what its history costs.
CREATE TABLE docs (
    id              text PRIMARY KEY,
    kind            text NOT NULL,
    territory       text,
    owner           text,
    customer        text,
    author          text,
    approver        text,
    first_seq       bigint NOT NULL,
    last_seq        bigint NOT NULL,
    heads           text NOT NULL,
    snapshot        bytea,                      -- Automerge save as of snapshot_seq
    snapshot_seq    bigint NOT NULL DEFAULT 0,
    scope_owner     text,
    scope_territory text,
    history_ops     bigint NOT NULL DEFAULT 0,
    history_bytes   bigint NOT NULL DEFAULT 0
);
CREATE INDEX docs_owner ON docs(kind, owner);
CREATE INDEX docs_territory ON docs(kind, territory);
CREATE INDEX docs_customer ON docs(customer);
CREATE INDEX docs_first_seq ON docs(first_seq);
CREATE INDEX docs_scope_owner ON docs(scope_owner, last_seq);
CREATE INDEX docs_scope_territory ON docs(scope_territory, last_seq);
CREATE INDEX docs_approver_seq ON docs(approver, last_seq);
CREATE INDEX docs_author_seq ON docs(author, last_seq);
CREATE INDEX docs_last_seq ON docs(last_seq);

-- The log: every accepted change once, and every scope event, under one increasing sequence.
CREATE TABLE log (
    seq         bigint PRIMARY KEY,
    doc_id      text NOT NULL,
    event       text NOT NULL CHECK (event IN ('change', 'enter', 'leave')),
    username    text,                            -- scope events: whose scope
    hash        text,                            -- changes: Automerge change hash
    bytes       bytea,                           -- changes: the change
    device_time bigint,                          -- changes: the device's clock (unix seconds)
    received_at bigint NOT NULL,                 -- the server's clock (unix milliseconds)
    writer      text,                            -- changes: the user who pushed it
    session     text                             -- changes: the device session that pushed it
);
CREATE UNIQUE INDEX log_change_hash ON log(doc_id, hash) WHERE event = 'change';
CREATE INDEX log_doc ON log(doc_id, seq);
CREATE INDEX log_user ON log(username, seq) WHERE username IS NOT NULL;
CREATE INDEX log_received ON log(received_at);

-- The highest sequence number given. A write locks this row until it commits, so log appends
-- are numbered in commit order and a pull never sees a number above one still uncommitted
-- (docs/PROTOCOL.md, "The cursor on PostgreSQL").
CREATE TABLE log_head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL
);
INSERT INTO log_head(one, seq) VALUES (true, 0);

-- Failed logins, per (user name, address) and per address, shared by every server node.
CREATE TABLE login_failures (
    key     text PRIMARY KEY,
    count   integer NOT NULL,
    last_ms bigint NOT NULL
);
CREATE INDEX login_failures_last ON login_failures(last_ms);
