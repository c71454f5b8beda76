//! The adapter contract suite for the Diesel store: every line of the `UserRepository`,
//! `SessionRepository` and `Readiness` documentation in `auth_domain::ports`, written once
//! against the port traits and run unchanged on a fresh PostgreSQL database and a fresh SQLite
//! file per test (see the `contract_suite!` invocation at the bottom).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use auth_domain::ports::{InsertUserError, Readiness, SessionRepository, UserRepository};
use auth_domain::{
    AccountKind, ClientInfo, Email, NewUser, PasswordHash, PersonName, Role, Session, SessionId,
    User, UserId, Username,
};
use auth_infra::testing::TestDatabase;
use auth_infra::{Database, DatabaseOptions};
use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use uuid::Uuid;

mod support;
use support::{connect, now};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn email(raw: &str) -> Email {
    Email::parse(raw).expect("valid email")
}

fn username(raw: &str) -> Username {
    Username::parse(raw).expect("valid username")
}

fn hash() -> PasswordHash {
    // Shape of a bcrypt hash; the store never reads it.
    PasswordHash::new("$2b$04$abcdefghijklmnopqrstuu5B9.Lc2XqSx0KcJrWmZ1xWfXIGkUdIm".into())
}

/// A regular user with every optional profile field left empty.
fn plain_user(address: &str) -> User {
    User::register(
        email(address),
        NewUser::default(),
        hash(),
        AccountKind::Regular,
        now(),
    )
}

/// A user with `username` set.
fn user_named(address: &str, name: &str) -> User {
    User::register(
        email(address),
        NewUser {
            username: Some(username(name)),
            ..NewUser::default()
        },
        hash(),
        AccountKind::Regular,
        now(),
    )
}

/// A user whose every field differs from its default, so a round trip checks them all.
fn full_user() -> User {
    let joined = now() - TimeDelta::days(3) + TimeDelta::microseconds(123_457);
    let mut user = User::register(
        email("Full.User@Example.com"),
        NewUser {
            username: Some(username("Full.User_01")),
            first_name: Some(PersonName::parse("Zoë").expect("name")),
            last_name: Some(PersonName::parse("O'Brien-Łukasz").expect("name")),
            date_of_birth: Some(NaiveDate::from_ymd_opt(1987, 2, 28).expect("date")),
        },
        PasswordHash::new("$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW".into()),
        AccountKind::Regular,
        joined,
    );
    user.role = Role::Other;
    user.is_active = false;
    user.is_verified = true;
    user.is_staff = true;
    user.is_superuser = false;
    user.last_login = Some(joined + TimeDelta::hours(5) + TimeDelta::microseconds(1));
    user
}

/// A live session of `user`, 30 days long, with client details.
fn session_of(user: &User, created_at: DateTime<Utc>) -> Session {
    Session {
        amr: auth_domain::Amr::password(),
        id: SessionId::new(),
        user_id: user.id,
        refresh_jti: Uuid::new_v4(),
        created_at,
        last_used_at: created_at,
        expires_at: created_at + TimeDelta::days(30),
        revoked_at: None,
        client: ClientInfo {
            user_agent: Some("Mozilla/5.0 (X11; Linux x86_64) test".into()),
            address: Some("203.0.113.7".into()),
        },
    }
}

/// Inserts `user` and starts a session for them; returns the stored session.
async fn user_with_session(store: &Database, address: &str) -> (User, Session) {
    let users: &dyn UserRepository = store;
    let sessions: &dyn SessionRepository = store;
    let mut user = plain_user(address);
    users.insert(&user).await.expect("insert user");
    let session = session_of(&user, now());
    sessions.start(&session).await.expect("start session");
    user.last_login = Some(session.created_at);
    (user, session)
}

async fn stored_session(store: &Database, id: SessionId) -> Session {
    let sessions: &dyn SessionRepository = store;
    sessions
        .find_with_user(id)
        .await
        .expect("find_with_user")
        .expect("session exists")
        .0
}

// ---------------------------------------------------------------------------------------------
// UserRepository
// ---------------------------------------------------------------------------------------------

/// insert, then find_by_email and find_by_id return the user exactly as given: every field,
/// Option fields set, timestamps to the microsecond.
async fn user_round_trips_every_field(store: &Database) {
    let users: &dyn UserRepository = store;
    let user = full_user();
    users.insert(&user).await.expect("insert");

    let by_email = users
        .find_by_email(&user.email)
        .await
        .expect("find_by_email");
    assert_eq!(by_email.as_ref(), Some(&user));
    let by_id = users.find_by_id(user.id).await.expect("find_by_id");
    assert_eq!(by_id.as_ref(), Some(&user));

    // The email is stored normalised: any casing of it finds the user.
    let shouted = email("  FULL.USER@EXAMPLE.COM ");
    let found = users.find_by_email(&shouted).await.expect("find_by_email");
    assert_eq!(found.map(|u| u.id), Some(user.id));
}

