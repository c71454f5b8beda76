//! Unit tests of the use cases in [`crate::service`], against the mockall mocks of the ports.
//!
//! A mock method without an expectation panics when called, so every test only sets up what
//! its use case may touch; `.never()` spells out the calls that matter most.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use crate::error::Fault;
use crate::issuer::TokenPolicy;
use crate::ports::{
    InsertUserError, MockPasswordHasher, MockSessionRepository, MockTokenService,
    MockUserRepository, TokenError,
};
use crate::service::{
    AuthService, AuthenticateError, LoginError, LoginOutcome, RefreshError, Refusal, RegisterError,
};
use crate::session::{ClientInfo, Principal, Session, SessionId};
use crate::test_fixtures::{clock_at, recorded, taken, tokens_issuing_nothing, Recorded};
use crate::token::{Claims, TokenKind, TokenPair};
use crate::user::{AccountKind, NewUser, Role, User, UserId};
use crate::values::{Email, Password, PasswordHash, Username};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const EMAIL: &str = "john@example.com";
const PASSWORD: &str = "correct horse battery";
const WRONG_PASSWORD: &str = "not the password";
const USER_HASH: &str = "$2b$04$user-hash";
const DUMMY_HASH: &str = "$2b$04$dummy-hash";
const TOKEN: &str = "presented.jwt.token";

/// The fixed instant every test's clock answers.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

fn policy() -> TokenPolicy {
    TokenPolicy {
        access_ttl: TimeDelta::minutes(15),
        refresh_ttl: TimeDelta::days(7),
        session_max_ttl: TimeDelta::days(30),
    }
}

fn email() -> Email {
    Email::parse(EMAIL).unwrap()
}

fn user_hash() -> PasswordHash {
    PasswordHash::new(USER_HASH.to_owned())
}

fn dummy_hash() -> PasswordHash {
    PasswordHash::new(DUMMY_HASH.to_owned())
}

fn unavailable() -> Fault {
    Fault::unavailable("database is down")
}

fn client() -> ClientInfo {
    ClientInfo {
        user_agent: Some("tests/1.0".into()),
        address: Some("192.0.2.1".into()),
    }
}

/// An active, regular user whose password is [`PASSWORD`] (hashed as [`USER_HASH`]).
fn user() -> User {
    User::register(
        email(),
        NewUser::default(),
        user_hash(),
        AccountKind::Regular,
        now() - TimeDelta::days(100),
    )
}

fn inactive_user() -> User {
    User {
        is_active: false,
        ..user()
    }
}

/// A live session of `user`, opened a day ago, that ends in 29 days.
fn session_of(user: &User) -> Session {
    let opened = now() - TimeDelta::days(1);
    Session {
        amr: crate::Amr::password(),
        id: SessionId::new(),
        user_id: user.id,
        refresh_jti: Uuid::new_v4(),
        created_at: opened,
        last_used_at: opened,
        expires_at: opened + policy().session_max_ttl,
        revoked_at: None,
        client: client(),
    }
}

/// Claims of a token of `kind` for `session`; a refresh token carries the session's current
/// jti.
fn claims_for(session: &Session, kind: TokenKind) -> Claims {
    Claims {
        amr: crate::Amr::password(),
        auth_time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        kind,
        subject: session.user_id,
        session_id: session.id,
        token_id: match kind {
            TokenKind::Access => Uuid::new_v4(),
            TokenKind::Refresh => session.refresh_jti,
        },
        issued_at: now() - TimeDelta::minutes(5),
        expires_at: now() + TimeDelta::minutes(10),
    }
}

/// The service of the session and token use cases (refresh, authenticate, logout): no
/// account is looked up and no password checked.
fn token_service(sessions: MockSessionRepository, tokens: MockTokenService) -> AuthService {
    service(
        MockUserRepository::new(),
        sessions,
        tokens,
        MockPasswordHasher::new(),
    )
}

fn service(
    users: MockUserRepository,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
    hasher: MockPasswordHasher,
) -> AuthService {
    AuthService::new(
        Arc::new(users),
        Arc::new(sessions),
        Arc::new(tokens),
        Arc::new(hasher),
        clock_at(now()),
        policy(),
    )
}

