//! The settings of passkeys: `WEBAUTHN_RP_ID`, `WEBAUTHN_RP_NAME`, `WEBAUTHN_ORIGINS`,
//! `WEBAUTHN_CHALLENGE_TTL`.

use std::net::IpAddr;

use auth_domain::passkeys::PasskeyPolicy;
use auth_infra::webauthn::{WebauthnRelyingParty, WebauthnSettings};
use chrono::TimeDelta;

use super::variable::WhenUnset::{Means, Value};
use super::variable::{list, optional, trimmed, ttl, Env, Setting, Variable};
use super::ConfigError;

const WEBAUTHN_RP_ID: Setting<Option<String>> = Setting::new(
    "WEBAUTHN_RP_ID",
    Means("the host of PUBLIC_URL; localhost when that is an IP address"),
    |raw| optional(raw, |id| Ok(id.trim().to_ascii_lowercase())),
    "passkeys' relying-party id: a domain (browsers refuse IP addresses)",
);
const WEBAUTHN_RP_NAME: Setting<String> = Setting::new(
    "WEBAUTHN_RP_NAME",
    Value("auth-server"),
    trimmed,
    "the relying party's name that authenticators show",
);
const WEBAUTHN_ORIGINS: Setting<Vec<String>> = Setting::new(
    "WEBAUTHN_ORIGINS",
    Means("the origin of PUBLIC_URL"),
    |raw| Ok(list(raw).map(|o| o.trim_end_matches('/').to_owned()).collect()),
    "comma-separated origins (scheme://host[:port]) whose pages may use passkeys, each on the RP ID or a subdomain of it",
);
const WEBAUTHN_CHALLENGE_TTL: Setting<TimeDelta> = Setting::new(
    "WEBAUTHN_CHALLENGE_TTL",
    Value("5m"),
    ttl,
    "lifetime of a passkey ceremony (its challenge)",
);

pub const VARIABLES: &[Variable] = &[
    WEBAUTHN_RP_ID.variable,
    WEBAUTHN_RP_NAME.variable,
    WEBAUTHN_ORIGINS.variable,
    WEBAUTHN_CHALLENGE_TTL.variable,
];

#[derive(Debug, Clone)]
pub struct PasskeyConfig {
    pub policy: PasskeyPolicy,
    pub relying_party: WebauthnSettings,
}

impl PasskeyConfig {
    /// The relying party (its settings were checked when read).
    pub fn relying_party(&self) -> Result<WebauthnRelyingParty, ConfigError> {
        WebauthnRelyingParty::new(&self.relying_party)
            .map_err(|message| WEBAUTHN_ORIGINS.refuse(message))
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
pub(super) fn read(env: &Env, public_url: &str) -> Result<PasskeyConfig, ConfigError> {
    let public_origin = origin_of(public_url);
    let public_host = host_of(&public_origin);
    let rp_id = match WEBAUTHN_RP_ID.read(env)? {
        Some(id) => id,
        None if is_ip(&public_host) => "localhost".to_owned(),
        None => public_host.to_ascii_lowercase(),
    };
    if rp_id.is_empty() || is_ip(&rp_id) || rp_id.contains(['/', ':', ' ']) {
        return Err(WEBAUTHN_RP_ID.refuse(format!(
            "{rp_id:?} is not a domain name (browsers refuse IP addresses)"
        )));
    }
    let mut origins = WEBAUTHN_ORIGINS.read(env)?;
    if origins.is_empty() {
        // The origin of PUBLIC_URL; an IP host cannot carry the RP ID, so the same origin on
        // `localhost` stands in for it.
        origins.push(if is_ip(&public_host) {
            localhost_origin(&public_origin)
        } else {
            public_origin
        });
    }
    let challenge_ttl = WEBAUTHN_CHALLENGE_TTL.read(env)?;
    let relying_party = WebauthnSettings {
        rp_id,
        rp_name: WEBAUTHN_RP_NAME.read(env)?,
        origins,
        challenge_ttl: challenge_ttl
            .to_std()
            .map_err(|_| WEBAUTHN_CHALLENGE_TTL.refuse("must be positive"))?,
    };
    // Checked now, so a bad origin stops the server at start with one line.
    WebauthnRelyingParty::new(&relying_party).map_err(|message| {
        if WEBAUTHN_ORIGINS.is_set(env) {
            WEBAUTHN_ORIGINS.refuse(message)
        } else {
            WEBAUTHN_RP_ID.refuse(message)
        }
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
        let lookup = |name: &str| env.get(name).cloned();
        read(&Env::new(&lookup), public_url)
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