/// Option fields left empty come back empty; a superuser's flags and role come back as set.
async fn user_round_trips_empty_options_and_superuser(store: &Database) {
    let users: &dyn UserRepository = store;
    let plain = plain_user("plain@example.com");
    let admin = User::register(
        email("root@example.com"),
        NewUser::default(),
        hash(),
        AccountKind::Superuser,
        now() - TimeDelta::seconds(1),
    );
    users.insert(&plain).await.expect("insert plain");
    users.insert(&admin).await.expect("insert admin");

    let found = users
        .find_by_id(plain.id)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(found, plain);
    assert_eq!(found.username, None);
    assert_eq!(found.first_name, None);
    assert_eq!(found.last_name, None);
    assert_eq!(found.date_of_birth, None);
    assert_eq!(found.last_login, None);
    assert_eq!(found.role, Role::User);

    let found = users
        .find_by_email(&admin.email)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(found, admin);
    assert_eq!(found.role, Role::Admin);
    assert!(found.is_active && found.is_verified && found.is_staff && found.is_superuser);
}

/// find_* of an unknown user is `None`, not an error — on an empty and on a non-empty table.
async fn find_unknown_user_is_none(store: &Database) {
    let users: &dyn UserRepository = store;
    assert!(users
        .find_by_email(&email("nobody@example.com"))
        .await
        .expect("find_by_email")
        .is_none());
    assert!(users
        .find_by_id(UserId::new())
        .await
        .expect("find_by_id")
        .is_none());

    users
        .insert(&plain_user("somebody@example.com"))
        .await
        .expect("insert");
    assert!(users
        .find_by_email(&email("nobody@example.com"))
        .await
        .expect("find_by_email")
        .is_none());
    assert!(users
        .find_by_id(UserId::new())
        .await
        .expect("find_by_id")
        .is_none());
}

/// A second user with the same email is `EmailTaken`, and nothing of it is written.
async fn insert_existing_email_is_email_taken(store: &Database) {
    let users: &dyn UserRepository = store;
    let first = user_named("taken@example.com", "first");
    users.insert(&first).await.expect("insert first");

    // Different id and username, same (normalised) email.
    let second = user_named("TAKEN@Example.COM", "second");
    let outcome = users.insert(&second).await;
    assert!(
        matches!(outcome, Err(InsertUserError::EmailTaken)),
        "expected EmailTaken, got {outcome:?}"
    );

    // Nothing written: the second id is unknown, the email still names the first user.
    assert!(users.find_by_id(second.id).await.expect("find").is_none());
    assert_eq!(
        users.find_by_email(&first.email).await.expect("find"),
        Some(first.clone())
    );
    // The second username was not reserved by the failed insert.
    let third = user_named("third@example.com", "second");
    users
        .insert(&third)
        .await
        .expect("the failed insert reserved nothing");
}

/// A username differing only in case from an existing one is `UsernameTaken`, and nothing of
/// the failed user is written.
async fn insert_existing_username_any_case_is_username_taken(store: &Database) {
    let users: &dyn UserRepository = store;
    let first = user_named("john@example.com", "John.Doe");
    users.insert(&first).await.expect("insert first");

    for (i, variant) in ["John.Doe", "john.doe", "JOHN.DOE", "jOhN.dOe"]
        .into_iter()
        .enumerate()
    {
        let other = user_named(&format!("other{i}@example.com"), variant);
        let outcome = users.insert(&other).await;
        assert!(
            matches!(outcome, Err(InsertUserError::UsernameTaken)),
            "username {variant:?}: expected UsernameTaken, got {outcome:?}"
        );
        assert!(users.find_by_id(other.id).await.expect("find").is_none());
        assert!(users
            .find_by_email(&other.email)
            .await
            .expect("find")
            .is_none());
    }

    // Non-ASCII letters compare case-insensitively too.
    let accented = user_named("emile@example.com", "Émile");
    users.insert(&accented).await.expect("insert accented");
    let outcome = users
        .insert(&user_named("emile2@example.com", "éMILE"))
        .await;
    assert!(
        matches!(outcome, Err(InsertUserError::UsernameTaken)),
        "expected UsernameTaken, got {outcome:?}"
    );

    // The stored username keeps the case it was registered with.
    let stored = users
        .find_by_id(first.id)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(
        stored.username.as_ref().map(Username::as_str),
        Some("John.Doe")
    );
}

