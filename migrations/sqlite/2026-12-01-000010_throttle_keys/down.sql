DROP TABLE login_known_pairs;
DROP TABLE throttle_windows;
DELETE FROM login_attempts WHERE throttle_key LIKE 'pair:%';