/// A user repository that finds `found` (once) under [`EMAIL`].
fn users_finding(found: Option<User>) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_email()
        .withf(|e| e.as_str() == EMAIL)
        .times(1)
        .returning(move |_| Ok(found.clone()));
    users
}

/// A hasher whose `verify` must be called exactly once, against `expected_hash`, answering
/// `matches`; `dummy_hash` is available (at most once) and `hash` is never called.
fn hasher_verifying_once(expected_hash: PasswordHash, matches: bool) -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_dummy_hash()
        .times(0..=1)
        .returning(dummy_hash);
    hasher
        .expect_verify()
        .withf(move |_, hash| *hash == expected_hash)
        .times(1)
        .returning(move |_, _| Ok(matches));
    hasher.expect_hash().never();
    hasher.expect_needs_rehash().return_const(false);
    hasher
}

/// A session repository where nothing may be started, rotated or revoked.
fn sessions_untouched() -> MockSessionRepository {
    let mut sessions = MockSessionRepository::new();
    sessions.expect_start().never();
    sessions.expect_find_with_user().never();
    sessions.expect_rotate_refresh().never();
    sessions.expect_revoke().never();
    sessions
}

/// A token service that issues exactly two tokens (access then refresh), recording their
/// claims; each token is "<kind>-<jti>".
fn tokens_issuing_pair(issued: &Recorded<Claims>) -> MockTokenService {
    let issued = Arc::clone(issued);
    let mut tokens = MockTokenService::new();
    tokens.expect_issue().times(2).returning(move |claims| {
        issued.lock().unwrap().push(claims.clone());
        Ok(format!("{}-{}", claims.kind.as_str(), claims.token_id))
    });
    tokens
}

/// A token service whose `verify` (once, of [`TOKEN`], expecting `kind`) yields `outcome`.
fn tokens_verifying(kind: TokenKind, outcome: Result<Claims, TokenError>) -> MockTokenService {
    let mut tokens = MockTokenService::new();
    tokens
        .expect_verify()
        .withf(move |token, expected| token == TOKEN && *expected == kind)
        .times(1)
        .return_once(move |_, _| outcome);
    tokens
}

/// A session repository whose `find_with_user` (once, of `id`) answers `found`.
fn sessions_finding(id: SessionId, found: Option<(Session, User)>) -> MockSessionRepository {
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_find_with_user()
        .withf(move |asked| *asked == id)
        .times(1)
        .return_once(move |_| Ok(found));
    sessions.expect_start().never();
    sessions
}

async fn login(svc: &AuthService, password: &str) -> Result<LoginOutcome, LoginError> {
    svc.login(&email(), password, client()).await
}

// ---------------------------------------------------------------------------------------------
// login
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_unknown_email_verifies_against_dummy_hash_once_and_is_refused() {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_dummy_hash().times(1).returning(dummy_hash);
    hasher
        .expect_verify()
        .withf(|candidate, hash| candidate == PASSWORD && *hash == dummy_hash())
        .times(1)
        .returning(|_, _| Ok(false));
    hasher.expect_hash().never();
    let svc = service(
        users_finding(None),
        sessions_untouched(),
        tokens_issuing_nothing(),
        hasher,
    );

    let result = login(&svc, PASSWORD).await;

    assert!(
        matches!(result, Err(LoginError::InvalidCredentials)),
        "{result:?}"
    );
}

#[tokio::test]
async fn login_unknown_email_is_refused_even_if_dummy_hash_matches() {
    // Whatever the dummy verification says, an unknown email never logs in.
    let svc = service(
        users_finding(None),
        sessions_untouched(),
        tokens_issuing_nothing(),
        hasher_verifying_once(dummy_hash(), true),
    );

    let result = login(&svc, PASSWORD).await;

    assert!(
        matches!(result, Err(LoginError::InvalidCredentials)),
        "{result:?}"
    );
}

#[tokio::test]
async fn login_wrong_password_is_refused_after_one_verification() {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_dummy_hash().never();
    hasher
        .expect_verify()
        .withf(|candidate, hash| candidate == WRONG_PASSWORD && *hash == user_hash())
        .times(1)
        .returning(|_, _| Ok(false));
    let svc = service(
        users_finding(Some(user())),
        sessions_untouched(),
        tokens_issuing_nothing(),
        hasher,
    );

    let result = login(&svc, WRONG_PASSWORD).await;

    assert!(
        matches!(result, Err(LoginError::InvalidCredentials)),
        "{result:?}"
    );
}