/// A user whose email AND username are both taken is refused with one of the two errors, and
/// nothing of it is written.
async fn insert_with_email_and_username_taken_writes_nothing(store: &Database) {
    let users: &dyn UserRepository = store;
    let first = user_named("both@example.com", "both");
    users.insert(&first).await.expect("insert");
    let clash = user_named("both@example.com", "BOTH");
    let outcome = users.insert(&clash).await;
    assert!(
        matches!(
            outcome,
            Err(InsertUserError::EmailTaken | InsertUserError::UsernameTaken)
        ),
        "expected EmailTaken or UsernameTaken, got {outcome:?}"
    );
    assert!(users.find_by_id(clash.id).await.expect("find").is_none());
    assert_eq!(
        users.find_by_email(&first.email).await.expect("find"),
        Some(first)
    );
}

/// Users without a username do not clash with each other on it.
async fn users_without_username_do_not_clash(store: &Database) {
    let users: &dyn UserRepository = store;
    for i in 0..3 {
        users
            .insert(&plain_user(&format!("anon{i}@example.com")))
            .await
            .expect("several users without a username");
    }
}

/// `racers` concurrent inserts of users sharing one email: exactly one `Ok`, every other one
/// `EmailTaken`, and the stored user is the winner.
async fn race_same_email(store: &Database, racers: usize) {
    let contenders: Vec<User> = (0..racers)
        .map(|i| user_named("race@example.com", &format!("racer{i}")))
        .collect();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(racers));
    let tasks: Vec<_> = contenders
        .iter()
        .cloned()
        .map(|user| {
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let users: &dyn UserRepository = &store;
                users.insert(&user).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.expect("task") {
            Ok(()) => winners.push(i),
            Err(InsertUserError::EmailTaken) => {}
            Err(other) => panic!("racer {i}: expected Ok or EmailTaken, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one insert wins, got {winners:?}");

    let users: &dyn UserRepository = store;
    let stored = users
        .find_by_email(&email("race@example.com"))
        .await
        .expect("find")
        .expect("the winner is stored");
    assert_eq!(stored, contenders[winners[0]]);
    for (i, user) in contenders.iter().enumerate() {
        if i != winners[0] {
            assert!(users.find_by_id(user.id).await.expect("find").is_none());
        }
    }
}

async fn two_concurrent_inserts_same_email_one_wins(store: &Database) {
    race_same_email(store, 2).await;
}

async fn twenty_concurrent_inserts_same_email_one_wins(store: &Database) {
    race_same_email(store, 20).await;
}

/// Concurrent inserts of different emails but one username (in different cases): exactly one
/// `Ok`, the rest `UsernameTaken`.
async fn concurrent_inserts_same_username_one_wins(store: &Database) {
    const RACERS: usize = 10;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let name = if i % 2 == 0 { "Racer" } else { "rACER" };
            let user = user_named(&format!("racer{i}@example.com"), name);
            let store = store.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let users: &dyn UserRepository = &store;
                users.insert(&user).await
            })
        })
        .collect();
    let mut wins = 0;
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.expect("task") {
            Ok(()) => wins += 1,
            Err(InsertUserError::UsernameTaken) => {}
            Err(other) => panic!("racer {i}: expected Ok or UsernameTaken, got {other:?}"),
        }
    }
    assert_eq!(wins, 1, "exactly one insert wins");
}

/// update_password_hash replaces the hash of that user only, leaving every other field as it
/// was.
async fn update_password_hash_replaces_only_the_hash(store: &Database) {
    let users: &dyn UserRepository = store;
    let user = full_user();
    let bystander = user_named("bystander@example.com", "bystander");
    users.insert(&user).await.expect("insert");
    users.insert(&bystander).await.expect("insert bystander");

    let new_hash =
        PasswordHash::new("$2b$12$NEWHASHNEWHASHNEWHASHu5B9.Lc2XqSx0KcJrWmZ1xWfXIGkUdIm".into());
    users
        .update_password_hash(user.id, &new_hash)
        .await
        .expect("update");

    let expected = User {
        password_hash: new_hash.clone(),
        ..user.clone()
    };
    assert_eq!(
        users.find_by_id(user.id).await.expect("find"),
        Some(expected.clone())
    );
    assert_eq!(
        users.find_by_email(&user.email).await.expect("find"),
        Some(expected)
    );
    assert_eq!(
        users.find_by_id(bystander.id).await.expect("find"),
        Some(bystander)
    );
}

