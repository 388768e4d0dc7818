-- The version of the user directory (users, their territories and managers): every statement
-- that changes either table raises it, on whichever node or process runs it. Each node keeps
-- the directory in memory and reads this one row per request to know whether its copy is
-- still the stored one.
CREATE TABLE directory_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_version(id, version) VALUES (1, 0);

CREATE FUNCTION directory_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;

CREATE TRIGGER users_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
CREATE TRIGGER user_territories_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON user_territories
    FOR EACH STATEMENT EXECUTE FUNCTION directory_changed();
