//! Which account an external login opens (API.md, "Social login", "Which account"). A pure
//! function, so the rules are read in one place and tested without any port.

use super::ExternalProfile;
use crate::user::{User, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChoice {
    /// The identity is linked to this active account.
    LogIn(UserId),
    /// No account has the provider's verified email: a new one, without a password.
    CreateAccount,
    /// A trusted provider's verified email equals a verified account's: link, then log in.
    LinkAndLogIn(UserId),
    Refuse(Refusal),
}

/// The `error=` the app is sent back with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// An account has this email: log in to it and link the identity from there.
    AccountExists,
    /// Everything else (an inactive account, no verified email…).
    LoginFailed,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::AccountExists => "account_exists",
            Refusal::LoginFailed => "login_failed",
        }
    }
}

/// Chooses the account of an external login.
///
/// - `linked`: the owner of the identity (provider, subject), when it is linked;
/// - `by_email`: the account holding the provider's email, looked up only when that email is
///   verified by the provider;
/// - `trust_email`: the provider is trusted to vouch for emails (`OAUTH_<NAME>_TRUST_EMAIL`).
///
/// Never links to an unverified local account (whoever pre-registered the address would get
/// the identity's owner's account), never links or creates by an unverified provider email,
/// links by email at all only for a trusted provider (a multi-tenant provider lets any tenant
/// claim any address), and never links by email an account with a second factor: the second
/// factor would have to come first, so that owner links from the account instead.
pub fn choose_account(
    profile: &ExternalProfile,
    linked: Option<&User>,
    by_email: Option<&User>,
    trust_email: bool,
) -> AccountChoice {
    if let Some(user) = linked {
        return if user.is_active {
            AccountChoice::LogIn(user.id)
        } else {
            AccountChoice::Refuse(Refusal::LoginFailed)
        };
    }
    if profile.verified_email().is_none() {
        return AccountChoice::Refuse(Refusal::LoginFailed);
    }
    match by_email {
        None => AccountChoice::CreateAccount,
        Some(user) if !user.is_active => AccountChoice::Refuse(Refusal::LoginFailed),
        Some(user) if trust_email && may_link_by_email(user) => {
            AccountChoice::LinkAndLogIn(user.id)
        }
        Some(_) => AccountChoice::Refuse(Refusal::AccountExists),
    }
}

/// Whether an existing account may be linked to a provider's identity by its email alone (a
/// trusted provider's verified email): its own email verified, and no second factor that the
/// link would bypass. Checked at the callback and again at the exchange.
pub(crate) fn may_link_by_email(user: &User) -> bool {
    user.is_verified && !user.mfa_enabled
}
