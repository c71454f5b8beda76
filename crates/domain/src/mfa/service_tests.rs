//! Unit tests of the second-factor use cases, on mocks of every port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::amr::Amr;
use crate::audit::NoAuditLog;
use crate::mfa::totp::{code_at_step, step_of, TotpSecret};
use crate::mfa::{
    ConfirmTotpError, MfaLoginError, MfaPolicy, MfaPorts, MfaService, MfaStatus, ReauthError,
    SecondFactorLogin,
};
use crate::one_time::{OneTimeSecret, TokenDigest};
use crate::ports::mfa::{
    MfaChallenge, MockMfaChallengeStore, MockRecoveryCodeStore, MockSecondFactors,
    MockSecretKeeper, MockTotpStore, SealedSecret, TotpRecord,
};
use crate::ports::MockLoginThrottle;
use crate::ports::MockMailOutbox;
use crate::ports::MockSecretGenerator;
use crate::ports::{
    MockPasswordHasher, MockSessionRepository, MockTokenService, MockUserRepository,
};
use crate::service::{AuthService, LoginError, LoginOutcome};
use crate::session::{ClientInfo, Principal, SessionId};
use crate::test_fixtures::{
    auth_service, clock_at, keeper_counting, outbox_accepting, throttle_admitting,
};
use crate::throttle::{Admission, Settlement, Throttle, ThrottlePolicy};
use crate::user::{AccountKind, NewUser, User};
use crate::values::{Email, PasswordHash};

const SECRET: &[u8] = b"12345678901234567890";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

fn user(mfa: bool) -> User {
    let mut user = User::register(
        Email::parse("ann@example.com").unwrap(),
        NewUser::default(),
        PasswordHash::new("$2b$04$hash".into()),
        AccountKind::Regular,
        now() - TimeDelta::days(3),
    );
    user.mfa_enabled = mfa;
    user
}

fn principal(user: &User) -> Principal {
    Principal {
        user: user.clone(),
        session_id: SessionId::new(),
        amr: Amr::password(),
        auth_time: now() - TimeDelta::hours(1),
    }
}

fn confirmed_totp(user: &User) -> TotpRecord {
    TotpRecord {
        user_id: user.id,
        secret: SealedSecret {
            key_id: "k".into(),
            nonce: vec![1; 12],
            ciphertext: vec![2; 20],
        },
        created_at: now() - TimeDelta::days(1),
        confirmed_at: Some(now() - TimeDelta::days(1)),
        last_step: Some(1),
    }
}

fn challenge(user: &User, failures: u32) -> MfaChallenge {
    MfaChallenge {
        digest: TokenDigest::of("mfa-token"),
        user_id: user.id,
        first_factor: Amr::password(),
        created_at: now() - TimeDelta::seconds(10),
        expires_at: now() + TimeDelta::minutes(5),
        failures,
    }
}

/// Every port as a mock; each test sets the expectations it relies on.
struct Mocks {
    users: MockUserRepository,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
    hasher: MockPasswordHasher,
    throttle: MockLoginThrottle,
    totp: MockTotpStore,
    codes: MockRecoveryCodeStore,
    factors: MockSecondFactors,
    challenges: MockMfaChallengeStore,
    keeper: MockSecretKeeper,
    outbox: MockMailOutbox,
}

impl Mocks {
    fn new() -> Self {
        let mut keeper = keeper_counting();
        keeper.expect_open().returning(|_, _| Ok(SECRET.to_vec()));
        Self {
            users: MockUserRepository::new(),
            sessions: MockSessionRepository::new(),
            tokens: MockTokenService::new(),
            hasher: MockPasswordHasher::new(),
            throttle: MockLoginThrottle::new(),
            totp: MockTotpStore::new(),
            codes: MockRecoveryCodeStore::new(),
            factors: MockSecondFactors::new(),
            challenges: MockMfaChallengeStore::new(),
            keeper,
            outbox: outbox_accepting(),
        }
    }

    fn admitting(mut self) -> Self {
        self.throttle = throttle_admitting();
        self
    }

