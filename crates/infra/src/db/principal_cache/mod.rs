//! A per-instance cache of `find_with_user` answers (session id → session and user), kept
//! honest by a watcher of the database that drops the entries a write concerns.
//!
//! This module is the cache itself, whatever the database; [`postgres`] is its PostgreSQL
//! watcher (`LISTEN`/`NOTIFY`), [`sqlite`] its SQLite one (a poller of a change log).
//!
//! The cache answers only while its watcher demonstrably follows the database: each proof of
//! life ([`PrincipalCache::confirm`]) keeps the cache usable until [`FRESH_FOR`] after it was
//! sent. When the watcher cannot follow, the cache is emptied and bypassed (every lookup reads
//! the database) until it follows again — so no invalidation can be missed, and a database
//! outage answers exactly as without the cache.
//!
//! Race guard: a lookup that misses takes a [`Ticket`] (the generation) before it reads the
//! database; every invalidation bumps the generation, and the answer is stored only if the
//! generation is unchanged, so an answer read before a revocation never lands after it.

mod postgres;
mod sqlite;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use auth_domain::{Session, SessionId, User, UserId};
use uuid::Uuid;

pub(crate) use postgres::spawn_listener;
pub use postgres::LISTENER_APPLICATION_NAME;
pub(crate) use sqlite::spawn_poller;

/// How long after a proof of life was sent the cache may answer. A revocation committed while
/// the watcher was silently cut off is thus honoured after at most this long (well under 1 s).
const FRESH_FOR: Duration = Duration::from_millis(600);

type Principal = (Session, User);

/// What a lookup found.
// Returned by value and consumed at once; boxing the hit would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Lookup {
    Hit(Principal),
    /// Not cached: read the database, then [`PrincipalCache::store`] with the ticket.
    Miss(Ticket),
    /// The listener is not listening: read the database, store nothing.
    Bypass,
}

/// The generation at which a miss was seen.
pub(crate) struct Ticket(u64);

/// Counters and state, for tests and operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionCacheStats {
    pub entries: usize,
    pub hits: u64,
    pub misses: u64,
    /// Whether the listener is currently known to be listening (the cache answers).
    pub listening: bool,
}

pub(crate) struct PrincipalCache {
    state: Mutex<State>,
    capacity: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

struct State {
    /// Boxed: the table keeps room for more entries than it holds (a power of two, 16,384
    /// slots for the default 10,000), and a slot of the unboxed pair was 368 bytes.
    entries: HashMap<SessionId, Arc<Principal>>,
    /// Bumped by every invalidation, under the lock.
    generation: u64,
    /// The cache answers until then (set by the listener's heartbeats).
    fresh_until: Option<Instant>,
}

impl State {
    fn fresh(&self) -> bool {
        self.fresh_until.is_some_and(|until| Instant::now() < until)
    }
}

impl PrincipalCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                entries: HashMap::new(),
                generation: 0,
                fresh_until: None,
            }),
            capacity,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The lock guards plain data that no panic can leave half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn lookup(&self, id: SessionId) -> Lookup {
        let state = self.state();
        if !state.fresh() {
            return Lookup::Bypass;
        }
        match state.entries.get(&id) {
            Some(found) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                Lookup::Hit(Principal::clone(found))
            }
            None => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Lookup::Miss(Ticket(state.generation))
            }
        }
    }

    /// Keeps what the database answered, unless anything was invalidated since the ticket
    /// was taken. When full, the cache starts over empty.
    pub(crate) fn store(&self, ticket: Ticket, principal: &Principal) {
        let mut state = self.state();
        if state.generation != ticket.0 || !state.fresh() {
            return;
        }
        if state.entries.len() >= self.capacity {
            state.entries.clear();
        }
        state
            .entries
            .insert(principal.0.id, Arc::new(principal.clone()));
    }

    pub(crate) fn forget_session(&self, id: SessionId) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.remove(&id);
    }

    pub(crate) fn forget_user(&self, id: UserId) {
        let mut state = self.state();
        state.generation += 1;
        state
            .entries
            .retain(|_, found| found.0.user_id != id && found.1.id != id);
    }

    /// Empties the cache; it goes on answering (from the database, until it fills again).
    pub(crate) fn clear(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.clear();
    }

    /// Empties the cache and stops it answering until the listener's next heartbeat.
    pub(crate) fn suspend(&self) {
        let mut state = self.state();
        state.generation += 1;
        state.entries.clear();
        state.fresh_until = None;
    }

    /// A heartbeat sent at `sent` came back: the cache may answer until `sent + FRESH_FOR`.
    pub(super) fn confirm(&self, sent: Instant) {
        self.state().fresh_until = Some(sent + FRESH_FOR);
    }

    /// Applies one notification payload: a session id, or `u:` and a user id. Anything else
    /// empties the cache (better too much than too little).
    pub(super) fn invalidate(&self, payload: &str) {
        let parsed = match payload.strip_prefix("u:") {
            Some(user) => Uuid::parse_str(user).map(|id| self.forget_user(UserId(id))),
            None => Uuid::parse_str(payload).map(|id| self.forget_session(SessionId(id))),
        };
        if parsed.is_err() {
            self.suspend();
        }
    }

    pub(crate) fn stats(&self) -> SessionCacheStats {
        let state = self.state();
        SessionCacheStats {
            entries: state.entries.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            listening: state.fresh(),
        }
    }
}

