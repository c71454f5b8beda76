//! The three throttle keys against each other, end to end: the throttle stops guessing and
//! spraying, yet cannot be turned against the users who share an address or an account.

use futures_util::future::join_all;
use serde_json::json;

use crate::support::{assert_error, Db, TestApp};
use crate::throttling::{assert_throttled, login_from, BEHIND_PROXY};

const PASSWORD: &str = "correct-horse-battery";
const WRONG: &str = "not-the-password-1";

async fn register(app: &TestApp, email: &str) {
    let body = json!({ "email": email, "password": PASSWORD });
    assert_eq!(app.register(&body).await.status(), 201, "{email}");
}

/// A small deterministic generator (xorshift64*): the same "random" typos on every run.
struct Typos(u64);

impl Typos {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Wrong passwords typed before the right one: none for 86 in 100 logins, one for 10,
    /// two for 3, four (someone who forgot which password it was) for 1.
    fn before_success(&mut self) -> u32 {
        match self.next() % 100 {
            0..=85 => 0,
            86..=95 => 1,
            96..=98 => 2,
            _ => 4,
        }
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    logins: u32,
    failures: u32,
    throttled: u32,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, other: Self) {
        self.logins += other.logins;
        self.failures += other.failures;
        self.throttled += other.throttled;
    }
}

/// One person logging in from the shared address: `typos` wrong passwords, then the right one.
async fn person_logs_in(app: &TestApp, email: &str, typos: u32) -> Tally {
    let mut tally = Tally::default();
    for _ in 0..typos {
        match app.login(email, WRONG).await.status().as_u16() {
            401 => tally.failures += 1,
            429 => tally.throttled += 1,
            other => panic!("{email}: wrong password answered {other}"),
        }
    }
    match app.login(email, PASSWORD).await.status().as_u16() {
        200 => tally.logins += 1,
        429 => tally.throttled += 1,
        other => panic!("{email}: right password answered {other}"),
    }
    tally
}

/// A few hundred people behind one NAT (every request from 127.0.0.1, no proxy), typing
/// their passwords as people do, ten at a time, on two occasions: nobody is ever refused.
/// With the default limits: the first occasion's failures stay under key 3's budget, and on
/// the second every pair is known, so key 3 does not count them at all.
async fn a_few_hundred_people_behind_one_nat_never_lock_each_other_out(db: Db) {
    const USERS: usize = 300;
    let app = TestApp::spawn(db).await;
    let emails: Vec<String> = (0..USERS)
        .map(|n| format!("person{n}@office.example"))
        .collect();
    for chunk in emails.chunks(25) {
        join_all(chunk.iter().map(|email| register(&app, email))).await;
    }
    let mut typos = Typos(0x5eed_1234_abcd_0042);
    let mut total = Tally::default();
    for occasion in 1..=2 {
        let plan: Vec<(String, u32)> = emails
            .iter()
            .map(|email| (email.clone(), typos.before_success()))
            .collect();
        let mut round = Tally::default();
        for chunk in plan.chunks(10) {
            let tallies = join_all(
                chunk
                    .iter()
                    .map(|(email, typos)| person_logs_in(&app, email, *typos)),
            )
            .await;
            for tally in tallies {
                round += tally;
            }
        }
        eprintln!("NAT occasion {occasion}: {USERS} users, {round:?}");
        total += round;
    }
    eprintln!("NAT total: {USERS} users, {total:?}");
    assert_eq!(total.throttled, 0, "{total:?}");
    assert_eq!(total.logins as usize, 2 * USERS);
    assert!(total.failures > 50, "a realistic typo rate: {total:?}");
}

/// An attacker at address A locks account E there; E's owner, at address B (never used
/// before), logs in — and the attacker at A stays locked.
async fn an_attacker_locking_an_account_at_one_address_does_not_lock_its_owner_elsewhere(db: Db) {
    let app = TestApp::spawn_with(db, &[BEHIND_PROXY]).await;
    let victim = "victim@doe.com";
    register(&app, victim).await;
    let attacker = "203.0.113.10";
    for _ in 0..5 {
        let refused = login_from(&app, attacker, victim, WRONG).await;
        assert_error(refused, 401, "invalid_credentials").await;
    }
    assert_throttled(login_from(&app, attacker, victim, PASSWORD).await).await;
    let owner = login_from(&app, "198.51.100.20", victim, PASSWORD).await;
    assert_eq!(owner.status(), 200);
    assert_throttled(login_from(&app, attacker, victim, WRONG).await).await;
}