    /// The login of `user` waits for its second factor, with `failures` wrong codes so far.
    fn pending_login(&mut self, user: &User, failures: u32) {
        let pending = challenge(user, failures);
        self.challenges
            .expect_find_challenge()
            .returning(move |_| Ok(Some(pending.clone())));
        let found = user.clone();
        self.users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(found.clone())));
    }

    /// `user` has confirmed TOTP.
    fn totp_of(&mut self, user: &User) {
        let record = confirmed_totp(user);
        self.totp
            .expect_find_totp()
            .returning(move |_| Ok(Some(record.clone())));
    }

    /// `complete_login` of the pending login's `mfa-token` with `code`.
    async fn complete_login(self, code: &str) -> Result<LoginOutcome, MfaLoginError> {
        let (_, mfa) = self.build();
        mfa.complete_login("mfa-token", code, &ClientInfo::default())
            .await
    }

    fn build(self) -> (AuthService, MfaService) {
        let clock = clock_at(now());
        let challenges = Arc::new(self.challenges);
        let factors = Arc::new(self.factors);
        let mut secrets = MockSecretGenerator::new();
        secrets
            .expect_generate()
            .returning(|| OneTimeSecret::new("mfa-token".into()));
        let users = Arc::new(self.users);
        let auth = auth_service(
            users.clone(),
            self.sessions,
            self.tokens,
            self.hasher,
            clock.clone(),
        )
        .with_login_throttle(Throttle::new(
            Arc::new(self.throttle),
            ThrottlePolicy::default(),
            clock.clone(),
        ))
        .with_second_factors(SecondFactorLogin {
            challenges: challenges.clone(),
            factors: factors.clone(),
            secrets: Arc::new(secrets),
            token_ttl: TimeDelta::minutes(5),
        });
        let mfa = MfaService::new(
            MfaPorts {
                users,
                totp: Arc::new(self.totp),
                codes: Arc::new(self.codes),
                factors,
                challenges,
                keeper: Arc::new(self.keeper),
                outbox: Arc::new(self.outbox),
                audit: Arc::new(NoAuditLog),
                clock,
            },
            auth.clone(),
            MfaPolicy::default(),
        );
        (auth, mfa)
    }
}

#[tokio::test]
async fn a_right_password_of_an_account_with_a_second_factor_opens_no_session() {
    let ann = user(true);
    let mut mocks = Mocks::new().admitting();
    let found = ann.clone();
    mocks
        .users
        .expect_find_by_email()
        .returning(move |_| Ok(Some(found.clone())));
    mocks.hasher.expect_verify().returning(|_, _| Ok(true));
    mocks.hasher.expect_needs_rehash().returning(|_| false);
    mocks.sessions.expect_start().times(0);
    mocks.tokens.expect_issue().times(0);
    mocks.factors.expect_mfa_status().returning(|_| {
        Ok(MfaStatus {
            totp: true,
            recovery_codes_left: 3,
            passkeys: 0,
        })
    });
    let owner = ann.id;
    mocks
        .challenges
        .expect_insert_challenge()
        .withf(move |c| {
            c.user_id == owner
                && c.expires_at == now() + TimeDelta::minutes(5)
                && c.failures == 0
                && c.first_factor == Amr::password()
                && c.digest == TokenDigest::of("mfa-token")
        })
        .times(1)
        .returning(|_| Ok(()));
    // The right password neither counts nor resets: its attempt is refunded.
    mocks
        .throttle
        .expect_settle()
        .withf(|_, settlement, _| *settlement == Settlement::Refunded)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let (auth, _) = mocks.build();
    let outcome = auth
        .login(&ann.email, "the password", ClientInfo::default())
        .await;
    let Err(LoginError::SecondFactorRequired(issued)) = outcome else {
        panic!("expected the second-factor step, got {outcome:?}");
    };
    assert_eq!(issued.mfa_token.expose(), "mfa-token");
    assert_eq!(issued.expires_in, 300);
    let methods: Vec<&str> = issued.methods.iter().map(|m| m.as_str()).collect();
    assert_eq!(methods, ["totp", "recovery_code"]);
}

