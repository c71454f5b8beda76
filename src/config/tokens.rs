//! The tokens: how they are signed (`JWT_SECRET` and its key file beside a SQLite database,
//! `JWT_ALGORITHM`, the PEM key files), their claims and their lifetimes.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use auth_domain::TokenPolicy;
use auth_infra::db::DatabaseUrl;
use auth_infra::jwt::{
    generate_secret, is_hmac, parse_algorithm, Algorithm, PemKey, PemKeys, MIN_SECRET_BYTES,
};
use auth_infra::{secret_file, JwtSettings};
use chrono::TimeDelta;

use super::variable::WhenUnset::{Means, Value};
use super::variable::{
    list, optional, optional_text, parse_duration, text, ttl, Env, Setting, Variable,
};
use super::{Config, ConfigError};

const JWT_SECRET: Setting<Vec<u8>> = Setting::new(
    "JWT_SECRET",
    Means("none"),
    |raw| {
        if raw.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "must be at least {MIN_SECRET_BYTES} bytes, got {}",
                raw.len()
            ));
        }
        Ok(raw.as_bytes().to_vec())
    },
    "HMAC key, at least 32 bytes; with SQLite an unset key is generated once into DB_PATH.jwt-secret (0600)",
);
/// The algorithm, with its name as written (trimmed) for the refusals that quote it.
const JWT_ALGORITHM: Setting<(Algorithm, String)> = Setting::new(
    "JWT_ALGORITHM",
    Value("HS256"),
    |raw| match parse_algorithm(raw.trim()) {
        Some(algorithm) => Ok((algorithm, raw.trim().to_owned())),
        None => Err(format!(
            "unsupported algorithm {raw:?}: use HS256, HS384, HS512, RS256, ES256 or EdDSA"
        )),
    },
    "HS256, HS384 or HS512 (JWT_SECRET); RS256, ES256 or EdDSA (key files)",
);
const JWT_PRIVATE_KEY_FILE: Setting<Option<PathBuf>> = Setting::new(
    "JWT_PRIVATE_KEY_FILE",
    Means("none"),
    |raw| optional(raw, |path| Ok(PathBuf::from(path.trim()))),
    "PEM private key that signs, for RS256/ES256/EdDSA (its public key is always accepted)",
);
const JWT_PUBLIC_KEY_FILES: Setting<Vec<PathBuf>> = Setting::new(
    "JWT_PUBLIC_KEY_FILES",
    Means("none"),
    |raw| Ok(list(raw).map(PathBuf::from).collect()),
    "comma-separated PEM public keys also accepted and published (rotation)",
);
const ACCESS_TOKEN_TTL: Setting<TimeDelta> = Setting::new(
    "ACCESS_TOKEN_TTL",
    Value("15m"),
    ttl,
    "access token lifetime",
);
const REFRESH_TOKEN_TTL: Setting<TimeDelta> = Setting::new(
    "REFRESH_TOKEN_TTL",
    Value("7d"),
    ttl,
    "refresh token lifetime",
);
const SESSION_MAX_TTL: Setting<TimeDelta> = Setting::new(
    "SESSION_MAX_TTL",
    Value("30d"),
    ttl,
    "how long after login a session can be refreshed",
);
const JWT_ISSUER: Setting<String> = Setting::new(
    "JWT_ISSUER",
    Value("auth-server"),
    text,
    "iss claim issued and required",
);
const JWT_AUDIENCE: Setting<Option<String>> = Setting::new(
    "JWT_AUDIENCE",
    Means("none"),
    optional_text,
    "aud claim issued and required, when set",
);
const JWT_LEEWAY: Setting<u64> = Setting::new(
    "JWT_LEEWAY",
    Value("0"),
    |raw| Ok(parse_duration(raw)?.as_secs()),
    "clock skew tolerated on exp/nbf",
);

pub const VARIABLES: &[Variable] = &[
    JWT_SECRET.variable,
    JWT_ALGORITHM.variable,
    JWT_PRIVATE_KEY_FILE.variable,
    JWT_PUBLIC_KEY_FILES.variable,
    ACCESS_TOKEN_TTL.variable,
    REFRESH_TOKEN_TTL.variable,
    SESSION_MAX_TTL.variable,
    JWT_ISSUER.variable,
    JWT_AUDIENCE.variable,
    JWT_LEEWAY.variable,
];

/// Where the signing key comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    Given(Vec<u8>),
    /// Generated on first start and kept in this file (SQLite only).
    File(PathBuf),
    /// No secret: an asymmetric algorithm signs with `JWT_PRIVATE_KEY_FILE`.
    Unused,
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Given(_) => f.write_str("Given(<redacted>)"),
            SecretSource::File(path) => f.debug_tuple("File").field(path).finish(),
            SecretSource::Unused => f.write_str("Unused"),
        }
    }
}

