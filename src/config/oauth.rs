//! The settings of social login: `OAUTH_PROVIDERS`, per provider `OAUTH_<NAME>_ISSUER`,
//! `_CLIENT_ID`, `_CLIENT_SECRET`, `_SCOPES`, `_DISPLAY_NAME`, `_TRUST_EMAIL` (GitHub:
//! `_AUTH_URL`, `_TOKEN_URL`, `_API_URL`), `OAUTH_REDIRECT_ALLOWLIST`, `OAUTH_HTTP_TIMEOUT`.
//!
//! Checked at start, every mistake at once, one line each. Providers are not contacted here:
//! their discovery documents are fetched when first needed.

use std::time::Duration;

use auth_api::oauth::RedirectAllowlist;
use auth_infra::oidc::{Flavour, GithubUrls, ProviderSettings};

use super::variable::WhenUnset::{Means, Value};
use super::variable::{list, positive_duration, switch, Env, Setting, Variable};
use super::ConfigError;

const OAUTH_PROVIDERS: Setting<Vec<String>> = Setting::new(
    "OAUTH_PROVIDERS",
    Means("none"),
    |raw| Ok(list(raw).map(str::to_owned).collect()),
    "social login: comma-separated provider names (github selects GitHub's flavour)",
);
const OAUTH_REDIRECT_ALLOWLIST: Setting<Vec<String>> = Setting::new(
    "OAUTH_REDIRECT_ALLOWLIST",
    Means("none"),
    |raw| Ok(list(raw).map(str::to_owned).collect()),
    "comma-separated app URLs the browser may be sent back to (exact origin, path by whole segments); required with providers",
);
const OAUTH_HTTP_TIMEOUT: Setting<Duration> = Setting::new(
    "OAUTH_HTTP_TIMEOUT",
    Value("10s"),
    positive_duration,
    "longest wait for any request to a login provider",
);

/// The per-provider family, as `--help` and the README show it (read by name below).
const fn family(
    name: &'static str,
    default: super::variable::WhenUnset,
    help: &'static str,
) -> Variable {
    Variable {
        name,
        default,
        help,
    }
}

pub const VARIABLES: &[Variable] = &[
    OAUTH_PROVIDERS.variable,
    family(
        "OAUTH_<NAME>_ISSUER",
        Means("none"),
        "the provider's issuer URL (its /.well-known/openid-configuration is read); not for github",
    ),
    family(
        "OAUTH_<NAME>_CLIENT_ID",
        Means("none"),
        "the client id registered at the provider",
    ),
    family(
        "OAUTH_<NAME>_CLIENT_SECRET",
        Means("none"),
        "its client secret (required for github)",
    ),
    family(
        "OAUTH_<NAME>_SCOPES",
        Value("openid email profile"),
        "scopes asked (github: read:user user:email)",
    ),
    family(
        "OAUTH_<NAME>_DISPLAY_NAME",
        Means("the name capitalised"),
        "the name apps show",
    ),
    family(
        "OAUTH_<NAME>_TRUST_EMAIL",
        Value("false"),
        "true: the provider's verified emails may link an existing verified account",
    ),
    family(
        "OAUTH_GITHUB_AUTH_URL",
        Means("GitHub's"),
        "GitHub's authorization endpoint (tests point it elsewhere)",
    ),
    family(
        "OAUTH_GITHUB_TOKEN_URL",
        Means("GitHub's"),
        "GitHub's token endpoint",
    ),
    family(
        "OAUTH_GITHUB_API_URL",
        Means("GitHub's"),
        "GitHub's REST API base",
    ),
    OAUTH_REDIRECT_ALLOWLIST.variable,
    OAUTH_HTTP_TIMEOUT.variable,
];

#[derive(Debug, Clone, Default)]
pub struct OAuthConfig {
    pub providers: Vec<ProviderSettings>,
    pub allowlist: RedirectAllowlist,
    /// Longest wait for any request to a provider.
    pub http_timeout: Duration,
}

const DEFAULT_SCOPES: &str = "openid email profile";
const GITHUB_SCOPES: &str = "read:user user:email";

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn is_url(raw: &str) -> bool {
    url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}

