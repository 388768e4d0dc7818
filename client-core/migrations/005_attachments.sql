-- fieldsync client store, schema 5: attachments (docs/PROTOCOL.md, "Attachments").
-- The bytes live in the blob folder beside this file (`<file>.blobs/`, one file per SHA-256,
-- a thumbnail as `<sha-256>.thumb`); these tables say what the folder holds and which documents
-- on the device reference which attachment. Documents stored before this schema get their
-- references projected when the store opens after the migration.

-- One row per attachment whose bytes or thumbnail this device holds, or that it attached.
-- `state`: `pending` (attached here, bytes here, not yet uploaded by this device: never
-- evicted), `uploaded` (attached here and uploaded), `fetched` (downloaded), `remote` (the bytes
-- are not here). `present` says whether the bytes are in the folder now (a pending attachment
-- whose file vanished has state `pending` and `present` 0).
CREATE TABLE attachments (
    id             TEXT PRIMARY KEY NOT NULL,   -- SHA-256 of the bytes, 64 lower-case hex digits
    media_type     TEXT NOT NULL,
    size           INTEGER NOT NULL,
    name           TEXT NOT NULL,
    state          TEXT NOT NULL,
    present        INTEGER NOT NULL,
    thumbnail_size INTEGER,                     -- bytes of the thumbnail in the folder; NULL: none
    no_thumbnail   INTEGER NOT NULL DEFAULT 0,  -- the server said it has none: not prefetched
    last_used      INTEGER NOT NULL,            -- ms since 1970, strictly increasing: LRU order
    attached_to    TEXT,                        -- the document it was last attached to here
    refused        TEXT,                        -- the server's reason when it refused the upload
    last_error     TEXT                         -- why the last transfer failed, for the user
) STRICT;
CREATE INDEX attachments_state ON attachments(state);

-- Which documents on the device reference which attachment, with the reference's fields: a
-- projection, rewritten with its document in the same transaction.
CREATE TABLE attachment_refs (
    attachment_id TEXT NOT NULL,
    doc_id        TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    kind          TEXT NOT NULL,
    media_type    TEXT NOT NULL,
    size          INTEGER NOT NULL,
    name          TEXT NOT NULL,
    added_by      TEXT NOT NULL,
    PRIMARY KEY (attachment_id, doc_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX attachment_refs_doc ON attachment_refs(doc_id);
