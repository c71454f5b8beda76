//! A bounded cache of verified access tokens: token digest → the claims its verification
//! produced. An access token is presented on every request of its 15 minutes; verifying it
//! again each time (base64, two JSON parses, the signature, the claim checks) is most of what
//! separates `GET /` from `GET /health` once the session is cached.
//!
//! Why it is safe:
//! - The key is the SHA-256 of the exact token bytes: a hit means these very bytes passed the
//!   full verification before, and verification is deterministic for one process (its keys and
//!   settings are fixed at start). Only successes are kept, so forged or malformed tokens
//!   always pay the full price and cannot fill the cache.
//! - What depends on time is checked again on every hit: a token is refused from its `exp` on
//!   (with the leeway), exactly as the full verification refuses it, and its entry dropped.
//!   (`nbf` is the issue time; once passed it stays passed.)
//! - Revocation is not the token's business: every request still resolves the token's session
//!   and user (through the exact session cache), so a logout, a password change or a
//!   deactivation is honoured as before.
//! - Only access tokens are kept (a refresh token is single-use); lookups compare digests, so
//!   nothing secret-dependent is timed. Bounded: when full it starts over empty.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use auth_domain::{Claims, TokenKind};
use sha2::{Digest, Sha256};

pub(super) type TokenDigest = [u8; 32];

pub(super) fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

pub(super) struct VerifiedTokens {
    entries: Mutex<HashMap<TokenDigest, Claims>>,
    capacity: usize,
}

impl VerifiedTokens {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<TokenDigest, Claims>> {
        // Plain data that no panic can leave half-written.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn get(&self, digest: &TokenDigest) -> Option<Claims> {
        self.entries().get(digest).cloned()
    }

    pub(super) fn forget(&self, digest: &TokenDigest) {
        self.entries().remove(digest);
    }

    /// Keeps the claims of a verified access token.
    pub(super) fn keep(&self, digest: TokenDigest, claims: &Claims) {
        if claims.kind != TokenKind::Access || self.capacity == 0 {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(digest, claims.clone());
    }
}
