DROP INDEX sessions_revoked_at_idx;
DROP INDEX sessions_expires_at_idx;
DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
ALTER TABLE users DROP COLUMN password_changed_at;
