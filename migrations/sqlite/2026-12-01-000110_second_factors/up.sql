-- Second factors (issue "Two-factor authentication"). See the PostgreSQL migration of the
-- same name for what each table holds.
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT 0;

ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

CREATE TABLE totp_secrets (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_id       TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    ciphertext   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    last_step    BIGINT
);

CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    PRIMARY KEY (user_id, digest)
);

CREATE TABLE mfa_challenges (
    digest       TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    first_factor TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    spent_at     TIMESTAMP
);

CREATE INDEX mfa_challenges_user_id_idx ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expires_at_idx ON mfa_challenges (expires_at);

-- Notice mails go through the outbox too: SQLite cannot alter a CHECK, so the table is rebuilt.
CREATE TABLE mail_outbox_new (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL
        CHECK (kind IN ('verify_email', 'password_reset') OR kind LIKE 'notice\_%' ESCAPE '\'),
    recipient       TEXT NOT NULL,
    user_id         TEXT,
    created_at      TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP,
    last_error      TEXT,
    failed_at       TIMESTAMP
);
INSERT INTO mail_outbox_new
    SELECT id, kind, recipient, user_id, created_at, attempts, next_attempt_at, locked_until,
           last_error, failed_at
    FROM mail_outbox;
DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_new RENAME TO mail_outbox;
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at) WHERE failed_at IS NULL;
