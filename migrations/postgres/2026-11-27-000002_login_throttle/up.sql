-- Failure counters of login attempts, one row per key ("account:<email>" or
-- "address:<ip>"), shared by every server instance.
CREATE TABLE login_attempts (
    throttle_key    TEXT PRIMARY KEY,
    failures        INTEGER NOT NULL DEFAULT 0,
    last_attempt_at TIMESTAMP NOT NULL,
    locked_until    TIMESTAMP
);

-- Finds the keys quiet long enough to be forgotten.
CREATE INDEX login_attempts_last_attempt_at_idx ON login_attempts (last_attempt_at);
