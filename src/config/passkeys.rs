//! The settings of passkeys: `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME`, `WEBAUTHN_ORIGINS`,
//! `WEBAUTHN_CHALLENGE_TTL`.

use std::net::IpAddr;

use auth_domain::passkeys::PasskeyPolicy;
use auth_infra::webauthn::{WebauthnRelyingParty, WebauthnSettings};
use chrono::TimeDelta;

use super::{invalid, list, ConfigError};

#[derive(Debug, Clone)]
pub struct PasskeyConfig {
    pub policy: PasskeyPolicy,
    pub relying_party: WebauthnSettings,
}

impl PasskeyConfig {
    /// The relying party (its settings were checked when read).
    pub fn relying_party(&self) -> Result<WebauthnRelyingParty, ConfigError> {
        WebauthnRelyingParty::new(&self.relying_party)
            .map_err(|message| invalid("WEBAUTHN_ORIGINS", message))
    }
}

/// `scheme://host[:port]` of a URL (`PUBLIC_URL` may carry a path).
fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
    let authority = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{authority}")
}

/// The host of an origin, without brackets or port.
fn host_of(origin: &str) -> String {
    let authority = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or_default().to_owned();
    }
    authority.split(':').next().unwrap_or_default().to_owned()
}

/// The same scheme and port on `localhost`.
fn localhost_origin(origin: &str) -> String {
    let (scheme, authority) = origin.split_once("://").unwrap_or(("http", origin));
    let port = authority
        .rsplit_once(':')
        .map(|(_, port)| port)
        .filter(|port| !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()))
        .map(|port| format!(":{port}"))
        .unwrap_or_default();
    format!("{scheme}://localhost{port}")
}

fn is_ip(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok()
}

/// Reads the passkey settings; `public_url` is `PUBLIC_URL`, checked already.
pub fn read(
    get: &dyn Fn(&str) -> Option<String>,
    ttl: &dyn Fn(&'static str, &str) -> Result<TimeDelta, ConfigError>,
    public_url: &str,
) -> Result<PasskeyConfig, ConfigError> {
    let public_origin = origin_of(public_url);
    let public_host = host_of(&public_origin);
    // Browsers refuse an IP address as RP ID: `localhost` then (development).
    let rp_id = match get("WEBAUTHN_RP_ID") {
        Some(id) => id.trim().to_ascii_lowercase(),
        None if is_ip(&public_host) => "localhost".to_owned(),
        None => public_host.to_ascii_lowercase(),
    };
    if rp_id.is_empty() || is_ip(&rp_id) || rp_id.contains(['/', ':', ' ']) {
        return Err(invalid(
            "WEBAUTHN_RP_ID",
            format!("{rp_id:?} is not a domain name (browsers refuse IP addresses)"),
        ));
    }
    let mut origins: Vec<String> = list(get("WEBAUTHN_ORIGINS"))
        .map(|origin| origin.trim_end_matches('/').to_owned())
        .collect();
    if origins.is_empty() {
        // The origin of PUBLIC_URL; an IP host cannot carry the RP ID, so the same origin on
        // `localhost` stands in for it.
        origins.push(if is_ip(&public_host) {
            localhost_origin(&public_origin)
        } else {
            public_origin
        });
    }
    let challenge_ttl = ttl("WEBAUTHN_CHALLENGE_TTL", "5m")?;
    let relying_party = WebauthnSettings {
        rp_id,
        rp_name: get("WEBAUTHN_RP_NAME")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|| "auth-server".to_owned()),
        origins,
        challenge_ttl: challenge_ttl
            .to_std()
            .map_err(|_| invalid("WEBAUTHN_CHALLENGE_TTL", "must be positive"))?,
    };
    // Checked now, so a bad origin stops the server at start with one line.
    WebauthnRelyingParty::new(&relying_party).map_err(|message| {
        let variable = if get("WEBAUTHN_ORIGINS").is_some() {
            "WEBAUTHN_ORIGINS"
        } else {
            "WEBAUTHN_RP_ID"
        };
        invalid(variable, message)
    })?;
    Ok(PasskeyConfig {
        policy: PasskeyPolicy { challenge_ttl },
        relying_party,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read_with(vars: &[(&str, &str)], public_url: &str) -> Result<PasskeyConfig, ConfigError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let get = |name: &str| env.get(name).cloned();
        let ttl = |_: &'static str, _: &str| Ok(TimeDelta::minutes(5));
        read(&get, &ttl, public_url)
    }

    #[test]
    fn defaults_follow_public_url() {
        let config = read_with(&[], "https://app.example.com/auth").unwrap();
        assert_eq!(config.relying_party.rp_id, "app.example.com");
        assert_eq!(config.relying_party.origins, ["https://app.example.com"]);
        assert_eq!(config.relying_party.rp_name, "auth-server");
    }

    #[test]
    fn an_ip_public_url_gives_localhost() {
        let config = read_with(&[], "http://127.0.0.1:8000").unwrap();
        assert_eq!(config.relying_party.rp_id, "localhost");
        assert_eq!(config.relying_party.origins, ["http://localhost:8000"]);
    }

    #[test]
    fn origins_must_belong_to_the_rp_id() {
        let refused = read_with(
            &[
                ("WEBAUTHN_RP_ID", "example.com"),
                ("WEBAUTHN_ORIGINS", "https://example.com, https://evil.test"),
            ],
            "https://example.com",
        )
        .unwrap_err();
        assert_eq!(refused.variable, "WEBAUTHN_ORIGINS");
        let ok = read_with(
            &[
                ("WEBAUTHN_RP_ID", "example.com"),
                (
                    "WEBAUTHN_ORIGINS",
                    "https://example.com,https://login.example.com",
                ),
            ],
            "https://example.com",
        )
        .unwrap();
        assert_eq!(ok.relying_party.origins.len(), 2);
        assert_eq!(
            read_with(&[("WEBAUTHN_RP_ID", "10.0.0.1")], "https://example.com")
                .unwrap_err()
                .variable,
            "WEBAUTHN_RP_ID"
        );
    }
}
