//! The HTTP surface: token keys and the auth header, request-body limits, the proxies believed
//! and the origins CORS allows.

use std::net::IpAddr;
use std::time::Duration;

use actix_web::http::header::HeaderName;
use auth_api::hardening::parse_origin;
use auth_api::ApiSettings;
use ipnet::IpNet;

use super::variable::WhenUnset::{Means, Value};
use super::variable::{list, positive_duration, whole_number, Env, Setting, Variable};
use super::ConfigError;

/// A JSON key of the token response, which must not shadow one of its fixed keys.
fn token_key(raw: &str) -> Result<String, String> {
    let value = raw.trim().to_owned();
    if value == "token_type" || value == "expires_in" {
        return Err(format!("{value:?} is already a key of the token response"));
    }
    Ok(value)
}

const ACCESS_TOKEN_NAME: Setting<String> = Setting::new(
    "ACCESS_TOKEN_NAME",
    Value("access_token"),
    token_key,
    "JSON key of the access token",
);
const REFRESH_TOKEN_NAME: Setting<String> = Setting::new(
    "REFRESH_TOKEN_NAME",
    Value("refresh_token"),
    token_key,
    "JSON key of the refresh token",
);
const AUTH_HEADER_NAME: Setting<HeaderName> = Setting::new(
    "AUTH_HEADER_NAME",
    Value("Authorization"),
    |raw| {
        HeaderName::from_bytes(raw.trim().as_bytes())
            .map_err(|_| format!("{raw:?} is not a header name"))
    },
    "header carrying the access token",
);
const AUTH_HEADER_TYPES: Setting<Vec<String>> = Setting::new(
    "AUTH_HEADER_TYPES",
    Value("Bearer"),
    |raw| {
        let schemes: Vec<String> = list(raw).map(str::to_owned).collect();
        if schemes.is_empty() {
            return Err("must list at least one scheme".into());
        }
        Ok(schemes)
    },
    "accepted schemes, comma-separated, case-insensitive",
);
const MAX_BODY_BYTES: Setting<usize> = Setting::new(
    "MAX_BODY_BYTES",
    Value("65536"),
    |raw| match whole_number::<u64>(raw)? {
        bytes @ 1_024.. => Ok(bytes as usize),
        _ => Err("must be at least 1024".into()),
    },
    "largest request body accepted; a larger one gets 413 and the connection is closed",
);
const REQUEST_BODY_TIMEOUT: Setting<Duration> = Setting::new(
    "REQUEST_BODY_TIMEOUT",
    Value("10s"),
    positive_duration,
    "the whole request body must arrive within this long, else 408 request_timeout and the connection is closed",
);
const TRUSTED_PROXIES: Setting<Vec<IpNet>> = Setting::new(
    "TRUSTED_PROXIES",
    Means("none"),
    |raw| {
        list(raw)
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is neither an IP address nor a CIDR network"))
            })
            .collect()
    },
    "comma-separated addresses or CIDRs whose X-Forwarded-For is believed",
);
const CORS_ALLOWED_ORIGINS: Setting<Vec<String>> = Setting::new(
    "CORS_ALLOWED_ORIGINS",
    Means("none: CORS off"),
    |raw| list(raw).map(parse_origin).collect(),
    "comma-separated origins (scheme://host[:port]) allowed by CORS",
);

pub const VARIABLES: &[Variable] = &[
    ACCESS_TOKEN_NAME.variable,
    REFRESH_TOKEN_NAME.variable,
    AUTH_HEADER_NAME.variable,
    AUTH_HEADER_TYPES.variable,
    MAX_BODY_BYTES.variable,
    REQUEST_BODY_TIMEOUT.variable,
    TRUSTED_PROXIES.variable,
    CORS_ALLOWED_ORIGINS.variable,
];

/// The HTTP settings; the JWK Set and `REQUIRE_MFA_FOR_ADMINS` are added by the caller.
pub(super) fn read(env: &Env) -> Result<ApiSettings, ConfigError> {
    let access_token_name = ACCESS_TOKEN_NAME.read(env)?;
    let refresh_token_name = REFRESH_TOKEN_NAME.read(env)?;
    if access_token_name == refresh_token_name {
        return Err(REFRESH_TOKEN_NAME.refuse("must differ from ACCESS_TOKEN_NAME"));
    }
    Ok(ApiSettings {
        access_token_name,
        refresh_token_name,
        auth_header: AUTH_HEADER_NAME.read(env)?,
        auth_schemes: AUTH_HEADER_TYPES.read(env)?,
        max_body_bytes: MAX_BODY_BYTES.read(env)?,
        body_timeout: REQUEST_BODY_TIMEOUT.read(env)?,
        trusted_proxies: TRUSTED_PROXIES.read(env)?,
        cors_allowed_origins: CORS_ALLOWED_ORIGINS.read(env)?,
        ..ApiSettings::default()
    })
}
