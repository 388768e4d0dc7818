-- fieldsync client store, schema 2: what sync keeps beside the documents.
-- The cursor, the last sync time and the session live in `meta` (keys `sync.*`).

-- Changes the server refused (or that could not reach it before their document left the
-- device's scope), kept so nothing a user typed is lost: the user can see them, export them or
-- discard them. `changes` holds the Automerge changes, concatenated, exactly as they were in
-- the document; `doc_id` is not a foreign key because the document itself may be gone.
CREATE TABLE quarantine (
    id             INTEGER PRIMARY KEY,
    doc_id         TEXT NOT NULL,
    kind           TEXT NOT NULL,
    changes        BLOB NOT NULL,
    rule           TEXT NOT NULL,               -- the rule the server named, or 'revoked'
    reason         TEXT NOT NULL,               -- what was wrong, for the user
    quarantined_at TEXT NOT NULL                -- UTC, RFC 3339
) STRICT;
CREATE INDEX quarantine_doc ON quarantine(doc_id);
