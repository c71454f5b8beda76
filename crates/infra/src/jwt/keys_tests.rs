//! Signing keys: every algorithm signs and verifies, every token names its key, keys are
//! chosen by `kid` only, rotation, and the configuration errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use auth_domain::ports::{TokenError, TokenService};
use auth_domain::{Claims, SessionId, TokenKind, UserId};
use chrono::{TimeDelta, Utc};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::jwt::{thumbprint, JwtSettings, JwtSetupError, JwtTokenService, PemKey, PemKeys};
use crate::test_keys::{self, TestKeyPair};
use crate::SystemClock;

const SECRET: &[u8] = b"unit-test-secret-0123456789-abcdefghij";

fn settings(algorithm: Algorithm, key_pair: Option<PemKeys>) -> JwtSettings {
    JwtSettings {
        algorithm,
        secret: if key_pair.is_some() {
            Vec::new()
        } else {
            SECRET.to_vec()
        },
        issuer: "auth-server".into(),
        audience: None,
        leeway_secs: 0,
        key_pair,
    }
}

fn pem_keys(private: &TestKeyPair, public: &[&TestKeyPair]) -> PemKeys {
    PemKeys {
        private_key: PemKey::new("private.pem", private.private_pem.clone()),
        public_keys: public
            .iter()
            .enumerate()
            .map(|(i, key)| PemKey::new(format!("public-{i}.pem"), key.public_pem.clone()))
            .collect(),
    }
}

fn service(algorithm: Algorithm, key_pair: Option<PemKeys>) -> JwtTokenService {
    JwtTokenService::new(settings(algorithm, key_pair), Arc::new(SystemClock)).unwrap()
}

fn setup_error(algorithm: Algorithm, key_pair: Option<PemKeys>) -> JwtSetupError {
    match JwtTokenService::new(settings(algorithm, key_pair), Arc::new(SystemClock)) {
        Ok(_) => panic!("the keys were accepted"),
        Err(error) => error,
    }
}

fn claims() -> Claims {
    let now = Utc::now();
    Claims {
        amr: auth_domain::Amr::password(),
        auth_time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        kind: TokenKind::Access,
        subject: UserId(Uuid::new_v4()),
        session_id: SessionId(Uuid::new_v4()),
        token_id: Uuid::new_v4(),
        issued_at: now,
        expires_at: now + TimeDelta::minutes(15),
    }
}

fn wire_claims(claims: &Claims) -> Value {
    json!({
        "sub": claims.subject.0,
        "sid": claims.session_id.0,
        "jti": claims.token_id,
        "token_type": "access",
        "iat": claims.issued_at.timestamp(),
        "nbf": claims.issued_at.timestamp(),
        "exp": claims.expires_at.timestamp(),
        "iss": "auth-server",
    })
}

fn header_of(token: &str) -> Header {
    jsonwebtoken::decode_header(token).unwrap()
}

fn key_pair_for(algorithm: Algorithm) -> TestKeyPair {
    match algorithm {
        Algorithm::RS256 => test_keys::shared_rsa(),
        Algorithm::ES256 => test_keys::p256(),
        _ => test_keys::ed25519(),
    }
}

fn encoding_key(algorithm: Algorithm, key: &TestKeyPair) -> EncodingKey {
    let pem = key.private_pem.as_bytes();
    match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem).unwrap(),
        _ => EncodingKey::from_ed_pem(pem).unwrap(),
    }
}

