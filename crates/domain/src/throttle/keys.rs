//! What a login attempt is counted against: the account + address pair, the account, and the
//! address. Each key is a string the store indexes; the prefixes keep the kinds apart.

use std::net::{IpAddr, Ipv6Addr};

use crate::session::ClientInfo;
use crate::values::Email;

/// A client address as the throttle keys it: an IPv4 address whole, an IPv6 address by its
/// /64 network (which one subscriber usually holds whole).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AddressKey(String);

impl AddressKey {
    pub fn of(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Self(v4.to_string()),
            IpAddr::V6(v6) => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                Self(format!("{}/64", Ipv6Addr::from(segments)))
            }
        }
    }

    /// The key of a client's address as [`ClientInfo`] carries it; `None` when unknown or
    /// not an IP address.
    pub fn of_client(client: &ClientInfo) -> Option<Self> {
        client
            .address
            .as_deref()
            .and_then(|address| address.parse::<IpAddr>().ok())
            .map(Self::of)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The keys of one attempt: an attempt that names an account (a password, a second-factor
/// code) counts against the pair, the account and the address; one that names none (a failed
/// passkey login) against the address only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttemptKeys {
    account: Option<String>,
    address: Option<AddressKey>,
}

impl AttemptKeys {
    /// An attempt on the account `email` (known or not: the keys are the same) from `client`.
    pub fn account(email: &Email, client: &ClientInfo) -> Self {
        Self {
            account: Some(email.as_str().to_owned()),
            address: AddressKey::of_client(client),
        }
    }

    /// An attempt that names no account (a failed passkey login): the address key only.
    pub fn address_only(client: &ClientInfo) -> Self {
        Self {
            account: None,
            address: AddressKey::of_client(client),
        }
    }

    /// The same keys from their parts (tests, and callers that hold an [`AddressKey`]).
    pub fn new(account: Option<&Email>, address: Option<AddressKey>) -> Self {
        Self {
            account: account.map(|email| email.as_str().to_owned()),
            address,
        }
    }

    /// The normalised email the attempt names.
    pub fn email(&self) -> Option<&str> {
        self.account.as_deref()
    }

    pub fn address(&self) -> Option<&AddressKey> {
        self.address.as_ref()
    }

    /// Key 1, `pair:<address>|<email>` (`-` for an unknown address): the address comes
    /// first because it never holds a `|`.
    pub fn pair_key(&self) -> Option<String> {
        let email = self.account.as_deref()?;
        let address = self.address.as_ref().map_or("-", AddressKey::as_str);
        Some(format!("pair:{address}|{email}"))
    }

    /// Key 2, `account:<email>` (the name the single account key always had).
    pub fn account_key(&self) -> Option<String> {
        self.account.as_deref().map(account_key)
    }

    /// Key 3, `login-address:<address>`: a sliding window of failures.
    pub fn address_window_key(&self) -> Option<String> {
        self.address
            .as_ref()
            .map(|address| format!("login-address:{}", address.as_str()))
    }
}

/// The account key of `email` (`account:<email>`).
pub fn account_key(email: &str) -> String {
    format!("account:{email}")
}

/// The key of a per-address budget named `scope` (e.g. `ceremony`): `<scope>:<address>`.
pub fn budget_key(scope: &str, address: &AddressKey) -> String {
    format!("{scope}:{}", address.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(address: &str) -> ClientInfo {
        ClientInfo {
            user_agent: None,
            address: Some(address.to_owned()),
        }
    }

    #[test]
    fn the_three_keys_of_a_login() {
        let email = Email::parse("John@Doe.com").unwrap();
        let keys = AttemptKeys::account(&email, &client("192.0.2.7"));
        assert_eq!(keys.pair_key().unwrap(), "pair:192.0.2.7|john@doe.com");
        assert_eq!(keys.account_key().unwrap(), "account:john@doe.com");
        assert_eq!(
            keys.address_window_key().unwrap(),
            "login-address:192.0.2.7"
        );
        let nowhere = AttemptKeys::account(&email, &ClientInfo::default());
        assert_eq!(nowhere.pair_key().unwrap(), "pair:-|john@doe.com");
        assert_eq!(nowhere.address_window_key(), None);
        let passkey = AttemptKeys::address_only(&client("192.0.2.7"));
        assert_eq!(passkey.pair_key(), None);
        assert_eq!(passkey.account_key(), None);
        assert_eq!(
            passkey.address_window_key().unwrap(),
            "login-address:192.0.2.7"
        );
    }

    #[test]
    fn ipv6_is_keyed_by_its_64_network_and_mapped_ipv4_as_ipv4() {
        let key = |ip: &str| AddressKey::of(ip.parse().unwrap());
        assert_eq!(key("::ffff:192.0.2.7"), key("192.0.2.7"));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::2"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("2001:db8:1:2:aaaa::1").as_str(), "2001:db8:1:2::/64");
        assert_eq!(AddressKey::of_client(&client("not an address")), None);
    }
}
