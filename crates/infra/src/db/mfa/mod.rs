//! The second-factor ports on the Diesel store: TOTP secrets (sealed), recovery-code hashes,
//! pending MFA logins. Every decision that must hold under concurrency is one conditional
//! write (compare-and-set), so two instances on one database agree.

mod challenges;
mod factors;
pub(super) mod recovery_codes;
mod totp;

use auth_domain::Fault;

pub(super) fn corrupt(what: &str) -> Fault {
    Fault::internal(format!("stored {what} is invalid"))
}
