-- Attachments (docs/PROTOCOL.md, "Attachments"). The bytes are in the blob store; these tables
-- say which documents reference which attachment, signed by whom, and who has uploaded it.

-- One row per stored attachment: its bytes exist in the blob store under its id.
CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    stored_at INTEGER NOT NULL,
    -- 1 once the thumbnail is made, 0 while not yet, -1 when none can be (not an image it reads).
    thumbnail INTEGER NOT NULL DEFAULT 0,
    -- When the last reference to it went away (unix seconds); NULL while referenced.
    released_at INTEGER
);

-- The users who sent an attachment's bytes, whose hash the server checked: their references
-- open it to the readers of the documents they are in.
CREATE TABLE attachment_holders (
    id TEXT NOT NULL,
    username TEXT NOT NULL,
    PRIMARY KEY (id, username)
);

-- The references documents hold, as of each document's last accepted change.
CREATE TABLE attachment_refs (
    doc_id TEXT NOT NULL,
    id TEXT NOT NULL,
    added_by TEXT NOT NULL,
    size INTEGER NOT NULL,
    media_type TEXT NOT NULL,
    PRIMARY KEY (doc_id, id)
);
CREATE INDEX attachment_refs_by_id ON attachment_refs(id);
