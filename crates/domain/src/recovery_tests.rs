//! Unit tests of [`crate::recovery::RecoveryService`] against the mockall mocks of its ports.
//!
//! Every mock starts strict: a method without an expectation panics when called, so each test
//! sets up only what its use case may touch.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use crate::error::Fault;
use crate::mail::{MailError, MailIntent, MailMessage, QueuedMail};
use crate::one_time::{
    password_fingerprint, OneTimeSecret, OneTimeToken, OneTimeTokenKind, TokenDigest,
};
use crate::ports::{MockMailOutbox, MockMailer};
use crate::ports::{MockOneTimeTokenRepository, MockSecretGenerator};
use crate::ports::{MockPasswordHasher, MockUserRepository};
use crate::recovery::{
    DeliveryOutcome, RecoveryPolicy, RecoveryPorts, RecoveryService, ResetPasswordError,
    VerificationRequest, VerifyEmailError,
};
use crate::test_fixtures::{clock_at, recorded};
use crate::user::{AccountKind, NewUser, User};
use crate::values::{Email, Password, PasswordHash};

const EMAIL: &str = "ann@example.com";
const OLD_HASH: &str = "$2b$04$old-hash";
const NEW_HASH: &str = "$2b$04$new-hash";
const SECRET: &str = "fixed-secret-from-the-generator";
const NEW_PASSWORD: &str = "a brand new password";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

fn email() -> Email {
    Email::parse(EMAIL).unwrap()
}

fn policy() -> RecoveryPolicy {
    RecoveryPolicy {
        public_url: "https://app.example.com".into(),
        ..RecoveryPolicy::default()
    }
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

fn digest() -> TokenDigest {
    TokenDigest::of(SECRET)
}

/// A live token of `kind` for `user`, issued a minute ago.
fn token_for(user: &User, kind: OneTimeTokenKind) -> OneTimeToken {
    OneTimeToken {
        digest: digest(),
        kind,
        user_id: user.id,
        email: user.email.clone(),
        password_fingerprint: (kind == OneTimeTokenKind::PasswordReset)
            .then(|| password_fingerprint(&user.password_hash)),
        created_at: now() - TimeDelta::minutes(1),
        expires_at: now() + TimeDelta::minutes(59),
        used_at: None,
    }
}

/// Every port as a strict mock; tests add the expectations they allow.
struct Mocks {
    users: MockUserRepository,
    tokens: MockOneTimeTokenRepository,
    outbox: MockMailOutbox,
    mailer: MockMailer,
    secrets: MockSecretGenerator,
    hasher: MockPasswordHasher,
}

impl Mocks {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            tokens: MockOneTimeTokenRepository::new(),
            outbox: MockMailOutbox::new(),
            mailer: MockMailer::new(),
            secrets: MockSecretGenerator::new(),
            hasher: MockPasswordHasher::new(),
        }
    }

    fn service(self) -> RecoveryService {
        RecoveryService::new(
            RecoveryPorts {
                users: Arc::new(self.users),
                tokens: Arc::new(self.tokens),
                outbox: Arc::new(self.outbox),
                mailer: Arc::new(self.mailer),
                secrets: Arc::new(self.secrets),
                hasher: Arc::new(self.hasher),
                clock: clock_at(now()),
            },
            policy(),
        )
    }

    /// `find` of the fixed digest answers `found`.
    fn token_found(&mut self, found: Option<OneTimeToken>) {
        self.tokens
            .expect_find_token()
            .withf(|d| *d == digest())
            .times(1)
            .return_once(move |_| Ok(found));
    }

    fn user_by_id(&mut self, found: Option<User>) {
        self.users
            .expect_find_by_id()
            .times(1)
            .return_once(move |_| Ok(found));
    }

    /// Nothing may be redeemed, hashed or mailed.
    fn nothing_redeemed(&mut self) {
        self.tokens.expect_redeem_email_verification().never();
        self.tokens.expect_redeem_password_reset().never();
        self.hasher.expect_hash().never();
        self.mailer.expect_send().never();
    }

    /// One claimed entry with `intent`, at its `attempts`-th attempt.
    fn claims(&mut self, intent: MailIntent, attempts: u32) -> Uuid {
        let id = Uuid::new_v4();
        let lease = now() + policy().claim_lease;
        self.outbox
            .expect_claim_due()
            .withf(move |at, until, limit| {
                *at == now() && *until == lease && *limit == policy().batch_size
            })
            .times(1)
            .return_once(move |_, _, _| {
                Ok(vec![QueuedMail {
                    id,
                    intent,
                    attempts,
                }])
            });
        id
    }

    /// The reset mail to a known account is prepared (a token stored) and its send fails with
    /// `error`: the undelivered token is deleted.
    fn reset_mail_failing(&mut self, error: MailError) {
        let found = user();
        self.users
            .expect_find_by_email()
            .times(1)
            .return_once(move |_| Ok(Some(found)));
        self.generates_secret();
        self.tokens
            .expect_insert_token()
            .times(1)
            .returning(|_| Ok(()));
        self.mailer
            .expect_send()
            .times(1)
            .return_once(move |_| Err(error));
        self.tokens
            .expect_delete_token()
            .withf(|d| *d == digest())
            .times(1)
            .returning(|_| Ok(()));
    }

    fn generates_secret(&mut self) {
        self.secrets
            .expect_generate()
            .times(1)
            .returning(|| OneTimeSecret::new(SECRET.into()));
    }
}

