-- Every document carries the owner and territory its scope is decided by: a customer's own, a
-- visit's customer's, a plan's or claim's owner. Who sees a document is then a lookup in one
-- index, and a pull asks the documents in scope that changed after its cursor, however many
-- other documents changed meanwhile.
ALTER TABLE docs ADD COLUMN scope_owner TEXT;
ALTER TABLE docs ADD COLUMN scope_territory TEXT;
UPDATE docs SET scope_owner = owner, scope_territory = territory WHERE kind <> 'visit';
UPDATE docs SET (scope_owner, scope_territory) =
    (SELECT c.owner, c.territory FROM docs c WHERE c.id = docs.customer AND c.kind = 'customer')
    WHERE kind = 'visit';
CREATE INDEX docs_scope_owner ON docs(scope_owner, last_seq);
CREATE INDEX docs_scope_territory ON docs(scope_territory, last_seq);
CREATE INDEX docs_approver_seq ON docs(approver, last_seq);
CREATE INDEX docs_last_seq ON docs(last_seq);
DROP INDEX docs_approver;
-- Pulls no longer walk the log after a cursor.
DROP INDEX log_recent_changes;
