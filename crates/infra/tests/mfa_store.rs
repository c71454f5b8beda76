//! The contracts of the second-factor ports (`TotpStore`, `RecoveryCodeStore`,
//! `SecondFactors`, `MfaChallengeStore`, auth-domain's `ports::mfa`), checked against the
//! Diesel store on a fresh SQLite file and a fresh PostgreSQL database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use auth_domain::one_time::TokenDigest;
use auth_domain::ports::mfa::{
    KeyedDigest, MfaChallenge, MfaChallengeStore, PutPendingError, RecoveryCodeStore, SealedSecret,
    SecondFactors, TotpConfirmation, TotpStore,
};
use auth_domain::ports::{SessionRepository, UserRepository};
use auth_domain::{Amr, ClientInfo, Session, SessionId, User};
use auth_infra::testing::TestDatabase;
use auth_infra::Database;
use chrono::TimeDelta;
use uuid::Uuid;

mod support;
use support::{connect, now, on_both_databases, stored_user};

async fn session_of(store: &Database, user: &User) -> Session {
    let at = now();
    let session = Session {
        id: SessionId::new(),
        user_id: user.id,
        refresh_jti: Uuid::new_v4(),
        created_at: at,
        last_used_at: at,
        expires_at: at + TimeDelta::days(1),
        revoked_at: None,
        client: ClientInfo::default(),
        amr: Amr::password().with_otp(),
    };
    store.start(&session).await.unwrap();
    session
}

fn sealed(tag: u8) -> SealedSecret {
    SealedSecret {
        key_id: "k1".into(),
        nonce: vec![tag; 12],
        ciphertext: vec![tag, 1, 2, 3],
    }
}

fn digests(prefix: &str) -> Vec<KeyedDigest> {
    (0..10)
        .map(|i| KeyedDigest {
            key_id: "k1".into(),
            digest: format!("{prefix}{i:02}"),
        })
        .collect()
}

fn confirmation(user: &User, nonce_tag: u8, keep: SessionId) -> TotpConfirmation {
    TotpConfirmation {
        user_id: user.id,
        secret_nonce: vec![nonce_tag; 12],
        step: 100,
        recovery_codes: digests("c"),
        keep_session: keep,
        now: now(),
    }
}

async fn enable(store: &Database, user: &User) -> Session {
    let session = session_of(store, user).await;
    store
        .put_pending_totp(user.id, &sealed(1), now())
        .await
        .unwrap();
    assert!(store
        .confirm_totp(&confirmation(user, 1, session.id))
        .await
        .unwrap()
        .is_some());
    session
}

async fn pending_secrets_are_replaced_confirmed_ones_never(db: TestDatabase) {
    let store = connect(&db);
    let ann = stored_user(&store, "ann@example.com").await;
    assert!(store.find_totp(ann.id).await.unwrap().is_none());
    store
        .put_pending_totp(ann.id, &sealed(1), now())
        .await
        .unwrap();
    store
        .put_pending_totp(ann.id, &sealed(2), now())
        .await
        .unwrap();
    let record = store.find_totp(ann.id).await.unwrap().unwrap();
    assert_eq!(record.secret, sealed(2));
    assert_eq!(record.confirmed_at, None);
    assert_eq!(record.last_step, None);

    let keep = session_of(&store, &ann).await;
    let other = session_of(&store, &ann).await;
    // The nonce of a replaced secret does not confirm.
    assert_eq!(
        store
            .confirm_totp(&confirmation(&ann, 1, keep.id))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .confirm_totp(&confirmation(&ann, 2, keep.id))
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(
        store
            .confirm_totp(&confirmation(&ann, 2, keep.id))
            .await
            .unwrap(),
        None
    );
    let record = store.find_totp(ann.id).await.unwrap().unwrap();
    assert!(record.confirmed_at.is_some());
    assert_eq!(record.last_step, Some(100));
    assert!(store.find_by_id(ann.id).await.unwrap().unwrap().mfa_enabled);
    let (kept, _) = store.find_with_user(keep.id).await.unwrap().unwrap();
    let (ended, _) = store.find_with_user(other.id).await.unwrap().unwrap();
    assert!(kept.revoked_at.is_none() && ended.revoked_at.is_some());
    assert_eq!(kept.amr, Amr::password().with_otp(), "amr round-trips");

    assert!(matches!(
        store.put_pending_totp(ann.id, &sealed(3), now()).await,
        Err(PutPendingError::AlreadyEnabled)
    ));
    assert_eq!(
        store.find_totp(ann.id).await.unwrap().unwrap().secret,
        sealed(2)
    );
    let status = store.mfa_status(ann.id).await.unwrap();
    assert!(status.totp);
    assert_eq!(status.recovery_codes_left, 10);
}

async fn concurrent_confirmations_let_one_through(db: TestDatabase) {
    let store = Arc::new(connect(&db));
    let ann = stored_user(&store, "ann@example.com").await;
    let keep = session_of(&store, &ann).await;
    store
        .put_pending_totp(ann.id, &sealed(1), now())
        .await
        .unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, confirmation) = (store.clone(), confirmation(&ann, 1, keep.id));
            tokio::spawn(async move { store.confirm_totp(&confirmation).await.unwrap() })
        })
        .collect();
    let mut confirmed = 0;
    for task in tasks {
        confirmed += usize::from(task.await.unwrap().is_some());
    }
    assert_eq!(confirmed, 1);
}

