//! The WebAuthn relying party on `webauthn-rs` (Kanidm's): options in the WebAuthn Level 3
//! JSON forms (the `publicKey` object itself, binary fields base64url), responses as
//! browsers' `toJSON()` and native clients give them, and the ceremony state serialised so
//! that it can wait in the database.
//!
//! The library's plain passkey registration prefers non-resident credentials; the options
//! sent here require a resident (discoverable) key, which usernameless login needs. User
//! verification is required at registration and at every login.

use std::time::Duration;

use auth_domain::ports::passkeys::{
    AssertionClaim, CeremonyRefusal, CeremonyStart, NewCredential, RegistrationRequest,
    RelyingParty, StoredPasskey, VerifiedAssertion,
};
use auth_domain::Fault;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use webauthn_rs::prelude::{
    Credential, CredentialID, DiscoverableAuthentication, DiscoverableKey, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    Url, Uuid, WebauthnError,
};
use webauthn_rs::{Webauthn, WebauthnBuilder};
use webauthn_rs_proto::ResidentKeyRequirement;

/// `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME`, `WEBAUTHN_ORIGINS`, `WEBAUTHN_CHALLENGE_TTL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebauthnSettings {
    pub rp_id: String,
    pub rp_name: String,
    /// `scheme://host[:port]`, each the RP ID or a subdomain of it.
    pub origins: Vec<String>,
    /// How long the authenticator is given (the options' `timeout`).
    pub challenge_ttl: Duration,
}

/// The relying party.
pub struct WebauthnRelyingParty {
    webauthn: Webauthn,
}

/// The state of a login ceremony: discoverable (anyone), or for given passkeys.
#[derive(Serialize, Deserialize)]
enum LoginState {
    Discoverable(DiscoverableAuthentication),
    Passkeys(PasskeyAuthentication),
}

impl WebauthnRelyingParty {
    /// Checks the settings: every origin must be a URL whose host is the RP ID or one of its
    /// subdomains. The error names what is wrong.
    pub fn new(settings: &WebauthnSettings) -> Result<Self, String> {
        let mut origins = Vec::new();
        for raw in &settings.origins {
            let origin = Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
            WebauthnBuilder::new(&settings.rp_id, &origin).map_err(|_| {
                format!(
                    "the origin {raw} does not belong to the RP ID {:?} (its host must be the \
                     RP ID or a subdomain of it)",
                    settings.rp_id
                )
            })?;
            origins.push(origin);
        }
        let Some((first, others)) = origins.split_first() else {
            return Err("no origin".to_owned());
        };
        let mut builder = WebauthnBuilder::new(&settings.rp_id, first)
            .map_err(|e| format!("RP ID {:?}: {e}", settings.rp_id))?
            .rp_name(&settings.rp_name)
            .timeout(settings.challenge_ttl);
        for origin in others {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|e| format!("RP ID {:?}: {e}", settings.rp_id))?;
        Ok(Self { webauthn })
    }
}

fn fault(what: &str, error: impl std::fmt::Display) -> Fault {
    Fault::internal(format!("webauthn {what}: {error}"))
}

/// The options as JSON text, without the `null`s the library leaves in (a `null` where a
/// browser expects a list or a string is a TypeError in `parse…OptionsFromJSON`).
fn options_json(options: &impl Serialize) -> Result<String, Fault> {
    let mut value = serde_json::to_value(options).map_err(|e| fault("options", e))?;
    strip_nulls(&mut value);
    serde_json::to_string(&value).map_err(|e| fault("options", e))
}

fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

fn state_json(state: &impl Serialize) -> Result<String, Fault> {
    serde_json::to_string(state).map_err(|e| fault("state", e))
}

fn refused(error: WebauthnError) -> CeremonyRefusal {
    match error {
        WebauthnError::CredentialPossibleCompromise => CeremonyRefusal::CounterWentBackwards,
        other => CeremonyRefusal::Refused(format!("{other:?}")),
    }
}

fn malformed(error: serde_json::Error) -> CeremonyRefusal {
    CeremonyRefusal::Malformed(error.to_string())
}

fn corrupt_state(error: serde_json::Error) -> CeremonyRefusal {
    CeremonyRefusal::Refused(format!("unreadable ceremony state: {error}"))
}

