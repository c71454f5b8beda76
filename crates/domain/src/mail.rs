//! Outgoing mail: the message, the port that delivers it, and the durable outbox that lets a
//! request hand mail over without waiting for (or failing with) the mail server.
//!
//! A request never sends mail itself: it records a [`MailIntent`] in the [`MailOutbox`] and
//! answers. A background worker claims due intents, turns each into a [`MailMessage`] (issuing
//! the one-time token it carries at that moment) and gives it to the [`Mailer`]; a failed send
//! is retried later with back-off, a bounded number of times. See
//! [`crate::recovery::RecoveryService::deliver_due`].

use std::fmt;

use uuid::Uuid;

use crate::error::BoxError;
use crate::user::UserId;
use crate::values::Email;

/// One plain-text mail to one recipient. Its `Debug` never shows the body, which may carry a
/// one-time token.
#[derive(Clone, PartialEq, Eq)]
pub struct MailMessage {
    pub to: Email,
    pub subject: String,
    /// The UTF-8 text body.
    pub text: String,
}

impl fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MailMessage")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .field("text", &"<redacted>")
            .finish()
    }
}

/// Why a message was not delivered. The cause is for the log: adapters never put the body
/// (nor anything else that may hold a token) into it.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// Worth retrying: the server is unreachable, timed out, or answered with a 4xx.
    #[error("transient mail failure")]
    Transient(#[source] BoxError),
    /// Retrying the same message cannot help: the server refused it for good (5xx), or the
    /// message could not be built (an address the transport cannot use).
    #[error("permanent mail failure")]
    Permanent(#[source] BoxError),
}

impl MailError {
    pub fn transient(cause: impl Into<BoxError>) -> Self {
        Self::Transient(cause.into())
    }

    pub fn permanent(cause: impl Into<BoxError>) -> Self {
        Self::Permanent(cause.into())
    }

    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent(_))
    }
}

/// What a request asks to be mailed. The message itself (and the token in it) is made only
/// when the intent is delivered, so no token is ever stored in clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailIntent {
    /// A password-reset link for whichever account has this email, if any: recorded alike
    /// for known and unknown emails, so the request reveals nothing.
    PasswordReset { email: Email },
    /// An email-verification link for this user, bound to the email they had when asking.
    VerifyEmail { user_id: UserId, email: Email },
    /// A notice that a way to log in changed (no secret in it), to the address the account
    /// had then.
    SecurityNotice {
        user_id: UserId,
        email: Email,
        notice: SecurityNotice,
    },
}

impl MailIntent {
    pub fn kind(&self) -> &'static str {
        match self {
            MailIntent::PasswordReset { .. } => "password_reset",
            MailIntent::VerifyEmail { .. } => "verify_email",
            MailIntent::SecurityNotice { notice, .. } => notice.kind(),
        }
    }
}

/// What a notice mail tells the account's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityNotice {
    TotpEnabled,
    TotpDisabled,
    RecoveryCodesRenewed,
    RecoveryCodeUsed,
    SecondFactorsReset,
    PasskeyAdded,
    PasskeyRemoved,
    IdentityLinked,
    IdentityUnlinked,
}

impl SecurityNotice {
    const ALL: [SecurityNotice; 9] = [
        SecurityNotice::TotpEnabled,
        SecurityNotice::TotpDisabled,
        SecurityNotice::RecoveryCodesRenewed,
        SecurityNotice::RecoveryCodeUsed,
        SecurityNotice::SecondFactorsReset,
        SecurityNotice::PasskeyAdded,
        SecurityNotice::PasskeyRemoved,
        SecurityNotice::IdentityLinked,
        SecurityNotice::IdentityUnlinked,
    ];

    /// The outbox kind.
    pub fn kind(self) -> &'static str {
        match self {
            SecurityNotice::TotpEnabled => "notice_totp_enabled",
            SecurityNotice::TotpDisabled => "notice_totp_disabled",
            SecurityNotice::RecoveryCodesRenewed => "notice_recovery_codes_renewed",
            SecurityNotice::RecoveryCodeUsed => "notice_recovery_code_used",
            SecurityNotice::SecondFactorsReset => "notice_mfa_reset",
            SecurityNotice::PasskeyAdded => "notice_passkey_added",
            SecurityNotice::PasskeyRemoved => "notice_passkey_removed",
            SecurityNotice::IdentityLinked => "notice_identity_linked",
            SecurityNotice::IdentityUnlinked => "notice_identity_unlinked",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|notice| notice.kind() == kind)
    }

    /// The mail: what happened, and what to do if it was not the owner.
    pub fn message(self, to: &Email) -> MailMessage {
        let (subject, what) = match self {
            SecurityNotice::TotpEnabled => (
                "Two-factor authentication turned on",
                "An authenticator app (TOTP) was added to your account as a second factor.",
            ),
            SecurityNotice::TotpDisabled => (
                "Two-factor authentication turned off",
                "The authenticator app (TOTP) was removed from your account.",
            ),
            SecurityNotice::RecoveryCodesRenewed => (
                "New recovery codes",
                "A new set of recovery codes was created for your account; the previous codes no longer work.",
            ),
            SecurityNotice::RecoveryCodeUsed => (
                "A recovery code was used",
                "One of your recovery codes was just used to log in to your account.",
            ),
            SecurityNotice::SecondFactorsReset => (
                "Your second factors were removed",
                "An administrator removed every second factor of your account and ended its sessions.",
            ),
            SecurityNotice::PasskeyAdded => (
                "A passkey was added",
                "A passkey was added to your account: it logs in without a password, and is a second factor.",
            ),
            SecurityNotice::PasskeyRemoved => (
                "A passkey was removed",
                "A passkey was removed from your account; it no longer logs in.",
            ),
            SecurityNotice::IdentityLinked => (
                "A sign-in provider was linked",
                "An external sign-in (social login) identity was linked to your account: it can now log in with it.",
            ),
            SecurityNotice::IdentityUnlinked => (
                "A sign-in provider was removed",
                "An external sign-in (social login) identity was removed from your account.",
            ),
        };
        MailMessage {
            to: to.clone(),
            subject: subject.to_owned(),
            text: format!(
                "Hello,\n\n{what}\n\nIf this was you, there is nothing to do. If it was not, \
                 change your password now (or reset it) and review your account's sessions.\n"
            ),
        }
    }
}

/// A claimed entry of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: Uuid,
    pub intent: MailIntent,
    /// Delivery attempts so far, the one this claim starts included (so at least 1).
    pub attempts: u32,
}
