//! Renewing recovery codes, and an administrator's reset of every factor.

use crate::admin::can_administer;
use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::mail::SecurityNotice;
use crate::mfa::recovery_codes::RecoveryCode;
use crate::mfa::totp::{self, TotpSecret};
use crate::mfa::Reauthenticated;
use crate::session::{ClientInfo, Principal};
use crate::user::{User, UserId};

use super::{owner, secret_context, GivenCode, MfaService, RegenerateCodesError, ResetMfaError};

impl MfaService {
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
    pub(in crate::mfa) async fn check_code(
        &self,
        user: &User,
        typed: &str,
    ) -> Result<Option<bool>, Fault> {
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
}
