-- When the password last changed: anything resting on the old one (a reset link…) is stale.
ALTER TABLE users ADD COLUMN password_changed_at TIMESTAMP;

-- The audit trail. No foreign keys: a deleted user's events stay. `detail` is a JSON object
-- of strings (never a secret).
CREATE TABLE audit_events (
    id          TEXT PRIMARY KEY,
    at          TIMESTAMP NOT NULL,
    event       TEXT NOT NULL,
    user_id     TEXT,
    actor_id    TEXT,
    session_id  TEXT,
    client_addr TEXT,
    user_agent  TEXT,
    detail      TEXT
);

CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, at);
CREATE INDEX audit_events_actor_id_idx ON audit_events (actor_id, at);

-- Append-only: rows are never changed or removed by the application.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

-- `prune` finds expired and long-revoked sessions without a full scan.
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at);
