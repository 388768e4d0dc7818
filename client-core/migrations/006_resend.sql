-- fieldsync client store, schema 6: re-sending after the server was restored from a backup
-- (docs/PROTOCOL.md, "After a restore"). The server's history id lives in `meta`
-- (`sync.history`). When an answer names another history, every document's acknowledged heads
-- are cleared, so all its changes are pushed again, and kept here until the restored server
-- accepts the document: a document the server refuses meanwhile goes back to them, so only
-- what was never acknowledged is put aside.
CREATE TABLE resend (
    doc_id      TEXT PRIMARY KEY NOT NULL,
    acked_heads TEXT                            -- as documents.acked_heads (NULL: never acked)
) STRICT;
