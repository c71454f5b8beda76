DROP TRIGGER users_count_deleted;
DROP TRIGGER users_count_inserted;
DROP TABLE user_count;
DROP INDEX audit_events_actor_id_idx;
DROP INDEX audit_events_user_id_idx;
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, at);
CREATE INDEX audit_events_actor_id_idx ON audit_events (actor_id, at);
DROP INDEX users_date_joined_id_idx;
