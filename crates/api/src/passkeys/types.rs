//! The JSON shapes of the passkey routes. Options and credentials are the WebAuthn Level 3
//! JSON forms, passed through as they are.

use auth_domain::passkeys::{NewPasskey, PasskeyName, StoredPasskey};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};
use crate::validation::required_string;
use crate::validation::rfc3339;

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, message)])
}

/// `credential`: a JSON object (the browser's `credential.toJSON()`), as JSON text for the
/// relying party. Absent: `None`.
pub fn credential(body: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    match body.get("credential") {
        None => Ok(None),
        Some(value @ Value::Object(_)) => Ok(Some(value.to_string())),
        Some(_) => Err(invalid(
            "credential",
            "must be a JSON object (PublicKeyCredential.toJSON())",
        )),
    }
}

/// A required `credential`.
pub fn required_credential(body: &Map<String, Value>) -> Result<String, ApiError> {
    credential(body)?.ok_or_else(|| invalid("credential", "is required"))
}

/// `name`, when given: 1 to 64 characters once trimmed.
pub fn name(body: &Map<String, Value>) -> Result<Option<PasskeyName>, ApiError> {
    match body.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(raw)) => PasskeyName::parse(raw)
            .map(Some)
            .map_err(|error| invalid("name", &error.0)),
        Some(_) => Err(invalid("name", "must be a string")),
    }
}

/// Every field error of several reads, or their values.
fn field_errors(results: &[&Result<impl Sized, ApiError>]) -> Vec<FieldError> {
    results
        .iter()
        .filter_map(|result| result.as_ref().err())
        .flat_map(|error| error.field_errors().to_vec())
        .collect()
}

/// `POST /users/me/passkeys`: the registration, the authenticator's response, a name.
pub struct AddPasskey {
    pub registration_id: String,
    pub credential: String,
    pub name: Option<PasskeyName>,
}

impl AddPasskey {
    pub fn read(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let registration_id = required_string(body, "registration_id");
        let credential = required_credential(body);
        let name = name(body);
        let mut errors = field_errors(&[&registration_id, &credential]);
        errors.extend(field_errors(&[&name]));
        match (registration_id, credential, name) {
            (Ok(registration_id), Ok(credential), Ok(name)) => Ok(Self {
                registration_id,
                credential,
                name,
            }),
            _ => Err(ApiError::validation(errors)),
        }
    }
}

/// `POST /login/passkey`: the challenge and the assertion.
pub struct PasskeyLogin {
    pub challenge_id: String,
    pub credential: String,
}

impl PasskeyLogin {
    pub fn read(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let challenge_id = required_string(body, "challenge_id");
        let credential = required_credential(body);
        let errors = field_errors(&[&challenge_id, &credential]);
        match (challenge_id, credential) {
            (Ok(challenge_id), Ok(credential)) => Ok(Self {
                challenge_id,
                credential,
            }),
            _ => Err(ApiError::validation(errors)),
        }
    }
}

/// A ceremony's id and the options to give `navigator.credentials` (through
/// `PublicKeyCredential.parseCreationOptionsFromJSON`).
#[derive(Debug, Serialize, ToSchema)]
pub struct RegistrationOptionsOut {
    /// For `POST /users/me/passkeys`; single-use, lives `WEBAUTHN_CHALLENGE_TTL`.
    pub registration_id: String,
    /// `PublicKeyCredentialCreationOptionsJSON` (WebAuthn Level 3): resident key and user
    /// verification required, the caller's passkeys in `excludeCredentials`.
    #[schema(value_type = Object)]
    pub options: Value,
}

/// `POST /login/passkey/options`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginOptionsOut {
    /// For `POST /login/passkey`; single-use, lives `WEBAUTHN_CHALLENGE_TTL`.
    pub challenge_id: String,
    /// `PublicKeyCredentialRequestOptionsJSON`, for any discoverable credential (empty
    /// `allowCredentials`), user verification required.
    #[schema(value_type = Object)]
    pub options: Value,
}

/// Request options for one account's passkeys (second factor, re-authentication).
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestOptionsOut {
    /// `PublicKeyCredentialRequestOptionsJSON` with the account's passkeys in
    /// `allowCredentials`, user verification required.
    #[schema(value_type = Object)]
    pub options: Value,
}

/// The options text of the relying party, as JSON.
pub fn options(text: &str) -> Result<Value, ApiError> {
    serde_json::from_str(text).map_err(|e| auth_domain::Fault::internal(e).into())
}

/// One of the caller's passkeys.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyOut {
    #[schema(format = "uuid")]
    pub id: String,
    pub name: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    /// The last login (or re-authentication) with it; `null` before the first.
    #[schema(format = DateTime)]
    pub last_used_at: Option<String>,
    /// The authenticator says the credential is backed up (synced), so it survives the
    /// loss of one device.
    pub backed_up: bool,
}

impl From<&StoredPasskey> for PasskeyOut {
    fn from(passkey: &StoredPasskey) -> Self {
        Self {
            id: passkey.id.to_string(),
            name: passkey.name.clone(),
            created_at: rfc3339(passkey.created_at),
            last_used_at: passkey.last_used_at.map(rfc3339),
            backed_up: passkey.backed_up,
        }
    }
}

/// `POST /users/me/passkeys`: the new passkey, and the recovery codes issued with it when it
/// is the account's first second factor (shown this once).
#[derive(Debug, Serialize, ToSchema)]
pub struct NewPasskeyOut {
    #[serde(flatten)]
    pub passkey: PasskeyOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovery_codes: Option<Vec<String>>,
}

impl From<&NewPasskey> for NewPasskeyOut {
    fn from(new: &NewPasskey) -> Self {
        Self {
            passkey: PasskeyOut::from(&new.passkey),
            recovery_codes: new
                .recovery_codes
                .as_ref()
                .map(|codes| codes.iter().map(|c| c.expose().to_owned()).collect()),
        }
    }
}

/// `GET /users/me/passkeys`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PasskeyList {
    pub items: Vec<PasskeyOut>,
}

/// `POST /users/me/passkeys` (documentation of the body, read as a JSON object).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct AddPasskeyBody {
    /// From `POST /users/me/passkeys/registration`.
    registration_id: String,
    /// `RegistrationResponseJSON`: the created credential's `toJSON()`.
    #[schema(value_type = Object)]
    credential: Value,
    /// 1 to 64 characters; default `Passkey <date>`.
    name: Option<String>,
}

/// `PATCH /users/me/passkeys/{id}`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct RenamePasskeyBody {
    /// 1 to 64 characters once trimmed.
    name: String,
}

/// `POST /login/passkey`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PasskeyLoginBody {
    /// From `POST /login/passkey/options`.
    challenge_id: String,
    /// `AuthenticationResponseJSON`: the assertion's `toJSON()`.
    #[schema(value_type = Object)]
    credential: Value,
}

/// `POST /login/mfa/passkey-options`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct MfaTokenBody {
    /// From the `mfa_required` answer of `POST /login`.
    mfa_token: String,
}

/// The body of a route that adds or removes a way to log in (re-authentication).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ReauthBody {
    /// The current password, when the account has one.
    #[schema(format = Password)]
    password: Option<String>,
    /// An account without a password: an assertion of one of its passkeys, answering
    /// `POST /users/me/reauthentication/options`.
    #[schema(value_type = Object)]
    credential: Option<Value>,
}
