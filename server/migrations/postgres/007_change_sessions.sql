-- Each document's latest change and who logged it, on its row: a pull tells whether a document
-- changed after the device's cursor by anyone but the device's own session from the row alone,
-- where it probed the log once a document (a new device's first pages probe thousands).
-- `change_seq` is the latest change logged (0 if the log holds none), `change_session` the
-- session that logged it ('' for the server's own edits), `other_change_seq` the latest change
-- logged by any other session (0 if none). A change after cursor `c` came from another session
-- than `s` exactly when `other_change_seq > c`, or `change_seq > c` and `change_session <> s`.
-- Rows are filled from what the log holds, as the probe read it.
ALTER TABLE docs ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE docs ADD COLUMN change_session TEXT NOT NULL DEFAULT '';
ALTER TABLE docs ADD COLUMN other_change_seq BIGINT NOT NULL DEFAULT 0;
UPDATE docs SET change_seq = coalesce(
    (SELECT max(l.seq) FROM log l WHERE l.doc_id = docs.id AND l.event = 'change'), 0);
UPDATE docs SET change_session = coalesce(
    (SELECT coalesce(l.session, '') FROM log l WHERE l.seq = docs.change_seq), '');
UPDATE docs SET other_change_seq = coalesce(
    (SELECT max(l.seq) FROM log l WHERE l.doc_id = docs.id AND l.event = 'change'
        AND coalesce(l.session, '') <> docs.change_session), 0);
