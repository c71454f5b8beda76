-- The SQLite session cache (issue "Fast on the default database") follows this log: after
-- every UPDATE or DELETE of a session or a user that a cached copy could be wrong about,
-- a trigger appends the session's or the user's id, in the writing transaction. SQLite
-- commits one writer at a time, so `seq` grows in commit order; each server process polls
-- the rows after the last it saw (see crates/infra/src/db/principal_cache/sqlite.rs), so a
-- change made by another process (the CLI, SQL by hand) is honoured within 1 s. Rows older
-- than a minute are deleted by the pollers.
CREATE TABLE principal_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT,
    user_id    TEXT,
    at         INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))
);
CREATE INDEX principal_changes_at_idx ON principal_changes (at);

CREATE TRIGGER sessions_log_updated AFTER UPDATE ON sessions
BEGIN
    INSERT INTO principal_changes (session_id) VALUES (OLD.id);
END;

-- A session that was revoked (its revocation was logged) or has expired (refused by its
-- expiry whatever the cache holds) needs no entry: pruning millions of them logs nothing.
CREATE TRIGGER sessions_log_deleted AFTER DELETE ON sessions
WHEN OLD.revoked_at IS NULL AND OLD.expires_at > strftime('%Y-%m-%d %H:%M:%f', 'now')
BEGIN
    INSERT INTO principal_changes (session_id) VALUES (OLD.id);
END;

CREATE TRIGGER users_log_changed AFTER UPDATE ON users
BEGIN
    INSERT INTO principal_changes (user_id) VALUES (OLD.id);
END;

CREATE TRIGGER users_log_deleted AFTER DELETE ON users
BEGIN
    INSERT INTO principal_changes (user_id) VALUES (OLD.id);
END;
