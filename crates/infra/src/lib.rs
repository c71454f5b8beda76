//! Adapters behind auth-domain's ports: a Diesel store for PostgreSQL and SQLite, a
//! jsonwebtoken token service, a bcrypt password hasher, the system clock, and the
//! mail adapters (SMTP, `.eml` files).

pub mod clock;
// Issue "Two-factor authentication": DATA_ENCRYPTION_KEY.
pub mod data_key;
pub mod db;
pub mod jwt;
pub mod password;
// Issue "Account lifecycle": mail adapters and one-time secrets.
pub mod mail;
// Issue "Social login": the OpenID Connect / GitHub relying party.
pub mod oidc;
pub mod secrets;
// Keys generated beside a SQLite database.
pub mod secret_file;
#[cfg(feature = "testing")]
pub mod smtp_sink;
#[cfg(feature = "testing")]
pub mod test_keys;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webauthn;

pub use clock::SystemClock;
pub use data_key::DataKey;
pub use db::{Backend, Database, DatabaseOptions};
pub use jwt::{JwtSettings, JwtTokenService};
pub use password::BcryptHasher;
pub use secrets::RandomSecretGenerator;
