//! The login throttle's settings (three keys) and the per-address ceremony budget.

use auth_domain::throttle::{ThrottlePolicy, WindowLimit};
use chrono::TimeDelta;

use super::{invalid, parse_duration, ConfigError};

/// Reads the throttle's variables through `get` (blank values already count as unset).
pub(super) struct ThrottleSettings {
    pub policy: ThrottlePolicy,
    /// `CEREMONY_MAX_PER_ADDRESS` per minute.
    pub ceremony_budget: WindowLimit,
}

fn number(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: u32,
    range: std::ops::RangeInclusive<u32>,
) -> Result<u32, ConfigError> {
    let value = match get(name) {
        None => default,
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|_| invalid(name, format!("expected a whole number, got {raw:?}")))?,
    };
    if !range.contains(&value) {
        return Err(invalid(
            name,
            format!(
                "must be between {} and {}, got {value}",
                range.start(),
                range.end()
            ),
        ));
    }
    Ok(value)
}

fn ttl(
    get: &dyn Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
) -> Result<TimeDelta, ConfigError> {
    let raw = get(name).unwrap_or_else(|| default.to_owned());
    let value = parse_duration(&raw).map_err(|m| invalid(name, m))?;
    if value.is_zero() {
        return Err(invalid(name, "must be greater than zero"));
    }
    TimeDelta::from_std(value).map_err(|_| invalid(name, "is too long"))
}

impl ThrottleSettings {
    pub fn read(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let pair_max_failures = number(get, "LOGIN_MAX_FAILURES", 5, 1..=1_000)?;
        let account_max_failures = number(get, "LOGIN_ACCOUNT_MAX_FAILURES", 20, 1..=10_000)?;
        // A window row holds one timestamp per failure: the bound keeps it small.
        let address_max = number(get, "LOGIN_ADDRESS_MAX_FAILURES", 100, 1..=10_000)?;
        let address_window = ttl(get, "LOGIN_ADDRESS_WINDOW", "1h")?;
        let lockout = ttl(get, "LOGIN_LOCKOUT", "1m")?;
        let lockout_max = ttl(get, "LOGIN_LOCKOUT_MAX", "15m")?;
        if lockout_max < lockout {
            return Err(invalid(
                "LOGIN_LOCKOUT_MAX",
                "must be at least LOGIN_LOCKOUT",
            ));
        }
        let known_pair_ttl = ttl(get, "LOGIN_KNOWN_PAIR_TTL", "30d")?;
        let ceremony_max = number(get, "CEREMONY_MAX_PER_ADDRESS", 60, 1..=10_000)?;
        let defaults = ThrottlePolicy::default();
        Ok(Self {
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
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<ThrottleSettings, ConfigError> {
        let env: std::collections::HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ThrottleSettings::read(&|name| env.get(name).cloned())
    }

    #[test]
    fn defaults_are_the_three_keys_of_api_md() {
        let settings = read(&[]).unwrap();
        assert_eq!(settings.policy, ThrottlePolicy::default());
        assert_eq!(settings.policy.pair_max_failures, 5);
        assert_eq!(settings.policy.account_max_failures, 20);
        assert_eq!(settings.policy.address.max, 100);
        assert_eq!(settings.policy.address.window, TimeDelta::hours(1));
        assert_eq!(settings.policy.known_pair_ttl, TimeDelta::days(30));
        assert_eq!(settings.ceremony_budget.max, 60);
        assert_eq!(settings.ceremony_budget.window, TimeDelta::minutes(1));
    }

    #[test]
    fn every_setting_is_read() {
        let settings = read(&[
            ("LOGIN_MAX_FAILURES", "3"),
            ("LOGIN_ACCOUNT_MAX_FAILURES", "7"),
            ("LOGIN_ADDRESS_MAX_FAILURES", "9"),
            ("LOGIN_ADDRESS_WINDOW", "10m"),
            ("LOGIN_LOCKOUT", "30s"),
            ("LOGIN_LOCKOUT_MAX", "1h"),
            ("LOGIN_KNOWN_PAIR_TTL", "7d"),
            ("CEREMONY_MAX_PER_ADDRESS", "5"),
        ])
        .unwrap();
        let policy = settings.policy;
        assert_eq!(policy.pair_max_failures, 3);
        assert_eq!(policy.account_max_failures, 7);
        assert_eq!(policy.address.max, 9);
        assert_eq!(policy.address.window, TimeDelta::minutes(10));
        assert_eq!(policy.lockout, TimeDelta::seconds(30));
        assert_eq!(policy.lockout_max, TimeDelta::hours(1));
        assert_eq!(policy.known_pair_ttl, TimeDelta::days(7));
        assert_eq!(settings.ceremony_budget.max, 5);
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        for (variable, value) in [
            ("LOGIN_ACCOUNT_MAX_FAILURES", "0"),
            ("LOGIN_ADDRESS_MAX_FAILURES", "10001"),
            ("LOGIN_ADDRESS_WINDOW", "0"),
            ("LOGIN_ADDRESS_WINDOW", "soon"),
            ("LOGIN_KNOWN_PAIR_TTL", "0"),
            ("CEREMONY_MAX_PER_ADDRESS", "-1"),
        ] {
            let error = read(&[(variable, value)]).err().unwrap();
            assert_eq!(error.variable, variable, "{variable}={value}: {error}");
        }
    }
}
