-- Local accounts (--auth local), their bearer tokens and the audit trail. username_ci and email_ci
-- hold the values lower-cased by Go, so that uniqueness and sign-in ignore case the same way on both
-- engines; an account without email has NULL there (UNIQUE allows many NULLs). Booleans are
-- INTEGER 0/1 (PostgreSQL: BOOLEAN; database/sql scans both into bool). Times are Unix milliseconds.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL,
    username_ci   TEXT    NOT NULL UNIQUE,
    email         TEXT,
    email_ci      TEXT    UNIQUE,
    role          TEXT    NOT NULL CHECK (role IN ('sender', 'reader', 'editor', 'admin')),
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    password_hash TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL
);

-- hash is the hex SHA-256 of the secret: the secret itself is never stored. expires_at NULL never
-- expires; last_used_at NULL was never used.
CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('session', 'device')),
    name         TEXT    NOT NULL DEFAULT '',
    hash         TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX tokens_user_kind ON tokens (user_id, kind);
CREATE INDEX tokens_expires_at ON tokens (expires_at);

-- outcome is the HTTP status of the request. Each filter of the audit search has an index that
-- also gives the newest-first order.
CREATE TABLE audit (
    id           INTEGER PRIMARY KEY,
    at           BIGINT  NOT NULL,
    username     TEXT    NOT NULL,
    token_name   TEXT    NOT NULL DEFAULT '',
    role         TEXT    NOT NULL DEFAULT '',
    action       TEXT    NOT NULL,
    study_uid    TEXT    NOT NULL DEFAULT '',
    series_uid   TEXT    NOT NULL DEFAULT '',
    instance_uid TEXT    NOT NULL DEFAULT '',
    target_user  TEXT    NOT NULL DEFAULT '',
    outcome      INTEGER NOT NULL,
    client       TEXT    NOT NULL DEFAULT '',
    request_id   TEXT    NOT NULL DEFAULT '',
    detail       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_username_at ON audit (username, at);
CREATE INDEX audit_action_at ON audit (action, at);
CREATE INDEX audit_study_uid_at ON audit (study_uid, at);

-- The trail is append-only: nothing that goes through SQL can rewrite or erase it.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit is append-only');
END;
