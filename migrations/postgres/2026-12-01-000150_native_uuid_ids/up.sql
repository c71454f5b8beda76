-- Ids as PostgreSQL's native uuid: 16 bytes instead of the 37 of their text, in the table and
-- in every index that holds one (the primary keys, sessions (user_id), the audit trail's
-- (user_id, at, id)…): measured at 1,000,000 users, the id indexes of users and sessions shrink
-- by a third to a half (bench/RESULTS.md). Existing rows are converted in place; a value that
-- is not a UUID (no adapter writes one) fails the migration, which then leaves nothing
-- changed. The tables are rewritten under an exclusive lock: at a million users this takes
-- about a minute, once. SQLite keeps TEXT (its ids are compared as text, and it has no uuid).

-- The foreign keys to users (id) cannot span two types: dropped, then put back.
ALTER TABLE sessions DROP CONSTRAINT sessions_user_id_fkey;
ALTER TABLE one_time_tokens DROP CONSTRAINT one_time_tokens_user_id_fkey;
ALTER TABLE totp_secrets DROP CONSTRAINT totp_secrets_user_id_fkey;
ALTER TABLE recovery_codes DROP CONSTRAINT recovery_codes_user_id_fkey;
ALTER TABLE mfa_challenges DROP CONSTRAINT mfa_challenges_user_id_fkey;
ALTER TABLE passkeys DROP CONSTRAINT passkeys_user_id_fkey;
ALTER TABLE passkey_ceremonies DROP CONSTRAINT passkey_ceremonies_user_id_fkey;
ALTER TABLE external_identities DROP CONSTRAINT external_identities_user_id_fkey;
ALTER TABLE oauth_states DROP CONSTRAINT oauth_states_link_user_id_fkey;
ALTER TABLE oauth_login_codes DROP CONSTRAINT oauth_login_codes_user_id_fkey;

ALTER TABLE users
    ALTER COLUMN id TYPE uuid USING id::uuid;
ALTER TABLE sessions
    ALTER COLUMN id TYPE uuid USING id::uuid,
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid,
    ALTER COLUMN refresh_jti TYPE uuid USING refresh_jti::uuid;
ALTER TABLE audit_events
    ALTER COLUMN id TYPE uuid USING id::uuid,
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid,
    ALTER COLUMN actor_id TYPE uuid USING actor_id::uuid,
    ALTER COLUMN session_id TYPE uuid USING session_id::uuid;
ALTER TABLE one_time_tokens
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid;
ALTER TABLE mail_outbox
    ALTER COLUMN id TYPE uuid USING id::uuid,
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid;
ALTER TABLE totp_secrets
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid;
ALTER TABLE recovery_codes
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid;
ALTER TABLE mfa_challenges
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid;
ALTER TABLE passkeys
    ALTER COLUMN id TYPE uuid USING id::uuid,
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid;
ALTER TABLE passkey_ceremonies
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid;
ALTER TABLE external_identities
    ALTER COLUMN id TYPE uuid USING id::uuid,
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid;
ALTER TABLE oauth_states
    ALTER COLUMN link_user_id TYPE uuid USING link_user_id::uuid;
ALTER TABLE oauth_login_codes
    ALTER COLUMN user_id TYPE uuid USING user_id::uuid;

ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE one_time_tokens ADD CONSTRAINT one_time_tokens_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE totp_secrets ADD CONSTRAINT totp_secrets_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE recovery_codes ADD CONSTRAINT recovery_codes_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE mfa_challenges ADD CONSTRAINT mfa_challenges_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE passkeys ADD CONSTRAINT passkeys_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE passkey_ceremonies ADD CONSTRAINT passkey_ceremonies_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE external_identities ADD CONSTRAINT external_identities_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE oauth_states ADD CONSTRAINT oauth_states_link_user_id_fkey
    FOREIGN KEY (link_user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE oauth_login_codes ADD CONSTRAINT oauth_login_codes_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;

-- pg_notify takes text.
CREATE OR REPLACE FUNCTION auth_notify_session_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('auth_principal', OLD.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION auth_notify_user_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('auth_principal', 'u:' || OLD.id::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
