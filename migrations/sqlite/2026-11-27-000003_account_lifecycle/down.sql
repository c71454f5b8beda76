DROP INDEX sessions_revoked_at_idx;
DROP INDEX sessions_expires_at_idx;
DROP TRIGGER audit_events_no_delete;
DROP TRIGGER audit_events_no_update;
DROP TABLE audit_events;
ALTER TABLE users DROP COLUMN password_changed_at;
