//! The contracts of social login's store ports (`OAuthFlowStore`, `IdentityRepository`,
//! auth-domain's `ports::oauth`), checked against the Diesel store on a fresh SQLite file and a
//! fresh PostgreSQL database per test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use auth_domain::oauth::{
    ExternalProfile, Identity, PendingAction, PendingAuthorization, PendingLogin,
};

use auth_domain::one_time::TokenDigest;
use auth_domain::ports::oauth::{
    IdentityRepository, LinkIdentityError, NewAccountError, OAuthFlowStore, UnlinkOutcome,
};
use auth_domain::ports::UserRepository;
use auth_domain::Email;
use auth_infra::testing::TestDatabase;
use chrono::TimeDelta;
use uuid::Uuid;

mod support;
use support::{connect as store, now, on_both_databases, user_with_hash as account};

fn profile(subject: &str) -> ExternalProfile {
    ExternalProfile {
        provider: "corp".into(),
        subject: subject.into(),
        email: Some(Email::parse("ann@example.com").unwrap()),
        email_verified: true,
        given_name: Some("Ann".into()),
        family_name: None,
    }
}

fn authorization(state: &str, expires_in: TimeDelta) -> PendingAuthorization {
    PendingAuthorization {
        state_digest: TokenDigest::of(state),
        provider: "corp".into(),
        nonce: "nonce".into(),
        pkce_verifier: "verifier".into(),
        redirect_uri: "https://app.example.com/auth".into(),
        app_state: "app".into(),
        app_code_challenge: "challenge".into(),
        link_user: None,
        created_at: now(),
        expires_at: now() + expires_in,
    }
}

async fn states_are_taken_once_and_not_after_they_expire(db: TestDatabase) {
    let store = Arc::new(store(&db));
    let pending = authorization("s1", TimeDelta::minutes(10));
    store.insert_authorization(&pending).await.unwrap();
    let found = store
        .find_authorization(&pending.state_digest, now())
        .await
        .unwrap();
    assert_eq!(found.as_ref(), Some(&pending), "find does not spend it");
    // Concurrent takes: exactly one gets it.
    let takes: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            let digest = pending.state_digest.clone();
            tokio::spawn(async move { store.take_authorization(&digest, now()).await.unwrap() })
        })
        .collect();
    let mut taken = Vec::new();
    for take in takes {
        taken.extend(take.await.unwrap());
    }
    assert_eq!(taken, vec![pending.clone()]);
    let expired = authorization("s2", TimeDelta::seconds(1));
    store.insert_authorization(&expired).await.unwrap();
    let later = now() + TimeDelta::seconds(2);
    assert!(store
        .find_authorization(&expired.state_digest, later)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .take_authorization(&expired.state_digest, later)
        .await
        .unwrap()
        .is_none());
    assert!(
        store
            .take_authorization(&expired.state_digest, now())
            .await
            .unwrap()
            .is_none(),
        "removed"
    );
}

async fn login_codes_are_taken_once_with_their_action(db: TestDatabase) {
    let store = store(&db);
    let user = account("ann@example.com", "");
    store.insert(&user).await.unwrap();
    for (code, action) in [
        ("c1", PendingAction::CreateAccount),
        ("c2", PendingAction::LogIn(user.id)),
        ("c3", PendingAction::LinkAndLogIn(user.id)),
    ] {
        let login = PendingLogin {
            code_digest: TokenDigest::of(code),
            app_code_challenge: "challenge".into(),
            profile: profile("sub"),
            action,
            created_at: now(),
            expires_at: now() + TimeDelta::seconds(60),
        };
        store.insert_login(&login).await.unwrap();
        assert_eq!(
            store.take_login(&login.code_digest, now()).await.unwrap(),
            Some(login.clone())
        );
        assert_eq!(
            store.take_login(&login.code_digest, now()).await.unwrap(),
            None
        );
    }
}

async fn identities_have_one_owner_and_accounts_keep_a_way_to_log_in(db: TestDatabase) {
    let store = store(&db);
    // A new account with its identity, all at once.
    let ann = account("ann@example.com", "");
    let first = Identity::of(&profile("ann-1"), ann.id, now());
    store
        .create_account_with_identity(&ann, &first)
        .await
        .unwrap();
    assert_eq!(
        store.find_identity("corp", "ann-1").await.unwrap(),
        Some(first.clone())
    );
    assert!(store
        .find_identity("other", "ann-1")
        .await
        .unwrap()
        .is_none());
    // The email or the identity taken: nothing written.
    let twin = account("ann@example.com", "");
    let error = store
        .create_account_with_identity(&twin, &Identity::of(&profile("ann-2"), twin.id, now()))
        .await
        .unwrap_err();
    assert!(matches!(error, NewAccountError::EmailTaken), "{error:?}");
    assert!(store
        .find_identity("corp", "ann-2")
        .await
        .unwrap()
        .is_none());
    let bob = account("bob@example.com", "$2b$04$hash");
    let error = store
        .create_account_with_identity(&bob, &Identity::of(&profile("ann-1"), bob.id, now()))
        .await
        .unwrap_err();
    assert!(matches!(error, NewAccountError::IdentityInUse), "{error:?}");
    assert!(store.find_by_id(bob.id).await.unwrap().is_none());
    store.insert(&bob).await.unwrap();
    let error = store
        .link_identity(&Identity::of(&profile("ann-1"), bob.id, now()))
        .await
        .unwrap_err();
    assert!(matches!(error, LinkIdentityError::InUse));

    // Ann has no password: her only identity cannot go; with a second one, one can.
    assert_eq!(
        store.unlink_identity(ann.id, first.id).await.unwrap(),
        UnlinkOutcome::LastLoginMethod
    );
    let second = Identity::of(&profile("ann-gh"), ann.id, now() + TimeDelta::seconds(1));
    store.link_identity(&second).await.unwrap();
    assert_eq!(
        store.list_identities(ann.id).await.unwrap(),
        vec![first.clone(), second.clone()]
    );
    assert_eq!(
        store.unlink_identity(bob.id, first.id).await.unwrap(),
        UnlinkOutcome::NotFound,
        "not his"
    );
    assert_eq!(
        store.unlink_identity(ann.id, Uuid::now_v7()).await.unwrap(),
        UnlinkOutcome::NotFound
    );
    assert_eq!(
        store.unlink_identity(ann.id, first.id).await.unwrap(),
        UnlinkOutcome::Removed(first)
    );
    assert_eq!(
        store.unlink_identity(ann.id, second.id).await.unwrap(),
        UnlinkOutcome::LastLoginMethod
    );
    // Bob has a password: his only identity may go.
    let his = Identity::of(&profile("bob-1"), bob.id, now());
    store.link_identity(&his).await.unwrap();
    assert_eq!(
        store.unlink_identity(bob.id, his.id).await.unwrap(),
        UnlinkOutcome::Removed(his)
    );
}

on_both_databases!(
    states_are_taken_once_and_not_after_they_expire,
    login_codes_are_taken_once_with_their_action,
    identities_have_one_owner_and_accounts_keep_a_way_to_log_in,
);