/// An attacker with their own account cannot wash the address key by logging in between
/// guesses (key 3 lowered to 10 per hour): the eleventh failure from the address is refused
/// although the attacker logged in successfully after every two.
async fn an_attackers_own_logins_do_not_wash_the_address_key(db: Db) {
    let app = TestApp::spawn_with(db, &[BEHIND_PROXY, ("LOGIN_ADDRESS_MAX_FAILURES", "10")]).await;
    let own = "mallory@evil.example";
    register(&app, own).await;
    let address = "203.0.113.66";
    for n in 0..10 {
        let guess = login_from(&app, address, &format!("target{n}@doe.com"), WRONG).await;
        assert_error(guess, 401, "invalid_credentials").await;
        if n % 2 == 1 {
            assert_eq!(login_from(&app, address, own, PASSWORD).await.status(), 200);
        }
    }
    let (retry_after, _) =
        assert_throttled(login_from(&app, address, "target10@doe.com", WRONG).await).await;
    assert!(
        (3_500..=3_600).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    // Their own account, a known pair there, still logs in.
    assert_eq!(login_from(&app, address, own, PASSWORD).await.status(), 200);
}

/// Password spraying from one address (default budget: 100 failures per hour) is stopped
/// there; other addresses are not, and an owner who logged in from that address before is not
/// either.
async fn spraying_from_one_address_is_stopped_at_the_address_budget(db: Db) {
    let app = TestApp::spawn_with(db, &[BEHIND_PROXY]).await;
    let sprayer = "203.0.113.50";
    let owner = "owner@doe.com";
    register(&app, owner).await;
    assert_eq!(
        login_from(&app, sprayer, owner, PASSWORD).await.status(),
        200
    );
    for n in 0..100 {
        let guess = login_from(&app, sprayer, &format!("user{n}@doe.com"), "Summer2026!").await;
        assert_eq!(guess.status(), 401, "guess {n}");
    }
    let (retry_after, _) =
        assert_throttled(login_from(&app, sprayer, "user100@doe.com", "Summer2026!").await).await;
    assert!(
        (3_500..=3_600).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    let elsewhere = login_from(&app, "198.51.100.1", "user100@doe.com", "Summer2026!").await;
    assert_error(elsewhere, 401, "invalid_credentials").await;
    assert_eq!(
        login_from(&app, sprayer, owner, PASSWORD).await.status(),
        200
    );
}

/// Guessing one account from 25 addresses (default account key: 20) is stopped by the account
/// key, the right password included; the owner at an address used before still logs in.
async fn guessing_one_account_from_many_addresses_is_stopped_by_the_account_key(db: Db) {
    let app = TestApp::spawn_with(db, &[BEHIND_PROXY]).await;
    let victim = "victim@doe.com";
    register(&app, victim).await;
    let home = "192.0.2.200";
    assert_eq!(login_from(&app, home, victim, PASSWORD).await.status(), 200);
    let mut statuses = Vec::new();
    for n in 1..=25 {
        let guess = login_from(&app, &format!("198.51.100.{n}"), victim, WRONG).await;
        statuses.push(guess.status().as_u16());
    }
    assert_eq!(statuses, [[401; 20].as_slice(), &[429; 5]].concat());
    assert_throttled(login_from(&app, "198.51.100.99", victim, PASSWORD).await).await;
    assert_eq!(login_from(&app, home, victim, PASSWORD).await.status(), 200);
}

crate::on_both_databases!(
    a_few_hundred_people_behind_one_nat_never_lock_each_other_out,
    an_attacker_locking_an_account_at_one_address_does_not_lock_its_owner_elsewhere,
    an_attackers_own_logins_do_not_wash_the_address_key,
    spraying_from_one_address_is_stopped_at_the_address_budget,
    guessing_one_account_from_many_addresses_is_stopped_by_the_account_key,
);
