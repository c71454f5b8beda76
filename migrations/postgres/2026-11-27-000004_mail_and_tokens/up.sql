-- One-time tokens (email verification, password reset): only the SHA-256 of the secret is
-- stored. A reset token keeps a fingerprint of the password hash it was issued against.
CREATE TABLE one_time_tokens (
    digest               TEXT PRIMARY KEY,
    kind                 TEXT NOT NULL CHECK (kind IN ('verify_email', 'password_reset')),
    user_id              TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email                TEXT NOT NULL,
    password_fingerprint TEXT,
    created_at           TIMESTAMP NOT NULL,
    expires_at           TIMESTAMP NOT NULL,
    used_at              TIMESTAMP
);

CREATE INDEX one_time_tokens_user_id_idx ON one_time_tokens (user_id);
CREATE INDEX one_time_tokens_expires_at_idx ON one_time_tokens (expires_at);

-- Mail to be sent: requests record what to send, a background worker sends it and retries
-- with back-off. No message body (so no token) is stored: the worker writes the mail when it
-- sends it. Delivered entries are deleted; given-up ones stay with failed_at set.
CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('verify_email', 'password_reset')),
    recipient       TEXT NOT NULL,
    user_id         TEXT,
    created_at      TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP,
    last_error      TEXT,
    failed_at       TIMESTAMP
);

CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE failed_at IS NULL;
