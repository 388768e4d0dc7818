-- The read model: one row per document with the columns the JSON API and the console filter
-- and sort on, and the document's typed view as JSON (what they show). Written in the same
-- transaction as every commit that changes the document (docs/PROTOCOL.md, "The read API").
CREATE TABLE doc_views (
    id        TEXT PRIMARY KEY NOT NULL,
    title     TEXT NOT NULL,              -- customer name, plan or claim title, order number, ...
    day       TEXT,                       -- the document's local day, YYYY-MM-DD (targets: YYYY-MM)
    at        TEXT,                       -- when it happened, UTC RFC 3339 (visits: check-in)
    status    TEXT,                       -- its status or outcome, as stored
    tier      TEXT,                       -- customers: tier
    followup  TEXT,                       -- visits: the explicit next follow-up
    amount    INTEGER,                    -- plans: budget; claims and orders: total (minor units)
    currency  TEXT,
    search    TEXT NOT NULL,              -- lower-cased text search finds it by
    view      TEXT NOT NULL               -- the typed view, JSON
) STRICT;
CREATE INDEX doc_views_day ON doc_views(day);
