//! The owner's passkeys: adding one (a registration ceremony), listing, renaming, removing.

use uuid::Uuid;

use crate::audit::{kind, AuditEvent};
use crate::error::Fault;
use crate::mail::SecurityNotice;
use crate::mfa::login::still_pending_for;
use crate::mfa::recovery_codes::{self, RecoveryCode};
use crate::mfa::service::owner;
use crate::mfa::Reauthenticated;
use crate::ports::passkeys::{
    Ceremony, CeremonyKind, CeremonyRefusal, PasskeyAdded, PasskeyId, PasskeyRemoval,
    RegistrationRequest, StoredPasskey,
};
use crate::session::{ClientInfo, Principal};

use super::{keeps_a_way_to_log_in, PasskeyName, PasskeyService};

/// A passkey just added, with the recovery codes issued with it when it is the account's
/// first second factor (shown once).
#[derive(Debug, Clone)]
pub struct NewPasskey {
    pub passkey: StoredPasskey,
    pub recovery_codes: Option<Vec<RecoveryCode>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FinishRegistrationError {
    /// The response is not a registration response at all (422).
    #[error("malformed credential: {0}")]
    Malformed(String),
    /// Unknown, spent, expired or someone else's registration, a response that does not
    /// answer it, or a credential registered already: nothing stored (400).
    #[error("registration refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum RemovePasskeyError {
    #[error("no such passkey")]
    NotFound,
    /// It is the account's last way to log in (no password, no other passkey).
    #[error("the account's last way to log in")]
    LastLoginMethod,
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl PasskeyService {
    /// Begins adding a passkey: the creation options, and the id of the registration to
    /// finish with [`PasskeyService::finish_registration`].
    pub async fn begin_registration(
        &self,
        principal: &Principal,
        proof: &Reauthenticated,
    ) -> Result<(String, String), Fault> {
        let user = owner(principal, proof)?;
        let existing = self.ports.passkeys.list_passkeys(user.id).await?;
        let request = RegistrationRequest {
            user_handle: user.id.0,
            user_name: user.email.as_str().to_owned(),
            display_name: user
                .username
                .as_ref()
                .map(|name| name.as_str().to_owned())
                .unwrap_or_else(|| user.email.as_str().to_owned()),
            exclude: existing.into_iter().map(|p| p.credential_id).collect(),
        };
        let start = self.ports.relying_party.start_registration(&request)?;
        let registration_id = Uuid::new_v4().to_string();
        let now = self.ports.clock.now();
        let ceremony = Ceremony {
            key: registration_id.clone(),
            kind: CeremonyKind::Registration,
            user_id: Some(user.id),
            state: start.state,
            created_at: now,
            expires_at: now + self.policy.challenge_ttl,
        };
        self.ports.ceremonies.put_ceremony(&ceremony).await?;
        Ok((registration_id, start.options))
    }

    /// Finishes adding a passkey with the authenticator's response.
    pub async fn finish_registration(
        &self,
        principal: &Principal,
        registration_id: &str,
        credential: &str,
        name: Option<PasskeyName>,
        client: &ClientInfo,
    ) -> Result<NewPasskey, FinishRegistrationError> {
        let now = self.ports.clock.now();
        let refused = |reason: &str| FinishRegistrationError::Refused(reason.to_owned());
        let ceremony = self
            .ports
            .ceremonies
            .take_ceremony(registration_id, CeremonyKind::Registration, now)
            .await?
            .ok_or_else(|| refused("unknown, spent or expired registration"))?;
        if ceremony.user_id != Some(principal.user.id) {
            return Err(refused("the registration is another account's"));
        }
        // The account as stored now (not as a cached session saw it): a password change or a
        // deactivation since the ceremony began kills it.
        let user = &self
            .ports
            .users
            .find_by_id(principal.user.id)
            .await?
            .filter(|user| still_pending_for(user, ceremony.created_at))
            .ok_or_else(|| refused("the account changed its password or was deactivated"))?;
        let new = self
            .ports
            .relying_party
            .finish_registration(&ceremony.state, credential)
            .map_err(|refusal| match refusal {
                CeremonyRefusal::Malformed(why) => FinishRegistrationError::Malformed(why),
                other => FinishRegistrationError::Refused(other.to_string()),
            })?;
        let passkey = StoredPasskey {
            id: PasskeyId::new(),
            user_id: user.id,
            credential_id: new.credential_id,
            name: name
                .unwrap_or_else(|| PasskeyName::default_for(now))
                .as_str()
                .to_owned(),
            credential: new.credential,
            sign_count: new.sign_count,
            backup_eligible: new.backup_eligible,
            backed_up: new.backed_up,
            created_at: now,
            last_used_at: None,
        };
        let (codes, digests) = recovery_codes::new_set(self.ports.keeper.as_ref(), user.id);
        let recovery_codes = match self.ports.passkeys.add_passkey(&passkey, &digests).await? {
            PasskeyAdded::Added { recovery_codes } => recovery_codes.then_some(codes),
            PasskeyAdded::DuplicateCredential => {
                return Err(refused("the credential is registered already"))
            }
            PasskeyAdded::NoUser => return Err(refused("no such user")),
        };
        let event = AuditEvent::new(kind::PASSKEY_ADDED, now)
            .detail("passkey_id", passkey.id.to_string())
            .detail("backup_eligible", passkey.backup_eligible.to_string());
        self.audit(event, principal, client).await;
        self.notify(user, SecurityNotice::PasskeyAdded).await;
        Ok(NewPasskey {
            passkey,
            recovery_codes,
        })
    }

    /// The caller's passkeys, oldest first.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<StoredPasskey>, Fault> {
        self.ports.passkeys.list_passkeys(principal.user.id).await
    }

    /// Renames one of the caller's passkeys; `false` when the caller has no such passkey.
    pub async fn rename(
        &self,
        principal: &Principal,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> Result<Option<StoredPasskey>, Fault> {
        let user_id = principal.user.id;
        if !self
            .ports
            .passkeys
            .rename_passkey(user_id, id, name.as_str())
            .await?
        {
            return Ok(None);
        }
        let passkeys = self.ports.passkeys.list_passkeys(user_id).await?;
        Ok(passkeys.into_iter().find(|passkey| passkey.id == id))
    }

    /// Removes one of the caller's passkeys, unless it is the account's last way to log in.
    pub async fn remove(
        &self,
        principal: &Principal,
        proof: &Reauthenticated,
        id: PasskeyId,
        client: &ClientInfo,
    ) -> Result<(), RemovePasskeyError> {
        let user = owner(principal, proof)?;
        match self
            .ports
            .passkeys
            .remove_passkey(user.id, id, keeps_a_way_to_log_in)
            .await?
        {
            PasskeyRemoval::Removed => {}
            PasskeyRemoval::NotFound => return Err(RemovePasskeyError::NotFound),
            PasskeyRemoval::LastLoginMethod => return Err(RemovePasskeyError::LastLoginMethod),
        }
        let now = self.ports.clock.now();
        let event =
            AuditEvent::new(kind::PASSKEY_REMOVED, now).detail("passkey_id", id.to_string());
        self.audit(event, principal, client).await;
        self.notify(user, SecurityNotice::PasskeyRemoved).await;
        Ok(())
    }
}
