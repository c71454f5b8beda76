//! How a session was authenticated: the RFC 8176 `amr` values its access tokens carry.

use std::fmt;

/// One authentication method reference (RFC 8176 §2), plus `ext` for an external identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuthMethod {
    /// A password.
    Pwd,
    /// A one-time password: TOTP or a recovery code.
    Otp,
    /// A hardware-bound key (a passkey).
    Hwk,
    /// User presence/verification by the authenticator (a passkey with user verification).
    User,
    /// An external identity provider (not RFC 8176).
    Ext,
    /// More than one factor.
    Mfa,
}

impl AuthMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::Pwd => "pwd",
            AuthMethod::Otp => "otp",
            AuthMethod::Hwk => "hwk",
            AuthMethod::User => "user",
            AuthMethod::Ext => "ext",
            AuthMethod::Mfa => "mfa",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Some(match raw {
            "pwd" => AuthMethod::Pwd,
            "otp" => AuthMethod::Otp,
            "hwk" => AuthMethod::Hwk,
            "user" => AuthMethod::User,
            "ext" => AuthMethod::Ext,
            "mfa" => AuthMethod::Mfa,
            _ => return None,
        })
    }
}

/// The methods of one login, in the order API.md lists them (`["pwd", "otp", "mfa"]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Amr(Vec<AuthMethod>);

impl Amr {
    pub fn new(methods: impl IntoIterator<Item = AuthMethod>) -> Self {
        let mut list: Vec<AuthMethod> = Vec::new();
        for method in methods {
            if !list.contains(&method) {
                list.push(method);
            }
        }
        Self(list)
    }

    /// A password alone: `["pwd"]`.
    pub fn password() -> Self {
        Self::new([AuthMethod::Pwd])
    }

    /// A passkey with user verification alone: `["hwk", "user", "mfa"]` (possession and the
    /// authenticator's PIN or biometric: two factors).
    pub fn passkey() -> Self {
        Self::new([AuthMethod::Hwk, AuthMethod::User, AuthMethod::Mfa])
    }

    /// The first factor completed by a one-time code (TOTP or recovery code):
    /// `["pwd", "otp", "mfa"]` after a password, `["ext", "otp", "mfa"]` after an identity.
    pub fn with_otp(&self) -> Self {
        Self::new(
            self.0
                .iter()
                .copied()
                .chain([AuthMethod::Otp, AuthMethod::Mfa]),
        )
    }

    /// The first factor completed by a passkey: `["pwd", "hwk", "mfa"]`.
    pub fn with_passkey(&self) -> Self {
        Self::new(
            self.0
                .iter()
                .copied()
                .chain([AuthMethod::Hwk, AuthMethod::Mfa]),
        )
    }

    /// Whether more than one factor was used (`mfa` is present).
    pub fn is_multi_factor(&self) -> bool {
        self.0.contains(&AuthMethod::Mfa)
    }

    pub fn methods(&self) -> &[AuthMethod] {
        &self.0
    }

    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|m| m.as_str().to_owned()).collect()
    }

    /// The stored form: the values separated by spaces (`"pwd otp mfa"`).
    pub fn to_stored(&self) -> String {
        self.to_strings().join(" ")
    }

    /// Reads the stored form (or a token's list); unknown values are dropped.
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        Self::new(values.into_iter().filter_map(AuthMethod::parse))
    }

    pub fn from_stored(stored: &str) -> Self {
        Self::parse(stored.split_whitespace())
    }
}

impl fmt::Display for Amr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_stored())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_combinations_of_api_md() {
        assert_eq!(Amr::password().to_strings(), ["pwd"]);
        assert_eq!(
            Amr::password().with_otp().to_strings(),
            ["pwd", "otp", "mfa"]
        );
        assert_eq!(
            Amr::password().with_passkey().to_strings(),
            ["pwd", "hwk", "mfa"]
        );
        assert_eq!(
            Amr::new([AuthMethod::Ext]).with_otp().to_strings(),
            ["ext", "otp", "mfa"]
        );
        assert_eq!(Amr::passkey().to_strings(), ["hwk", "user", "mfa"]);
        assert!(!Amr::password().is_multi_factor());
        assert!(Amr::password().with_otp().is_multi_factor());
    }

    #[test]
    fn stored_form_round_trips_and_ignores_unknown_values() {
        let amr = Amr::password().with_otp();
        assert_eq!(Amr::from_stored(&amr.to_stored()), amr);
        assert_eq!(Amr::from_stored("pwd bogus"), Amr::password());
    }
}
