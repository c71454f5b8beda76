//! Unit tests of login's defences in [`crate::service`]: throttling (through the
//! [`LoginThrottle`] port) and the upgrade of outdated password hashes.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::error::Fault;
use crate::ports::MockLoginThrottle;
use crate::ports::MockTokenService;
use crate::ports::{MockPasswordHasher, MockSessionRepository, MockUserRepository};
use crate::service::{AuthService, LoginError, LoginOutcome};
use crate::session::ClientInfo;
use crate::test_fixtures::{admitted, auth_service, clock_at};
use crate::throttle::{
    AddressKey, Admission, AdmittedAttempt, AttemptKeys, Settlement, Throttle, ThrottlePolicy,
};
use crate::user::{AccountKind, NewUser, User};
use crate::values::{Email, PasswordHash};

const EMAIL: &str = "john@example.com";
const PASSWORD: &str = "correct horse battery";
const OLD_HASH: &str = "$2b$04$old-hash";
const NEW_HASH: &str = "$2b$12$new-hash";
const DUMMY_HASH: &str = "$2b$12$dummy-hash";
const ADDRESS: &str = "192.0.2.1";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

fn email() -> Email {
    Email::parse(EMAIL).unwrap()
}

fn user() -> User {
    User::register(
        email(),
        NewUser::default(),
        PasswordHash::new(OLD_HASH.into()),
        AccountKind::Regular,
        now() - TimeDelta::days(10),
    )
}

fn client(address: Option<&str>) -> ClientInfo {
    ClientInfo {
        user_agent: None,
        address: address.map(str::to_owned),
    }
}

fn both_keys() -> AttemptKeys {
    AttemptKeys::new(
        Some(&email()),
        Some(AddressKey::of(ADDRESS.parse().unwrap())),
    )
}

struct Mocks {
    users: MockUserRepository,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
    hasher: MockPasswordHasher,
    throttle: Option<MockLoginThrottle>,
}

impl Mocks {
    fn new() -> Self {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_dummy_hash()
            .returning(|| PasswordHash::new(DUMMY_HASH.into()));
        Self {
            users: MockUserRepository::new(),
            sessions: MockSessionRepository::new(),
            tokens: MockTokenService::new(),
            hasher,
            throttle: None,
        }
    }

    /// Everything a successful login touches after the credentials are checked.
    fn accepting_session(mut self) -> Self {
        self.sessions.expect_start().times(1).returning(|_| Ok(()));
        self.tokens
            .expect_issue()
            .times(2)
            .returning(|claims| Ok(format!("{}-token", claims.kind.as_str())));
        self
    }

    fn finding_user(mut self, found: User) -> Self {
        self.users
            .expect_find_by_email()
            .times(1)
            .returning(move |_| Ok(Some(found.clone())));
        self
    }

    fn verifying(mut self, hash: &'static str, matches: bool) -> Self {
        self.hasher
            .expect_verify()
            .withf(move |_, h| h.as_str() == hash)
            .times(1)
            .returning(move |_, _| Ok(matches));
        self
    }

    /// A login of `found` with its right password, down to the session and its tokens.
    fn right_password_of(self, found: User) -> Self {
        self.finding_user(found)
            .verifying(OLD_HASH, true)
            .accepting_session()
    }

    /// `login` of [`EMAIL`] with [`PASSWORD`], from no known address.
    async fn log_in(self) -> Result<LoginOutcome, LoginError> {
        self.service().login(&email(), PASSWORD, client(None)).await
    }

