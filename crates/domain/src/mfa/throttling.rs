//! How second-factor attempts meet the login throttle ([`crate::throttle`]): each wrong code
//! is one failure on the same keys as a wrong password, a right password before it neither
//! counts nor resets, and only the last factor's success resets.

use chrono::{DateTime, Utc};

use crate::error::Fault;
use crate::service::{throttle_keys, AuthService, Throttle};
use crate::session::ClientInfo;
use crate::throttle::{retry_after_secs, Admission, AdmittedAttempt};
use crate::values::Email;

/// An attempt counted (as a failure, until settled) on the throttle.
pub(crate) struct Counted<'a> {
    throttle: &'a Throttle,
    attempt: AdmittedAttempt,
}

/// The throttle refused: retry after that many seconds.
pub(crate) struct Locked {
    pub(crate) retry_after_secs: u64,
}

/// Counts an attempt of `email` from `client` before its factor is checked: `Locked` while a
/// key is locked (the factor must then not be looked at), `None` without a throttle.
pub(crate) async fn admit<'a>(
    auth: &'a AuthService,
    email: &Email,
    client: &ClientInfo,
    now: DateTime<Utc>,
) -> Result<Result<Option<Counted<'a>>, Locked>, Fault> {
    let Some(throttle) = &auth.throttle else {
        return Ok(Ok(None));
    };
    let keys = throttle_keys(email, client);
    match throttle.store.admit(&keys, now, &throttle.policy).await? {
        Admission::Admitted(attempt) => Ok(Ok(Some(Counted { throttle, attempt }))),
        Admission::Locked { until } => Ok(Err(Locked {
            retry_after_secs: retry_after_secs(until, now),
        })),
    }
}

impl Counted<'_> {
    /// The last factor succeeded: the login's keys are reset.
    pub(crate) async fn succeeded(self) -> Result<(), Fault> {
        self.throttle.store.record_success(&self.attempt).await
    }

    /// The factor was wrong: the failure stays counted.
    pub(crate) fn failed(self) {}

    /// The factor was right but the login (or the change) is not complete with it: neither
    /// a failure nor a reset.
    pub(crate) async fn neutral(self) -> Result<(), Fault> {
        take_back(self.throttle, &self.attempt).await
    }
}

/// A right first factor of an account with a second factor: its attempt is taken back from
/// the address key. The account key keeps it until the login completes, so a stolen password
/// cannot reset the account's count between rounds of code guesses.
pub(crate) async fn take_back(throttle: &Throttle, attempt: &AdmittedAttempt) -> Result<(), Fault> {
    let others = AdmittedAttempt {
        keys: attempt
            .keys
            .iter()
            .filter(|counted| !counted.key.is_account())
            .cloned()
            .collect(),
    };
    if others.keys.is_empty() {
        return Ok(());
    }
    throttle.store.record_success(&others).await
}
