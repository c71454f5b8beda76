-- Three throttle keys (issue "Throttling that cannot be turned against users").
--
-- login_attempts keeps the consecutive-failure counters of keys 1 ("pair:<address>|<email>")
-- and 2 ("account:<email>", the rows' old name and meaning: kept as they are, so an account
-- under attack does not start afresh). The old per-address counters ("address:<ip>") counted
-- consecutive failures with refunds; key 3 is a sliding window now, so they are dropped
-- (every address starts with an empty window).
DELETE FROM login_attempts WHERE throttle_key LIKE 'address:%';

-- Key 3 and per-address budgets: one row per window, its events the epoch-millisecond times
-- still inside it (at most the limit's number of them).
CREATE TABLE throttle_windows (
    window_key TEXT PRIMARY KEY,
    events     TEXT NOT NULL DEFAULT '',
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX throttle_windows_expires_at_idx ON throttle_windows (expires_at);

-- Pairs that logged in successfully: exempt from keys 2 and 3 for LOGIN_KNOWN_PAIR_TTL.
CREATE TABLE login_known_pairs (
    pair_key        TEXT PRIMARY KEY,
    last_success_at TIMESTAMP NOT NULL
);
CREATE INDEX login_known_pairs_last_success_at_idx ON login_known_pairs (last_success_at);
