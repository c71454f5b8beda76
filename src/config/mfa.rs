//! The settings of second factors: `MFA_ISSUER`, `MFA_TOKEN_TTL`, `REAUTH_MAX_AGE`,
//! `REQUIRE_MFA_FOR_ADMINS`, and `DATA_ENCRYPTION_KEY` (with its key file beside a SQLite
//! database, as for `JWT_SECRET`).

use std::path::{Path, PathBuf};

use auth_domain::mfa::MfaPolicy;
use auth_infra::db::DatabaseUrl;
use auth_infra::{secret_file, DataKey};
use chrono::TimeDelta;

use super::variable::WhenUnset::{Means, Value};
use super::variable::{optional, switch, ttl, Env, Setting, Variable};
use super::ConfigError;

const DATA_ENCRYPTION_KEY: Setting<Option<String>> = Setting::new(
    "DATA_ENCRYPTION_KEY",
    Means("none"),
    |raw| optional(raw, |encoded| DataKey::parse(encoded).map(|_| encoded.trim().to_owned())),
    "32 bytes, base64, that encrypt TOTP secrets; with SQLite an unset key is generated once into DB_PATH.data-key (0600), with PostgreSQL it is required",
);
const MFA_ISSUER: Setting<String> = Setting::new(
    "MFA_ISSUER",
    Value("auth-server"),
    |raw| {
        let issuer = raw.trim();
        if issuer.contains(':') || issuer.chars().any(char::is_control) {
            return Err(
                "must not contain ':' or control characters (it is part of the otpauth:// label)"
                    .into(),
            );
        }
        Ok(issuer.to_owned())
    },
    "issuer shown by authenticator apps (otpauth:// URIs)",
);
const MFA_TOKEN_TTL: Setting<TimeDelta> = Setting::new(
    "MFA_TOKEN_TTL",
    Value("5m"),
    ttl,
    "lifetime of the mfa_token of a login waiting for its second factor",
);
const REAUTH_MAX_AGE: Setting<TimeDelta> = Setting::new(
    "REAUTH_MAX_AGE",
    Value("5m"),
    ttl,
    "how recent a login re-authenticates an account without a password",
);
const REQUIRE_MFA_FOR_ADMINS: Setting<bool> = Setting::new(
    "REQUIRE_MFA_FOR_ADMINS",
    Value("false"),
    |raw| switch(raw).ok_or_else(|| format!("expected true or false, got {raw:?}")),
    "administration routes answer 403 mfa_required to a login without a second factor",
);

pub const VARIABLES: &[Variable] = &[
    DATA_ENCRYPTION_KEY.variable,
    MFA_ISSUER.variable,
    MFA_TOKEN_TTL.variable,
    REAUTH_MAX_AGE.variable,
    REQUIRE_MFA_FOR_ADMINS.variable,
];

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

/// Reads the second-factor settings; the key file lies beside a SQLite `database_url`.
pub(super) fn read(env: &Env, database_url: &DatabaseUrl) -> Result<MfaConfig, ConfigError> {
    let issuer = MFA_ISSUER.read(env)?;
    let require_for_admins = REQUIRE_MFA_FOR_ADMINS.read(env)?;
    let data_key = match DATA_ENCRYPTION_KEY.read(env)? {
        Some(encoded) => DataKeySource::Given(encoded),
        None => match database_url.sqlite_path() {
            Some(path) => DataKeySource::File(PathBuf::from(format!("{path}.data-key"))),
            None => {
                return Err(DATA_ENCRYPTION_KEY.refuse(
                    "is required with PostgreSQL: set 32 random bytes in base64 \
                     (e.g. `openssl rand -base64 32`); it encrypts TOTP secrets",
                ))
            }
        },
    };
    Ok(MfaConfig {
        policy: MfaPolicy {
            issuer,
            token_ttl: MFA_TOKEN_TTL.read(env)?,
            reauth_max_age: REAUTH_MAX_AGE.read(env)?,
        },
        require_for_admins,
        data_key,
    })
}

impl MfaConfig {
    /// The key, reading or creating the key file when it is not given.
    pub fn data_key(&self) -> Result<DataKey, ConfigError> {
        match &self.data_key {
            DataKeySource::Given(encoded) => {
                DataKey::parse(encoded).map_err(|message| DATA_ENCRYPTION_KEY.refuse(message))
            }
            DataKeySource::File(path) => load_or_create(path),
        }
    }
}

fn load_or_create(path: &Path) -> Result<DataKey, ConfigError> {
    let file = secret_file::read_or_create(path, DataKey::generate_encoded)
        .map_err(|error| DATA_ENCRYPTION_KEY.refuse(error.to_string()))?;
    if file.created {
        log::warn!(
            "DATA_ENCRYPTION_KEY is not set: generated a data-encryption key in {} (mode \
             0600). Back it up with the database: without it TOTP secrets cannot be read.",
            path.display()
        );
    }
    DataKey::parse(&file.contents).map_err(|message| {
        DATA_ENCRYPTION_KEY.refuse(format!(
            "the key file {} {message}; it encrypts the TOTP secrets, so restore it \
             rather than delete it",
            path.display()
        ))
    })
}
