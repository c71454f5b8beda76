//! The process: where it listens, its threads and log filter, and its periodic prune.

use std::time::Duration;

use chrono::TimeDelta;

use super::variable::WhenUnset::{Means, Value};
use super::variable::{
    optional, parse_duration, span, trimmed, whole_number, Env, Setting, Variable,
};
use super::ConfigError;

const HOST: Setting<String> =
    Setting::new("HOST", Value("127.0.0.1"), trimmed, "address to listen on");
const PORT: Setting<u16> = Setting::new(
    "PORT",
    Value("8000"),
    |raw| {
        let port = whole_number::<u64>(raw)?;
        u16::try_from(port).map_err(|_| format!("must be at most 65535, got {port}"))
    },
    "port to listen on; 0 picks a free one (logged)",
);
const WORKERS: Setting<Option<usize>> = Setting::new(
    "WORKERS",
    Means("cores"),
    |raw| {
        Ok(optional(raw, whole_number::<u64>)?
            .filter(|w| *w > 0)
            .map(|w| w as usize))
    },
    "HTTP worker threads",
);
/// The log filter when `RUST_LOG` is unset.
pub const DEFAULT_LOG_FILTER: &str = "info";
/// Read by the logger, before the configuration (see `main.rs`).
const RUST_LOG: Variable = Variable {
    name: "RUST_LOG",
    default: Value(DEFAULT_LOG_FILTER),
    help: "log filter",
};
const PRUNE_INTERVAL: Setting<Duration> = Setting::new(
    "PRUNE_INTERVAL",
    Value("1h"),
    parse_duration,
    "how often serve deletes ended sessions; 0 turns it off",
);
const SESSION_RETENTION: Setting<TimeDelta> = Setting::new(
    "SESSION_RETENTION",
    Value("7d"),
    span,
    "how long revoked sessions are kept before prune deletes them",
);

pub const VARIABLES: &[Variable] = &[
    HOST.variable,
    PORT.variable,
    WORKERS.variable,
    RUST_LOG,
    PRUNE_INTERVAL.variable,
    SESSION_RETENTION.variable,
];

pub(super) struct ServerSettings {
    pub host: String,
    pub port: u16,
    pub workers: Option<usize>,
    pub prune_interval: Duration,
    pub session_retention: TimeDelta,
}

pub(super) fn read(env: &Env) -> Result<ServerSettings, ConfigError> {
    Ok(ServerSettings {
        host: HOST.read(env)?,
        port: PORT.read(env)?,
        workers: WORKERS.read(env)?,
        prune_interval: PRUNE_INTERVAL.read(env)?,
        session_retention: SESSION_RETENTION.read(env)?,
    })
}
