//! Social login (issue "Social login"): logging in with an external OpenID Connect provider
//! (or GitHub's OAuth 2.0), and the identities linked to an account.
//!
//! The flow: [`OAuthService::start`] keeps a single-use state (with the provider's `nonce` and
//! PKCE verifier, and the app's own `state` and PKCE challenge) and sends the browser to the
//! provider; [`OAuthService::callback`] takes that state, lets the provider adapter exchange
//! the code and verify the ID token, chooses the account ([`choice`]) and hands the app a
//! one-time `login_code`; [`OAuthService::exchange`] — the app proving its PKCE verifier —
//! is where the login completes: only there is an account created or an identity linked, and
//! an account with a second factor gets the `mfa_required` answer instead of tokens.

pub mod choice;
mod exchange;
mod identities;
mod service;

#[cfg(test)]
mod service_tests;

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::user::UserId;
use crate::values::Email;

pub use exchange::{ExchangeError, ExchangeOutcome};
pub use identities::{BeginLinkError, UnlinkError};
pub use service::{AppRequest, CallbackOutcome, OAuthPorts, OAuthService, StartError};

/// What the provider told about the person who logged in, once its answer was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalProfile {
    pub provider: String,
    /// The provider's stable identifier of the person (`sub`; GitHub's numeric user id).
    pub subject: String,
    pub email: Option<Email>,
    /// Whether the provider says it verified `email` (absent: not verified).
    pub email_verified: bool,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

impl ExternalProfile {
    /// The email, only when the provider vouches for it.
    pub fn verified_email(&self) -> Option<&Email> {
        self.email.as_ref().filter(|_| self.email_verified)
    }
}

/// An external identity linked to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub id: Uuid,
    pub user_id: UserId,
    pub provider: String,
    pub subject: String,
    /// The email the provider gave when it was linked (verified or not), for the owner's list.
    pub email: Option<String>,
    pub linked_at: DateTime<Utc>,
}

impl Identity {
    pub fn of(profile: &ExternalProfile, user_id: UserId, now: DateTime<Utc>) -> Self {
        Self {
            id: Uuid::now_v7(),
            user_id,
            provider: profile.provider.clone(),
            subject: profile.subject.clone(),
            email: profile
                .email
                .as_ref()
                .map(|email| email.as_str().to_owned()),
            linked_at: now,
        }
    }
}

pub use crate::login_methods::{keeps_a_way_to_log_in, LoginMethods};

/// The settings of social login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthPolicy {
    /// How long a started authorization (its `state`) lives: 10 minutes.
    pub state_ttl: TimeDelta,
    /// How long a `login_code` lives: 60 seconds.
    pub login_code_ttl: TimeDelta,
}

impl Default for OAuthPolicy {
    fn default() -> Self {
        Self {
            state_ttl: TimeDelta::minutes(10),
            login_code_ttl: TimeDelta::seconds(60),
        }
    }
}

/// A started authorization, as stored under the digest of the provider-side `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAuthorization {
    pub state_digest: crate::one_time::TokenDigest,
    pub provider: String,
    /// Sent to the provider; its ID token must carry it back.
    pub nonce: String,
    /// The provider-side PKCE verifier (its S256 challenge went to the provider).
    pub pkce_verifier: String,
    /// Where the app wants the browser back, already checked against the allow-list.
    pub redirect_uri: String,
    /// The app's own `state`, handed back with the result.
    pub app_state: String,
    /// The app's PKCE challenge (S256): the `login_code` is only exchanged with its verifier.
    pub app_code_challenge: String,
    /// Set when a logged-in user links an identity (instead of logging in).
    pub link_user: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What the login completes as, decided at the callback and re-checked at the exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PendingAction {
    /// The identity is linked to this user already.
    LogIn(UserId),
    /// A new account, with the provider's verified email and no password.
    CreateAccount,
    /// Link the identity to this (verified, trusted-by-email) account, then log in.
    LinkAndLogIn(UserId),
}

/// A `login_code` waiting for its exchange, as stored under its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    pub code_digest: crate::one_time::TokenDigest,
    pub app_code_challenge: String,
    pub profile: ExternalProfile,
    pub action: PendingAction,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The S256 PKCE challenge of a verifier (RFC 7636 §4.2): base64url, no padding.
pub fn pkce_s256(verifier: &str) -> String {
    use sha2::{Digest, Sha256};
    data_encoding::BASE64URL_NOPAD.encode(&Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is a well-formed PKCE verifier (43–128 unreserved characters) whose
/// S256 challenge is `challenge`, compared in constant time.
pub fn verifier_matches(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    let expected = pkce_s256(verifier);
    let same = expected.len() == challenge.len()
        && expected
            .bytes()
            .zip(challenge.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    well_formed && same
}

/// Whether `challenge` looks like an S256 challenge (43 base64url characters).
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            pkce_s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verifier_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!verifier_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXx",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(is_s256_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!is_s256_challenge("plain"));
    }
}
