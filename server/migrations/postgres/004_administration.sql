-- Administration over HTTP: the territories an admin created (besides those users and
-- customers name), and the audit log of every administrative change.
CREATE TABLE territories (
    name       TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq     BIGSERIAL PRIMARY KEY,
    at      BIGINT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    source  TEXT
);
