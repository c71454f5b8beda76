//! A software authenticator for the passkey tests: ES256 keys (p256), attestation `none`,
//! CBOR written by hand (a handful of bytes), so every field can be tampered with. Its
//! responses are the WebAuthn Level 3 JSON a browser's `credential.toJSON()` gives.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::helpers::TestApp;
use crate::lifecycle_support::{post, Pair, PASSWORD};

/// The origin and RP ID of a test server with the default `PUBLIC_URL` (an IP address:
/// the RP ID is `localhost`, the origin `http://localhost:8000`).
pub const ORIGIN: &str = "http://localhost:8000";
pub const RP_ID: &str = "localhost";

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const BE: u8 = 0x08;
const BS: u8 = 0x10;
const AT: u8 = 0x40;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// A CBOR byte string.
fn cbor_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = match bytes.len() {
        n if n < 24 => vec![0x40 | n as u8],
        n if n < 256 => vec![0x58, n as u8],
        n => vec![0x59, (n >> 8) as u8, n as u8],
    };
    out.extend_from_slice(bytes);
    out
}

/// A CBOR text string (short).
fn cbor_text(text: &str) -> Vec<u8> {
    let mut out = vec![0x60 | text.len() as u8];
    out.extend_from_slice(text.as_bytes());
    out
}

/// One passkey on a software authenticator, and the knobs that break its answers.
pub struct Authenticator {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    pub user_handle: Vec<u8>,
    pub counter: u32,
    /// Added to the counter at each signature (0: a synced passkey that reports none).
    pub counter_step: u32,
    pub origin: String,
    pub rp_id: String,
    pub user_verified: bool,
    /// Sign with another key than the registered one.
    pub wrong_key: bool,
    /// Backup eligible and backed up (a synced passkey).
    pub synced: bool,
}

impl Authenticator {
    pub fn new() -> Self {
        let mut id = [0_u8; 16];
        rand_bytes(&mut id);
        Self {
            key: SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            credential_id: id.to_vec(),
            user_handle: Vec::new(),
            counter: 0,
            counter_step: 1,
            origin: ORIGIN.into(),
            rp_id: RP_ID.into(),
            user_verified: true,
            wrong_key: false,
            synced: false,
        }
    }

    fn flags(&self, extra: u8) -> u8 {
        let mut flags = UP | extra;
        if self.user_verified {
            flags |= UV;
        }
        if self.synced {
            flags |= BE | BS;
        }
        flags
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        })
        .to_string()
        .into_bytes()
    }

    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_encoded_point(false);
        let mut key = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        key.extend(cbor_bytes(point.x().expect("x")));
        key.push(0x22);
        key.extend(cbor_bytes(point.y().expect("y")));
        key
    }

    /// Answers creation options (`PublicKeyCredentialCreationOptionsJSON`) as
    /// `RegistrationResponseJSON`.
    pub fn register(&mut self, options: &Value) -> Value {
        assert!(options.get("publicKey").is_none(), "options come unwrapped");
        let challenge = options["challenge"].as_str().expect("challenge");
        self.user_handle = unb64(options["user"]["id"].as_str().expect("user.id"));
        let client_data = self.client_data("webauthn.create", challenge);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(AT));
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0_u8; 16]); // AAGUID
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = vec![0xa3];
        attestation.extend(cbor_text("fmt"));
        attestation.extend(cbor_text("none"));
        attestation.extend(cbor_text("attStmt"));
        attestation.push(0xa0);
        attestation.extend(cbor_text("authData"));
        attestation.extend(cbor_bytes(&auth_data));
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {"credProps": {"rk": true}},
        })
    }

    /// Answers request options (`PublicKeyCredentialRequestOptionsJSON`) as
    /// `AuthenticationResponseJSON`.
    pub fn assert(&mut self, options: &Value) -> Value {
        assert!(options.get("publicKey").is_none(), "options come unwrapped");
        let challenge = options["challenge"].as_str().expect("challenge");
        self.counter += self.counter_step;
        let client_data = self.client_data("webauthn.get", challenge);
        let mut auth_data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        auth_data.push(self.flags(0));
        auth_data.extend(self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let key = if self.wrong_key {
            SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng)
        } else {
            self.key.clone()
        };
        let signature: DerSignature = key.sign(&signed);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&auth_data),
                "signature": b64(signature.as_bytes()),
                "userHandle": b64(&self.user_handle),
            },
            "clientExtensionResults": {},
        })
    }
}

fn rand_bytes(out: &mut [u8]) {
    use p256::elliptic_curve::rand_core::RngCore;
    p256::elliptic_curve::rand_core::OsRng.fill_bytes(out);
}

/// `POST /users/me/passkeys/registration` with the test password: `{registration_id, options}`.
pub async fn begin_registration(app: &TestApp, pair: &Pair) -> Value {
    let response = post(
        app,
        "/users/me/passkeys/registration",
        &pair.access,
        &json!({"password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 200, "registration options");
    response.json().await.unwrap()
}

/// Adds a passkey to the account of `pair` (re-authenticating with `reauth`): the 201 body.
pub async fn add_passkey(
    app: &TestApp,
    pair: &Pair,
    authenticator: &mut Authenticator,
    reauth: &Value,
) -> Value {
    let response = post(app, "/users/me/passkeys/registration", &pair.access, reauth).await;
    assert_eq!(response.status(), 200, "registration options");
    let begun: Value = response.json().await.unwrap();
    let credential = authenticator.register(&begun["options"]);
    let response = post(
        app,
        "/users/me/passkeys",
        &pair.access,
        &json!({"registration_id": begun["registration_id"], "credential": credential}),
    )
    .await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body
}

/// Adds a passkey, re-authenticating with the test password.
pub async fn add_with_password(
    app: &TestApp,
    pair: &Pair,
    authenticator: &mut Authenticator,
) -> Value {
    add_passkey(app, pair, authenticator, &json!({"password": PASSWORD})).await
}

/// `POST /login/passkey/options`: `(challenge_id, options)`.
pub async fn login_options(app: &TestApp) -> (String, Value) {
    let response = app.post_json("/login/passkey/options", &json!({})).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    (
        body["challenge_id"].as_str().unwrap().to_owned(),
        body["options"].clone(),
    )
}

/// A whole passwordless login: the `/login/passkey` response.
pub async fn passkey_login(app: &TestApp, authenticator: &mut Authenticator) -> reqwest::Response {
    let (challenge_id, options) = login_options(app).await;
    let credential = authenticator.assert(&options);
    app.post_json(
        "/login/passkey",
        &json!({"challenge_id": challenge_id, "credential": credential}),
    )
    .await
}

impl Authenticator {
    /// The same credential (key, id, counter) on another device: a clone.
    pub fn duplicate(&self) -> Self {
        Self {
            key: self.key.clone(),
            credential_id: self.credential_id.clone(),
            user_handle: self.user_handle.clone(),
            counter: self.counter,
            counter_step: self.counter_step,
            origin: self.origin.clone(),
            rp_id: self.rp_id.clone(),
            user_verified: self.user_verified,
            wrong_key: self.wrong_key,
            synced: self.synced,
        }
    }
}
