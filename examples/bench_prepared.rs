//! `make bench-prepared`: what running without named prepared statements costs (the default,
//! required behind a transaction-pooling PgBouncer) against `DATABASE_PREPARED_STATEMENTS=on`,
//! measured in one run on one PostgreSQL database (`TEST_DATABASE_URL`), the session cache off
//! so that every request queries. Two servers, one per setting; rounds alternate between
//! them so that the machine's load weighs on both alike. Not a test: it prints figures.
//!
//! `AUTH_SERVER_BIN` picks the binary (a release build for figures worth quoting);
//! `BENCH_SECONDS` (per round, default 4), `BENCH_ROUNDS` (default 3), `BENCH_CONCURRENCY`
//! (default 16).

#[path = "topology/instance.rs"]
#[allow(dead_code)] // shared with the topology test, which uses all of it
mod instance;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_infra::testing::TestDatabase;
use instance::Instance;
use serde_json::{json, Value};

const PASSWORD: &str = "bench-prepared-password-7Q";

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy)]
enum Route {
    Home,
    Refresh,
}

/// Requests per second of `route` on `server` with `concurrency` clients for `seconds`.
async fn measure(
    client: &reqwest::Client,
    server: &Instance,
    tokens: &[(String, String)],
    route: Route,
    concurrency: usize,
    seconds: u64,
) -> (f64, u64) {
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let (client, done, errors) = (client.clone(), done.clone(), errors.clone());
            let base = server.base.clone();
            let (mut access, mut refresh) = tokens[task % tokens.len()].clone();
            tokio::spawn(async move {
                while Instant::now() < until {
                    let ok = match route {
                        Route::Home => client
                            .get(format!("{base}/"))
                            .bearer_auth(&access)
                            .send()
                            .await
                            .is_ok_and(|r| r.status() == 200),
                        Route::Refresh => {
                            let reply = client
                                .post(format!("{base}/refresh-access"))
                                .json(&json!({"refresh_token": refresh}))
                                .send()
                                .await;
                            match reply {
                                Ok(r) if r.status() == 200 => {
                                    let body: Value = r.json().await.unwrap_or(Value::Null);
                                    if let (Some(a), Some(f)) = (
                                        body["access_token"].as_str(),
                                        body["refresh_token"].as_str(),
                                    ) {
                                        (access, refresh) = (a.to_owned(), f.to_owned());
                                        true
                                    } else {
                                        false
                                    }
                                }
                                _ => false,
                            }
                        }
                    };
                    if ok {
                        done.fetch_add(1, Ordering::Relaxed);
                    } else {
                        errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        let _ = task.await;
    }
    let count = done.load(Ordering::Relaxed);
    (
        count as f64 / started.elapsed().as_secs_f64(),
        errors.load(Ordering::Relaxed),
    )
}

async fn sessions(
    client: &reqwest::Client,
    server: &Instance,
    count: usize,
) -> Result<Vec<(String, String)>, String> {
    let mut tokens = Vec::new();
    for n in 0..count {
        let email = format!("bench{n}-{}@example.com", uuid::Uuid::new_v4().simple());
        let body = json!({"email": email, "password": PASSWORD});
        let created = client
            .post(server.url("/create"))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if created.status() != 201 {
            return Err(format!("register: {}", created.status()));
        }
        let pair: Value = client
            .post(server.url("/login"))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match (
            pair["access_token"].as_str(),
            pair["refresh_token"].as_str(),
        ) {
            (Some(a), Some(r)) => tokens.push((a.to_owned(), r.to_owned())),
            _ => return Err(format!("login: {pair}")),
        }
    }
    Ok(tokens)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let seconds = setting("BENCH_SECONDS", 4);
    let rounds = setting("BENCH_ROUNDS", 3);
    let concurrency = setting("BENCH_CONCURRENCY", 16) as usize;
    let db = TestDatabase::postgres();
    let dir = std::env::temp_dir().join(format!("bench-prepared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let env = |prepared: &str| {
        vec![
            ("DATABASE_URL", db.raw_url().to_owned()),
            ("DATABASE_PREPARED_STATEMENTS", prepared.to_owned()),
            ("SESSION_CACHE_SIZE", "0".to_owned()),
            (
                "JWT_SECRET",
                "bench-prepared-secret-0123456789abcdef".to_owned(),
            ),
            (
                "DATA_ENCRYPTION_KEY",
                "YmVuY2gtcHJlcGFyZWQtZGF0YS1rZXktMDEyMzQ1Njc=".to_owned(),
            ),
            ("BCRYPT_COST", "4".to_owned()),
            ("LOGIN_MAX_FAILURES", "1000".to_owned()),
            ("LOGIN_ADDRESS_MAX_FAILURES", "10000".to_owned()),
            ("PRUNE_INTERVAL", "0".to_owned()),
            ("RUST_LOG", "warn".to_owned()),
        ]
    };
    let outcome = async {
        let off = Instance::start("off", &dir, &env("off"))?;
        let on = Instance::start("on", &dir, &env("on"))?;
        let client = reqwest::Client::new();
        let tokens = sessions(&client, &off, concurrency).await?;
        let mut totals = [[0.0f64; 2]; 2];
        for round in 0..rounds {
            for (r, route) in [Route::Home, Route::Refresh].into_iter().enumerate() {
                // Refresh tokens are single-use: each server gets its own sessions.
                for (s, server) in [&off, &on].into_iter().enumerate() {
                    let tokens = match route {
                        Route::Home => tokens.clone(),
                        Route::Refresh => sessions(&client, server, concurrency).await?,
                    };
                    let (rps, errors) =
                        measure(&client, server, &tokens, route, concurrency, seconds).await;
                    if errors > 0 {
                        return Err(format!("{} answered {errors} error(s)", server.name));
                    }
                    let name = ["get_home", "refresh"][r];
                    println!(
                        "bench-prepared round={round} route={name} prepared={} rps={rps:.0}",
                        server.name
                    );
                    totals[r][s] += rps;
                }
            }
        }
        for (r, name) in ["get_home", "refresh"].into_iter().enumerate() {
            let (off, on) = (totals[r][0] / rounds as f64, totals[r][1] / rounds as f64);
            println!(
                "bench-prepared route={name} without={off:.0} with={on:.0} req/s: \
                 without/with = {:.3}",
                off / on
            );
        }
        Ok::<(), String>(())
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}
