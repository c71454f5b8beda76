//! Throw-away databases for tests (feature `testing`): each test gets its own PostgreSQL
//! database or SQLite file, removed when the guard drops.
//!
//! PostgreSQL is reached through `TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). A test that cannot reach it fails, and
//! says how to fix it: PostgreSQL tests are never skipped silently.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::PathBuf;

use diesel::pg::PgConnection;
use diesel::{Connection, RunQueryDsl};
use uuid::Uuid;

use crate::db::DatabaseUrl;

pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A database that exists for the lifetime of this value.
pub struct TestDatabase {
    pub url: DatabaseUrl,
    raw_url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Postgres { admin_url: String, name: String },
    Sqlite { dir: PathBuf },
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_ADMIN_URL.to_owned())
}

/// `admin` with its database name replaced by `name`.
fn with_database(admin: &str, name: &str) -> String {
    let (scheme, rest) = admin
        .split_once("://")
        .expect("TEST_DATABASE_URL has no scheme");
    let (authority, query) = match rest.split_once('/') {
        Some((authority, path)) => (authority, path.split_once('?').map(|(_, q)| q)),
        None => (rest, None),
    };
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

fn connect_admin(admin: &str) -> PgConnection {
    PgConnection::establish(admin).unwrap_or_else(|error| {
        panic!(
            "PostgreSQL test database unreachable at {} ({error}).\n\
             Start PostgreSQL (README: \"Running the tests\") or point TEST_DATABASE_URL at one. \
             PostgreSQL tests never skip{}.",
            crate::db::redacted(admin),
            if std::env::var("CI").as_deref() == Ok("true") {
                " in CI"
            } else {
                ""
            }
        )
    })
}

impl TestDatabase {
    /// A fresh, empty PostgreSQL database.
    pub fn postgres() -> Self {
        let admin = admin_url();
        let name = format!("auth_test_{}", Uuid::new_v4().simple());
        let mut conn = connect_admin(&admin);
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .expect("CREATE DATABASE failed");
        let raw_url = with_database(&admin, &name);
        Self {
            url: DatabaseUrl::parse(&raw_url).expect("test database URL"),
            raw_url,
            cleanup: Cleanup::Postgres {
                admin_url: admin,
                name,
            },
        }
    }

    /// A fresh SQLite file in its own temporary directory.
    pub fn sqlite() -> Self {
        let dir = std::env::temp_dir().join(format!("auth-test-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let raw_url = format!("sqlite://{}", dir.join("auth.db").display());
        Self {
            url: DatabaseUrl::parse(&raw_url).expect("test database URL"),
            raw_url,
            cleanup: Cleanup::Sqlite { dir },
        }
    }

    /// The URL as `DATABASE_URL` would hold it.
    pub fn raw_url(&self) -> &str {
        &self.raw_url
    }

    /// Runs raw SQL on this database beside any store (what another process or an operator
    /// would do); returns the rows it touched.
    pub fn execute(&self, statement: &str) -> usize {
        match self.url.backend {
            crate::Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.raw_url).unwrap();
                diesel::sql_query(statement).execute(&mut conn).unwrap()
            }
            crate::Backend::Sqlite => {
                let path = self.raw_url.strip_prefix("sqlite://").unwrap();
                let mut conn = diesel::SqliteConnection::establish(path).unwrap();
                diesel::sql_query(statement).execute(&mut conn).unwrap()
            }
        }
    }

    /// For SQLite, the directory the database file lives in.
    pub fn sqlite_dir(&self) -> Option<&std::path::Path> {
        match &self.cleanup {
            Cleanup::Sqlite { dir } => Some(dir),
            Cleanup::Postgres { .. } => None,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Postgres { admin_url, name } => {
                if let Ok(mut conn) = PgConnection::establish(admin_url) {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn);
                }
            }
            Cleanup::Sqlite { dir } => {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_is_replaced_and_query_kept() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
