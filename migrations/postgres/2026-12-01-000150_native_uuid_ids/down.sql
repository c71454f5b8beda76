-- Back to ids as text.

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
    ALTER COLUMN id TYPE text USING id::text;
ALTER TABLE sessions
    ALTER COLUMN id TYPE text USING id::text,
    ALTER COLUMN user_id TYPE text USING user_id::text,
    ALTER COLUMN refresh_jti TYPE text USING refresh_jti::text;
ALTER TABLE audit_events
    ALTER COLUMN id TYPE text USING id::text,
    ALTER COLUMN user_id TYPE text USING user_id::text,
    ALTER COLUMN actor_id TYPE text USING actor_id::text,
    ALTER COLUMN session_id TYPE text USING session_id::text;
ALTER TABLE one_time_tokens
    ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE mail_outbox
    ALTER COLUMN id TYPE text USING id::text,
    ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE totp_secrets
    ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE recovery_codes
    ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE mfa_challenges
    ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE passkeys
    ALTER COLUMN id TYPE text USING id::text,
    ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE passkey_ceremonies
    ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE external_identities
    ALTER COLUMN id TYPE text USING id::text,
    ALTER COLUMN user_id TYPE text USING user_id::text;
ALTER TABLE oauth_states
    ALTER COLUMN link_user_id TYPE text USING link_user_id::text;
ALTER TABLE oauth_login_codes
    ALTER COLUMN user_id TYPE text USING user_id::text;

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
    PERFORM pg_notify('auth_principal', OLD.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION auth_notify_user_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('auth_principal', 'u:' || OLD.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
