//! `make topology-test`: auth-server in its production topology, on this machine.
//!
//! Builds a primary and a synchronous streaming standby from the machine's PostgreSQL
//! binaries and PgBouncer (transaction pooling) in front of them, in a temporary folder; runs
//! two auth-server instances through PgBouncer (their session-cache listeners on a direct
//! multi-host `DATABASE_LISTEN_URL`) under a steady mixed load, plus a third whose listener is
//! misconfigured to go through PgBouncer; checks that a logout on one instance is refused by
//! the others within 1 s; then kills the primary (`pg_ctl stop -m immediate`), promotes the
//! standby and re-points PgBouncer mid-load, and checks: no 500, every 503 a proper
//! `service_unavailable`, no acknowledged registration, logout or deactivation lost, the
//! listeners back. Prints the figures; exits non-zero on any failure; stops every process and
//! removes its folder (a panic included).
//!
//! Environment: `AUTH_SERVER_BIN` (default: the binary beside this example), `PG_BIN`,
//! `TOPOLOGY_WORKERS` (default 4), `TOPOLOGY_KEEP` (keep the folder and its logs).

mod cluster;
mod instance;
mod load;

use std::time::{Duration, Instant};

use serde_json::json;

use cluster::Cluster;
use instance::Instance;
use load::{pair_of, Answer, Load, Pair, PASSWORD};

const SECRET: &str = "topology-test-secret-0123456789abcdef";
/// 32 bytes, base64: the key of TOTP secrets, which PostgreSQL deployments must set.
const DATA_KEY: &str = "dG9wb2xvZ3ktdGVzdC1kYXRhLWtleS0wMTIzNDU2Nzg=";
const ROOT_EMAIL: &str = "root@example.com";
/// What the contract promises: a revocation is honoured by every instance within this.
const WITHIN: Duration = Duration::from_secs(1);

type Outcome<T> = Result<T, String>;

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Outcome<()> {
    if condition {
        Ok(())
    } else {
        Err(message())
    }
}

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let outcome = tokio::select! {
        outcome = run() => outcome,
        _ = tokio::signal::ctrl_c() => Err("interrupted".to_owned()),
    };
    match outcome {
        Ok(()) => println!("topology: PASS in {:.0} s", started.elapsed().as_secs_f64()),
        Err(message) => {
            eprintln!("topology: FAIL: {message}");
            std::process::exit(1);
        }
    }
}

fn server_env(cluster: &Cluster, listen_url: String) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", cluster.bouncer_url()),
        ("DATABASE_LISTEN_URL", listen_url),
        ("DATABASE_TIMEOUT", "2s".into()),
        ("DATABASE_POOL_SIZE", "8".into()),
        ("JWT_SECRET", SECRET.into()),
        ("DATA_ENCRYPTION_KEY", DATA_KEY.into()),
        ("BCRYPT_COST", "4".into()),
        // The final checks try to log in every deactivated user from this one address.
        ("LOGIN_MAX_FAILURES", "1000".into()),
        ("LOGIN_ADDRESS_MAX_FAILURES", "10000".into()),
        ("PRUNE_INTERVAL", "0".into()),
        ("WORKERS", "2".into()),
        ("MAIL_DIR", cluster.dir.join("mail").display().to_string()),
        ("RUST_LOG", "warn".into()),
        // Only to show what breaks behind PgBouncer when it is on.
        (
            "DATABASE_PREPARED_STATEMENTS",
            std::env::var("DATABASE_PREPARED_STATEMENTS").unwrap_or_else(|_| "off".into()),
        ),
    ]
}