fn reset_intent() -> MailIntent {
    MailIntent::PasswordReset { email: email() }
}

// ---------------------------------------------------------------------------------------------
// Requests: one outbox write, nothing else
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reset_request_only_enqueues_and_never_looks_the_account_up() {
    // The same call for a known and an unknown email: the request cannot tell them apart
    // because it does not look.
    let mut mocks = Mocks::new();
    mocks.users.expect_find_by_email().never();
    mocks.users.expect_find_by_id().never();
    mocks.mailer.expect_send().never();
    mocks.tokens.expect_insert_token().never();
    mocks
        .outbox
        .expect_enqueue()
        .withf(|intent, at| *intent == reset_intent() && *at == now())
        .times(1)
        .returning(|_, _| Ok(()));
    let svc = mocks.service();

    svc.request_password_reset(&email()).await.unwrap();
}

#[tokio::test]
async fn reset_request_reports_a_store_fault() {
    let mut mocks = Mocks::new();
    mocks
        .outbox
        .expect_enqueue()
        .times(1)
        .returning(|_, _| Err(Fault::unavailable("down")));
    let svc = mocks.service();

    let result = svc.request_password_reset(&email()).await;
    assert!(matches!(result, Err(Fault::Unavailable(_))));
}

#[tokio::test]
async fn verification_request_enqueues_for_the_current_email() {
    let user = user();
    let expected = MailIntent::VerifyEmail {
        user_id: user.id,
        email: user.email.clone(),
    };
    let mut mocks = Mocks::new();
    mocks
        .outbox
        .expect_enqueue()
        .withf(move |intent, _| *intent == expected)
        .times(1)
        .returning(|_, _| Ok(()));
    let svc = mocks.service();

    let outcome = svc.request_email_verification(&user).await.unwrap();
    assert_eq!(outcome, VerificationRequest::Queued);
}

#[tokio::test]
async fn verification_request_of_a_verified_account_sends_nothing() {
    let mut mocks = Mocks::new();
    mocks.outbox.expect_enqueue().never();
    let svc = mocks.service();
    let verified = User {
        is_verified: true,
        ..user()
    };

    let outcome = svc.request_email_verification(&verified).await.unwrap();
    assert_eq!(outcome, VerificationRequest::AlreadyVerified);
}