/// update_password_hash of a missing user is not an error and writes nothing.
async fn update_password_hash_of_missing_user_is_ok(store: &Database) {
    let users: &dyn UserRepository = store;
    let existing = plain_user("exists@example.com");
    users.insert(&existing).await.expect("insert");
    let missing = UserId::new();
    users
        .update_password_hash(missing, &PasswordHash::new("$2b$04$whatever".into()))
        .await
        .expect("updating a missing user");
    assert!(users.find_by_id(missing).await.expect("find").is_none());
    assert_eq!(
        users.find_by_id(existing.id).await.expect("find"),
        Some(existing)
    );
}

// ---------------------------------------------------------------------------------------------
// SessionRepository
// ---------------------------------------------------------------------------------------------

/// start stores the session and sets the user's last_login to session.created_at;
/// find_with_user returns both, exactly.
async fn start_stores_session_and_sets_last_login(store: &Database) {
    let users: &dyn UserRepository = store;
    let sessions: &dyn SessionRepository = store;
    let user = full_user();
    users.insert(&user).await.expect("insert");

    let created = now() + TimeDelta::microseconds(7);
    let mut session = session_of(&user, created);
    session.last_used_at = created + TimeDelta::seconds(1);
    sessions.start(&session).await.expect("start");

    let (found_session, found_user) = sessions
        .find_with_user(session.id)
        .await
        .expect("find_with_user")
        .expect("session found");
    assert_eq!(found_session, session);
    let mut expected_user = user.clone();
    expected_user.last_login = Some(created);
    assert_eq!(found_user, expected_user);

    // The user repository sees the new last_login too.
    let by_id = users
        .find_by_id(user.id)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(by_id.last_login, Some(created));

    // A second login moves last_login again.
    let later = created + TimeDelta::minutes(10);
    let second = session_of(&user, later);
    sessions.start(&second).await.expect("start second");
    let by_id = users
        .find_by_id(user.id)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(by_id.last_login, Some(later));
    // ... and leaves the first session as it was.
    assert_eq!(stored_session(store, session.id).await, session);
}

/// A session without client details round-trips with them empty.
async fn session_without_client_info_round_trips(store: &Database) {
    let users: &dyn UserRepository = store;
    let sessions: &dyn SessionRepository = store;
    let user = plain_user("noclient@example.com");
    users.insert(&user).await.expect("insert");
    let mut session = session_of(&user, now());
    session.client = ClientInfo::default();
    sessions.start(&session).await.expect("start");
    assert_eq!(stored_session(store, session.id).await, session);
}

/// start for a user that does not exist fails and writes nothing ("both or neither").
async fn start_for_unknown_user_writes_nothing(store: &Database) {
    let sessions: &dyn SessionRepository = store;
    let ghost = plain_user("ghost@example.com"); // never inserted
    let session = session_of(&ghost, now());
    assert!(sessions.start(&session).await.is_err());
    assert!(sessions
        .find_with_user(session.id)
        .await
        .expect("find_with_user")
        .is_none());
}

/// A failed start (the session id already exists) leaves last_login untouched ("both or
/// neither").
async fn failed_start_leaves_last_login_untouched(store: &Database) {
    let users: &dyn UserRepository = store;
    let sessions: &dyn SessionRepository = store;
    let (user, session) = user_with_session(store, "dup@example.com").await;

    let mut duplicate = session_of(&user, session.created_at + TimeDelta::hours(1));
    duplicate.id = session.id;
    assert!(sessions.start(&duplicate).await.is_err());

    let found = users
        .find_by_id(user.id)
        .await
        .expect("find")
        .expect("some");
    assert_eq!(found.last_login, Some(session.created_at));
    assert_eq!(stored_session(store, session.id).await, session);
}

/// find_with_user of an unknown session id is `None`.
async fn find_unknown_session_is_none(store: &Database) {
    let sessions: &dyn SessionRepository = store;
    assert!(sessions
        .find_with_user(SessionId::new())
        .await
        .expect("find_with_user")
        .is_none());
    user_with_session(store, "someone@example.com").await;
    assert!(sessions
        .find_with_user(SessionId::new())
        .await
        .expect("find_with_user")
        .is_none());
}

