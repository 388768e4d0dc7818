-- The changes after a recent cursor, without reading the change bytes: a device that synced a
-- moment ago finds its news in a few index pages instead of the log's blob pages.
CREATE INDEX log_recent_changes ON log(seq, doc_id, session) WHERE event = 'change';
