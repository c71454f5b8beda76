//! The contracts of the passkey ports (`PasskeyStore`, `CeremonyStore`, auth-domain's
//! `ports::passkeys`), checked against the Diesel store on a fresh SQLite file and a fresh
//! PostgreSQL database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use auth_domain::mfa::ports::{KeyedDigest, SecondFactors};
use auth_domain::passkeys::keeps_a_way_to_log_in;
use auth_domain::ports::passkeys::{
    Ceremony, CeremonyKind, CeremonyStore, PasskeyAdded, PasskeyId, PasskeyRemoval, PasskeyStore,
    PasskeyUse, StoredPasskey,
};
use auth_domain::ports::UserRepository;
use auth_domain::User;
use auth_infra::testing::TestDatabase;
use auth_infra::Database;
use chrono::TimeDelta;

mod support;
use support::{connect as store, now, on_both_databases, stored, user_with_hash, PLACEHOLDER_HASH};

async fn new_user(store: &Database, email: &str, password: bool) -> User {
    let hash = if password { PLACEHOLDER_HASH } else { "" };
    stored(store, user_with_hash(email, hash)).await
}

fn passkey(user: &User, credential_id: &[u8]) -> StoredPasskey {
    StoredPasskey {
        id: PasskeyId::new(),
        user_id: user.id,
        credential_id: credential_id.to_vec(),
        name: "Laptop".into(),
        credential: r#"{"cred":"opaque"}"#.into(),
        sign_count: 3,
        backup_eligible: true,
        backed_up: false,
        created_at: now(),
        last_used_at: None,
    }
}

fn codes() -> Vec<KeyedDigest> {
    (0..10)
        .map(|i| KeyedDigest {
            key_id: "k1".into(),
            digest: format!("{i:064x}"),
        })
        .collect()
}

async fn mfa_enabled(store: &Database, user: &User) -> bool {
    store
        .find_by_id(user.id)
        .await
        .unwrap()
        .unwrap()
        .mfa_enabled
}

async fn adding_sets_the_second_factor_and_refuses_a_credential_twice(db: TestDatabase) {
    let store = store(&db);
    let ann = new_user(&store, "ann@example.com", true).await;
    let bob = new_user(&store, "bob@example.com", true).await;
    let first = passkey(&ann, b"credential-1");
    let added = store.add_passkey(&first, &codes()).await.unwrap();
    assert_eq!(
        added,
        PasskeyAdded::Added {
            recovery_codes: true
        }
    );
    assert!(mfa_enabled(&store, &ann).await);
    let status = store.mfa_status(ann.id).await.unwrap();
    assert_eq!((status.passkeys, status.recovery_codes_left), (1, 10));

    // A second passkey is not the first second factor: the codes stay as they are.
    let second = passkey(&ann, b"credential-2");
    let added = store.add_passkey(&second, &codes()[..2]).await.unwrap();
    assert_eq!(
        added,
        PasskeyAdded::Added {
            recovery_codes: false
        }
    );
    assert_eq!(
        store.mfa_status(ann.id).await.unwrap().recovery_codes_left,
        10
    );

    // One credential id across all accounts: nothing stored for Bob.
    let stolen = passkey(&bob, b"credential-1");
    assert_eq!(
        store.add_passkey(&stolen, &codes()).await.unwrap(),
        PasskeyAdded::DuplicateCredential
    );
    assert!(!mfa_enabled(&store, &bob).await);
    assert_eq!(
        store.mfa_status(bob.id).await.unwrap().recovery_codes_left,
        0
    );
    assert!(store.list_passkeys(bob.id).await.unwrap().is_empty());

    let listed = store.list_passkeys(ann.id).await.unwrap();
    assert_eq!(listed, vec![first.clone(), second.clone()]);
    assert_eq!(
        store.find_passkey(b"credential-2").await.unwrap(),
        Some(second.clone())
    );
    assert_eq!(store.find_passkey(b"nobody").await.unwrap(), None);

    assert!(store
        .rename_passkey(ann.id, first.id, "Phone")
        .await
        .unwrap());
    assert!(!store
        .rename_passkey(bob.id, first.id, "Mine")
        .await
        .unwrap());
    assert_eq!(store.list_passkeys(ann.id).await.unwrap()[0].name, "Phone");
}

