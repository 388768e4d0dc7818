-- fieldsync client store, schema 3: customer search also finds the people met on the
-- customer's visits ("who was that buyer at 华东?").
-- `visits.people_met` holds each person met as "name title", one per line. The two indexes
-- mirror customers_fts and customers_grams (trigram for terms of three or more characters,
-- CJK unigrams and bigrams for shorter Chinese terms); their rowid is the visits rowid.
-- Visits stored before this schema are indexed when they are next written (an edit here, or
-- a change that arrives by sync).

ALTER TABLE visits ADD COLUMN people_met TEXT NOT NULL DEFAULT '';

CREATE VIRTUAL TABLE visits_people_fts USING fts5(
    people,
    tokenize = 'trigram'
);

CREATE VIRTUAL TABLE visits_people_grams USING fts5(
    grams,
    tokenize = 'unicode61',
    detail = 'none'
);
