//! Random one-time secrets.

use auth_domain::one_time::OneTimeSecret;
use auth_domain::ports::SecretGenerator;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;

/// 256 bits from the thread-local CSPRNG (ChaCha, seeded and reseeded from the OS), as 43
/// URL-safe base64 characters.
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomSecretGenerator;

impl SecretGenerator for RandomSecretGenerator {
    fn generate(&self) -> OneTimeSecret {
        let mut bytes = [0_u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        OneTimeSecret::new(URL_SAFE_NO_PAD.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_url_safe_long_and_distinct() {
        let first = RandomSecretGenerator.generate();
        let second = RandomSecretGenerator.generate();
        assert_eq!(first.expose().len(), 43);
        assert!(first
            .expose()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_ne!(first, second);
    }
}
