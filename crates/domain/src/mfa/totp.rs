//! RFC 6238 time-based one-time passwords (HMAC-SHA-1, 6 digits, 30 s steps), the `otpauth://`
//! URI authenticator apps read, and the secret's base32 form.

use std::fmt;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha1::Sha1;

/// Digits of a code (RFC 6238's default, what every authenticator app shows).
pub const DIGITS: u32 = 6;
/// Seconds per time step.
pub const PERIOD: i64 = 30;
/// Steps of clock skew accepted on either side of the current one.
pub const SKEW: i64 = 1;
/// Bytes of a new secret: 160 bits, RFC 4226's recommendation for HMAC-SHA-1.
pub const SECRET_BYTES: usize = 20;

/// A TOTP shared secret. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// RFC 4648 base32 without padding: what an authenticator app is given.
    pub fn base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(&self.0)
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// The time step `time` falls in.
pub fn step_of(time: DateTime<Utc>) -> i64 {
    time.timestamp().div_euclid(PERIOD)
}

/// The HOTP value (RFC 4226 §5.3) of `secret` at `counter`, as `digits` decimal digits.
pub fn hotp(secret: &[u8], counter: u64, digits: u32) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = (u32::from(digest[offset] & 0x7f) << 24)
        | (u32::from(digest[offset + 1]) << 16)
        | (u32::from(digest[offset + 2]) << 8)
        | u32::from(digest[offset + 3]);
    let value = u64::from(binary) % 10_u64.pow(digits);
    format!("{value:0width$}", width = digits as usize)
}

/// The 6-digit code of `secret` for `step`.
pub fn code_at_step(secret: &TotpSecret, step: i64) -> String {
    hotp(secret.expose(), u64::try_from(step).unwrap_or(0), DIGITS)
}

/// Whether `candidate` looks like a TOTP code at all: six ASCII digits (spaces ignored).
pub fn normalise_code(candidate: &str) -> Option<String> {
    let code: String = candidate.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The step (of the current one ± [`SKEW`]) whose code `candidate` is, if any. Every step is
/// compared in constant time, so the answer's timing says nothing about the digits.
pub fn matching_step(secret: &TotpSecret, candidate: &str, now: DateTime<Utc>) -> Option<i64> {
    let candidate = normalise_code(candidate)?;
    let current = step_of(now);
    let mut found = None;
    for step in (current - SKEW)..=(current + SKEW) {
        if constant_time_eq(code_at_step(secret, step).as_bytes(), candidate.as_bytes())
            && found.is_none()
        {
            found = Some(step);
        }
    }
    found
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `otpauth://totp/<issuer>:<account>?secret=…&issuer=<issuer>&algorithm=SHA1&digits=6&period=30`
/// (Key Uri Format), label and issuer percent-encoded.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &TotpSecret) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        percent_encode(issuer),
        percent_encode(account),
        secret.base32(),
        percent_encode(issuer),
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters and `@` (which apps
/// show as is in an account name).
fn percent_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~@".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows: the seed is the ASCII "12345678901234567890".
    #[test]
    fn rfc_6238_test_vectors() {
        let seed = b"12345678901234567890";
        let vectors: [(i64, &str); 6] = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, expected) in vectors {
            let step = u64::try_from(time / PERIOD).unwrap_or_default();
            assert_eq!(hotp(seed, step, 8), expected, "T = {time}");
        }
    }

    /// RFC 4226 Appendix D: HOTP values of the same seed for counters 0..9.
    #[test]
    fn rfc_4226_test_vectors() {
        let expected = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(b"12345678901234567890", counter as u64, 6), *code);
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    #[test]
    fn one_step_of_skew_either_side_and_no_more() {
        let secret = TotpSecret::new(b"12345678901234567890".to_vec());
        let now = at(1_111_111_111);
        let current = step_of(now);
        for offset in [-1, 0, 1] {
            let code = code_at_step(&secret, current + offset);
            assert_eq!(matching_step(&secret, &code, now), Some(current + offset));
        }
        for offset in [-2, 2] {
            let code = code_at_step(&secret, current + offset);
            assert_eq!(matching_step(&secret, &code, now), None, "offset {offset}");
        }
    }

    #[test]
    fn only_six_digits_are_codes() {
        let secret = TotpSecret::new(vec![7; 20]);
        let now = at(1_700_000_000);
        let code = code_at_step(&secret, step_of(now));
        let spaced = format!("{} {}", &code[..3], &code[3..]);
        assert_eq!(matching_step(&secret, &spaced, now), Some(step_of(now)));
        for bad in ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"] {
            assert_eq!(normalise_code(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn uri_names_issuer_account_and_parameters() {
        let secret = TotpSecret::new(b"12345678901234567890".to_vec());
        assert_eq!(secret.base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(
            otpauth_uri("My App", "john@doe.com", &secret),
            "otpauth://totp/My%20App:john@doe.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=My%20App&algorithm=SHA1&digits=6&period=30"
        );
        assert!(!format!("{secret:?}").contains("GEZ"));
    }
}
