//! The keys of the JWT service: one HMAC secret, or a PEM private key that signs plus any
//! number of PEM public keys that verify (key rotation). Every key is known by its `kid`:
//!
//! - asymmetric keys: the RFC 7638 JWK thumbprint (base64url of SHA-256), so a verifier
//!   can recompute it from the published key;
//! - an HMAC secret: the first 16 base64url characters of HMAC-SHA256(secret, a fixed label).
//!   A token's own signature is already such a MAC of the secret, so the `kid` reveals
//!   nothing more about it, and it changes whenever the secret does.
//!
//! Every public key is checked when the ring is built (type, curve, size, and the private
//! key by signing and verifying a probe), so a bad key stops the server at start, never at
//! the first login.

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
    ThumbprintHash,
};
use jsonwebtoken::{crypto, Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

use super::{JwtSetupError, MIN_SECRET_BYTES};

/// Smallest RSA modulus accepted (NIST SP 800-57: 2048 bits until 2030).
pub const MIN_RSA_BITS: usize = 2048;

/// Message whose HMAC names an HMAC key. It contains no `.`, so it can never be the signing
/// input of a JWT.
const HMAC_KID_LABEL: &[u8] = b"auth-server JWT key id v1";
const HMAC_KID_CHARS: usize = 16;
const PROBE: &[u8] = b"auth-server key probe";

/// A PEM document and where it came from (named in error messages).
#[derive(Clone)]
pub struct PemKey {
    pub source: String,
    pub pem: Vec<u8>,
}

impl PemKey {
    pub fn new(source: impl Into<String>, pem: impl Into<Vec<u8>>) -> Self {
        Self {
            source: source.into(),
            pem: pem.into(),
        }
    }
}

impl std::fmt::Debug for PemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemKey")
            .field("source", &self.source)
            .field("pem", &"<redacted>")
            .finish()
    }
}

/// The keys of an asymmetric algorithm (RS256, ES256, EdDSA).
#[derive(Debug, Clone)]
pub struct PemKeys {
    /// Signs every token: PKCS#8 (`BEGIN PRIVATE KEY`), or PKCS#1 (`BEGIN RSA PRIVATE KEY`)
    /// for RSA. Its public key is always accepted and published.
    pub private_key: PemKey,
    /// Further public keys (`BEGIN PUBLIC KEY`) accepted for verification and published:
    /// retired keys whose tokens may still be alive, and keys about to sign.
    pub public_keys: Vec<PemKey>,
}

/// The asymmetric algorithms accepted, besides the HMAC ones.
pub fn parse_asymmetric_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "RS256" => Some(Algorithm::RS256),
        "ES256" => Some(Algorithm::ES256),
        "EdDSA" => Some(Algorithm::EdDSA),
        _ => None,
    }
}

/// True for HS256, HS384 and HS512.
pub fn is_hmac(algorithm: Algorithm) -> bool {
    algorithm.family() == AlgorithmFamily::Hmac
}

/// The signing key and every verification key, by `kid`.
#[derive(Clone)]
pub struct KeyRing {
    algorithm: Algorithm,
    signing_kid: String,
    encoding: EncodingKey,
    verifying: HashMap<String, DecodingKey>,
    published: JwkSet,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&String> = self.verifying.keys().collect();
        kids.sort();
        f.debug_struct("KeyRing")
            .field("algorithm", &self.algorithm)
            .field("signing_kid", &self.signing_kid)
            .field("verifying_kids", &kids)
            .finish()
    }
}

impl KeyRing {
    /// One shared secret that signs and verifies; nothing is published.
    pub fn hmac(algorithm: Algorithm, secret: &[u8]) -> Result<Self, JwtSetupError> {
        if !is_hmac(algorithm) {
            return Err(JwtSetupError::MissingPrivateKey(algorithm));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(JwtSetupError::ShortSecret(secret.len()));
        }
        let encoding = EncodingKey::from_secret(secret);
        let mut kid = crypto::sign(HMAC_KID_LABEL, &encoding, Algorithm::HS256)
            .map_err(|e| JwtSetupError::PrivateKey(format!("cannot derive a key id: {e}")))?;
        kid.truncate(HMAC_KID_CHARS);
        Ok(Self {
            algorithm,
            verifying: HashMap::from([(kid.clone(), DecodingKey::from_secret(secret))]),
            signing_kid: kid,
            encoding,
            published: JwkSet::default(),
        })
    }

