//! `LOGIN_*` and `CEREMONY_MAX_PER_ADDRESS`.

use auth_domain::ThrottlePolicy;
use chrono::TimeDelta;

use super::with_env;
use crate::config::throttle::{self, ThrottleSettings};
use crate::config::ConfigError;

fn read(pairs: &[(&str, &str)]) -> Result<ThrottleSettings, ConfigError> {
    with_env(pairs, throttle::read)
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
