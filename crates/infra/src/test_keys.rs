//! Fresh signing keys in PEM for tests (feature `testing`), and a temporary folder to write
//! them to. Keys are generated in-process (no `openssl` needed); an RSA key takes a moment,
//! so tests that need one and do not care which reuse [`shared_rsa`].
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
use rsa::pkcs8::LineEnding;
use rsa::rand_core::{OsRng, RngCore};

/// A private key and its public key, both PEM.
#[derive(Clone)]
pub struct TestKeyPair {
    /// PKCS#8 `BEGIN PRIVATE KEY`.
    pub private_pem: String,
    /// SPKI `BEGIN PUBLIC KEY`.
    pub public_pem: String,
}

/// Both halves in PEM.
fn pem_pair(private: &impl EncodePrivateKey, public: &impl EncodePublicKey) -> TestKeyPair {
    TestKeyPair {
        private_pem: private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: public.to_public_key_pem(LineEnding::LF).unwrap(),
    }
}

/// An RSA key of `bits` bits (2048 for a valid RS256 key).
pub fn rsa(bits: usize) -> TestKeyPair {
    let private = rsa::RsaPrivateKey::new(&mut OsRng, bits).expect("RSA key generation");
    pem_pair(&private, &private.to_public_key())
}

/// An RSA-2048 key pair generated once per process.
pub fn shared_rsa() -> TestKeyPair {
    static KEY: OnceLock<TestKeyPair> = OnceLock::new();
    KEY.get_or_init(|| rsa(2048)).clone()
}

/// An EC key on P-256 (ES256).
pub fn p256() -> TestKeyPair {
    let private = p256::SecretKey::random(&mut OsRng);
    pem_pair(&private, &private.public_key())
}

/// An EC key on P-384 (not accepted for ES256).
pub fn p384() -> TestKeyPair {
    let private = p384::SecretKey::random(&mut OsRng);
    pem_pair(&private, &private.public_key())
}

/// An Ed25519 key (EdDSA).
pub fn ed25519() -> TestKeyPair {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let private = ed25519_dalek::SigningKey::from_bytes(&seed);
    // PKCS#8 v1 (no public key inside), as `openssl genpkey -algorithm ed25519` writes it.
    let v1 = ed25519_dalek::pkcs8::KeypairBytes {
        secret_key: seed,
        public_key: None,
    };
    pem_pair(&v1, &private.verifying_key())
}

/// A folder under the system's temporary directory, removed with its files on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> Self {
        let path = std::env::temp_dir().join(format!("auth-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).expect("create a temporary folder");
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `name` in this folder and returns the file's path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let file = self.path.join(name);
        std::fs::write(&file, contents).expect("write a key file");
        file
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