#[test]
fn hmac_tokens_carry_a_kid_that_reveals_nothing_and_verify() {
    let tokens = service(Algorithm::HS256, None);
    let claims = claims();
    let token = tokens.issue(&claims).unwrap();
    let header = header_of(&token);
    assert_eq!(header.alg, Algorithm::HS256);
    let kid = header.kid.expect("kid");
    assert_eq!(kid, tokens.signing_kid());
    assert_eq!(kid.len(), 16);
    assert!(!String::from_utf8_lossy(SECRET).contains(&kid));
    assert_eq!(tokens.verify(&token, TokenKind::Access).unwrap(), {
        let mut expected = claims.clone();
        expected.issued_at =
            chrono::DateTime::from_timestamp(claims.issued_at.timestamp(), 0).unwrap();
        expected.expires_at =
            chrono::DateTime::from_timestamp(claims.expires_at.timestamp(), 0).unwrap();
        expected
    });
    assert_eq!(tokens.jwks_json(), json!({ "keys": [] }));
}

#[test]
fn hmac_kid_is_stable_per_secret_and_differs_between_secrets() {
    let first = service(Algorithm::HS256, None);
    let again = service(Algorithm::HS512, None);
    assert_eq!(first.signing_kid(), again.signing_kid());
    let mut other = settings(Algorithm::HS256, None);
    other.secret = b"another-secret-0123456789-abcdefghijklm".to_vec();
    let other = JwtTokenService::new(other, Arc::new(SystemClock)).unwrap();
    assert_ne!(first.signing_kid(), other.signing_kid());
    // A token of the other secret names a key this service does not have.
    let token = other.issue(&claims()).unwrap();
    assert_eq!(
        first.verify(&token, TokenKind::Access),
        Err(TokenError::BadSignature)
    );
}

