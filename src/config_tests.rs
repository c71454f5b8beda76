//! Configuration: signing-key variables, and property tests of the duration syntax.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;

use auth_infra::test_keys::{self, TempDir};
use proptest::prelude::*;

use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|name| vars.get(name).cloned())
}

fn refused(vars: &[(&str, &str)]) -> ConfigError {
    config(vars).expect_err("the configuration was accepted")
}

const SQLITE: (&str, &str) = ("DATABASE_URL", "sqlite:///nonexistent-dir/auth.db");

#[test]
fn asymmetric_algorithms_need_a_private_key_file_and_no_secret() {
    for algorithm in ["RS256", "ES256", "EdDSA"] {
        let error = refused(&[SQLITE, ("JWT_ALGORITHM", algorithm)]);
        assert_eq!(error.variable, "JWT_PRIVATE_KEY_FILE", "{error}");
        assert!(error.message.contains(algorithm), "{error}");
    }
    let error = refused(&[
        SQLITE,
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PRIVATE_KEY_FILE", "/keys/es256.pem"),
        ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
    ]);
    assert_eq!(error.variable, "JWT_SECRET");
    let accepted = config(&[
        SQLITE,
        ("JWT_ALGORITHM", "ES256"),
        ("JWT_PRIVATE_KEY_FILE", "/keys/es256.pem"),
        ("JWT_PUBLIC_KEY_FILES", " /keys/old.pem, ,/keys/older.pem "),
    ])
    .unwrap();
    assert_eq!(
        accepted.secret,
        SecretSource::Unused,
        "no key file is generated"
    );
    assert_eq!(
        accepted.public_key_files,
        vec![
            std::path::PathBuf::from("/keys/old.pem"),
            std::path::PathBuf::from("/keys/older.pem")
        ]
    );
}

#[test]
fn hmac_refuses_key_files() {
    let secret = ("JWT_SECRET", "0123456789abcdef0123456789abcdef");
    let error = refused(&[SQLITE, secret, ("JWT_PRIVATE_KEY_FILE", "/k.pem")]);
    assert_eq!(error.variable, "JWT_PRIVATE_KEY_FILE");
    let error = refused(&[
        SQLITE,
        secret,
        ("JWT_ALGORITHM", "HS512"),
        ("JWT_PUBLIC_KEY_FILES", "/k.pem"),
    ]);
    assert_eq!(error.variable, "JWT_PUBLIC_KEY_FILES");
    let error = refused(&[SQLITE, ("JWT_ALGORITHM", "none")]);
    assert_eq!(error.variable, "JWT_ALGORITHM");
    let error = refused(&[SQLITE, ("JWT_ALGORITHM", "ES384")]);
    assert_eq!(error.variable, "JWT_ALGORITHM");
}

/// Builds the adapters; keys are checked before the database is touched, so the (absent)
/// SQLite folder is never reached.
async fn start_error(vars: &[(&str, &str)]) -> String {
    let config = config(vars).unwrap();
    match crate::assemble(&config).await {
        Ok(_) => panic!("the server started"),
        Err(error) => error.to_string(),
    }
}

#[tokio::test]
async fn unusable_key_files_stop_the_server_with_one_line_naming_the_variable() {
    let dir = TempDir::new();
    let ec = test_keys::p256();
    let private = dir.write("ec.pem", &ec.private_pem);
    let private = private.to_str().unwrap();
    let ed_public = dir.write("ed.pub.pem", &test_keys::ed25519().public_pem);
    let garbage = dir.write("garbage.pem", "not a key");
    let missing = dir.path().join("missing.pem");
    let es256 = ("JWT_ALGORITHM", "ES256");

    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![
                SQLITE,
                es256,
                ("JWT_PRIVATE_KEY_FILE", missing.to_str().unwrap()),
            ],
            "JWT_PRIVATE_KEY_FILE: cannot read",
        ),
        (
            vec![
                SQLITE,
                es256,
                ("JWT_PRIVATE_KEY_FILE", garbage.to_str().unwrap()),
            ],
            "JWT_PRIVATE_KEY_FILE: ",
        ),
        (
            vec![
                SQLITE,
                ("JWT_ALGORITHM", "RS256"),
                ("JWT_PRIVATE_KEY_FILE", private),
            ],
            "JWT_PRIVATE_KEY_FILE: ",
        ),
        (
            vec![
                SQLITE,
                es256,
                ("JWT_PRIVATE_KEY_FILE", private),
                ("JWT_PUBLIC_KEY_FILES", ed_public.to_str().unwrap()),
            ],
            "JWT_PUBLIC_KEY_FILES: ",
        ),
        (
            vec![
                SQLITE,
                es256,
                ("JWT_PRIVATE_KEY_FILE", private),
                ("JWT_PUBLIC_KEY_FILES", missing.to_str().unwrap()),
            ],
            "JWT_PUBLIC_KEY_FILES: cannot read",
        ),
    ];
    for (vars, prefix) in cases {
        let line = start_error(&vars).await;
        assert!(
            line.starts_with(prefix),
            "{line:?} should start with {prefix:?}"
        );
        assert!(!line.contains('\n'), "one line: {line:?}");
        assert!(!line.contains("-----"), "no key material: {line:?}");
    }
}

#[test]
fn durations_accept_the_documented_forms() {
    assert_eq!(parse_duration("900"), Ok(Duration::from_secs(900)));
    assert_eq!(parse_duration(" 15m "), Ok(Duration::from_secs(900)));
    assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
    assert!(parse_duration("15 m").is_err());
    assert!(parse_duration("-5s").is_err());
    assert!(parse_duration("5w").is_err());
    assert!(parse_duration("").is_err());
    assert!(parse_duration("3651d").is_err(), "over ten years");
}

const TEN_YEARS: u64 = 10 * 365 * 86_400;

proptest! {
    #[test]
    fn durations_round_trip(n in 0u64..=TEN_YEARS, unit in prop::sample::select(vec![
        ("s", 1u64), ("m", 60), ("h", 3_600), ("d", 86_400),
    ])) {
        let (suffix, secs) = unit;
        let parsed = parse_duration(&format!("{n}{suffix}"));
        match n.checked_mul(secs).filter(|total| *total <= TEN_YEARS) {
            Some(total) => prop_assert_eq!(parsed, Ok(Duration::from_secs(total))),
            None => prop_assert!(parsed.is_err()),
        }
        if suffix == "s" {
            prop_assert_eq!(parse_duration(&n.to_string()), Ok(Duration::from_secs(n)));
        }
    }

    #[test]
    fn durations_never_panic(raw in any::<String>()) {
        let _ = parse_duration(&raw);
    }

    #[test]
    fn durations_never_panic_on_near_misses(raw in "[ 0-9]{0,25}[smhdµ€x ]{0,3}") {
        if let Ok(value) = parse_duration(&raw) {
            prop_assert!(value.as_secs() <= TEN_YEARS);
        }
    }
}

#[test]
fn session_cache_size_defaults_to_10000_and_0_turns_it_off() {
    assert_eq!(
        config(&[SQLITE]).unwrap().database.session_cache_size,
        10_000
    );
    let off = config(&[SQLITE, ("SESSION_CACHE_SIZE", "0")]).unwrap();
    assert_eq!(off.database.session_cache_size, 0);
    assert_eq!(
        refused(&[SQLITE, ("SESSION_CACHE_SIZE", "many")]).variable,
        "SESSION_CACHE_SIZE"
    );
}