// ---------------------------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reset_for_an_unknown_email_sends_nothing_and_finishes_the_entry() {
    let mut mocks = Mocks::new();
    let id = mocks.claims(reset_intent(), 1);
    mocks
        .users
        .expect_find_by_email()
        .times(1)
        .returning(|_| Ok(None));
    mocks.secrets.expect_generate().never();
    mocks.tokens.expect_insert_token().never();
    mocks.mailer.expect_send().never();
    mocks
        .outbox
        .expect_finish()
        .withf(move |finished| *finished == id)
        .times(1)
        .returning(|_| Ok(()));
    let svc = mocks.service();

    let reports = svc.deliver_due().await.unwrap();

    assert_eq!(reports.len(), 1);
    assert!(matches!(reports[0].outcome, DeliveryOutcome::NothingToSend));
    assert_eq!(reports[0].kind, "password_reset");
}

#[tokio::test]
async fn reset_for_an_inactive_account_sends_nothing() {
    let mut mocks = Mocks::new();
    mocks.claims(reset_intent(), 1);
    let inactive = User {
        is_active: false,
        ..user()
    };
    mocks
        .users
        .expect_find_by_email()
        .times(1)
        .return_once(move |_| Ok(Some(inactive)));
    mocks.tokens.expect_insert_token().never();
    mocks.mailer.expect_send().never();
    mocks.outbox.expect_finish().times(1).returning(|_| Ok(()));
    let svc = mocks.service();

    let reports = svc.deliver_due().await.unwrap();
    assert!(matches!(reports[0].outcome, DeliveryOutcome::NothingToSend));
}

#[tokio::test]
async fn reset_for_a_known_email_stores_only_the_digest_and_mails_the_link() {
    let user = user();
    let mut mocks = Mocks::new();
    let id = mocks.claims(reset_intent(), 1);
    let found = user.clone();
    mocks
        .users
        .expect_find_by_email()
        .times(1)
        .return_once(move |_| Ok(Some(found)));
    mocks.generates_secret();
    let stored = recorded::<OneTimeToken>();
    let sink = stored.clone();
    mocks
        .tokens
        .expect_insert_token()
        .times(1)
        .returning(move |token| {
            sink.lock().unwrap().push(token.clone());
            Ok(())
        });
    let sent = recorded::<MailMessage>();
    let outbox = sent.clone();
    mocks
        .mailer
        .expect_send()
        .times(1)
        .returning(move |message| {
            outbox.lock().unwrap().push(message.clone());
            Ok(())
        });
    mocks
        .outbox
        .expect_finish()
        .withf(move |finished| *finished == id)
        .times(1)
        .returning(|_| Ok(()));
    let svc = mocks.service();

    let reports = svc.deliver_due().await.unwrap();
    assert!(matches!(reports[0].outcome, DeliveryOutcome::Delivered));

    let token = stored.lock().unwrap()[0].clone();
    assert_eq!(token.digest, digest());
    assert_ne!(token.digest.as_str(), SECRET, "only the digest is stored");
    assert_eq!(token.kind, OneTimeTokenKind::PasswordReset);
    assert_eq!(token.user_id, user.id);
    assert_eq!(token.created_at, now());
    assert_eq!(token.expires_at, now() + TimeDelta::hours(1));
    assert_eq!(
        token.password_fingerprint,
        Some(password_fingerprint(&user.password_hash))
    );
    assert!(!token
        .password_fingerprint
        .as_deref()
        .unwrap()
        .contains(OLD_HASH));

    let message = sent.lock().unwrap()[0].clone();
    assert_eq!(message.to, email());
    assert!(message.text.contains(&format!(
        "https://app.example.com/reset-password?token={SECRET}"
    )));
    assert!(message.text.contains("within 1 hour"));
}

