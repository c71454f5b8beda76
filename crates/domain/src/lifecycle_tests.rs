//! Unit tests of the account-lifecycle use cases ([`crate::account`], [`crate::admin`],
//! [`crate::maintenance`]) and of the audit calls in [`crate::service`], against the mockall
//! mocks of the ports. A mock method without an expectation panics when called, so a test
//! that sets none on a port proves the use case never touched it.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use uuid::Uuid;

use crate::account::{
    validate_new_password, AccountService, ChangePasswordError, EndSessionError, PasswordChanged,
    ProfileError,
};
use crate::admin::{can_administer, AdminError, AdminService, Page};
use crate::audit::{kind, AuditEvent};
use crate::error::Fault;
use crate::issuer::TokenPolicy;
use crate::listing::{Cursor, SearchPrefix, Start};
use crate::maintenance::SessionPruner;
use crate::ports::{
    AdministerError, MockAuditLog, MockPasswordHasher, MockSessionRepository, MockTokenService,
    MockUserRepository, UpdateProfileError,
};
use crate::service::{AuthService, LoginError, RefreshError};
use crate::session::{ClientInfo, Principal, Session, SessionId};
use crate::test_fixtures::{
    audit_keeping, clock_at, kinds, recorded, taken, tokens_issuing, tokens_issuing_nothing,
    Recorded,
};
use crate::token::{Claims, TokenKind};
use crate::user::PrivilegeChange;
use crate::user::ProfileChange;
use crate::user::{AccountKind, NewUser, Role, User, UserId};
use crate::values::{Email, PasswordHash, PersonName, Username};

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const CURRENT: &str = "current password 1";
const NEW: &str = "brand new password 2";
const OLD_HASH: &str = "$2b$04$old-hash";
const NEW_HASH: &str = "$2b$04$new-hash";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap()
}

fn policy() -> TokenPolicy {
    TokenPolicy::default()
}

fn client() -> ClientInfo {
    ClientInfo {
        user_agent: Some("tests/1.0".into()),
        address: Some("192.0.2.7".into()),
    }
}

fn user_with(email: &str, role: Role) -> User {
    let mut user = User::register(
        Email::parse(email).unwrap(),
        NewUser::default(),
        PasswordHash::new(OLD_HASH.into()),
        AccountKind::Regular,
        now() - TimeDelta::days(10),
    );
    user.role = role;
    user
}

fn regular() -> User {
    user_with("ann@example.com", Role::User)
}

fn admin() -> User {
    user_with("root@example.com", Role::Admin)
}

fn principal_of(user: &User) -> Principal {
    Principal {
        amr: crate::Amr::password(),
        auth_time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        user: user.clone(),
        session_id: SessionId::new(),
    }
}

fn session_of(user: &User) -> Session {
    Session {
        amr: crate::Amr::password(),
        id: SessionId::new(),
        user_id: user.id,
        refresh_jti: Uuid::new_v4(),
        created_at: now() - TimeDelta::hours(1),
        last_used_at: now() - TimeDelta::hours(1),
        expires_at: now() + TimeDelta::days(29),
        revoked_at: None,
        client: client(),
    }
}

/// An audit log whose writes all fail.
fn audit_failing() -> MockAuditLog {
    let mut audit = MockAuditLog::new();
    audit
        .expect_record()
        .returning(|_| Err(Fault::unavailable("audit table is gone")));
    audit
}

fn account_service(
    users: MockUserRepository,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
    hasher: MockPasswordHasher,
    audit: MockAuditLog,
) -> AccountService {
    AccountService::new(
        Arc::new(users),
        Arc::new(sessions),
        Arc::new(tokens),
        Arc::new(hasher),
        clock_at(now()),
        Arc::new(audit),
        policy(),
    )
}

fn admin_service(users: MockUserRepository, audit: MockAuditLog) -> AdminService {
    AdminService::new(Arc::new(users), Arc::new(audit), clock_at(now()))
}

/// [`regular`] changes [`CURRENT`] (the right password) to [`NEW`].
async fn change_password_of_regular(
    users: MockUserRepository,
    tokens: MockTokenService,
    audit: MockAuditLog,
) -> Result<PasswordChanged, ChangePasswordError> {
    let svc = account_service(
        users,
        MockSessionRepository::new(),
        tokens,
        hasher(true),
        audit,
    );
    svc.change_password(&principal_of(&regular()), CURRENT, NEW, &client())
        .await
}

