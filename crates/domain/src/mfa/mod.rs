//! Second factors (issue "Two-factor authentication"): TOTP, recovery codes, the login step
//! that waits for a second factor, and the re-authentication rule of every route that adds or
//! removes a way to log in.
//!
//! A second factor is TOTP *or* a passkey: [`MfaStatus::has_second_factor`] (and the user's
//! `mfa_enabled`) is true as soon as the account has either, and from then on a right
//! password only opens an [`MfaChallenge`]. Passkeys ([`crate::passkeys`]) add
//! [`MfaMethod::Passkey`] to the challenge's methods and count in [`MfaStatus::passkeys`].

pub(crate) mod login;
pub mod ports;
pub mod reauth;
pub mod recovery_codes;
pub(crate) mod service;
pub(crate) mod throttling;
pub mod totp;

#[cfg(test)]
mod service_tests;

use std::sync::Arc;

use chrono::TimeDelta;

use crate::amr::Amr;
use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::recovery::{OneTimeSecret, SecretGenerator};
use crate::service::AuthService;
use crate::session::ClientInfo;
use crate::user::{User, UserId};

pub use login::MfaLoginError;
pub use ports::{
    KeyedDigest, MfaChallenge, MfaChallengeStore, MfaStatus, RecoveryCodeStore, SealedSecret,
    SecondFactors, SecretKeeper, TotpStore,
};
pub use reauth::{ReauthError, Reauthenticated};
pub use recovery_codes::RecoveryCode;
pub use service::{
    ConfirmTotpError, DisableTotpError, EnrolTotpError, MfaPorts, MfaService, RegenerateCodesError,
    ResetMfaError, TotpEnrolment,
};
pub use totp::TotpSecret;

/// Wrong codes that kill an `mfa_token`.
pub const MAX_CODE_FAILURES: u32 = 5;

/// A way to give the second factor of a login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaMethod {
    Totp,
    RecoveryCode,
    Passkey,
}

impl MfaMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            MfaMethod::Totp => "totp",
            MfaMethod::RecoveryCode => "recovery_code",
            MfaMethod::Passkey => "passkey",
        }
    }

    /// The methods a user with these factors may use, in API.md's order.
    pub fn available(status: &MfaStatus) -> Vec<MfaMethod> {
        let mut methods = Vec::new();
        if status.totp {
            methods.push(MfaMethod::Totp);
        }
        if status.recovery_codes_left > 0 {
            methods.push(MfaMethod::RecoveryCode);
        }
        if status.passkeys > 0 {
            methods.push(MfaMethod::Passkey);
        }
        methods
    }
}

/// The settings of second factors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaPolicy {
    /// `MFA_ISSUER`: the issuer named in `otpauth://` URIs (what the app shows).
    pub issuer: String,
    /// `MFA_TOKEN_TTL`: how long an `mfa_token` lives.
    pub token_ttl: TimeDelta,
    /// `REAUTH_MAX_AGE`: how recent a login must be to re-authenticate an account without a
    /// password.
    pub reauth_max_age: TimeDelta,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            issuer: "auth-server".into(),
            token_ttl: TimeDelta::minutes(5),
            reauth_max_age: TimeDelta::minutes(5),
        }
    }
}

/// What the password step of a login needs to hand over to the second factor.
#[derive(Clone)]
pub struct SecondFactorLogin {
    pub challenges: Arc<dyn MfaChallengeStore>,
    pub factors: Arc<dyn SecondFactors>,
    pub secrets: Arc<dyn SecretGenerator>,
    pub token_ttl: TimeDelta,
}

/// The answer to a right first factor of an account with a second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallengeIssued {
    /// Shown once; only its digest is stored.
    pub mfa_token: OneTimeSecret,
    pub methods: Vec<MfaMethod>,
    /// Seconds the token lives.
    pub expires_in: i64,
    pub user_id: UserId,
}

/// Opens a challenge for `user`, whose first factor `first_factor` was just proven.
pub(crate) async fn issue_challenge(
    auth: &AuthService,
    user: &User,
    first_factor: Amr,
    client: &ClientInfo,
) -> Result<MfaChallengeIssued, Fault> {
    let Some(login) = &auth.second_factor else {
        return Err(Fault::internal(
            "an account with a second factor logged in, but second factors are not configured",
        ));
    };
    let status = login.factors.mfa_status(user.id).await?;
    let now = auth.clock().now();
    let secret = login.secrets.generate();
    let challenge = MfaChallenge {
        digest: secret.digest(),
        user_id: user.id,
        first_factor,
        created_at: now,
        expires_at: now + login.token_ttl,
        failures: 0,
    };
    login.challenges.insert_challenge(&challenge).await?;
    // Neither a success nor a failure yet: recorded as the step it is.
    let event = AuditEvent::new(kind::LOGIN_MFA_REQUIRED, now)
        .user(user.id)
        .client(client);
    audit::record(auth.audit_log(), event).await;
    Ok(MfaChallengeIssued {
        mfa_token: secret,
        methods: MfaMethod::available(&status),
        expires_in: login.token_ttl.num_seconds(),
        user_id: user.id,
    })
}
