//! Enrolling, confirming and disabling TOTP.

use crate::audit::{kind, AuditEvent};
use crate::mail::SecurityNotice;
use crate::mfa::recovery_codes::RecoveryCode;
use crate::mfa::totp::{self, TotpSecret, SECRET_BYTES};
use crate::mfa::{throttling, Reauthenticated};
use crate::ports::mfa::{PutPendingError, TotpConfirmation};
use crate::session::{ClientInfo, Principal};

use super::{
    owner, secret_context, ConfirmTotpError, DisableTotpError, EnrolTotpError, MfaService,
    TotpEnrolment,
};

impl MfaService {
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
}
