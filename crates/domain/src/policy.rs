//! The password policy of NIST SP 800-63B §5.1.1.2: a length range (enforced by
//! [`Password::parse`]: 8 characters to 72 bytes), no composition rules, and a refusal of
//! passwords that attackers try first — commonly used ones, and ones made of the account's own
//! details.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::user::User;
use crate::values::{Email, Password, PersonName, Username, ValueError};

/// The list of commonly used passwords (see the header of the file for its source and
/// licence), lower-cased, one a line; lines starting with `##` are the header.
const COMMON_PASSWORDS_FILE: &str = include_str!("../data/common-passwords.txt");

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    COMMON_PASSWORDS_FILE
        .lines()
        .filter(|line| !line.starts_with("##"))
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect()
});

const TOO_COMMON: &str = "is one of the most commonly used passwords, which attackers try \
                          first: choose a longer, less predictable one (a few unrelated words \
                          work well)";
const PERSONAL: &str = "must not be your email address, username or name: choose something \
                        that cannot be guessed from your account details";

/// What is known about the account a password is for; every part is optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyContext<'a> {
    pub email: Option<&'a Email>,
    pub username: Option<&'a Username>,
    pub first_name: Option<&'a PersonName>,
    pub last_name: Option<&'a PersonName>,
}

impl<'a> PolicyContext<'a> {
    /// Everything known about an existing account (password change, reset).
    pub fn of(user: &'a User) -> Self {
        Self {
            email: Some(&user.email),
            username: user.username.as_ref(),
            first_name: user.first_name.as_ref(),
            last_name: user.last_name.as_ref(),
        }
    }
}

/// Checks a new password beyond its length. Registration applies it; so must every other way
/// of setting a password (change, reset).
pub struct PasswordPolicy;

impl PasswordPolicy {
    /// `Err` with a message telling the user what to do when `password` is a commonly used
    /// password, or equals (ignoring case and surrounding spaces) the email, the email's local
    /// part, the username, the first name, the last name, or the two names together.
    pub fn check(password: &Password, context: &PolicyContext<'_>) -> Result<(), ValueError> {
        let candidate = password.expose().trim().to_lowercase();
        if Self::is_common(&candidate) {
            return Err(ValueError(TOO_COMMON.into()));
        }
        if personal_words(context).contains(&candidate) {
            return Err(ValueError(PERSONAL.into()));
        }
        Ok(())
    }

    /// Whether the (lower-cased) password is in the list of commonly used passwords.
    fn is_common(lowercased: &str) -> bool {
        COMMON_PASSWORDS.contains(lowercased)
    }

    /// How many passwords the list holds.
    pub fn common_password_count() -> usize {
        COMMON_PASSWORDS.len()
    }
}

/// The account details a password must not equal, lower-cased.
fn personal_words(context: &PolicyContext<'_>) -> Vec<String> {
    let mut words = Vec::new();
    if let Some(email) = context.email {
        words.push(email.as_str().to_lowercase());
        words.push(email.local_part().to_lowercase());
    }
    if let Some(username) = context.username {
        words.push(username.as_str().to_lowercase());
    }
    let first = context.first_name.map(|n| n.as_str().trim().to_lowercase());
    let last = context.last_name.map(|n| n.as_str().trim().to_lowercase());
    if let (Some(first), Some(last)) = (&first, &last) {
        for (a, b) in [(first, last), (last, first)] {
            words.push(format!("{a}{b}"));
            words.push(format!("{a} {b}"));
        }
    }
    words.extend(first);
    words.extend(last);
    words.retain(|word| !word.is_empty());
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::parse(raw).unwrap()
    }

    fn check(raw: &str, context: &PolicyContext<'_>) -> Result<(), ValueError> {
        PasswordPolicy::check(&password(raw), context)
    }

    #[test]
    fn the_list_is_large_and_excludes_the_seed_passwords() {
        assert!(PasswordPolicy::common_password_count() >= 10_000);
        assert_eq!(PasswordPolicy::common_password_count(), 19_640);
        assert!(!PasswordPolicy::is_common("johnspassword1234@!"));
        assert!(!PasswordPolicy::is_common("securepass123"));
        // The header is not part of the list.
        assert!(!COMMON_PASSWORDS.iter().any(|entry| entry.starts_with("##")));
    }

    #[test]
    fn commonly_used_passwords_are_refused_whatever_their_case() {
        let none = PolicyContext::default();
        for common in [
            "password",
            "password1",
            "Password123",
            "12345678",
            "qwertyuiop",
            "iloveyou",
            "TRUSTNO1",
            "passw0rd",
            "letmein123",
            "  password1 ",
        ] {
            let refused = check(common, &none).unwrap_err();
            assert!(refused.0.contains("commonly used"), "{common}: {refused}");
        }
    }

    #[test]
    fn uncommon_passwords_pass_without_composition_rules() {
        let none = PolicyContext::default();
        for fine in [
            "johnspassword1234@!",
            "securepass123",
            "correct horse battery staple",
            "lowercaseonlybutlong",
            "ünïcödé-pässwörd",
        ] {
            assert_eq!(check(fine, &none), Ok(()), "{fine}");
        }
    }

    #[test]
    fn passwords_equal_to_the_account_details_are_refused_ignoring_case() {
        let email = Email::parse("jonathan.smithers@example.com").unwrap();
        let username = Username::parse("Jonny_Smithers").unwrap();
        let first = PersonName::parse("Quentinella").unwrap();
        let last = PersonName::parse("Featherstone").unwrap();
        let context = PolicyContext {
            email: Some(&email),
            username: Some(&username),
            first_name: Some(&first),
            last_name: Some(&last),
        };
        for personal in [
            "jonathan.smithers@example.com",
            "Jonathan.Smithers@Example.com",
            "jonathan.smithers",
            "jonny_smithers",
            "JONNY_SMITHERS",
            "quentinella",
            "Featherstone",
            "QuentinellaFeatherstone",
            "quentinella featherstone",
            "featherstonequentinella",
        ] {
            let refused = check(personal, &context).unwrap_err();
            assert!(refused.0.contains("email address"), "{personal}: {refused}");
        }
        // Containing a detail is not equalling it.
        assert_eq!(check("quentinella-featherstone-1987", &context), Ok(()));
        assert_eq!(check("jonathan.smithers.example", &context), Ok(()));
    }

    #[test]
    fn the_seed_users_password_contains_his_first_name_and_still_passes() {
        let email = Email::parse("john@doe.com").unwrap();
        let username = Username::parse("john.doe").unwrap();
        let first = PersonName::parse("John").unwrap();
        let last = PersonName::parse("Doe").unwrap();
        let context = PolicyContext {
            email: Some(&email),
            username: Some(&username),
            first_name: Some(&first),
            last_name: Some(&last),
        };
        assert_eq!(check("johnspassword1234@!", &context), Ok(()));
        assert_eq!(check("securepass123", &context), Ok(()));
        assert!(check("john@doe.com", &context).is_err());
        assert!(check("JOHN.DOE", &context).is_err());
    }
}
