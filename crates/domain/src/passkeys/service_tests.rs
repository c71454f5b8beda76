//! Unit tests of the passkey use cases' decisions, on mocks of every port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};

use crate::amr::Amr;
use crate::audit::AuditEvent;
use crate::passkeys::{
    keeps_a_way_to_log_in, FinishRegistrationError, LoginMethods, PasskeyId, PasskeyLoginError,
    PasskeyPolicy, PasskeyPorts, PasskeyRemoval, PasskeyService, RemovePasskeyError, StoredPasskey,
};
use crate::ports::mfa::MockMfaChallengeStore;
use crate::ports::passkeys::{
    AssertionClaim, Ceremony, CeremonyKind, CeremonyRefusal, MockCeremonyStore, MockPasskeyStore,
    MockRelyingParty, NewCredential, PasskeyAdded, VerifiedAssertion,
};
use crate::ports::MockMailOutbox;
use crate::ports::{
    MockPasswordHasher, MockSessionRepository, MockTokenService, MockUserRepository,
};
use crate::session::{ClientInfo, Principal, SessionId};
use crate::test_fixtures::{
    audit_keeping, auth_service, clock_at, keeper_counting, outbox_accepting, recorded, Recorded,
};
use crate::user::{AccountKind, NewUser, User};
use crate::values::{Email, PasswordHash};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 10, 0, 0).unwrap()
}

fn user() -> User {
    User::register(
        Email::parse("ann@example.com").unwrap(),
        NewUser::default(),
        PasswordHash::new("$2b$04$hash".into()),
        AccountKind::Regular,
        now() - TimeDelta::days(3),
    )
}

fn principal(user: &User) -> Principal {
    Principal {
        user: user.clone(),
        session_id: SessionId::new(),
        amr: Amr::password(),
        auth_time: now() - TimeDelta::minutes(1),
    }
}

fn stored(user: &User, sign_count: u32) -> StoredPasskey {
    StoredPasskey {
        id: PasskeyId::new(),
        user_id: user.id,
        credential_id: b"cred-1".to_vec(),
        name: "Laptop".into(),
        credential: "{}".into(),
        sign_count,
        backup_eligible: false,
        backed_up: false,
        created_at: now() - TimeDelta::days(1),
        last_used_at: None,
    }
}

fn ceremony(kind: CeremonyKind, user: Option<&User>) -> Ceremony {
    Ceremony {
        key: "c-1".into(),
        kind,
        user_id: user.map(|u| u.id),
        state: "state".into(),
        created_at: now() - TimeDelta::seconds(20),
        expires_at: now() + TimeDelta::minutes(4),
    }
}

struct Mocks {
    users: MockUserRepository,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
    passkeys: MockPasskeyStore,
    ceremonies: MockCeremonyStore,
    rp: MockRelyingParty,
    outbox: MockMailOutbox,
    audit: Recorded<AuditEvent>,
}

