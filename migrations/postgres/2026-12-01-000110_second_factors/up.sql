-- Second factors (issue "Two-factor authentication").

-- Whether the account has a second factor (TOTP or a passkey): kept on the user row, so every
-- read of a user (login, authentication, the session cache) knows it without another query,
-- and a change of it invalidates cached principals through users_notify_changed.
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;

-- How each session was authenticated (RFC 8176 amr values, space-separated); its tokens say so.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';

-- One TOTP secret per user, AES-256-GCM encrypted under DATA_ENCRYPTION_KEY (key_id names the
-- key; nonce and ciphertext are base64). Pending until confirmed_at; last_step is the last
-- time step whose code was accepted (no code of it or before is accepted again).
CREATE TABLE totp_secrets (
    user_id      TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    key_id       TEXT NOT NULL,
    nonce        TEXT NOT NULL,
    ciphertext   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP,
    last_step    BIGINT
);

-- Recovery codes: only an HMAC-SHA-256 of each (keyed by a key derived from
-- DATA_ENCRYPTION_KEY, named by key_id) is stored.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    digest     TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    PRIMARY KEY (user_id, digest)
);

-- Logins waiting for their second factor: only the SHA-256 of the mfa_token is stored.
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

-- Notice mails ("a second factor was added…") go through the outbox too.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('verify_email', 'password_reset') OR kind LIKE 'notice\_%');