fn signs_and_verifies(algorithm: Algorithm) {
    let key = key_pair_for(algorithm);
    let tokens = service(algorithm, Some(pem_keys(&key, &[])));
    let token = tokens.issue(&claims()).unwrap();
    let header = header_of(&token);
    assert_eq!(header.alg, algorithm);
    let kid = header.kid.expect("kid in every token");
    assert_eq!(kid, tokens.signing_kid());
    assert!(tokens.verify(&token, TokenKind::Access).is_ok());

    // The kid is the RFC 7638 thumbprint of the published key, which verifies the token.
    let jwks = tokens.jwks();
    assert_eq!(jwks.keys.len(), 1);
    let jwk = &jwks.keys[0];
    assert_eq!(jwk.common.key_id.as_deref(), Some(kid.as_str()));
    assert_eq!(thumbprint(jwk).unwrap(), kid);
    let decoding = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.set_issuer(&["auth-server"]);
    let decoded = jsonwebtoken::decode::<Value>(&token, &decoding, &validation).unwrap();
    assert_eq!(decoded.claims["token_type"], "access");

    // A tampered payload no longer verifies.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut forged = wire_claims(&claims());
    forged["token_type"] = "access".into();
    parts[1] = base64_url(&forged.to_string());
    assert_eq!(
        tokens.verify(&parts.join("."), TokenKind::Access),
        Err(TokenError::BadSignature)
    );
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[test]
fn rs256_signs_and_verifies() {
    signs_and_verifies(Algorithm::RS256);
}

#[test]
fn es256_signs_and_verifies() {
    signs_and_verifies(Algorithm::ES256);
}

#[test]
fn eddsa_signs_and_verifies() {
    signs_and_verifies(Algorithm::EdDSA);
}

#[test]
fn jwks_members_follow_rfc_7517_and_7518() {
    let rsa = service(
        Algorithm::RS256,
        Some(pem_keys(&test_keys::shared_rsa(), &[])),
    )
    .jwks_json();
    let key = &rsa["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["use"], "sig");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["e"], "AQAB");
    assert!(key["n"].as_str().unwrap().len() >= 342, "2048-bit modulus");
    assert!(key.get("d").is_none(), "no private member");

    let ec = service(Algorithm::ES256, Some(pem_keys(&test_keys::p256(), &[]))).jwks_json();
    let key = &ec["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("EC"), Some("P-256"), Some("ES256"))
    );
    assert_eq!(key["x"].as_str().unwrap().len(), 43);
    assert_eq!(key["y"].as_str().unwrap().len(), 43);
    assert!(key.get("d").is_none());

    let ed = service(Algorithm::EdDSA, Some(pem_keys(&test_keys::ed25519(), &[]))).jwks_json();
    let key = &ed["keys"][0];
    assert_eq!(
        (
            key["kty"].as_str(),
            key["crv"].as_str(),
            key["alg"].as_str()
        ),
        (Some("OKP"), Some("Ed25519"), Some("EdDSA"))
    );
    assert_eq!(key["x"].as_str().unwrap().len(), 43);
    assert!(key.get("d").is_none());
    assert_eq!(key["use"], "sig");
}

#[test]
fn thumbprint_matches_the_rfc_7638_example() {
    let jwk: Jwk = serde_json::from_value(json!({
        "kty": "RSA",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "e": "AQAB",
        "alg": "RS256",
        "kid": "2011-04-29"
    }))
    .unwrap();
    assert_eq!(
        thumbprint(&jwk).unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
}

#[test]
fn a_token_without_kid_or_with_an_unknown_kid_is_refused() {
    let key = test_keys::p256();
    let tokens = service(Algorithm::ES256, Some(pem_keys(&key, &[])));
    let claims = wire_claims(&claims());
    let signing = encoding_key(Algorithm::ES256, &key);

    let no_kid = Header::new(Algorithm::ES256);
    let token = jsonwebtoken::encode(&no_kid, &claims, &signing).unwrap();
    assert_eq!(
        tokens.verify(&token, TokenKind::Access),
        Err(TokenError::BadSignature)
    );

    let mut unknown = Header::new(Algorithm::ES256);
    unknown.kid = Some("not-one-of-ours".into());
    let token = jsonwebtoken::encode(&unknown, &claims, &signing).unwrap();
    assert_eq!(
        tokens.verify(&token, TokenKind::Access),
        Err(TokenError::BadSignature)
    );

    // Signed by a stranger's key of the same type, under our kid.
    let stranger = encoding_key(Algorithm::ES256, &test_keys::p256());
    let mut ours = Header::new(Algorithm::ES256);
    ours.kid = Some(tokens.signing_kid().to_owned());
    let token = jsonwebtoken::encode(&ours, &claims, &stranger).unwrap();
    assert_eq!(
        tokens.verify(&token, TokenKind::Access),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn a_token_signed_with_one_accepted_key_under_another_keys_kid_is_refused() {
    let (old, new) = (test_keys::ed25519(), test_keys::ed25519());
    let tokens = service(Algorithm::EdDSA, Some(pem_keys(&new, &[&old])));
    let old_kid = service(Algorithm::EdDSA, Some(pem_keys(&old, &[])))
        .signing_kid()
        .to_owned();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(tokens.signing_kid().to_owned());
    assert_ne!(old_kid, tokens.signing_kid());
    let token = jsonwebtoken::encode(
        &header,
        &wire_claims(&claims()),
        &encoding_key(Algorithm::EdDSA, &old),
    )
    .unwrap();
    assert_eq!(
        tokens.verify(&token, TokenKind::Access),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn hmac_signed_with_the_public_key_is_refused_by_an_rsa_service() {
    // The classic algorithm confusion: an attacker signs HS256 with the published key.
    let key = test_keys::shared_rsa();
    let tokens = service(Algorithm::RS256, Some(pem_keys(&key, &[])));
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(tokens.signing_kid().to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &wire_claims(&claims()),
        &EncodingKey::from_secret(key.public_pem.as_bytes()),
    )
    .unwrap();
    assert_eq!(
        tokens.verify(&token, TokenKind::Access),
        Err(TokenError::WrongAlgorithm)
    );
}

fn rotation(algorithm: Algorithm) {
    let old = key_pair_for(algorithm);
    let new = match algorithm {
        Algorithm::RS256 => test_keys::rsa(2048),
        _ => key_pair_for(algorithm),
    };
    let before = service(algorithm, Some(pem_keys(&old, &[])));
    let old_token = before.issue(&claims()).unwrap();

    // Step 2: the new key signs; the old public key is still listed.
    let during = service(algorithm, Some(pem_keys(&new, &[&old])));
    assert!(during.verify(&old_token, TokenKind::Access).is_ok());
    let new_token = during.issue(&claims()).unwrap();
    assert!(during.verify(&new_token, TokenKind::Access).is_ok());
    assert_ne!(header_of(&new_token).kid, header_of(&old_token).kid);
    let published: Vec<_> = during
        .jwks()
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect();
    assert_eq!(
        published,
        vec![
            during.signing_kid().to_owned(),
            before.signing_kid().to_owned()
        ],
        "signing key first, then the listed keys"
    );

    // Step 3: the old file is removed from the list: its tokens stop working.
    let after = service(algorithm, Some(pem_keys(&new, &[])));
    assert_eq!(
        after.verify(&old_token, TokenKind::Access),
        Err(TokenError::BadSignature)
    );
    assert!(after.verify(&new_token, TokenKind::Access).is_ok());
}

#[test]
fn rotation_rs256() {
    rotation(Algorithm::RS256);
}

#[test]
fn rotation_es256() {
    rotation(Algorithm::ES256);
}

#[test]
fn rotation_eddsa() {
    rotation(Algorithm::EdDSA);
}

#[test]
fn listing_the_signing_keys_own_public_key_is_harmless() {
    let key = test_keys::p256();
    let tokens = service(Algorithm::ES256, Some(pem_keys(&key, &[&key, &key])));
    assert_eq!(tokens.jwks().keys.len(), 1);
}

fn private_error(algorithm: Algorithm, private_pem: &str) -> String {
    let keys = PemKeys {
        private_key: PemKey::new("private.pem", private_pem),
        public_keys: Vec::new(),
    };
    match setup_error(algorithm, Some(keys)) {
        JwtSetupError::PrivateKey(message) => message,
        other => panic!("expected a private-key error, got {other}"),
    }
}

fn public_error(algorithm: Algorithm, private: &TestKeyPair, public_pem: &str) -> String {
    let keys = PemKeys {
        private_key: PemKey::new("private.pem", private.private_pem.clone()),
        public_keys: vec![PemKey::new("old.pem", public_pem)],
    };
    match setup_error(algorithm, Some(keys)) {
        JwtSetupError::PublicKey { file, message } => {
            assert_eq!(file, "old.pem");
            message
        }
        other => panic!("expected a public-key error, got {other}"),
    }
}

#[test]
fn a_private_key_of_the_wrong_type_curve_or_size_is_refused() {
    let ec = test_keys::p256();
    let ed = test_keys::ed25519();
    let rsa = test_keys::shared_rsa();

    let message = private_error(Algorithm::RS256, &ec.private_pem);
    assert!(
        message.starts_with("private.pem: not an RSA private key"),
        "{message}"
    );
    let message = private_error(Algorithm::ES256, &rsa.private_pem);
    assert!(message.contains("not an EC P-256"), "{message}");
    let message = private_error(Algorithm::EdDSA, &ec.private_pem);
    assert!(message.contains("not an Ed25519 private key"), "{message}");
    let message = private_error(Algorithm::ES256, &ed.private_pem);
    assert!(message.contains("not an EC P-256"), "{message}");
    let message = private_error(Algorithm::ES256, &test_keys::p384().private_pem);
    assert!(message.contains("P-256"), "{message}");
    let message = private_error(Algorithm::RS256, &test_keys::rsa(1024).private_pem);
    assert!(
        message.contains("1024-bit") && message.contains("2048"),
        "{message}"
    );
    // A public key where the private key belongs, and plain garbage.
    let message = private_error(Algorithm::EdDSA, &ed.public_pem);
    assert!(message.contains("not an Ed25519 private key"), "{message}");
    let message = private_error(Algorithm::RS256, "not a key at all");
    assert!(message.contains("not an RSA private key"), "{message}");
    let message = private_error(Algorithm::ES256, "");
    assert!(message.contains("PEM"), "{message}");
    // The message never contains key material.
    let message = private_error(Algorithm::RS256, &ec.private_pem);
    let body_line = ec.private_pem.lines().nth(1).unwrap();
    assert!(!message.contains(body_line));
}

#[test]
fn a_public_key_of_the_wrong_type_or_curve_is_refused() {
    let rsa = test_keys::shared_rsa();
    let ec = test_keys::p256();
    let ed = test_keys::ed25519();

    let message = public_error(Algorithm::RS256, &rsa, &ec.public_pem);
    assert!(message.contains("not an RSA public key"), "{message}");
    let message = public_error(Algorithm::ES256, &ec, &test_keys::p384().public_pem);
    assert!(message.contains("P-256"), "{message}");
    let message = public_error(Algorithm::EdDSA, &ed, &ec.public_pem);
    assert!(message.contains("not an Ed25519 public key"), "{message}");
    // A private key where a public key belongs.
    let message = public_error(Algorithm::RS256, &rsa, &rsa.private_pem);
    assert!(message.contains("not an RSA public key"), "{message}");
    let message = public_error(Algorithm::ES256, &ec, &ec.private_pem);
    assert!(message.contains("not an EC P-256"), "{message}");
    let message = public_error(
        Algorithm::EdDSA,
        &ed,
        "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n",
    );
    assert!(message.contains("not an Ed25519 public key"), "{message}");
}

#[test]
fn hmac_with_key_files_and_asymmetric_without_a_private_key_are_refused() {
    let key = test_keys::p256();
    assert!(matches!(
        setup_error(Algorithm::HS256, Some(pem_keys(&key, &[]))),
        JwtSetupError::KeysWithHmac(Algorithm::HS256)
    ));
    assert!(matches!(
        setup_error(Algorithm::ES256, None),
        JwtSetupError::MissingPrivateKey(Algorithm::ES256)
    ));
    let mut short = settings(Algorithm::HS256, None);
    short.secret = b"too short".to_vec();
    assert!(matches!(
        JwtTokenService::new(short, Arc::new(SystemClock)),
        Err(JwtSetupError::ShortSecret(9))
    ));
}

#[test]
fn debug_output_shows_no_key_material() {
    let key = test_keys::p256();
    let settings = settings(Algorithm::ES256, Some(pem_keys(&key, &[&key])));
    let shown = format!("{settings:?}");
    let body_line = key.private_pem.lines().nth(1).unwrap();
    assert!(!shown.contains(body_line), "{shown}");
    assert!(shown.contains("private.pem"));
}

#[test]
fn correctly_signed_tokens_with_extreme_claims_are_refused_without_panicking() {
    // What the `verify_token` fuzz target explores: a valid signature over odd claims.
    let tokens = service(Algorithm::HS256, None);
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(tokens.signing_kid().to_owned());
    let key = EncodingKey::from_secret(SECRET);
    let base = wire_claims(&claims());
    let cases = [
        ("exp", json!(i64::MAX)),
        ("exp", json!(i64::MIN)),
        ("iat", json!(i64::MAX)),
        ("iat", json!(i64::MIN)),
        ("nbf", json!(i64::MAX)),
        ("exp", json!(u64::MAX)),
        ("exp", json!(1e300)),
        ("exp", json!("soon")),
        ("sub", json!("not-a-uuid")),
        ("token_type", json!("ACCESS")),
        ("iss", json!(null)),
    ];
    for (claim, value) in cases {
        let mut forged = base.clone();
        forged[claim] = value.clone();
        let token = jsonwebtoken::encode(&header, &forged, &key).unwrap();
        let verdict = tokens.verify(&token, TokenKind::Access);
        // An iat outside chrono's range cannot be represented: refused as malformed.
        assert!(verdict.is_err(), "{claim} = {value} was accepted");
    }
}
