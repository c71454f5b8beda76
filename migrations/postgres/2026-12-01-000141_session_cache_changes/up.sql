-- Deleting a session that was revoked (its revocation was notified) or has expired (refused
-- by its expiry whatever a cache holds) notifies nothing: pruning millions of ended sessions
-- no longer floods the session caches' listeners with notifications.
DROP TRIGGER sessions_notify_changed ON sessions;

CREATE TRIGGER sessions_notify_updated
    AFTER UPDATE ON sessions
    FOR EACH ROW EXECUTE FUNCTION auth_notify_session_changed();

CREATE TRIGGER sessions_notify_deleted
    AFTER DELETE ON sessions
    FOR EACH ROW
    WHEN (OLD.revoked_at IS NULL AND OLD.expires_at > (now() AT TIME ZONE 'UTC'))
    EXECUTE FUNCTION auth_notify_session_changed();
