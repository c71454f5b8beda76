//! JWT signing and verification: the keys ([`keys`]: HMAC secrets, PEM key pairs, key ids,
//! the JWK Set) and the token service built on them ([`tokens`]).

mod keys;
mod tokens;
mod verified;

pub use jsonwebtoken::Algorithm;
pub use keys::{
    is_hmac, parse_asymmetric_algorithm, thumbprint, KeyRing, PemKey, PemKeys, MIN_RSA_BITS,
};
pub use tokens::{JwtSettings, JwtTokenService};

/// Shortest HMAC key accepted (RFC 7518 §3.2: at least the hash output size for HS256).
pub const MIN_SECRET_BYTES: usize = 32;

/// A fresh HMAC key: 32 random bytes, hex (what a generated `DB_PATH.jwt-secret` holds).
pub fn generate_secret() -> String {
    (0..32)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}

/// The HMAC algorithms accepted as `JWT_ALGORITHM`.
pub fn parse_hmac_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "HS256" => Some(Algorithm::HS256),
        "HS384" => Some(Algorithm::HS384),
        "HS512" => Some(Algorithm::HS512),
        _ => None,
    }
}

/// The algorithms accepted as `JWT_ALGORITHM`: HS256, HS384, HS512, RS256, ES256, EdDSA.
pub fn parse_algorithm(name: &str) -> Option<Algorithm> {
    parse_hmac_algorithm(name).or_else(|| keys::parse_asymmetric_algorithm(name))
}

#[derive(Debug, thiserror::Error)]
pub enum JwtSetupError {
    #[error("the secret must be at least {MIN_SECRET_BYTES} bytes, got {0}")]
    ShortSecret(usize),
    #[error("{0:?} signs with a private key, and none was given")]
    MissingPrivateKey(Algorithm),
    #[error("{0:?} signs with a shared secret; key files are not used with it")]
    KeysWithHmac(Algorithm),
    /// The private key (its source first) cannot sign.
    #[error("{0}")]
    PrivateKey(String),
    #[error("{file}: {message}")]
    PublicKey { file: String, message: String },
}
