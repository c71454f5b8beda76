-- Issue "Fast on the default database, and at a million users".

-- Keyset paging: each listing's order has an index that matches it, so a page reached
-- through a cursor costs the same at any depth. Users: registration order.
CREATE INDEX users_date_joined_id_idx ON users (date_joined, id);

-- A user's audit trail (as subject or as actor), newest first, ties by id.
DROP INDEX audit_events_user_id_idx;
DROP INDEX audit_events_actor_id_idx;
CREATE INDEX audit_events_user_id_idx ON audit_events (user_id, at, id);
CREATE INDEX audit_events_actor_id_idx ON audit_events (actor_id, at, id);

-- Prefix search needs nothing new: emails and username keys are stored lower-cased and
-- SQLite compares text byte by byte, so a prefix is one range of their unique indexes.

-- `total` of `GET /users` without a search, read on every page instead of a count over
-- every row; kept exact by triggers through any write path.
CREATE TABLE user_count (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    n  INTEGER NOT NULL
);
INSERT INTO user_count (id, n) SELECT 1, count(*) FROM users;

CREATE TRIGGER users_count_inserted AFTER INSERT ON users
BEGIN
    UPDATE user_count SET n = n + 1 WHERE id = 1;
END;

CREATE TRIGGER users_count_deleted AFTER DELETE ON users
BEGIN
    UPDATE user_count SET n = n - 1 WHERE id = 1;
END;
