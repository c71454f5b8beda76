//! The contracts of `OneTimeTokenRepository` and `MailOutbox` (auth-domain), checked against
//! the Diesel store on a fresh SQLite file and a fresh PostgreSQL database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use auth_domain::mail::{MailIntent, MailOutbox};
use auth_domain::ports::{SessionRepository, UserRepository};
use auth_domain::recovery::{
    password_fingerprint, OneTimeToken, OneTimeTokenKind, OneTimeTokenRepository, TokenDigest,
};
use auth_domain::{ClientInfo, Email, PasswordHash, Session, SessionId, User};
use auth_infra::testing::TestDatabase;
use auth_infra::Database;
use chrono::TimeDelta;
use uuid::Uuid;

mod support;
use support::{connect, now, on_both_databases, stored, user_with_hash};

const OLD_HASH: &str = "$2b$04$old-hash-old-hash-old-hash-old-hash-old-hash-old-h";
const NEW_HASH: &str = "$2b$04$new-hash-new-hash-new-hash-new-hash-new-hash-new-h";

async fn new_session(store: &Database, user: &User) -> Session {
    let at = now();
    let session = Session {
        amr: auth_domain::Amr::password(),
        id: SessionId::new(),
        user_id: user.id,
        refresh_jti: Uuid::new_v4(),
        created_at: at,
        last_used_at: at,
        expires_at: at + TimeDelta::days(30),
        revoked_at: None,
        client: ClientInfo::default(),
    };
    store.start(&session).await.unwrap();
    session
}

fn token(user: &User, kind: OneTimeTokenKind, secret: &str) -> OneTimeToken {
    let at = now();
    OneTimeToken {
        digest: TokenDigest::of(secret),
        kind,
        user_id: user.id,
        email: user.email.clone(),
        password_fingerprint: (kind == OneTimeTokenKind::PasswordReset)
            .then(|| password_fingerprint(&user.password_hash)),
        created_at: at,
        expires_at: at + TimeDelta::hours(1),
        used_at: None,
    }
}

