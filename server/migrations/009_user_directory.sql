-- The version of the user directory (users, their territories and managers): every change to
-- either table raises it, whichever process or connection makes it (the server, the `user`
-- commands beside it). A server keeps the directory in memory and reads this one row per
-- request to know whether its copy is still the stored one.
CREATE TABLE directory_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO directory_version(id, version) VALUES (1, 0);

CREATE TRIGGER users_inserted AFTER INSERT ON users
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER users_updated AFTER UPDATE ON users
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER users_deleted AFTER DELETE ON users
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER user_territories_inserted AFTER INSERT ON user_territories
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER user_territories_updated AFTER UPDATE ON user_territories
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER user_territories_deleted AFTER DELETE ON user_territories
BEGIN UPDATE directory_version SET version = version + 1; END;
