//! The in-flight gate: how many attempts on one key this process lets reach the counters at
//! once.
//!
//! An attempt is counted as a failure before its secret is checked, so attempts in flight
//! count too: with a key's threshold of them pending, the next would find the key locked
//! although nobody failed — sixteen correct logins at once from one address would get 429s.
//! So each key admits at most `threshold - 1` attempts at a time; the others wait
//! (asynchronously) for one to finish, then are counted like any attempt. A burst of guesses
//! still gets exactly the threshold's checks (the waiting ones find the key locked), and
//! correct logins are only queued, never refused. The limit is per process: N instances let up
//! to N × (threshold - 1) attempts of one key be pending together.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[derive(Debug, Default)]
pub struct InFlight {
    gates: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// Held while an attempt is in flight; frees its places (and forgets idle keys) when dropped.
#[derive(Debug)]
pub struct InFlightPass {
    owner: Arc<InFlight>,
    keys: Vec<String>,
    permits: Vec<OwnedSemaphorePermit>,
}

impl InFlight {
    /// Waits for a place on every key, each `(key, places)` (taken in one fixed order, so two
    /// attempts sharing keys cannot each hold what the other waits for).
    pub async fn enter(self: &Arc<Self>, keys: &[(String, usize)]) -> InFlightPass {
        let mut keys: Vec<(String, usize)> = keys.to_vec();
        keys.sort();
        keys.dedup_by(|a, b| a.0 == b.0);
        let mut pass = InFlightPass {
            owner: Arc::clone(self),
            keys: Vec::with_capacity(keys.len()),
            permits: Vec::with_capacity(keys.len()),
        };
        for (name, places) in keys {
            let gate = {
                let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
                gates
                    .entry(name.clone())
                    .or_insert_with(|| Arc::new(Semaphore::new(places.max(1))))
                    .clone()
            };
            pass.keys.push(name);
            // The semaphore is never closed, so acquiring cannot fail; if it ever did, the
            // attempt would simply go on without waiting.
            if let Ok(permit) = gate.acquire_owned().await {
                pass.permits.push(permit);
            }
        }
        pass
    }

    /// Keys with a gate right now (idle ones are forgotten).
    pub fn tracked_keys(&self) -> usize {
        self.gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

impl Drop for InFlightPass {
    fn drop(&mut self) {
        self.permits.clear();
        let mut gates = self
            .owner
            .gates
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for key in &self.keys {
            // Only the map holds it: nobody is in flight or waiting on this key.
            if gates
                .get(key)
                .is_some_and(|gate| Arc::strong_count(gate) == 1)
            {
                gates.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;

    #[tokio::test]
    async fn at_most_the_places_of_a_key_are_in_flight() {
        let in_flight = Arc::new(InFlight::default());
        let keys = [("pair:a".to_owned(), 4), ("address:x".to_owned(), 4)];
        let mut passes = Vec::new();
        for _ in 0..4 {
            passes.push(in_flight.enter(&keys).await);
        }
        // A fifth attempt on the same address (another pair) waits…
        let fifth_keys = [("pair:b".to_owned(), 4), ("address:x".to_owned(), 4)];
        let mut fifth = Box::pin(in_flight.enter(&fifth_keys));
        let waker = std::task::Waker::noop();
        let mut context = std::task::Context::from_waker(waker);
        assert!(fifth.as_mut().poll(&mut context).is_pending());
        // …while another address is not held up.
        drop(in_flight.enter(&[("address:y".to_owned(), 4)]).await);
        // One finishes: the fifth goes in.
        passes.pop();
        assert!(fifth.as_mut().poll(&mut context).is_ready());
        drop(fifth);
        drop(passes);
        assert_eq!(in_flight.tracked_keys(), 0, "idle keys are forgotten");
    }
}