async fn hash_of(store: &Database, user: &User) -> String {
    store
        .find_by_id(user.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .as_str()
        .to_owned()
}

async fn revoked(store: &Database, session: &Session) -> bool {
    let (found, _) = store.find_with_user(session.id).await.unwrap().unwrap();
    found.revoked_at.is_some()
}

// ---------------------------------------------------------------------------------------------
// OneTimeTokenRepository
// ---------------------------------------------------------------------------------------------

async fn tokens_round_trip_and_unknown_digests_are_none(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let stored = token(&user, OneTimeTokenKind::PasswordReset, "secret-1");
    store.insert_token(&stored).await.unwrap();

    assert_eq!(
        store.find_token(&stored.digest).await.unwrap(),
        Some(stored)
    );
    assert_eq!(
        store.find_token(&TokenDigest::of("other")).await.unwrap(),
        None
    );
}

async fn verification_is_redeemed_once_and_marks_the_user(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let stored = token(&user, OneTimeTokenKind::VerifyEmail, "secret-v");
    store.insert_token(&stored).await.unwrap();
    let at = now();

    let first = store
        .redeem_email_verification(&stored.digest, user.id, &user.email, at)
        .await
        .unwrap();
    let second = store
        .redeem_email_verification(&stored.digest, user.id, &user.email, at)
        .await
        .unwrap();

    assert!(first && !second);
    assert!(
        store
            .find_by_id(user.id)
            .await
            .unwrap()
            .unwrap()
            .is_verified
    );
    let used = store.find_token(&stored.digest).await.unwrap().unwrap();
    assert_eq!(used.used_at, Some(at));
}

async fn verification_for_a_changed_email_writes_nothing(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let stored = token(&user, OneTimeTokenKind::VerifyEmail, "secret-v");
    store.insert_token(&stored).await.unwrap();
    db.execute(&format!(
        "UPDATE users SET email = 'ann.new@example.com' WHERE id = '{}'",
        user.id
    ));

    let redeemed = store
        .redeem_email_verification(&stored.digest, user.id, &user.email, now())
        .await
        .unwrap();

    assert!(!redeemed);
    assert!(
        !store
            .find_by_id(user.id)
            .await
            .unwrap()
            .unwrap()
            .is_verified
    );
    // The transaction rolled back: the token was not spent either.
    assert_eq!(
        store
            .find_token(&stored.digest)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None
    );
}

async fn expired_wrong_kind_and_foreign_tokens_are_not_redeemed(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let other = stored(&store, user_with_hash("bob@example.com", OLD_HASH)).await;
    let verify = token(&user, OneTimeTokenKind::VerifyEmail, "v");
    let reset = token(&user, OneTimeTokenKind::PasswordReset, "r");
    store.insert_token(&verify).await.unwrap();
    store.insert_token(&reset).await.unwrap();
    let expected = PasswordHash::new(OLD_HASH.into());
    let new_hash = PasswordHash::new(NEW_HASH.into());

    // At the expiry instant the token is dead already.
    let at_expiry = verify.expires_at;
    assert!(!store
        .redeem_email_verification(&verify.digest, user.id, &user.email, at_expiry)
        .await
        .unwrap());
    // A reset token does not verify, a verification token does not reset.
    assert!(!store
        .redeem_email_verification(&reset.digest, user.id, &user.email, now())
        .await
        .unwrap());
    assert!(!store
        .redeem_password_reset(&verify.digest, user.id, &expected, &new_hash, now())
        .await
        .unwrap());
    // Someone else's token does nothing for (or to) another account.
    assert!(!store
        .redeem_password_reset(&reset.digest, other.id, &expected, &new_hash, now())
        .await
        .unwrap());

    assert_eq!(hash_of(&store, &user).await, OLD_HASH);
    assert_eq!(hash_of(&store, &other).await, OLD_HASH);
    assert!(
        !store
            .find_by_id(user.id)
            .await
            .unwrap()
            .unwrap()
            .is_verified
    );
    for digest in [&verify.digest, &reset.digest] {
        assert_eq!(
            store.find_token(digest).await.unwrap().unwrap().used_at,
            None
        );
    }
}

async fn reset_replaces_the_hash_and_ends_every_session_of_the_user(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let other = stored(&store, user_with_hash("bob@example.com", OLD_HASH)).await;
    let sessions = [
        new_session(&store, &user).await,
        new_session(&store, &user).await,
    ];
    let bystander = new_session(&store, &other).await;
    let stored = token(&user, OneTimeTokenKind::PasswordReset, "secret-r");
    store.insert_token(&stored).await.unwrap();
    let (expected, new_hash) = (
        PasswordHash::new(OLD_HASH.into()),
        PasswordHash::new(NEW_HASH.into()),
    );

    let at = now();
    let first = store
        .redeem_password_reset(&stored.digest, user.id, &expected, &new_hash, at)
        .await
        .unwrap();
    let second = store
        .redeem_password_reset(&stored.digest, user.id, &expected, &new_hash, at)
        .await
        .unwrap();

    assert!(first && !second);
    assert_eq!(hash_of(&store, &user).await, NEW_HASH);
    for session in &sessions {
        assert!(revoked(&store, session).await);
    }
    assert!(!revoked(&store, &bystander).await);
    assert_eq!(hash_of(&store, &other).await, OLD_HASH);
}

async fn reset_after_a_password_change_writes_nothing(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let session = new_session(&store, &user).await;
    let stored = token(&user, OneTimeTokenKind::PasswordReset, "secret-r");
    store.insert_token(&stored).await.unwrap();
    let changed = PasswordHash::new("$2b$04$changed-by-another-route".into());
    store.update_password_hash(user.id, &changed).await.unwrap();

    let redeemed = store
        .redeem_password_reset(
            &stored.digest,
            user.id,
            &PasswordHash::new(OLD_HASH.into()),
            &PasswordHash::new(NEW_HASH.into()),
            now(),
        )
        .await
        .unwrap();

    assert!(!redeemed);
    assert_eq!(hash_of(&store, &user).await, changed.as_str());
    assert!(!revoked(&store, &session).await);
    assert_eq!(
        store
            .find_token(&stored.digest)
            .await
            .unwrap()
            .unwrap()
            .used_at,
        None
    );
}

async fn concurrent_redemptions_of_one_token_succeed_once(db: TestDatabase) {
    let store = Arc::new(connect(&db));
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let stored = token(&user, OneTimeTokenKind::PasswordReset, "secret-r");
    store.insert_token(&stored).await.unwrap();

    let attempts = (0..8).map(|_| {
        let (store, digest, id) = (store.clone(), stored.digest.clone(), user.id);
        tokio::spawn(async move {
            store
                .redeem_password_reset(
                    &digest,
                    id,
                    &PasswordHash::new(OLD_HASH.into()),
                    &PasswordHash::new(NEW_HASH.into()),
                    now(),
                )
                .await
        })
    });
    let mut successes = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        // A database busy past its timeout would be a Fault; none is expected here.
        if attempt.await.unwrap().unwrap() {
            successes += 1;
        }
    }
    assert_eq!(successes, 1);
}