async fn the_last_way_to_log_in_stays(db: TestDatabase) {
    let store = store(&db);
    // Without a password: the last passkey cannot go.
    let pia = new_user(&store, "pia@example.com", false).await;
    let one = passkey(&pia, b"pia-1");
    let two = passkey(&pia, b"pia-2");
    store.add_passkey(&one, &codes()).await.unwrap();
    store.add_passkey(&two, &[]).await.unwrap();
    let rule = keeps_a_way_to_log_in;
    assert_eq!(
        store.remove_passkey(pia.id, one.id, rule).await.unwrap(),
        PasskeyRemoval::Removed
    );
    assert_eq!(
        store.remove_passkey(pia.id, two.id, rule).await.unwrap(),
        PasskeyRemoval::LastLoginMethod
    );
    assert_eq!(
        store.list_passkeys(pia.id).await.unwrap(),
        vec![two.clone()]
    );
    assert_eq!(
        store.remove_passkey(pia.id, one.id, rule).await.unwrap(),
        PasskeyRemoval::NotFound
    );

    // Two concurrent removals of a passwordless account's last two: one refused.
    let three = passkey(&pia, b"pia-3");
    store.add_passkey(&three, &[]).await.unwrap();
    let store = Arc::new(store);
    let (a, b) = tokio::join!(
        {
            let store = store.clone();
            async move { store.remove_passkey(pia.id, two.id, rule).await.unwrap() }
        },
        {
            let store = store.clone();
            async move { store.remove_passkey(pia.id, three.id, rule).await.unwrap() }
        }
    );
    let mut outcomes = [a, b];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        outcomes,
        [PasskeyRemoval::LastLoginMethod, PasskeyRemoval::Removed]
    );
    assert_eq!(store.list_passkeys(pia.id).await.unwrap().len(), 1);

    // With a password: the last passkey goes, and with it the second factor and its codes.
    let ann = new_user(&store, "ann@example.com", true).await;
    let only = passkey(&ann, b"ann-1");
    store.add_passkey(&only, &codes()).await.unwrap();
    assert_eq!(
        store.remove_passkey(ann.id, only.id, rule).await.unwrap(),
        PasskeyRemoval::Removed
    );
    assert!(!mfa_enabled(&store, &ann).await);
    assert_eq!(
        store.mfa_status(ann.id).await.unwrap().recovery_codes_left,
        0
    );

    // The administrators' reset takes passkeys too.
    assert!(store
        .reset_second_factors(pia.id, now())
        .await
        .unwrap()
        .is_some());
    assert!(store.list_passkeys(pia.id).await.unwrap().is_empty());
}

async fn a_use_is_recorded_once_per_counter_value(db: TestDatabase) {
    let store = store(&db);
    let ann = new_user(&store, "ann@example.com", true).await;
    let key = passkey(&ann, b"ann-1");
    store.add_passkey(&key, &codes()).await.unwrap();
    let use_ = PasskeyUse {
        id: key.id,
        previous_sign_count: 3,
        sign_count: 4,
        backup_eligible: true,
        backed_up: true,
        credential: r#"{"cred":"updated"}"#.into(),
        at: now(),
    };
    assert!(store.record_passkey_use(&use_).await.unwrap());
    // The same counter value again (a concurrent login that read 3): not recorded.
    assert!(!store.record_passkey_use(&use_).await.unwrap());
    let stored = store.find_passkey(b"ann-1").await.unwrap().unwrap();
    assert_eq!(stored.sign_count, 4);
    assert!(stored.backed_up);
    assert_eq!(stored.credential, r#"{"cred":"updated"}"#);
    assert_eq!(stored.last_used_at, Some(use_.at));
}

fn ceremony(key: &str, kind: CeremonyKind, user: Option<&User>, ttl: TimeDelta) -> Ceremony {
    let at = now();
    Ceremony {
        key: key.into(),
        kind,
        user_id: user.map(|u| u.id),
        state: format!(r#"{{"challenge":"{key}"}}"#),
        created_at: at,
        expires_at: at + ttl,
    }
}

async fn a_ceremony_is_taken_once_even_under_a_race(db: TestDatabase) {
    let store = Arc::new(store(&db));
    let ann = new_user(&store, "ann@example.com", true).await;
    let login = ceremony("c-1", CeremonyKind::Login, None, TimeDelta::minutes(5));
    store.put_ceremony(&login).await.unwrap();
    // The wrong kind takes nothing it can use.
    let wrong = store
        .take_ceremony("c-1", CeremonyKind::Registration, now())
        .await
        .unwrap();
    assert_eq!(wrong, None);

    let mine = ceremony(
        "c-2",
        CeremonyKind::Registration,
        Some(&ann),
        TimeDelta::minutes(5),
    );
    store.put_ceremony(&mine).await.unwrap();
    let takes = (0..8).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .take_ceremony("c-2", CeremonyKind::Registration, now())
                .await
                .unwrap()
        })
    });
    let mut taken = Vec::new();
    for take in takes {
        if let Some(ceremony) = take.await.unwrap() {
            taken.push(ceremony);
        }
    }
    assert_eq!(taken, vec![mine]);

    // Expired: not taken. A new ceremony under a key replaces the old one.
    let old = ceremony("c-3", CeremonyKind::Login, None, TimeDelta::seconds(1));
    store.put_ceremony(&old).await.unwrap();
    let later = old.expires_at + TimeDelta::seconds(1);
    assert_eq!(
        store
            .take_ceremony("c-3", CeremonyKind::Login, later)
            .await
            .unwrap(),
        None
    );
    let first = ceremony(
        "mfa:x",
        CeremonyKind::SecondFactor,
        Some(&ann),
        TimeDelta::minutes(5),
    );
    let mut second = first.clone();
    second.state = r#"{"challenge":"second"}"#.into();
    store.put_ceremony(&first).await.unwrap();
    store.put_ceremony(&second).await.unwrap();
    assert_eq!(
        store
            .take_ceremony("mfa:x", CeremonyKind::SecondFactor, now())
            .await
            .unwrap(),
        Some(second)
    );
}

on_both_databases!(
    adding_sets_the_second_factor_and_refuses_a_credential_twice,
    the_last_way_to_log_in_stays,
    a_use_is_recorded_once_per_counter_value,
    a_ceremony_is_taken_once_even_under_a_race,
);
