//! Timing benchmark of `/login`'s refusals (`make bench-timing`; not a test).
//!
//! Starts the server in-process on SQLite and measures, round after round in rotating
//! order, the time to answer a login for an unknown email, a wrong password, an inactive
//! user and a locked key. The four medians must lie within 10% of each other, or an
//! attacker could tell the cases apart by the clock. Exits 1 when they do not.
//!
//! `BENCH_ROUNDS` (default 40) and `BCRYPT_COST` (default 12) tune it. Each request comes
//! from its own client address (a trusted-proxy `X-Forwarded-For` entry in the documentation
//! range; nothing is sent there), so only the account keys are throttled: every unknown,
//! wrong-password and inactive attempt is a first failure on a fresh account, and the
//! locked account was locked beforehand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use auth_server::{Application, Config};
use diesel::{Connection, RunQueryDsl, SqliteConnection};
use serde_json::json;

const PASSWORD: &str = "bench-password-4711";
const WRONG: &str = "bench-password-4712";
const KINDS: [&str; 4] = [
    "unknown email",
    "wrong password",
    "inactive user",
    "locked key",
];

fn env_number(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

struct Bench {
    client: reqwest::Client,
    base: String,
    requests: u32,
}

impl Bench {
    /// One login from a client address of its own; returns the status and the time to answer.
    async fn login(&mut self, email: &str, password: &str) -> (u16, Duration) {
        self.requests += 1;
        let client_address = format!("2001:db8:{:x}::1", self.requests);
        let started = Instant::now();
        let response = self
            .client
            .post(format!("{}/login", self.base))
            .header("X-Forwarded-For", client_address)
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        let _ = response.bytes().await;
        (status, started.elapsed())
    }

    async fn register(&self, email: &str) {
        let response = self
            .client
            .post(format!("{}/create", self.base))
            .json(&json!({ "email": email, "password": PASSWORD }))
            .send()
            .await
            .expect("request sent");
        assert_eq!(response.status(), 201, "registering {email}");
    }
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    let mid = samples.len() / 2;
    if samples.len().is_multiple_of(2) {
        (samples[mid - 1] + samples[mid]) / 2
    } else {
        samples[mid]
    }
}

#[tokio::main]
async fn main() {
    let rounds = env_number("BENCH_ROUNDS", 40).max(3);
    let cost = env_number("BCRYPT_COST", 12);
    let dir = std::env::temp_dir().join(format!("auth-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let db_path = dir.join("bench.db");
    let env: HashMap<&str, String> = HashMap::from([
        ("DATABASE_URL", format!("sqlite://{}", db_path.display())),
        ("HOST", "127.0.0.1".into()),
        ("PORT", "0".into()),
        (
            "JWT_SECRET",
            "bench-secret-0123456789-abcdefghijklmnop".into(),
        ),
        ("BCRYPT_COST", cost.to_string()),
        ("TRUSTED_PROXIES", "127.0.0.1".into()),
        // The locked key stays locked for the whole run.
        ("LOGIN_LOCKOUT", "1h".into()),
        ("LOGIN_LOCKOUT_MAX", "1h".into()),
    ]);
    let config = Config::from_lookup(|name| env.get(name).cloned()).expect("bench config");
    let app = Application::build(config).await.expect("server starts");
    let base = format!("http://{}", app.address());
    let handle = app.handle();
    tokio::spawn(app.run());
    let mut bench = Bench {
        client: reqwest::Client::new(),
        base,
        requests: 0,
    };

    println!("bench-timing: /login refusals, bcrypt cost {cost}, {rounds} rounds, SQLite");
    // One account of each kind per round, so that each attempt is a first failure: copies of
    // one registered user (one bcrypt run at set-up instead of one per account).
    bench.register("template@bench.example").await;
    {
        let mut conn = SqliteConnection::establish(&db_path.display().to_string()).unwrap();
        for round in 0..rounds + 2 {
            for (prefix, active) in [("active", true), ("inactive", false)] {
                diesel::sql_query(format!(
                    "INSERT INTO users (id, email, role, is_active, is_verified, is_staff, \
                     is_superuser, password_hash, date_joined) \
                     SELECT '{id}', '{prefix}{round}@bench.example', role, {active}, \
                     is_verified, is_staff, is_superuser, password_hash, date_joined \
                     FROM users WHERE email = 'template@bench.example'",
                    id = uuid::Uuid::now_v7(),
                    active = i32::from(active),
                ))
                .execute(&mut conn)
                .unwrap();
            }
        }
    }
    // Lock one account: five failures.
    for _ in 0..5 {
        assert_eq!(bench.login("locked@bench.example", WRONG).await.0, 401);
    }
    assert_eq!(bench.login("locked@bench.example", WRONG).await.0, 429);

    let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); KINDS.len()];
    // Two warm-up rounds, then the measured ones; the order rotates every round.
    for round in 0..rounds + 2 {
        for step in 0..KINDS.len() {
            let kind = (step + round as usize) % KINDS.len();
            let (status, elapsed) = match kind {
                0 => {
                    bench
                        .login(&format!("unknown{round}@bench.example"), PASSWORD)
                        .await
                }
                1 => {
                    bench
                        .login(&format!("active{round}@bench.example"), WRONG)
                        .await
                }
                2 => {
                    bench
                        .login(&format!("inactive{round}@bench.example"), PASSWORD)
                        .await
                }
                _ => bench.login("locked@bench.example", PASSWORD).await,
            };
            let expected = if kind == 3 { 429 } else { 401 };
            assert_eq!(status, expected, "{} in round {round}", KINDS[kind]);
            if round >= 2 {
                samples[kind].push(elapsed);
            }
        }
    }
    handle.stop(true).await;
    let _ = std::fs::remove_dir_all(&dir);

    let medians: Vec<Duration> = samples.iter_mut().map(|s| median(s)).collect();
    let smallest = medians.iter().min().copied().unwrap_or_default();
    let largest = medians.iter().max().copied().unwrap_or_default();
    for (kind, median) in KINDS.iter().zip(&medians) {
        println!(
            "  {kind:<15} median {:>9.2} ms   ratio {:.3}",
            median.as_secs_f64() * 1e3,
            median.as_secs_f64() / smallest.as_secs_f64()
        );
    }
    let spread = largest.as_secs_f64() / smallest.as_secs_f64();
    if spread <= 1.10 {
        println!("largest/smallest median = {spread:.3}: within 10%");
    } else {
        println!("largest/smallest median = {spread:.3}: NOT within 10%");
        std::process::exit(1);
    }
}
