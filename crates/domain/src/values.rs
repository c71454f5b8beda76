//! Value types that can only hold valid values: parse, don't validate.

use std::fmt;
use unicode_normalization::UnicodeNormalization;

/// Why a raw value was refused; the message is meant for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(pub String);

fn refuse(message: impl Into<String>) -> ValueError {
    ValueError(message.into())
}

fn has_control_chars(raw: &str) -> bool {
    raw.chars().any(char::is_control)
}

/// An email address, trimmed, NFKC-normalised and lower-cased, so that two spellings of one
/// address (`ｋｅｌｖｉｎ@example.com`, `Kelvin@Example.com`) are one identity. Lower-casing
/// is not full case folding: `ß` stays `ß`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Bidirectional controls (embeddings, overrides, isolates, marks): they make an address
/// display as another one.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{061C}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl Email {
    pub const MAX_LEN: usize = 254;

    /// The identity form of an address: trimmed, NFKC, lower-cased (and NFKC again, which
    /// lower-casing can undo). What is stored, looked up and mailed.
    pub fn normalise(raw: &str) -> String {
        let lowered = raw.trim().nfkc().collect::<String>().to_lowercase();
        lowered.nfkc().collect()
    }

    /// An address read back from the store, as it was stored (a row written before the
    /// current rules keeps its spelling rather than failing every read of its user).
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if has_control_chars(raw.trim()) {
            return Err(refuse("must not contain control characters"));
        }
        if raw.chars().any(is_bidi_control) {
            return Err(refuse("must not contain bidirectional control characters"));
        }
        let normalised = Self::normalise(raw);
        // What the mailer cannot deliver to: a quoted local part (or its escapes), and MIME
        // encoded words, which a header would decode into something else.
        if normalised.contains(['"', '\\']) {
            return Err(refuse("must not have a quoted local part"));
        }
        if normalised.contains("=?") {
            return Err(refuse("must not contain an encoded word (=?…?=)"));
        }
        if normalised.is_empty() {
            return Err(refuse("must not be empty"));
        }
        if normalised.len() > Self::MAX_LEN {
            return Err(refuse(format!(
                "must be at most {} characters",
                Self::MAX_LEN
            )));
        }
        if has_control_chars(&normalised) || normalised.chars().any(is_bidi_control) {
            return Err(refuse("must not contain control characters"));
        }
        if !email_address::EmailAddress::is_valid(&normalised) {
            return Err(refuse("must be a valid email address"));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map_or(&self.0, |(local, _)| local)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Email").field(&self.0).finish()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that satisfies the policy. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    /// bcrypt only reads 72 bytes: a longer password is refused, never silently truncated.
    pub const MAX_BYTES: usize = 72;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(refuse(format!(
                "must be at least {} characters",
                Self::MIN_CHARS
            )));
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(refuse(format!(
                "must be at most {} bytes in UTF-8",
                Self::MAX_BYTES
            )));
        }
        if raw.contains('\0') {
            return Err(refuse("must not contain NUL characters"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A stored password hash (PHC/modular-crypt string). Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn new(encoded: String) -> Self {
        Self(encoded)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Free text limited in length and free of control characters (names, usernames).
fn parse_short_text(raw: &str, max_chars: usize) -> Result<String, ValueError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(refuse("must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(refuse(format!("must be at most {max_chars} characters")));
    }
    if has_control_chars(trimmed) {
        return Err(refuse("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

/// A username: unique when present, compared case-insensitively through [`Username::key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 150;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value = parse_short_text(raw, Self::MAX_CHARS)?;
        if value.chars().any(char::is_whitespace) {
            return Err(refuse("must not contain spaces"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness is checked on.
    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A first or last name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 150;

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        parse_short_text(raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_trimmed_and_lowercased() -> Result<(), ValueError> {
        let email = Email::parse("  John@Doe.COM ")?;
        assert_eq!(email.as_str(), "john@doe.com");
        assert_eq!(email.local_part(), "john");
        Ok(())
    }

    #[test]
    fn email_rejects_garbage_long_and_control() {
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse("").is_err());
        assert!(Email::parse("a\u{7}b@example.com").is_err());
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn password_policy_bounds() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("johnspassword1234@!").is_ok());
        assert!(Password::parse("securepass123").is_ok());
        assert!(Password::parse(&"a".repeat(72)).is_ok());
        assert!(Password::parse(&"a".repeat(73)).is_err());
        // 25 three-byte characters: 25 chars but 75 bytes.
        assert!(Password::parse(&"€".repeat(25)).is_err());
        // 8 multi-byte characters count as 8 characters.
        assert!(Password::parse(&"é".repeat(8)).is_ok());
    }

    #[test]
    fn secrets_never_show_in_debug() -> Result<(), ValueError> {
        let password = Password::parse("hunter2hunter2")?;
        assert!(!format!("{password:?}").contains("hunter2"));
        let hash = PasswordHash::new("$2b$04$abcdefghijklmnopqrstuv".into());
        assert!(!format!("{hash:?}").contains("abcdef"));
        Ok(())
    }

    #[test]
    fn usernames_compare_case_insensitively_and_limit_length() -> Result<(), ValueError> {
        assert_eq!(Username::parse("John.Doe")?.key(), "john.doe");
        assert!(Username::parse(&"x".repeat(151)).is_err());
        assert!(Username::parse("john doe").is_err());
        assert!(PersonName::parse(&"x".repeat(150)).is_ok());
        assert!(PersonName::parse(&"x".repeat(151)).is_err());
        Ok(())
    }
}

#[cfg(test)]
#[path = "values_props.rs"]
mod props;
