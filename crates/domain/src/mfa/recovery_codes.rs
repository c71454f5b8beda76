//! Recovery codes: ten single-use codes of 60 random bits each, written as three groups of
//! four characters of Crockford's base32 (`7k2m-q9xd-4hna`: no `i`, `l`, `o`, `u`, so nothing
//! reads as another character when spoken or copied by hand).

use std::fmt;

use crate::mfa::{KeyedDigest, SecretKeeper};
use crate::user::UserId;

/// Codes in a set.
pub const CODES_PER_SET: usize = 10;
/// Characters of a code (5 bits each: 60 bits of entropy).
const CODE_CHARS: usize = 12;
/// Random bytes drawn per code (60 bits are used).
pub const CODE_RANDOM_BYTES: usize = 8;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A recovery code as shown to the user once. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    /// Builds a code from at least [`CODE_RANDOM_BYTES`] random bytes.
    pub fn from_random(bytes: &[u8]) -> Self {
        let mut value = 0_u64;
        for byte in bytes.iter().take(CODE_RANDOM_BYTES) {
            value = (value << 8) | u64::from(*byte);
        }
        let mut chars = String::with_capacity(CODE_CHARS + 2);
        for index in 0..CODE_CHARS {
            if index > 0 && index % 4 == 0 {
                chars.push('-');
            }
            let digit = ((value >> (5 * index)) & 0x1f) as usize;
            chars.push(char::from(ALPHABET[digit]));
        }
        Self(chars)
    }

    /// The code as displayed: `xxxx-xxxx-xxxx`.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is hashed: the twelve characters, lower-case, without separators.
    pub fn canonical(&self) -> String {
        self.0.replace('-', "")
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// Reads what a user typed as a recovery code: case, spaces and hyphens do not matter, and
/// the letters Crockford's base32 leaves out are read as what they look like (`o` → `0`,
/// `i`/`l` → `1`). `None` when it cannot be a code.
pub fn normalise(typed: &str) -> Option<String> {
    let mut canonical = String::with_capacity(CODE_CHARS);
    for c in typed.chars() {
        if c.is_whitespace() || c == '-' {
            continue;
        }
        let c = match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        canonical.push(c);
    }
    (canonical.len() == CODE_CHARS).then_some(canonical)
}

/// A new set of codes for `user_id`, with the digests that are stored.
pub(crate) fn new_set(
    keeper: &dyn SecretKeeper,
    user_id: UserId,
) -> (Vec<RecoveryCode>, Vec<KeyedDigest>) {
    let codes: Vec<RecoveryCode> = (0..CODES_PER_SET)
        .map(|_| RecoveryCode::from_random(&keeper.random_bytes(CODE_RANDOM_BYTES)))
        .collect();
    let digests = codes
        .iter()
        .map(|code| digest(keeper, user_id, &code.canonical()))
        .collect();
    (codes, digests)
}

/// The stored digest of a code of `user_id` (canonical form), bound to the user.
pub(crate) fn digest(keeper: &dyn SecretKeeper, user_id: UserId, canonical: &str) -> KeyedDigest {
    keeper.digest(
        format!("recovery-code:{user_id}").as_bytes(),
        canonical.as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_three_groups_of_four_from_the_alphabet() {
        let code = RecoveryCode::from_random(&[0xff, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd]);
        let shown = code.expose();
        assert_eq!(shown.len(), 14);
        assert_eq!(shown.matches('-').count(), 2);
        assert!(shown
            .chars()
            .all(|c| c == '-' || ALPHABET.contains(&(c as u8))));
        assert_eq!(normalise(shown), Some(code.canonical()));
    }

    #[test]
    fn distinct_random_bytes_give_distinct_codes() {
        let a = RecoveryCode::from_random(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let b = RecoveryCode::from_random(&[1, 2, 3, 4, 5, 6, 7, 9]);
        assert_ne!(a, b);
    }

    #[test]
    fn typing_is_forgiving_but_not_loose() {
        assert_eq!(
            normalise(" ABCD-EFGH-JKMN "),
            Some("abcdefghjkmn".to_owned())
        );
        assert_eq!(
            normalise("oOiL 2345 6789"),
            Some("00112345 6789".replace(' ', ""))
        );
        assert_eq!(normalise("abcd-efgh-jkm"), None);
        assert_eq!(normalise("abcd-efgh-jkmnp"), None);
        assert_eq!(normalise("abcd-efgh-jkm!"), None);
        assert_eq!(normalise("abcd-efgh-jkmu"), None);
    }

    #[test]
    fn debug_hides_the_code() {
        let code = RecoveryCode::from_random(&[9; 8]);
        assert!(!format!("{code:?}").contains(code.expose()));
    }
}