impl RelyingParty for WebauthnRelyingParty {
    fn start_registration(&self, request: &RegistrationRequest) -> Result<CeremonyStart, Fault> {
        let exclude: Vec<CredentialID> = request
            .exclude
            .iter()
            .map(|id| CredentialID::from(id.clone()))
            .collect();
        let (mut creation, state) = self
            .webauthn
            .start_passkey_registration(
                Uuid::from_bytes(*request.user_handle.as_bytes()),
                &request.user_name,
                &request.display_name,
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(|e| fault("registration", e))?;
        // Usernameless login needs the credential stored on the authenticator.
        if let Some(selection) = creation.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        Ok(CeremonyStart {
            options: options_json(&creation.public_key)?,
            state: state_json(&state)?,
        })
    }

    fn finish_registration(
        &self,
        state: &str,
        credential: &str,
    ) -> Result<NewCredential, CeremonyRefusal> {
        let response: RegisterPublicKeyCredential =
            serde_json::from_str(credential).map_err(malformed)?;
        let state: PasskeyRegistration = serde_json::from_str(state).map_err(corrupt_state)?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&response, &state)
            .map_err(refused)?;
        let stored = serde_json::to_string(&passkey)
            .map_err(|e| CeremonyRefusal::Refused(format!("unstorable passkey: {e}")))?;
        let details = Credential::from(passkey);
        if !details.user_verified {
            return Err(CeremonyRefusal::Refused("user verification missing".into()));
        }
        Ok(NewCredential {
            credential_id: details.cred_id.to_vec(),
            credential: stored,
            sign_count: details.counter,
            backup_eligible: details.backup_eligible,
            backed_up: details.backup_state,
        })
    }

    fn start_discoverable_login(&self) -> Result<CeremonyStart, Fault> {
        let (request, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| fault("login", e))?;
        Ok(CeremonyStart {
            options: options_json(&request.public_key)?,
            state: state_json(&LoginState::Discoverable(state))?,
        })
    }

    fn start_login(&self, passkeys: &[StoredPasskey]) -> Result<CeremonyStart, Fault> {
        let passkeys = passkeys
            .iter()
            .map(|stored| serde_json::from_str::<Passkey>(&stored.credential))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fault("stored passkey", e))?;
        let (request, state) = self
            .webauthn
            .start_passkey_authentication(&passkeys)
            .map_err(|e| fault("login", e))?;
        Ok(CeremonyStart {
            options: options_json(&request.public_key)?,
            state: state_json(&LoginState::Passkeys(state))?,
        })
    }

    fn read_assertion(&self, credential: &str) -> Result<AssertionClaim, CeremonyRefusal> {
        let response: PublicKeyCredential = serde_json::from_str(credential).map_err(malformed)?;
        Ok(AssertionClaim {
            credential_id: response.get_credential_id().to_vec(),
            user_handle: response.get_user_unique_id().map(<[u8]>::to_vec),
        })
    }

    fn finish_login(
        &self,
        state: &str,
        credential: &str,
        stored: &StoredPasskey,
    ) -> Result<VerifiedAssertion, CeremonyRefusal> {
        let response: PublicKeyCredential = serde_json::from_str(credential).map_err(malformed)?;
        let state: LoginState = serde_json::from_str(state).map_err(corrupt_state)?;
        let mut passkey: Passkey = serde_json::from_str(&stored.credential)
            .map_err(|e| CeremonyRefusal::Refused(format!("unreadable stored passkey: {e}")))?;
        let result = match state {
            LoginState::Discoverable(state) => self.webauthn.finish_discoverable_authentication(
                &response,
                state,
                &[DiscoverableKey::from(&passkey)],
            ),
            LoginState::Passkeys(state) => self
                .webauthn
                .finish_passkey_authentication(&response, &state),
        }
        .map_err(refused)?;
        if !result.user_verified() {
            return Err(CeremonyRefusal::Refused("user verification missing".into()));
        }
        passkey.update_credential(&result);
        Ok(VerifiedAssertion {
            sign_count: result.counter(),
            backup_eligible: result.backup_eligible(),
            backed_up: result.backup_state(),
            credential: serde_json::to_string(&passkey)
                .map_err(|e| CeremonyRefusal::Refused(format!("unstorable passkey: {e}")))?,
        })
    }
}