async fn a_step_is_accepted_once_and_only_forward(db: TestDatabase) {
    let store = Arc::new(connect(&db));
    let ann = stored_user(&store, "ann@example.com").await;
    assert!(
        !store.accept_totp_step(ann.id, 5).await.unwrap(),
        "no confirmed TOTP"
    );
    enable(&store, &ann).await; // last step 100
    assert!(!store.accept_totp_step(ann.id, 100).await.unwrap());
    assert!(!store.accept_totp_step(ann.id, 99).await.unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.accept_totp_step(ann.id, 101).await.unwrap() })
        })
        .collect();
    let mut accepted = 0;
    for task in tasks {
        accepted += usize::from(task.await.unwrap());
    }
    assert_eq!(
        accepted, 1,
        "two concurrent logins with one code: one succeeds"
    );
    assert!(store.accept_totp_step(ann.id, 102).await.unwrap());
}

async fn recovery_codes_are_single_use_and_replaced_as_a_set(db: TestDatabase) {
    let store = Arc::new(connect(&db));
    let ann = stored_user(&store, "ann@example.com").await;
    assert!(
        !store
            .replace_recovery_codes(ann.id, &digests("x"), now())
            .await
            .unwrap(),
        "no second factor: no codes"
    );
    assert_eq!(
        store.mfa_status(ann.id).await.unwrap().recovery_codes_left,
        0
    );
    enable(&store, &ann).await;
    let code = digests("c")[3].clone();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (store, code) = (store.clone(), code.clone());
            tokio::spawn(
                async move { store.use_recovery_code(ann.id, &code, now()).await.unwrap() },
            )
        })
        .collect();
    let mut used = 0;
    for task in tasks {
        used += usize::from(task.await.unwrap());
    }
    assert_eq!(used, 1);
    assert_eq!(
        store.mfa_status(ann.id).await.unwrap().recovery_codes_left,
        9
    );
    let bob = stored_user(&store, "bob@example.com").await;
    assert!(
        !store
            .use_recovery_code(bob.id, &digests("c")[4], now())
            .await
            .unwrap(),
        "codes are per user"
    );

    assert!(store
        .replace_recovery_codes(ann.id, &digests("n"), now())
        .await
        .unwrap());
    assert!(
        !store
            .use_recovery_code(ann.id, &digests("c")[4], now())
            .await
            .unwrap(),
        "the old set died"
    );
    assert!(store
        .use_recovery_code(ann.id, &digests("n")[4], now())
        .await
        .unwrap());
}