impl Mocks {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            sessions: MockSessionRepository::new(),
            tokens: MockTokenService::new(),
            passkeys: MockPasskeyStore::new(),
            ceremonies: MockCeremonyStore::new(),
            rp: MockRelyingParty::new(),
            outbox: outbox_accepting(),
            audit: recorded(),
        }
    }

    /// An assertion naming `cred-1` of `user`, a ceremony of `kind` to take, the user found.
    fn asserting(mut self, user: &User, kind: CeremonyKind, for_user: bool) -> Self {
        let handle = user.id.0.as_bytes().to_vec();
        self.rp.expect_read_assertion().returning(move |_| {
            Ok(AssertionClaim {
                credential_id: b"cred-1".to_vec(),
                user_handle: Some(handle.clone()),
            })
        });
        let taken = ceremony(kind, for_user.then_some(user));
        self.ceremonies
            .expect_take_ceremony()
            .times(1)
            .returning(move |_, _, _| Ok(Some(taken.clone())));
        let found = user.clone();
        self.users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(found.clone())));
        self
    }

    /// `find_passkey` answers `key`.
    fn finding_passkey(&mut self, key: StoredPasskey) {
        self.passkeys
            .expect_find_passkey()
            .returning(move |_| Ok(Some(key.clone())));
    }

    /// `finish_login` of ceremony `c-1`, and the audit events it recorded.
    async fn finish_login(
        self,
    ) -> (
        Result<crate::service::LoginOutcome, PasskeyLoginError>,
        Recorded<AuditEvent>,
    ) {
        let audit = self.audit.clone();
        let outcome = self
            .build()
            .finish_login("c-1", "{}", &ClientInfo::default())
            .await;
        (outcome, audit)
    }

    fn build(self) -> PasskeyService {
        let clock = clock_at(now());
        let users = Arc::new(self.users);
        let audit = Arc::new(audit_keeping(&self.audit));
        let auth = auth_service(
            users.clone(),
            self.sessions,
            self.tokens,
            MockPasswordHasher::new(),
            clock.clone(),
        )
        .with_audit(audit.clone());
        PasskeyService::new(
            PasskeyPorts {
                users,
                passkeys: Arc::new(self.passkeys),
                ceremonies: Arc::new(self.ceremonies),
                relying_party: Arc::new(self.rp),
                challenges: Arc::new(MockMfaChallengeStore::new()),
                keeper: Arc::new(keeper_counting()),
                outbox: Arc::new(self.outbox),
                audit,
                clock,
            },
            auth,
            PasskeyPolicy::default(),
            TimeDelta::minutes(5),
        )
    }
}

