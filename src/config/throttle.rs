//! The login throttle's settings (three keys) and the per-address ceremony budget.

use auth_domain::throttle::{ThrottlePolicy, WindowLimit};
use chrono::TimeDelta;

use super::variable::WhenUnset::Value;
use super::variable::{ttl, whole_number, within, Env, Setting, Variable};
use super::ConfigError;

const LOGIN_MAX_FAILURES: Setting<u32> = Setting::new(
    "LOGIN_MAX_FAILURES",
    Value("5"),
    |raw| within(whole_number(raw)?, 1..=1_000),
    "key 1: consecutive failed logins of one account from one client address that lock that pair",
);
const LOGIN_ACCOUNT_MAX_FAILURES: Setting<u32> = Setting::new(
    "LOGIN_ACCOUNT_MAX_FAILURES",
    Value("20"),
    |raw| within(whole_number(raw)?, 1..=10_000),
    "key 2: consecutive failed logins of one account from every address that lock the account",
);
// A window row holds one timestamp per failure: the bound keeps it small.
const LOGIN_ADDRESS_MAX_FAILURES: Setting<u32> = Setting::new(
    "LOGIN_ADDRESS_MAX_FAILURES",
    Value("100"),
    |raw| within(whole_number(raw)?, 1..=10_000),
    "key 3: failed logins from one client address, across accounts, within LOGIN_ADDRESS_WINDOW",
);
const LOGIN_ADDRESS_WINDOW: Setting<TimeDelta> = Setting::new(
    "LOGIN_ADDRESS_WINDOW",
    Value("1h"),
    ttl,
    "key 3's sliding window",
);
const LOGIN_KNOWN_PAIR_TTL: Setting<TimeDelta> = Setting::new(
    "LOGIN_KNOWN_PAIR_TTL",
    Value("30d"),
    ttl,
    "an account + address pair that logged in within this long is exempt from keys 2 and 3",
);
const LOGIN_LOCKOUT: Setting<TimeDelta> = Setting::new(
    "LOGIN_LOCKOUT",
    Value("1m"),
    ttl,
    "first lock of keys 1 and 2; doubles with each further failure",
);
const LOGIN_LOCKOUT_MAX: Setting<TimeDelta> =
    Setting::new("LOGIN_LOCKOUT_MAX", Value("15m"), ttl, "longest lock");
const CEREMONY_MAX_PER_ADDRESS: Setting<u32> = Setting::new(
    "CEREMONY_MAX_PER_ADDRESS",
    Value("60"),
    |raw| within(whole_number(raw)?, 1..=10_000),
    "anonymous ceremony starts (passkey login options, OAuth authorize) per client address per minute",
);

pub const VARIABLES: &[Variable] = &[
    LOGIN_MAX_FAILURES.variable,
    LOGIN_ACCOUNT_MAX_FAILURES.variable,
    LOGIN_ADDRESS_MAX_FAILURES.variable,
    LOGIN_ADDRESS_WINDOW.variable,
    LOGIN_KNOWN_PAIR_TTL.variable,
    LOGIN_LOCKOUT.variable,
    LOGIN_LOCKOUT_MAX.variable,
    CEREMONY_MAX_PER_ADDRESS.variable,
];

/// The throttle's variables, read.
#[derive(Debug)]
pub(super) struct ThrottleSettings {
    pub policy: ThrottlePolicy,
    /// `CEREMONY_MAX_PER_ADDRESS` per minute.
    pub ceremony_budget: WindowLimit,
}

pub(super) fn read(env: &Env) -> Result<ThrottleSettings, ConfigError> {
    let pair_max_failures = LOGIN_MAX_FAILURES.read(env)?;
    let account_max_failures = LOGIN_ACCOUNT_MAX_FAILURES.read(env)?;
    let address_max = LOGIN_ADDRESS_MAX_FAILURES.read(env)?;
    let address_window = LOGIN_ADDRESS_WINDOW.read(env)?;
    let lockout = LOGIN_LOCKOUT.read(env)?;
    let lockout_max = LOGIN_LOCKOUT_MAX.read(env)?;
    if lockout_max < lockout {
        return Err(LOGIN_LOCKOUT_MAX.refuse("must be at least LOGIN_LOCKOUT"));
    }
    let known_pair_ttl = LOGIN_KNOWN_PAIR_TTL.read(env)?;
    let ceremony_max = CEREMONY_MAX_PER_ADDRESS.read(env)?;
    let defaults = ThrottlePolicy::default();
    Ok(ThrottleSettings {
        policy: ThrottlePolicy {
            pair_max_failures,
            account_max_failures,
            address: WindowLimit {
                max: address_max,
                window: address_window,
            },
            lockout,
            lockout_max,
            known_pair_ttl,
            // A counter must outlive the longest lock and the address window.
            forget_after: defaults.forget_after.max(lockout_max).max(address_window),
        },
        ceremony_budget: WindowLimit {
            max: ceremony_max,
            window: TimeDelta::minutes(1),
        },
    })
}
