//! `DATA_ENCRYPTION_KEY`: AES-256-GCM for secrets kept at rest (TOTP secrets), and the key of
//! the HMAC-SHA-256 that recovery codes are stored as. A database dump alone opens neither.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use auth_domain::ports::mfa::{KeyedDigest, SealedSecret, SecretKeeper};
use auth_domain::Fault;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Bytes of the key.
pub const DATA_KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 12;

/// The data-encryption key. Its `Debug` shows only its id.
#[derive(Clone)]
pub struct DataKey {
    key: [u8; DATA_KEY_BYTES],
    /// Names the key in every row it sealed (a MAC of a label: reveals nothing about it).
    id: String,
    /// Derived from the key for recovery-code hashes (never the encryption key itself).
    digest_key: [u8; 32],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataKey").field("id", &self.id).finish()
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl DataKey {
    pub fn new(key: [u8; DATA_KEY_BYTES]) -> Self {
        let id = hex(&hmac(&key, &[b"auth-server data key id"])[..8]);
        let digest_key = hmac(&key, &[b"auth-server recovery codes"]);
        Self {
            key,
            id,
            digest_key,
        }
    }

    /// Reads the base64 form (standard or URL-safe, padded or not) of exactly 32 bytes.
    pub fn parse(encoded: &str) -> Result<Self, String> {
        let encoded = encoded.trim();
        let bytes = STANDARD
            .decode(encoded)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(encoded))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(encoded))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded))
            .map_err(|_| {
                "is not base64 (generate one with `openssl rand -base64 32`)".to_owned()
            })?;
        let key: [u8; DATA_KEY_BYTES] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            format!(
                "must be {DATA_KEY_BYTES} bytes once decoded, got {} (generate one with \
                 `openssl rand -base64 32`)",
                bytes.len()
            )
        })?;
        Ok(Self::new(key))
    }

    /// A fresh random key, base64.
    pub fn generate_encoded() -> String {
        let mut key = [0_u8; DATA_KEY_BYTES];
        rand::rng().fill_bytes(&mut key);
        STANDARD.encode(key)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(&self.key.into())
    }
}

impl SecretKeeper for DataKey {
    fn random_bytes(&self, len: usize) -> Vec<u8> {
        let mut bytes = vec![0_u8; len];
        rand::rng().fill_bytes(&mut bytes);
        bytes
    }

    fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<SealedSecret, Fault> {
        let mut nonce = [0_u8; NONCE_BYTES];
        rand::rng().fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| Fault::internal("sealing a secret failed"))?;
        Ok(SealedSecret {
            key_id: self.id.clone(),
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    fn open(&self, sealed: &SealedSecret, context: &[u8]) -> Result<Vec<u8>, Fault> {
        if sealed.key_id != self.id {
            return Err(Fault::internal(format!(
                "a secret sealed with data key {} cannot be opened with DATA_ENCRYPTION_KEY {}",
                sealed.key_id, self.id
            )));
        }
        let nonce: [u8; NONCE_BYTES] = sealed
            .nonce
            .as_slice()
            .try_into()
            .map_err(|_| Fault::internal("a sealed secret has a malformed nonce"))?;
        self.cipher()
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: context,
                },
            )
            .map_err(|_| Fault::internal("a sealed secret does not open (altered, or moved)"))
    }

    fn digest(&self, context: &[u8], data: &[u8]) -> KeyedDigest {
        let length = (context.len() as u64).to_be_bytes();
        KeyedDigest {
            key_id: self.id.clone(),
            digest: hex(&hmac(&self.digest_key, &[&length, context, data])),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(byte: u8) -> DataKey {
        DataKey::new([byte; DATA_KEY_BYTES])
    }

    #[test]
    fn seal_then_open_round_trips_and_hides_the_plaintext() {
        let sealed = key(1).seal(b"JBSWY3DPEHPK3PXP secret", b"user-a").unwrap();
        assert!(!sealed
            .ciphertext
            .windows(6)
            .any(|window| window == b"JBSWY3"));
        assert_eq!(
            key(1).open(&sealed, b"user-a").unwrap(),
            b"JBSWY3DPEHPK3PXP secret"
        );
        let again = key(1).seal(b"JBSWY3DPEHPK3PXP secret", b"user-a").unwrap();
        assert_ne!(sealed.nonce, again.nonce, "a fresh nonce each time");
    }

    #[test]
    fn another_key_context_or_altered_ciphertext_does_not_open() {
        let sealed = key(1).seal(b"secret", b"user-a").unwrap();
        assert!(key(2).open(&sealed, b"user-a").is_err());
        let forged_id = SealedSecret {
            key_id: key(2).id().to_owned(),
            ..sealed.clone()
        };
        assert!(key(2).open(&forged_id, b"user-a").is_err());
        assert!(key(1).open(&sealed, b"user-b").is_err());
        let mut altered = sealed.clone();
        altered.ciphertext[0] ^= 1;
        assert!(key(1).open(&altered, b"user-a").is_err());
        let mut short_nonce = sealed;
        short_nonce.nonce.pop();
        assert!(key(1).open(&short_nonce, b"user-a").is_err());
    }

    #[test]
    fn digests_are_keyed_and_bound_to_their_context() {
        let a = key(1).digest(b"user-a", b"abcd1234efgh");
        assert_eq!(a, key(1).digest(b"user-a", b"abcd1234efgh"));
        assert_ne!(a.digest, key(2).digest(b"user-a", b"abcd1234efgh").digest);
        assert_ne!(a.digest, key(1).digest(b"user-b", b"abcd1234efgh").digest);
        assert_ne!(a.key_id, key(2).id());
    }

    #[test]
    fn parse_wants_32_base64_bytes() {
        let encoded = DataKey::generate_encoded();
        assert!(DataKey::parse(&encoded).is_ok());
        assert!(DataKey::parse("c2hvcnQ=").unwrap_err().contains("32 bytes"));
        assert!(DataKey::parse("not base64!").is_err());
        assert!(!format!("{:?}", key(3)).contains("3, 3"));
    }
}
