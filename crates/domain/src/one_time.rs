//! One-time tokens: what they are for, their secret, and the digest the store keeps.

use std::fmt;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::user::UserId;
use crate::values::{Email, PasswordHash};

/// What a one-time token is for; each is refused where the other is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OneTimeTokenKind {
    VerifyEmail,
    PasswordReset,
}

impl OneTimeTokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OneTimeTokenKind::VerifyEmail => "verify_email",
            OneTimeTokenKind::PasswordReset => "password_reset",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "verify_email" => Some(OneTimeTokenKind::VerifyEmail),
            "password_reset" => Some(OneTimeTokenKind::PasswordReset),
            _ => None,
        }
    }
}

fn sha256_hex(input: &[u8]) -> String {
    Sha256::digest(input)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The secret of a one-time token, as mailed to the user. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeSecret(String);

impl OneTimeSecret {
    /// Wraps a secret made by a [`SecretGenerator`] (URL-safe, at least 128 random bits).
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(&self.0)
    }
}

impl fmt::Debug for OneTimeSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeSecret(<redacted>)")
    }
}

/// The SHA-256 of a token's secret, in lower-case hex: what the store keeps and looks up.
/// A plain hash suffices because the secret is high-entropy (no dictionary to try).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenDigest(String);

impl TokenDigest {
    /// The digest of whatever a client presented.
    pub fn of(secret: &str) -> Self {
        Self(sha256_hex(secret.as_bytes()))
    }

    /// A digest read back from the store.
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A digest is not a secret, but a prefix is all a log reader needs.
        let prefix: String = self.0.chars().take(8).collect();
        write!(f, "TokenDigest({prefix}…)")
    }
}

/// A fingerprint of a stored password hash (its SHA-256, hex): kept with a reset token so
/// that any later password change, by whichever route, makes the token useless — without
/// storing the hash twice.
pub fn password_fingerprint(hash: &PasswordHash) -> String {
    sha256_hex(hash.as_str().as_bytes())
}

/// A one-time token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeToken {
    pub digest: TokenDigest,
    pub kind: OneTimeTokenKind,
    pub user_id: UserId,
    /// The email the token was sent to.
    pub email: Email,
    /// Reset tokens: [`password_fingerprint`] of the password hash when it was issued.
    pub password_fingerprint: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl OneTimeToken {
    /// Unused, of the expected kind, and not expired at `now`.
    pub fn is_usable(&self, kind: OneTimeTokenKind, now: DateTime<Utc>) -> bool {
        self.kind == kind && self.used_at.is_none() && now < self.expires_at
    }
}