async fn run() -> Outcome<()> {
    let t = Instant::now();
    let mut cluster = tokio::task::block_in_place(Cluster::start)?;
    println!(
        "topology: primary :{} → synchronous standby :{}, PgBouncer (transaction pooling) :{} \
         — built in {:.1} s",
        cluster.primary_port,
        cluster.standby_port,
        cluster.bouncer_port,
        t.elapsed().as_secs_f64()
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;

    // A and B: the pool through PgBouncer, the listener direct on whichever node is primary.
    // Started together: both migrate at once through PgBouncer (a transaction-scoped lock).
    let (a, b) = {
        let env = server_env(&cluster, cluster.nodes_url());
        let dir = cluster.dir.clone();
        let (env_b, dir_b) = (env.clone(), dir.clone());
        let a = tokio::task::spawn_blocking(move || Instance::start("a", &dir, &env));
        let b = tokio::task::spawn_blocking(move || Instance::start("b", &dir_b, &env_b));
        (
            a.await.map_err(|e| e.to_string())??,
            b.await.map_err(|e| e.to_string())??,
        )
    };
    // C: misconfigured, its listener through PgBouncer too — where LISTEN receives nothing.
    let c = Instance::start(
        "c",
        &cluster.dir,
        &server_env(&cluster, cluster.bouncer_url()),
    )?;
    for instance in [&a, &b, &c] {
        wait_ready(&client, instance).await?;
    }
    create_superuser(&cluster)?;
    let admin = login(&client, &a, ROOT_EMAIL, PASSWORD)
        .await?
        .ok_or("the administrator cannot log in")?;

    // The listeners: A's and B's prove themselves (their NOTIFY comes back), C's never does.
    for instance in [&a, &b] {
        until(Duration::from_secs(10), || async {
            instance.metric(&client, "session_cache_listening").await == Some(1.0)
        })
        .await
        .map_err(|_| {
            format!(
                "{}'s session cache does not listen: {}",
                instance.name,
                instance.log_tail()
            )
        })?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    ensure(
        c.metric(&client, "session_cache_listening").await == Some(0.0),
        || "C listens through PgBouncer and its cache claims to listen".to_owned(),
    )?;
    println!("topology: A and B listen (direct); C's LISTEN through PgBouncer is detected, its cache bypassed");

    let workers = std::env::var("TOPOLOGY_WORKERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(4);
    let bases = vec![a.base.clone(), b.base.clone()];
    let load = Load::start(&bases, &admin.access, workers, Duration::from_millis(10));
    tokio::time::sleep(Duration::from_secs(4)).await;

    // Revocation across instances, under load, through PgBouncer.
    let before = revocation(&client, &a, &[&b, &c]).await?;
    println!(
        "topology: logout on A refused by B (cached) after {} ms, by C (bypassed) after {} ms",
        before[0].as_millis(),
        before[1].as_millis()
    );

    // The failover. PgBouncer is re-pointed first, as a hasty failover hook would: until the
    // promotion, writes reach a standby that refuses them (read-only) — 503, never 500.
    let kill_at = load.started.elapsed();
    let killed = Instant::now();
    let watchers: Vec<_> = [&a, &b]
        .into_iter()
        .map(|instance| {
            let watch = watch_listener(client.clone(), instance.url("/metrics"), killed);
            (instance.name.clone(), tokio::spawn(watch))
        })
        .collect();
    tokio::task::block_in_place(|| cluster.kill_primary())?;
    tokio::task::block_in_place(|| cluster.repoint_bouncer())?;
    let repointed_early = killed.elapsed();
    // Longer than PgBouncer's server_login_retry (1 s): it does reach the standby.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tokio::task::block_in_place(|| cluster.promote_standby())?;
    let promoted = killed.elapsed();
    // From here on, every write can only have gone to the new primary.
    let repointed = promoted;
    println!(
        "topology: primary killed; PgBouncer re-pointed to the standby after {} ms, the \
         standby promoted after {} ms",
        repointed_early.as_millis(),
        promoted.as_millis()
    );
    // Their caches step aside at once (the listeners lost the primary), then the listeners
    // re-subscribe on the new primary (their multi-host URL finds it).
    let mut bypassed = Vec::new();
    let mut relisten = Vec::new();
    for (name, watcher) in watchers {
        let (gone, back) = watcher
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{name}: {e}"))?;
        bypassed.push(gone);
        relisten.push(back);
    }
    // Serve a while on the new primary.
    until(Duration::from_secs(60), || async {
        load.ledger
            .answers()
            .iter()
            .any(|answer| answer.write_ok && answer.at > kill_at + repointed)
    })
    .await
    .map_err(|_| "no successful write on the new primary within 60 s".to_owned())?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = revocation(&client, &a, &[&b, &c]).await?;
    let ledger = load.stop().await;

    // The figures.
    let answers = ledger.answers();
    let after_kill: Vec<&Answer> = answers.iter().filter(|x| x.at >= kill_at).collect();
    let unavailable: Vec<&Answer> = after_kill
        .iter()
        .copied()
        .filter(|x| x.status == 503)
        .collect();
    let window = match (unavailable.first(), unavailable.last()) {
        (Some(first), Some(last)) => format!(
            "from +{} ms to +{} ms after the kill",
            (first.at - kill_at).as_millis(),
            (last.at - kill_at).as_millis()
        ),
        _ => "none".to_owned(),
    };
    let first_write = after_kill
        .iter()
        .find(|x| x.write_ok && x.at > kill_at + repointed)
        .map(|x| (x.at - kill_at).as_millis());
    let total_503 = answers.iter().filter(|x| x.status == 503).count();
    println!(
        "topology: {} requests ({} before the kill); 503 during the switch: {} ({} in all), {window}; \
         first acknowledged write on the new primary +{} ms after the kill; caches bypassed \
         after {} ms (A) and {} ms (B), listeners back after {} ms (A) and {} ms (B); after the failover, logout on A refused by B after {} ms, \
         by C after {} ms",
        answers.len(),
        answers.len() - after_kill.len(),
        unavailable.len(),
        total_503,
        first_write.unwrap_or_default(),
        bypassed[0].as_millis(),
        bypassed[1].as_millis(),
        relisten[0].as_millis(),
        relisten[1].as_millis(),
        after[0].as_millis(),
        after[1].as_millis(),
    );
    let mut statuses = std::collections::BTreeMap::new();
    for answer in &answers {
        *statuses.entry(answer.status).or_insert(0usize) += 1;
    }
    // The slowest answer to a request sent during the switch (it waited in PgBouncer's queue).
    let switch_end = kill_at + repointed + Duration::from_secs(2);
    let slowest = |during: bool| {
        answers
            .iter()
            .filter(|x| (x.at >= kill_at && x.at.saturating_sub(x.took) < switch_end) == during)
            .map(|x| x.took.as_millis())
            .max()
            .unwrap_or_default()
    };
    println!(
        "topology: statuses {statuses:?}; slowest answer to a request sent during the switch \
         {} ms (otherwise {} ms)",
        slowest(true),
        slowest(false)
    );

    // Nothing acknowledged is lost.
    let failures = ledger.failures();
    ensure(failures.is_empty(), || {
        format!(
            "{} failure(s) under load:\n  {}",
            failures.len(),
            failures.join("\n  ")
        )
    })?;
    let registered = ledger.registered();
    let present = cluster.psql(
        cluster.standby_port,
        "auth",
        "SELECT email FROM users WHERE email LIKE 'load%'",
    )?;
    let present: std::collections::HashSet<&str> = present.lines().collect();
    let lost: Vec<&String> = registered
        .iter()
        .filter(|email| !present.contains(email.as_str()))
        .collect();
    ensure(lost.is_empty(), || {
        format!("{} acknowledged registration(s) lost: {lost:?}", lost.len())
    })?;
    let logged_out = ledger.logged_out();
    let deactivated = ledger.deactivated();
    for pair in logged_out
        .iter()
        .chain(deactivated.iter().map(|(_, pair)| pair))
    {
        for instance in [&a, &b] {
            refused(&client, instance, pair).await?;
        }
    }
    for (email, _) in &deactivated {
        ensure(login(&client, &b, email, PASSWORD).await?.is_none(), || {
            format!("{email} was deactivated (200) yet logs in")
        })?;
    }
    println!(
        "topology: after the failover: all {} acknowledged registrations present, tokens of all \
         {} acknowledged logouts and {} deactivations refused on A and B, no 500",
        registered.len(),
        logged_out.len(),
        deactivated.len()
    );
    ensure(first_write.is_some(), || {
        "no write after the failover".to_owned()
    })?;
    for (label, took) in [("before", &before), ("after", &after)] {
        ensure(took.iter().all(|d| *d <= WITHIN), || {
            format!("a revocation {label} the failover took longer than {WITHIN:?}: {took:?}")
        })?;
    }
    drop((a, b, c));
    drop(cluster);
    Ok(())
}

/// From `since`: how long until the instance's cache stops answering, and until it answers
/// again (`session_cache_listening` 0, then 1), sampled every 10 ms.
async fn watch_listener(
    client: reqwest::Client,
    metrics: String,
    since: Instant,
) -> Outcome<(Duration, Duration)> {
    let mut gone = None;
    loop {
        let text = match client.get(&metrics).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let listening = text
            .lines()
            .any(|line| line.trim() == "session_cache_listening 1");
        match (gone, listening) {
            (None, false) => gone = Some(since.elapsed()),
            (Some(gone), true) => return Ok((gone, since.elapsed())),
            _ => {}
        }
        if since.elapsed() > Duration::from_secs(60) {
            return Err(match gone {
                None => "the cache still answered 60 s after the kill".to_owned(),
                Some(_) => "the listener did not come back within 60 s".to_owned(),
            });
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn wait_ready(client: &reqwest::Client, instance: &Instance) -> Outcome<()> {
    until(Duration::from_secs(30), || async {
        client
            .get(instance.url("/ready"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await
    .map(|_| ())
    .map_err(|_| format!("{} is not ready: {}", instance.name, instance.log_tail()))
}

fn create_superuser(cluster: &Cluster) -> Outcome<()> {
    let output = std::process::Command::new(instance::server_binary())
        .args(["create-superuser", "--email", ROOT_EMAIL])
        .env_clear()
        .env("DATABASE_URL", cluster.bouncer_url())
        .env("JWT_SECRET", SECRET)
        .env("DATA_ENCRYPTION_KEY", DATA_KEY)
        .env("BCRYPT_COST", "4")
        .env("AUTH_SUPERUSER_PASSWORD", PASSWORD)
        .current_dir(&cluster.dir)
        .output()
        .map_err(|e| e.to_string())?;
    ensure(output.status.success(), || {
        format!(
            "create-superuser: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Polls `check` every 20 ms until it holds; `Err` after `limit`.
async fn until<F, Fut>(limit: Duration, mut check: F) -> Result<Duration, ()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        if start.elapsed() > limit {
            return Err(());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(start.elapsed())
}

async fn login(
    client: &reqwest::Client,
    instance: &Instance,
    email: &str,
    password: &str,
) -> Outcome<Option<Pair>> {
    let response = client
        .post(instance.url("/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        200 => Ok(pair_of(&response.json().await.map_err(|e| e.to_string())?)),
        401 => Ok(None),
        other => Err(format!("login of {email} on {}: {other}", instance.name)),
    }
}

async fn home(client: &reqwest::Client, instance: &Instance, access: &str) -> Outcome<u16> {
    client
        .get(instance.url("/"))
        .bearer_auth(access)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

/// Both tokens of `pair` are refused by `instance`.
async fn refused(client: &reqwest::Client, instance: &Instance, pair: &Pair) -> Outcome<()> {
    let status = home(client, instance, &pair.access).await?;
    ensure(status == 401, || {
        format!(
            "a revoked access token answered {status} on {}",
            instance.name
        )
    })?;
    let status = client
        .post(instance.url("/refresh-access"))
        .json(&json!({"refresh_token": pair.refresh}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .status()
        .as_u16();
    ensure(status == 401, || {
        format!(
            "a revoked refresh token answered {status} on {}",
            instance.name
        )
    })
}

/// A user logs in on `writer`; each of `others` answers `GET /` with the token (B's cache is
/// warm); the user logs out on `writer`; how long until each of `others` refuses the token.
async fn revocation(
    client: &reqwest::Client,
    writer: &Instance,
    others: &[&Instance],
) -> Outcome<Vec<Duration>> {
    let email = format!("revoked-{}@example.com", uuid::Uuid::new_v4().simple());
    let response = client
        .post(writer.url("/create"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    ensure(response.status() == 201, || {
        format!(
            "registration for the revocation check: {}",
            response.status()
        )
    })?;
    let pair = login(client, writer, &email, PASSWORD)
        .await?
        .ok_or("login for the revocation check")?;
    for other in others {
        let listening = other.metric(client, "session_cache_listening").await == Some(1.0);
        let hits = other.metric(client, "session_cache_hits_total").await;
        for _ in 0..5 {
            let status = home(client, other, &pair.access).await?;
            ensure(status == 200, || {
                format!("GET / on {}: {status}", other.name)
            })?;
        }
        // A listening instance answers from its cache: the revocation must reach the cache.
        if listening {
            let now = other.metric(client, "session_cache_hits_total").await;
            ensure(now > hits, || {
                format!("{}'s cache did not answer", other.name)
            })?;
        }
    }
    let status = client
        .post(writer.url("/logout"))
        .bearer_auth(&pair.access)
        .send()
        .await
        .map_err(|e| e.to_string())?
        .status();
    ensure(status == 204, || format!("logout: {status}"))?;
    let logged_out = Instant::now();
    let mut took = Vec::new();
    for other in others {
        loop {
            if home(client, other, &pair.access).await? == 401 {
                took.push(logged_out.elapsed());
                break;
            }
            if logged_out.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "{} still accepts a logged-out token after 10 s",
                    other.name
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(took)
}
