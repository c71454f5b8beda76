//! Logging in with a passkey without a password (discoverable credentials), and the
//! verification of an assertion every passkey ceremony shares (see [`super::second_factor`]
//! for the second factor and the re-authentication).
//!
//! Every refusal of a passwordless login — unknown credential, bad signature, wrong origin
//! or RP ID, replayed or expired challenge, user verification missing, inactive user, a
//! signature counter that went backwards — is the same [`PasskeyLoginError::InvalidCredentials`];
//! only the audit trail and the log say which. Each counts as a failure on the client
//! address's throttle key.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::mfa::login::still_pending_for;
use crate::ports::passkeys::{
    AssertionClaim, Ceremony, CeremonyKind, CeremonyRefusal, PasskeyUse, StoredPasskey,
};
use crate::recovery::TokenDigest;
use crate::service::LoginOutcome;
use crate::session::{ClientInfo, Principal};
use crate::throttle::{AttemptKeys, ThrottleError};
use crate::user::User;
use crate::Amr;

use super::PasskeyService;

#[derive(Debug, thiserror::Error)]
pub enum PasskeyLoginError {
    /// Any refusal, alike (401 `invalid_credentials`).
    #[error("invalid credentials")]
    InvalidCredentials,
    /// Not an assertion response at all (422).
    #[error("malformed credential: {0}")]
    Malformed(String),
    /// The throttle refused: the assertion was not checked.
    #[error("too many attempts; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum PasskeyOptionsError {
    /// The account has no passkey to ask for.
    #[error("the account has no passkey")]
    NoPasskey,
    /// The `mfa_token` is unknown, spent, expired or dead.
    #[error("invalid or expired mfa_token")]
    InvalidToken,
    #[error("too many ceremonies; retry in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error(transparent)]
    Fault(#[from] Fault),
}

/// Why an assertion was refused: the reason, for the audit trail and the log only.
pub(super) struct Refused {
    pub(super) reason: &'static str,
    pub(super) user: Option<User>,
}

fn refused(reason: &'static str) -> Refused {
    Refused { reason, user: None }
}

pub(super) fn mfa_ceremony_key(digest: &TokenDigest) -> String {
    format!("mfa:{}", digest.as_str())
}

pub(super) fn reauth_ceremony_key(principal: &Principal) -> String {
    format!("reauth:{}", principal.session_id)
}

pub(super) fn malformed(refusal: CeremonyRefusal) -> String {
    match refusal {
        CeremonyRefusal::Malformed(why) => why,
        other => other.to_string(),
    }
}

impl PasskeyService {
    /// Begins a passwordless login: request options for any discoverable credential, and the
    /// id to finish it with. Limited per client address (`CEREMONY_MAX_PER_ADDRESS`).
    pub async fn begin_login(
        &self,
        client: &ClientInfo,
    ) -> Result<(String, String), PasskeyOptionsError> {
        if let Some(budget) = &self.budget {
            budget.spend(client).await.map_err(|error| match error {
                ThrottleError::TooManyAttempts { retry_after_secs } => {
                    PasskeyOptionsError::TooManyAttempts { retry_after_secs }
                }
                ThrottleError::Fault(fault) => PasskeyOptionsError::Fault(fault),
            })?;
        }
        let start = self.ports.relying_party.start_discoverable_login()?;
        let challenge_id = Uuid::new_v4().to_string();
        self.put(
            challenge_id.clone(),
            CeremonyKind::Login,
            None,
            start.state,
            None,
        )
        .await?;
        Ok((challenge_id, start.options))
    }

    /// Finishes a passwordless login: the token pair, `amr` `["hwk", "user", "mfa"]`.
    pub async fn finish_login(
        &self,
        challenge_id: &str,
        credential: &str,
        client: &ClientInfo,
    ) -> Result<LoginOutcome, PasskeyLoginError> {
        let claim = self
            .ports
            .relying_party
            .read_assertion(credential)
            .map_err(|refusal| PasskeyLoginError::Malformed(malformed(refusal)))?;
        let attempt = match self.auth.throttle() {
            None => None,
            Some(throttle) => match throttle.begin(AttemptKeys::address_only(client)).await {
                Ok(attempt) => Some(attempt),
                Err(ThrottleError::TooManyAttempts { retry_after_secs }) => {
                    return Err(PasskeyLoginError::TooManyAttempts { retry_after_secs })
                }
                Err(ThrottleError::Fault(fault)) => return Err(fault.into()),
            },
        };
        let verified = self
            .verify(challenge_id, CeremonyKind::Login, None, credential, &claim)
            .await?;
        let user = match verified {
            Ok(user) => user,
            Err(refusal) => {
                // The attempt stays counted on the address key.
                drop(attempt);
                self.audit_refusal(kind::LOGIN_FAILED, &refusal, client)
                    .await;
                return Err(PasskeyLoginError::InvalidCredentials);
            }
        };
        if let Some(attempt) = attempt {
            attempt.succeeded().await?;
        }
        Ok(self
            .auth
            .open_session(&user, client.clone(), Amr::passkey())
            .await?)
    }

