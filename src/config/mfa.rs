//! The settings of second factors: `MFA_ISSUER`, `MFA_TOKEN_TTL`, `REAUTH_MAX_AGE`,
//! `REQUIRE_MFA_FOR_ADMINS`, and `DATA_ENCRYPTION_KEY` (with its key file beside a SQLite
//! database, as for `JWT_SECRET`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use auth_domain::mfa::MfaPolicy;
use auth_infra::db::DatabaseUrl;
use auth_infra::DataKey;
use chrono::TimeDelta;

use super::{invalid, ConfigError};

/// Where the data-encryption key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum DataKeySource {
    /// `DATA_ENCRYPTION_KEY`, checked (32 bytes, base64).
    Given(String),
    /// Generated on first start and kept in this file (SQLite only).
    File(PathBuf),
}

impl std::fmt::Debug for DataKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataKeySource::Given(_) => f.write_str("Given(<redacted>)"),
            DataKeySource::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MfaConfig {
    pub policy: MfaPolicy,
    pub require_for_admins: bool,
    pub data_key: DataKeySource,
}

const VARIABLE: &str = "DATA_ENCRYPTION_KEY";

/// Reads the second-factor settings; `ttl` parses a positive duration variable.
pub fn read(
    get: &dyn Fn(&str) -> Option<String>,
    ttl: &dyn Fn(&'static str, &str) -> Result<TimeDelta, ConfigError>,
    database_url: &DatabaseUrl,
) -> Result<MfaConfig, ConfigError> {
    let issuer = get("MFA_ISSUER")
        .map(|issuer| issuer.trim().to_owned())
        .unwrap_or_else(|| "auth-server".to_owned());
    if issuer.contains(':') || issuer.chars().any(char::is_control) {
        return Err(invalid(
            "MFA_ISSUER",
            "must not contain ':' or control characters (it is part of the otpauth:// label)",
        ));
    }
    let require_for_admins = match get("REQUIRE_MFA_FOR_ADMINS") {
        None => false,
        Some(raw) => parse_bool(&raw).ok_or_else(|| {
            invalid(
                "REQUIRE_MFA_FOR_ADMINS",
                format!("expected true or false, got {raw:?}"),
            )
        })?,
    };
    let data_key = match get(VARIABLE) {
        Some(encoded) => {
            DataKey::parse(&encoded).map_err(|message| invalid(VARIABLE, message))?;
            DataKeySource::Given(encoded.trim().to_owned())
        }
        None => match database_url.sqlite_path() {
            Some(path) => DataKeySource::File(PathBuf::from(format!("{path}.data-key"))),
            None => {
                return Err(invalid(
                    VARIABLE,
                    "is required with PostgreSQL: set 32 random bytes in base64 \
                     (e.g. `openssl rand -base64 32`); it encrypts TOTP secrets",
                ))
            }
        },
    };
    Ok(MfaConfig {
        policy: MfaPolicy {
            issuer,
            token_ttl: ttl("MFA_TOKEN_TTL", "5m")?,
            reauth_max_age: ttl("REAUTH_MAX_AGE", "5m")?,
        },
        require_for_admins,
        data_key,
    })
}

fn parse_bool(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

impl MfaConfig {
    /// The key, reading or creating the key file when it is not given.
    pub fn data_key(&self) -> Result<DataKey, ConfigError> {
        match &self.data_key {
            DataKeySource::Given(encoded) => {
                DataKey::parse(encoded).map_err(|message| invalid(VARIABLE, message))
            }
            DataKeySource::File(path) => load_or_create(path),
        }
    }
}

fn load_or_create(path: &Path) -> Result<DataKey, ConfigError> {
    let fail = |message: String| invalid(VARIABLE, message);
    match fs::read_to_string(path) {
        Ok(existing) => DataKey::parse(&existing).map_err(|message| {
            fail(format!(
                "the key file {} {message}; it encrypts the TOTP secrets, so restore it \
                 rather than delete it",
                path.display()
            ))
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let encoded = DataKey::generate_encoded();
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(|e| {
                fail(format!(
                    "cannot create the key file {}: {e}",
                    path.display()
                ))
            })?;
            file.write_all(encoded.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| fail(format!("cannot write the key file {}: {e}", path.display())))?;
            log::warn!(
                "DATA_ENCRYPTION_KEY is not set: generated a data-encryption key in {} (mode \
                 0600). Back it up with the database: without it TOTP secrets cannot be read.",
                path.display()
            );
            DataKey::parse(&encoded).map_err(fail)
        }
        Err(error) => Err(fail(format!(
            "cannot read the key file {}: {error}",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::HashMap;

    use crate::config::Config;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, crate::ConfigError> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .chain([("JWT_SECRET".to_owned(), "x".repeat(32))])
            .collect();
        Config::from_lookup(|name| env.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let config = config(&[("DATABASE_URL", "sqlite:///tmp/x.db")]).unwrap();
        assert_eq!(config.mfa.policy.issuer, "auth-server");
        assert_eq!(config.mfa.policy.token_ttl.num_seconds(), 300);
        assert_eq!(config.mfa.policy.reauth_max_age.num_seconds(), 300);
        assert!(!config.mfa.require_for_admins);
        assert_eq!(
            config.mfa.data_key,
            super::DataKeySource::File("/tmp/x.db.data-key".into())
        );
    }

    #[test]
    fn postgres_needs_a_key_and_a_bad_one_names_the_variable() {
        let pg = "postgres://u@h/db";
        let error = config(&[("DATABASE_URL", pg)]).unwrap_err();
        assert_eq!(error.variable, "DATA_ENCRYPTION_KEY");
        let error =
            config(&[("DATABASE_URL", pg), ("DATA_ENCRYPTION_KEY", "c2hvcnQ=")]).unwrap_err();
        assert_eq!(error.variable, "DATA_ENCRYPTION_KEY");
        let key = auth_infra::DataKey::generate_encoded();
        assert!(config(&[("DATABASE_URL", pg), ("DATA_ENCRYPTION_KEY", &key)]).is_ok());
        let error = config(&[
            ("DATABASE_URL", pg),
            ("DATA_ENCRYPTION_KEY", &key),
            ("REQUIRE_MFA_FOR_ADMINS", "maybe"),
        ])
        .unwrap_err();
        assert_eq!(error.variable, "REQUIRE_MFA_FOR_ADMINS");
    }

    #[test]
    fn key_file_is_created_once_with_mode_0600() {
        let dir = std::env::temp_dir().join(format!("auth-mfa-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("auth.db");
        let config = config(&[("DATABASE_URL", &format!("sqlite://{}", db.display()))]).unwrap();
        let first = config.mfa.data_key().unwrap();
        let second = config.mfa.data_key().unwrap();
        assert_eq!(first.id(), second.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("auth.db.data-key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn uuid_like() -> String {
        format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        )
    }
}
