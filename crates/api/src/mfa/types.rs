//! The JSON shapes of the second-factor routes, and reading their bodies.
use auth_domain::mfa::{MfaChallengeIssued, MfaStatus, RecoveryCode};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};
use crate::validation::required_string;
/// The second factor given at `POST /login/mfa`.
pub enum SecondFactor {
    /// A TOTP or recovery code.
    Code(String),
    /// A passkey assertion (JSON text), answering `POST /login/mfa/passkey-options`.
    Passkey(String),
}

/// `POST /login/mfa`: the pending login's token and a code or a passkey assertion.
pub struct MfaLogin {
    pub mfa_token: String,
    pub factor: SecondFactor,
}

impl MfaLogin {
    /// `{mfa_token, code}` or `{mfa_token, credential}`, never both.
    pub fn read(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let mfa_token = required_string(body, "mfa_token");
        if let Err(error) = &mfa_token {
            errors.extend(error.field_errors().iter().cloned());
        }
        let code = match (body.get("code"), body.get("credential")) {
            (Some(_), Some(_)) => {
                errors.push(FieldError::new(
                    "credential",
                    "give either code or credential, not both",
                ));
                None
            }
            (None, Some(_)) => match crate::passkeys::types::required_credential(body) {
                Ok(credential) => Some(SecondFactor::Passkey(credential)),
                Err(error) => {
                    errors.extend(error.field_errors().iter().cloned());
                    None
                }
            },
            (_, None) => match required_string(body, "code") {
                Ok(code) => Some(SecondFactor::Code(code)),
                Err(error) => {
                    errors.extend(error.field_errors().iter().cloned());
                    None
                }
            },
        };
        match (mfa_token, code) {
            (Ok(mfa_token), Some(factor)) if errors.is_empty() => Ok(Self { mfa_token, factor }),
            _ => Err(ApiError::validation(errors)),
        }
    }
}

/// `POST /login/mfa`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)] // documents the body, which is read as a JSON object
pub struct MfaLoginBody {
    /// From the `mfa_required` answer of `POST /login`.
    mfa_token: String,
    /// A TOTP code (6 digits) or a recovery code (`xxxx-xxxx-xxxx`; case, spaces and hyphens
    /// do not matter). Either this or `credential`.
    code: Option<String>,
    /// A passkey assertion (`AuthenticationResponseJSON`) answering
    /// `POST /login/mfa/passkey-options`. Either this or `code`.
    #[schema(value_type = Object)]
    credential: Option<serde_json::Value>,
}

/// The routes that need the current password (re-authentication).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct PasswordBody {
    /// The account's current password (an account without one: omit it; then the access
    /// token's login must be younger than `REAUTH_MAX_AGE`).
    #[schema(format = Password)]
    password: Option<String>,
}

/// `DELETE /users/me/mfa/totp`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct DisableTotpBody {
    #[schema(format = Password)]
    password: Option<String>,
    /// A current TOTP code, or a recovery code.
    code: String,
}

/// `POST /users/me/mfa/totp/confirm`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct CodeBody {
    /// A current code of the pending secret (6 digits).
    code: String,
}

/// The answer of `POST /login` for an account with a second factor.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaRequiredOut {
    /// Always `true`: no token pair yet.
    pub mfa_required: bool,
    /// Single-use, for `POST /login/mfa` only (every other route refuses it with 401).
    pub mfa_token: String,
    /// `totp`, `recovery_code`, `passkey`: what the account can answer with.
    pub mfa_methods: Vec<&'static str>,
    /// Seconds the `mfa_token` lives (`MFA_TOKEN_TTL`).
    pub expires_in: i64,
}

impl From<&MfaChallengeIssued> for MfaRequiredOut {
    fn from(issued: &MfaChallengeIssued) -> Self {
        Self {
            mfa_required: true,
            mfa_token: issued.mfa_token.expose().to_owned(),
            mfa_methods: issued.methods.iter().map(|m| m.as_str()).collect(),
            expires_in: issued.expires_in,
        }
    }
}

/// `GET /users/me/mfa`.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatusOut {
    /// TOTP is on (confirmed).
    pub totp: bool,
    /// Unused recovery codes.
    pub recovery_codes_left: u32,
    pub passkeys: u32,
}

impl From<MfaStatus> for MfaStatusOut {
    fn from(status: MfaStatus) -> Self {
        Self {
            totp: status.totp,
            recovery_codes_left: status.recovery_codes_left,
            passkeys: status.passkeys,
        }
    }
}

/// A pending TOTP enrolment: give `secret` to an authenticator app (or let it scan
/// `qr_svg`, which encodes `otpauth_uri`), then confirm with a code.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolmentOut {
    /// RFC 4648 base32, no padding.
    pub secret: String,
    pub otpauth_uri: String,
    /// An SVG image of the `otpauth_uri` QR code.
    pub qr_svg: String,
}

/// Ten single-use recovery codes, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodesOut {
    pub recovery_codes: Vec<String>,
}

impl RecoveryCodesOut {
    pub fn new(codes: &[RecoveryCode]) -> Self {
        Self {
            recovery_codes: codes.iter().map(|c| c.expose().to_owned()).collect(),
        }
    }
}

/// The QR code of `text` as an SVG document.
pub fn qr_svg(text: &str) -> Result<String, auth_domain::Fault> {
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(auth_domain::Fault::internal)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}