/// A hasher that verifies `candidate` against the old hash (answering `matches`) and hashes
/// the new password into [`NEW_HASH`], each at most once.
fn hasher(matches: bool) -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_verify()
        .withf(|_, hash| hash.as_str() == OLD_HASH)
        .times(0..=1)
        .returning(move |candidate, _| Ok(matches && candidate == CURRENT));
    hasher
        .expect_hash()
        .withf(|password| password.expose() == NEW)
        .times(0..=1)
        .returning(|_| Ok(PasswordHash::new(NEW_HASH.into())));
    hasher
}

// ---------------------------------------------------------------------------------------------
// Password change
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn password_change_with_a_wrong_current_password_is_refused_and_writes_nothing() {
    let user = regular();
    let mut users = MockUserRepository::new();
    users.expect_change_password().never();
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_verify().times(1).returning(|_, _| Ok(false));
    hasher.expect_hash().never();
    let events = recorded();
    let svc = account_service(
        users,
        MockSessionRepository::new(),
        tokens_issuing_nothing(),
        hasher,
        audit_keeping(&events),
    );

    let result = svc
        .change_password(&principal_of(&user), "guess", NEW, &client())
        .await;

    assert!(
        matches!(result, Err(ChangePasswordError::WrongPassword)),
        "{result:?}"
    );
    assert_eq!(kinds(&events), [kind::PASSWORD_CHANGE_FAILED]);
    let event = &taken(&events)[0];
    assert_eq!(event.user_id, Some(user.id));
    assert!(
        !format!("{event:?}").contains("guess"),
        "no password in {event:?}"
    );
}

