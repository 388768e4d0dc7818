-- What each document's history costs to load: its operations and the bytes of its changes once
-- inflated, summed over every accepted change. Documents stored before this migration count
-- from zero.
ALTER TABLE docs ADD COLUMN history_ops INTEGER NOT NULL DEFAULT 0;
ALTER TABLE docs ADD COLUMN history_bytes INTEGER NOT NULL DEFAULT 0;
