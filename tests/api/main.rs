//! End-to-end tests: the real server on a free port, against a fresh SQLite file and a fresh
//! PostgreSQL database per test. One binary, many modules (link once).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod errors;
mod faults;
mod forge;
mod instances;
mod jwks;
mod observability;
mod recovery;
mod refresh;
mod registration;
mod seed_flow;
mod session_cache;
mod support;

mod admin;
mod listings;
mod profile;
mod sessions;
mod tokens;
// Attack resistance.
mod credential_race;
mod email_identity;
mod hash_upgrade;
mod log_hygiene;
mod mail_flood;
mod password_policy;
mod production;
mod response_hardening;
mod slow_clients;
mod throttle_keys;
mod throttling;
// Second factors.
mod mfa;
// Passkeys.
mod passkeys;
// Social login.
mod oauth;
mod oauth_github;
mod oauth_standin;
mod token_hardening;
