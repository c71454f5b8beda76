//! The body of `POST /create`: JSON parsing (`extract::parse`) then validation into domain
//! values. Invariants: no panic; every refusal is a 400 or 422 JSON error; every
//! acceptance holds values that parse again to themselves.
#![no_main]

use actix_web::ResponseError;
use auth_api::dto::RegisterBody;
use auth_api::extract::parse;
use auth_api::ApiError;
use auth_domain::{Email, Password, PersonName, Username};
use libfuzzer_sys::fuzz_target;

fn check_refusal(error: &ApiError) {
    let status = error.status().as_u16();
    assert!(status == 400 || status == 422, "status {status}");
    let response = error.error_response();
    assert_eq!(response.status().as_u16(), status);
}

fuzz_target!(|data: &[u8]| {
    let body = match parse::<RegisterBody>(data) {
        Ok(body) => body,
        Err(error) => return check_refusal(&error),
    };
    match body.validate() {
        Err(error) => {
            check_refusal(&error);
            assert_eq!(error.code(), "validation_failed");
        }
        Ok(registration) => {
            let email = registration.email.as_str();
            assert_eq!(Email::parse(email).as_ref(), Ok(&registration.email));
            assert!(Password::parse(registration.password.expose()).is_ok());
            if let Some(username) = &registration.profile.username {
                assert_eq!(Username::parse(username.as_str()).as_ref(), Ok(username));
            }
            for name in [
                &registration.profile.first_name,
                &registration.profile.last_name,
            ]
            .into_iter()
            .flatten()
            {
                assert_eq!(PersonName::parse(name.as_str()).as_ref(), Ok(name));
            }
        }
    }
});
