DROP TRIGGER users_log_deleted;
DROP TRIGGER users_log_changed;
DROP TRIGGER sessions_log_deleted;
DROP TRIGGER sessions_log_updated;
DROP TABLE principal_changes;
