//! Adapters behind auth-domain's ports: a Diesel store for PostgreSQL and SQLite, a
//! jsonwebtoken token service, a bcrypt password hasher and the system clock.

pub mod clock;
pub mod db;
pub mod jwt;
pub mod jwt_keys;
pub mod password;
#[cfg(feature = "testing")]
pub mod test_keys;
#[cfg(feature = "testing")]
pub mod testing;

pub use clock::SystemClock;
pub use db::{Backend, Database, DatabaseOptions};
pub use jwt::{JwtSettings, JwtTokenService};
pub use password::BcryptHasher;
