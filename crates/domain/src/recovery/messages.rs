//! The text of the recovery mails.

use chrono::TimeDelta;

use crate::mail::MailMessage;
use crate::one_time::OneTimeSecret;
use crate::values::Email;

use super::RecoveryPolicy;

/// `24 hours`, `1 hour`, `30 minutes`.
pub(super) fn human(ttl: TimeDelta) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let minutes = ttl.num_minutes();
    if minutes >= 60 && minutes % 60 == 0 {
        plural(minutes / 60, "hour")
    } else if minutes >= 1 {
        plural(minutes, "minute")
    } else {
        plural(ttl.num_seconds(), "second")
    }
}

pub(super) fn reset_message(
    to: &Email,
    secret: &OneTimeSecret,
    policy: &RecoveryPolicy,
) -> MailMessage {
    MailMessage {
        to: to.clone(),
        subject: "Reset your password".into(),
        text: format!(
            "Someone, hopefully you, asked to reset the password of the account {to}.\n\
             \n\
             To choose a new password, open this link within {ttl}:\n\
             \n\
             {url}/reset-password?token={token}\n\
             \n\
             The link works once. Setting a new password signs you out everywhere.\n\
             If you did not ask for this, ignore this message: your password stays as it is.\n",
            ttl = human(policy.password_reset_ttl),
            url = policy.public_url,
            token = secret.expose(),
        ),
    }
}

pub(super) fn verification_message(
    to: &Email,
    secret: &OneTimeSecret,
    policy: &RecoveryPolicy,
) -> MailMessage {
    MailMessage {
        to: to.clone(),
        subject: "Confirm your email address".into(),
        text: format!(
            "Please confirm that {to} is your email address by opening this link within {ttl}:\n\
             \n\
             {url}/verify-email?token={token}\n\
             \n\
             If you did not create an account, ignore this message.\n",
            ttl = human(policy.verify_email_ttl),
            url = policy.public_url,
            token = secret.expose(),
        ),
    }
}
