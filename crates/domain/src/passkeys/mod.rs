//! Passkeys (issue "Passkeys"): WebAuthn credentials as a way to log in without a password
//! (discoverable, `["hwk", "user", "mfa"]`), as the second factor after a password, and as
//! the re-authentication of an account without a password.
//!
//! A passkey is a second factor: adding the first one sets the account's `mfa_enabled` (and
//! issues recovery codes when it is the account's first second factor), so from then on a
//! password alone only opens an `mfa_token`. Every ceremony (registration, login, second
//! factor, re-authentication) keeps its state in the database ([`CeremonyStore`]), is taken
//! once, expires after `WEBAUTHN_CHALLENGE_TTL`, and dies with a password change or a
//! deactivation of its account.

mod login;
mod registration;
mod second_factor;

#[cfg(test)]
mod service_tests;

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::audit::{self, AuditEvent};
use crate::mail::SecurityNotice;
use crate::mfa::{MfaChallengeStore, SecretKeeper};
use crate::ports::MailOutbox;
use crate::ports::{AuditLog, Clock, UserRepository};
use crate::service::AuthService;
use crate::session::{ClientInfo, Principal};
use crate::throttle::AddressBudget;
use crate::user::User;
use crate::values::ValueError;

pub use crate::ports::passkeys::{
    CeremonyKind, CeremonyRefusal, CeremonyStore, LoginMethods, PasskeyId, PasskeyRemoval,
    PasskeyStore, RelyingParty, StoredPasskey,
};
pub use login::{PasskeyLoginError, PasskeyOptionsError};
pub use registration::{FinishRegistrationError, NewPasskey, RemovePasskeyError};

pub use crate::login_methods::keeps_a_way_to_log_in;

/// The settings of passkeys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyPolicy {
    /// `WEBAUTHN_CHALLENGE_TTL`: how long a ceremony may take.
    pub challenge_ttl: TimeDelta,
}

impl Default for PasskeyPolicy {
    fn default() -> Self {
        Self {
            challenge_ttl: TimeDelta::minutes(5),
        }
    }
}

/// A passkey's name, as its owner calls it: 1 to 64 characters once trimmed, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ValueError("must not be empty".into()));
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(ValueError(format!(
                "must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(ValueError("must not contain control characters".into()));
        }
        Ok(Self(name.to_owned()))
    }

    /// The name a passkey gets when none is given.
    pub fn default_for(created_at: DateTime<Utc>) -> Self {
        Self(format!("Passkey {}", created_at.format("%Y-%m-%d")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The ports of the passkey use cases.
#[derive(Clone)]
pub struct PasskeyPorts {
    pub users: Arc<dyn UserRepository>,
    pub passkeys: Arc<dyn PasskeyStore>,
    pub ceremonies: Arc<dyn CeremonyStore>,
    pub relying_party: Arc<dyn RelyingParty>,
    /// The logins waiting for a second factor (`mfa_token`s).
    pub challenges: Arc<dyn MfaChallengeStore>,
    /// Randomness and the key of recovery-code digests.
    pub keeper: Arc<dyn SecretKeeper>,
    pub outbox: Arc<dyn MailOutbox>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

/// The passkey use cases. `auth` opens sessions, re-authenticates and throttles.
#[derive(Clone)]
pub struct PasskeyService {
    ports: PasskeyPorts,
    auth: AuthService,
    policy: PasskeyPolicy,
    /// `CEREMONY_MAX_PER_ADDRESS`: anonymous login ceremonies begun per address.
    budget: Option<AddressBudget>,
    /// `REAUTH_MAX_AGE`.
    reauth_max_age: TimeDelta,
}

impl PasskeyService {
    pub fn new(
        ports: PasskeyPorts,
        auth: AuthService,
        policy: PasskeyPolicy,
        reauth_max_age: TimeDelta,
    ) -> Self {
        Self {
            ports,
            auth,
            policy,
            budget: None,
            reauth_max_age,
        }
    }

    /// Limits the starts of discoverable logins per client address.
    pub fn with_ceremony_budget(mut self, budget: AddressBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    pub fn policy(&self) -> &PasskeyPolicy {
        &self.policy
    }

    async fn audit(&self, event: AuditEvent, principal: &Principal, client: &ClientInfo) {
        let event = event
            .user(principal.user.id)
            .session(principal.session_id)
            .client(client);
        audit::record(self.ports.audit.as_ref(), event).await;
    }

    /// Queues a notice mail (no secret in it); a failure is logged, never the request's.
    async fn notify(&self, user: &User, notice: SecurityNotice) {
        crate::notices::queue_notice(
            self.ports.outbox.as_ref(),
            self.ports.clock.now(),
            user,
            notice,
        )
        .await;
    }
}
