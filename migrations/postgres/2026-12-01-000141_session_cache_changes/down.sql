DROP TRIGGER sessions_notify_deleted ON sessions;
DROP TRIGGER sessions_notify_updated ON sessions;
CREATE TRIGGER sessions_notify_changed
    AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION auth_notify_session_changed();
