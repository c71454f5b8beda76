//! Unit tests of social login's account choice and exchange, on mocks of every port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use super::choice::{choose_account, AccountChoice, Refusal};
use super::*;
use crate::audit::NoAuditLog;
use crate::one_time::{OneTimeSecret, TokenDigest};
use crate::ports::oauth::{
    MockIdentityProviders, MockIdentityRepository, MockOAuthFlowStore, ProviderInfo,
};
use crate::ports::MockMailOutbox;
use crate::ports::MockSecretGenerator;
use crate::ports::{
    MockPasswordHasher, MockSessionRepository, MockTokenService, MockUserRepository,
};
use crate::session::ClientInfo;
use crate::test_fixtures::{auth_service, clock_at};
use crate::user::{AccountKind, NewUser, User};
use crate::values::{Email, PasswordHash};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

fn account(verified: bool) -> User {
    let mut user = User::register(
        Email::parse("ann@example.com").unwrap(),
        NewUser::default(),
        PasswordHash::new("$2b$04$hash".into()),
        AccountKind::Regular,
        now() - TimeDelta::days(3),
    );
    user.is_verified = verified;
    user
}

fn profile(email_verified: bool) -> ExternalProfile {
    ExternalProfile {
        provider: "corp".into(),
        subject: "sub-1".into(),
        email: Some(Email::parse("Ann@Example.com").unwrap()),
        email_verified,
        given_name: Some("Ann".into()),
        family_name: None,
    }
}

#[test]
fn a_linked_identity_opens_its_account_unless_inactive() {
    let mut user = account(false);
    assert_eq!(
        choose_account(&profile(false), Some(&user), None, false),
        AccountChoice::LogIn(user.id)
    );
    user.is_active = false;
    assert_eq!(
        choose_account(&profile(true), Some(&user), None, true),
        AccountChoice::Refuse(Refusal::LoginFailed)
    );
}

#[test]
fn an_unverified_provider_email_never_creates_or_links() {
    let user = account(true);
    assert_eq!(
        choose_account(&profile(false), None, None, true),
        AccountChoice::Refuse(Refusal::LoginFailed)
    );
    assert_eq!(
        choose_account(&profile(false), None, Some(&user), true),
        AccountChoice::Refuse(Refusal::LoginFailed)
    );
}

#[test]
fn a_verified_email_of_nobody_creates_an_account() {
    assert_eq!(
        choose_account(&profile(true), None, None, false),
        AccountChoice::CreateAccount
    );
}

#[test]
fn an_existing_email_links_only_for_a_trusted_provider_and_a_verified_account() {
    let verified = account(true);
    let unverified = account(false);
    let mut with_mfa = account(true);
    with_mfa.mfa_enabled = true;
    let exists = AccountChoice::Refuse(Refusal::AccountExists);
    // nOAuth: an untrusted provider's verified email is no proof of the local account.
    assert_eq!(
        choose_account(&profile(true), None, Some(&verified), false),
        exists
    );
    // The pre-registration takeover: never to an unverified local account.
    assert_eq!(
        choose_account(&profile(true), None, Some(&unverified), true),
        exists
    );
    // A second factor would have to come first: the owner links from the account.
    assert_eq!(
        choose_account(&profile(true), None, Some(&with_mfa), true),
        exists
    );
    assert_eq!(
        choose_account(&profile(true), None, Some(&verified), true),
        AccountChoice::LinkAndLogIn(verified.id)
    );
}

/// Every port as a mock; each test sets what it relies on.
struct Mocks {
    providers: MockIdentityProviders,
    flows: MockOAuthFlowStore,
    identities: MockIdentityRepository,
    users: MockUserRepository,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
}

impl Mocks {
    fn new(trust_email: bool) -> Self {
        let mut providers = MockIdentityProviders::new();
        providers.expect_providers().returning(move || {
            vec![ProviderInfo {
                name: "corp".into(),
                display_name: "Corp".into(),
                trust_email,
            }]
        });
        Self {
            providers,
            flows: MockOAuthFlowStore::new(),
            identities: MockIdentityRepository::new(),
            users: MockUserRepository::new(),
            sessions: MockSessionRepository::new(),
            tokens: MockTokenService::new(),
        }
    }

