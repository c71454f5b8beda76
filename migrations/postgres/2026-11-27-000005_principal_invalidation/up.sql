-- Every instance may cache "session + user" answers (SESSION_CACHE_SIZE). After any UPDATE or
-- DELETE of a session or a user, these triggers notify channel `auth_principal` with the
-- session id, or `u:` and the user id; PostgreSQL delivers the notification when the writing
-- transaction commits, so every write path (logout, password change, deactivation, raw SQL…)
-- invalidates the caches of all instances. Inserts need nothing: nothing cached yet.
CREATE FUNCTION auth_notify_session_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('auth_principal', OLD.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION auth_notify_user_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('auth_principal', 'u:' || OLD.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sessions_notify_changed
    AFTER UPDATE OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION auth_notify_session_changed();

CREATE TRIGGER users_notify_changed
    AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION auth_notify_user_changed();
