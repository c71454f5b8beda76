DELETE FROM mail_outbox WHERE kind LIKE 'notice\_%' ESCAPE '\';
DROP TABLE mfa_challenges;
DROP TABLE recovery_codes;
DROP TABLE totp_secrets;
ALTER TABLE sessions DROP COLUMN amr;
ALTER TABLE users DROP COLUMN mfa_enabled;