#[tokio::test]
async fn login_inactive_user_with_right_password_is_refused_after_one_verification() {
    let svc = service(
        users_finding(Some(inactive_user())),
        sessions_untouched(),
        tokens_issuing_nothing(),
        hasher_verifying_once(user_hash(), true),
    );

    let result = login(&svc, PASSWORD).await;

    assert!(
        matches!(result, Err(LoginError::InvalidCredentials)),
        "{result:?}"
    );
}

#[tokio::test]
async fn login_success_starts_one_session_and_issues_a_pair() {
    let user = user();
    let started: Recorded<Session> = recorded();
    let mut sessions = MockSessionRepository::new();
    {
        let started = Arc::clone(&started);
        sessions.expect_start().times(1).returning(move |session| {
            started.lock().unwrap().push(session.clone());
            Ok(())
        });
    }
    sessions.expect_rotate_refresh().never();
    sessions.expect_revoke().never();
    let issued: Recorded<Claims> = recorded();
    let svc = service(
        users_finding(Some(user.clone())),
        sessions,
        tokens_issuing_pair(&issued),
        hasher_verifying_once(user_hash(), true),
    );

    let outcome = login(&svc, PASSWORD).await.unwrap();

    let started = taken(&started);
    assert_eq!(started.len(), 1);
    let session = &started[0];
    assert_eq!(session.user_id, user.id);
    assert_eq!(session.created_at, now());
    assert_eq!(session.last_used_at, now());
    assert_eq!(session.expires_at, now() + policy().session_max_ttl);
    assert_eq!(session.revoked_at, None);
    assert_eq!(session.client, client());
    assert_eq!(outcome.session_id, session.id);
    assert_eq!(outcome.user_id, user.id);

    let issued = taken(&issued);
    let access = issued
        .iter()
        .find(|c| c.kind == TokenKind::Access)
        .expect("an access token is issued");
    let refresh = issued
        .iter()
        .find(|c| c.kind == TokenKind::Refresh)
        .expect("a refresh token is issued");
    for claims in [access, refresh] {
        assert_eq!(claims.subject, user.id);
        assert_eq!(claims.session_id, session.id);
        assert_eq!(claims.issued_at, now());
    }
    assert_eq!(refresh.token_id, session.refresh_jti);
    assert_ne!(access.token_id, refresh.token_id);
    assert_eq!(access.expires_at, now() + policy().access_ttl);
    assert_eq!(refresh.expires_at, now() + policy().refresh_ttl);

    assert_eq!(
        outcome.tokens.access_token,
        format!("access-{}", access.token_id)
    );
    assert_eq!(
        outcome.tokens.refresh_token,
        format!("refresh-{}", refresh.token_id)
    );
    assert_eq!(outcome.tokens.expires_in, policy().access_ttl.num_seconds());
    assert_eq!(outcome.tokens.expires_in, 900);
}

