//! What the core needs from the outside world, one file per area. Each method's documentation
//! is its contract: the adapter test suite in `auth-infra` checks these lines against every
//! adapter. The ports carry only entities and values (`crate::user`, `crate::session`, …),
//! never a use case's types.

mod audit;
mod mail;
pub mod mfa;
pub mod oauth;
pub mod passkeys;
mod passwords;
mod recovery;
mod sessions;
mod system;
mod throttle;
mod tokens;
mod users;

pub use audit::*;
pub use mail::*;
pub use passwords::*;
pub use recovery::*;
pub use sessions::*;
pub use system::*;
pub use throttle::*;
pub use tokens::*;
pub use users::*;
