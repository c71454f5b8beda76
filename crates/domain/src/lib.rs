//! The core of auth-server: who a user is, what a valid credential looks like, the ports the
//! core needs from the outside world, and the use cases built on them.
//!
//! Nothing here knows about HTTP or SQL. Adapters (in `auth-infra`) implement the [`ports`];
//! the HTTP layer (in `auth-api`) calls the [`service::AuthService`] use cases.

pub mod account;
pub mod admin;
pub mod amr;
pub mod audit;
pub mod error;
pub mod issuer;
pub mod listing;
pub mod login_methods;
pub mod mail;
pub mod mail_budget;
pub mod maintenance;
pub mod mfa;
mod notices;
pub mod oauth;
pub mod one_time;
pub mod passkeys;
pub mod policy;
pub mod ports;
pub mod recovery;
pub mod service;
pub mod session;
pub mod throttle;
pub mod token;
pub mod user;
pub mod values;

pub use amr::{Amr, AuthMethod};
pub use error::Fault;
pub use issuer::{TokenIssuer, TokenPolicy};
pub use policy::{PasswordPolicy, PolicyContext};
pub use ports::LoginThrottle;
pub use service::AuthService;
pub use session::{ClientInfo, Principal, Session, SessionId};
pub use throttle::{Throttle, ThrottlePolicy};
pub use token::{Claims, TokenKind, TokenPair};
pub use user::{AccountKind, NewUser, Role, User, UserId};
pub use values::{Email, Password, PasswordHash, PersonName, Username, ValueError};

#[cfg(test)]
mod lifecycle_tests;
#[cfg(test)]
mod login_defence_tests;
#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod service_tests;
#[cfg(test)]
mod test_fixtures;