    fn service(self) -> OAuthService {
        let clock = clock_at(now());
        let counter = Arc::new(AtomicU32::new(0));
        let mut secrets = MockSecretGenerator::new();
        secrets.expect_generate().returning(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            OneTimeSecret::new(format!("secret-{n:02}-abcdefghijklmnop"))
        });
        let users: Arc<dyn crate::ports::UserRepository> = Arc::new(self.users);
        let auth = auth_service(
            users.clone(),
            self.sessions,
            self.tokens,
            MockPasswordHasher::new(),
            clock.clone(),
        );
        OAuthService::new(
            OAuthPorts {
                providers: Arc::new(self.providers),
                flows: Arc::new(self.flows),
                identities: Arc::new(self.identities),
                users,
                secrets: Arc::new(secrets),
                outbox: Arc::new(MockMailOutbox::new()),
                audit: Arc::new(NoAuditLog),
                clock,
            },
            auth,
            OAuthPolicy::default(),
        )
    }

    /// A callback whose state is pending and whose provider answers `profile`.
    fn pending_callback(&mut self, profile: ExternalProfile) {
        self.flows
            .expect_take_authorization()
            .returning(|digest, _| {
                assert_eq!(digest, &TokenDigest::of("the-state"));
                Ok(Some(PendingAuthorization {
                    state_digest: digest.clone(),
                    provider: "corp".into(),
                    nonce: "n".into(),
                    pkce_verifier: "v".into(),
                    redirect_uri: "https://app.example.com/auth".into(),
                    app_state: "app-state".into(),
                    app_code_challenge: pkce_s256("app-verifier-app-verifier-app-verifier-0123"),
                    link_user: None,
                    created_at: now(),
                    expires_at: now() + TimeDelta::minutes(10),
                }))
            });
        self.providers
            .expect_identify()
            .returning(move |_, _, request| {
                assert_eq!(request.nonce, "n");
                Ok(profile.clone())
            });
    }
}

fn params(outcome: &CallbackOutcome) -> Vec<(&'static str, String)> {
    match outcome {
        CallbackOutcome::Redirect { params, .. } => params.clone(),
        CallbackOutcome::InvalidState => panic!("expected a redirect"),
    }
}

#[tokio::test]
async fn an_unknown_state_is_not_redirected_anywhere() {
    let mut mocks = Mocks::new(false);
    mocks
        .flows
        .expect_take_authorization()
        .returning(|_, _| Ok(None));
    let service = mocks.service();
    let outcome = service
        .callback("corp", Some("code"), Some("forged"), &ClientInfo::default())
        .await
        .unwrap();
    assert_eq!(outcome, CallbackOutcome::InvalidState);
}

#[tokio::test]
async fn an_existing_unverified_account_gets_account_exists_and_nothing_is_stored() {
    let mut mocks = Mocks::new(true);
    mocks.pending_callback(profile(true));
    mocks
        .identities
        .expect_find_identity()
        .returning(|_, _| Ok(None));
    let local = account(false);
    mocks
        .users
        .expect_find_by_email()
        .returning(move |_| Ok(Some(local.clone())));
    // No login_code, no link, no account: insert_login is not expected.
    let service = mocks.service();
    let outcome = service
        .callback(
            "corp",
            Some("code"),
            Some("the-state"),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        params(&outcome),
        vec![
            ("error", "account_exists".to_owned()),
            ("state", "app-state".to_owned())
        ]
    );
}

#[tokio::test]
async fn a_new_email_gets_a_login_code_and_the_account_waits_for_the_exchange() {
    let mut mocks = Mocks::new(false);
    mocks.pending_callback(profile(true));
    mocks
        .identities
        .expect_find_identity()
        .returning(|_, _| Ok(None));
    mocks.users.expect_find_by_email().returning(|_| Ok(None));
    mocks
        .flows
        .expect_insert_login()
        .withf(|login| login.action == PendingAction::CreateAccount)
        .times(1)
        .returning(|_| Ok(()));
    // create_account_with_identity is not expected before the exchange.
    let service = mocks.service();
    let outcome = service
        .callback(
            "corp",
            Some("code"),
            Some("the-state"),
            &ClientInfo::default(),
        )
        .await
        .unwrap();
    let params = params(&outcome);
    assert_eq!(params[0].0, "login_code");
    assert_eq!(params[1], ("state", "app-state".to_owned()));
}

#[tokio::test]
async fn a_wrong_verifier_spends_the_code_and_creates_nothing() {
    let mut mocks = Mocks::new(false);
    mocks
        .flows
        .expect_take_login()
        .times(1)
        .returning(|digest, _| {
            Ok(Some(PendingLogin {
                code_digest: digest.clone(),
                app_code_challenge: pkce_s256("app-verifier-app-verifier-app-verifier-0123"),
                profile: profile(true),
                action: PendingAction::CreateAccount,
                created_at: now(),
                expires_at: now() + TimeDelta::seconds(60),
            }))
        });
    let service = mocks.service();
    let error = service
        .exchange(
            "code",
            "another-verifier-another-verifier-another-ve",
            &ClientInfo::default(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ExchangeError::InvalidCode), "{error:?}");
}