fn reasons(audit: &Mutex<Vec<AuditEvent>>) -> Vec<(String, String)> {
    audit
        .lock()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e.kind.clone(),
                e.detail.get("reason").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn an_account_keeps_a_way_to_log_in() {
    let rule = |password, passkeys| {
        keeps_a_way_to_log_in(LoginMethods {
            password,
            passkeys,
            identities: 0,
        })
    };
    assert!(rule(true, 0));
    assert!(rule(false, 1));
    assert!(!rule(false, 0));
}

#[tokio::test]
async fn a_malformed_assertion_is_refused_before_any_ceremony_is_taken() {
    let mut mocks = Mocks::new();
    mocks.rp.expect_read_assertion().returning(|_| {
        Err(CeremonyRefusal::Malformed(
            "missing field `response`".into(),
        ))
    });
    mocks.ceremonies.expect_take_ceremony().times(0);
    let outcome = mocks
        .build()
        .finish_login("c-1", "{}", &ClientInfo::default())
        .await;
    assert!(
        matches!(outcome, Err(PasskeyLoginError::Malformed(_))),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn a_spent_or_expired_challenge_never_reaches_the_relying_party() {
    let mut mocks = Mocks::new();
    mocks.rp.expect_read_assertion().returning(|_| {
        Ok(AssertionClaim {
            credential_id: b"cred-1".to_vec(),
            user_handle: None,
        })
    });
    mocks
        .ceremonies
        .expect_take_ceremony()
        .withf(|key, kind, at| key == "c-1" && *kind == CeremonyKind::Login && *at == now())
        .returning(|_, _, _| Ok(None));
    mocks.rp.expect_finish_login().times(0);
    let (outcome, audit) = mocks.finish_login().await;
    assert!(matches!(
        outcome,
        Err(PasskeyLoginError::InvalidCredentials)
    ));
    assert_eq!(
        reasons(&audit),
        [(
            "login_failed".into(),
            "unknown_spent_or_expired_challenge".into()
        )]
    );
}

#[tokio::test]
async fn an_inactive_user_is_refused_like_an_unknown_credential() {
    let mut ann = user();
    ann.is_active = false;
    let mut mocks = Mocks::new().asserting(&ann, CeremonyKind::Login, false);
    mocks.finding_passkey(stored(&ann, 0));
    mocks.rp.expect_finish_login().times(0);
    mocks.sessions.expect_start().times(0);
    let (outcome, audit) = mocks.finish_login().await;
    assert!(matches!(
        outcome,
        Err(PasskeyLoginError::InvalidCredentials)
    ));
    assert_eq!(
        reasons(&audit),
        [("login_failed".into(), "inactive_user".into())]
    );
}

#[tokio::test]
async fn a_counter_that_went_backwards_refuses_the_login_and_is_audited() {
    let ann = user();
    let mut mocks = Mocks::new().asserting(&ann, CeremonyKind::Login, false);
    mocks.finding_passkey(stored(&ann, 7));
    mocks
        .rp
        .expect_finish_login()
        .returning(|_, _, _| Err(CeremonyRefusal::CounterWentBackwards));
    mocks.passkeys.expect_record_passkey_use().times(0);
    mocks.sessions.expect_start().times(0);
    let (outcome, audit) = mocks.finish_login().await;
    assert!(matches!(
        outcome,
        Err(PasskeyLoginError::InvalidCredentials)
    ));
    let events = audit.lock().unwrap().clone();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].user_id, Some(ann.id));
    assert_eq!(
        events[0].detail.get("reason").map(String::as_str),
        Some("signature_counter_went_backwards")
    );
}

#[tokio::test]
async fn a_verified_assertion_opens_a_passkey_session_and_records_the_counter() {
    let ann = user();
    let mut mocks = Mocks::new().asserting(&ann, CeremonyKind::Login, false);
    let key = stored(&ann, 7);
    let id = key.id;
    mocks
        .passkeys
        .expect_find_passkey()
        .returning(move |_| Ok(Some(key.clone())));
    mocks.rp.expect_finish_login().returning(|_, _, _| {
        Ok(VerifiedAssertion {
            sign_count: 8,
            backup_eligible: false,
            backed_up: false,
            credential: "{updated}".into(),
        })
    });
    mocks
        .passkeys
        .expect_record_passkey_use()
        .withf(move |u| {
            u.id == id && u.previous_sign_count == 7 && u.sign_count == 8 && u.at == now()
        })
        .times(1)
        .returning(|_| Ok(true));
    mocks
        .sessions
        .expect_start()
        .withf(|session| session.amr == Amr::passkey())
        .times(1)
        .returning(|_| Ok(()));
    mocks
        .tokens
        .expect_issue()
        .withf(|claims| claims.amr.to_strings() == ["hwk", "user", "mfa"])
        .returning(|_| Ok("token".into()));
    let outcome = mocks
        .build()
        .finish_login("c-1", "{}", &ClientInfo::default())
        .await;
    assert!(outcome.is_ok(), "{outcome:?}");
}

#[tokio::test]
async fn a_credential_of_another_account_does_not_answer_a_second_factor() {
    let ann = user();
    let mut bob = user();
    bob.id = crate::user::UserId::new();
    let mut mocks = Mocks::new().asserting(&ann, CeremonyKind::Reauthentication, true);
    // The assertion names Bob's passkey (and Bob's handle).
    let key = stored(&bob, 0);
    mocks
        .passkeys
        .expect_find_passkey()
        .returning(move |_| Ok(Some(key.clone())));
    mocks.rp.checkpoint();
    let handle = bob.id.0.as_bytes().to_vec();
    mocks.rp.expect_read_assertion().returning(move |_| {
        Ok(AssertionClaim {
            credential_id: b"cred-1".to_vec(),
            user_handle: Some(handle.clone()),
        })
    });
    mocks.rp.expect_finish_login().times(0);
    let mut passwordless = ann.clone();
    passwordless.password_hash = PasswordHash::new(String::new());
    let outcome = mocks
        .build()
        .reauthenticate(
            &principal(&passwordless),
            None,
            Some("{}"),
            &ClientInfo::default(),
        )
        .await;
    assert!(
        matches!(outcome, Err(crate::mfa::ReauthError::Required)),
        "{outcome:?}"
    );
}

#[tokio::test]
async fn the_first_passkey_brings_recovery_codes_and_a_refused_one_stores_nothing() {
    let ann = user();
    for case in ["first", "second", "duplicate", "someone_elses", "refused"] {
        let mut mocks = Mocks::new();
        let owner = if case == "someone_elses" {
            None
        } else {
            Some(&ann)
        };
        let mut taken = ceremony(CeremonyKind::Registration, owner);
        if case == "someone_elses" {
            taken.user_id = Some(crate::user::UserId::new());
        }
        mocks
            .ceremonies
            .expect_take_ceremony()
            .withf(|key, kind, _| key == "r-1" && *kind == CeremonyKind::Registration)
            .returning(move |_, _, _| Ok(Some(taken.clone())));
        let found = ann.clone();
        mocks
            .users
            .expect_find_by_id()
            .returning(move |_| Ok(Some(found.clone())));
        mocks
            .rp
            .expect_finish_registration()
            .returning(move |_, _| {
                if case == "refused" {
                    return Err(CeremonyRefusal::Refused("wrong origin".into()));
                }
                Ok(NewCredential {
                    credential_id: b"cred-1".to_vec(),
                    credential: "{}".into(),
                    sign_count: 0,
                    backup_eligible: true,
                    backed_up: true,
                })
            });
        let expected_adds = usize::from(matches!(case, "first" | "second" | "duplicate"));
        mocks
            .passkeys
            .expect_add_passkey()
            .withf(|passkey, codes| passkey.credential_id == b"cred-1" && codes.len() == 10)
            .times(expected_adds)
            .returning(move |_, _| {
                Ok(match case {
                    "first" => PasskeyAdded::Added {
                        recovery_codes: true,
                    },
                    "second" => PasskeyAdded::Added {
                        recovery_codes: false,
                    },
                    _ => PasskeyAdded::DuplicateCredential,
                })
            });
        let outcome = mocks
            .build()
            .finish_registration(&principal(&ann), "r-1", "{}", None, &ClientInfo::default())
            .await;
        match case {
            "first" => {
                let new = outcome.unwrap();
                assert_eq!(new.recovery_codes.map(|c| c.len()), Some(10));
                assert!(new.passkey.backed_up && new.passkey.name.starts_with("Passkey "));
            }
            "second" => assert!(outcome.unwrap().recovery_codes.is_none()),
            _ => assert!(
                matches!(outcome, Err(FinishRegistrationError::Refused(_))),
                "{case}: {outcome:?}"
            ),
        }
    }
}

#[tokio::test]
async fn a_registration_begun_before_a_password_change_dies() {
    let mut ann = user();
    ann.password_changed_at = Some(now() - TimeDelta::seconds(5));
    let mut mocks = Mocks::new();
    let taken = ceremony(CeremonyKind::Registration, Some(&ann));
    mocks
        .ceremonies
        .expect_take_ceremony()
        .returning(move |_, _, _| Ok(Some(taken.clone())));
    let found = ann.clone();
    mocks
        .users
        .expect_find_by_id()
        .returning(move |_| Ok(Some(found.clone())));
    mocks.rp.expect_finish_registration().times(0);
    mocks.passkeys.expect_add_passkey().times(0);
    let outcome = mocks
        .build()
        .finish_registration(&principal(&ann), "r-1", "{}", None, &ClientInfo::default())
        .await;
    assert!(matches!(outcome, Err(FinishRegistrationError::Refused(_))));
}

#[tokio::test]
async fn removal_applies_the_last_way_to_log_in_rule() {
    let ann = user();
    let mut mocks = Mocks::new();
    mocks
        .passkeys
        .expect_remove_passkey()
        .withf(|_, _, rule| {
            // The store is handed the domain's rule itself.
            !rule(LoginMethods::default())
                && rule(LoginMethods {
                    password: true,
                    passkeys: 0,
                    identities: 0,
                })
        })
        .returning(|_, _, _| Ok(PasskeyRemoval::LastLoginMethod));
    let service = mocks.build();
    let owner = principal(&ann);
    let proof = crate::mfa::Reauthenticated::of(ann.id);
    let outcome = service
        .remove(&owner, &proof, PasskeyId::new(), &ClientInfo::default())
        .await;
    assert!(matches!(outcome, Err(RemovePasskeyError::LastLoginMethod)));
}
