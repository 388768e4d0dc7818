-- Administration over HTTP: the territories an admin created (besides those users and
-- customers name), and the audit log of every administrative change.
CREATE TABLE territories (
    name       TEXT PRIMARY KEY NOT NULL,
    created_at INTEGER NOT NULL                -- unix seconds
) STRICT;

CREATE TABLE audit_log (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,                  -- unix milliseconds
    actor   TEXT NOT NULL,                     -- who made the change
    action  TEXT NOT NULL,                     -- what: user.create, user.update, territory.rename, ...
    target  TEXT NOT NULL,                     -- on what: a user name, a territory
    detail  TEXT NOT NULL,                     -- JSON: the fields changed (never a password)
    source  TEXT                               -- the address the request came from
) STRICT;
