DELETE FROM mail_outbox WHERE kind IN ('notice_identity_linked', 'notice_identity_unlinked');
DROP TABLE oauth_login_codes;
DROP TABLE oauth_states;
DROP TABLE external_identities;
