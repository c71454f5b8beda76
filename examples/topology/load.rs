//! A steady mixed load over several instances — register, login, `GET /`, refresh, logout,
//! an administrator's deactivation — and the ledger of what was acknowledged, to check after
//! the failover that nothing acknowledged was lost.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub const PASSWORD: &str = "topology-test-password-7Q";

/// One answer, when it came and from where.
#[derive(Clone, Copy, Debug)]
pub struct Answer {
    /// Since the load started.
    pub at: Duration,
    pub status: u16,
    /// A write (register, login, refresh, logout, deactivation) that succeeded.
    pub write_ok: bool,
    /// How long it took to come back.
    pub took: Duration,
}

/// Tokens of one session.
#[derive(Clone, Debug)]
pub struct Pair {
    pub access: String,
    pub refresh: String,
}

#[derive(Default)]
pub struct Ledger {
    pub answers: Mutex<Vec<Answer>>,
    /// Emails whose registration was answered 201.
    pub registered: Mutex<Vec<String>>,
    /// Sessions whose logout was answered 204.
    pub logged_out: Mutex<Vec<Pair>>,
    /// Users whose deactivation was answered 200: their email and the session they had.
    pub deactivated: Mutex<Vec<(String, Pair)>>,
    /// Anything that must not happen (a 500, a malformed 503, a lost acknowledged write).
    pub failures: Mutex<Vec<String>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Ledger {
    pub fn fail(&self, message: String) {
        let mut failures = lock(&self.failures);
        if failures.len() < 50 {
            failures.push(message);
        }
    }

    pub fn answers(&self) -> Vec<Answer> {
        lock(&self.answers).clone()
    }

    pub fn registered(&self) -> Vec<String> {
        lock(&self.registered).clone()
    }

    pub fn logged_out(&self) -> Vec<Pair> {
        lock(&self.logged_out).clone()
    }

    pub fn deactivated(&self) -> Vec<(String, Pair)> {
        lock(&self.deactivated).clone()
    }

    pub fn failures(&self) -> Vec<String> {
        lock(&self.failures).clone()
    }
}

pub struct Load {
    pub ledger: Arc<Ledger>,
    pub started: Instant,
    stop: Arc<AtomicBool>,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

/// What one request came back with: its status and JSON body, or `None` when it failed to
/// come back at all (counted as a failure).
type Reply = Option<(u16, Value)>;

struct Worker {
    id: usize,
    bases: Vec<String>,
    client: reqwest::Client,
    admin: String,
    ledger: Arc<Ledger>,
    started: Instant,
    counter: Arc<AtomicU64>,
}

impl Worker {
    fn base(&self, step: usize) -> &str {
        &self.bases[(self.id + step) % self.bases.len()]
    }

    async fn call(
        &self,
        what: &str,
        request: reqwest::RequestBuilder,
        write: bool,
        expected: u16,
    ) -> Reply {
        let sent = Instant::now();
        let outcome = request.send().await;
        let at = self.started.elapsed();
        let took = sent.elapsed();
        let response = match outcome {
            Ok(response) => response,
            Err(error) => {
                self.ledger
                    .fail(format!("{what}: no answer at {at:?}: {error}"));
                return None;
            }
        };
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        lock(&self.ledger.answers).push(Answer {
            at,
            status,
            write_ok: write && status == expected,
            took,
        });
        if status == 503 && body["code"] != "service_unavailable" {
            self.ledger.fail(format!(
                "{what}: 503 without code service_unavailable: {body}"
            ));
        }
        if status >= 500 && status != 503 {
            self.ledger
                .fail(format!("{what}: {status} at {at:?}: {body}"));
        }
        Some((status, body))
    }

    /// Checks an answer: `Some(body)` when it is the expected one; a 503 ends the flow
    /// quietly (the database is switching); anything else is a failure.
    fn expect(&self, what: &str, reply: Reply, expected: u16) -> Option<Value> {
        let (status, body) = reply?;
        if status == expected {
            return Some(body);
        }
        if status != 503 && status < 500 {
            self.ledger.fail(format!(
                "{what}: expected {expected}, got {status} at {:?}: {body}",
                self.started.elapsed()
            ));
        }
        None
    }

