-- A visit stays with its author after its customer changes hands (their week and KPIs count
-- it), so a pull also asks for the visits a user or their team wrote that changed after its
-- cursor: one index lookup, as for the other scope columns.
CREATE INDEX docs_author_seq ON docs(author, last_seq);
