//! End-to-end tests: the real server on a free port, against a fresh SQLite file and a fresh
//! PostgreSQL database per test. One binary, many modules (link once).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod faults;
mod helpers;
mod instances;
mod observability;
mod seed_flow;
