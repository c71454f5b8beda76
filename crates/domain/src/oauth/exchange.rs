//! `POST /oauth/token`: the app trades the `login_code` (with its PKCE verifier) for the
//! login. This is where an account is created or an identity linked — nothing before.

use super::{verifier_matches, ExternalProfile, Identity, PendingAction};
use crate::amr::{Amr, AuthMethod};
use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::mfa::MfaChallengeIssued;
use crate::one_time::TokenDigest;
use crate::ports::oauth::{LinkIdentityError, NewAccountError};
use crate::service::LoginOutcome;
use crate::session::ClientInfo;
use crate::user::{NewUser, User};
use crate::values::{PasswordHash, PersonName};

use super::OAuthService;

#[derive(Debug)]
pub enum ExchangeOutcome {
    /// The token pair (`amr` `["ext"]`).
    Tokens(LoginOutcome),
    /// The account has a second factor: the login goes on at `POST /login/mfa`.
    SecondFactorRequired(MfaChallengeIssued),
}

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// Unknown, spent or expired `login_code`, or a verifier that does not match (the code
    /// is spent all the same).
    #[error("invalid login_code or code_verifier")]
    InvalidCode,
    /// Since the callback, an account took the email (a new account cannot be created).
    #[error("an account has this email")]
    AccountExists,
    /// Since the callback, the account was deactivated or changed.
    #[error("login failed")]
    LoginFailed,
    #[error(transparent)]
    Fault(#[from] Fault),
}

fn external() -> Amr {
    Amr::new([AuthMethod::Ext])
}

impl OAuthService {
    pub async fn exchange(
        &self,
        login_code: &str,
        code_verifier: &str,
        client: &ClientInfo,
    ) -> Result<ExchangeOutcome, ExchangeError> {
        let now = self.ports.clock.now();
        let pending = self
            .ports
            .flows
            .take_login(&TokenDigest::of(login_code), now)
            .await?
            .ok_or(ExchangeError::InvalidCode)?;
        if !verifier_matches(code_verifier, &pending.app_code_challenge) {
            return Err(ExchangeError::InvalidCode);
        }
        let profile = &pending.profile;
        let user = match pending.action {
            PendingAction::LogIn(user_id) => self.active_user(user_id).await?,
            PendingAction::CreateAccount => self.create_account(profile, client).await?,
            PendingAction::LinkAndLogIn(user_id) => {
                let user = self.active_user(user_id).await?;
                // Re-checked: the account may have changed since the callback.
                if !super::choice::may_link_by_email(&user) {
                    return Err(ExchangeError::AccountExists);
                }
                let identity = Identity::of(profile, user.id, now);
                match self.ports.identities.link_identity(&identity).await {
                    Ok(()) => self.linked(&user, &identity, client).await,
                    Err(LinkIdentityError::InUse) => return Err(ExchangeError::LoginFailed),
                    Err(LinkIdentityError::Fault(fault)) => return Err(fault.into()),
                }
                user
            }
        };
        if user.mfa_enabled {
            let issued = self
                .auth
                .challenge_second_factor(&user, external(), client)
                .await?;
            return Ok(ExchangeOutcome::SecondFactorRequired(issued));
        }
        let outcome = self
            .auth
            .open_session(&user, client.clone(), external())
            .await?;
        Ok(ExchangeOutcome::Tokens(outcome))
    }

    async fn active_user(&self, id: crate::user::UserId) -> Result<User, ExchangeError> {
        self.ports
            .users
            .find_by_id(id)
            .await?
            .filter(|user| user.is_active)
            .ok_or(ExchangeError::LoginFailed)
    }

    /// A new active, verified account without a password, with the identity linked.
    async fn create_account(
        &self,
        profile: &ExternalProfile,
        client: &ClientInfo,
    ) -> Result<User, ExchangeError> {
        let email = profile
            .verified_email()
            .cloned()
            .ok_or(ExchangeError::LoginFailed)?;
        let name = |raw: &Option<String>| raw.as_deref().and_then(|n| PersonName::parse(n).ok());
        let names = NewUser {
            first_name: name(&profile.given_name),
            last_name: name(&profile.family_name),
            ..NewUser::default()
        };
        let now = self.ports.clock.now();
        let mut user = User::register(
            email,
            names,
            PasswordHash::new(String::new()),
            crate::user::AccountKind::Regular,
            now,
        );
        user.is_verified = true;
        let identity = Identity::of(profile, user.id, now);
        match self
            .ports
            .identities
            .create_account_with_identity(&user, &identity)
            .await
        {
            Ok(()) => {}
            Err(NewAccountError::EmailTaken) => return Err(ExchangeError::AccountExists),
            Err(NewAccountError::IdentityInUse) => return Err(ExchangeError::LoginFailed),
            Err(NewAccountError::Fault(fault)) => return Err(fault.into()),
        }
        let event = AuditEvent::new(kind::USER_REGISTERED, now)
            .user(user.id)
            .client(client)
            .detail("provider", profile.provider.as_str());
        audit::record(self.ports.audit.as_ref(), event).await;
        Ok(user)
    }
}