/// After a follower (the listener, the poller) stopped: suspends the cache, which may have
/// missed changes meanwhile, and logs the first failure of a run of them. `false` when the
/// cache is gone, so the follower's thread ends.
fn suspend_after<T>(
    cache: &std::sync::Weak<PrincipalCache>,
    outcome: Result<T, String>,
    reported: &mut bool,
    bypassed_until: &str,
) -> bool {
    let Some(live) = cache.upgrade() else {
        return false;
    };
    live.suspend();
    drop(live);
    if let Err(error) = outcome {
        if !*reported {
            log::warn!("session cache bypassed until {bypassed_until}: {error}");
            *reported = true;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use auth_domain::{AccountKind, ClientInfo, Email, NewUser, PasswordHash};
    use chrono::{TimeDelta, Utc};

    fn principal() -> Principal {
        let now = Utc::now();
        let user = User::register(
            Email::parse("a@example.com").unwrap(),
            NewUser::default(),
            PasswordHash::new("$2b$04$x".into()),
            AccountKind::Regular,
            now,
        );
        let session = Session {
            amr: auth_domain::Amr::password(),
            id: SessionId::new(),
            user_id: user.id,
            refresh_jti: Uuid::new_v4(),
            created_at: now,
            last_used_at: now,
            expires_at: now + TimeDelta::days(1),
            revoked_at: None,
            client: ClientInfo::default(),
        };
        (session, user)
    }

    fn listening(capacity: usize) -> PrincipalCache {
        let cache = PrincipalCache::new(capacity);
        cache.confirm(Instant::now() + Duration::from_secs(60));
        cache
    }

    fn miss(cache: &PrincipalCache, id: SessionId) -> Ticket {
        match cache.lookup(id) {
            Lookup::Miss(ticket) => ticket,
            Lookup::Hit(_) => panic!("expected a miss, got a hit"),
            Lookup::Bypass => panic!("expected a miss, got a bypass"),
        }
    }

    fn is_hit(cache: &PrincipalCache, id: SessionId) -> bool {
        matches!(cache.lookup(id), Lookup::Hit(_))
    }

    #[test]
    fn miss_then_store_then_hit() {
        let cache = listening(10);
        let found = principal();
        let ticket = miss(&cache, found.0.id);
        cache.store(ticket, &found);
        assert!(is_hit(&cache, found.0.id));
        assert_eq!(cache.stats().hits, 1);
        assert_eq!(cache.stats().misses, 1);
    }

    #[test]
    fn an_invalidation_during_the_read_keeps_the_stale_answer_out() {
        let cache = listening(10);
        let found = principal();
        // The reader takes its ticket, then reads the database; meanwhile the session is
        // revoked and its notification arrives (any invalidation, even of another key).
        let ticket = miss(&cache, found.0.id);
        cache.invalidate(&found.0.id.to_string());
        cache.store(ticket, &found);
        assert!(!is_hit(&cache, found.0.id));

        let ticket = miss(&cache, found.0.id);
        cache.invalidate(&format!("u:{}", Uuid::new_v4()));
        cache.store(ticket, &found);
        assert!(!is_hit(&cache, found.0.id));
    }

    #[test]
    fn invalidation_by_session_and_by_user() {
        let cache = listening(10);
        let (a, b) = (principal(), principal());
        for found in [&a, &b] {
            let ticket = miss(&cache, found.0.id);
            cache.store(ticket, found);
        }
        cache.invalidate(&a.0.id.to_string());
        assert!(!is_hit(&cache, a.0.id));
        assert!(is_hit(&cache, b.0.id));
        cache.invalidate(&format!("u:{}", b.1.id));
        assert!(!is_hit(&cache, b.0.id));
        assert_eq!(cache.stats().entries, 0);
    }

    #[test]
    fn an_unreadable_payload_empties_the_cache() {
        let cache = listening(10);
        let found = principal();
        let ticket = miss(&cache, found.0.id);
        cache.store(ticket, &found);
        cache.invalidate("garbage");
        assert_eq!(cache.stats().entries, 0);
        assert!(matches!(cache.lookup(found.0.id), Lookup::Bypass));
    }

    #[test]
    fn without_a_listener_everything_is_bypassed() {
        let cache = PrincipalCache::new(10);
        assert!(matches!(cache.lookup(SessionId::new()), Lookup::Bypass));
        let cache = listening(10);
        let found = principal();
        let ticket = miss(&cache, found.0.id);
        cache.store(ticket, &found);
        // The listener loses its connection: emptied, and nothing is answered or stored.
        cache.suspend();
        assert!(matches!(cache.lookup(found.0.id), Lookup::Bypass));
        let generation = cache.state().generation;
        cache.store(Ticket(generation), &found);
        assert_eq!(cache.stats().entries, 0);
        // A heartbeat too old no longer counts.
        cache.confirm(Instant::now() - FRESH_FOR);
        assert!(matches!(cache.lookup(found.0.id), Lookup::Bypass));
        assert!(!cache.stats().listening);
    }

    #[test]
    fn a_full_cache_starts_over() {
        let cache = listening(2);
        let all: Vec<Principal> = (0..3).map(|_| principal()).collect();
        for found in &all {
            let ticket = miss(&cache, found.0.id);
            cache.store(ticket, found);
        }
        assert_eq!(cache.stats().entries, 1);
        assert!(is_hit(&cache, all[2].0.id));
    }
}
