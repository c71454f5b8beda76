//! The account-lifecycle lines of the port contracts (`UserRepository`'s profile, password
//! and administration methods, `SessionRepository`'s listing, revocation and prune, and
//! `AuditLog`), checked against the Diesel store on PostgreSQL and on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use auth_domain::account::ProfileChange;
use auth_domain::admin::PrivilegeChange;
use auth_domain::audit::{kind, AuditEvent};
use auth_domain::listing::Start;
use auth_domain::ports::{
    AdministerError, AuditLog, SessionRepository, UpdateProfileError, UserRepository,
};
use auth_domain::session::ClientInfo;
use auth_domain::user::AccountKind;
use auth_domain::{
    Email, NewUser, PasswordHash, PersonName, Role, Session, SessionId, User, UserId, Username,
};
use auth_infra::testing::TestDatabase;
use auth_infra::Database;
use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use uuid::Uuid;

mod support;
use support::{connect, on_both_databases};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Now, to the second: what both backends store exactly.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

fn new_user(email: &str, role: Role) -> User {
    let mut user = User::register(
        Email::parse(email).unwrap(),
        NewUser::default(),
        PasswordHash::new("$2b$04$original-hash".into()),
        AccountKind::Regular,
        now(),
    );
    user.role = role;
    user
}

async fn stored(store: &Database, email: &str, role: Role) -> User {
    let user = new_user(email, role);
    store.insert(&user).await.unwrap();
    user
}

fn session_for(user: &User, created: DateTime<Utc>, expires: DateTime<Utc>) -> Session {
    Session {
        amr: auth_domain::Amr::password(),
        id: SessionId::new(),
        user_id: user.id,
        refresh_jti: Uuid::new_v4(),
        created_at: created,
        last_used_at: created,
        expires_at: expires,
        revoked_at: None,
        client: ClientInfo {
            user_agent: Some("agent/1".into()),
            address: Some("198.51.100.4".into()),
        },
    }
}

/// A live session of `user` opened `age` ago.
async fn live_session(store: &Database, user: &User, age: TimeDelta) -> Session {
    let session = session_for(user, now() - age, now() + TimeDelta::days(30));
    store.start(&session).await.unwrap();
    session
}

async fn session_state(store: &Database, id: SessionId) -> Option<Session> {
    store.find_with_user(id).await.unwrap().map(|(s, _)| s)
}

async fn user_state(store: &Database, id: UserId) -> Option<User> {
    store.find_by_id(id).await.unwrap()
}

