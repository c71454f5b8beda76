//! The signing-key variables: which algorithm needs which key, and unusable key files.

use auth_infra::test_keys::{self, TempDir};

use super::{config, refused, SQLITE};
use crate::config::SecretSource;

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