    /// One user's life: register, login, `GET /`, refresh, `GET /`, then a logout or (one in
    /// four) a deactivation by the administrator. Requests alternate between instances.
    async fn flow(&self) -> Option<()> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let email = format!("load{}-{n}@example.com", self.id);
        let c = &self.client;
        let reply = self
            .call(
                "register",
                c.post(format!("{}/create", self.base(0)))
                    .json(&json!({"email": email, "password": PASSWORD})),
                true,
                201,
            )
            .await;
        let user = self.expect("register", reply, 201)?;
        lock(&self.ledger.registered).push(email.clone());
        let user_id = user["id"].as_str()?.to_owned();

        let reply = self
            .call(
                "login",
                c.post(format!("{}/login", self.base(1)))
                    .json(&json!({"email": email, "password": PASSWORD})),
                true,
                200,
            )
            .await;
        let tokens = self.expect("login", reply, 200)?;
        let pair = pair_of(&tokens)?;
        let reply = self
            .call(
                "GET /",
                c.get(format!("{}/", self.base(2)))
                    .bearer_auth(&pair.access),
                false,
                200,
            )
            .await;
        self.expect("GET / after login", reply, 200)?;
        let reply = self
            .call(
                "refresh",
                c.post(format!("{}/refresh-access", self.base(3)))
                    .json(&json!({"refresh_token": pair.refresh})),
                true,
                200,
            )
            .await;
        let tokens = self.expect("refresh", reply, 200)?;
        let pair = pair_of(&tokens)?;
        let reply = self
            .call(
                "GET /",
                c.get(format!("{}/", self.base(4)))
                    .bearer_auth(&pair.access),
                false,
                200,
            )
            .await;
        self.expect("GET / after refresh", reply, 200)?;
        if n % 4 == 3 {
            let reply = self
                .call(
                    "deactivate",
                    c.patch(format!("{}/users/{user_id}", self.base(5)))
                        .bearer_auth(&self.admin)
                        .json(&json!({"is_active": false})),
                    true,
                    200,
                )
                .await;
            self.expect("deactivate", reply, 200)?;
            lock(&self.ledger.deactivated).push((email, pair));
        } else {
            let reply = self
                .call(
                    "logout",
                    c.post(format!("{}/logout", self.base(5)))
                        .bearer_auth(&pair.access),
                    true,
                    204,
                )
                .await;
            let (status, _) = reply?;
            if status == 204 {
                lock(&self.ledger.logged_out).push(pair);
            } else if status != 503 {
                self.ledger.fail(format!("logout: {status}"));
            }
        }
        Some(())
    }
}

pub fn pair_of(tokens: &Value) -> Option<Pair> {
    Some(Pair {
        access: tokens["access_token"].as_str()?.to_owned(),
        refresh: tokens["refresh_token"].as_str()?.to_owned(),
    })
}

impl Load {
    /// Starts `workers` loops over `bases`, each pausing `pause` between flows.
    pub fn start(bases: &[String], admin: &str, workers: usize, pause: Duration) -> Self {
        let ledger = Arc::new(Ledger::default());
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let counter = Arc::new(AtomicU64::new(0));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_default();
        let workers = (0..workers)
            .map(|id| {
                let worker = Worker {
                    id,
                    bases: bases.to_vec(),
                    client: client.clone(),
                    admin: admin.to_owned(),
                    ledger: ledger.clone(),
                    started,
                    counter: counter.clone(),
                };
                let stop = stop.clone();
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        if worker.flow().await.is_none() {
                            // A 503 (or a failure, recorded): do not hammer a switching database.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                        tokio::time::sleep(pause).await;
                    }
                })
            })
            .collect();
        Self {
            ledger,
            started,
            stop,
            workers,
        }
    }

    pub async fn stop(self) -> Arc<Ledger> {
        self.stop.store(true, Ordering::Relaxed);
        for worker in self.workers {
            let _ = worker.await;
        }
        self.ledger
    }
}
