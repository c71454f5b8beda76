-- Passkeys (issue "Passkeys"): WebAuthn credentials, and the ceremonies under way.

-- One row per credential. credential_id (base64url) is unique across all accounts;
-- credential is the relying-party library's JSON of the public key and its flags (no secret:
-- the private key never leaves the authenticator). sign_count is the last signature counter
-- accepted (0 throughout for synced passkeys, which report none); backup_eligible and
-- backed_up are the authenticator's BE/BS flags as last seen.
CREATE TABLE passkeys (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id   TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    credential      TEXT NOT NULL,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    backup_eligible BOOLEAN NOT NULL DEFAULT 0,
    backed_up       BOOLEAN NOT NULL DEFAULT 0,
    created_at      TIMESTAMP NOT NULL,
    last_used_at    TIMESTAMP
);

CREATE INDEX passkeys_user_id_idx ON passkeys (user_id);

-- A ceremony begun and not yet finished (registration, login, second factor,
-- re-authentication): the library's state with its challenge. Taken (deleted) once by the
-- request that finishes it, on whichever instance; expired rows are swept by each new one.
CREATE TABLE passkey_ceremonies (
    ceremony_key TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    user_id      TEXT REFERENCES users (id) ON DELETE CASCADE,
    state        TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL
);

CREATE INDEX passkey_ceremonies_expires_at_idx ON passkey_ceremonies (expires_at);
CREATE INDEX passkey_ceremonies_user_id_idx ON passkey_ceremonies (user_id);