/// Revoked and expired sessions are returned as they are.
async fn find_returns_revoked_and_expired_sessions_as_they_are(store: &Database) {
    let users: &dyn UserRepository = store;
    let sessions: &dyn SessionRepository = store;
    let user = plain_user("old@example.com");
    users.insert(&user).await.expect("insert");

    let long_ago = now() - TimeDelta::days(60);
    let expired = session_of(&user, long_ago); // expired 30 days ago
    sessions.start(&expired).await.expect("start expired");
    let (found, found_user) = sessions
        .find_with_user(expired.id)
        .await
        .expect("find")
        .expect("expired session is returned");
    assert_eq!(found, expired);
    assert_eq!(found_user.id, user.id);

    let mut revoked = session_of(&user, now());
    revoked.revoked_at = Some(revoked.created_at + TimeDelta::seconds(2));
    sessions.start(&revoked).await.expect("start revoked");
    assert_eq!(stored_session(store, revoked.id).await, revoked);

    let live = session_of(&user, now());
    sessions.start(&live).await.expect("start live");
    let revoked_at = now() + TimeDelta::seconds(1);
    sessions.revoke(live.id, revoked_at).await.expect("revoke");
    let found = stored_session(store, live.id).await;
    assert_eq!(found.revoked_at, Some(revoked_at));
    assert_eq!(
        Session {
            revoked_at: None,
            ..found
        },
        live
    );
}

/// rotate_refresh with the current jti: true once; the stored jti becomes `next` and
/// last_used_at becomes `now`; the old jti is then stale (false, nothing changed).
async fn rotate_refresh_replaces_current_jti_once(store: &Database) {
    let sessions: &dyn SessionRepository = store;
    let (_, session) = user_with_session(store, "rotate@example.com").await;

    let next = Uuid::new_v4();
    let at = session.created_at + TimeDelta::minutes(5) + TimeDelta::microseconds(3);
    assert!(sessions
        .rotate_refresh(session.id, session.refresh_jti, next, at)
        .await
        .expect("rotate"));
    let stored = stored_session(store, session.id).await;
    assert_eq!(stored.refresh_jti, next);
    assert_eq!(stored.last_used_at, at);
    // Nothing else moved.
    assert_eq!(
        Session {
            refresh_jti: session.refresh_jti,
            last_used_at: session.last_used_at,
            ..stored.clone()
        },
        session
    );

    // The same presented jti again (a replay): false, nothing changed.
    let later = at + TimeDelta::minutes(1);
    assert!(!sessions
        .rotate_refresh(session.id, session.refresh_jti, Uuid::new_v4(), later)
        .await
        .expect("rotate"));
    assert_eq!(stored_session(store, session.id).await, stored);

    // A jti that was never current: false.
    assert!(!sessions
        .rotate_refresh(session.id, Uuid::new_v4(), Uuid::new_v4(), later)
        .await
        .expect("rotate"));
    assert_eq!(stored_session(store, session.id).await, stored);

    // The new current jti rotates again.
    let next2 = Uuid::new_v4();
    assert!(sessions
        .rotate_refresh(session.id, next, next2, later)
        .await
        .expect("rotate"));
    let stored = stored_session(store, session.id).await;
    assert_eq!(stored.refresh_jti, next2);
    assert_eq!(stored.last_used_at, later);
}

/// rotate_refresh on a session that does not exist: false.
async fn rotate_refresh_of_unknown_session_is_false(store: &Database) {
    let sessions: &dyn SessionRepository = store;
    assert!(!sessions
        .rotate_refresh(SessionId::new(), Uuid::new_v4(), Uuid::new_v4(), now())
        .await
        .expect("rotate"));
}

/// rotate_refresh on a revoked session: false, even with the right jti.
async fn rotate_refresh_of_revoked_session_is_false(store: &Database) {
    let sessions: &dyn SessionRepository = store;
    let (_, session) = user_with_session(store, "revoked@example.com").await;
    let revoked_at = session.created_at + TimeDelta::seconds(1);
    sessions
        .revoke(session.id, revoked_at)
        .await
        .expect("revoke");
    let before = stored_session(store, session.id).await;

    assert!(!sessions
        .rotate_refresh(
            session.id,
            session.refresh_jti,
            Uuid::new_v4(),
            revoked_at + TimeDelta::seconds(1),
        )
        .await
        .expect("rotate"));
    assert_eq!(stored_session(store, session.id).await, before);
}