#[tokio::test]
async fn a_locked_throttle_answers_before_the_code_is_looked_at() {
    let ann = user(true);
    let mut mocks = Mocks::new();
    mocks.pending_login(&ann, 0);
    mocks.throttle.expect_admit().returning(|_, _, _| {
        Ok(Admission::Locked {
            until: now() + TimeDelta::seconds(42),
        })
    });
    mocks.totp.expect_find_totp().times(0);
    mocks.codes.expect_use_recovery_code().times(0);
    mocks.challenges.expect_fail_challenge().times(0);
    let (_, mfa) = mocks.build();
    let outcome = mfa
        .complete_login("mfa-token", "123456", &ClientInfo::default())
        .await;
    assert!(matches!(
        outcome,
        Err(MfaLoginError::TooManyAttempts {
            retry_after_secs: 42
        })
    ));
}

#[tokio::test]
async fn a_wrong_code_counts_on_the_token_and_opens_nothing() {
    let ann = user(true);
    let mut mocks = Mocks::new().admitting();
    mocks.pending_login(&ann, 2);
    mocks.totp_of(&ann);
    mocks.totp.expect_accept_totp_step().times(0);
    mocks
        .challenges
        .expect_fail_challenge()
        .times(1)
        .returning(|_| Ok(3));
    mocks.challenges.expect_spend_challenge().times(0);
    // The failure stays counted on the throttle: the attempt is not settled.
    mocks.throttle.expect_settle().times(0);
    mocks.sessions.expect_start().times(0);
    let secret = TotpSecret::new(SECRET.to_vec());
    let wrong = code_at_step(&secret, step_of(now()) + 3);
    let outcome = mocks.complete_login(&wrong).await;
    assert!(matches!(outcome, Err(MfaLoginError::InvalidCode)));
}

#[tokio::test]
async fn a_replayed_code_is_refused_by_the_stores_compare_and_set() {
    let ann = user(true);
    let mut mocks = Mocks::new().admitting();
    mocks.pending_login(&ann, 0);
    mocks.totp_of(&ann);
    let step = step_of(now());
    mocks
        .totp
        .expect_accept_totp_step()
        .withf(move |_, s| *s == step)
        .times(1)
        .returning(|_, _| Ok(false));
    mocks
        .challenges
        .expect_fail_challenge()
        .times(1)
        .returning(|_| Ok(1));
    mocks.sessions.expect_start().times(0);
    let code = code_at_step(&TotpSecret::new(SECRET.to_vec()), step);
    let outcome = mocks.complete_login(&code).await;
    assert!(matches!(outcome, Err(MfaLoginError::InvalidCode)));
}

#[tokio::test]
async fn the_right_code_opens_a_multi_factor_session() {
    let ann = user(true);
    let mut mocks = Mocks::new().admitting();
    mocks.pending_login(&ann, 4);
    mocks.totp_of(&ann);
    mocks
        .totp
        .expect_accept_totp_step()
        .returning(|_, _| Ok(true));
    mocks
        .challenges
        .expect_spend_challenge()
        .withf(|_, _, max| *max == 5)
        .times(1)
        .returning(|_, _, _| Ok(true));
    mocks
        .throttle
        .expect_settle()
        .withf(|_, settlement, _| *settlement == Settlement::Succeeded)
        .times(1)
        .returning(|_, _, _| Ok(()));
    mocks
        .sessions
        .expect_start()
        .withf(|session| session.amr == Amr::password().with_otp())
        .times(1)
        .returning(|_| Ok(()));
    mocks
        .tokens
        .expect_issue()
        .withf(|claims| claims.amr.to_strings() == ["pwd", "otp", "mfa"])
        .times(2)
        .returning(|_| Ok("token".into()));
    let code = code_at_step(&TotpSecret::new(SECRET.to_vec()), step_of(now()) - 1);
    let outcome = mocks.complete_login(&code).await;
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn dead_expired_or_stale_challenges_are_invalid_tokens() {
    for case in 0..3 {
        let mut ann = user(true);
        let mut pending = challenge(&ann, 0);
        match case {
            0 => pending.failures = 5,
            1 => pending.expires_at = now(),
            _ => ann.password_changed_at = Some(now() - TimeDelta::seconds(1)),
        }
        let mut mocks = Mocks::new();
        mocks
            .challenges
            .expect_find_challenge()
            .returning(move |_| Ok(Some(pending.clone())));
        let found = ann.clone();
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(found.clone())));
        mocks.throttle.expect_admit().times(0);
        let (_, mfa) = mocks.build();
        let outcome = mfa
            .complete_login("mfa-token", "123456", &ClientInfo::default())
            .await;
        assert!(
            matches!(outcome, Err(MfaLoginError::InvalidToken)),
            "case {case}"
        );
    }
}

