-- fieldsync client store, schema 7: the documents with changes the server has not acknowledged,
-- found through a partial index holding only them, so that asking what to push costs what is
-- unsent rather than a scan of every document (each sync asks it at least twice).
CREATE INDEX IF NOT EXISTS documents_unsent ON documents(id)
    WHERE acked_heads IS NULL OR acked_heads <> heads;
