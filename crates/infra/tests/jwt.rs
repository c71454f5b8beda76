//! The `TokenService::verify` contract (auth_domain::ports) checked against
//! `JwtTokenService`, with a fixed clock and tokens forged by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use auth_domain::ports::{Clock, TokenError, TokenService};
use auth_domain::{Claims, SessionId, TokenKind, UserId};
use auth_infra::{JwtSettings, JwtTokenService};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use uuid::Uuid;

const SECRET: &[u8] = b"test-secret-0123456789-abcdefghijklmnop";
const OTHER_SECRET: &[u8] = b"another-secret-0123456789-abcdefghijklm";
const ISSUER: &str = "auth-server-test";
const AUDIENCE: &str = "auth-api-test";

/// A clock that always reads the same time.
struct FixedClock(DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The fixed "now" of every test, a whole second.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).expect("timestamp")
}

fn settings(audience: Option<&str>, leeway_secs: u64) -> JwtSettings {
    JwtSettings {
        algorithm: Algorithm::HS256,
        secret: SECRET.to_vec(),
        issuer: ISSUER.into(),
        audience: audience.map(str::to_owned),
        leeway_secs,
        key_pair: None,
    }
}

fn service_with(settings: JwtSettings, at: DateTime<Utc>) -> JwtTokenService {
    JwtTokenService::new(settings, Arc::new(FixedClock(at))).expect("token service")
}

/// HS256, no audience, no leeway, clock at `now()`.
fn service() -> JwtTokenService {
    service_with(settings(None, 0), now())
}

fn claims(kind: TokenKind) -> Claims {
    Claims {
        amr: auth_domain::Amr::password(),
        auth_time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
        kind,
        subject: UserId::new(),
        session_id: SessionId::new(),
        token_id: Uuid::new_v4(),
        issued_at: now() - TimeDelta::seconds(5),
        expires_at: now() + TimeDelta::minutes(15),
    }
}

/// The claims auth-server issues, as JSON, for an access token valid from `now() - 5 s` to
/// `now() + 15 min`.
fn wire(kind: &str) -> Value {
    let at = now().timestamp();
    json!({
        "sub": Uuid::new_v4(),
        "sid": Uuid::new_v4(),
        "jti": Uuid::new_v4(),
        "token_type": kind,
        "iat": at - 5,
        "nbf": at - 5,
        "exp": at + 900,
        "iss": ISSUER,
    })
}

/// `wire("access")` with `key` set to `value`.
fn wire_with(key: &str, value: Value) -> Value {
    let mut claims = wire("access");
    claims[key] = value;
    claims
}

/// `wire("access")` without `key`.
fn wire_without(key: &str) -> Value {
    let mut claims = wire("access");
    claims.as_object_mut().expect("object").remove(key);
    claims
}

/// The `kid` the service puts on its tokens (HS256 with [`SECRET`]).
fn service_kid() -> String {
    auth_infra::jwt::KeyRing::hmac(Algorithm::HS256, SECRET)
        .expect("key ring")
        .signing_kid()
        .to_owned()
}

/// Signed with `algorithm` and `secret`, under the service's own `kid`, so that only what
/// the test changes (the key, the algorithm, the claims) differs from a real token.
fn sign(claims: &Value, algorithm: Algorithm, secret: &[u8]) -> String {
    let mut header = Header::new(algorithm);
    header.typ = Some("JWT".into());
    header.kid = Some(service_kid());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(secret)).expect("sign")
}

