//! The configuration's tests, one file per concern, and what they share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use super::variable::Env;
use super::{Config, ConfigError};

mod database;
mod declarations;
mod http;
mod mail;
mod mfa;
mod throttle;
mod tokens;
mod variable;

/// A SQLite database in a folder that does not exist: reading the configuration never
/// touches it.
const SQLITE: (&str, &str) = ("DATABASE_URL", "sqlite:///nonexistent-dir/auth.db");
/// A signing key long enough.
const SECRET: (&str, &str) = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");

/// An environment holding `pairs` only.
fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let vars: HashMap<String, String> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    move |name| vars.get(name).cloned()
}

/// Runs one concern's `read` on an environment holding `pairs` only.
fn with_env<T>(pairs: &[(&str, &str)], read: impl FnOnce(&Env) -> T) -> T {
    read(&Env::new(&lookup(pairs)))
}

fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_lookup(lookup(pairs))
}

fn refused(pairs: &[(&str, &str)]) -> ConfigError {
    match config(pairs) {
        Ok(_) => panic!("{pairs:?} was accepted"),
        Err(error) => error,
    }
}
