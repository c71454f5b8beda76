//! `JwtTokenService::verify` on attacker-controlled input, for every supported algorithm.
//!
//! The first byte picks the service (HS256, ES256, EdDSA, RS256) and the mode:
//! - raw: the rest, as text, is the token;
//! - claims: the rest is the payload of a token correctly signed by the service's own key,
//!   with a valid header (what a confused or compromised signer could produce);
//! - header: the rest is the header of a correctly signed token with valid claims.
//!
//! Invariants: no panic; a token accepted as one kind is refused as the other.
#![no_main]

use std::sync::{Arc, LazyLock};

use auth_domain::ports::{TokenError, TokenService};
use auth_domain::TokenKind;
use auth_infra::jwt::{Algorithm, JwtSettings, JwtTokenService, PemKey, PemKeys};
use auth_infra::{test_keys, SystemClock};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::EncodingKey;
use libfuzzer_sys::fuzz_target;

struct Signer {
    algorithm: Algorithm,
    service: JwtTokenService,
    key: EncodingKey,
    /// Whether signing is cheap enough to do on every input (not RSA).
    fast: bool,
}

fn signer(algorithm: Algorithm) -> Signer {
    let (pair, key) = match algorithm {
        Algorithm::HS256 => {
            let secret = b"fuzzing-secret-0123456789-abcdefghijklmn".to_vec();
            let settings = settings(algorithm, secret.clone(), None);
            return Signer {
                algorithm,
                service: JwtTokenService::new(settings, Arc::new(SystemClock)).unwrap(),
                key: EncodingKey::from_secret(&secret),
                fast: true,
            };
        }
        Algorithm::ES256 => {
            let pair = test_keys::p256();
            let key = EncodingKey::from_ec_pem(pair.private_pem.as_bytes()).unwrap();
            (pair, key)
        }
        Algorithm::EdDSA => {
            let pair = test_keys::ed25519();
            let key = EncodingKey::from_ed_pem(pair.private_pem.as_bytes()).unwrap();
            (pair, key)
        }
        _ => {
            let pair = test_keys::rsa(2048);
            let key = EncodingKey::from_rsa_pem(pair.private_pem.as_bytes()).unwrap();
            (pair, key)
        }
    };
    let keys = PemKeys {
        private_key: PemKey::new("fuzz.pem", pair.private_pem.clone()),
        public_keys: Vec::new(),
    };
    Signer {
        algorithm,
        service: JwtTokenService::new(
            settings(algorithm, Vec::new(), Some(keys)),
            Arc::new(SystemClock),
        )
        .unwrap(),
        key,
        fast: algorithm != Algorithm::RS256,
    }
}

fn settings(algorithm: Algorithm, secret: Vec<u8>, key_pair: Option<PemKeys>) -> JwtSettings {
    JwtSettings {
        algorithm,
        secret,
        issuer: "auth-server".into(),
        audience: None,
        leeway_secs: 0,
        key_pair,
    }
}

static SIGNERS: LazyLock<Vec<Signer>> = LazyLock::new(|| {
    [
        Algorithm::HS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::RS256,
    ]
    .into_iter()
    .map(signer)
    .collect()
});

fn signed(signer: &Signer, header: &[u8], payload: &[u8]) -> String {
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &signer.key, signer.algorithm).unwrap();
    format!("{message}.{signature}")
}

fn valid_header(signer: &Signer) -> Vec<u8> {
    let alg = match signer.algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::ES256 => "ES256",
        Algorithm::EdDSA => "EdDSA",
        _ => "RS256",
    };
    format!(
        r#"{{"typ":"JWT","alg":"{alg}","kid":"{}"}}"#,
        signer.service.signing_kid()
    )
    .into_bytes()
}

fn valid_claims() -> Vec<u8> {
    let now = chrono::Utc::now().timestamp();
    format!(
        r#"{{"sub":"{}","sid":"{}","jti":"{}","token_type":"access","iat":{now},"nbf":{now},"exp":{},"iss":"auth-server"}}"#,
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        uuid::Uuid::new_v4(),
        now + 900
    )
    .into_bytes()
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let signers = &*SIGNERS;
    let signer = &signers[usize::from(selector >> 2) % signers.len()];
    let token = match selector & 3 {
        1 if signer.fast => signed(signer, &valid_header(signer), rest),
        2 if signer.fast => signed(signer, rest, &valid_claims()),
        _ => String::from_utf8_lossy(rest).into_owned(),
    };
    let access = signer.service.verify(&token, TokenKind::Access);
    let refresh = signer.service.verify(&token, TokenKind::Refresh);
    if access.is_ok() {
        assert_eq!(refresh, Err(TokenError::WrongKind));
    }
    if refresh.is_ok() {
        assert_eq!(access, Err(TokenError::WrongKind));
    }
});
