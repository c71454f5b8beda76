//! The token service: issues and verifies JWTs (RFC 7519) on `jsonwebtoken`.
//!
//! Time claims are checked here against the injected [`Clock`] (not the library's own
//! reading of the system time), so that tests can move time and leeway is ours to apply.

use std::collections::HashSet;
use std::sync::Arc;

use auth_domain::ports::{Clock, TokenError, TokenService};
use auth_domain::{Amr, Claims, Fault, SessionId, TokenKind, UserId};
use chrono::DateTime;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::Algorithm;
use jsonwebtoken::{Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::keys::{KeyRing, PemKeys};
use super::verified::{digest, VerifiedTokens};
use super::JwtSetupError;

/// How tokens are signed and what a token must say to be accepted.
#[derive(Clone)]
pub struct JwtSettings {
    pub algorithm: Algorithm,
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: Option<String>,
    /// Seconds of clock skew tolerated on `exp` and `nbf`.
    pub leeway_secs: u64,
    /// The keys of an asymmetric `algorithm` (RS256, ES256, EdDSA); `None` for HMAC, which
    /// signs with `secret`.
    pub key_pair: Option<PemKeys>,
}

impl std::fmt::Debug for JwtSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtSettings")
            .field("algorithm", &self.algorithm)
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .field("key_pair", &self.key_pair)
            .finish()
    }
}

/// The claims as they travel.
#[derive(Debug, Serialize, Deserialize)]
struct WireClaims {
    #[serde(deserialize_with = "canonical_uuid")]
    sub: Uuid,
    #[serde(deserialize_with = "canonical_uuid")]
    sid: Uuid,
    jti: Uuid,
    token_type: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
    /// RFC 8176 methods of the login; absent from tokens issued before second factors
    /// existed (the session row, not the token, is what the server decides on).
    #[serde(default)]
    amr: Vec<String>,
    /// When the session was opened by a login (OpenID Connect Core §2); absent: `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
}

/// A UUID written exactly as this server writes one: lower-case, hyphenated, no braces or
/// `urn:uuid:` prefix. Any other spelling of a user or session id is refused, so one id has
/// one written form (nothing downstream can be confused by two spellings of one id).
fn canonical_uuid<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Uuid, D::Error> {
    let raw = String::deserialize(deserializer)?;
    Uuid::parse_str(&raw)
        .ok()
        .filter(|uuid| uuid.hyphenated().to_string() == raw)
        .ok_or_else(|| serde::de::Error::custom("not a canonical UUID"))
}

/// RFC 7515 §4.1.11: `crit` lists header extensions the verifier must understand or refuse
/// the token. This server understands none, so a header carrying `crit` refuses the token
/// (jsonwebtoken ignores header members it does not know, `crit` included).
fn has_crit_header(token: &str) -> bool {
    use base64::Engine as _;
    let Some(segment) = token.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(segment)
        .ok()
        .and_then(|json| {
            serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&json).ok()
        })
        .is_some_and(|header| header.contains_key("crit"))
}

pub struct JwtTokenService {
    header: Header,
    keys: KeyRing,
    validation: Validation,
    issuer: String,
    audience: Option<String>,
    leeway_secs: i64,
    clock: Arc<dyn Clock>,
    /// Access tokens verified already (see [`super::verified`]); off unless asked for.
    verified: Option<VerifiedTokens>,
}

