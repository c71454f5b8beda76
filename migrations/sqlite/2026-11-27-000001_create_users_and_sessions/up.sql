-- Ids are UUID strings and times are UTC, the representation both backends share.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    username      TEXT,
    username_key  TEXT,
    first_name    TEXT,
    last_name     TEXT,
    date_of_birth DATE,
    role          TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user', 'other')),
    is_active     BOOLEAN NOT NULL DEFAULT 1,
    is_verified   BOOLEAN NOT NULL DEFAULT 0,
    is_staff      BOOLEAN NOT NULL DEFAULT 0,
    is_superuser  BOOLEAN NOT NULL DEFAULT 0,
    password_hash TEXT NOT NULL,
    last_login    TIMESTAMP,
    date_joined   TIMESTAMP NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_username_key UNIQUE (username_key)
);

-- One row per login. Only the newest refresh token id is kept: any other signed refresh
-- token of the session is a replay.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_jti  TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP,
    user_agent   TEXT,
    client_addr  TEXT
);

CREATE INDEX sessions_user_id_idx ON sessions (user_id);
