//! The mock set-ups the domain's unit tests share: a stopped clock, arguments recorded by a
//! mock, an audit log that keeps its events, a secret keeper with a predictable output, an
//! outbox that takes everything, a throttle that admits everything, and the `AuthService`
//! that the other services are built around. Each test file keeps its own values (emails,
//! instants, hashes); what is here carries none.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::audit::AuditEvent;
use crate::issuer::TokenPolicy;
use crate::ports::mfa::{KeyedDigest, MockSecretKeeper};
use crate::ports::{
    MockAuditLog, MockClock, MockLoginThrottle, MockMailOutbox, MockPasswordHasher,
    MockSessionRepository, MockTokenService, UserRepository,
};
use crate::service::AuthService;
use crate::throttle::{Admission, AdmittedAttempt, AttemptKeys};
use crate::token::Claims;

/// Shared storage a mock's `returning` closure records its arguments in.
pub(crate) type Recorded<T> = Arc<Mutex<Vec<T>>>;

pub(crate) fn recorded<T>() -> Recorded<T> {
    Arc::new(Mutex::new(Vec::new()))
}

/// What was recorded so far.
pub(crate) fn taken<T: Clone>(record: &Recorded<T>) -> Vec<T> {
    record.lock().unwrap().clone()
}

/// A clock that always answers `at`.
pub(crate) fn clock_at(at: DateTime<Utc>) -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().return_const(at);
    Arc::new(clock)
}

/// An audit log that keeps what it is given in `events`.
pub(crate) fn audit_keeping(events: &Recorded<AuditEvent>) -> MockAuditLog {
    let events = Arc::clone(events);
    let mut audit = MockAuditLog::new();
    audit.expect_record().returning(move |event| {
        events.lock().unwrap().push(event.clone());
        Ok(())
    });
    audit
}

/// The kinds of the audit events kept, in order.
pub(crate) fn kinds(events: &Recorded<AuditEvent>) -> Vec<String> {
    taken(events).into_iter().map(|e| e.kind).collect()
}

/// A token service that issues every token asked for, recording its claims; each token is
/// `<kind>-<jti>`.
pub(crate) fn tokens_issuing(issued: &Recorded<Claims>) -> MockTokenService {
    let issued = Arc::clone(issued);
    let mut tokens = MockTokenService::new();
    tokens.expect_issue().returning(move |claims| {
        issued.lock().unwrap().push(claims.clone());
        Ok(format!("{}-{}", claims.kind.as_str(), claims.token_id))
    });
    tokens
}

/// A token service that must not issue anything.
pub(crate) fn tokens_issuing_nothing() -> MockTokenService {
    let mut tokens = MockTokenService::new();
    tokens.expect_issue().never();
    tokens
}

/// A secret keeper whose random bytes count up from 0 and whose digest of `data` is `data`
/// itself (under key `k`): recovery codes and their digests are predictable.
pub(crate) fn keeper_counting() -> MockSecretKeeper {
    let mut keeper = MockSecretKeeper::new();
    keeper
        .expect_random_bytes()
        .returning(|len| (0..len).map(|i| i as u8).collect());
    keeper.expect_digest().returning(|_, data| KeyedDigest {
        key_id: "k".into(),
        digest: String::from_utf8_lossy(data).into_owned(),
    });
    keeper
}

/// A mail outbox that takes every mail.
pub(crate) fn outbox_accepting() -> MockMailOutbox {
    let mut outbox = MockMailOutbox::new();
    outbox.expect_enqueue().returning(|_, _| Ok(()));
    outbox
}

/// An attempt the throttle admitted under `keys`, of a pair not seen before.
pub(crate) fn admitted(keys: &AttemptKeys) -> AdmittedAttempt {
    AdmittedAttempt {
        keys: keys.clone(),
        counters: Vec::new(),
        window_event: None,
        known_pair: false,
    }
}

/// A login throttle that admits every attempt.
pub(crate) fn throttle_admitting() -> MockLoginThrottle {
    let mut throttle = MockLoginThrottle::new();
    throttle
        .expect_admit()
        .returning(|keys, _, _| Ok(Admission::Admitted(admitted(keys))));
    throttle
}

/// The `AuthService` of these mocks, with the default token policy.
pub(crate) fn auth_service(
    users: Arc<dyn UserRepository>,
    sessions: MockSessionRepository,
    tokens: MockTokenService,
    hasher: MockPasswordHasher,
    clock: Arc<MockClock>,
) -> AuthService {
    AuthService::new(
        users,
        Arc::new(sessions),
        Arc::new(tokens),
        Arc::new(hasher),
        clock,
        TokenPolicy::default(),
    )
}