fn demote() -> PrivilegeChange {
    PrivilegeChange {
        role: Some(Role::User),
        ..PrivilegeChange::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

async fn start_records_last_login(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, "a@example.com", Role::User).await;
    let session = live_session(&store, &user, TimeDelta::minutes(3)).await;

    let user = user_state(&store, user.id).await.unwrap();
    assert_eq!(user.last_login, Some(session.created_at));
}

async fn live_sessions_are_the_users_unrevoked_unexpired_ones_most_recent_first(db: TestDatabase) {
    let store = connect(&db);
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let bob = stored(&store, "bob@example.com", Role::User).await;
    let older = live_session(&store, &ann, TimeDelta::hours(5)).await;
    let newer = live_session(&store, &ann, TimeDelta::hours(1)).await;
    let revoked = live_session(&store, &ann, TimeDelta::minutes(30)).await;
    store.revoke(revoked.id, now()).await.unwrap();
    let expired = session_for(
        &ann,
        now() - TimeDelta::days(31),
        now() - TimeDelta::days(1),
    );
    store.start(&expired).await.unwrap();
    live_session(&store, &bob, TimeDelta::minutes(1)).await;

    let listed = store.list_live_for_user(ann.id, now()).await.unwrap();

    let ids: Vec<_> = listed.iter().map(|s| s.id).collect();
    assert_eq!(ids, [newer.id, older.id]);
    assert_eq!(listed[0], newer, "stored and read back unchanged");
    assert!(store
        .list_live_for_user(UserId::new(), now())
        .await
        .unwrap()
        .is_empty());
}

async fn revoke_for_user_only_revokes_a_live_session_of_that_user(db: TestDatabase) {
    let store = connect(&db);
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let bob = stored(&store, "bob@example.com", Role::User).await;
    let anns = live_session(&store, &ann, TimeDelta::hours(1)).await;
    let bobs = live_session(&store, &bob, TimeDelta::hours(1)).await;

    assert!(!store.revoke_for_user(bobs.id, ann.id, now()).await.unwrap());
    assert!(
        session_state(&store, bobs.id)
            .await
            .unwrap()
            .revoked_at
            .is_none(),
        "someone else's session is untouched"
    );
    assert!(!store
        .revoke_for_user(SessionId::new(), ann.id, now())
        .await
        .unwrap());

    let at = now();
    assert!(store.revoke_for_user(anns.id, ann.id, at).await.unwrap());
    assert_eq!(
        session_state(&store, anns.id).await.unwrap().revoked_at,
        Some(at)
    );
    assert!(
        !store.revoke_for_user(anns.id, ann.id, now()).await.unwrap(),
        "an ended session cannot be ended again"
    );

    let expired = session_for(
        &ann,
        now() - TimeDelta::days(31),
        now() - TimeDelta::days(1),
    );
    store.start(&expired).await.unwrap();
    assert!(!store
        .revoke_for_user(expired.id, ann.id, now())
        .await
        .unwrap());
}

async fn revoke_all_for_user_counts_and_spares_other_users(db: TestDatabase) {
    let store = connect(&db);
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let bob = stored(&store, "bob@example.com", Role::User).await;
    let first = live_session(&store, &ann, TimeDelta::hours(2)).await;
    let second = live_session(&store, &ann, TimeDelta::hours(1)).await;
    let already = live_session(&store, &ann, TimeDelta::hours(3)).await;
    let earlier = now() - TimeDelta::minutes(10);
    store.revoke(already.id, earlier).await.unwrap();
    let bobs = live_session(&store, &bob, TimeDelta::hours(1)).await;

    assert_eq!(store.revoke_all_for_user(ann.id, now()).await.unwrap(), 2);

    for id in [first.id, second.id] {
        assert!(session_state(&store, id)
            .await
            .unwrap()
            .revoked_at
            .is_some());
    }
    assert_eq!(
        session_state(&store, already.id).await.unwrap().revoked_at,
        Some(earlier),
        "the first revocation time is kept"
    );
    assert!(session_state(&store, bobs.id)
        .await
        .unwrap()
        .revoked_at
        .is_none());
}

async fn prune_deletes_expired_and_long_revoked_sessions_only(db: TestDatabase) {
    let store = connect(&db);
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let live = live_session(&store, &ann, TimeDelta::hours(1)).await;
    let expired = session_for(
        &ann,
        now() - TimeDelta::days(31),
        now() - TimeDelta::days(1),
    );
    store.start(&expired).await.unwrap();
    let long_revoked = live_session(&store, &ann, TimeDelta::days(10)).await;
    store
        .revoke(long_revoked.id, now() - TimeDelta::days(8))
        .await
        .unwrap();
    let recently_revoked = live_session(&store, &ann, TimeDelta::days(2)).await;
    store
        .revoke(recently_revoked.id, now() - TimeDelta::days(1))
        .await
        .unwrap();

    let deleted = store
        .prune(now(), now() - TimeDelta::days(7))
        .await
        .unwrap();

    assert_eq!(deleted, 2);
    assert!(session_state(&store, live.id).await.is_some());
    assert!(session_state(&store, recently_revoked.id).await.is_some());
    assert!(session_state(&store, expired.id).await.is_none());
    assert!(session_state(&store, long_revoked.id).await.is_none());
    assert_eq!(
        store
            .prune(now(), now() - TimeDelta::days(7))
            .await
            .unwrap(),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Profile and password
// ---------------------------------------------------------------------------------------------

async fn profile_update_writes_the_given_fields_only(db: TestDatabase) {
    let store = connect(&db);
    let mut ann = new_user("ann@example.com", Role::User);
    ann.first_name = Some(PersonName::parse("Ann").unwrap());
    ann.last_name = Some(PersonName::parse("Lee").unwrap());
    store.insert(&ann).await.unwrap();

    let change = ProfileChange {
        username: Some(Some(Username::parse("Ann.Lee").unwrap())),
        last_name: Some(None),
        date_of_birth: Some(NaiveDate::from_ymd_opt(1990, 2, 3)),
        ..ProfileChange::default()
    };
    let updated = store
        .update_profile(ann.id, &change)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(
        updated.username.as_ref().map(Username::as_str),
        Some("Ann.Lee")
    );
    assert_eq!(updated.first_name, ann.first_name, "absent: unchanged");
    assert_eq!(updated.last_name, None, "null: cleared");
    assert_eq!(updated.date_of_birth, NaiveDate::from_ymd_opt(1990, 2, 3));
    assert_eq!(updated.email, ann.email);
    assert_eq!(user_state(&store, ann.id).await.unwrap(), updated);

    let unchanged = store
        .update_profile(ann.id, &ProfileChange::default())
        .await
        .unwrap();
    assert_eq!(unchanged, Some(updated));
    assert!(store
        .update_profile(UserId::new(), &change)
        .await
        .unwrap()
        .is_none());
}

async fn profile_update_refuses_a_username_taken_in_another_case(db: TestDatabase) {
    let store = connect(&db);
    let mut bob = new_user("bob@example.com", Role::User);
    bob.username = Some(Username::parse("bob").unwrap());
    store.insert(&bob).await.unwrap();
    let ann = stored(&store, "ann@example.com", Role::User).await;

    let change = ProfileChange {
        username: Some(Some(Username::parse("BOB").unwrap())),
        first_name: Some(Some(PersonName::parse("Ann").unwrap())),
        ..ProfileChange::default()
    };
    let result = store.update_profile(ann.id, &change).await;

    assert!(
        matches!(result, Err(UpdateProfileError::UsernameTaken)),
        "{result:?}"
    );
    let ann_now = user_state(&store, ann.id).await.unwrap();
    assert_eq!(ann_now.first_name, None, "nothing written");
    // Keeping one's own username in another case is not a conflict.
    let own = ProfileChange {
        username: Some(Some(Username::parse("Bob").unwrap())),
        ..ProfileChange::default()
    };
    assert!(store.update_profile(bob.id, &own).await.is_ok());
}

async fn password_change_revokes_every_session_and_stores_the_fresh_one(db: TestDatabase) {
    let store = connect(&db);
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let bob = stored(&store, "bob@example.com", Role::User).await;
    let old_one = live_session(&store, &ann, TimeDelta::hours(2)).await;
    let old_two = live_session(&store, &ann, TimeDelta::hours(1)).await;
    let bobs = live_session(&store, &bob, TimeDelta::hours(1)).await;
    let last_login = user_state(&store, ann.id).await.unwrap().last_login;
    let at = now();
    let fresh = session_for(&ann, at, at + TimeDelta::days(30));
    let hash = PasswordHash::new("$2b$04$new-hash".into());

    let revoked = store
        .change_password(ann.id, old_one.id, &hash, at, Some(fresh.clone()))
        .await
        .unwrap();

    assert_eq!(revoked, Some(2));
    for id in [old_one.id, old_two.id] {
        assert_eq!(
            session_state(&store, id).await.unwrap().revoked_at,
            Some(at)
        );
    }
    assert_eq!(session_state(&store, fresh.id).await.unwrap(), fresh);
    assert!(session_state(&store, bobs.id)
        .await
        .unwrap()
        .revoked_at
        .is_none());
    let ann_now = user_state(&store, ann.id).await.unwrap();
    assert_eq!(ann_now.password_hash, hash);
    assert_eq!(ann_now.password_changed_at, Some(at));
    assert_eq!(ann_now.last_login, last_login, "not a login");
}

async fn password_change_of_a_missing_user_writes_nothing(db: TestDatabase) {
    let store = connect(&db);
    let ghost = new_user("ghost@example.com", Role::User);
    let fresh = session_for(&ghost, now(), now() + TimeDelta::days(1));

    let outcome = store
        .change_password(
            ghost.id,
            fresh.id,
            &ghost.password_hash,
            now(),
            Some(fresh.clone()),
        )
        .await
        .unwrap();

    assert_eq!(outcome, None);
    assert!(session_state(&store, fresh.id).await.is_none());
}

/// A compare-and-set on the caller's session: a change from a session that is no longer live
/// (revoked by a concurrent change, or expired) writes nothing.
async fn password_change_from_an_ended_session_writes_nothing(db: TestDatabase) {
    let store = connect(&db);
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let first = live_session(&store, &ann, TimeDelta::hours(2)).await;
    let second = live_session(&store, &ann, TimeDelta::hours(1)).await;
    let at = now();
    let winner = session_for(&ann, at, at + TimeDelta::days(30));
    let new_hash = PasswordHash::new("$2b$04$winner".into());
    assert_eq!(
        store
            .change_password(ann.id, first.id, &new_hash, at, Some(winner.clone()))
            .await
            .unwrap(),
        Some(2)
    );
    // The second session was revoked by the first change: its own change is refused.
    let loser = session_for(&ann, at, at + TimeDelta::days(30));
    let other_hash = PasswordHash::new("$2b$04$loser".into());
    assert_eq!(
        store
            .change_password(ann.id, second.id, &other_hash, at, Some(loser.clone()))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        user_state(&store, ann.id).await.unwrap().password_hash,
        new_hash
    );
    assert!(session_state(&store, loser.id).await.is_none());
    assert!(session_state(&store, winner.id)
        .await
        .unwrap()
        .revoked_at
        .is_none());
}

/// Deactivating an account kills its outstanding verification and reset links for good: a
/// reactivation does not bring them back.
async fn deactivation_deletes_the_users_one_time_tokens(db: TestDatabase) {
    use auth_domain::recovery::{
        OneTimeSecret, OneTimeToken, OneTimeTokenKind, OneTimeTokenRepository,
    };
    let store = connect(&db);
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let bob = stored(&store, "bob@example.com", Role::User).await;
    let token = |user: &User, kind, secret: &str| OneTimeToken {
        digest: OneTimeSecret::new(secret.into()).digest(),
        kind,
        user_id: user.id,
        email: user.email.clone(),
        password_fingerprint: None,
        created_at: now(),
        expires_at: now() + TimeDelta::hours(1),
        used_at: None,
    };
    let reset = token(&ann, OneTimeTokenKind::PasswordReset, "ann-reset-secret");
    let verify = token(&ann, OneTimeTokenKind::VerifyEmail, "ann-verify-secret");
    let bobs = token(&bob, OneTimeTokenKind::PasswordReset, "bob-reset-secret");
    for token in [&reset, &verify, &bobs] {
        store.insert_token(token).await.unwrap();
    }
    let toggle = |active| PrivilegeChange {
        is_active: Some(active),
        ..PrivilegeChange::default()
    };
    store
        .update_privileges(ann.id, &toggle(false), false, now())
        .await
        .unwrap();
    store
        .update_privileges(ann.id, &toggle(true), false, now())
        .await
        .unwrap();
    assert!(store.find_token(&reset.digest).await.unwrap().is_none());
    assert!(store.find_token(&verify.digest).await.unwrap().is_none());
    assert!(
        store.find_token(&bobs.digest).await.unwrap().is_some(),
        "others' stay"
    );
}

// ---------------------------------------------------------------------------------------------
// Administration
// ---------------------------------------------------------------------------------------------

async fn users_are_listed_in_registration_order_with_the_total(db: TestDatabase) {
    let store = connect(&db);
    let mut ids = Vec::new();
    for n in 0..5 {
        let mut user = new_user(&format!("u{n}@example.com"), Role::User);
        user.date_joined = now() - TimeDelta::minutes(10 - n);
        store.insert(&user).await.unwrap();
        ids.push(user.id);
    }

    let first = store.list(None, Start::Offset(0), 2).await.unwrap();
    let rest = store.list(None, Start::Offset(2), 10).await.unwrap();
    let beyond = store.list(None, Start::Offset(50), 10).await.unwrap();
    let total = store.count(None).await.unwrap();
    let total_beyond = total;

    assert_eq!(total, 5);
    assert_eq!(first.iter().map(|u| u.id).collect::<Vec<_>>(), ids[..2]);
    assert_eq!(rest.iter().map(|u| u.id).collect::<Vec<_>>(), ids[2..]);
    assert!(beyond.is_empty());
    assert_eq!(total_beyond, 5);
}

async fn privilege_changes_write_the_given_fields_and_deactivation_ends_sessions(db: TestDatabase) {
    let store = connect(&db);
    stored(&store, "root@example.com", Role::Admin).await;
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let session = live_session(&store, &ann, TimeDelta::hours(1)).await;

    let promote = PrivilegeChange {
        role: Some(Role::Other),
        is_verified: Some(true),
        is_staff: Some(true),
        ..PrivilegeChange::default()
    };
    let updated = store
        .update_privileges(ann.id, &promote, false, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.role, Role::Other);
    assert!(updated.is_verified && updated.is_staff && updated.is_active);
    assert!(!updated.is_superuser);
    assert!(session_state(&store, session.id)
        .await
        .unwrap()
        .revoked_at
        .is_none());

    let at = now();
    let deactivate = PrivilegeChange {
        is_active: Some(false),
        ..PrivilegeChange::default()
    };
    let updated = store
        .update_privileges(ann.id, &deactivate, true, at)
        .await
        .unwrap()
        .unwrap();
    assert!(!updated.is_active);
    assert_eq!(updated.role, Role::Other, "untouched");
    assert_eq!(
        session_state(&store, session.id).await.unwrap().revoked_at,
        Some(at),
        "deactivation ends the sessions in the same write"
    );
    assert!(store
        .update_privileges(UserId::new(), &promote, true, now())
        .await
        .unwrap()
        .is_none());
}

async fn the_last_administrator_cannot_be_demoted_deactivated_or_deleted(db: TestDatabase) {
    let store = connect(&db);
    let root = stored(&store, "root@example.com", Role::Admin).await;
    // Neither an inactive admin nor a mere staff member counts as an administrator.
    let mut retired = new_user("retired@example.com", Role::Admin);
    retired.is_active = false;
    store.insert(&retired).await.unwrap();
    let mut staff = new_user("staff@example.com", Role::User);
    staff.is_staff = true;
    store.insert(&staff).await.unwrap();
    let session = live_session(&store, &root, TimeDelta::hours(1)).await;
    let deactivate = PrivilegeChange {
        is_active: Some(false),
        ..PrivilegeChange::default()
    };

    for change in [demote(), deactivate] {
        let result = store.update_privileges(root.id, &change, true, now()).await;
        assert!(
            matches!(result, Err(AdministerError::LastAdministrator)),
            "{result:?}"
        );
    }
    let result = store.delete(root.id, true).await;
    assert!(
        matches!(result, Err(AdministerError::LastAdministrator)),
        "{result:?}"
    );
    let root_now = user_state(&store, root.id).await.unwrap();
    assert!(
        root_now.role == Role::Admin && root_now.is_active,
        "nothing written"
    );
    assert!(session_state(&store, session.id)
        .await
        .unwrap()
        .revoked_at
        .is_none());

    // A superuser counts: with one, the admin-by-role may step down.
    let mut superuser = new_user("super@example.com", Role::User);
    superuser.is_superuser = true;
    store.insert(&superuser).await.unwrap();
    let demoted = store
        .update_privileges(root.id, &demote(), true, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(demoted.role, Role::User);
    assert!(matches!(
        store.delete(superuser.id, true).await,
        Err(AdministerError::LastAdministrator)
    ));
}

async fn two_administrators_demoting_each_other_at_once_leave_one(db: TestDatabase) {
    let store = connect(&db);
    for round in 0..5 {
        let a = stored(&store, &format!("a{round}@example.com"), Role::Admin).await;
        let b = stored(&store, &format!("b{round}@example.com"), Role::Admin).await;
        let (first, second) = (store.clone(), store.clone());
        let (ra, rb) = tokio::join!(
            tokio::spawn(
                async move { first.update_privileges(a.id, &demote(), true, now()).await }
            ),
            tokio::spawn(
                async move { second.update_privileges(b.id, &demote(), true, now()).await }
            ),
        );
        let outcomes = [ra.unwrap(), rb.unwrap()];
        let succeeded = outcomes.iter().filter(|o| matches!(o, Ok(Some(_)))).count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Err(AdministerError::LastAdministrator)))
            .count();
        assert_eq!((succeeded, refused), (1, 1), "round {round}: {outcomes:?}");
        // Leave no administrator for the next round's pair to lean on.
        let survivor = if matches!(outcomes[0], Ok(Some(_))) {
            b
        } else {
            a
        };
        let other = stored(&store, &format!("c{round}@example.com"), Role::Admin).await;
        store
            .update_privileges(survivor.id, &demote(), true, now())
            .await
            .unwrap();
        store.delete(other.id, false).await.unwrap();
    }
}

async fn deleting_a_user_deletes_their_sessions(db: TestDatabase) {
    let store = connect(&db);
    stored(&store, "root@example.com", Role::Admin).await;
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let session = live_session(&store, &ann, TimeDelta::hours(1)).await;

    assert!(store.delete(ann.id, true).await.unwrap());

    assert!(user_state(&store, ann.id).await.is_none());
    assert!(session_state(&store, session.id).await.is_none());
    assert!(store
        .list_live_for_user(ann.id, now())
        .await
        .unwrap()
        .is_empty());
    assert!(!store.delete(ann.id, true).await.unwrap(), "already gone");
}

// ---------------------------------------------------------------------------------------------
// Audit trail
// ---------------------------------------------------------------------------------------------

async fn audit_events_are_listed_by_subject_or_actor_newest_first(db: TestDatabase) {
    let store = connect(&db);
    let (ann, root, bob) = (UserId::new(), UserId::new(), UserId::new());
    let base = now() - TimeDelta::hours(1);
    let client = ClientInfo {
        user_agent: Some("agent/2".into()),
        address: Some("203.0.113.9".into()),
    };
    let login = AuditEvent::new(kind::LOGIN_SUCCEEDED, base)
        .user(ann)
        .session(SessionId::new())
        .client(&client);
    let changed = AuditEvent::new(kind::USER_UPDATED, base + TimeDelta::minutes(1))
        .user(ann)
        .actor(root)
        .detail("role", "admin")
        .detail("is_staff", "true");
    let unrelated = AuditEvent::new(kind::LOGGED_OUT, base + TimeDelta::minutes(2)).user(bob);
    let anonymous = AuditEvent::new(kind::LOGIN_FAILED, base + TimeDelta::minutes(3))
        .detail("email", "nobody@example.com");
    for event in [&login, &changed, &unrelated, &anonymous] {
        store.record(event).await.unwrap();
    }

    let anns = store
        .list_for_user(ann, Start::Offset(0), 10)
        .await
        .unwrap();
    let total = store.count_for_user(ann).await.unwrap();
    assert_eq!(total, 2);
    assert_eq!(
        anns,
        [changed.clone(), login.clone()],
        "read back unchanged, newest first"
    );
    let roots = store
        .list_for_user(root, Start::Offset(0), 10)
        .await
        .unwrap();
    let total = store.count_for_user(root).await.unwrap();
    assert_eq!(
        (roots, total),
        (vec![changed.clone()], 1),
        "the actor sees it too"
    );
    let page = store.list_for_user(ann, Start::Offset(1), 1).await.unwrap();
    let total = store.count_for_user(ann).await.unwrap();
    assert_eq!((page, total), (vec![login], 2));
    assert_eq!(
        changed.detail,
        BTreeMap::from([
            ("is_staff".to_owned(), "true".to_owned()),
            ("role".to_owned(), "admin".to_owned())
        ])
    );
}

async fn audit_events_outlive_their_user_and_cannot_be_changed(db: TestDatabase) {
    let store = connect(&db);
    stored(&store, "root@example.com", Role::Admin).await;
    let ann = stored(&store, "ann@example.com", Role::User).await;
    let event = AuditEvent::new(kind::USER_REGISTERED, now()).user(ann.id);
    store.record(&event).await.unwrap();
    assert!(store.delete(ann.id, true).await.unwrap());

    let events = store
        .list_for_user(ann.id, Start::Offset(0), 10)
        .await
        .unwrap();
    assert_eq!(events, std::slice::from_ref(&event));

    // Append-only in the database itself, whoever connects.
    let id = event.id.to_string();
    let refused = match db.url.backend {
        auth_infra::Backend::Postgres => {
            use diesel::{Connection, RunQueryDsl};
            let mut conn = diesel::PgConnection::establish(db.raw_url()).unwrap();
            let update = diesel::sql_query(format!(
                "UPDATE audit_events SET event = 'x' WHERE id = '{id}'"
            ))
            .execute(&mut conn);
            let delete = diesel::sql_query(format!("DELETE FROM audit_events WHERE id = '{id}'"))
                .execute(&mut conn);
            update.is_err() && delete.is_err()
        }
        auth_infra::Backend::Sqlite => {
            use diesel::{Connection, RunQueryDsl};
            let path = db.url.sqlite_path().unwrap();
            let mut conn = diesel::SqliteConnection::establish(path).unwrap();
            let update = diesel::sql_query(format!(
                "UPDATE audit_events SET event = 'x' WHERE id = '{id}'"
            ))
            .execute(&mut conn);
            let delete = diesel::sql_query(format!("DELETE FROM audit_events WHERE id = '{id}'"))
                .execute(&mut conn);
            update.is_err() && delete.is_err()
        }
    };
    assert!(refused, "UPDATE and DELETE of audit events are refused");
    let events = store
        .list_for_user(ann.id, Start::Offset(0), 10)
        .await
        .unwrap();
    assert_eq!(events, [event]);
}

on_both_databases!(
    start_records_last_login,
    live_sessions_are_the_users_unrevoked_unexpired_ones_most_recent_first,
    revoke_for_user_only_revokes_a_live_session_of_that_user,
    revoke_all_for_user_counts_and_spares_other_users,
    prune_deletes_expired_and_long_revoked_sessions_only,
    profile_update_writes_the_given_fields_only,
    profile_update_refuses_a_username_taken_in_another_case,
    password_change_revokes_every_session_and_stores_the_fresh_one,
    password_change_of_a_missing_user_writes_nothing,
    password_change_from_an_ended_session_writes_nothing,
    deactivation_deletes_the_users_one_time_tokens,
    users_are_listed_in_registration_order_with_the_total,
    privilege_changes_write_the_given_fields_and_deactivation_ends_sessions,
    the_last_administrator_cannot_be_demoted_deactivated_or_deleted,
    two_administrators_demoting_each_other_at_once_leave_one,
    deleting_a_user_deletes_their_sessions,
    audit_events_are_listed_by_subject_or_actor_newest_first,
    audit_events_outlive_their_user_and_cannot_be_changed,
);