/// rotate_refresh once `expires_at` is reached (expires_at <= now): false; a microsecond
/// before: true.
async fn rotate_refresh_of_expired_session_is_false(store: &Database) {
    let users: &dyn UserRepository = store;
    let sessions: &dyn SessionRepository = store;
    let user = plain_user("expiring@example.com");
    users.insert(&user).await.expect("insert");

    // Whole-second and sub-second expiry times: the comparison must be on time, not on text.
    for expires_at in [
        now().trunc_subsecs(0) + TimeDelta::hours(1),
        now() + TimeDelta::hours(1) + TimeDelta::microseconds(250_001),
    ] {
        let mut session = session_of(&user, expires_at - TimeDelta::days(1));
        session.expires_at = expires_at;
        sessions.start(&session).await.expect("start");
        let before = stored_session(store, session.id).await;

        for at in [
            expires_at,
            expires_at + TimeDelta::microseconds(1),
            expires_at + TimeDelta::seconds(1),
            expires_at + TimeDelta::days(1),
        ] {
            assert!(
                !sessions
                    .rotate_refresh(session.id, session.refresh_jti, Uuid::new_v4(), at)
                    .await
                    .expect("rotate"),
                "rotation at {at} of a session expiring at {expires_at} must fail"
            );
            assert_eq!(stored_session(store, session.id).await, before);
        }

        let just_before = expires_at - TimeDelta::microseconds(1);
        let next = Uuid::new_v4();
        assert!(
            sessions
                .rotate_refresh(session.id, session.refresh_jti, next, just_before)
                .await
                .expect("rotate"),
            "rotation at {just_before} of a session expiring at {expires_at} must succeed"
        );
        assert_eq!(stored_session(store, session.id).await.refresh_jti, next);
    }
}

/// Of 10 concurrent rotations presenting the same jti, exactly one returns true, and the
/// stored jti is that one's `next`.
async fn concurrent_rotations_exactly_one_wins(store: &Database) {
    const RACERS: usize = 10;
    let (_, session) = user_with_session(store, "concurrent@example.com").await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(RACERS));
    let nexts: Vec<Uuid> = (0..RACERS).map(|_| Uuid::new_v4()).collect();
    let at = session.created_at + TimeDelta::minutes(1);
    let tasks: Vec<_> = nexts
        .iter()
        .map(|&next| {
            let store = store.clone();
            let barrier = barrier.clone();
            let (id, presented) = (session.id, session.refresh_jti);
            tokio::spawn(async move {
                barrier.wait().await;
                let sessions: &dyn SessionRepository = &store;
                sessions.rotate_refresh(id, presented, next, at).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        if task.await.expect("task").expect("rotate") {
            winners.push(i);
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one rotation wins, got {winners:?}"
    );
    assert_eq!(
        stored_session(store, session.id).await.refresh_jti,
        nexts[winners[0]]
    );
}

/// revoke marks the session revoked; revoking again is Ok and keeps the first time.
async fn revoke_is_idempotent_and_keeps_first_time(store: &Database) {
    let sessions: &dyn SessionRepository = store;
    let (_, session) = user_with_session(store, "revoke@example.com").await;
    let (_, other) = user_with_session(store, "bystander@example.com").await;

    let first = session.created_at + TimeDelta::seconds(10) + TimeDelta::microseconds(42);
    sessions.revoke(session.id, first).await.expect("revoke");
    assert_eq!(
        stored_session(store, session.id).await.revoked_at,
        Some(first)
    );

    sessions
        .revoke(session.id, first + TimeDelta::hours(1))
        .await
        .expect("second revoke is not an error");
    sessions
        .revoke(session.id, first - TimeDelta::hours(1))
        .await
        .expect("an earlier revoke is not an error");
    let stored = stored_session(store, session.id).await;
    assert_eq!(stored.revoked_at, Some(first));
    assert_eq!(
        Session {
            revoked_at: None,
            ..stored
        },
        session
    );

    // Other sessions are untouched.
    assert_eq!(stored_session(store, other.id).await, other);
}

/// Revoking a session that does not exist is Ok and creates nothing.
async fn revoke_missing_session_is_ok(store: &Database) {
    let sessions: &dyn SessionRepository = store;
    let id = SessionId::new();
    sessions
        .revoke(id, now())
        .await
        .expect("revoking a missing session");
    assert!(sessions
        .find_with_user(id)
        .await
        .expect("find_with_user")
        .is_none());
}

/// revoke_all_for_user revokes, at `now`, every session of the user not revoked yet (expired
/// ones included), returns how many, keeps earlier revocation times, and leaves other users'
/// sessions untouched.
async fn revoke_all_for_user_revokes_only_that_users_live_sessions(store: &Database) {
    let users: &dyn UserRepository = store;
    let sessions: &dyn SessionRepository = store;
    let (user, first) = user_with_session(store, "everything@example.com").await;
    let (_, bystander) = user_with_session(store, "bystander@example.com").await;

    let second = session_of(&user, now());
    sessions.start(&second).await.expect("start");
    let mut expired = session_of(&user, now() - TimeDelta::days(90));
    expired.expires_at = now() - TimeDelta::days(60);
    sessions.start(&expired).await.expect("start expired");
    let mut already = session_of(&user, now());
    let earlier = now() - TimeDelta::minutes(3);
    already.revoked_at = Some(earlier);
    sessions.start(&already).await.expect("start revoked");

    let at = now() + TimeDelta::seconds(1) + TimeDelta::microseconds(5);
    let revoked = sessions
        .revoke_all_for_user(user.id, at)
        .await
        .expect("revoke_all_for_user");
    assert_eq!(revoked, 3, "first, second and expired were not revoked yet");

    for session in [&first, &second, &expired] {
        assert_eq!(
            stored_session(store, session.id).await,
            Session {
                revoked_at: Some(at),
                ..(*session).clone()
            }
        );
    }
    assert_eq!(stored_session(store, already.id).await, already);
    assert_eq!(stored_session(store, bystander.id).await, bystander);

    // Again: nothing left to revoke, nothing moves.
    let again = sessions
        .revoke_all_for_user(user.id, at + TimeDelta::hours(1))
        .await
        .expect("revoke_all_for_user");
    assert_eq!(again, 0);
    assert_eq!(stored_session(store, first.id).await.revoked_at, Some(at));

    // A user without sessions, and an unknown user: zero, not an error.
    let lonely = plain_user("lonely@example.com");
    users.insert(&lonely).await.expect("insert");
    assert_eq!(
        sessions
            .revoke_all_for_user(lonely.id, at)
            .await
            .expect("revoke_all_for_user"),
        0
    );
    assert_eq!(
        sessions
            .revoke_all_for_user(UserId::new(), at)
            .await
            .expect("revoke_all_for_user"),
        0
    );
    assert_eq!(stored_session(store, bystander.id).await, bystander);
}

/// After revoke_all_for_user, no session of the user can rotate its refresh token.
async fn revoke_all_for_user_stops_rotation(store: &Database) {
    let sessions: &dyn SessionRepository = store;
    let (user, session) = user_with_session(store, "stop@example.com").await;
    let at = session.created_at + TimeDelta::seconds(1);
    assert_eq!(
        sessions
            .revoke_all_for_user(user.id, at)
            .await
            .expect("revoke_all_for_user"),
        1
    );
    assert!(!sessions
        .rotate_refresh(
            session.id,
            session.refresh_jti,
            Uuid::new_v4(),
            at + TimeDelta::seconds(1)
        )
        .await
        .expect("rotate"));
}

// ---------------------------------------------------------------------------------------------
// Readiness
// ---------------------------------------------------------------------------------------------

async fn readiness_is_ok_on_a_live_database(store: &Database) {
    let readiness: &dyn Readiness = store;
    readiness.check().await.expect("ready");
    // Still ready under load.
    let checks: Vec<_> = (0..15)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { Readiness::check(&store).await })
        })
        .collect();
    for check in checks {
        check.await.expect("task").expect("ready");
    }
}

