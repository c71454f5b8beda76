//! The "last way to log in" rule, one for every way: a password, passkeys (issue "Passkeys")
//! and external identities (issue "Social login"). Removing a way must leave the account one.

/// The ways an account can log in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoginMethods {
    pub password: bool,
    pub passkeys: u32,
    pub identities: u32,
}

/// Whether an account with these ways to log in can still log in; removing a passkey or
/// unlinking an identity must leave this true (else 409 `last_login_method`). Administrators'
/// `DELETE /users/{id}/mfa` is the one exception (the reset mail then reaches the account).
pub fn keeps_a_way_to_log_in(methods: LoginMethods) -> bool {
    methods.password || methods.passkeys > 0 || methods.identities > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_one_way_is_enough_and_none_is_not() {
        assert!(!keeps_a_way_to_log_in(LoginMethods::default()));
        for methods in [
            LoginMethods {
                password: true,
                ..LoginMethods::default()
            },
            LoginMethods {
                passkeys: 1,
                ..LoginMethods::default()
            },
            LoginMethods {
                identities: 1,
                ..LoginMethods::default()
            },
        ] {
            assert!(keeps_a_way_to_log_in(methods));
        }
    }
}
