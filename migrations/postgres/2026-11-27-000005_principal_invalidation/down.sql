DROP TRIGGER IF EXISTS users_notify_changed ON users;
DROP TRIGGER IF EXISTS sessions_notify_changed ON sessions;
DROP FUNCTION IF EXISTS auth_notify_user_changed();
DROP FUNCTION IF EXISTS auth_notify_session_changed();
