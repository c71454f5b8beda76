DELETE FROM mail_outbox WHERE kind LIKE 'notice\_%';
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_kind_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_kind_check
    CHECK (kind IN ('verify_email', 'password_reset'));
DROP TABLE mfa_challenges;
DROP TABLE recovery_codes;
DROP TABLE totp_secrets;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE users DROP COLUMN mfa_enabled;