// ---------------------------------------------------------------------------------------------
// The suite, once per backend
// ---------------------------------------------------------------------------------------------

macro_rules! contract_suite {
    ($($check:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let db = auth_infra::testing::TestDatabase::postgres();
                    let store = super::connect(&db);
                    super::$check(&store).await;
                }
            )*
        }

        /// The same contract with the session cache on: a change made through the store is
        /// seen by its next read at once (the cache forgets it locally, before any notice).
        mod postgres_cached {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let db = auth_infra::testing::TestDatabase::postgres();
                    let options = auth_infra::DatabaseOptions {
                        session_cache_size: 1_000,
                        ..auth_infra::DatabaseOptions::default()
                    };
                    let store = auth_infra::Database::connect(&db.url, &options).expect("connect");
                    super::$check(&store).await;
                }
            )*
        }

        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let db = auth_infra::testing::TestDatabase::sqlite();
                    let store = super::connect(&db);
                    super::$check(&store).await;
                }
            )*
        }

        /// The same contract on SQLite with its session cache on.
        mod sqlite_cached {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let db = auth_infra::testing::TestDatabase::sqlite();
                    let options = auth_infra::DatabaseOptions {
                        session_cache_size: 1_000,
                        ..auth_infra::DatabaseOptions::default()
                    };
                    let store = auth_infra::Database::connect(&db.url, &options).expect("connect");
                    super::$check(&store).await;
                }
            )*
        }
    };
}

