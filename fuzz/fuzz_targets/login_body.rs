//! The body of `POST /login`: JSON parsing then validation. Invariants: no panic; every
//! refusal is a 400 or 422 JSON error; an accepted email parses again to itself.
#![no_main]

use actix_web::ResponseError;
use auth_api::dto::LoginBody;
use auth_api::extract::parse;
use auth_api::ApiError;
use auth_domain::Email;
use libfuzzer_sys::fuzz_target;

fn check_refusal(error: &ApiError) {
    let status = error.status().as_u16();
    assert!(status == 400 || status == 422, "status {status}");
    let response = error.error_response();
    assert_eq!(response.status().as_u16(), status);
}

fuzz_target!(|data: &[u8]| {
    let body = match parse::<LoginBody>(data) {
        Ok(body) => body,
        Err(error) => return check_refusal(&error),
    };
    match body.validate() {
        Err(error) => {
            check_refusal(&error);
            assert_eq!(error.code(), "validation_failed");
        }
        Ok((email, _password)) => {
            assert_eq!(Email::parse(email.as_str()).as_ref(), Ok(&email));
        }
    }
});