#[tokio::test]
async fn a_failed_send_deletes_the_undelivered_token_and_retries_with_backoff() {
    let mut mocks = Mocks::new();
    let id = mocks.claims(reset_intent(), 2);
    mocks.reset_mail_failing(MailError::transient("connection refused"));
    let expected_at = now() + TimeDelta::seconds(60); // second attempt: 30 s doubled once
    mocks
        .outbox
        .expect_retry_at()
        .withf(move |retried, at, error| {
            *retried == id && *at == expected_at && error.contains("connection refused")
        })
        .times(1)
        .returning(|_, _, _| Ok(()));
    mocks.outbox.expect_give_up().never();
    mocks.outbox.expect_finish().never();
    let svc = mocks.service();

    let reports = svc.deliver_due().await.unwrap();
    match &reports[0].outcome {
        DeliveryOutcome::Retrying { at, error } => {
            assert_eq!(*at, expected_at);
            assert!(!error.contains(SECRET), "the log line holds no token");
        }
        other => panic!("expected a retry, got {other:?}"),
    }
}

#[tokio::test]
async fn the_last_attempt_or_a_permanent_failure_gives_up() {
    for (attempt, error) in [
        (policy().max_attempts, MailError::transient("timeout")),
        (1, MailError::permanent("550 no such mailbox")),
    ] {
        let mut mocks = Mocks::new();
        mocks.claims(reset_intent(), attempt);
        mocks.reset_mail_failing(error);
        mocks.outbox.expect_retry_at().never();
        mocks
            .outbox
            .expect_give_up()
            .withf(|_, at, _| *at == now())
            .times(1)
            .returning(|_, _, _| Ok(()));
        let svc = mocks.service();

        let reports = svc.deliver_due().await.unwrap();
        assert!(
            matches!(reports[0].outcome, DeliveryOutcome::GaveUp { .. }),
            "attempt {attempt}: {:?}",
            reports[0].outcome
        );
    }
}

#[tokio::test]
async fn a_store_fault_while_preparing_is_retried_like_a_failed_send() {
    let mut mocks = Mocks::new();
    mocks.claims(reset_intent(), 1);
    mocks
        .users
        .expect_find_by_email()
        .times(1)
        .returning(|_| Err(Fault::unavailable("down")));
    mocks.mailer.expect_send().never();
    mocks
        .outbox
        .expect_retry_at()
        .times(1)
        .returning(|_, _, _| Ok(()));
    let svc = mocks.service();

    let reports = svc.deliver_due().await.unwrap();
    assert!(matches!(
        reports[0].outcome,
        DeliveryOutcome::Retrying { .. }
    ));
}

#[tokio::test]
async fn verification_mail_is_dropped_when_the_email_changed_since_the_request() {
    let user = user();
    let mut mocks = Mocks::new();
    mocks.claims(
        MailIntent::VerifyEmail {
            user_id: user.id,
            email: Email::parse("old@example.com").unwrap(),
        },
        1,
    );
    mocks.user_by_id(Some(user));
    mocks.tokens.expect_insert_token().never();
    mocks.mailer.expect_send().never();
    mocks.outbox.expect_finish().times(1).returning(|_| Ok(()));
    let svc = mocks.service();

    let reports = svc.deliver_due().await.unwrap();
    assert!(matches!(reports[0].outcome, DeliveryOutcome::NothingToSend));
}