/// The token variables, read and checked against each other.
pub(super) struct TokenSettings {
    pub secret: SecretSource,
    pub algorithm: Algorithm,
    pub private_key_file: Option<PathBuf>,
    pub public_key_files: Vec<PathBuf>,
    pub policy: TokenPolicy,
    pub issuer: String,
    pub audience: Option<String>,
    pub leeway_secs: u64,
}

pub(super) fn read(env: &Env, database_url: &DatabaseUrl) -> Result<TokenSettings, ConfigError> {
    let (algorithm, algorithm_name) = JWT_ALGORITHM.read(env)?;
    let private_key_file = JWT_PRIVATE_KEY_FILE.read(env)?;
    let public_key_files = JWT_PUBLIC_KEY_FILES.read(env)?;
    let asymmetric = !is_hmac(algorithm);
    if asymmetric {
        if private_key_file.is_none() {
            return Err(JWT_PRIVATE_KEY_FILE.refuse(format!(
                "is required with JWT_ALGORITHM={algorithm_name}: a PEM private key"
            )));
        }
        if JWT_SECRET.is_set(env) {
            return Err(JWT_SECRET.refuse(format!(
                "is not used with JWT_ALGORITHM={algorithm_name}, which signs with \
                 JWT_PRIVATE_KEY_FILE: unset it"
            )));
        }
    } else {
        let unused = |variable| ConfigError {
            variable,
            message: format!(
                "is not used with JWT_ALGORITHM={algorithm_name}, which signs with \
                 JWT_SECRET: unset it, or choose RS256, ES256 or EdDSA"
            ),
        };
        if private_key_file.is_some() {
            return Err(unused(JWT_PRIVATE_KEY_FILE.name()));
        }
        if !public_key_files.is_empty() {
            return Err(unused(JWT_PUBLIC_KEY_FILES.name()));
        }
    }
    let secret = if asymmetric {
        SecretSource::Unused
    } else {
        // A blank secret is refused as too short, not taken for an unset one.
        match JWT_SECRET.read_verbatim(env)? {
            Some(secret) => SecretSource::Given(secret),
            None => match database_url.sqlite_path() {
                Some(path) => SecretSource::File(PathBuf::from(format!("{path}.jwt-secret"))),
                None => {
                    return Err(JWT_SECRET.refuse(
                        "is required with PostgreSQL: set a random key of at least 32 bytes \
                         (e.g. `openssl rand -hex 32`)",
                    ))
                }
            },
        }
    };
    Ok(TokenSettings {
        secret,
        algorithm,
        private_key_file,
        public_key_files,
        policy: TokenPolicy {
            access_ttl: ACCESS_TOKEN_TTL.read(env)?,
            refresh_ttl: REFRESH_TOKEN_TTL.read(env)?,
            session_max_ttl: SESSION_MAX_TTL.read(env)?,
        },
        issuer: JWT_ISSUER.read(env)?,
        audience: JWT_AUDIENCE.read(env)?,
        leeway_secs: JWT_LEEWAY.read(env)?,
    })
}

impl Config {
    /// The signing settings, reading or creating the key file when the key is not given.
    pub fn jwt_settings(&self) -> Result<JwtSettings, ConfigError> {
        let secret = match &self.secret {
            SecretSource::Given(secret) => secret.clone(),
            SecretSource::File(path) => load_or_create_secret(path)?,
            SecretSource::Unused => Vec::new(),
        };
        let key_pair = match &self.private_key_file {
            None => None,
            Some(private) => Some(PemKeys {
                private_key: read_key_file(&JWT_PRIVATE_KEY_FILE, private)?,
                public_keys: self
                    .public_key_files
                    .iter()
                    .map(|path| read_key_file(&JWT_PUBLIC_KEY_FILES, path))
                    .collect::<Result<_, _>>()?,
            }),
        };
        Ok(JwtSettings {
            algorithm: self.algorithm,
            secret,
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            leeway_secs: self.leeway_secs,
            key_pair,
        })
    }
}

fn read_key_file<T>(variable: &Setting<T>, path: &Path) -> Result<PemKey, ConfigError> {
    let pem = fs::read(path)
        .map_err(|e| variable.refuse(format!("cannot read {}: {e}", path.display())))?;
    Ok(PemKey::new(path.display().to_string(), pem))
}

fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let file = secret_file::read_or_create(path, generate_secret)
        .map_err(|error| JWT_SECRET.refuse(error.to_string()))?;
    if file.created {
        log::warn!(
            "JWT_SECRET is not set: generated a signing key in {} (mode 0600). \
             Set JWT_SECRET in production.",
            path.display()
        );
    }
    let key = file.contents.trim().as_bytes().to_vec();
    if key.len() < MIN_SECRET_BYTES {
        return Err(JWT_SECRET.refuse(format!(
            "the key file {} is too short; delete it to generate a new key",
            path.display()
        )));
    }
    Ok(key)
}
