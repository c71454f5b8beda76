//! A passkey as the second factor after a password (`POST /login/mfa` with `credential`), and
//! as the re-authentication of an account without a password.

use crate::audit::{kind, AuditEvent};
use crate::mfa::login::{pending_login, SecondStep};
use crate::mfa::{throttling, MfaLoginError, ReauthError, Reauthenticated};
use crate::one_time::TokenDigest;
use crate::ports::passkeys::CeremonyKind;
use crate::service::LoginOutcome;
use crate::session::{ClientInfo, Principal};

use super::login::{malformed, mfa_ceremony_key, reauth_ceremony_key};
use super::{PasskeyOptionsError, PasskeyService};

impl PasskeyService {
    /// The request options for the passkeys of the login waiting under `mfa_token`.
    pub async fn begin_second_factor(
        &self,
        mfa_token: &str,
    ) -> Result<String, PasskeyOptionsError> {
        let digest = TokenDigest::of(mfa_token);
        let now = self.ports.clock.now();
        let (challenge, user) = pending_login(
            self.ports.challenges.as_ref(),
            self.ports.users.as_ref(),
            &digest,
            now,
        )
        .await
        .map_err(|error| match error {
            MfaLoginError::Fault(fault) => PasskeyOptionsError::Fault(fault),
            _ => PasskeyOptionsError::InvalidToken,
        })?;
        // The ceremony cannot outlive the login it completes.
        self.begin_for(
            &user,
            mfa_ceremony_key(&digest),
            CeremonyKind::SecondFactor,
            Some(challenge.expires_at),
        )
        .await
    }

    /// Finishes a login that asked for a second factor with a passkey assertion: the token
    /// pair, `amr` `["pwd", "hwk", "mfa"]` after a password. A refused assertion is one
    /// failure on the login throttle's keys and on the `mfa_token`, like a wrong code.
    pub async fn complete_second_factor(
        &self,
        mfa_token: &str,
        credential: &str,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, MfaLoginError> {
        let claim = self
            .ports
            .relying_party
            .read_assertion(credential)
            .map_err(|refusal| MfaLoginError::MalformedCredential(malformed(refusal)))?;
        let now = self.ports.clock.now();
        let step = SecondStep::begin(
            &self.auth,
            self.ports.challenges.as_ref(),
            self.ports.users.as_ref(),
            mfa_token,
            now,
            client,
        )
        .await?;
        let key = mfa_ceremony_key(&step.digest);
        let verified = self
            .verify(
                &key,
                CeremonyKind::SecondFactor,
                Some(&step.user),
                credential,
                &claim,
            )
            .await?;
        if let Err(refusal) = verified {
            let audit = self.ports.audit.as_ref();
            let detail = [("method", "passkey"), ("reason", refusal.reason)];
            return Err(step.refuse(audit, client, &detail).await);
        }
        let (challenge, user) = step.accept().await?;
        let amr = challenge.first_factor.with_passkey();
        Ok(self.auth.open_session(&user, client.clone(), amr).await?)
    }

    /// The request options for a re-authentication of the caller with one of their passkeys
    /// (answered in the `credential` of the route that needs it).
    pub async fn begin_reauthentication(
        &self,
        principal: &Principal,
    ) -> Result<String, PasskeyOptionsError> {
        self.begin_for(
            &principal.user,
            reauth_ceremony_key(principal),
            CeremonyKind::Reauthentication,
            None,
        )
        .await
    }

    /// The re-authentication rule with passkeys: an account without a password may prove
    /// itself with `credential`, an assertion of one of its passkeys; otherwise the rule of
    /// [`crate::mfa::reauth`] (the password, or a recent login).
    pub async fn reauthenticate(
        &self,
        principal: &Principal,
        password: Option<&str>,
        credential: Option<&str>,
        client: &ClientInfo,
    ) -> Result<Reauthenticated, ReauthError> {
        let user = &principal.user;
        let Some(credential) = credential.filter(|_| !user.has_password()) else {
            return self
                .auth
                .reauthenticate(principal, password, client, self.reauth_max_age)
                .await;
        };
        let Ok(claim) = self.ports.relying_party.read_assertion(credential) else {
            return Err(ReauthError::Required);
        };
        let counted = match throttling::admit(&self.auth, &user.email, client).await? {
            Ok(counted) => counted,
            Err(locked) => {
                return Err(ReauthError::TooManyAttempts {
                    retry_after_secs: locked.retry_after_secs,
                })
            }
        };
        let key = reauth_ceremony_key(principal);
        match self
            .verify(
                &key,
                CeremonyKind::Reauthentication,
                Some(user),
                credential,
                &claim,
            )
            .await?
        {
            Ok(_) => {
                if let Some(counted) = counted {
                    counted.refund().await?;
                }
                Ok(Reauthenticated::of(user.id))
            }
            Err(refusal) => {
                if let Some(counted) = counted {
                    counted.failed();
                }
                let event = AuditEvent::new(kind::REAUTHENTICATION_FAILED, self.ports.clock.now())
                    .detail("method", "passkey")
                    .detail("reason", refusal.reason);
                self.audit(event, principal, client).await;
                Err(ReauthError::Required)
            }
        }
    }
}
