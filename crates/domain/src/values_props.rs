//! Property tests of the value types: what each accepts, exactly, and that none panics.

use proptest::prelude::*;

use super::*;

/// Strings that look like email addresses (and many near misses), with odd case, spaces
/// and non-ASCII letters.
fn email_like() -> impl Strategy<Value = String> {
    (
        "[ \t]{0,2}",
        "[a-zA-Z0-9._%+\\-ÄÉİßΣ]{0,70}",
        prop::sample::select(vec!["@", "@@", "", "@\u{7}"]),
        "[a-zA-Z0-9\\-ÄÉİ]{0,40}",
        prop::sample::select(vec![".com", ".ORG", "", ".x", ".de.", ".co.uk"]),
        "[ \t\n]{0,2}",
    )
        .prop_map(|(lead, local, at, domain, tld, trail)| {
            format!("{lead}{local}{at}{domain}{tld}{trail}")
        })
}

fn check_email(raw: &str) -> Result<(), TestCaseError> {
    if let Ok(email) = Email::parse(raw) {
        let value = email.as_str();
        prop_assert!(!value.is_empty());
        prop_assert!(value.len() <= Email::MAX_LEN, "{} bytes", value.len());
        prop_assert!(!value.chars().any(char::is_control));
        prop_assert_eq!(value, value.to_lowercase(), "lower-cased");
        prop_assert_eq!(value, value.trim(), "trimmed");
        // Parsing its own output gives the same email back.
        prop_assert_eq!(Email::parse(value), Ok(email.clone()));
        prop_assert!(email.local_part().len() < value.len());
    }
    if raw.chars().any(char::is_control) && raw.trim().chars().any(char::is_control) {
        prop_assert!(Email::parse(raw).is_err(), "control characters refused");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn email_properties_hold_on_arbitrary_strings(raw in any::<String>()) {
        check_email(&raw)?;
    }

    #[test]
    fn email_properties_hold_on_email_like_strings(raw in email_like()) {
        check_email(&raw)?;
    }

    #[test]
    fn email_equality_ignores_case_and_surrounding_space(
        local in "[a-z0-9]{1,20}",
        domain in "[a-z0-9]{1,20}",
    ) {
        let plain = format!("{local}@{domain}.com");
        let shouted = format!("  {}\t", plain.to_uppercase());
        prop_assert_eq!(Email::parse(&plain), Email::parse(&shouted));
        prop_assert!(Email::parse(&plain).is_ok());
    }

    #[test]
    fn email_over_254_bytes_is_refused(local in "[a-z]{64}", labels in prop::collection::vec("[a-z]{60}", 3..6)) {
        let raw = format!("{local}@{}.com", labels.join("."));
        prop_assume!(raw.len() > Email::MAX_LEN);
        prop_assert!(Email::parse(&raw).is_err());
    }

    #[test]
    fn password_accepts_exactly_8_chars_to_72_bytes_without_nul(raw in any::<String>()) {
        let expected = raw.chars().count() >= Password::MIN_CHARS
            && raw.len() <= Password::MAX_BYTES
            && !raw.contains('\0');
        let parsed = Password::parse(&raw);
        prop_assert_eq!(parsed.is_ok(), expected, "{:?}", raw);
        if let Ok(password) = parsed {
            prop_assert_eq!(password.expose(), raw.as_str(), "kept verbatim");
            prop_assert_eq!(format!("{:?}", password), "Password(<redacted>)");
        }
    }

    #[test]
    fn password_bounds_on_the_edges(
        chars in prop::collection::vec(
            prop::sample::select(vec!['a', 'é', '€', '𝄞', ' ', '\0', '\u{7}']), 0..80),
    ) {
        let raw: String = chars.into_iter().collect();
        let expected = raw.chars().count() >= 8 && raw.len() <= 72 && !raw.contains('\0');
        prop_assert_eq!(Password::parse(&raw).is_ok(), expected, "{:?}", raw);
    }

    #[test]
    fn username_length_rules(
        core in prop::collection::vec(
            prop::sample::select(vec!['a', 'Z', '.', '_', '-', 'é', 'İ', '𝄞', '7']), 0..170),
        pad in "[ \t]{0,3}",
    ) {
        let core: String = core.into_iter().collect();
        let raw = format!("{pad}{core}{pad}");
        let count = core.chars().count();
        let parsed = Username::parse(&raw);
        prop_assert_eq!(parsed.is_ok(), (1..=Username::MAX_CHARS).contains(&count), "{:?}", raw);
        if let Ok(username) = parsed {
            prop_assert_eq!(username.as_str(), core.as_str(), "trimmed, otherwise kept");
            prop_assert_eq!(username.key(), core.to_lowercase());
        }
    }

    #[test]
    fn usernames_with_inner_spaces_are_refused(a in "[a-z]{1,10}", b in "[a-z]{1,10}", space in "[ \t\u{a0}]") {
        let raw = format!("{a}{space}{b}");
        prop_assert!(Username::parse(&raw).is_err());
    }

    #[test]
    fn person_name_length_rules(
        core in prop::collection::vec(
            prop::sample::select(vec!['a', 'Z', ' ', '\'', '-', 'é', 'ß', '李', '𝄞']), 0..170),
    ) {
        let core: String = core.into_iter().collect();
        let trimmed = core.trim();
        let count = trimmed.chars().count();
        let parsed = PersonName::parse(&core);
        prop_assert_eq!(parsed.is_ok(), (1..=PersonName::MAX_CHARS).contains(&count), "{:?}", core);
        if let Ok(name) = parsed {
            prop_assert_eq!(name.as_str(), trimmed);
        }
    }

    #[test]
    fn names_never_accept_control_characters(raw in any::<String>()) {
        let parsed = [
            Username::parse(&raw).map(|u| u.as_str().to_owned()),
            PersonName::parse(&raw).map(|n| n.as_str().to_owned()),
        ];
        for value in parsed.into_iter().flatten() {
            prop_assert!(!value.chars().any(char::is_control));
            prop_assert!(!value.is_empty() && value.chars().count() <= 150);
            prop_assert_eq!(value.trim(), value.as_str());
        }
    }
}
