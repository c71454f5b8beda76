-- Social login (issue "Social login"). See the PostgreSQL migration of the same name.
-- external_identities: the provider identities linked to accounts; (provider, subject) is
-- unique, so an identity opens one account only.
CREATE TABLE external_identities (
    id        TEXT PRIMARY KEY,
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider  TEXT NOT NULL,
    subject   TEXT NOT NULL,
    email     TEXT,
    linked_at TIMESTAMP NOT NULL,
    CONSTRAINT external_identities_provider_subject_key UNIQUE (provider, subject)
);
CREATE INDEX external_identities_user_id_idx ON external_identities (user_id);

-- oauth_states: started authorizations, under the SHA-256 of the provider-side state;
-- single-use (taken by a DELETE), 10 minutes.
CREATE TABLE oauth_states (
    state_digest       TEXT PRIMARY KEY,
    provider           TEXT NOT NULL,
    nonce              TEXT NOT NULL,
    pkce_verifier      TEXT NOT NULL,
    redirect_uri       TEXT NOT NULL,
    app_state          TEXT NOT NULL,
    app_code_challenge TEXT NOT NULL,
    link_user_id       TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at         TIMESTAMP NOT NULL,
    expires_at         TIMESTAMP NOT NULL
);
CREATE INDEX oauth_states_expires_at_idx ON oauth_states (expires_at);

-- oauth_login_codes: verified external logins waiting for the app's exchange, under the
-- SHA-256 of the login_code; single-use, 60 seconds. Nothing is created or linked before.
CREATE TABLE oauth_login_codes (
    code_digest        TEXT PRIMARY KEY,
    app_code_challenge TEXT NOT NULL,
    provider           TEXT NOT NULL,
    subject            TEXT NOT NULL,
    email              TEXT,
    email_verified     BOOLEAN NOT NULL,
    given_name         TEXT,
    family_name        TEXT,
    action             TEXT NOT NULL
        CHECK (action IN ('log_in', 'create_account', 'link_and_log_in')),
    user_id            TEXT REFERENCES users (id) ON DELETE CASCADE,
    created_at         TIMESTAMP NOT NULL,
    expires_at         TIMESTAMP NOT NULL
);
CREATE INDEX oauth_login_codes_expires_at_idx ON oauth_login_codes (expires_at);

-- Notices of linked and removed identities go through the outbox (kind notice_*: allowed
-- by the CHECK of migration 000110 already).