#[tokio::test]
async fn password_change_to_a_password_the_policy_refuses_touches_nothing() {
    let svc = account_service(
        MockUserRepository::new(),
        MockSessionRepository::new(),
        tokens_issuing_nothing(),
        MockPasswordHasher::new(),
        MockAuditLog::new(),
    );

    for weak in ["short", &"x".repeat(73)] {
        let result = svc
            .change_password(&principal_of(&regular()), CURRENT, weak, &client())
            .await;
        assert!(
            matches!(result, Err(ChangePasswordError::WeakPassword(_))),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn password_change_revokes_every_session_and_opens_a_new_one_for_the_fresh_pair() {
    let user = regular();
    let principal = principal_of(&user);
    let stored: Recorded<(UserId, String, DateTime<Utc>, Option<Session>)> = recorded();
    let mut users = MockUserRepository::new();
    {
        let stored = Arc::clone(&stored);
        users
            .expect_change_password()
            .times(1)
            .returning(move |id, _caller, hash, at, fresh| {
                stored
                    .lock()
                    .unwrap()
                    .push((id, hash.as_str().to_owned(), at, fresh));
                Ok(Some(3))
            });
    }
    // The new session is stored by `change_password`, atomically with the revocation: the
    // session repository is not used at all.
    let issued = recorded();
    let events = recorded();
    let svc = account_service(
        users,
        MockSessionRepository::new(),
        tokens_issuing(&issued),
        hasher(true),
        audit_keeping(&events),
    );

    let changed = svc
        .change_password(&principal, CURRENT, NEW, &client())
        .await
        .unwrap();

    let stored = taken(&stored);
    assert_eq!(stored.len(), 1);
    let (id, hash, at, fresh) = &stored[0];
    assert_eq!(*id, user.id);
    assert_eq!(hash, NEW_HASH);
    assert_eq!(*at, now());
    let fresh = fresh.clone().expect("a new session is opened");
    assert_eq!(fresh.user_id, user.id);
    assert_ne!(
        fresh.id, principal.session_id,
        "the old session does not survive"
    );
    assert_eq!(fresh.created_at, now());
    assert_eq!(fresh.expires_at, now() + policy().session_max_ttl);
    assert_eq!(fresh.revoked_at, None);
    assert_eq!(fresh.client, client());

    assert_eq!(changed.session_id, fresh.id);
    assert_eq!(changed.sessions_ended, 3);
    let issued = taken(&issued);
    assert_eq!(issued.len(), 2);
    assert!(issued
        .iter()
        .all(|c| c.session_id == fresh.id && c.subject == user.id));
    let refresh = issued
        .iter()
        .find(|c| c.kind == TokenKind::Refresh)
        .unwrap();
    assert_eq!(refresh.token_id, fresh.refresh_jti);
    assert_eq!(
        changed.tokens.refresh_token,
        format!("refresh-{}", fresh.refresh_jti)
    );

    assert_eq!(kinds(&events), [kind::PASSWORD_CHANGED]);
    assert_eq!(taken(&events)[0].detail["sessions_ended"], "3");
}

#[tokio::test]
async fn password_change_of_a_deleted_account_issues_nothing() {
    let mut users = MockUserRepository::new();
    users
        .expect_change_password()
        .times(1)
        .returning(|_, _, _, _, _| Ok(None));
    let result =
        change_password_of_regular(users, tokens_issuing_nothing(), MockAuditLog::new()).await;

    assert!(
        matches!(result, Err(ChangePasswordError::AccountGone)),
        "{result:?}"
    );
}

#[tokio::test]
async fn password_change_store_fault_propagates_without_issuing() {
    let mut users = MockUserRepository::new();
    users
        .expect_change_password()
        .times(1)
        .returning(|_, _, _, _, _| Err(Fault::unavailable("down")));
    let result =
        change_password_of_regular(users, tokens_issuing_nothing(), MockAuditLog::new()).await;

    assert!(
        matches!(
            result,
            Err(ChangePasswordError::Fault(Fault::Unavailable(_)))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_failing_audit_log_does_not_fail_the_password_change() {
    let mut users = MockUserRepository::new();
    users
        .expect_change_password()
        .times(1)
        .returning(|_, _, _, _, _| Ok(Some(1)));
    let issued = recorded();
    let result = change_password_of_regular(users, tokens_issuing(&issued), audit_failing()).await;

    assert!(result.is_ok(), "{result:?}");
}

#[test]
fn the_new_password_policy_is_at_least_the_registration_policy() {
    let user = regular();
    assert!(validate_new_password("securepass123", &user).is_ok());
    assert!(validate_new_password("johnspassword1234@!", &user).is_ok());
    assert!(validate_new_password("seven77", &user).is_err());
    assert!(validate_new_password(&"€".repeat(25), &user).is_err());
}

// ---------------------------------------------------------------------------------------------
// Profile
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn profile_update_writes_the_change_and_records_which_fields() {
    let user = regular();
    let change = ProfileChange {
        username: Some(Some(Username::parse("Ann").unwrap())),
        last_name: Some(None),
        ..ProfileChange::default()
    };
    let mut updated = user.clone();
    updated.username = Some(Username::parse("Ann").unwrap());
    let mut users = MockUserRepository::new();
    {
        let (expected, updated) = (change.clone(), updated.clone());
        users
            .expect_update_profile()
            .withf(move |id, c| *id == user.id && *c == expected)
            .times(1)
            .returning(move |_, _| Ok(Some(updated.clone())));
    }
    let events = recorded();
    let svc = account_service(
        users,
        MockSessionRepository::new(),
        MockTokenService::new(),
        MockPasswordHasher::new(),
        audit_keeping(&events),
    );

    let result = svc
        .update_profile(&principal_of(&regular_with_id(user.id)), change, &client())
        .await
        .unwrap();

    assert_eq!(result, updated);
    assert_eq!(kinds(&events), [kind::PROFILE_UPDATED]);
    assert_eq!(taken(&events)[0].detail["fields"], "username,last_name");
}

fn regular_with_id(id: UserId) -> User {
    User { id, ..regular() }
}

#[tokio::test]
async fn an_empty_profile_change_writes_nothing() {
    let user = regular();
    let svc = account_service(
        MockUserRepository::new(),
        MockSessionRepository::new(),
        MockTokenService::new(),
        MockPasswordHasher::new(),
        MockAuditLog::new(),
    );

    let result = svc
        .update_profile(&principal_of(&user), ProfileChange::default(), &client())
        .await
        .unwrap();

    assert_eq!(result, user);
}

#[tokio::test]
async fn profile_update_reports_a_taken_username_and_a_vanished_account() {
    for (answer, expected) in [
        (Err(UpdateProfileError::UsernameTaken), "taken"),
        (Ok(None), "gone"),
    ] {
        let mut users = MockUserRepository::new();
        users
            .expect_update_profile()
            .times(1)
            .return_once(move |_, _| answer);
        let svc = account_service(
            users,
            MockSessionRepository::new(),
            MockTokenService::new(),
            MockPasswordHasher::new(),
            MockAuditLog::new(),
        );
        let change = ProfileChange {
            first_name: Some(Some(PersonName::parse("Ann").unwrap())),
            date_of_birth: Some(NaiveDate::from_ymd_opt(1990, 1, 2)),
            ..ProfileChange::default()
        };

        let result = svc
            .update_profile(&principal_of(&regular()), change, &client())
            .await;

        match expected {
            "taken" => assert!(
                matches!(result, Err(ProfileError::UsernameTaken)),
                "{result:?}"
            ),
            _ => assert!(
                matches!(result, Err(ProfileError::AccountGone)),
                "{result:?}"
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn sessions_are_listed_with_the_current_one_marked() {
    let user = regular();
    let principal = principal_of(&user);
    let current = Session {
        id: principal.session_id,
        ..session_of(&user)
    };
    let other = session_of(&user);
    let mut sessions = MockSessionRepository::new();
    {
        let listed = vec![other.clone(), current.clone()];
        sessions
            .expect_list_live_for_user()
            .withf(move |id, at| *id == user.id && *at == now())
            .times(1)
            .return_once(move |_, _| Ok(listed));
    }
    let svc = account_service(
        MockUserRepository::new(),
        sessions,
        MockTokenService::new(),
        MockPasswordHasher::new(),
        MockAuditLog::new(),
    );

    let listed = svc.sessions(&principal).await.unwrap();

    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].session, other);
    assert!(!listed[0].current);
    assert_eq!(listed[1].session, current);
    assert!(listed[1].current);
}

#[tokio::test]
async fn ending_a_session_that_is_not_a_live_one_of_the_caller_is_not_found() {
    let user = regular();
    let target = SessionId::new();
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_revoke_for_user()
        .withf(move |id, owner, at| *id == target && *owner == user.id && *at == now())
        .times(1)
        .returning(|_, _, _| Ok(false));
    let svc = account_service(
        MockUserRepository::new(),
        sessions,
        MockTokenService::new(),
        MockPasswordHasher::new(),
        MockAuditLog::new(),
    );

    let result = svc
        .end_session(&principal_of(&regular_with_id(user.id)), target, &client())
        .await;

    assert!(
        matches!(result, Err(EndSessionError::NotFound)),
        "{result:?}"
    );
}

#[tokio::test]
async fn ending_one_of_the_callers_sessions_is_recorded() {
    let user = regular();
    let target = SessionId::new();
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_revoke_for_user()
        .times(1)
        .returning(|_, _, _| Ok(true));
    let events = recorded();
    let svc = account_service(
        MockUserRepository::new(),
        sessions,
        MockTokenService::new(),
        MockPasswordHasher::new(),
        audit_keeping(&events),
    );

    svc.end_session(&principal_of(&user), target, &client())
        .await
        .unwrap();

    let events = taken(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, kind::SESSION_ENDED);
    assert_eq!(events[0].session_id, Some(target));
    assert_eq!(events[0].user_id, Some(user.id));
    assert_eq!(events[0].client, client());
}

#[tokio::test]
async fn logout_everywhere_revokes_all_of_the_callers_sessions() {
    let user = regular();
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_revoke_all_for_user()
        .withf(move |id, at| *id == user.id && *at == now())
        .times(1)
        .returning(|_, _| Ok(4));
    let events = recorded();
    let svc = account_service(
        MockUserRepository::new(),
        sessions,
        MockTokenService::new(),
        MockPasswordHasher::new(),
        audit_keeping(&events),
    );

    let ended = svc
        .end_all_sessions(&principal_of(&regular_with_id(user.id)), &client())
        .await
        .unwrap();

    assert_eq!(ended, 4);
    assert_eq!(kinds(&events), [kind::LOGGED_OUT_EVERYWHERE]);
}

// ---------------------------------------------------------------------------------------------
// Administration
// ---------------------------------------------------------------------------------------------

#[test]
fn who_can_administer() {
    assert!(can_administer(&admin()));
    let superuser = User {
        is_superuser: true,
        ..regular()
    };
    assert!(can_administer(&superuser));
    let staff = User {
        is_staff: true,
        ..regular()
    };
    assert!(!can_administer(&staff), "staff alone is not enough");
    assert!(!can_administer(&regular()));
    assert!(!can_administer(&user_with("o@example.com", Role::Other)));
    let inactive_admin = User {
        is_active: false,
        ..admin()
    };
    assert!(!can_administer(&inactive_admin));
}

#[tokio::test]
async fn a_non_administrator_is_forbidden_everything_before_any_read() {
    // No expectation on any port: a single read or write would panic.
    let svc = admin_service(MockUserRepository::new(), MockAuditLog::new());
    let id = UserId::new();
    let change = PrivilegeChange {
        role: Some(Role::Admin),
        ..PrivilegeChange::default()
    };
    for actor in [
        regular(),
        User {
            is_staff: true,
            ..regular()
        },
        User {
            is_active: false,
            ..admin()
        },
    ] {
        let outcomes = [
            svc.list_users(&actor, None, Page::default()).await.err(),
            svc.get_user(&actor, id).await.err(),
            svc.update_user(&actor, id, change, &client()).await.err(),
            svc.delete_user(&actor, id, &client()).await.err(),
            svc.audit_trail(&actor, id, Page::default()).await.err(),
        ];
        for outcome in outcomes {
            assert!(
                matches!(outcome, Some(AdminError::Forbidden)),
                "{outcome:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_administrator_lists_users_with_the_page_asked() {
    let mut users = MockUserRepository::new();
    users
        .expect_list()
        .withf(|search, start, limit| {
            search.is_none() && *start == Start::Offset(10) && *limit == 6
        })
        .times(1)
        .returning(|_, _, _| Ok(vec![regular()]));
    users
        .expect_count()
        .withf(|search| search.is_none())
        .times(1)
        .returning(|_| Ok(11));
    let svc = admin_service(users, MockAuditLog::new());
    let page = Page::new(Some(5), Some(10)).unwrap();

    let listing = svc.list_users(&admin(), None, page).await.unwrap();

    assert_eq!(listing.total, 11);
    assert_eq!(listing.items.len(), 1);
    assert_eq!(listing.page, page);
    assert_eq!(listing.next, None);
}

#[tokio::test]
async fn a_full_page_of_users_has_a_cursor_and_a_search_total_rides_on_it() {
    let all: Vec<User> = (0..3).map(|_| regular()).collect();
    let last_shown = (all[1].date_joined, all[1].id.0);
    let read = all.clone();
    let mut users = MockUserRepository::new();
    users
        .expect_list()
        .withf(|search, start, limit| {
            search.as_ref().map(SearchPrefix::as_str) == Some("jo")
                && *start == Start::Offset(0)
                && *limit == 3
        })
        .times(1)
        .returning(move |_, _, _| Ok(read.clone()));
    users.expect_count().times(1).returning(|_| Ok(42));
    let svc = admin_service(users, MockAuditLog::new());
    let search = SearchPrefix::parse("Jo").unwrap();
    let page = Page::new(Some(2), None).unwrap();

    let first = svc
        .list_users(&admin(), search.clone(), page)
        .await
        .unwrap();

    assert_eq!(first.items.len(), 2);
    let cursor = first.next.unwrap();
    assert_eq!(
        (cursor.at, cursor.id, cursor.total),
        (last_shown.0, last_shown.1, 42)
    );

    // The next page of the search is read after the cursor and not counted again.
    let mut users = MockUserRepository::new();
    users
        .expect_list()
        .withf(move |_, start, _| *start == Start::After(last_shown.0, last_shown.1))
        .times(1)
        .returning(|_, _, _| Ok(vec![regular()]));
    users.expect_count().never();
    let svc = admin_service(users, MockAuditLog::new());
    let second = svc
        .list_users(&admin(), search, page.after(cursor))
        .await
        .unwrap();
    assert_eq!(second.total, 42);
    assert_eq!(second.next, None);
}

#[tokio::test]
async fn pages_of_all_users_read_the_counter_every_time() {
    let mut users = MockUserRepository::new();
    users.expect_list().returning(|_, _, _| Ok(Vec::new()));
    users.expect_count().times(1).returning(|_| Ok(7));
    let svc = admin_service(users, MockAuditLog::new());
    let cursor = Cursor {
        at: now(),
        id: uuid::Uuid::new_v4(),
        total: 3,
    };
    let page = Page::default().after(cursor);

    let listing = svc.list_users(&admin(), None, page).await.unwrap();

    assert_eq!(listing.total, 7);
}

#[tokio::test]
async fn an_unknown_user_is_not_found() {
    let mut users = MockUserRepository::new();
    users.expect_find_by_id().returning(|_| Ok(None));
    users
        .expect_update_privileges()
        .returning(|_, _, _, _| Ok(None));
    users.expect_delete().returning(|_, _| Ok(false));
    let svc = admin_service(users, MockAuditLog::new());
    let id = UserId::new();
    let change = PrivilegeChange {
        is_verified: Some(true),
        ..PrivilegeChange::default()
    };

    let outcomes = [
        svc.get_user(&admin(), id).await.err(),
        svc.update_user(&admin(), id, change, &client()).await.err(),
        svc.delete_user(&admin(), id, &client()).await.err(),
    ];

    for outcome in outcomes {
        assert!(matches!(outcome, Some(AdminError::NotFound)), "{outcome:?}");
    }
}

#[test]
fn only_demotions_and_deactivations_may_remove_an_administrator() {
    let change = |role, is_active| PrivilegeChange {
        role,
        is_active,
        is_verified: Some(true),
        is_staff: Some(false),
    };
    assert!(change(Some(Role::User), None).may_remove_an_administrator());
    assert!(change(Some(Role::Other), None).may_remove_an_administrator());
    assert!(change(None, Some(false)).may_remove_an_administrator());
    assert!(change(Some(Role::Admin), Some(false)).may_remove_an_administrator());
    assert!(!change(Some(Role::Admin), Some(true)).may_remove_an_administrator());
    assert!(!change(None, None).may_remove_an_administrator());
}

#[tokio::test]
async fn privilege_changes_ask_the_store_to_keep_an_administrator_exactly_when_needed() {
    for (change, guarded) in [
        (
            PrivilegeChange {
                role: Some(Role::User),
                ..PrivilegeChange::default()
            },
            true,
        ),
        (
            PrivilegeChange {
                is_active: Some(false),
                ..PrivilegeChange::default()
            },
            true,
        ),
        (
            PrivilegeChange {
                is_verified: Some(true),
                is_staff: Some(true),
                ..PrivilegeChange::default()
            },
            false,
        ),
    ] {
        let target = regular();
        let mut users = MockUserRepository::new();
        {
            let target = target.clone();
            users
                .expect_update_privileges()
                .withf(move |id, c, keep, at| {
                    *id == target.id && *c == change && *keep == guarded && *at == now()
                })
                .times(1)
                .return_once(move |_, _, _, _| Ok(Some(target)));
        }
        let events = recorded();
        let svc = admin_service(users, audit_keeping(&events));
        let actor = admin();

        svc.update_user(&actor, target.id, change, &client())
            .await
            .unwrap();

        let events = taken(&events);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, kind::USER_UPDATED);
        assert_eq!(events[0].user_id, Some(target.id));
        assert_eq!(events[0].actor_id, Some(actor.id));
        let fields: Vec<_> = change
            .fields()
            .into_iter()
            .map(|(f, v)| (f.to_owned(), v))
            .collect();
        let recorded: Vec<_> = events[0].detail.clone().into_iter().collect();
        let mut expected = fields;
        expected.sort();
        assert_eq!(recorded, expected);
    }
}

#[tokio::test]
async fn the_last_administrator_cannot_demote_deactivate_or_delete_themselves() {
    let actor = admin();
    let mut users = MockUserRepository::new();
    users
        .expect_update_privileges()
        .withf(|_, _, keep, _| *keep)
        .times(2)
        .returning(|_, _, _, _| Err(AdministerError::LastAdministrator));
    users
        .expect_delete()
        .withf(|_, keep| *keep)
        .times(1)
        .returning(|_, _| Err(AdministerError::LastAdministrator));
    // Refused changes are not recorded as done.
    let mut audit = MockAuditLog::new();
    audit.expect_record().never();
    let svc = admin_service(users, audit);

    let demote = PrivilegeChange {
        role: Some(Role::User),
        ..PrivilegeChange::default()
    };
    let deactivate = PrivilegeChange {
        is_active: Some(false),
        ..PrivilegeChange::default()
    };
    let outcomes = [
        svc.update_user(&actor, actor.id, demote, &client())
            .await
            .err(),
        svc.update_user(&actor, actor.id, deactivate, &client())
            .await
            .err(),
        svc.delete_user(&actor, actor.id, &client()).await.err(),
    ];

    for outcome in outcomes {
        assert!(
            matches!(outcome, Some(AdminError::LastAdministrator)),
            "{outcome:?}"
        );
    }
}

#[tokio::test]
async fn deleting_a_user_is_recorded_with_its_actor() {
    let target = regular();
    let mut users = MockUserRepository::new();
    users
        .expect_delete()
        .withf(move |id, keep| *id == target.id && *keep)
        .times(1)
        .returning(|_, _| Ok(true));
    let events = recorded();
    let svc = admin_service(users, audit_keeping(&events));
    let actor = admin();

    svc.delete_user(&actor, target.id, &client()).await.unwrap();

    let events = taken(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, kind::USER_DELETED);
    assert_eq!(events[0].user_id, Some(target.id));
    assert_eq!(events[0].actor_id, Some(actor.id));
}

#[tokio::test]
async fn an_administrator_reads_a_users_audit_trail_page() {
    let target = UserId::new();
    let mut audit = MockAuditLog::new();
    audit
        .expect_list_for_user()
        .withf(move |id, start, limit| *id == target && *start == Start::Offset(0) && *limit == 21)
        .times(1)
        .returning(|_, _, _| Ok(vec![AuditEvent::new(kind::LOGGED_OUT, now())]));
    audit.expect_count_for_user().times(1).returning(|_| Ok(1));
    let svc = admin_service(MockUserRepository::new(), audit);

    let listing = svc
        .audit_trail(&admin(), target, Page::default())
        .await
        .unwrap();

    assert_eq!(listing.total, 1);
    assert_eq!(listing.items[0].kind, kind::LOGGED_OUT);
}

#[test]
fn pages_default_cap_and_refuse_zero() {
    assert_eq!(
        Page::new(None, None).unwrap(),
        Page {
            limit: 20,
            offset: 0,
            after: None,
        }
    );
    assert_eq!(Page::new(Some(1000), Some(7)).unwrap().limit, 100);
    assert_eq!(Page::new(Some(1000), Some(7)).unwrap().offset, 7);
    assert_eq!(Page::new(Some(100), None).unwrap().limit, 100);
    assert!(Page::new(Some(0), None).is_err());
}

// ---------------------------------------------------------------------------------------------
// Maintenance
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn prune_deletes_expired_sessions_and_revoked_ones_past_the_retention() {
    let mut sessions = MockSessionRepository::new();
    sessions
        .expect_prune()
        .withf(|at, revoked_before| *at == now() && *revoked_before == now() - TimeDelta::days(3))
        .times(1)
        .returning(|_, _| Ok(9));
    let pruner = SessionPruner::new(Arc::new(sessions), clock_at(now()), TimeDelta::days(3));

    assert_eq!(pruner.prune().await.unwrap(), 9);
}

// ---------------------------------------------------------------------------------------------
// The audit calls of AuthService
// ---------------------------------------------------------------------------------------------

fn auth_service(
    users: MockUserRepository,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
    hasher: MockPasswordHasher,
    audit: MockAuditLog,
) -> AuthService {
    AuthService::new(
        Arc::new(users),
        Arc::new(sessions),
        Arc::new(tokens),
        Arc::new(hasher),
        clock_at(now()),
        policy(),
    )
    .with_audit(Arc::new(audit))
}

fn users_finding(found: Option<User>) -> MockUserRepository {
    let mut users = MockUserRepository::new();
    users
        .expect_find_by_email()
        .times(1)
        .return_once(move |_| Ok(found));
    users
}

fn login_hasher(matches: bool) -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_dummy_hash()
        .returning(|| PasswordHash::new("$2b$04$dummy".into()));
    hasher.expect_verify().returning(move |_, _| Ok(matches));
    hasher.expect_needs_rehash().return_const(false);
    hasher
}

#[tokio::test]
async fn a_login_with_an_unknown_email_records_the_email_tried_but_no_user_or_password() {
    let events = recorded();
    let svc = auth_service(
        users_finding(None),
        MockSessionRepository::new(),
        tokens_issuing_nothing(),
        login_hasher(false),
        audit_keeping(&events),
    );
    let email = Email::parse("Nobody@Example.com").unwrap();

    let result = svc.login(&email, "hunter2hunter2", client()).await;

    assert!(matches!(result, Err(LoginError::InvalidCredentials)));
    let events = taken(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, kind::LOGIN_FAILED);
    assert_eq!(events[0].user_id, None);
    assert_eq!(events[0].detail["email"], "nobody@example.com");
    assert_eq!(events[0].detail["reason"], "unknown_email");
    assert_eq!(events[0].client, client());
    assert!(!format!("{events:?}").contains("hunter2"));
}

#[tokio::test]
async fn a_login_with_a_wrong_password_records_the_user() {
    let user = regular();
    let events = recorded();
    let svc = auth_service(
        users_finding(Some(user.clone())),
        MockSessionRepository::new(),
        tokens_issuing_nothing(),
        login_hasher(false),
        audit_keeping(&events),
    );

    let result = svc.login(&user.email, "wrong password", client()).await;

    assert!(matches!(result, Err(LoginError::InvalidCredentials)));
    let events = taken(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, kind::LOGIN_FAILED);
    assert_eq!(events[0].user_id, Some(user.id));
    assert_eq!(events[0].detail["reason"], "wrong_password");
    assert!(!events[0].detail.contains_key("email"));
}

#[tokio::test]
async fn a_successful_login_is_recorded_and_a_failing_audit_log_does_not_stop_it() {
    for failing in [false, true] {
        let user = regular();
        let mut sessions = MockSessionRepository::new();
        sessions.expect_start().times(1).returning(|_| Ok(()));
        let events = recorded();
        let audit = if failing {
            audit_failing()
        } else {
            audit_keeping(&events)
        };
        let issued = recorded();
        let svc = auth_service(
            users_finding(Some(user.clone())),
            sessions,
            tokens_issuing(&issued),
            login_hasher(true),
            audit,
        );

        let outcome = svc.login(&user.email, CURRENT, client()).await.unwrap();

        if !failing {
            let events = taken(&events);
            assert_eq!(events.len(), 1);
            assert_eq!(events[0].kind, kind::LOGIN_SUCCEEDED);
            assert_eq!(events[0].session_id, Some(outcome.session_id));
            assert_eq!(events[0].user_id, Some(user.id));
        }
    }
}

#[tokio::test]
async fn refresh_token_reuse_is_recorded_with_the_client() {
    let user = regular();
    let session = session_of(&user);
    let replayed = Claims {
        amr: crate::Amr::password(),
        auth_time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        kind: TokenKind::Refresh,
        subject: user.id,
        session_id: session.id,
        token_id: Uuid::new_v4(), // not the session's current refresh token: a replay
        issued_at: now() - TimeDelta::minutes(5),
        expires_at: now() + TimeDelta::days(1),
    };
    let mut tokens = MockTokenService::new();
    tokens
        .expect_verify()
        .times(1)
        .return_once(move |_, _| Ok(replayed));
    let mut sessions = MockSessionRepository::new();
    {
        let found = (session.clone(), user.clone());
        sessions
            .expect_find_with_user()
            .times(1)
            .return_once(move |_| Ok(Some(found)));
    }
    // The store holds another refresh token id: its compare-and-set refuses.
    sessions
        .expect_rotate_refresh()
        .times(1)
        .returning(|_, _, _, _| Ok(false));
    sessions.expect_revoke().times(1).returning(|_, _| Ok(()));
    let events = recorded();
    let svc = auth_service(
        MockUserRepository::new(),
        sessions,
        tokens,
        MockPasswordHasher::new(),
        audit_keeping(&events),
    );

    let result = svc.refresh_from("old.refresh.token", &client()).await;

    assert!(
        matches!(result, Err(RefreshError::ReuseDetected)),
        "{result:?}"
    );
    let events = taken(&events);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, kind::REFRESH_REUSE_DETECTED);
    assert_eq!(events[0].session_id, Some(session.id));
    assert_eq!(events[0].user_id, Some(user.id));
    assert_eq!(events[0].client, client());
}

#[tokio::test]
async fn logout_and_registration_are_recorded() {
    let user = regular();
    let principal = principal_of(&user);
    let mut sessions = MockSessionRepository::new();
    sessions.expect_revoke().times(1).returning(|_, _| Ok(()));
    let mut users = MockUserRepository::new();
    users.expect_find_by_email().returning(|_| Ok(None));
    users.expect_insert().returning(|_| Ok(()));
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .returning(|_| Ok(PasswordHash::new(NEW_HASH.into())));
    let events = recorded();
    let svc = auth_service(
        users,
        sessions,
        MockTokenService::new(),
        hasher,
        audit_keeping(&events),
    );

    svc.logout_from(&principal, &client()).await.unwrap();
    let registered = svc
        .register_from(
            Email::parse("new@example.com").unwrap(),
            &crate::Password::parse(NEW).unwrap(),
            NewUser::default(),
            AccountKind::Regular,
            &client(),
        )
        .await
        .unwrap();

    let events = taken(&events);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind, kind::LOGGED_OUT);
    assert_eq!(events[0].session_id, Some(principal.session_id));
    assert_eq!(events[1].kind, kind::USER_REGISTERED);
    assert_eq!(events[1].user_id, Some(registered.id));
    assert_eq!(events[1].client, client());
}
