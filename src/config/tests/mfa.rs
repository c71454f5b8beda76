//! `DATA_ENCRYPTION_KEY`, `MFA_*`, `REAUTH_MAX_AGE`, `REQUIRE_MFA_FOR_ADMINS`.

use auth_infra::test_keys::TempDir;

use super::{config, SECRET};
use crate::config::mfa::DataKeySource;

#[test]
fn defaults() {
    let config = config(&[("DATABASE_URL", "sqlite:///tmp/x.db")]).unwrap();
    assert_eq!(config.mfa.policy.issuer, "auth-server");
    assert_eq!(config.mfa.policy.token_ttl.num_seconds(), 300);
    assert_eq!(config.mfa.policy.reauth_max_age.num_seconds(), 300);
    assert!(!config.mfa.require_for_admins);
    assert_eq!(
        config.mfa.data_key,
        DataKeySource::File("/tmp/x.db.data-key".into())
    );
}

#[test]
fn postgres_needs_a_key_and_a_bad_one_names_the_variable() {
    let pg = "postgres://u@h/db";
    let error = config(&[SECRET, ("DATABASE_URL", pg)]).unwrap_err();
    assert_eq!(error.variable, "DATA_ENCRYPTION_KEY");
    let error = config(&[
        SECRET,
        ("DATABASE_URL", pg),
        ("DATA_ENCRYPTION_KEY", "c2hvcnQ="),
    ])
    .unwrap_err();
    assert_eq!(error.variable, "DATA_ENCRYPTION_KEY");
    let key = auth_infra::DataKey::generate_encoded();
    assert!(config(&[SECRET, ("DATABASE_URL", pg), ("DATA_ENCRYPTION_KEY", &key)]).is_ok());
    let error = config(&[
        SECRET,
        ("DATABASE_URL", pg),
        ("DATA_ENCRYPTION_KEY", &key),
        ("REQUIRE_MFA_FOR_ADMINS", "maybe"),
    ])
    .unwrap_err();
    assert_eq!(error.variable, "REQUIRE_MFA_FOR_ADMINS");
}

#[test]
fn key_file_is_created_once_then_read_back() {
    let dir = TempDir::new();
    let db = dir.path().join("auth.db");
    let config = config(&[("DATABASE_URL", &format!("sqlite://{}", db.display()))]).unwrap();
    let first = config.mfa.data_key().unwrap();
    assert!(dir.path().join("auth.db.data-key").exists());
    let second = config.mfa.data_key().unwrap();
    assert_eq!(first.id(), second.id());
}