async fn delete_and_purge_remove_tokens(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let live = token(&user, OneTimeTokenKind::VerifyEmail, "live");
    let expired = OneTimeToken {
        expires_at: now() - TimeDelta::seconds(1),
        ..token(&user, OneTimeTokenKind::VerifyEmail, "expired")
    };
    let undelivered = token(&user, OneTimeTokenKind::PasswordReset, "undelivered");
    for stored in [&live, &expired, &undelivered] {
        store.insert_token(stored).await.unwrap();
    }

    store.delete_token(&undelivered.digest).await.unwrap();
    store.delete_token(&undelivered.digest).await.unwrap(); // missing: not an error
    assert_eq!(store.purge_expired(now()).await.unwrap(), 1);

    assert!(store.find_token(&live.digest).await.unwrap().is_some());
    assert!(store.find_token(&expired.digest).await.unwrap().is_none());
    assert!(store
        .find_token(&undelivered.digest)
        .await
        .unwrap()
        .is_none());
}

async fn revoke_all_for_user_ends_only_that_users_live_sessions(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let other = stored(&store, user_with_hash("bob@example.com", OLD_HASH)).await;
    let first = new_session(&store, &user).await;
    let second = new_session(&store, &user).await;
    let bystander = new_session(&store, &other).await;
    store.revoke(first.id, now()).await.unwrap();

    assert_eq!(store.revoke_all_for_user(user.id, now()).await.unwrap(), 1);
    assert!(revoked(&store, &second).await);
    assert!(!revoked(&store, &bystander).await);
    assert_eq!(store.revoke_all_for_user(user.id, now()).await.unwrap(), 0);
}

// ---------------------------------------------------------------------------------------------
// MailOutbox
// ---------------------------------------------------------------------------------------------

fn reset_intent(email: &str) -> MailIntent {
    MailIntent::PasswordReset {
        email: Email::parse(email).unwrap(),
    }
}

