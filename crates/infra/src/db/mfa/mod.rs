//! The second-factor ports on the Diesel store: TOTP secrets (sealed), recovery-code hashes,
//! pending MFA logins. Every decision that must hold under concurrency is one conditional
//! write (compare-and-set), so two instances on one database agree.

mod challenges;
mod factors;
pub(super) mod recovery_codes;
mod totp;

use auth_domain::{Fault, UserId};
use uuid::Uuid;

pub(super) fn corrupt(what: &str) -> Fault {
    Fault::internal(format!("stored {what} is invalid"))
}

pub(super) fn user_uuid(raw: &str) -> Result<UserId, Fault> {
    Uuid::parse_str(raw)
        .map(UserId)
        .map_err(|_| corrupt("user id"))
}
