//! bcrypt, through its non-truncating API, on threads of its own at a lower priority.

use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use auth_domain::ports::PasswordHasher;
use auth_domain::{Fault, Password, PasswordHash};
use rand::distr::{Alphanumeric, SampleString};

/// The costs bcrypt accepts.
pub const COSTS: std::ops::RangeInclusive<u32> = 4..=31;

#[derive(Debug, thiserror::Error)]
pub enum BcryptSetupError {
    #[error("bcrypt cost must be between 4 and 31, got {0}")]
    Cost(u32),
    #[error("could not compute the reference hash: {0}")]
    Hash(#[from] bcrypt::BcryptError),
    #[error("could not start the bcrypt threads: {0}")]
    Threads(std::io::Error),
}

#[derive(Clone)]
pub struct BcryptHasher {
    cost: u32,
    dummy: PasswordHash,
    /// One thread per core, so at most one bcrypt run per core at a time: a login flood
    /// queues here instead of filling the blocking pool with CPU-bound threads that starve
    /// the database queries of every other request. Throughput is the same (bcrypt is
    /// CPU-bound). A request that goes away while its hash waits costs no hash.
    threads: Arc<BcryptThreads>,
}

/// How much lower than the server's other threads bcrypt's are scheduled: the lowest, 0 on the
/// crate's 0–99 scale, niceness 19 on Linux. When the cores are free a hash runs at full speed;
/// when other requests want them, they come first. Measured with `make bench`'s isolation run
/// on 2 cores (GET / p99 under a /login flood ÷ alone), run by run: niceness 9 gave 1.80,
/// 2.19 and 1.23, niceness 19 gave 1.09 and 0.91; the flood itself completed 12 logins in 10 s
/// instead of 18 while GET / kept both cores busy.
const BCRYPT_PRIORITY: u8 = 0;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// One thread per core, each taking the next hash from a queue; they end when the hasher
/// (every clone of it) is dropped.
struct BcryptThreads {
    jobs: mpsc::Sender<Job>,
}

impl BcryptThreads {
    fn start(count: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..count {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("bcrypt-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is held while waiting, and released before the hash runs.
                        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        let Ok(job) = next else { return };
                        // A panicking hash fails its own request (its answer channel is
                        // dropped), not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })?;
        }
        Ok(Self { jobs })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Fault> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                // Its request went away while the job waited: no hash for nobody.
                if !done.is_closed() {
                    let _ = done.send(work());
                }
            }))
            .map_err(|_| Fault::internal("the bcrypt threads have stopped"))?;
        answer.await.map_err(Fault::internal)
    }
}

fn lower_priority() {
    use thread_priority::{set_current_thread_priority, ThreadPriority, ThreadPriorityValue};
    let lowered = ThreadPriorityValue::try_from(BCRYPT_PRIORITY)
        .map_err(|e| format!("{e:?}"))
        .and_then(|value| {
            set_current_thread_priority(ThreadPriority::Crossplatform(value))
                .map_err(|e| format!("{e:?}"))
        });
    if let Err(error) = lowered {
        log::debug!("bcrypt thread keeps the default priority: {error}");
    }
}

impl BcryptHasher {
    /// Builds a hasher at `cost` and computes its reference hash (one bcrypt run: call it
    /// once at start-up, not per request).
    pub fn new(cost: u32) -> Result<Self, BcryptSetupError> {
        if !COSTS.contains(&cost) {
            return Err(BcryptSetupError::Cost(cost));
        }
        let unguessable = Alphanumeric.sample_string(&mut rand::rng(), 40);
        // At bcrypt's priority too: a one-shot command (`prune` from cron beside a running
        // server) then takes no core from the server's requests while it starts.
        let dummy = std::thread::scope(|scope| {
            std::thread::Builder::new()
                .name("bcrypt-reference".into())
                .spawn_scoped(scope, move || {
                    lower_priority();
                    bcrypt::non_truncating_hash(unguessable, cost)
                })
                .map_err(BcryptSetupError::Threads)?
                .join()
                .map_err(|_| {
                    BcryptSetupError::Threads(std::io::Error::other("the reference hash panicked"))
                })?
                .map_err(BcryptSetupError::from)
        })?;
        let dummy = PasswordHash::new(dummy);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Ok(Self {
            cost,
            dummy,
            threads: Arc::new(BcryptThreads::start(cores).map_err(BcryptSetupError::Threads)?),
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

impl BcryptHasher {
    /// Runs `work` on a bcrypt thread, after the hashes queued before it.
    async fn on_bcrypt_thread<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> Result<T, Fault> {
        self.threads.run(work).await?.map_err(Fault::internal)
    }
}

#[async_trait]
impl PasswordHasher for BcryptHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, Fault> {
        let password = password.expose().to_owned();
        let cost = self.cost;
        self.on_bcrypt_thread(move || hash_whole(password.as_bytes(), cost))
            .await
            .map(PasswordHash::new)
    }

    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> Result<bool, Fault> {
        let candidate = candidate.as_bytes().to_vec();
        // No password (an account of an external identity): the same work, and no match.
        let no_password = hash.as_str().is_empty();
        let hash = if no_password { &self.dummy } else { hash };
        let hash = hash.as_str().to_owned();
        let matched = self
            .on_bcrypt_thread(move || verify_whole(&candidate, &hash))
            .await?;
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

    /// The niceness of the thread that runs this, from `/proc` (field 19 of `stat`).
    #[cfg(target_os = "linux")]
    fn own_niceness() -> i64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
        // The command name (field 2) is in parentheses and may hold spaces.
        let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        after_name
            .split_whitespace()
            .nth(16)
            .and_then(|nice| nice.parse().ok())
            .unwrap_or(i64::MIN)
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn bcrypt_runs_on_its_own_threads_at_a_lower_priority(
    ) -> Result<(), Box<dyn std::error::Error>> {
        let hasher = BcryptHasher::new(4)?;
        let here = own_niceness();
        let (nice, name) = hasher
            .on_bcrypt_thread(|| {
                Ok((
                    own_niceness(),
                    std::thread::current().name().map(str::to_owned),
                ))
            })
            .await?;
        assert!(name.is_some_and(|name| name.starts_with("bcrypt-")));
        assert_eq!(nice, 19, "bcrypt at the lowest niceness");
        assert!(nice > here, "the caller at {here}, bcrypt at {nice}");
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