    fn service(self) -> AuthService {
        let clock = clock_at(now());
        let service = auth_service(
            Arc::new(self.users),
            self.sessions,
            self.tokens,
            self.hasher,
            clock.clone(),
        );
        match self.throttle {
            Some(throttle) => service.with_login_throttle(Throttle::new(
                Arc::new(throttle),
                ThrottlePolicy::default(),
                clock,
            )),
            None => service,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Throttling
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_locked_key_refuses_without_reading_the_user_or_checking_the_password() {
    let mut mocks = Mocks::new();
    let mut throttle = MockLoginThrottle::new();
    throttle
        .expect_admit()
        .withf(|keys, at, _| *keys == both_keys() && *at == now())
        .times(1)
        .returning(|_, _, _| {
            Ok(Admission::Locked {
                until: now() + TimeDelta::milliseconds(59_001),
            })
        });
    throttle.expect_settle().never();
    mocks.throttle = Some(throttle);
    mocks.users.expect_find_by_email().never();
    mocks.sessions.expect_start().never();
    // The same bcrypt work as any other answer, against the dummy hash only: the right
    // password gets no further than a wrong one.
    let mocks = mocks.verifying(DUMMY_HASH, true);

    let refused = mocks
        .service()
        .login(&email(), PASSWORD, client(Some(ADDRESS)))
        .await;

    assert!(
        matches!(
            refused,
            Err(LoginError::TooManyAttempts {
                retry_after_secs: 60
            })
        ),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_admitted_wrong_password_stays_counted() {
    let mut mocks = Mocks::new().finding_user(user()).verifying(OLD_HASH, false);
    let mut throttle = MockLoginThrottle::new();
    throttle
        .expect_admit()
        .times(1)
        .returning(|keys, _, _| Ok(Admission::Admitted(admitted(keys))));
    throttle.expect_settle().never();
    mocks.throttle = Some(throttle);
    mocks.sessions.expect_start().never();

    let refused = mocks
        .service()
        .login(&email(), "wrong password", client(Some(ADDRESS)))
        .await;

    assert!(matches!(refused, Err(LoginError::InvalidCredentials)));
}

#[tokio::test]
async fn an_inactive_account_with_the_right_password_stays_counted() {
    let inactive = User {
        is_active: false,
        ..user()
    };
    let mut mocks = Mocks::new()
        .finding_user(inactive)
        .verifying(OLD_HASH, true);
    let mut throttle = MockLoginThrottle::new();
    throttle
        .expect_admit()
        .times(1)
        .returning(|keys, _, _| Ok(Admission::Admitted(admitted(keys))));
    throttle.expect_settle().never();
    mocks.throttle = Some(throttle);

    let refused = mocks
        .service()
        .login(&email(), PASSWORD, client(Some(ADDRESS)))
        .await;

    assert!(matches!(refused, Err(LoginError::InvalidCredentials)));
}

#[tokio::test]
async fn a_success_hands_the_admitted_attempt_back() {
    let mut mocks = Mocks::new().right_password_of(user());
    mocks.hasher.expect_needs_rehash().return_const(false);
    mocks.hasher.expect_hash().never();
    let settled: Arc<Mutex<Vec<AdmittedAttempt>>> = Arc::default();
    let mut throttle = MockLoginThrottle::new();
    throttle
        .expect_admit()
        .times(1)
        .returning(|keys, _, _| Ok(Admission::Admitted(admitted(keys))));
    {
        let settled = Arc::clone(&settled);
        throttle
            .expect_settle()
            .withf(|_, settlement, at| *settlement == Settlement::Succeeded && *at == now())
            .times(1)
            .returning(move |attempt, _, _| {
                settled.lock().unwrap().push(attempt.clone());
                Ok(())
            });
    }
    mocks.throttle = Some(throttle);

    mocks
        .service()
        .login(&email(), PASSWORD, client(Some(ADDRESS)))
        .await
        .unwrap();

    assert_eq!(*settled.lock().unwrap(), vec![admitted(&both_keys())]);
}

#[tokio::test]
async fn without_a_known_address_only_the_email_is_counted() {
    let mut mocks = Mocks::new().finding_user(user()).verifying(OLD_HASH, false);
    let mut throttle = MockLoginThrottle::new();
    throttle
        .expect_admit()
        .withf(|keys, _, _| *keys == AttemptKeys::new(Some(&email()), None))
        .times(1)
        .returning(|keys, _, _| Ok(Admission::Admitted(admitted(keys))));
    mocks.throttle = Some(throttle);

    let refused = mocks.service().login(&email(), "wrong", client(None)).await;
    assert!(matches!(refused, Err(LoginError::InvalidCredentials)));
}

#[tokio::test]
async fn a_throttle_fault_is_a_fault_and_checks_nothing() {
    let mut mocks = Mocks::new();
    let mut throttle = MockLoginThrottle::new();
    throttle
        .expect_admit()
        .times(1)
        .returning(|_, _, _| Err(Fault::unavailable("database is down")));
    mocks.throttle = Some(throttle);
    mocks.users.expect_find_by_email().never();
    mocks.hasher.expect_verify().never();

    let outcome = mocks
        .service()
        .login(&email(), PASSWORD, client(Some(ADDRESS)))
        .await;
    assert!(matches!(
        outcome,
        Err(LoginError::Fault(Fault::Unavailable(_)))
    ));
}

// ---------------------------------------------------------------------------------------------
// Hash upgrades
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_outdated_hash_is_replaced_after_a_successful_login() {
    let user = user();
    let mut mocks = Mocks::new().right_password_of(user.clone());
    mocks
        .hasher
        .expect_needs_rehash()
        .withf(|hash| hash.as_str() == OLD_HASH)
        .times(1)
        .return_const(true);
    mocks
        .hasher
        .expect_hash()
        .withf(|password| password.expose() == PASSWORD)
        .times(1)
        .returning(|_| Ok(PasswordHash::new(NEW_HASH.into())));
    let id = user.id;
    mocks
        .users
        .expect_upgrade_password_hash()
        .withf(move |asked, current, upgraded| {
            *asked == id && current.as_str() == OLD_HASH && upgraded.as_str() == NEW_HASH
        })
        .times(1)
        .returning(|_, _, _| Ok(true));

    let outcome = mocks.log_in().await;
    assert!(outcome.is_ok());
}

#[tokio::test]
async fn failing_to_store_the_upgraded_hash_does_not_fail_the_login() {
    let mut mocks = Mocks::new().right_password_of(user());
    mocks.hasher.expect_needs_rehash().return_const(true);
    mocks
        .hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(PasswordHash::new(NEW_HASH.into())));
    mocks
        .users
        .expect_upgrade_password_hash()
        .times(1)
        .returning(|_, _, _| Err(Fault::unavailable("database is down")));

    let outcome = mocks.log_in().await;
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn failing_to_hash_does_not_fail_the_login_either() {
    let mut mocks = Mocks::new().right_password_of(user());
    mocks.hasher.expect_needs_rehash().return_const(true);
    mocks
        .hasher
        .expect_hash()
        .times(1)
        .returning(|_| Err(Fault::internal("bcrypt failed")));
    mocks.users.expect_upgrade_password_hash().never();

    let outcome = mocks.log_in().await;
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn a_current_hash_is_left_alone_and_refused_logins_never_rehash() {
    let mut mocks = Mocks::new().right_password_of(user());
    mocks.hasher.expect_needs_rehash().return_const(false);
    mocks.hasher.expect_hash().never();
    mocks.users.expect_upgrade_password_hash().never();
    assert!(mocks.log_in().await.is_ok());

    let mut refused = Mocks::new().finding_user(user()).verifying(OLD_HASH, false);
    refused.hasher.expect_needs_rehash().never();
    refused.hasher.expect_hash().never();
    refused.users.expect_upgrade_password_hash().never();
    assert!(matches!(
        refused
            .service()
            .login(&email(), "wrong", client(None))
            .await,
        Err(LoginError::InvalidCredentials)
    ));
}
