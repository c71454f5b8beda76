//! Forging and taking apart JWTs the way an attacker (or a test) would.

use chrono::Utc;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::support::{ISSUER, SECRET};

/// The claims exactly as the server writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub sid: String,
    pub jti: String,
    pub token_type: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub iss: String,
}

pub fn now() -> i64 {
    Utc::now().timestamp()
}

impl Claims {
    /// A fresh access token's claims for `sub` in session `sid`, valid for 15 minutes.
    pub fn access(sub: &str, sid: &str) -> Self {
        let now = now();
        Self {
            sub: sub.to_owned(),
            sid: sid.to_owned(),
            jti: Uuid::new_v4().to_string(),
            token_type: "access".into(),
            iat: now,
            nbf: now,
            exp: now + 900,
            iss: ISSUER.into(),
        }
    }

    /// Fresh access claims for the user and session of a real token.
    pub fn access_like(real_token: &str) -> Self {
        let real = decode(real_token);
        Self::access(&real.sub, &real.sid)
    }
}

/// The claims of a token, signature not checked.
pub fn decode(token: &str) -> Claims {
    jsonwebtoken::dangerous::insecure_decode_claims(token).expect("token claims decode")
}

/// Signs `claims` with `algorithm` and `secret`.
/// Under the test server's `kid` (HS256 with [`SECRET`]), so that only the key, the
/// algorithm or the claims differ from a real token.
pub fn sign_with(claims: &Claims, algorithm: Algorithm, secret: &[u8]) -> String {
    let mut header = Header::new(algorithm);
    header.typ = Some("JWT".into());
    header.kid = Some(
        auth_infra::jwt::KeyRing::hmac(Algorithm::HS256, SECRET.as_bytes())
            .expect("key ring")
            .signing_kid()
            .to_owned(),
    );
    encode(&header, claims, &EncodingKey::from_secret(secret)).expect("token signs")
}

/// Signs `claims` exactly as the test server would (HS256, [`SECRET`]).
pub fn sign(claims: &Claims) -> String {
    sign_with(claims, Algorithm::HS256, SECRET.as_bytes())
}

/// base64url without padding (RFC 7515 §2).
pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let symbols = chunk.len() + 1;
        for i in 0..symbols {
            let index = (n >> (18 - 6 * i)) & 0x3f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

fn segment(value: &impl Serialize) -> String {
    base64url(&serde_json::to_vec(value).expect("JSON"))
}

/// An unsecured JWT (`alg: none`, empty signature) carrying `claims`.
pub fn unsigned(claims: &Claims) -> String {
    let header = serde_json::json!({ "alg": "none", "typ": "JWT" });
    format!("{}.{}.", segment(&header), segment(claims))
}

/// `token` with its payload replaced by `claims`, header and signature kept.
pub fn with_payload(token: &str, claims: &Claims) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS compact token");
    format!("{}.{}.{}", parts[0], segment(claims), parts[2])
}

/// `token` with one character in the middle of its payload segment changed.
pub fn flip_payload_char(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS compact token");
    let mut payload: Vec<char> = parts[1].chars().collect();
    let middle = payload.len() / 2;
    payload[middle] = if payload[middle] == 'A' { 'B' } else { 'A' };
    let payload: String = payload.into_iter().collect();
    format!("{}.{}.{}", parts[0], payload, parts[2])
}

#[test]
fn base64url_matches_rfc_4648_vectors() {
    for (raw, encoded) in [
        ("", ""),
        ("f", "Zg"),
        ("fo", "Zm8"),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg"),
        ("fooba", "Zm9vYmE"),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(base64url(raw.as_bytes()), encoded);
    }
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
}

#[test]
fn unsigned_token_decodes_to_its_claims() {
    let claims = Claims::access(&Uuid::new_v4().to_string(), &Uuid::new_v4().to_string());
    let token = unsigned(&claims);
    assert!(token.ends_with('.'));
    assert_eq!(decode(&token), claims);
    let header = jsonwebtoken::decode_header(sign(&claims)).expect("header");
    assert_eq!(header.alg, Algorithm::HS256);
}

/// Signs `claims` (any JSON) under a header of the test's own making (any JSON, e.g. with
/// `crit`), with HS256 and [`SECRET`]: a token only the header's contents can get refused.
pub fn sign_with_header(header: &serde_json::Value, claims: &impl Serialize) -> String {
    let message = format!("{}.{}", segment(header), segment(claims));
    let signature = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
        Algorithm::HS256,
    )
    .expect("token signs");
    format!("{message}.{signature}")
}

/// The `kid` of the test server's tokens.
pub fn test_kid() -> String {
    auth_infra::jwt::KeyRing::hmac(Algorithm::HS256, SECRET.as_bytes())
        .expect("key ring")
        .signing_kid()
        .to_owned()
}
