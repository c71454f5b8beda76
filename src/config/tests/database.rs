//! `DATABASE_*` and `SESSION_CACHE_SIZE`.

use auth_infra::db::DatabaseUrl;
use auth_infra::{Backend, DatabaseOptions};

use super::{config, refused, with_env, SQLITE};
use crate::config::{database, ConfigError};

fn settings(pairs: &[(&str, &str)]) -> Result<(DatabaseUrl, DatabaseOptions), ConfigError> {
    with_env(pairs, database::read)
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
#[test]
fn session_cache_size_defaults_to_10000_and_0_turns_it_off() {
    assert_eq!(
        config(&[SQLITE]).unwrap().database.session_cache_size,
        10_000
    );
    let off = config(&[SQLITE, ("SESSION_CACHE_SIZE", "0")]).unwrap();
    assert_eq!(off.database.session_cache_size, 0);
    assert_eq!(
        refused(&[SQLITE, ("SESSION_CACHE_SIZE", "many")]).variable,
        "SESSION_CACHE_SIZE"
    );
}