#[tokio::test]
async fn login_user_lookup_fault_propagates_without_verifying() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_email()
        .times(1)
        .returning(|_| Err(unavailable()));
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().never();
    hasher.expect_dummy_hash().never();
    let svc = service(
        users,
        sessions_untouched(),
        tokens_issuing_nothing(),
        hasher,
    );

    let result = login(&svc, PASSWORD).await;

    assert!(
        matches!(result, Err(LoginError::Fault(Fault::Unavailable(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn login_session_start_fault_propagates_without_issuing() {
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_start()
        .times(1)
        .returning(|_| Err(unavailable()));
    let svc = service(
        users_finding(Some(user())),
        sessions,
        tokens_issuing_nothing(),
        hasher_verifying_once(user_hash(), true),
    );

    let result = login(&svc, PASSWORD).await;

    assert!(
        matches!(result, Err(LoginError::Fault(Fault::Unavailable(_)))),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// refresh
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn refresh_with_a_token_of_the_wrong_kind_is_refused_without_store_access() {
    let svc = service(
        MockUserRepository::new(),
        sessions_untouched(),
        tokens_verifying(TokenKind::Refresh, Err(TokenError::WrongKind)),
        MockPasswordHasher::new(),
    );

    let result = svc.refresh(TOKEN).await;

    assert!(
        matches!(
            result,
            Err(RefreshError::Refused(Refusal::Token(TokenError::WrongKind)))
        ),
        "{result:?}"
    );
}

/// Refresh with the given refresh claims against a store holding `found`, where nothing may
/// be rotated, revoked or issued.
async fn refresh_refused(claims: Claims, found: Option<(Session, User)>) -> RefreshError {
    let mut sessions = sessions_finding(claims.session_id, found);
    sessions.expect_rotate_refresh().never();
    sessions.expect_revoke().never();
    let mut tokens = tokens_verifying(TokenKind::Refresh, Ok(claims));
    tokens.expect_issue().never();
    let svc = token_service(sessions, tokens);
    svc.refresh(TOKEN).await.unwrap_err()
}

/// A refresh with `claims` that must revoke session `sid` (once, now) and issue nothing.
async fn refresh_revoking(
    mut sessions: MockSessionRepository,
    sid: SessionId,
    claims: Claims,
) -> Result<TokenPair, RefreshError> {
    sessions
        .expect_revoke()
        .withf(move |id, at| *id == sid && *at == now())
        .times(1)
        .returning(|_, _| Ok(()));
    let mut tokens = tokens_verifying(TokenKind::Refresh, Ok(claims));
    tokens.expect_issue().never();
    let svc = token_service(sessions, tokens);
    svc.refresh(TOKEN).await
}

#[tokio::test]
async fn refresh_reuse_of_a_rotated_token_revokes_the_session() {
    let user = user();
    let session = session_of(&user);
    let stale = Claims {
        token_id: Uuid::new_v4(),
        ..claims_for(&session, TokenKind::Refresh)
    };
    let mut sessions = sessions_finding(session.id, Some((session.clone(), user)));
    // The store's compare-and-set decides: it holds another id, so nothing is rotated.
    let stale_id = stale.token_id;
    sessions
        .expect_rotate_refresh()
        .withf(move |_, presented, _, _| *presented == stale_id)
        .times(1)
        .returning(|_, _, _, _| Ok(false));
    let result = refresh_revoking(sessions, session.id, stale).await;

    assert!(
        matches!(result, Err(RefreshError::ReuseDetected)),
        "{result:?}"
    );
}

#[tokio::test]
async fn refresh_losing_a_concurrent_rotation_revokes_the_session() {
    let user = user();
    let session = session_of(&user);
    let claims = claims_for(&session, TokenKind::Refresh);
    let mut sessions = sessions_finding(session.id, Some((session.clone(), user)));
    sessions
        .expect_rotate_refresh()
        .times(1)
        .returning(|_, _, _, _| Ok(false));
    let result = refresh_revoking(sessions, session.id, claims).await;

    assert!(
        matches!(result, Err(RefreshError::ReuseDetected)),
        "{result:?}"
    );
}

/// A refresh with `claims` whose rotation `sessions` answers: nothing may be revoked, and a
/// pair may be issued. The outcome, and the claims issued.
async fn refresh_rotating(
    mut sessions: MockSessionRepository,
    claims: Claims,
) -> (Result<TokenPair, RefreshError>, Recorded<Claims>) {
    sessions.expect_revoke().never();
    let issued: Recorded<Claims> = recorded();
    let mut tokens = tokens_issuing_pair(&issued);
    tokens
        .expect_verify()
        .withf(|token, kind| token == TOKEN && *kind == TokenKind::Refresh)
        .times(1)
        .return_once(move |_, _| Ok(claims));
    let svc = token_service(sessions, tokens);
    (svc.refresh(TOKEN).await, issued)
}

/// `find_with_user` may answer from a cache that has not heard of the rotation that issued
/// the presented token yet: the store's compare-and-set accepts it, so it is no reuse.
#[tokio::test]
async fn refresh_with_a_stale_copy_of_the_session_still_rotates() {
    let user = user();
    let session = session_of(&user);
    let claims = Claims {
        token_id: Uuid::new_v4(), // newer than the copy's `refresh_jti`
        ..claims_for(&session, TokenKind::Refresh)
    };
    let presented = claims.token_id;
    let mut sessions = sessions_finding(session.id, Some((session.clone(), user)));
    sessions
        .expect_rotate_refresh()
        .withf(move |_, given, _, _| *given == presented)
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let (outcome, _) = refresh_rotating(sessions, claims).await;

    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn refresh_success_rotates_the_jti_and_caps_the_refresh_at_session_end() {
    let user = user();
    // Close to its maximum age: one hour left, far less than the 7-day refresh ttl.
    let session = Session {
        expires_at: now() + TimeDelta::hours(1),
        ..session_of(&user)
    };
    let presented = session.refresh_jti;
    let claims = claims_for(&session, TokenKind::Refresh);
    let mut sessions = sessions_finding(session.id, Some((session.clone(), user.clone())));
    let rotations: Recorded<(SessionId, Uuid, Uuid, DateTime<Utc>)> = recorded();
    {
        let rotations = Arc::clone(&rotations);
        sessions
            .expect_rotate_refresh()
            .times(1)
            .returning(move |id, presented, next, at| {
                rotations.lock().unwrap().push((id, presented, next, at));
                Ok(true)
            });
    }
    let (outcome, issued) = refresh_rotating(sessions, claims).await;

    let pair = outcome.unwrap();

    let rotations = taken(&rotations);
    assert_eq!(rotations.len(), 1);
    let (rotated_id, rotated_from, next, rotated_at) = rotations[0];
    assert_eq!(rotated_id, session.id);
    assert_eq!(rotated_from, presented);
    assert_ne!(next, presented);
    assert_eq!(rotated_at, now());

    let issued = taken(&issued);
    let access = issued
        .iter()
        .find(|c| c.kind == TokenKind::Access)
        .expect("an access token is issued");
    let refresh = issued
        .iter()
        .find(|c| c.kind == TokenKind::Refresh)
        .expect("a refresh token is issued");
    assert_eq!(refresh.token_id, next);
    assert_eq!(refresh.expires_at, session.expires_at);
    assert!(refresh.expires_at <= session.expires_at);
    for claims in [access, refresh] {
        assert_eq!(claims.subject, user.id);
        assert_eq!(claims.session_id, session.id);
        assert_eq!(claims.issued_at, now());
    }
    assert_eq!(access.expires_at, now() + policy().access_ttl);
    assert_eq!(pair.refresh_token, format!("refresh-{next}"));
    assert_eq!(pair.access_token, format!("access-{}", access.token_id));
    assert_eq!(pair.expires_in, policy().access_ttl.num_seconds());
}

#[tokio::test]
async fn refresh_caps_the_access_token_too_when_the_session_ends_sooner() {
    let user = user();
    let session = Session {
        expires_at: now() + TimeDelta::minutes(5),
        ..session_of(&user)
    };
    let claims = claims_for(&session, TokenKind::Refresh);
    let mut sessions = sessions_finding(session.id, Some((session.clone(), user)));
    sessions
        .expect_rotate_refresh()
        .times(1)
        .returning(|_, _, _, _| Ok(true));
    let (outcome, issued) = refresh_rotating(sessions, claims).await;

    let pair = outcome.unwrap();

    for claims in taken(&issued) {
        assert_eq!(claims.expires_at, session.expires_at, "{:?}", claims.kind);
    }
    assert_eq!(pair.expires_in, TimeDelta::minutes(5).num_seconds());
}

#[tokio::test]
async fn refresh_for_an_inactive_user_is_refused() {
    let user = inactive_user();
    let session = session_of(&user);
    let claims = claims_for(&session, TokenKind::Refresh);

    let error = refresh_refused(claims, Some((session, user))).await;

    assert!(
        matches!(error, RefreshError::Refused(Refusal::AccountInactive)),
        "{error:?}"
    );
}

#[tokio::test]
async fn refresh_of_a_revoked_session_is_refused() {
    let user = user();
    let session = Session {
        revoked_at: Some(now() - TimeDelta::minutes(1)),
        ..session_of(&user)
    };
    let claims = claims_for(&session, TokenKind::Refresh);

    let error = refresh_refused(claims, Some((session, user))).await;

    assert!(
        matches!(error, RefreshError::Refused(Refusal::SessionEnded)),
        "{error:?}"
    );
}

#[tokio::test]
async fn refresh_of_an_expired_session_is_refused() {
    let user = user();
    // Expiring exactly now: the end instant itself is already past the session.
    let session = Session {
        expires_at: now(),
        ..session_of(&user)
    };
    let claims = claims_for(&session, TokenKind::Refresh);

    let error = refresh_refused(claims, Some((session, user))).await;

    assert!(
        matches!(error, RefreshError::Refused(Refusal::SessionEnded)),
        "{error:?}"
    );
}

#[tokio::test]
async fn refresh_of_a_missing_session_is_refused() {
    let user = user();
    let claims = claims_for(&session_of(&user), TokenKind::Refresh);

    let error = refresh_refused(claims, None).await;

    assert!(
        matches!(error, RefreshError::Refused(Refusal::UnknownSession)),
        "{error:?}"
    );
}

#[tokio::test]
async fn refresh_of_a_session_of_another_user_is_refused() {
    let user = user();
    let session = session_of(&user);
    let claims = Claims {
        subject: UserId::new(),
        ..claims_for(&session, TokenKind::Refresh)
    };

    let error = refresh_refused(claims, Some((session, user))).await;

    assert!(
        matches!(error, RefreshError::Refused(Refusal::UnknownSession)),
        "{error:?}"
    );
}

#[tokio::test]
async fn refresh_session_lookup_fault_propagates() {
    let user = user();
    let session = session_of(&user);
    let claims = claims_for(&session, TokenKind::Refresh);
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_find_with_user()
        .times(1)
        .returning(|_| Err(unavailable()));
    sessions.expect_rotate_refresh().never();
    sessions.expect_revoke().never();
    let svc = service(
        MockUserRepository::new(),
        sessions,
        tokens_verifying(TokenKind::Refresh, Ok(claims)),
        MockPasswordHasher::new(),
    );

    let result = svc.refresh(TOKEN).await;

    assert!(
        matches!(result, Err(RefreshError::Fault(Fault::Unavailable(_)))),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// authenticate
// ---------------------------------------------------------------------------------------------

/// Authenticates an access token with `claims` against a store holding `found`; the store
/// is read exactly once and nothing else is touched.
async fn authenticate(
    claims: Claims,
    found: Option<(Session, User)>,
) -> Result<Principal, AuthenticateError> {
    let mut sessions = sessions_finding(claims.session_id, found);
    sessions.expect_rotate_refresh().never();
    sessions.expect_revoke().never();
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().never();
    users.expect_find_by_email().never();
    let mut tokens = tokens_verifying(TokenKind::Access, Ok(claims));
    tokens.expect_issue().never();
    let svc = service(users, sessions, tokens, MockPasswordHasher::new());
    svc.authenticate(TOKEN).await
}

#[tokio::test]
async fn authenticate_live_session_of_active_user_gives_the_principal_in_one_read() {
    let user = user();
    let session = session_of(&user);
    let claims = claims_for(&session, TokenKind::Access);

    let principal = authenticate(claims, Some((session.clone(), user.clone())))
        .await
        .unwrap();

    assert_eq!(
        principal,
        Principal {
            amr: session.amr.clone(),
            auth_time: session.created_at,
            user,
            session_id: session.id
        }
    );
}

#[tokio::test]
async fn authenticate_with_a_token_of_the_wrong_kind_is_refused() {
    let svc = service(
        MockUserRepository::new(),
        sessions_untouched(),
        tokens_verifying(TokenKind::Access, Err(TokenError::WrongKind)),
        MockPasswordHasher::new(),
    );

    let result = svc.authenticate(TOKEN).await;

    assert!(
        matches!(
            result,
            Err(AuthenticateError::Refused(Refusal::Token(
                TokenError::WrongKind
            )))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn authenticate_revoked_session_is_refused() {
    let user = user();
    let session = Session {
        revoked_at: Some(now() - TimeDelta::seconds(1)),
        ..session_of(&user)
    };
    let claims = claims_for(&session, TokenKind::Access);

    let result = authenticate(claims, Some((session, user))).await;

    assert!(
        matches!(
            result,
            Err(AuthenticateError::Refused(Refusal::SessionEnded))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn authenticate_expired_session_is_refused() {
    let user = user();
    let session = Session {
        expires_at: now() - TimeDelta::seconds(1),
        ..session_of(&user)
    };
    let claims = claims_for(&session, TokenKind::Access);

    let result = authenticate(claims, Some((session, user))).await;

    assert!(
        matches!(
            result,
            Err(AuthenticateError::Refused(Refusal::SessionEnded))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn authenticate_inactive_user_is_refused() {
    let user = inactive_user();
    let session = session_of(&user);
    let claims = claims_for(&session, TokenKind::Access);

    let result = authenticate(claims, Some((session, user))).await;

    assert!(
        matches!(
            result,
            Err(AuthenticateError::Refused(Refusal::AccountInactive))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn authenticate_missing_session_is_refused() {
    let claims = claims_for(&session_of(&user()), TokenKind::Access);

    let result = authenticate(claims, None).await;

    assert!(
        matches!(
            result,
            Err(AuthenticateError::Refused(Refusal::UnknownSession))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn authenticate_session_of_another_user_is_refused() {
    let user = user();
    let session = session_of(&user);
    let claims = Claims {
        subject: UserId::new(),
        ..claims_for(&session, TokenKind::Access)
    };

    let result = authenticate(claims, Some((session, user))).await;

    assert!(
        matches!(
            result,
            Err(AuthenticateError::Refused(Refusal::UnknownSession))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn authenticate_session_lookup_fault_propagates() {
    let claims = claims_for(&session_of(&user()), TokenKind::Access);
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_find_with_user()
        .times(1)
        .returning(|_| Err(unavailable()));
    let svc = service(
        MockUserRepository::new(),
        sessions,
        tokens_verifying(TokenKind::Access, Ok(claims)),
        MockPasswordHasher::new(),
    );

    let result = svc.authenticate(TOKEN).await;

    assert!(
        matches!(result, Err(AuthenticateError::Fault(Fault::Unavailable(_)))),
        "{result:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// register
// ---------------------------------------------------------------------------------------------

fn password() -> Password {
    Password::parse(PASSWORD).unwrap()
}

fn profile() -> NewUser {
    NewUser {
        username: Some(Username::parse("johnd").unwrap()),
        ..NewUser::default()
    }
}

/// A hasher that hashes [`PASSWORD`] once into [`USER_HASH`].
fn hasher_hashing_once() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .withf(|password| password.expose() == PASSWORD)
        .times(1)
        .returning(|_| Ok(user_hash()));
    hasher.expect_verify().never();
    hasher
}

/// Registers [`EMAIL`] as `kind` in an empty store; returns the outcome and what was inserted.
async fn register_new(kind: AccountKind) -> (User, Vec<User>) {
    let inserted: Recorded<User> = recorded();
    let mut users = users_finding(None);
    {
        let inserted = Arc::clone(&inserted);
        users.expect_insert().times(1).returning(move |user| {
            inserted.lock().unwrap().push(user.clone());
            Ok(())
        });
    }
    let svc = service(
        users,
        sessions_untouched(),
        tokens_issuing_nothing(),
        hasher_hashing_once(),
    );
    let user = svc
        .register(email(), &password(), profile(), kind)
        .await
        .unwrap();
    (user, taken(&inserted))
}

/// A service whose registration must neither hash a password nor insert a user.
fn service_registering_nothing(mut users: MockUserRepository) -> AuthService {
    users.expect_insert().never();
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().never();
    service(
        users,
        sessions_untouched(),
        tokens_issuing_nothing(),
        hasher,
    )
}

#[tokio::test]
async fn register_taken_email_is_refused_without_hashing() {
    let svc = service_registering_nothing(users_finding(Some(user())));

    let result = svc
        .register(email(), &password(), profile(), AccountKind::Regular)
        .await;

    assert!(
        matches!(result, Err(RegisterError::EmailTaken)),
        "{result:?}"
    );
}

#[tokio::test]
async fn register_enforces_the_password_policy_before_any_lookup() {
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().never();
    let svc = service_registering_nothing(users);

    for weak in ["password123", "johndoe123"] {
        let profile = NewUser {
            username: Some(Username::parse("johndoe123").unwrap()),
            ..NewUser::default()
        };
        let result = svc
            .register(
                email(),
                &Password::parse(weak).unwrap(),
                profile,
                AccountKind::Regular,
            )
            .await;
        assert!(
            matches!(result, Err(RegisterError::WeakPassword(_))),
            "{weak}: {result:?}"
        );
    }
}

/// A registration of a free email whose insert fails with `error()`.
async fn register_with_insert_failing(
    error: impl Fn() -> InsertUserError + Send + Sync + 'static,
) -> Result<User, RegisterError> {
    let mut users = users_finding(None);
    users
        .expect_insert()
        .times(1)
        .returning(move |_| Err(error()));
    let svc = service(
        users,
        sessions_untouched(),
        tokens_issuing_nothing(),
        hasher_hashing_once(),
    );
    svc.register(email(), &password(), profile(), AccountKind::Regular)
        .await
}

#[tokio::test]
async fn register_insert_username_taken_is_reported() {
    let result = register_with_insert_failing(|| InsertUserError::UsernameTaken).await;

    assert!(
        matches!(result, Err(RegisterError::UsernameTaken)),
        "{result:?}"
    );
}

#[tokio::test]
async fn register_insert_email_taken_race_is_reported() {
    let result = register_with_insert_failing(|| InsertUserError::EmailTaken).await;

    assert!(
        matches!(result, Err(RegisterError::EmailTaken)),
        "{result:?}"
    );
}

#[tokio::test]
async fn register_insert_fault_propagates() {
    let result = register_with_insert_failing(|| InsertUserError::Fault(unavailable())).await;

    assert!(
        matches!(result, Err(RegisterError::Fault(Fault::Unavailable(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn register_email_lookup_fault_propagates_without_hashing() {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_email()
        .times(1)
        .returning(|_| Err(unavailable()));
    let svc = service_registering_nothing(users);

    let result = svc
        .register(email(), &password(), profile(), AccountKind::Regular)
        .await;

    assert!(
        matches!(result, Err(RegisterError::Fault(Fault::Unavailable(_)))),
        "{result:?}"
    );
}

#[tokio::test]
async fn register_regular_account_is_an_active_unverified_user() {
    let (user, inserted) = register_new(AccountKind::Regular).await;

    assert_eq!(inserted, vec![user.clone()]);
    assert_eq!(user.email, email());
    assert_eq!(user.username, profile().username);
    assert_eq!(user.password_hash, user_hash());
    assert_eq!(user.date_joined, now());
    assert_eq!(user.last_login, None);
    assert_eq!(user.role, Role::User);
    assert!(user.is_active);
    assert!(!user.is_verified);
    assert!(!user.is_staff);
    assert!(!user.is_superuser);
}

#[tokio::test]
async fn register_superuser_account_is_a_verified_staff_admin() {
    let (user, inserted) = register_new(AccountKind::Superuser).await;

    assert_eq!(inserted, vec![user.clone()]);
    assert_eq!(user.password_hash, user_hash());
    assert_eq!(user.role, Role::Admin);
    assert!(user.is_active);
    assert!(user.is_verified);
    assert!(user.is_staff);
    assert!(user.is_superuser);
}

// ---------------------------------------------------------------------------------------------
// logout
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn logout_revokes_exactly_the_principals_session_now() {
    let user = user();
    let session = session_of(&user);
    let sid = session.id;
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_revoke()
        .withf(move |id, at| *id == sid && *at == now())
        .times(1)
        .returning(|_, _| Ok(()));
    let svc = service(
        MockUserRepository::new(),
        sessions,
        MockTokenService::new(),
        MockPasswordHasher::new(),
    );

    svc.logout(&Principal {
        amr: crate::Amr::password(),
        auth_time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        user,
        session_id: sid,
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn logout_fault_propagates() {
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_revoke()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    let svc = service(
        MockUserRepository::new(),
        sessions,
        MockTokenService::new(),
        MockPasswordHasher::new(),
    );

    let result = svc
        .logout(&Principal {
            amr: crate::Amr::password(),
            auth_time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            user: user(),
            session_id: SessionId::new(),
        })
        .await;

    assert!(matches!(result, Err(Fault::Unavailable(_))), "{result:?}");
}