async fn removing_totp_takes_the_codes_and_reset_takes_everything(db: TestDatabase) {
    let store = connect(&db);
    let ann = stored_user(&store, "ann@example.com").await;
    assert!(!store.remove_totp(ann.id).await.unwrap());
    enable(&store, &ann).await;
    assert!(store.remove_totp(ann.id).await.unwrap());
    assert!(!store.remove_totp(ann.id).await.unwrap());
    let status = store.mfa_status(ann.id).await.unwrap();
    assert!(!status.totp && status.recovery_codes_left == 0);
    assert!(!store.find_by_id(ann.id).await.unwrap().unwrap().mfa_enabled);

    let session = enable(&store, &ann).await;
    assert_eq!(
        store.reset_second_factors(ann.id, now()).await.unwrap(),
        Some(1)
    );
    assert!(store.find_totp(ann.id).await.unwrap().is_none());
    assert_eq!(
        store.mfa_status(ann.id).await.unwrap().recovery_codes_left,
        0
    );
    assert!(!store.find_by_id(ann.id).await.unwrap().unwrap().mfa_enabled);
    let (session, _) = store.find_with_user(session.id).await.unwrap().unwrap();
    assert!(session.revoked_at.is_some());
    let unknown = auth_domain::UserId::new();
    assert_eq!(
        store.reset_second_factors(unknown, now()).await.unwrap(),
        None
    );
}

fn challenge(user: &User, secret: &str, ttl: TimeDelta) -> MfaChallenge {
    let at = now();
    MfaChallenge {
        digest: TokenDigest::of(secret),
        user_id: user.id,
        first_factor: Amr::password(),
        created_at: at,
        expires_at: at + ttl,
        failures: 0,
    }
}

async fn challenges_count_failures_and_are_spent_once(db: TestDatabase) {
    let store = Arc::new(connect(&db));
    let ann = stored_user(&store, "ann@example.com").await;
    let pending = challenge(&ann, "token-1", TimeDelta::minutes(5));
    store.insert_challenge(&pending).await.unwrap();
    assert_eq!(
        store.find_challenge(&pending.digest).await.unwrap(),
        Some(pending.clone())
    );
    assert!(store
        .find_challenge(&TokenDigest::of("other"))
        .await
        .unwrap()
        .is_none());

    for expected in 1..=4 {
        assert_eq!(
            store.fail_challenge(&pending.digest).await.unwrap(),
            expected
        );
    }
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (store, digest) = (store.clone(), pending.digest.clone());
            tokio::spawn(async move { store.spend_challenge(&digest, now(), 5).await.unwrap() })
        })
        .collect();
    let mut spent = 0;
    for task in tasks {
        spent += usize::from(task.await.unwrap());
    }
    assert_eq!(spent, 1, "single-use under races");
    assert!(store
        .find_challenge(&pending.digest)
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.fail_challenge(&pending.digest).await.unwrap(), 0);

    let dead = challenge(&ann, "token-2", TimeDelta::minutes(5));
    store.insert_challenge(&dead).await.unwrap();
    for _ in 0..5 {
        store.fail_challenge(&dead.digest).await.unwrap();
    }
    assert!(
        !store.spend_challenge(&dead.digest, now(), 5).await.unwrap(),
        "five failures kill it"
    );

    let expired = challenge(&ann, "token-3", TimeDelta::seconds(-1));
    store.insert_challenge(&expired).await.unwrap();
    assert!(!store
        .spend_challenge(&expired.digest, now(), 5)
        .await
        .unwrap());
    // A later challenge sweeps the expired ones.
    store
        .insert_challenge(&challenge(&ann, "token-4", TimeDelta::minutes(5)))
        .await
        .unwrap();
    assert!(store
        .find_challenge(&expired.digest)
        .await
        .unwrap()
        .is_none());
}

on_both_databases!(
    pending_secrets_are_replaced_confirmed_ones_never,
    concurrent_confirmations_let_one_through,
    a_step_is_accepted_once_and_only_forward,
    recovery_codes_are_single_use_and_replaced_as_a_set,
    removing_totp_takes_the_codes_and_reset_takes_everything,
    challenges_count_failures_and_are_spent_once,
);
