DROP TRIGGER users_count_truncated ON users;
DROP TRIGGER users_count_deleted ON users;
DROP TRIGGER users_count_inserted ON users;
DROP FUNCTION auth_count_users_truncated();
DROP FUNCTION auth_count_users_deleted();
DROP FUNCTION auth_count_users_inserted();
DROP TABLE user_count;
ALTER TABLE users
    ALTER COLUMN email TYPE TEXT COLLATE "default",
    ALTER COLUMN username_key TYPE TEXT COLLATE "default";
DROP INDEX audit_events_actor_id_idx;
DROP INDEX audit_events_user_id_idx;
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, at);
CREATE INDEX audit_events_actor_id_idx ON audit_events (actor_id, at);
DROP INDEX users_date_joined_id_idx;
