-- Issue "Fast on the default database, and at a million users".

-- Keyset paging: each listing's order has an index that matches it, so a page reached
-- through a cursor costs the same at any depth. Users: registration order.
CREATE INDEX users_date_joined_id_idx ON users (date_joined, id);

-- A user's audit trail (as subject or as actor), newest first, ties by id.
DROP INDEX audit_events_user_id_idx;
DROP INDEX audit_events_actor_id_idx;
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, at, id);
CREATE INDEX audit_events_actor_id_idx ON audit_events (actor_id, at, id);

-- Prefix search (`GET /users?q=`): emails and username keys are stored lower-cased and
-- compared byte by byte, so the users starting with a prefix are one range of their unique
-- indexes, whatever the database's default collation.
ALTER TABLE users
    ALTER COLUMN email TYPE TEXT COLLATE "C",
    ALTER COLUMN username_key TYPE TEXT COLLATE "C";

-- `total` of `GET /users` without a search, read on every page instead of a count over
-- every row. Statement-level triggers keep it exact through any write path (a bulk INSERT
-- … SELECT included). Concurrent inserts queue on the row only until their commit.
CREATE TABLE user_count (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  BIGINT NOT NULL
);
INSERT INTO user_count (id, n) SELECT 1, count(*) FROM users;

CREATE FUNCTION auth_count_users_inserted() RETURNS trigger AS $$
BEGIN
    UPDATE user_count SET n = n + (SELECT count(*) FROM inserted) WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION auth_count_users_deleted() RETURNS trigger AS $$
BEGIN
    UPDATE user_count SET n = n - (SELECT count(*) FROM deleted) WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION auth_count_users_truncated() RETURNS trigger AS $$
BEGIN
    UPDATE user_count SET n = 0 WHERE id = 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER users_count_inserted AFTER INSERT ON users
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION auth_count_users_inserted();
CREATE TRIGGER users_count_deleted AFTER DELETE ON users
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION auth_count_users_deleted();
CREATE TRIGGER users_count_truncated AFTER TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION auth_count_users_truncated();
