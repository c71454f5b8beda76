//! The database settings: where to connect (the pool, the session cache's listener), the
//! pool's size and patience, the session cache, prepared statements.

use auth_infra::db::DatabaseUrl;
use auth_infra::{Backend, DatabaseOptions};

use super::{invalid, parse_duration, ConfigError};

/// Reads `DATABASE_URL`, `DATABASE_LISTEN_URL`, `DATABASE_POOL_SIZE`, `DATABASE_TIMEOUT`,
/// `SESSION_CACHE_SIZE` and `DATABASE_PREPARED_STATEMENTS` (`get` skips blank values).
pub(super) fn database_settings(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(DatabaseUrl, DatabaseOptions), ConfigError> {
    let number = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
        match get(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|_| invalid(name, format!("expected a whole number, got {raw:?}"))),
        }
    };
    // A multi-host URL (`postgres://h1:5432,h2:5432/db?target_session_attrs=read-write`) is
    // libpq's to read: it is passed through unchanged.
    let database_url =
        DatabaseUrl::parse(&get("DATABASE_URL").unwrap_or_else(|| "sqlite://auth.db".to_owned()))
            .map_err(|m| invalid("DATABASE_URL", m))?;
    let listen_url = match get("DATABASE_LISTEN_URL") {
        None => None,
        Some(raw) => {
            let url = DatabaseUrl::parse(&raw).map_err(|m| invalid("DATABASE_LISTEN_URL", m))?;
            if url.backend != Backend::Postgres || database_url.backend != Backend::Postgres {
                return Err(invalid(
                    "DATABASE_LISTEN_URL",
                    "is a postgres://… URL, used only with a postgres://… DATABASE_URL",
                ));
            }
            Some(url)
        }
    };
    let pool_size = number("DATABASE_POOL_SIZE", 10)?;
    if !(1..=1_000).contains(&pool_size) {
        return Err(invalid("DATABASE_POOL_SIZE", "must be between 1 and 1000"));
    }
    let checkout_timeout = parse_duration(&get("DATABASE_TIMEOUT").unwrap_or_else(|| "5s".into()))
        .map_err(|m| invalid("DATABASE_TIMEOUT", m))?;
    if checkout_timeout.is_zero() {
        return Err(invalid("DATABASE_TIMEOUT", "must be greater than zero"));
    }
    let session_cache_size = number("SESSION_CACHE_SIZE", 10_000)?;
    if session_cache_size > 10_000_000 {
        return Err(invalid("SESSION_CACHE_SIZE", "must be at most 10000000"));
    }
    let prepared_statements = match get("DATABASE_PREPARED_STATEMENTS") {
        None => false,
        Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
            "on" | "true" | "1" | "yes" => true,
            "off" | "false" | "0" | "no" => false,
            _ => {
                return Err(invalid(
                    "DATABASE_PREPARED_STATEMENTS",
                    format!("expected on or off, got {raw:?}"),
                ))
            }
        },
    };
    Ok((
        database_url,
        DatabaseOptions {
            max_connections: pool_size as u32,
            checkout_timeout,
            session_cache_size: session_cache_size as usize,
            listen_url,
            prepared_statements,
            ..DatabaseOptions::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<(DatabaseUrl, DatabaseOptions), ConfigError> {
        let env: std::collections::HashMap<&str, &str> = pairs.iter().copied().collect();
        database_settings(&|name| env.get(name).map(|v| (*v).to_owned()))
    }

    #[test]
    fn a_multi_host_url_is_accepted_and_passed_to_libpq_unchanged() {
        let url = "postgres://auth:s3cret@10.0.0.1:5432,10.0.0.2:5433/auth\
                   ?target_session_attrs=read-write&connect_timeout=2";
        let (parsed, options) = settings(&[("DATABASE_URL", url)]).unwrap();
        assert_eq!(parsed.backend, Backend::Postgres);
        assert_eq!(parsed.postgres_target(), Some(url));
        // The password never reaches a log line.
        assert!(!parsed.to_string().contains("s3cret"));
        assert!(parsed.to_string().contains("10.0.0.2:5433"));
        assert_eq!(options.listen_url, None);
        assert!(!options.prepared_statements);
    }

    #[test]
    fn the_listen_url_and_prepared_statements_are_read() {
        let (_, options) = settings(&[
            ("DATABASE_URL", "postgres://u@pgbouncer:6432/auth"),
            ("DATABASE_LISTEN_URL", "postgres://u@db1:5432,db2:5432/auth"),
            ("DATABASE_PREPARED_STATEMENTS", "on"),
        ])
        .unwrap();
        assert_eq!(
            options.listen_url.unwrap().postgres_target(),
            Some("postgres://u@db1:5432,db2:5432/auth")
        );
        assert!(options.prepared_statements);
    }

    #[test]
    fn bad_database_values_name_their_variable() {
        for (pairs, variable) in [
            (
                &[("DATABASE_LISTEN_URL", "postgres://u@db/auth")][..],
                "DATABASE_LISTEN_URL",
            ),
            (
                &[
                    ("DATABASE_URL", "postgres://u@pgbouncer/auth"),
                    ("DATABASE_LISTEN_URL", "sqlite://x.db"),
                ][..],
                "DATABASE_LISTEN_URL",
            ),
            (
                &[("DATABASE_PREPARED_STATEMENTS", "sometimes")][..],
                "DATABASE_PREPARED_STATEMENTS",
            ),
            (&[("DATABASE_POOL_SIZE", "0")][..], "DATABASE_POOL_SIZE"),
            (&[("DATABASE_TIMEOUT", "0")][..], "DATABASE_TIMEOUT"),
        ] {
            assert_eq!(settings(pairs).unwrap_err().variable, variable, "{pairs:?}");
        }
    }
}
