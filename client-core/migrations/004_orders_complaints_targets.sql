-- fieldsync client store, schema 4: orders, complaints and targets, and what the KPIs read of
-- customers (who created them, when) and expense claims (when they were decided).
-- Times are UTC, RFC 3339 to the second, so they sort and compare as text.
-- Customers and claims stored before this schema get the new columns filled when the store
-- opens after the migration (every such document is projected again once).

CREATE TABLE orders (
    id             TEXT PRIMARY KEY NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    customer_id    TEXT NOT NULL,
    owner          TEXT NOT NULL,
    number         TEXT NOT NULL,
    order_date     TEXT NOT NULL,
    status         TEXT NOT NULL,
    total_amount   INTEGER NOT NULL,
    gross_profit   INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    line_count     INTEGER NOT NULL,
    submitted_at   TEXT,
    confirmed_at   TEXT,
    created_at     TEXT NOT NULL
) STRICT;
CREATE INDEX orders_owner ON orders(owner, order_date);
CREATE INDEX orders_customer ON orders(customer_id, order_date);
CREATE INDEX orders_status ON orders(status, submitted_at);

CREATE TABLE complaints (
    id             TEXT PRIMARY KEY NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    customer_id    TEXT NOT NULL,
    recorded_by    TEXT NOT NULL,
    assignee       TEXT,
    channel        TEXT NOT NULL,
    category       TEXT NOT NULL,
    priority       TEXT NOT NULL,
    status         TEXT NOT NULL,
    received_at    TEXT NOT NULL,
    responded_at   TEXT,
    handled_at     TEXT,
    closed_at      TEXT,
    followup_visit TEXT,
    summary        TEXT NOT NULL                -- first line, for lists
) STRICT;
CREATE INDEX complaints_customer ON complaints(customer_id, received_at);
CREATE INDEX complaints_status ON complaints(status, received_at);
CREATE INDEX complaints_assignee ON complaints(assignee, status);

CREATE TABLE targets (
    id             TEXT PRIMARY KEY NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    owner          TEXT NOT NULL,
    month          TEXT NOT NULL,               -- YYYY-MM
    sales_amount   INTEGER NOT NULL,
    currency       TEXT NOT NULL,
    visits         INTEGER NOT NULL,
    new_customers  INTEGER NOT NULL,
    set_by         TEXT NOT NULL,
    set_at         TEXT NOT NULL
) STRICT;
CREATE INDEX targets_owner_month ON targets(owner, month, set_at);

ALTER TABLE customers ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
CREATE INDEX customers_created ON customers(created_by, created_at);
ALTER TABLE expense_claims ADD COLUMN decided_at TEXT;
