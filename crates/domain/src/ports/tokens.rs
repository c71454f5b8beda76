//! Signing and verifying access and refresh tokens.

use crate::error::Fault;
use crate::token::{Claims, TokenKind};

/// Why a presented token was refused. The HTTP layer answers all of them alike (401
/// `invalid_token`); the variants exist for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token algorithm is not accepted")]
    WrongAlgorithm,
    #[error("token has expired")]
    Expired,
    #[error("token is not valid yet")]
    NotYetValid,
    #[error("token issuer or audience does not match")]
    WrongIssuerOrAudience,
    #[error("token is of the wrong kind")]
    WrongKind,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenService: Send + Sync {
    /// Signs the claims into a compact token.
    fn issue(&self, claims: &Claims) -> Result<String, Fault>;

    /// Checks a token and returns its claims.
    ///
    /// MUST refuse (with the matching [`TokenError`]) a token that is not a well-formed JWT,
    /// whose signature does not verify with a configured key, whose `alg` is not the configured
    /// one (`none` included), whose `exp` has passed or whose `nbf` has not come (beyond the
    /// configured leeway), whose `iss`/`aud` differ from the configuration, that lacks any of
    /// the claims auth-server issues, or whose `token_type` is not `expected`.
    fn verify(&self, token: &str, expected: TokenKind) -> Result<Claims, TokenError>;
}