#[tokio::test]
async fn reauthentication_wants_the_current_password_and_counts_wrong_ones() {
    let ann = user(false);
    let mut mocks = Mocks::new().admitting();
    mocks
        .hasher
        .expect_verify()
        .withf(|candidate, _| candidate == "wrong")
        .times(1)
        .returning(|_, _| Ok(false));
    mocks
        .hasher
        .expect_verify()
        .withf(|candidate, _| candidate == "right")
        .times(1)
        .returning(|_, _| Ok(true));
    // A wrong password stays counted; a right one is refunded, never a reset.
    mocks
        .throttle
        .expect_settle()
        .withf(|_, settlement, _| *settlement == Settlement::Refunded)
        .times(1)
        .returning(|_, _, _| Ok(()));
    let (_, mfa) = mocks.build();
    let caller = principal(&ann);
    let client = ClientInfo::default();
    for missing in [None, Some("")] {
        assert!(matches!(
            mfa.reauthenticate(&caller, missing, &client).await,
            Err(ReauthError::Required)
        ));
    }
    assert!(matches!(
        mfa.reauthenticate(&caller, Some("wrong"), &client).await,
        Err(ReauthError::Required)
    ));
    assert!(mfa
        .reauthenticate(&caller, Some("right"), &client)
        .await
        .is_ok());
}

#[tokio::test]
async fn an_account_without_password_reauthenticates_with_a_recent_login() {
    let mut ann = user(false);
    ann.password_hash = PasswordHash::new(String::new());
    let (_, mfa) = Mocks::new().build();
    let mut caller = principal(&ann);
    caller.auth_time = now() - TimeDelta::minutes(4);
    let client = ClientInfo::default();
    assert!(mfa.reauthenticate(&caller, None, &client).await.is_ok());
    caller.auth_time = now() - TimeDelta::minutes(6);
    assert!(matches!(
        mfa.reauthenticate(&caller, Some("anything"), &client).await,
        Err(ReauthError::Required)
    ));
}

#[tokio::test]
async fn a_wrong_confirmation_code_enables_nothing() {
    let ann = user(false);
    let mut mocks = Mocks::new();
    let mut record = confirmed_totp(&ann);
    record.confirmed_at = None;
    mocks
        .totp
        .expect_find_totp()
        .returning(move |_| Ok(Some(record.clone())));
    mocks.totp.expect_confirm_totp().times(0);
    let (_, mfa) = mocks.build();
    let wrong = code_at_step(&TotpSecret::new(SECRET.to_vec()), step_of(now()) + 2);
    let outcome = mfa
        .confirm_totp(&principal(&ann), &wrong, &ClientInfo::default())
        .await;
    assert!(matches!(outcome, Err(ConfirmTotpError::InvalidCode)));
}

#[tokio::test]
async fn confirmation_writes_ten_code_hashes_and_keeps_the_callers_session() {
    let ann = user(false);
    let caller = principal(&ann);
    let mut mocks = Mocks::new();
    let mut record = confirmed_totp(&ann);
    record.confirmed_at = None;
    mocks
        .totp
        .expect_find_totp()
        .returning(move |_| Ok(Some(record.clone())));
    let (keep, step) = (caller.session_id, step_of(now()));
    mocks
        .totp
        .expect_confirm_totp()
        .withf(move |c| {
            c.keep_session == keep
                && c.step == step
                && c.recovery_codes.len() == 10
                && c.secret_nonce == vec![1; 12]
        })
        .times(1)
        .returning(|_| Ok(Some(2)));
    let (_, mfa) = mocks.build();
    let code = code_at_step(&TotpSecret::new(SECRET.to_vec()), step);
    let codes = mfa
        .confirm_totp(&caller, &code, &ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
}
