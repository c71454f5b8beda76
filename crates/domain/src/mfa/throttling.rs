//! How second-factor attempts meet the login throttle ([`crate::throttle`]): each wrong code
//! is one failure on the same keys as a wrong password (account + address, account, address),
//! a right password before it neither counts nor resets, and only the last factor's success
//! resets.

use crate::error::Fault;
use crate::service::AuthService;
use crate::session::ClientInfo;
use crate::throttle::{AttemptKeys, CountedAttempt, ThrottleError};
use crate::values::Email;

/// The throttle refused: retry after that many seconds.
pub(crate) struct Locked {
    pub(crate) retry_after_secs: u64,
}

/// Counts an attempt of `email` from `client` before its factor is checked: `Locked` while a
/// key is locked (the factor must then not be looked at), `None` without a throttle.
pub(crate) async fn admit(
    auth: &AuthService,
    email: &Email,
    client: &ClientInfo,
) -> Result<Result<Option<CountedAttempt>, Locked>, Fault> {
    let Some(throttle) = auth.throttle() else {
        return Ok(Ok(None));
    };
    match throttle.begin(AttemptKeys::account(email, client)).await {
        Ok(attempt) => Ok(Ok(Some(attempt))),
        Err(ThrottleError::TooManyAttempts { retry_after_secs }) => {
            Ok(Err(Locked { retry_after_secs }))
        }
        Err(ThrottleError::Fault(fault)) => Err(fault),
    }
}
