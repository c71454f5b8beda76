//! Login throttling end to end: the lock and its answer, the in-flight queue, trusted
//! proxies, server instances. (The three keys against each other: `throttle_keys`.)

use std::time::Duration;

use actix_web::dev::ServerHandle;
use reqwest::Response;
use serde_json::{json, Value};

use crate::support::{assert_error, seed_user, Db, TestApp};

const EMAIL: &str = "john@doe.com";
const PASSWORD: &str = "johnspassword1234@!";
const WRONG: &str = "not-the-password-1";

/// A login sent through the test's own address as if a trusted proxy forwarded it for
/// `client`.
pub async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> Response {
    app.client
        .post(app.url("/login"))
        .header("X-Forwarded-For", client)
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("request sent")
}

async fn login_at(base: &str, email: &str, password: &str) -> Response {
    reqwest::Client::new()
        .post(format!("{base}/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .expect("request sent")
}

/// Asserts a 429 `too_many_attempts` and returns its `Retry-After` and body.
pub async fn assert_throttled(response: Response) -> (u64, Value) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .expect("Retry-After on a 429")
        .to_str()
        .unwrap()
        .parse::<u64>()
        .expect("Retry-After in whole seconds");
    let body = assert_error(response, 429, "too_many_attempts").await;
    (retry_after, body)
}

/// Trusts the test's own address as a proxy, so each attempt can come from its own client
/// address and only the account key is exercised.
pub const BEHIND_PROXY: (&str, &str) = ("TRUSTED_PROXIES", "127.0.0.1, ::1");

async fn five_wrong_passwords_lock_the_pair_even_for_the_right_one(db: Db) {
    let app = TestApp::spawn_with(db, &[BEHIND_PROXY]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    for _ in 1..=5 {
        let refused = login_from(&app, "203.0.113.1", EMAIL, WRONG).await;
        assert_error(refused, 401, "invalid_credentials").await;
    }
    // From that address, with the right password: locked, and the password was not even
    // looked at.
    let (retry_after, body) =
        assert_throttled(login_from(&app, "203.0.113.1", EMAIL, PASSWORD).await).await;
    assert!((1..=60).contains(&retry_after), "Retry-After {retry_after}");
    assert!(body.get("access_token").is_none());
    // Other accounts at that address are not affected.
    let other = json!({ "email": "jane@doe.com", "password": "securepass123" });
    assert_eq!(app.register(&other).await.status(), 201);
    let fine = login_from(&app, "203.0.113.1", "jane@doe.com", "securepass123").await;
    assert_eq!(fine.status(), 200);
}

async fn an_unknown_email_is_locked_exactly_like_a_known_one(db: Db) {
    let app = TestApp::spawn_with(db, &[BEHIND_PROXY]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    for _ in 1..=5 {
        let known = login_from(&app, "198.51.100.1", EMAIL, WRONG).await;
        assert_error(known, 401, "invalid_credentials").await;
        let unknown = login_from(&app, "192.0.2.1", "nobody@doe.com", WRONG).await;
        assert_error(unknown, 401, "invalid_credentials").await;
    }
    let known = login_from(&app, "198.51.100.1", EMAIL, PASSWORD).await;
    let unknown = login_from(&app, "192.0.2.1", "nobody@doe.com", PASSWORD).await;
    let known_headers = header_names(&known);
    let unknown_headers = header_names(&unknown);
    let (known_retry, known_body) = assert_throttled(known).await;
    let (unknown_retry, unknown_body) = assert_throttled(unknown).await;
    assert_eq!(known_body, unknown_body);
    assert_eq!(known_headers, unknown_headers);
    assert!(known_retry.abs_diff(unknown_retry) <= 1);
}

fn header_names(response: &Response) -> Vec<String> {
    let mut names: Vec<String> = response
        .headers()
        .keys()
        .filter(|name| *name != "date")
        .map(|name| name.as_str().to_owned())
        .collect();
    names.sort();
    names
}

/// Key 2 (lowered to 5 here) counts consecutive failures from any address; a success resets
/// it.
async fn a_success_resets_the_account(db: Db) {
    let app = TestApp::spawn_with(db, &[BEHIND_PROXY, ("LOGIN_ACCOUNT_MAX_FAILURES", "5")]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    let mut n = 0;
    let mut next_client = || {
        n += 1;
        format!("203.0.113.{n}")
    };
    for _ in 0..4 {
        assert_eq!(
            login_from(&app, &next_client(), EMAIL, WRONG)
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        login_from(&app, &next_client(), EMAIL, PASSWORD)
            .await
            .status(),
        200
    );
    // Four more failures are four, not eight.
    for _ in 0..4 {
        assert_eq!(
            login_from(&app, &next_client(), EMAIL, WRONG)
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        login_from(&app, &next_client(), EMAIL, PASSWORD)
            .await
            .status(),
        200
    );
    // And the lock still comes after five.
    for _ in 0..5 {
        assert_eq!(
            login_from(&app, &next_client(), EMAIL, WRONG)
                .await
                .status(),
            401
        );
    }
    assert_throttled(login_from(&app, &next_client(), EMAIL, PASSWORD).await).await;
}

async fn the_lock_expires(db: Db) {
    let app = TestApp::spawn_with(db, &[("LOGIN_LOCKOUT", "1s")]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    for _ in 0..5 {
        assert_eq!(app.login(EMAIL, WRONG).await.status(), 401);
    }
    let (retry_after, _) = assert_throttled(app.login(EMAIL, PASSWORD).await).await;
    assert_eq!(retry_after, 1);
    // Waiting for the lock to end (a state, not a timing to measure).
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(app.login(EMAIL, PASSWORD).await.status(), 200);
}

async fn a_client_address_is_locked_across_emails_and_cannot_spoof_its_way_out(db: Db) {
    // No trusted proxy: X-Forwarded-For is the client's own invention and is ignored. Key 3
    // lowered to 5 per hour.
    let app = TestApp::spawn_with(db, &[ADDRESS_BUDGET_OF_FIVE]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    for n in 1..=5 {
        let email = format!("guess{n}@doe.com");
        let refused = login_from(&app, &format!("203.0.113.{n}"), &email, WRONG).await;
        assert_error(refused, 401, "invalid_credentials").await;
    }
    // A sixth email, right password, yet another made-up forwarded address: the address
    // (the real peer) is locked.
    let (retry_after, _) =
        assert_throttled(login_from(&app, "198.51.100.77", EMAIL, PASSWORD).await).await;
    // Until the window has room again: the oldest failure leaves it an hour after it came.
    assert!(
        (3_500..=3_600).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    assert_throttled(app.login(EMAIL, PASSWORD).await).await;
}

const ADDRESS_BUDGET_OF_FIVE: (&str, &str) = ("LOGIN_ADDRESS_MAX_FAILURES", "5");

async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_counter(db: Db) {
    let app = TestApp::spawn_with(db, &[BEHIND_PROXY, ADDRESS_BUDGET_OF_FIVE]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    for n in 1..=5 {
        let email = format!("guess{n}@doe.com");
        // What the proxy forwards: whatever the client claimed, then the client's address.
        let chain = format!("10.{n}.{n}.{n}, 203.0.113.66");
        assert_eq!(login_from(&app, &chain, &email, WRONG).await.status(), 401);
    }
    assert_throttled(login_from(&app, "203.0.113.66", EMAIL, PASSWORD).await).await;
    // The client's made-up left-hand entries did not matter; another client is fine.
    assert_eq!(
        login_from(&app, "203.0.113.67", EMAIL, PASSWORD)
            .await
            .status(),
        200
    );
}

/// A second server on the same database, stopped by the returned handle.
async fn second_instance(app: &TestApp, overrides: &[(&str, &str)]) -> (String, ServerHandle) {
    let second = TestApp::build(app.db.raw_url(), overrides).await;
    let address = format!("http://{}", second.address());
    let handle = second.handle();
    tokio::spawn(second.run());
    (address, handle)
}

async fn two_server_instances_share_the_lock(db: Db) {
    let app = TestApp::spawn(db).await;
    let (second, handle) = second_instance(&app, &[]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    for _ in 0..3 {
        assert_eq!(app.login(EMAIL, WRONG).await.status(), 401);
    }
    for _ in 0..2 {
        assert_eq!(login_at(&second, EMAIL, WRONG).await.status(), 401);
    }
    assert_throttled(app.login(EMAIL, PASSWORD).await).await;
    assert_throttled(login_at(&second, EMAIL, PASSWORD).await).await;
    handle.stop(false).await;
}

/// Attempts in flight are counted before their password is checked; without the in-flight
/// gate, the sixth of sixteen simultaneous correct logins would find the key locked.
async fn concurrent_correct_logins_are_queued_not_refused(db: Db) {
    let app = TestApp::spawn(db).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    let logins = (0..16).map(|_| login_at(&app.address, EMAIL, PASSWORD));
    let statuses: Vec<u16> = futures_util::future::join_all(logins)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert_eq!(statuses, [200; 16]);
}

/// Queued attempts are still counted: a burst of simultaneous guesses gets exactly
/// LOGIN_MAX_FAILURES password checks, the rest find the key locked.
async fn a_burst_of_guesses_gets_exactly_max_failures_checks(db: Db) {
    let app = TestApp::spawn(db).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    let guesses = (0..12).map(|_| login_at(&app.address, EMAIL, WRONG));
    let mut statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [[401; 5].as_slice(), &[429; 7]].concat());
}

crate::on_both_databases!(
    concurrent_correct_logins_are_queued_not_refused,
    a_burst_of_guesses_gets_exactly_max_failures_checks,
    five_wrong_passwords_lock_the_pair_even_for_the_right_one,
    an_unknown_email_is_locked_exactly_like_a_known_one,
    a_success_resets_the_account,
    the_lock_expires,
    a_client_address_is_locked_across_emails_and_cannot_spoof_its_way_out,
    behind_a_trusted_proxy_each_forwarded_client_has_its_own_counter,
    two_server_instances_share_the_lock,
);
