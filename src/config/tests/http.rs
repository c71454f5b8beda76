//! The HTTP settings: proxies and CORS (and the throttle's defaults seen through `Config`).

use chrono::TimeDelta;

use super::config;

#[test]
fn throttle_proxies_and_cors_default_to_five_one_minute_fifteen_none_none() {
    let config = config(&[]).unwrap();
    assert_eq!(config.throttle.pair_max_failures, 5);
    assert_eq!(config.throttle.lockout, TimeDelta::minutes(1));
    assert_eq!(config.throttle.lockout_max, TimeDelta::minutes(15));
    assert!(config.api.trusted_proxies.is_empty());
    assert!(config.api.cors_allowed_origins.is_empty());
}

#[test]
fn throttle_proxies_and_cors_are_read() {
    let config = config(&[
        ("LOGIN_MAX_FAILURES", "3"),
        ("LOGIN_LOCKOUT", "30s"),
        ("LOGIN_LOCKOUT_MAX", "1h"),
        ("TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1 ,::1"),
        (
            "CORS_ALLOWED_ORIGINS",
            "https://App.example.com,http://localhost:3000",
        ),
    ])
    .unwrap();
    assert_eq!(config.throttle.pair_max_failures, 3);
    assert_eq!(config.throttle.lockout, TimeDelta::seconds(30));
    assert_eq!(config.throttle.lockout_max, TimeDelta::hours(1));
    let proxies: Vec<String> = config
        .api
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(proxies, ["10.0.0.0/8", "127.0.0.1/32", "::1/128"]);
    assert_eq!(
        config.api.cors_allowed_origins,
        ["https://app.example.com", "http://localhost:3000"]
    );
}

#[test]
fn each_bad_value_names_its_variable() {
    for (variable, value) in [
        ("LOGIN_MAX_FAILURES", "0"),
        ("LOGIN_MAX_FAILURES", "many"),
        ("LOGIN_LOCKOUT", "0"),
        ("LOGIN_LOCKOUT", "1y"),
        ("TRUSTED_PROXIES", "10.0.0.0/33"),
        ("TRUSTED_PROXIES", "proxy.example.com"),
        ("CORS_ALLOWED_ORIGINS", "*"),
        ("CORS_ALLOWED_ORIGINS", "https://app.example.com/path"),
    ] {
        let error = config(&[(variable, value)]).unwrap_err();
        assert_eq!(error.variable, variable, "{variable}={value}: {error}");
    }
    let error = config(&[("LOGIN_LOCKOUT", "10m"), ("LOGIN_LOCKOUT_MAX", "5m")]).unwrap_err();
    assert_eq!(error.variable, "LOGIN_LOCKOUT_MAX");
}