async fn outbox_entries_are_leased_retried_given_up_and_finished(db: TestDatabase) {
    let store = connect(&db);
    let user = stored(&store, user_with_hash("ann@example.com", OLD_HASH)).await;
    let t0 = now();
    let verify = MailIntent::VerifyEmail {
        user_id: user.id,
        email: user.email.clone(),
    };
    store
        .enqueue(&reset_intent("x@example.com"), t0)
        .await
        .unwrap();
    store
        .enqueue(&verify, t0 + TimeDelta::milliseconds(1))
        .await
        .unwrap();
    let lease = TimeDelta::minutes(5);

    // Nothing is due before its time.
    let early = t0 - TimeDelta::seconds(1);
    assert!(store
        .claim_due(early, early + lease, 10)
        .await
        .unwrap()
        .is_empty());

    let at = t0 + TimeDelta::seconds(1);
    let claimed = store.claim_due(at, at + lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(
        claimed[0].intent,
        reset_intent("x@example.com"),
        "oldest first"
    );
    assert_eq!(claimed[1].intent, verify);
    assert!(claimed.iter().all(|entry| entry.attempts == 1));
    // Leased: nobody else gets them while the claim runs.
    assert!(store
        .claim_due(at, at + lease, 10)
        .await
        .unwrap()
        .is_empty());

    // The first fails and is due again later; the second is given up.
    let retry = at + TimeDelta::seconds(30);
    store
        .retry_at(claimed[0].id, retry, "connection refused")
        .await
        .unwrap();
    store
        .give_up(claimed[1].id, at, "550 no such user")
        .await
        .unwrap();
    let before_retry = retry - TimeDelta::seconds(1);
    assert!(store
        .claim_due(before_retry, before_retry + lease, 10)
        .await
        .unwrap()
        .is_empty());
    let again = store.claim_due(retry, retry + lease, 10).await.unwrap();
    assert_eq!(again.len(), 1, "a given-up entry is never claimed again");
    assert_eq!((again[0].id, again[0].attempts), (claimed[0].id, 2));

    // A claim that runs out (its worker died) is taken over.
    let after_lease = retry + lease;
    let taken_over = store
        .claim_due(after_lease, after_lease + lease, 10)
        .await
        .unwrap();
    assert_eq!(
        (taken_over[0].id, taken_over[0].attempts),
        (claimed[0].id, 3)
    );

    store.finish(taken_over[0].id).await.unwrap();
    store.finish(taken_over[0].id).await.unwrap(); // missing: not an error
    let later = after_lease + lease * 2;
    assert!(store
        .claim_due(later, later + lease, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn outbox_honours_the_limit(db: TestDatabase) {
    let store = connect(&db);
    let t0 = now();
    for n in 0..5 {
        store
            .enqueue(&reset_intent(&format!("u{n}@example.com")), t0)
            .await
            .unwrap();
    }
    let at = t0 + TimeDelta::seconds(1);
    let lease = at + TimeDelta::minutes(5);
    assert_eq!(store.claim_due(at, lease, 2).await.unwrap().len(), 2);
    assert_eq!(store.claim_due(at, lease, 10).await.unwrap().len(), 3);
}

async fn concurrent_claimers_share_the_outbox_without_overlap(db: TestDatabase) {
    let store = Arc::new(connect(&db));
    let t0 = now();
    for n in 0..10 {
        store
            .enqueue(&reset_intent(&format!("u{n}@example.com")), t0)
            .await
            .unwrap();
    }
    let at = t0 + TimeDelta::seconds(1);
    let claimers = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .claim_due(at, at + TimeDelta::minutes(5), 10)
                .await
                .unwrap()
        })
    });
    let mut ids = Vec::new();
    for claimer in claimers.collect::<Vec<_>>() {
        ids.extend(claimer.await.unwrap().into_iter().map(|entry| entry.id));
    }
    ids.sort();
    let total = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), total, "an entry was handed out twice");
    assert_eq!(total, 10);
}

on_both_databases!(
    tokens_round_trip_and_unknown_digests_are_none,
    verification_is_redeemed_once_and_marks_the_user,
    verification_for_a_changed_email_writes_nothing,
    expired_wrong_kind_and_foreign_tokens_are_not_redeemed,
    reset_replaces_the_hash_and_ends_every_session_of_the_user,
    reset_after_a_password_change_writes_nothing,
    concurrent_redemptions_of_one_token_succeed_once,
    delete_and_purge_remove_tokens,
    revoke_all_for_user_ends_only_that_users_live_sessions,
    outbox_entries_are_leased_retried_given_up_and_finished,
    outbox_honours_the_limit,
    concurrent_claimers_share_the_outbox_without_overlap,
);
