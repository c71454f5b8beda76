//! The re-authentication of every route that adds or removes a way to log in (API.md,
//! "Second factors"): the body is read whole, and its `password` or passkey `credential`
//! checked, before anything else of it.

use std::future::{ready, Future};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use auth_domain::mfa::Reauthenticated;
use auth_domain::session::ClientInfo;
use auth_domain::{Fault, Principal};
use serde_json::{Map, Value};

use crate::client_addr::client_info;
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::AuthApi;

/// The body of a route that adds or removes a way to log in. Read whole (so the password is
/// checked before anything else of it), and an empty body is an empty object: a DELETE sent
/// without a body is answered 403 `reauthentication_required`, like one without `password`.
#[derive(Debug, Default)]
pub struct ReauthBody(pub Map<String, Value>);

impl ReauthBody {
    /// `password`, when it is a string.
    pub fn password(&self) -> Option<&str> {
        self.0.get("password").and_then(Value::as_str)
    }
}

impl FromRequest for ReauthBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let empty = req.headers().get(header::CONTENT_TYPE).is_none()
            && req
                .headers()
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .is_none_or(|length| length.trim() == "0")
            && req.headers().get(header::TRANSFER_ENCODING).is_none();
        if empty {
            return Box::pin(ready(Ok(Self::default())));
        }
        let body = JsonBody::<Map<String, Value>>::from_request(req, payload);
        Box::pin(async move { body.await.map(|JsonBody(map)| Self(map)) })
    }
}

/// The caller of a route that adds or removes a way to log in, re-authenticated by
/// [`reauthenticate`] with the body it sent: extracted after the bearer token (the auth
/// middleware's [`Principal`]), before anything else of the request is looked at.
pub struct ReauthenticatedCaller {
    pub(crate) principal: Principal,
    pub(crate) proof: Reauthenticated,
    pub(crate) body: ReauthBody,
    pub(crate) client: ClientInfo,
}

impl FromRequest for ReauthenticatedCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let principal = req.extensions().get::<Principal>().cloned();
        let api = req.app_data::<web::Data<AuthApi>>().cloned();
        let client = client_info(req);
        let body = ReauthBody::from_request(req, payload);
        Box::pin(async move {
            let (Some(principal), Some(api)) = (principal, api) else {
                log::error!("re-authenticating route without the auth middleware");
                return Err(ApiError::from_fault(&Fault::internal(
                    "re-authenticating route without the auth middleware",
                )));
            };
            let body = body.await?;
            let proof = reauthenticate(&api, &principal, &body, &client).await?;
            Ok(Self {
                principal,
                proof,
                body,
                client,
            })
        })
    }
}

/// The re-authentication of every route that adds or removes a way to log in: the password,
/// a recent login, or (an account without a password) a passkey assertion in `credential`.
async fn reauthenticate(
    api: &AuthApi,
    principal: &Principal,
    body: &ReauthBody,
    client: &ClientInfo,
) -> Result<Reauthenticated, ApiError> {
    // A `credential` that is not an object proves nothing: it is as if absent.
    let credential = crate::passkeys::types::credential(&body.0).ok().flatten();
    Ok(api
        .passkeys
        .reauthenticate(principal, body.password(), credential.as_deref(), client)
        .await?)
}
