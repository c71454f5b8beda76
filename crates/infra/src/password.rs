//! bcrypt, through its non-truncating API, on the blocking pool.

use std::sync::Arc;

use async_trait::async_trait;
use auth_domain::ports::PasswordHasher;
use auth_domain::{Fault, Password, PasswordHash};
use rand::distr::{Alphanumeric, SampleString};
use tokio::sync::Semaphore;

/// The costs bcrypt accepts.
pub const COSTS: std::ops::RangeInclusive<u32> = 4..=31;

#[derive(Debug, thiserror::Error)]
pub enum BcryptSetupError {
    #[error("bcrypt cost must be between 4 and 31, got {0}")]
    Cost(u32),
    #[error("could not compute the reference hash: {0}")]
    Hash(#[from] bcrypt::BcryptError),
}

#[derive(Clone)]
pub struct BcryptHasher {
    cost: u32,
    dummy: PasswordHash,
    /// At most one bcrypt run per core at a time: a login flood then queues here instead of
    /// filling the blocking pool with CPU-bound threads that starve the database queries
    /// of every other request. Throughput is the same (bcrypt is CPU-bound).
    running: Arc<Semaphore>,
}

impl BcryptHasher {
    /// Builds a hasher at `cost` and computes its reference hash (one bcrypt run: call it
    /// once at start-up, not per request).
    pub fn new(cost: u32) -> Result<Self, BcryptSetupError> {
        if !COSTS.contains(&cost) {
            return Err(BcryptSetupError::Cost(cost));
        }
        let unguessable = Alphanumeric.sample_string(&mut rand::rng(), 40);
        let dummy = PasswordHash::new(bcrypt::non_truncating_hash(unguessable, cost)?);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            cost,
            dummy,
            running: Arc::new(Semaphore::new(cores)),
        })
    }

    pub fn cost(&self) -> u32 {
        self.cost
    }
}

/// bcrypt over the whole password, never a prefix of it.
///
/// bcrypt reads at most 72 bytes of `password + NUL`. The non-truncating API counts that NUL,
/// so it refuses a password of exactly 72 bytes although bcrypt reads every byte of it (only
/// the terminator falls off): for that one length the regular API is used. Anything longer
/// is refused here, before bcrypt sees it.
fn hash_whole(password: &[u8], cost: u32) -> Result<String, bcrypt::BcryptError> {
    match password.len() {
        n if n > Password::MAX_BYTES => Err(bcrypt::BcryptError::Truncation(n)),
        Password::MAX_BYTES => bcrypt::hash(password, cost),
        _ => bcrypt::non_truncating_hash(password, cost),
    }
}

/// [`hash_whole`]'s counterpart; a candidate bcrypt cannot read whole never matches, but
/// costs the same time to refuse.
fn verify_whole(candidate: &[u8], hash: &str) -> Result<bool, bcrypt::BcryptError> {
    match candidate.len() {
        n if n > Password::MAX_BYTES => {
            bcrypt::verify(&candidate[..Password::MAX_BYTES], hash)?;
            Ok(false)
        }
        Password::MAX_BYTES => bcrypt::verify(candidate, hash),
        _ => bcrypt::non_truncating_verify(candidate, hash),
    }
}

async fn on_blocking_pool<T: Send + 'static>(
    running: &Semaphore,
    work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
) -> Result<T, Fault> {
    let _turn = running.acquire().await.map_err(Fault::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(Fault::internal)?
        .map_err(Fault::internal)
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, Fault> {
        let password = password.expose().to_owned();
        let cost = self.cost;
        on_blocking_pool(&self.running, move || hash_whole(password.as_bytes(), cost))
            .await
            .map(PasswordHash::new)
    }

    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> Result<bool, Fault> {
        let candidate = candidate.as_bytes().to_vec();
        // No password (an account of an external identity): the same work, and no match.
        let no_password = hash.as_str().is_empty();
        let hash = if no_password { &self.dummy } else { hash };
        let hash = hash.as_str().to_owned();
        let matched =
            on_blocking_pool(&self.running, move || verify_whole(&candidate, &hash)).await?;
        Ok(matched && !no_password)
    }

    fn dummy_hash(&self) -> PasswordHash {
        self.dummy.clone()
    }

    fn needs_rehash(&self, hash: &PasswordHash) -> bool {
        hash_cost(hash.as_str()).is_some_and(|cost| cost != self.cost)
    }
}

/// The cost of a modular-crypt bcrypt hash (`$2b$12$…`), `None` when it is not one.
fn hash_cost(hash: &str) -> Option<u32> {
    let mut fields = hash.split('$');
    let (empty, variant, cost) = (fields.next()?, fields.next()?, fields.next()?);
    let known_variant = matches!(variant, "2a" | "2b" | "2x" | "2y");
    if !empty.is_empty() || !known_variant || cost.len() != 2 {
        return None;
    }
    cost.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_long_candidates_never_match(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let hasher = BcryptHasher::new(4)?;
        let password = Password::parse(&"p".repeat(72))?;
        let hash = hasher.hash(&password).await?;
        assert!(hash.as_str().starts_with("$2b$04$"));
        assert!(hasher.verify(&"p".repeat(72), &hash).await?);
        assert!(!hasher.verify(&"p".repeat(71), &hash).await?);
        // Truncation would make this match: it must not.
        assert!(
            !hasher
                .verify(&format!("{}x", "p".repeat(72)), &hash)
                .await?
        );
        // Every one of the 72 bytes counts.
        assert!(
            !hasher
                .verify(&format!("{}q", "p".repeat(71)), &hash)
                .await?
        );
        let short = hasher.hash(&Password::parse("securepass123")?).await?;
        assert!(hasher.verify("securepass123", &short).await?);
        assert!(!hasher.verify("securepass124", &short).await?);
        Ok(())
    }

    #[test]
    fn cost_out_of_range_is_refused() {
        assert!(matches!(
            BcryptHasher::new(3),
            Err(BcryptSetupError::Cost(3))
        ));
        assert!(matches!(
            BcryptHasher::new(32),
            Err(BcryptSetupError::Cost(32))
        ));
    }

    #[tokio::test]
    async fn hashes_of_another_cost_need_a_rehash() -> Result<(), Box<dyn std::error::Error>> {
        let at_4 = BcryptHasher::new(4)?;
        let at_5 = BcryptHasher::new(5)?;
        let hash = at_4.hash(&Password::parse("securepass123")?).await?;
        assert!(!at_4.needs_rehash(&hash));
        assert!(at_5.needs_rehash(&hash));
        let upgraded = at_5.hash(&Password::parse("securepass123")?).await?;
        assert!(upgraded.as_str().starts_with("$2b$05$"));
        assert!(!at_5.needs_rehash(&upgraded));
        assert!(at_5.needs_rehash(&PasswordHash::new(
            "$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234".into()
        )));
        for unreadable in ["not-a-hash", "", "$2b$", "$2b$xx$abc", "$argon2id$v=19$m=1"] {
            assert!(
                !at_5.needs_rehash(&PasswordHash::new(unreadable.into())),
                "{unreadable}"
            );
        }
        Ok(())
    }

    #[tokio::test]
    async fn unreadable_hash_is_a_fault() -> Result<(), Box<dyn std::error::Error>> {
        let hasher = BcryptHasher::new(4)?;
        let verdict = hasher
            .verify("whatever1", &PasswordHash::new("not-a-hash".into()))
            .await;
        assert!(matches!(verdict, Err(Fault::Internal(_))));
        Ok(())
    }
}