    /// Stores a ceremony of `user`'s passkeys under `key`; the request options.
    pub(super) async fn begin_for(
        &self,
        user: &User,
        key: String,
        kind: CeremonyKind,
        expires_by: Option<DateTime<Utc>>,
    ) -> Result<String, PasskeyOptionsError> {
        let passkeys = self.ports.passkeys.list_passkeys(user.id).await?;
        if passkeys.is_empty() {
            return Err(PasskeyOptionsError::NoPasskey);
        }
        let start = self.ports.relying_party.start_login(&passkeys)?;
        self.put(key, kind, Some(user), start.state, expires_by)
            .await?;
        Ok(start.options)
    }

    async fn put(
        &self,
        key: String,
        kind: CeremonyKind,
        user: Option<&User>,
        state: String,
        expires_by: Option<DateTime<Utc>>,
    ) -> Result<(), Fault> {
        let now = self.ports.clock.now();
        let expires_at = now + self.policy.challenge_ttl;
        let ceremony = Ceremony {
            key,
            kind,
            user_id: user.map(|user| user.id),
            state,
            created_at: now,
            expires_at: expires_by.map_or(expires_at, |by| by.min(expires_at)),
        };
        self.ports.ceremonies.put_ceremony(&ceremony).await
    }

    /// Takes the ceremony and checks the assertion against it: `Ok(Ok(user))` the active
    /// owner of the passkey used (who must be `expected` when given), `Ok(Err(_))` a refusal.
    /// A verified assertion is recorded on its passkey (counter, flags, last use).
    pub(super) async fn verify(
        &self,
        key: &str,
        kind: CeremonyKind,
        expected: Option<&User>,
        credential: &str,
        claim: &AssertionClaim,
    ) -> Result<Result<User, Refused>, Fault> {
        let now = self.ports.clock.now();
        let Some(ceremony) = self.ports.ceremonies.take_ceremony(key, kind, now).await? else {
            return Ok(Err(refused("unknown_spent_or_expired_challenge")));
        };
        let Some(passkey) = self
            .ports
            .passkeys
            .find_passkey(&claim.credential_id)
            .await?
        else {
            return Ok(Err(refused("unknown_credential")));
        };
        if claim
            .user_handle
            .as_ref()
            .is_some_and(|handle| handle.as_slice() != passkey.user_id.0.as_bytes())
        {
            return Ok(Err(refused("user_handle_mismatch")));
        }
        if ceremony.user_id.is_some_and(|id| id != passkey.user_id)
            || expected.is_some_and(|user| user.id != passkey.user_id)
        {
            return Ok(Err(refused("credential_of_another_account")));
        }
        let Some(user) = self.ports.users.find_by_id(passkey.user_id).await? else {
            return Ok(Err(refused("unknown_credential")));
        };
        if !still_pending_for(&user, ceremony.created_at) {
            return Ok(Err(Refused {
                reason: if user.is_active {
                    "password_changed_since"
                } else {
                    "inactive_user"
                },
                user: Some(user),
            }));
        }
        let verified =
            match self
                .ports
                .relying_party
                .finish_login(&ceremony.state, credential, &passkey)
            {
                Ok(verified) => verified,
                Err(CeremonyRefusal::CounterWentBackwards) => {
                    log::warn!(
                        "passkey {} of user {}: the signature counter went backwards \
                         (a cloned authenticator?); login refused",
                        passkey.id,
                        user.id
                    );
                    return Ok(Err(Refused {
                        reason: "signature_counter_went_backwards",
                        user: Some(user),
                    }));
                }
                Err(refusal) => {
                    log::info!("passkey assertion refused: {refusal}");
                    return Ok(Err(Refused {
                        reason: "assertion_refused",
                        user: Some(user),
                    }));
                }
            };
        self.record_use(&passkey, verified, now).await;
        Ok(Ok(user))
    }

    /// Records a verified assertion on its passkey; a lost race with a concurrent login of
    /// the same passkey, or a failed write, is logged (the login stands).
    async fn record_use(
        &self,
        passkey: &StoredPasskey,
        verified: crate::ports::passkeys::VerifiedAssertion,
        at: DateTime<Utc>,
    ) {
        let use_ = PasskeyUse {
            id: passkey.id,
            previous_sign_count: passkey.sign_count,
            sign_count: verified.sign_count,
            backup_eligible: verified.backup_eligible,
            backed_up: verified.backed_up,
            credential: verified.credential,
            at,
        };
        match self.ports.passkeys.record_passkey_use(&use_).await {
            Ok(true) => {}
            Ok(false) => log::info!("passkey {}: a concurrent login recorded first", passkey.id),
            Err(fault) => log::warn!("passkey {}: could not record its use: {fault}", passkey.id),
        }
    }

    async fn audit_refusal(&self, event_kind: &str, refusal: &Refused, client: &ClientInfo) {
        let mut event = AuditEvent::new(event_kind, self.ports.clock.now())
            .client(client)
            .detail("method", "passkey")
            .detail("reason", refusal.reason);
        if let Some(user) = &refusal.user {
            event = event.user(user.id);
        }
        audit::record(self.ports.audit.as_ref(), event).await;
    }
}