#[tokio::test]
async fn verification_mail_carries_a_token_bound_to_the_email() {
    let user = user();
    let mut mocks = Mocks::new();
    mocks.claims(
        MailIntent::VerifyEmail {
            user_id: user.id,
            email: user.email.clone(),
        },
        1,
    );
    mocks.user_by_id(Some(user.clone()));
    mocks.generates_secret();
    let expected_user = user.id;
    mocks
        .tokens
        .expect_insert_token()
        .withf(move |token| {
            token.kind == OneTimeTokenKind::VerifyEmail
                && token.user_id == expected_user
                && token.email.as_str() == EMAIL
                && token.password_fingerprint.is_none()
                && token.expires_at == now() + TimeDelta::hours(24)
        })
        .times(1)
        .returning(|_| Ok(()));
    mocks
        .mailer
        .expect_send()
        .withf(|message| {
            message.to.as_str() == EMAIL
                && message.text.contains(&format!(
                    "https://app.example.com/verify-email?token={SECRET}"
                ))
        })
        .times(1)
        .returning(|_| Ok(()));
    mocks.outbox.expect_finish().times(1).returning(|_| Ok(()));
    let svc = mocks.service();

    let reports = svc.deliver_due().await.unwrap();
    assert!(matches!(reports[0].outcome, DeliveryOutcome::Delivered));
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn verification_marks_the_account_verified() {
    let user = user();
    let mut mocks = Mocks::new();
    mocks.token_found(Some(token_for(&user, OneTimeTokenKind::VerifyEmail)));
    mocks.user_by_id(Some(user.clone()));
    let (id, address) = (user.id, user.email.clone());
    mocks
        .tokens
        .expect_redeem_email_verification()
        .withf(move |d, u, e, at| *d == digest() && *u == id && *e == address && *at == now())
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let svc = mocks.service();

    let verified = svc.verify_email(SECRET).await.unwrap();
    assert!(verified.is_verified);
    assert_eq!(verified.id, user.id);
}

#[tokio::test]
async fn verification_is_bound_to_the_email_it_was_sent_to() {
    let user = user();
    let token = token_for(&user, OneTimeTokenKind::VerifyEmail);
    let mut mocks = Mocks::new();
    mocks.token_found(Some(token));
    mocks.user_by_id(Some(User {
        email: Email::parse("new-address@example.com").unwrap(),
        ..user
    }));
    mocks.nothing_redeemed();
    let svc = mocks.service();

    let result = svc.verify_email(SECRET).await;
    assert!(matches!(result, Err(VerifyEmailError::InvalidToken)));
}

#[tokio::test]
async fn verification_of_an_inactive_account_is_refused() {
    let user = user();
    let token = token_for(&user, OneTimeTokenKind::VerifyEmail);
    let mut mocks = Mocks::new();
    mocks.token_found(Some(token));
    mocks.user_by_id(Some(User {
        is_active: false,
        ..user
    }));
    mocks.nothing_redeemed();
    let svc = mocks.service();

    let result = svc.verify_email(SECRET).await;
    assert!(matches!(result, Err(VerifyEmailError::InvalidToken)));
}

/// No token, and tokens of [`user`] that cannot be redeemed as `kind`: one used, one expired
/// at `expired_at`, and one of the `other` kind.
fn unusable_tokens(
    kind: OneTimeTokenKind,
    expired_at: DateTime<Utc>,
    other: OneTimeTokenKind,
) -> [Option<OneTimeToken>; 4] {
    let user = user();
    let live = token_for(&user, kind);
    [
        None,
        Some(OneTimeToken {
            used_at: Some(now() - TimeDelta::seconds(1)),
            ..live.clone()
        }),
        Some(OneTimeToken {
            expires_at: expired_at,
            ..live
        }),
        Some(token_for(&user, other)),
    ]
}

/// A service whose token lookup answers `found`, and that must look up no account and
/// redeem, hash or mail nothing.
fn service_refusing_before_redemption(found: Option<OneTimeToken>) -> RecoveryService {
    let mut mocks = Mocks::new();
    mocks.token_found(found);
    mocks.users.expect_find_by_id().never();
    mocks.nothing_redeemed();
    mocks.service()
}

#[tokio::test]
async fn used_expired_unknown_and_wrong_kind_verification_tokens_are_refused() {
    let cases = unusable_tokens(
        OneTimeTokenKind::VerifyEmail,
        now(),
        OneTimeTokenKind::PasswordReset,
    );
    for case in cases {
        let svc = service_refusing_before_redemption(case.clone());

        let result = svc.verify_email(SECRET).await;
        assert!(
            matches!(result, Err(VerifyEmailError::InvalidToken)),
            "{case:?}"
        );
    }
}

#[tokio::test]
async fn a_lost_verification_race_is_refused() {
    let user = user();
    let mut mocks = Mocks::new();
    mocks.token_found(Some(token_for(&user, OneTimeTokenKind::VerifyEmail)));
    mocks.user_by_id(Some(user));
    mocks
        .tokens
        .expect_redeem_email_verification()
        .times(1)
        .returning(|_, _, _, _| Ok(false));
    let svc = mocks.service();

    let result = svc.verify_email(SECRET).await;
    assert!(matches!(result, Err(VerifyEmailError::InvalidToken)));
}

// ---------------------------------------------------------------------------------------------
// Password reset
// ---------------------------------------------------------------------------------------------

fn new_password() -> Password {
    Password::parse(NEW_PASSWORD).unwrap()
}

#[tokio::test]
async fn reset_sets_the_new_hash_in_one_redemption() {
    let user = user();
    let mut mocks = Mocks::new();
    mocks.token_found(Some(token_for(&user, OneTimeTokenKind::PasswordReset)));
    mocks.user_by_id(Some(user.clone()));
    mocks
        .hasher
        .expect_hash()
        .withf(|password| password.expose() == NEW_PASSWORD)
        .times(1)
        .returning(|_| Ok(PasswordHash::new(NEW_HASH.into())));
    let id = user.id;
    mocks
        .tokens
        .expect_redeem_password_reset()
        .withf(move |d, u, expected, new, at| {
            *d == digest()
                && *u == id
                && expected.as_str() == OLD_HASH
                && new.as_str() == NEW_HASH
                && *at == now()
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(true));
    let svc = mocks.service();

    let reset = svc.reset_password(SECRET, &new_password()).await.unwrap();
    assert_eq!(reset, user.id);
}

#[tokio::test]
async fn reset_after_a_password_change_is_refused() {
    let user = user();
    let token = token_for(&user, OneTimeTokenKind::PasswordReset);
    let mut mocks = Mocks::new();
    mocks.token_found(Some(token));
    // The password changed since the token was issued.
    mocks.user_by_id(Some(User {
        password_hash: PasswordHash::new("$2b$04$changed-since".into()),
        ..user
    }));
    mocks.nothing_redeemed();
    let svc = mocks.service();

    let result = svc.reset_password(SECRET, &new_password()).await;
    assert!(matches!(result, Err(ResetPasswordError::InvalidToken)));
}

#[tokio::test]
async fn used_expired_unknown_and_wrong_kind_reset_tokens_are_refused() {
    let cases = unusable_tokens(
        OneTimeTokenKind::PasswordReset,
        now() - TimeDelta::seconds(1),
        OneTimeTokenKind::VerifyEmail,
    );
    for case in cases {
        let svc = service_refusing_before_redemption(case.clone());

        let result = svc.reset_password(SECRET, &new_password()).await;
        assert!(
            matches!(result, Err(ResetPasswordError::InvalidToken)),
            "{case:?}"
        );
    }
}

#[tokio::test]
async fn reset_of_an_inactive_or_deleted_account_is_refused() {
    let user = user();
    for found in [
        None,
        Some(User {
            is_active: false,
            ..user.clone()
        }),
    ] {
        let mut mocks = Mocks::new();
        mocks.token_found(Some(token_for(&user, OneTimeTokenKind::PasswordReset)));
        mocks.user_by_id(found);
        mocks.nothing_redeemed();
        let svc = mocks.service();

        let result = svc.reset_password(SECRET, &new_password()).await;
        assert!(matches!(result, Err(ResetPasswordError::InvalidToken)));
    }
}

#[tokio::test]
async fn a_reset_that_loses_a_race_is_refused() {
    // Used twice at once, or the password changed between the read and the write: the
    // store's redemption says no.
    let user = user();
    let mut mocks = Mocks::new();
    mocks.token_found(Some(token_for(&user, OneTimeTokenKind::PasswordReset)));
    mocks.user_by_id(Some(user));
    mocks
        .hasher
        .expect_hash()
        .times(1)
        .returning(|_| Ok(PasswordHash::new(NEW_HASH.into())));
    mocks
        .tokens
        .expect_redeem_password_reset()
        .times(1)
        .returning(|_, _, _, _, _| Ok(false));
    let svc = mocks.service();

    let result = svc.reset_password(SECRET, &new_password()).await;
    assert!(matches!(result, Err(ResetPasswordError::InvalidToken)));
}
