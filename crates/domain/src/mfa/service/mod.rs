//! The second-factor use cases of an account's owner and of administrators: enrol, confirm
//! and disable TOTP, renew recovery codes, show the factors, reset them (an administrator).
//! Finishing a login with a code is in [`super::login`].

use std::sync::Arc;

use crate::audit::{self, AuditEvent};
use crate::error::Fault;
use crate::mail::SecurityNotice;
use crate::mfa::recovery_codes::{self, RecoveryCode};
use crate::mfa::totp::{self, TotpSecret};
use crate::mfa::{
    KeyedDigest, MfaChallengeStore, MfaPolicy, MfaStatus, Reauthenticated, RecoveryCodeStore,
    SecondFactors, SecretKeeper, TotpStore,
};
use crate::ports::MailOutbox;
use crate::ports::{AuditLog, Clock, UserRepository};
use crate::service::AuthService;
use crate::session::{ClientInfo, Principal};
use crate::user::{User, UserId};

mod codes;
mod totp_enrolment;

/// The ports of the second-factor use cases.
#[derive(Clone)]
pub struct MfaPorts {
    pub users: Arc<dyn UserRepository>,
    pub totp: Arc<dyn TotpStore>,
    pub codes: Arc<dyn RecoveryCodeStore>,
    pub factors: Arc<dyn SecondFactors>,
    pub challenges: Arc<dyn MfaChallengeStore>,
    pub keeper: Arc<dyn SecretKeeper>,
    pub outbox: Arc<dyn MailOutbox>,
    pub audit: Arc<dyn AuditLog>,
    pub clock: Arc<dyn Clock>,
}

/// The second-factor use cases. `auth` opens sessions, checks passwords and throttles.
#[derive(Clone)]
pub struct MfaService {
    pub(super) ports: MfaPorts,
    pub(super) auth: AuthService,
    pub(super) policy: MfaPolicy,
}

/// A pending TOTP enrolment: what the user's app needs. Shown once.
#[derive(Debug, Clone)]
pub struct TotpEnrolment {
    pub secret: TotpSecret,
    pub otpauth_uri: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolTotpError {
    #[error("TOTP is already enabled")]
    AlreadyEnabled,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum ConfirmTotpError {
    #[error("no TOTP enrolment is pending")]
    NoPendingEnrolment,
    #[error("TOTP is already enabled")]
    AlreadyEnabled,
    #[error("the code is wrong")]
    InvalidCode,
    /// A concurrent confirmation or re-enrolment won.
    #[error("changed concurrently")]
    Conflict,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum DisableTotpError {
    #[error("TOTP is not enabled")]
    NotEnabled,
    #[error("the code is wrong")]
    InvalidCode,
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum RegenerateCodesError {
    #[error("the account has no second factor")]
    NotEnabled,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum ResetMfaError {
    #[error("administrators only")]
    Forbidden,
    #[error("no such user")]
    NotFound,
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// Which code a user gave.
pub(super) enum GivenCode {
    Totp(String),
    Recovery(String),
    Neither,
}

impl GivenCode {
    pub(super) fn read(typed: &str) -> Self {
        if let Some(code) = totp::normalise_code(typed) {
            return Self::Totp(code);
        }
        match recovery_codes::normalise(typed) {
            Some(code) => Self::Recovery(code),
            None => Self::Neither,
        }
    }
}

impl MfaService {
    pub fn new(ports: MfaPorts, auth: AuthService, policy: MfaPolicy) -> Self {
        Self {
            ports,
            auth,
            policy,
        }
    }

    pub fn policy(&self) -> &MfaPolicy {
        &self.policy
    }

    /// The re-authentication rule (see [`crate::mfa::reauth`]) with this service's
    /// `REAUTH_MAX_AGE`.
    pub async fn reauthenticate(
        &self,
        principal: &Principal,
        password: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Reauthenticated, crate::mfa::ReauthError> {
        self.auth
            .reauthenticate(principal, password, client, self.policy.reauth_max_age)
            .await
    }

    /// The caller's second factors.
    pub async fn status(&self, principal: &Principal) -> Result<MfaStatus, Fault> {
        self.ports.factors.mfa_status(principal.user.id).await
    }

    fn new_code_set(&self, user_id: UserId) -> (Vec<RecoveryCode>, Vec<KeyedDigest>) {
        recovery_codes::new_set(self.ports.keeper.as_ref(), user_id)
    }

    fn code_digest(&self, user_id: UserId, canonical: &str) -> KeyedDigest {
        recovery_codes::digest(self.ports.keeper.as_ref(), user_id, canonical)
    }

    pub(super) async fn audit(
        &self,
        event: AuditEvent,
        principal: &Principal,
        client: &ClientInfo,
    ) {
        let event = event
            .user(principal.user.id)
            .session(principal.session_id)
            .client(client);
        audit::record(self.ports.audit.as_ref(), event).await;
    }

    /// Queues a notice mail (no secret in it); a failure is logged, never the request's.
    pub(super) async fn notify(&self, user: &User, notice: SecurityNotice) {
        crate::notices::queue_notice(
            self.ports.outbox.as_ref(),
            self.ports.clock.now(),
            user,
            notice,
        )
        .await;
    }
}

/// The user a re-authentication proof was made for, who must be the caller.
pub(crate) fn owner<'a>(
    principal: &'a Principal,
    proof: &Reauthenticated,
) -> Result<&'a User, Fault> {
    if proof.user_id() != principal.user.id {
        return Err(Fault::internal("re-authentication of another user"));
    }
    Ok(&principal.user)
}

/// What a user's TOTP secret is bound to when sealed.
pub(super) fn secret_context(user_id: UserId) -> Vec<u8> {
    format!("totp:{user_id}").into_bytes()
}
