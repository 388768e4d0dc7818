-- The read model: one row per document with the columns the JSON API and the console filter
-- and sort on, and the document's typed view as JSON (what they show). Written in the same
-- transaction as every commit that changes the document (docs/PROTOCOL.md, "The read API").
CREATE TABLE doc_views (
    id        TEXT PRIMARY KEY,
    title     TEXT NOT NULL,
    day       TEXT,
    at        TEXT,
    status    TEXT,
    tier      TEXT,
    followup  TEXT,
    amount    BIGINT,
    currency  TEXT,
    search    TEXT NOT NULL,
    view      TEXT NOT NULL
);
CREATE INDEX doc_views_day ON doc_views(day);
