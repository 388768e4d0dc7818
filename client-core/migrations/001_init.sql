-- fieldsync client store, schema 1.
-- Documents: the Automerge bytes of each document as a compacted snapshot plus incremental
-- saves. Projections: one row per document with the fields queries filter and sort on, written
-- in the same transaction as the bytes.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE documents (
    id              TEXT PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    snapshot        BLOB NOT NULL,
    increments_size INTEGER NOT NULL DEFAULT 0,
    heads           TEXT NOT NULL,              -- current heads, hex, comma-separated
    acked_heads     TEXT,                       -- heads the server has acknowledged (sync)
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE INDEX documents_kind ON documents(kind);

CREATE TABLE document_increments (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    bytes  BLOB NOT NULL
) STRICT;
CREATE INDEX document_increments_doc ON document_increments(doc_id, seq);

CREATE TABLE customers (
    id             TEXT PRIMARY KEY NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    customer_type  TEXT NOT NULL,
    industry       TEXT,
    territory      TEXT NOT NULL,
    owner          TEXT NOT NULL,
    tier           TEXT NOT NULL,
    status         TEXT NOT NULL,
    key_account    INTEGER NOT NULL,
    city           TEXT,
    phone          TEXT,
    contact_count  INTEGER NOT NULL,
    last_visit_at  TEXT,                        -- newest check-in, UTC
    last_visit_date TEXT,                       -- its local date
    next_followup  TEXT,                        -- local date the next follow-up is due
    followup_reason TEXT                        -- 'explicit' or 'cadence'; NULL when none is due
) STRICT;
CREATE INDEX customers_territory ON customers(territory, name);
CREATE INDEX customers_owner ON customers(owner, name);
CREATE INDEX customers_tier ON customers(tier, name);
CREATE INDEX customers_status ON customers(status, name);
CREATE INDEX customers_name ON customers(name);
CREATE INDEX customers_next_followup ON customers(next_followup);
CREATE INDEX customers_never_visited ON customers(name) WHERE last_visit_at IS NULL;

-- Full-text search over name, contacts, city and notes. The trigram tokenizer matches any
-- substring of three or more characters, which works for Chinese text without a word list.
-- Its rowid is the customers rowid.
CREATE VIRTUAL TABLE customers_fts USING fts5(
    name, contacts, city, notes,
    tokenize = 'trigram'
);

-- Chinese search terms of one or two characters (华东, 苏州) are too short for trigrams: this
-- index holds every single character and every pair of adjacent characters of the Chinese text
-- of the same four fields, as space-separated tokens. Same rowid as customers_fts.
CREATE VIRTUAL TABLE customers_grams USING fts5(
    grams,
    tokenize = 'unicode61',
    detail = 'none'
);

CREATE TABLE visits (
    id             TEXT PRIMARY KEY NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    customer_id    TEXT NOT NULL,
    author         TEXT NOT NULL,
    checkin_at     TEXT NOT NULL,               -- UTC, RFC 3339, sorts as text
    local_date     TEXT NOT NULL,               -- the device's local day of the check-in
    visit_type     TEXT NOT NULL,
    outcome        TEXT,
    next_followup  TEXT,
    summary        TEXT NOT NULL                -- first line, for lists
) STRICT;
CREATE INDEX visits_customer ON visits(customer_id, checkin_at DESC);
CREATE INDEX visits_author ON visits(author, local_date);

CREATE TABLE trip_plans (
    id             TEXT PRIMARY KEY NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    owner          TEXT NOT NULL,
    approver       TEXT NOT NULL,
    title          TEXT NOT NULL,
    status         TEXT NOT NULL,
    start_date     TEXT NOT NULL,
    end_date       TEXT NOT NULL,
    budget_amount  INTEGER NOT NULL,
    currency       TEXT NOT NULL
) STRICT;
CREATE INDEX trip_plans_owner ON trip_plans(owner, status, start_date);
CREATE INDEX trip_plans_approver ON trip_plans(approver, status);

CREATE TABLE expense_claims (
    id             TEXT PRIMARY KEY NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    owner          TEXT NOT NULL,
    approver       TEXT NOT NULL,
    title          TEXT NOT NULL,
    status         TEXT NOT NULL,
    trip_id        TEXT,
    total_amount   INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    item_count     INTEGER NOT NULL,
    created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX expense_claims_owner ON expense_claims(owner, status, created_at);
CREATE INDEX expense_claims_approver ON expense_claims(approver, status);
