//! Hashing passwords.

use async_trait::async_trait;

use crate::error::Fault;
use crate::values::{Password, PasswordHash};

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a password that passed the policy (so never more than 72 bytes).
    async fn hash(&self, password: &Password) -> Result<PasswordHash, Fault>;

    /// Whether `candidate` matches `hash`. MUST return `false`, never truncate, when the
    /// candidate is longer than 72 bytes, and MUST take as long as a real comparison in that
    /// case too. An empty hash (an account without a password) matches nothing, after as long
    /// a comparison. Any other hash it cannot read is a `Fault::Internal`.
    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> Result<bool, Fault>;

    /// A hash of an unguessable password at the configured cost, verified against when a
    /// login names an unknown email so that it costs the same time as a known one.
    fn dummy_hash(&self) -> PasswordHash;

    /// Whether `hash` was made with other parameters (bcrypt: another cost) than the
    /// configured ones, so it should be re-hashed at the next successful login. A hash it
    /// cannot read: `false`.
    fn needs_rehash(&self, hash: &PasswordHash) -> bool;
}
