//! End-to-end tests: the real server on a free port, against a fresh SQLite file and a fresh
//! PostgreSQL database per test. One binary, many modules (link once).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod errors;
mod forge;
mod helpers;
mod refresh;
mod registration;
mod recovery;
mod jwks;
mod faults;
mod instances;
mod observability;
mod seed_flow;

mod admin;
mod lifecycle_support;
mod profile;
mod sessions;
mod tokens;
// Attack resistance.
mod hash_upgrade;
mod log_hygiene;
mod password_policy;
mod response_hardening;
mod throttling;
