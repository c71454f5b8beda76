//! How passwords are hashed.

use super::variable::WhenUnset::Value;
use super::variable::{whole_number, within, Env, Setting, Variable};
use super::ConfigError;

const BCRYPT_COST: Setting<u32> = Setting::new(
    "BCRYPT_COST",
    Value("12"),
    |raw| Ok(within(whole_number::<u64>(raw)?, 4..=31)? as u32),
    "bcrypt cost, 4-31",
);

pub const VARIABLES: &[Variable] = &[BCRYPT_COST.variable];

/// `BCRYPT_COST`.
pub(super) fn read(env: &Env) -> Result<u32, ConfigError> {
    BCRYPT_COST.read(env)
}