contract_suite!(
    user_round_trips_every_field,
    user_round_trips_empty_options_and_superuser,
    find_unknown_user_is_none,
    insert_existing_email_is_email_taken,
    insert_existing_username_any_case_is_username_taken,
    insert_with_email_and_username_taken_writes_nothing,
    users_without_username_do_not_clash,
    two_concurrent_inserts_same_email_one_wins,
    twenty_concurrent_inserts_same_email_one_wins,
    concurrent_inserts_same_username_one_wins,
    update_password_hash_replaces_only_the_hash,
    update_password_hash_of_missing_user_is_ok,
    start_stores_session_and_sets_last_login,
    session_without_client_info_round_trips,
    start_for_unknown_user_writes_nothing,
    failed_start_leaves_last_login_untouched,
    find_unknown_session_is_none,
    find_returns_revoked_and_expired_sessions_as_they_are,
    rotate_refresh_replaces_current_jti_once,
    rotate_refresh_of_unknown_session_is_false,
    rotate_refresh_of_revoked_session_is_false,
    rotate_refresh_of_expired_session_is_false,
    concurrent_rotations_exactly_one_wins,
    revoke_is_idempotent_and_keeps_first_time,
    revoke_missing_session_is_ok,
    revoke_all_for_user_revokes_only_that_users_live_sessions,
    revoke_all_for_user_stops_rotation,
    readiness_is_ok_on_a_live_database,
);

// ---------------------------------------------------------------------------------------------
// Setup failures (backend-independent)
// ---------------------------------------------------------------------------------------------

fn connect_to(raw: &str) -> Result<Database, String> {
    let url = auth_infra::db::DatabaseUrl::parse(raw).expect("parses");
    Database::connect(&url, &DatabaseOptions::default()).map_err(|e| format!("{e} | {e:?}"))
}

/// An unreachable PostgreSQL is an error, reported quickly.
#[test]
fn connect_to_unreachable_postgres_fails_quickly() {
    let started = Instant::now();
    let outcome = connect_to("postgres://postgres@127.0.0.1:1/nope");
    assert!(outcome.is_err(), "connecting to port 1 must fail");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

/// The connection error never shows the URL's password.
#[test]
fn connect_error_does_not_reveal_the_password() {
    let started = Instant::now();
    let Err(error) = connect_to("postgres://u:sekret@127.0.0.1:1/x") else {
        panic!("connecting to port 1 must fail");
    };
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        !error.contains("sekret"),
        "error reveals the password: {error}"
    );

    let url = auth_infra::db::DatabaseUrl::parse("postgres://u:sekret@127.0.0.1:1/x").expect("url");
    assert!(!format!("{url} {url:?}").contains("sekret"));
}

/// A SQLite file that cannot be created is an error, not a panic.
#[test]
fn connect_to_sqlite_in_missing_directory_fails() {
    let dir = std::env::temp_dir().join(format!("auth-missing-{}", Uuid::new_v4().simple()));
    let raw = format!("sqlite://{}", dir.join("nested").join("auth.db").display());
    assert!(connect_to(&raw).is_err());
    assert!(!dir.exists());
}

// ---------------------------------------------------------------------------------------------
// Unavailability (backend-specific ways of taking the store away)
// ---------------------------------------------------------------------------------------------

/// Readiness is `Err(Unavailable)` once the PostgreSQL database is gone, and says so within
/// the checkout timeout rather than hanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_readiness_fails_when_the_database_is_gone() {
    let db = TestDatabase::postgres();
    let options = DatabaseOptions {
        max_connections: 2,
        checkout_timeout: Duration::from_millis(500),
        ..DatabaseOptions::default()
    };
    let store = Database::connect(&db.url, &options).expect("connect");
    let readiness: &dyn Readiness = &store;
    readiness.check().await.expect("ready while it exists");

    drop(db); // DROP DATABASE ... WITH (FORCE): open connections are terminated.
    let started = Instant::now();
    let outcome = readiness.check().await;
    assert!(
        matches!(outcome, Err(auth_domain::Fault::Unavailable(_))),
        "expected Unavailable, got {outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// A SQLite write blocked by another process's lock past the busy timeout is
/// `Fault::Unavailable` (retry later), and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_write_locked_out_is_unavailable() {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    let db = TestDatabase::sqlite();
    let store = connect(&db);
    let users: &dyn UserRepository = &store;
    let path = db.url.sqlite_path().expect("sqlite path").to_owned();

    let mut locker = diesel::sqlite::SqliteConnection::establish(&path).expect("second connection");
    locker.batch_execute("BEGIN EXCLUSIVE").expect("lock");

    let user = plain_user("locked@example.com");
    let outcome = users.insert(&user).await;
    assert!(
        matches!(
            outcome,
            Err(InsertUserError::Fault(auth_domain::Fault::Unavailable(_)))
        ),
        "expected Fault::Unavailable, got {outcome:?}"
    );

    locker.batch_execute("ROLLBACK").expect("unlock");
    assert!(users.find_by_id(user.id).await.expect("find").is_none());
    users.insert(&user).await.expect("insert once unlocked");
}