/// Reads the social-login settings: every mistake at once, one line each.
pub(super) fn read(env: &Env) -> Result<OAuthConfig, ConfigError> {
    let mut mistakes: Vec<(String, String)> = Vec::new();
    let mut mistake = |variable: String, message: String| mistakes.push((variable, message));
    let names = OAUTH_PROVIDERS.read(env)?;
    let mut providers: Vec<ProviderSettings> = Vec::new();
    for name in &names {
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            mistake(
                "OAUTH_PROVIDERS".into(),
                format!("{name:?}: a provider name is lower-case letters, digits and _"),
            );
            continue;
        }
        if providers.iter().any(|p| &p.name == name) {
            mistake(
                "OAUTH_PROVIDERS".into(),
                format!("{name:?} is listed twice"),
            );
            continue;
        }
        let var = |suffix: &str| format!("OAUTH_{}_{suffix}", name.to_uppercase());
        let value = |suffix: &str| env.get(&var(suffix)).map(|v| v.trim().to_owned());
        let github = name == "github";
        let client_id = value("CLIENT_ID").unwrap_or_default();
        if client_id.is_empty() {
            mistake(
                var("CLIENT_ID"),
                "is required (the client id the provider gave)".into(),
            );
        }
        let client_secret = value("CLIENT_SECRET").filter(|secret| !secret.is_empty());
        if github && client_secret.is_none() {
            mistake(var("CLIENT_SECRET"), "is required for GitHub".into());
        }
        let flavour = if github {
            let defaults = GithubUrls::default();
            let mut url = |suffix: &str, default: String| {
                let url = value(suffix).unwrap_or(default);
                if !is_url(&url) {
                    mistake(var(suffix), format!("{url:?} is not an http(s) URL"));
                }
                url
            };
            Flavour::Github(GithubUrls {
                auth_url: url("AUTH_URL", defaults.auth_url),
                token_url: url("TOKEN_URL", defaults.token_url),
                api_url: url("API_URL", defaults.api_url),
            })
        } else {
            let issuer = value("ISSUER").unwrap_or_default();
            if issuer.is_empty() {
                mistake(
                    var("ISSUER"),
                    "is required: the issuer URL (its /.well-known/openid-configuration is read)"
                        .into(),
                );
            } else if !is_url(&issuer) {
                mistake(var("ISSUER"), format!("{issuer:?} is not an http(s) URL"));
            }
            Flavour::OpenId { issuer }
        };
        let trust_email = match value("TRUST_EMAIL") {
            None => false,
            Some(raw) => switch(&raw).unwrap_or_else(|| {
                mistake(
                    var("TRUST_EMAIL"),
                    format!("expected true or false, got {raw:?}"),
                );
                false
            }),
        };
        let scopes = value("SCOPES")
            .unwrap_or_else(|| {
                (if github {
                    GITHUB_SCOPES
                } else {
                    DEFAULT_SCOPES
                })
                .into()
            })
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>();
        if !github && !scopes.iter().any(|s| s == "openid") {
            mistake(var("SCOPES"), "must include openid".into());
        }
        providers.push(ProviderSettings {
            name: name.clone(),
            display_name: value("DISPLAY_NAME").unwrap_or_else(|| capitalised(name)),
            client_id,
            client_secret,
            scopes,
            trust_email,
            flavour,
        });
    }
    let entries = OAUTH_REDIRECT_ALLOWLIST.read(env)?;
    let allowlist = match RedirectAllowlist::parse(&entries) {
        Ok(list) => list,
        Err(message) => {
            mistake("OAUTH_REDIRECT_ALLOWLIST".into(), message);
            RedirectAllowlist::default()
        }
    };
    if !providers.is_empty() && entries.is_empty() {
        mistake(
            "OAUTH_REDIRECT_ALLOWLIST".into(),
            "is required with OAUTH_PROVIDERS: the app URLs the user may be sent back to".into(),
        );
    }
    let http_timeout = OAUTH_HTTP_TIMEOUT.read(env)?;
    if let Some(((variable, message), rest)) = mistakes.split_first() {
        // One line per mistake; the first names the variable of the error.
        let mut text = message.clone();
        for (variable, message) in rest {
            text.push_str(&format!("\n{variable}: {message}"));
        }
        return Err(ConfigError {
            variable: Box::leak(variable.clone().into_boxed_str()),
            message: text,
        });
    }
    Ok(OAuthConfig {
        providers,
        allowlist,
        http_timeout,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use super::*;

    fn read_with(vars: &[(&str, &str)]) -> Result<OAuthConfig, ConfigError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let lookup = |name: &str| env.get(name).cloned();
        read(&Env::new(&lookup))
    }

    #[test]
    fn nothing_configured_is_no_provider() {
        assert!(read_with(&[]).unwrap().providers.is_empty());
    }

    #[test]
    fn every_mistake_is_one_line() {
        let error = read_with(&[
            ("OAUTH_PROVIDERS", "corp,github,Bad-Name"),
            ("OAUTH_CORP_ISSUER", "not a url"),
            ("OAUTH_CORP_TRUST_EMAIL", "maybe"),
            ("OAUTH_GITHUB_CLIENT_ID", "id"),
        ])
        .unwrap_err();
        let text = error.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6, "{text}");
        for expected in [
            "OAUTH_PROVIDERS: \"Bad-Name\"",
            "OAUTH_CORP_CLIENT_ID: is required",
            "OAUTH_CORP_ISSUER: \"not a url\"",
            "OAUTH_CORP_TRUST_EMAIL: expected true or false",
            "OAUTH_GITHUB_CLIENT_SECRET: is required",
            "OAUTH_REDIRECT_ALLOWLIST: is required",
        ] {
            assert!(
                lines.iter().any(|l| l.starts_with(expected)),
                "{expected} in {text}"
            );
        }
    }

    #[test]
    fn a_provider_with_defaults() {
        let config = read_with(&[
            ("OAUTH_PROVIDERS", "google"),
            ("OAUTH_GOOGLE_ISSUER", "https://accounts.google.com"),
            ("OAUTH_GOOGLE_CLIENT_ID", "id"),
            ("OAUTH_GOOGLE_CLIENT_SECRET", "secret"),
            ("OAUTH_REDIRECT_ALLOWLIST", "https://app.example.com/auth"),
        ])
        .unwrap();
        let google = &config.providers[0];
        assert_eq!(google.display_name, "Google");
        assert_eq!(google.scopes, ["openid", "email", "profile"]);
        assert!(!google.trust_email);
    }
}