    /// A private key that signs, and public keys that verify. The private key's own public
    /// key is added to the verification keys (listing it again is harmless).
    pub fn from_pem(algorithm: Algorithm, keys: &PemKeys) -> Result<Self, JwtSetupError> {
        if is_hmac(algorithm) {
            return Err(JwtSetupError::KeysWithHmac(algorithm));
        }
        let private_error = |message: String| {
            JwtSetupError::PrivateKey(format!("{}: {message}", keys.private_key.source))
        };
        let (encoding, signing_jwk) =
            private_key(algorithm, &keys.private_key.pem).map_err(private_error)?;
        let signing_kid = thumbprint(&signing_jwk).map_err(private_error)?;
        let signing_decoding =
            DecodingKey::from_jwk(&signing_jwk).map_err(|e| private_error(e.to_string()))?;
        // The probe proves that what we sign verifies with what we publish.
        let probe = crypto::sign(PROBE, &encoding, algorithm)
            .map_err(|e| private_error(format!("cannot sign with this key: {e}")))?;
        if !crypto::verify(&probe, PROBE, &signing_decoding, algorithm).unwrap_or(false) {
            return Err(private_error(
                "a signature made with this key does not verify with its public key".into(),
            ));
        }

        let mut ring = Self {
            algorithm,
            signing_kid: signing_kid.clone(),
            encoding,
            verifying: HashMap::new(),
            published: JwkSet::default(),
        };
        ring.accept(signing_kid, signing_jwk, signing_decoding);
        for public in &keys.public_keys {
            let public_error = |message: String| JwtSetupError::PublicKey {
                file: public.source.clone(),
                message,
            };
            let jwk = public_key(algorithm, &public.pem).map_err(public_error)?;
            let kid = thumbprint(&jwk).map_err(public_error)?;
            let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| public_error(e.to_string()))?;
            ring.accept(kid, jwk, decoding);
        }
        Ok(ring)
    }

    fn accept(&mut self, kid: String, jwk: Jwk, decoding: DecodingKey) {
        if self.verifying.contains_key(&kid) {
            return;
        }
        let published = Jwk {
            common: CommonParameters {
                public_key_use: Some(PublicKeyUse::Signature),
                key_algorithm: Some(KeyAlgorithm::from(self.algorithm)),
                key_id: Some(kid.clone()),
                ..CommonParameters::default()
            },
            algorithm: jwk.algorithm,
        };
        self.published.keys.push(published);
        self.verifying.insert(kid, decoding);
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The `kid` written into every token this ring signs.
    pub fn signing_kid(&self) -> &str {
        &self.signing_kid
    }

    pub fn encoding_key(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The key a token with this `kid` must verify with, if it is one of ours.
    pub fn verifying_key(&self, kid: &str) -> Option<&DecodingKey> {
        self.verifying.get(kid)
    }

    /// Every `kid` accepted for verification.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.verifying.keys().map(String::as_str)
    }

    /// The public keys as an RFC 7517 JWK Set (empty for HMAC): signing key first.
    pub fn jwks(&self) -> &JwkSet {
        &self.published
    }
}

fn describe(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::ES256 => "an EC P-256 (prime256v1)",
        Algorithm::EdDSA => "an Ed25519",
        _ => "an RSA",
    }
}

fn private_key(algorithm: Algorithm, pem: &[u8]) -> Result<(EncodingKey, Jwk), String> {
    let expected = || {
        format!(
            "not {} private key in PEM (expected `BEGIN PRIVATE KEY`{})",
            describe(algorithm),
            if algorithm.family() == AlgorithmFamily::Rsa {
                " or `BEGIN RSA PRIVATE KEY`"
            } else {
                ""
            }
        )
    };
    let encoding = match algorithm.family() {
        AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(pem),
        AlgorithmFamily::Ec => EncodingKey::from_ec_pem(pem),
        AlgorithmFamily::Ed => EncodingKey::from_ed_pem(pem),
        AlgorithmFamily::Hmac => return Err("an HMAC algorithm takes no key file".into()),
    }
    .map_err(|_| expected())?;
    let jwk = Jwk::from_encoding_key(&encoding, algorithm).map_err(|_| expected())?;
    check_public_parameters(algorithm, &jwk)?;
    Ok((encoding, jwk))
}

fn public_key(algorithm: Algorithm, pem: &[u8]) -> Result<Jwk, String> {
    let expected = || {
        format!(
            "not {} public key in PEM (expected `BEGIN PUBLIC KEY`)",
            describe(algorithm)
        )
    };
    let decoding = match algorithm.family() {
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
        AlgorithmFamily::Hmac => return Err("an HMAC algorithm takes no key file".into()),
    }
    .map_err(|_| expected())?;
    let jwk = Jwk::from_decoding_key(&decoding, Some(algorithm)).map_err(|_| expected())?;
    check_public_parameters(algorithm, &jwk)?;
    // Builds the verifier, which checks that an EC point is on its curve and that an
    // Ed25519 point decompresses; an invalid key fails here rather than on every token.
    let usable = DecodingKey::from_jwk(&jwk).map_err(|_| expected())?;
    crypto::verify("AA", PROBE, &usable, algorithm).map_err(|_| expected())?;
    Ok(jwk)
}

/// The curve matches the algorithm; an RSA modulus is long enough.
fn check_public_parameters(algorithm: Algorithm, jwk: &Jwk) -> Result<(), String> {
    match (&jwk.algorithm, algorithm) {
        (AlgorithmParameters::RSA(rsa), Algorithm::RS256) => {
            let modulus = URL_SAFE_NO_PAD
                .decode(&rsa.n)
                .map_err(|_| "has an unreadable RSA modulus".to_owned())?;
            let significant: Vec<u8> = modulus.into_iter().skip_while(|byte| *byte == 0).collect();
            let bits = match significant.first() {
                Some(top) => (significant.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
                None => 0,
            };
            if bits < MIN_RSA_BITS {
                return Err(format!(
                    "is a {bits}-bit RSA key; at least {MIN_RSA_BITS} bits are required"
                ));
            }
            Ok(())
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256)
            if ec.curve == EllipticCurve::P256 =>
        {
            Ok(())
        }
        (AlgorithmParameters::EllipticCurve(ec), Algorithm::ES256) => Err(format!(
            "is a key on curve {:?}; ES256 needs P-256 (prime256v1)",
            ec.curve
        )),
        (AlgorithmParameters::OctetKeyPair(okp), Algorithm::EdDSA)
            if okp.curve == EllipticCurve::Ed25519 =>
        {
            Ok(())
        }
        _ => Err(format!("is not {} key", describe(algorithm))),
    }
}

/// RFC 7638 thumbprint: base64url(SHA-256(the required members in lexicographic order)).
pub fn thumbprint(jwk: &Jwk) -> Result<String, String> {
    jwk.thumbprint(ThumbprintHash::SHA256)
        .map_err(|e| format!("cannot compute the key id: {e}"))
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