impl JwtTokenService {
    pub fn new(settings: JwtSettings, clock: Arc<dyn Clock>) -> Result<Self, JwtSetupError> {
        let keys = match &settings.key_pair {
            Some(pem) => KeyRing::from_pem(settings.algorithm, pem)?,
            None => KeyRing::hmac(settings.algorithm, &settings.secret)?,
        };
        let mut validation = Validation::new(settings.algorithm);
        // Presence of every claim is enforced by `WireClaims`; time claims by `check_times`.
        validation.required_spec_claims = HashSet::new();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[settings.issuer.as_str()]);
        // `aud` is always checked: when one is configured a token must carry it, and when none
        // is, jsonwebtoken refuses a token addressed to any audience.
        if let Some(audience) = &settings.audience {
            validation.set_audience(&[audience.as_str()]);
            validation.set_required_spec_claims(&["aud"]);
        }
        let mut header = Header::new(settings.algorithm);
        header.typ = Some("JWT".into());
        header.kid = Some(keys.signing_kid().to_owned());
        Ok(Self {
            header,
            keys,
            validation,
            issuer: settings.issuer,
            audience: settings.audience,
            leeway_secs: i64::try_from(settings.leeway_secs).unwrap_or(i64::MAX),
            clock,
            verified: None,
        })
    }

    /// Keeps up to `capacity` verified access tokens, so that a token presented again is
    /// not verified again (its expiry still is); 0 keeps none.
    pub fn with_verified_cache(mut self, capacity: usize) -> Self {
        self.verified = (capacity > 0).then(|| VerifiedTokens::new(capacity));
        self
    }

    fn expired(&self, expires_at: i64) -> bool {
        self.clock.now().timestamp() >= expires_at.saturating_add(self.leeway_secs)
    }

    /// The public keys, for `GET /.well-known/jwks.json` (empty with HMAC).
    pub fn jwks(&self) -> &JwkSet {
        self.keys.jwks()
    }

    /// The JWK Set as JSON: `{"keys": [...]}`.
    pub fn jwks_json(&self) -> serde_json::Value {
        serde_json::to_value(self.keys.jwks()).unwrap_or_else(|_| serde_json::json!({ "keys": [] }))
    }

    /// The `kid` of the signing key.
    pub fn signing_kid(&self) -> &str {
        self.keys.signing_kid()
    }

    fn check_times(&self, claims: &WireClaims) -> Result<(), TokenError> {
        let now = self.clock.now().timestamp();
        // RFC 7519 §4.1.4: the token must not be accepted on or after `exp`.
        if self.expired(claims.exp) {
            return Err(TokenError::Expired);
        }
        if claims.nbf > now.saturating_add(self.leeway_secs) {
            return Err(TokenError::NotYetValid);
        }
        Ok(())
    }
}

fn token_kind(raw: &str) -> Option<TokenKind> {
    match raw {
        "access" => Some(TokenKind::Access),
        "refresh" => Some(TokenKind::Refresh),
        _ => None,
    }
}

fn refusal(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidSignature => TokenError::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => TokenError::WrongAlgorithm,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        ErrorKind::ImmatureSignature => TokenError::NotYetValid,
        ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience | ErrorKind::InvalidSubject => {
            TokenError::WrongIssuerOrAudience
        }
        _ => TokenError::Malformed,
    }
}

impl TokenService for JwtTokenService {
    fn issue(&self, claims: &Claims) -> Result<String, Fault> {
        let wire = WireClaims {
            sub: claims.subject.0,
            sid: claims.session_id.0,
            jti: claims.token_id,
            token_type: claims.kind.as_str().to_owned(),
            iat: claims.issued_at.timestamp(),
            nbf: claims.issued_at.timestamp(),
            exp: claims.expires_at.timestamp(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            amr: claims.amr.to_strings(),
            auth_time: Some(claims.auth_time.timestamp()),
        };
        jsonwebtoken::encode(&self.header, &wire, self.keys.encoding_key()).map_err(Fault::internal)
    }

    fn verify(&self, token: &str, expected: TokenKind) -> Result<Claims, TokenError> {
        let Some(verified) = &self.verified else {
            return self.verify_fully(token, expected);
        };
        let key = digest(token);
        if let Some(claims) = verified.get(&key) {
            if self.expired(claims.expires_at.timestamp()) {
                verified.forget(&key);
                return Err(TokenError::Expired);
            }
            if claims.kind != expected {
                return Err(TokenError::WrongKind);
            }
            return Ok(claims);
        }
        let claims = self.verify_fully(token, expected)?;
        verified.keep(key, &claims);
        Ok(claims)
    }
}

impl JwtTokenService {
    fn verify_fully(&self, token: &str, expected: TokenKind) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|error| refusal(error.kind()))?;
        if has_crit_header(token) {
            return Err(TokenError::Malformed);
        }
        if header.alg != self.keys.algorithm() {
            return Err(TokenError::WrongAlgorithm);
        }
        // The key is chosen by `kid` alone: no kid, or one that is not (or no longer) ours,
        // cannot verify.
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.verifying_key(kid))
            .ok_or(TokenError::BadSignature)?;
        let data = jsonwebtoken::decode::<WireClaims>(token, key, &self.validation)
            .map_err(|error| refusal(error.kind()))?;
        let wire = data.claims;
        self.check_times(&wire)?;
        if token_kind(&wire.token_type) != Some(expected) {
            return Err(TokenError::WrongKind);
        }
        let timestamp = |secs| DateTime::from_timestamp(secs, 0).ok_or(TokenError::Malformed);
        Ok(Claims {
            kind: expected,
            subject: UserId(wire.sub),
            session_id: SessionId(wire.sid),
            token_id: wire.jti,
            issued_at: timestamp(wire.iat)?,
            expires_at: timestamp(wire.exp)?,
            amr: Amr::parse(wire.amr.iter().map(String::as_str)),
            auth_time: timestamp(wire.auth_time.unwrap_or(wire.iat))?,
        })
    }
}
