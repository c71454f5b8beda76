//! The second-factor use cases of an account's owner and of administrators: enrol, confirm
//! and disable TOTP, renew recovery codes, show the factors, reset them (an administrator).
//! Finishing a login with a code is in [`super::login`].

use std::sync::Arc;

use crate::admin::can_administer;
use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::mail::{MailOutbox, SecurityNotice};
use crate::mfa::ports::{PutPendingError, TotpConfirmation};
use crate::mfa::recovery_codes::{self, RecoveryCode};
use crate::mfa::totp::{self, TotpSecret, SECRET_BYTES};
use crate::mfa::{
    throttling, KeyedDigest, MfaChallengeStore, MfaPolicy, MfaStatus, Reauthenticated,
    RecoveryCodeStore, SecondFactors, SecretKeeper, TotpStore,
};
use crate::ports::{AuditLog, Clock, UserRepository};
use crate::service::AuthService;
use crate::session::{ClientInfo, Principal};
use crate::user::{User, UserId};

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

    /// Starts a TOTP enrolment: a new secret, pending until a code of it is confirmed.
    pub async fn enrol_totp(
        &self,
        principal: &Principal,
        proof: &Reauthenticated,
    ) -> Result<TotpEnrolment, EnrolTotpError> {
        let user = owner(principal, proof)?;
        let secret = TotpSecret::new(self.ports.keeper.random_bytes(SECRET_BYTES));
        let sealed = self
            .ports
            .keeper
            .seal(secret.expose(), &secret_context(user.id))?;
        let now = self.ports.clock.now();
        match self
            .ports
            .totp
            .put_pending_totp(user.id, &sealed, now)
            .await
        {
            Ok(()) => {}
            Err(PutPendingError::AlreadyEnabled) => return Err(EnrolTotpError::AlreadyEnabled),
            Err(PutPendingError::Fault(fault)) => return Err(fault.into()),
        }
        let otpauth_uri = totp::otpauth_uri(&self.policy.issuer, user.email.as_str(), &secret);
        Ok(TotpEnrolment {
            secret,
            otpauth_uri,
        })
    }

    /// Confirms the pending enrolment with a code of it: TOTP is on, the answer is a new set
    /// of recovery codes, and every other session of the user ends.
    pub async fn confirm_totp(
        &self,
        principal: &Principal,
        code: &str,
        client: &ClientInfo,
    ) -> Result<Vec<RecoveryCode>, ConfirmTotpError> {
        let user = &principal.user;
        let record = self
            .ports
            .totp
            .find_totp(user.id)
            .await?
            .ok_or(ConfirmTotpError::NoPendingEnrolment)?;
        if record.confirmed_at.is_some() {
            return Err(ConfirmTotpError::AlreadyEnabled);
        }
        let secret = TotpSecret::new(
            self.ports
                .keeper
                .open(&record.secret, &secret_context(user.id))?,
        );
        let now = self.ports.clock.now();
        let Some(step) = totp::matching_step(&secret, code, now) else {
            self.audit(AuditEvent::new(kind::MFA_FAILED, now), principal, client)
                .await;
            return Err(ConfirmTotpError::InvalidCode);
        };
        let (codes, digests) = self.new_code_set(user.id);
        let confirmation = TotpConfirmation {
            user_id: user.id,
            secret_nonce: record.secret.nonce.clone(),
            step,
            recovery_codes: digests,
            keep_session: principal.session_id,
            now,
        };
        let Some(revoked) = self.ports.totp.confirm_totp(&confirmation).await? else {
            return Err(ConfirmTotpError::Conflict);
        };
        log::info!(
            "TOTP enabled for user {}; {revoked} other session(s) ended",
            user.id
        );
        let event = AuditEvent::new(kind::MFA_ENABLED, now).detail("method", "totp");
        self.audit(event, principal, client).await;
        self.notify(user, SecurityNotice::TotpEnabled).await;
        Ok(codes)
    }

    /// Turns TOTP off, with a code (TOTP or recovery) as a last proof. The recovery codes go
    /// with it unless a passkey remains.
    pub async fn disable_totp(
        &self,
        principal: &Principal,
        proof: &Reauthenticated,
        code: &str,
        client: &ClientInfo,
    ) -> Result<(), DisableTotpError> {
        let user = owner(principal, proof)?;
        let enabled = self
            .ports
            .totp
            .find_totp(user.id)
            .await?
            .is_some_and(|record| record.confirmed_at.is_some());
        if !enabled {
            return Err(DisableTotpError::NotEnabled);
        }
        let now = self.ports.clock.now();
        let counted = match throttling::admit(&self.auth, &user.email, client).await? {
            Ok(counted) => counted,
            Err(locked) => {
                return Err(DisableTotpError::TooManyAttempts {
                    retry_after_secs: locked.retry_after_secs,
                })
            }
        };
        if self.check_code(user, code).await?.is_none() {
            if let Some(counted) = counted {
                counted.failed();
            }
            let event = AuditEvent::new(kind::MFA_FAILED, now).detail("reason", "disable_totp");
            self.audit(event, principal, client).await;
            return Err(DisableTotpError::InvalidCode);
        }
        if let Some(counted) = counted {
            counted.refund().await?;
        }
        if !self.ports.totp.remove_totp(user.id).await? {
            return Err(DisableTotpError::NotEnabled);
        }
        let event = AuditEvent::new(kind::MFA_DISABLED, now).detail("method", "totp");
        self.audit(event, principal, client).await;
        self.notify(user, SecurityNotice::TotpDisabled).await;
        Ok(())
    }

    /// A new set of recovery codes; the old set dies.
    pub async fn regenerate_codes(
        &self,
        principal: &Principal,
        proof: &Reauthenticated,
        client: &ClientInfo,
    ) -> Result<Vec<RecoveryCode>, RegenerateCodesError> {
        let user = owner(principal, proof)?;
        let (codes, digests) = self.new_code_set(user.id);
        let now = self.ports.clock.now();
        if !self
            .ports
            .codes
            .replace_recovery_codes(user.id, &digests, now)
            .await?
        {
            return Err(RegenerateCodesError::NotEnabled);
        }
        self.audit(
            AuditEvent::new(kind::RECOVERY_CODES_RENEWED, now),
            principal,
            client,
        )
        .await;
        self.notify(user, SecurityNotice::RecoveryCodesRenewed)
            .await;
        Ok(codes)
    }

    /// An administrator removes every second factor of a user (who lost them all) and ends
    /// the user's sessions.
    pub async fn reset(
        &self,
        admin: &Principal,
        user_id: UserId,
        client: &ClientInfo,
    ) -> Result<(), ResetMfaError> {
        if !can_administer(&admin.user) {
            return Err(ResetMfaError::Forbidden);
        }
        let user = self
            .ports
            .users
            .find_by_id(user_id)
            .await?
            .ok_or(ResetMfaError::NotFound)?;
        let now = self.ports.clock.now();
        let revoked = self
            .ports
            .factors
            .reset_second_factors(user_id, now)
            .await?
            .ok_or(ResetMfaError::NotFound)?;
        log::info!(
            "second factors of user {user_id} reset by {}; {revoked} session(s) ended",
            admin.user.id
        );
        let event = AuditEvent::new(kind::MFA_RESET, now)
            .user(user_id)
            .actor(admin.user.id)
            .session(admin.session_id)
            .client(client);
        audit::record(self.ports.audit.as_ref(), event).await;
        self.notify(&user, SecurityNotice::SecondFactorsReset).await;
        Ok(())
    }

    /// Checks a TOTP or recovery code of `user`, spending it (the TOTP step, or the recovery
    /// code) when right. `Some(true)` for a recovery code, `Some(false)` for TOTP.
    pub(super) async fn check_code(&self, user: &User, typed: &str) -> Result<Option<bool>, Fault> {
        match GivenCode::read(typed) {
            GivenCode::Totp(code) => {
                let Some(record) = self
                    .ports
                    .totp
                    .find_totp(user.id)
                    .await?
                    .filter(|record| record.confirmed_at.is_some())
                else {
                    return Ok(None);
                };
                let secret = TotpSecret::new(
                    self.ports
                        .keeper
                        .open(&record.secret, &secret_context(user.id))?,
                );
                let Some(step) = totp::matching_step(&secret, &code, self.ports.clock.now()) else {
                    return Ok(None);
                };
                // The compare-and-set decides: a code already accepted once (or a concurrent
                // login with the same code) is refused even inside its window.
                let accepted = self.ports.totp.accept_totp_step(user.id, step).await?;
                Ok(accepted.then_some(false))
            }
            GivenCode::Recovery(code) => {
                let digest = self.code_digest(user.id, &code);
                let used = self
                    .ports
                    .codes
                    .use_recovery_code(user.id, &digest, self.ports.clock.now())
                    .await?;
                Ok(used.then_some(true))
            }
            GivenCode::Neither => Ok(None),
        }
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
        crate::mail::queue_notice(
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