/// Signed with the service's own algorithm and secret.
fn forge(claims: &Value) -> String {
    sign(claims, Algorithm::HS256, SECRET)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn refusal(service: &JwtTokenService, token: &str, expected: TokenKind) -> TokenError {
    match service.verify(token, expected) {
        Ok(claims) => panic!("token accepted: {claims:?}"),
        Err(error) => error,
    }
}

// ---------------------------------------------------------------------------------------------
// Accepted tokens
// ---------------------------------------------------------------------------------------------

#[test]
fn issue_then_verify_round_trips_claims() {
    for audience in [None, Some(AUDIENCE)] {
        let service = service_with(settings(audience, 0), now());
        for kind in [TokenKind::Access, TokenKind::Refresh] {
            let claims = claims(kind);
            let token = service.issue(&claims).expect("issue");
            assert_eq!(service.verify(&token, kind), Ok(claims));
        }
    }
}

#[test]
fn issued_token_carries_configured_header_and_claims() {
    let service = service_with(settings(Some(AUDIENCE), 0), now());
    let claims = claims(TokenKind::Refresh);
    let token = service.issue(&claims).expect("issue");
    let header = jsonwebtoken::decode_header(&token).expect("header");
    assert_eq!(header.alg, Algorithm::HS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let payload: Value =
        jsonwebtoken::dangerous::insecure_decode_claims(&token).expect("payload decodes");
    assert_eq!(payload["iss"], ISSUER);
    assert_eq!(payload["aud"], AUDIENCE);
    assert_eq!(payload["token_type"], "refresh");
    assert_eq!(payload["sub"], claims.subject.0.to_string());
    assert_eq!(payload["sid"], claims.session_id.0.to_string());
    assert_eq!(payload["jti"], claims.token_id.to_string());
    assert_eq!(payload["iat"], claims.issued_at.timestamp());
    assert_eq!(payload["exp"], claims.expires_at.timestamp());
}

/// The forging helpers produce tokens the service accepts, so every refusal below is due to
/// the one thing each test changes.
#[test]
fn forged_token_with_issued_claims_is_accepted() {
    let claims = wire("access");
    let verified = service()
        .verify(&forge(&claims), TokenKind::Access)
        .expect("accepted");
    assert_eq!(verified.subject.0.to_string(), claims["sub"]);
    assert_eq!(verified.session_id.0.to_string(), claims["sid"]);
    assert_eq!(verified.token_id.to_string(), claims["jti"]);
    assert_eq!(verified.issued_at.timestamp(), claims["iat"]);
    assert_eq!(verified.expires_at.timestamp(), claims["exp"]);

    let with_audience = service_with(settings(Some(AUDIENCE), 0), now());
    let claims = wire_with("aud", json!(AUDIENCE));
    assert!(with_audience
        .verify(&forge(&claims), TokenKind::Access)
        .is_ok());
}

// ---------------------------------------------------------------------------------------------
// Kind
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_kind_is_refused() {
    let service = service();
    let access = service.issue(&claims(TokenKind::Access)).expect("issue");
    let refresh = service.issue(&claims(TokenKind::Refresh)).expect("issue");
    assert_eq!(
        refusal(&service, &access, TokenKind::Refresh),
        TokenError::WrongKind
    );
    assert_eq!(
        refusal(&service, &refresh, TokenKind::Access),
        TokenError::WrongKind
    );
}

#[test]
fn unknown_token_type_is_refused_as_wrong_kind() {
    let service = service();
    for kind in ["id", "Access", "ACCESS", ""] {
        let token = forge(&wire(kind));
        assert_eq!(
            refusal(&service, &token, TokenKind::Access),
            TokenError::WrongKind,
            "token_type {kind:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Time
// ---------------------------------------------------------------------------------------------

#[test]
fn expired_token_is_refused() {
    let at = now().timestamp();
    let service = service();
    // exp == now counts as expired (RFC 7519 §4.1.4: "on or after").
    for exp in [at, at - 1, at - 3600] {
        let token = forge(&wire_with("exp", json!(exp)));
        assert_eq!(
            refusal(&service, &token, TokenKind::Access),
            TokenError::Expired,
            "exp = now {:+}",
            exp - at
        );
    }
    let token = forge(&wire_with("exp", json!(at + 1)));
    assert!(service.verify(&token, TokenKind::Access).is_ok());
}

#[test]
fn issued_token_expires_at_its_expiry() {
    let issuer = service();
    let claims = claims(TokenKind::Access);
    let token = issuer.issue(&claims).expect("issue");
    let just_before = service_with(settings(None, 0), claims.expires_at - TimeDelta::seconds(1));
    assert!(just_before.verify(&token, TokenKind::Access).is_ok());
    let at_expiry = service_with(settings(None, 0), claims.expires_at);
    assert_eq!(
        refusal(&at_expiry, &token, TokenKind::Access),
        TokenError::Expired
    );
}

#[test]
fn leeway_accepts_recently_expired_token() {
    let at = now().timestamp();
    let service = service_with(settings(None, 30), now());
    for exp in [at - 10, at - 29] {
        let token = forge(&wire_with("exp", json!(exp)));
        assert!(
            service.verify(&token, TokenKind::Access).is_ok(),
            "exp = now {:+} within 30 s leeway",
            exp - at
        );
    }
    for exp in [at - 30, at - 31, at - 3600] {
        let token = forge(&wire_with("exp", json!(exp)));
        assert_eq!(
            refusal(&service, &token, TokenKind::Access),
            TokenError::Expired,
            "exp = now {:+} beyond 30 s leeway",
            exp - at
        );
    }
}

#[test]
fn not_yet_valid_token_is_refused() {
    let at = now().timestamp();
    let service = service();
    for nbf in [at + 1, at + 3600] {
        let token = forge(&wire_with("nbf", json!(nbf)));
        assert_eq!(
            refusal(&service, &token, TokenKind::Access),
            TokenError::NotYetValid,
            "nbf = now {:+}",
            nbf - at
        );
    }
    let token = forge(&wire_with("nbf", json!(at)));
    assert!(service.verify(&token, TokenKind::Access).is_ok());

    let lenient = service_with(settings(None, 30), now());
    let token = forge(&wire_with("nbf", json!(at + 10)));
    assert!(lenient.verify(&token, TokenKind::Access).is_ok());
    let token = forge(&wire_with("nbf", json!(at + 31)));
    assert_eq!(
        refusal(&lenient, &token, TokenKind::Access),
        TokenError::NotYetValid
    );
}

// ---------------------------------------------------------------------------------------------
// Signature and algorithm
// ---------------------------------------------------------------------------------------------

#[test]
fn token_signed_with_other_secret_is_refused() {
    let token = sign(&wire("access"), Algorithm::HS256, OTHER_SECRET);
    assert_eq!(
        refusal(&service(), &token, TokenKind::Access),
        TokenError::BadSignature
    );

    let other_service = JwtTokenService::new(
        JwtSettings {
            secret: OTHER_SECRET.to_vec(),
            ..settings(None, 0)
        },
        Arc::new(FixedClock(now())),
    )
    .expect("service");
    let token = other_service
        .issue(&claims(TokenKind::Access))
        .expect("issue");
    assert_eq!(
        refusal(&service(), &token, TokenKind::Access),
        TokenError::BadSignature
    );
}

#[test]
fn tampered_token_is_refused() {
    let service = service();
    let token = service.issue(&claims(TokenKind::Access)).expect("issue");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);

    // Payload replaced by other, well-formed claims (another user), signature kept.
    let mut payload: Value =
        jsonwebtoken::dangerous::insecure_decode_claims(&token).expect("payload");
    payload["sub"] = json!(Uuid::new_v4());
    let swapped = format!(
        "{}.{}.{}",
        parts[0],
        b64(payload.to_string().as_bytes()),
        parts[2]
    );
    let error = refusal(&service, &swapped, TokenKind::Access);
    assert!(
        matches!(error, TokenError::BadSignature | TokenError::Malformed),
        "got {error:?}"
    );

    // A payload grafted from another valid token of the same service.
    let donor = service.issue(&claims(TokenKind::Access)).expect("issue");
    let donor_payload = donor.split('.').nth(1).expect("payload");
    let grafted = format!("{}.{}.{}", parts[0], donor_payload, parts[2]);
    assert_eq!(
        refusal(&service, &grafted, TokenKind::Access),
        TokenError::BadSignature
    );

    // One signature character changed.
    let mut signature = parts[2].to_owned();
    let last = signature.pop().expect("non-empty");
    signature.push(if last == 'A' { 'B' } else { 'A' });
    let flipped = format!("{}.{}.{}", parts[0], parts[1], signature);
    let error = refusal(&service, &flipped, TokenKind::Access);
    assert!(
        matches!(error, TokenError::BadSignature | TokenError::Malformed),
        "got {error:?}"
    );

    // Signature stripped.
    let unsigned = format!("{}.{}.", parts[0], parts[1]);
    let error = refusal(&service, &unsigned, TokenKind::Access);
    assert!(
        matches!(error, TokenError::BadSignature | TokenError::Malformed),
        "got {error:?}"
    );
}

#[test]
fn other_algorithm_is_refused() {
    let claims = wire("access");
    // HS512 (and HS384) with the right secret against an HS256 service.
    for algorithm in [Algorithm::HS512, Algorithm::HS384] {
        let token = sign(&claims, algorithm, SECRET);
        assert_eq!(
            refusal(&service(), &token, TokenKind::Access),
            TokenError::WrongAlgorithm,
            "{algorithm:?}"
        );
    }

    // HS256 against an HS512 service.
    let hs512 = service_with(
        JwtSettings {
            algorithm: Algorithm::HS512,
            ..settings(None, 0)
        },
        now(),
    );
    let token = forge(&claims);
    assert_eq!(
        refusal(&hs512, &token, TokenKind::Access),
        TokenError::WrongAlgorithm
    );
    // ... which accepts its own.
    let own = sign(&claims, Algorithm::HS512, SECRET);
    assert!(hs512.verify(&own, TokenKind::Access).is_ok());

    // An asymmetric algorithm named in the header, HMAC signature.
    let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
    let signed = forge(&claims);
    let rest: Vec<&str> = signed.split('.').collect();
    let token = format!("{header}.{}.{}", rest[1], rest[2]);
    assert_eq!(
        refusal(&service(), &token, TokenKind::Access),
        TokenError::WrongAlgorithm
    );
}

#[test]
fn alg_none_token_is_refused() {
    let payload = b64(wire("access").to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#).as_bytes());
        for token in [
            format!("{header}.{payload}."),
            format!("{header}.{payload}"),
            format!("{header}.{payload}.{}", b64(b"x")),
        ] {
            let error = refusal(&service(), &token, TokenKind::Access);
            assert!(
                matches!(error, TokenError::WrongAlgorithm | TokenError::Malformed),
                "alg {alg:?}: got {error:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Issuer and audience
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_issuer_is_refused() {
    let service = service();
    for issuer in [json!("someone-else"), json!(""), json!("AUTH-SERVER-TEST")] {
        let token = forge(&wire_with("iss", issuer.clone()));
        assert_eq!(
            refusal(&service, &token, TokenKind::Access),
            TokenError::WrongIssuerOrAudience,
            "iss {issuer}"
        );
    }
    // A token from a service with another issuer, same secret.
    let other = service_with(
        JwtSettings {
            issuer: "other-issuer".into(),
            ..settings(None, 0)
        },
        now(),
    );
    let token = other.issue(&claims(TokenKind::Access)).expect("issue");
    assert_eq!(
        refusal(&service, &token, TokenKind::Access),
        TokenError::WrongIssuerOrAudience
    );
}

#[test]
fn missing_issuer_is_refused() {
    let token = forge(&wire_without("iss"));
    let error = refusal(&service(), &token, TokenKind::Access);
    assert!(
        matches!(
            error,
            TokenError::Malformed | TokenError::WrongIssuerOrAudience
        ),
        "got {error:?}"
    );
}

#[test]
fn configured_audience_refuses_other_audience() {
    let service = service_with(settings(Some(AUDIENCE), 0), now());
    for audience in ["someone-else", "", "AUTH-API-TEST"] {
        let token = forge(&wire_with("aud", json!(audience)));
        assert_eq!(
            refusal(&service, &token, TokenKind::Access),
            TokenError::WrongIssuerOrAudience,
            "aud {audience:?}"
        );
    }
    // Issued by a service configured with another audience, same secret and issuer.
    let other = service_with(settings(Some("other-audience"), 0), now());
    let token = other.issue(&claims(TokenKind::Access)).expect("issue");
    assert_eq!(
        refusal(&service, &token, TokenKind::Access),
        TokenError::WrongIssuerOrAudience
    );
}

#[test]
fn configured_audience_refuses_token_without_audience() {
    let service = service_with(settings(Some(AUDIENCE), 0), now());
    let token = forge(&wire("access")); // no `aud`
    let error = refusal(&service, &token, TokenKind::Access);
    assert!(
        matches!(
            error,
            TokenError::WrongIssuerOrAudience | TokenError::Malformed
        ),
        "got {error:?}"
    );
    // Issued by a service configured without audience, same secret and issuer.
    let token = self::service()
        .issue(&claims(TokenKind::Access))
        .expect("issue");
    let error = refusal(&service, &token, TokenKind::Access);
    assert!(
        matches!(
            error,
            TokenError::WrongIssuerOrAudience | TokenError::Malformed
        ),
        "got {error:?}"
    );
}

/// No audience configured: a token addressed to some audience is not for this service.
#[test]
fn unconfigured_audience_refuses_token_with_audience() {
    let token = forge(&wire_with("aud", json!("some-other-api")));
    assert_eq!(
        refusal(&service(), &token, TokenKind::Access),
        TokenError::WrongIssuerOrAudience
    );
}

// ---------------------------------------------------------------------------------------------
// Shape and claims
// ---------------------------------------------------------------------------------------------

#[test]
fn payload_missing_sid_is_malformed() {
    let token = forge(&wire_without("sid"));
    assert_eq!(
        refusal(&service(), &token, TokenKind::Access),
        TokenError::Malformed
    );
}

#[test]
fn payload_missing_any_issued_claim_is_malformed() {
    for claim in ["sub", "sid", "jti", "token_type", "iat", "nbf", "exp"] {
        let token = forge(&wire_without(claim));
        assert_eq!(
            refusal(&service(), &token, TokenKind::Access),
            TokenError::Malformed,
            "without {claim}"
        );
    }
}

#[test]
fn claims_of_the_wrong_type_are_malformed() {
    let cases = [
        ("sub", json!("not-a-uuid")),
        ("sub", json!(42)),
        ("sid", json!("")),
        ("jti", json!(null)),
        ("exp", json!("tomorrow")),
        ("exp", json!(1.8e9)),
        ("iat", json!(null)),
        ("nbf", json!([1])),
        ("token_type", json!(1)),
    ];
    for (claim, value) in cases {
        let token = forge(&wire_with(claim, value.clone()));
        assert_eq!(
            refusal(&service(), &token, TokenKind::Access),
            TokenError::Malformed,
            "{claim} = {value}"
        );
    }
}

#[test]
fn out_of_range_times_are_refused() {
    // Far beyond what a date can hold: must not be accepted (nor panic).
    let token = forge(&wire_with("exp", json!(i64::MAX)));
    assert!(service().verify(&token, TokenKind::Access).is_err());
    let token = forge(&wire_with("iat", json!(i64::MIN)));
    assert!(service().verify(&token, TokenKind::Access).is_err());
}

#[test]
fn not_a_jwt_is_malformed() {
    let service = service();
    let header = b64(
        json!({ "alg": "HS256", "typ": "JWT", "kid": service_kid() })
            .to_string()
            .as_bytes(),
    );
    let cases = [
        String::new(),
        "garbage".into(),
        "a.b".into(),
        "a.b.c".into(),
        "a.b.c.d".into(),
        "...".into(),
        format!("{header}.{}", b64(b"{}")),
        format!("{}.{}.abc", b64(b"not json"), b64(b"{}")),
        format!("{}.{}.abc", b64(b"{}"), b64(b"{}")),
    ];
    for token in cases {
        assert_eq!(
            refusal(&service, &token, TokenKind::Access),
            TokenError::Malformed,
            "token {token:?}"
        );
    }
    // A well-formed header but an unreadable payload and a bogus signature: either refusal
    // describes it (the signature is checked before the payload is read).
    for token in [
        format!("{header}.!!!.abc"),
        format!("{header}.{}.abc", b64(b"not json")),
        format!("{header}.{}.abc", b64(b"[1,2,3]")),
    ] {
        let error = refusal(&service, &token, TokenKind::Access);
        assert!(
            matches!(error, TokenError::Malformed | TokenError::BadSignature),
            "token {token:?}: got {error:?}"
        );
    }
    // A payload that is not JSON, correctly signed.
    let signed_garbage = {
        let signing_input = format!("{header}.{}", b64(b"not json"));
        let key = EncodingKey::from_secret(SECRET);
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &key, Algorithm::HS256)
                .expect("sign");
        format!("{signing_input}.{signature}")
    };
    assert_eq!(
        refusal(&service, &signed_garbage, TokenKind::Access),
        TokenError::Malformed
    );
}

// ---------------------------------------------------------------------------------------------
// Setup
// ---------------------------------------------------------------------------------------------

#[test]
fn short_secret_is_refused_at_setup() {
    for length in [0, 1, 16, 31] {
        let outcome = JwtTokenService::new(
            JwtSettings {
                secret: vec![b'k'; length],
                ..settings(None, 0)
            },
            Arc::new(FixedClock(now())),
        );
        assert!(outcome.is_err(), "{length}-byte secret accepted");
    }
    assert!(JwtTokenService::new(
        JwtSettings {
            secret: vec![b'k'; 32],
            ..settings(None, 0)
        },
        Arc::new(FixedClock(now())),
    )
    .is_ok());
}

#[test]
fn settings_debug_hides_the_secret() {
    let shown = format!("{:?}", settings(Some(AUDIENCE), 0));
    assert!(!shown.contains("test-secret"), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// The verified-token cache (`with_verified_cache`)
// ---------------------------------------------------------------------------------------------

/// A clock the test moves.
struct MovableClock(std::sync::Mutex<DateTime<Utc>>);

impl Clock for MovableClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

fn cached_service(leeway_secs: u64) -> (JwtTokenService, Arc<MovableClock>) {
    let clock = Arc::new(MovableClock(std::sync::Mutex::new(now())));
    let service = JwtTokenService::new(settings(None, leeway_secs), clock.clone())
        .expect("token service")
        .with_verified_cache(2);
    (service, clock)
}

#[test]
fn a_cached_token_still_expires_on_time() {
    let (service, clock) = cached_service(3);
    let issued = claims(TokenKind::Access);
    let token = service.issue(&issued).unwrap();
    for _ in 0..3 {
        assert_eq!(service.verify(&token, TokenKind::Access).unwrap(), issued);
    }
    // Within the leeway after exp: still accepted; at exp + leeway: refused, cached or not.
    *clock.0.lock().unwrap() = issued.expires_at + TimeDelta::seconds(2);
    assert!(service.verify(&token, TokenKind::Access).is_ok());
    *clock.0.lock().unwrap() = issued.expires_at + TimeDelta::seconds(3);
    assert_eq!(
        service.verify(&token, TokenKind::Access).unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(
        service.verify(&token, TokenKind::Access).unwrap_err(),
        TokenError::Expired
    );
}

#[test]
fn the_cache_keeps_refusing_what_verification_refuses() {
    let (service, _) = cached_service(0);
    let token = service.issue(&claims(TokenKind::Access)).unwrap();
    assert!(service.verify(&token, TokenKind::Access).is_ok());
    // The same token as another kind, and any other bytes (a flipped signature character,
    // a forgery with another key), are judged as without the cache.
    assert_eq!(
        service.verify(&token, TokenKind::Refresh).unwrap_err(),
        TokenError::WrongKind
    );
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert!(service.verify(&tampered, TokenKind::Access).is_err());
    let forged = sign(&wire("access"), Algorithm::HS256, OTHER_SECRET);
    assert_eq!(
        service.verify(&forged, TokenKind::Access).unwrap_err(),
        TokenError::BadSignature
    );
    // Refresh tokens verify as before (they are not kept: each is used once).
    let refresh = service.issue(&claims(TokenKind::Refresh)).unwrap();
    assert!(service.verify(&refresh, TokenKind::Refresh).is_ok());
    assert_eq!(
        service.verify(&refresh, TokenKind::Access).unwrap_err(),
        TokenError::WrongKind
    );
    // Past its capacity the cache starts over, and every token still verifies.
    let tokens: Vec<String> = (0..5)
        .map(|_| service.issue(&claims(TokenKind::Access)).unwrap())
        .collect();
    for token in tokens.iter().chain(tokens.iter()) {
        assert!(service.verify(token, TokenKind::Access).is_ok());
    }
}
