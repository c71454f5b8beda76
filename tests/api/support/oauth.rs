//! Helpers of the social-login tests: panva's `oidc-provider` on loopback (one process for the
//! whole test binary, started on first use, `npm ci` first when `tests/oidc/node_modules` is
//! missing), and the app's side of the flow (its `state`, PKCE verifier, redirects followed by
//! hand so every hop can be looked at).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Client, Response};
use serde_json::{json, Value};

use crate::recovery::{mail_settings, MailDir};
use crate::support::{Db, TestApp};

/// auth-server's base as the provider knows it: callbacks are `{PUBLIC_URL}/oauth/{name}/callback`.
/// The test follows the provider's redirect there by hand, to the real server.
pub const PUBLIC_URL: &str = "https://app.example.com/account";
/// The app the browser comes back to (`OAUTH_REDIRECT_ALLOWLIST`).
pub const APP: &str = "https://app.example.com/auth";
pub const CLIENT_ID: &str = "auth-server";
pub const CLIENT_SECRET: &str = "auth-server-test-secret";
/// `corp` is not trusted for emails, `trusted` is; both are the same oidc-provider.
pub const PROVIDERS: [&str; 2] = ["corp", "trusted"];

pub struct OidcProvider {
    pub issuer: String,
    /// Kept so its standard input stays open: the provider exits when the binary does.
    _child: Mutex<Child>,
}

static PROVIDER: OnceLock<OidcProvider> = OnceLock::new();

/// The shared oidc-provider, started on first use.
pub fn oidc_provider() -> &'static OidcProvider {
    PROVIDER.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        if !dir.join("node_modules/oidc-provider").exists() {
            let started = Instant::now();
            let status = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm runs (Node.js 20 is needed by the social-login tests)");
            assert!(status.success(), "npm ci in tests/oidc failed");
            eprintln!("oidc-provider: npm ci took {:?}", started.elapsed());
        }
        let redirects: Vec<String> = PROVIDERS
            .iter()
            .map(|name| format!("{PUBLIC_URL}/oauth/{name}/callback"))
            .collect();
        let started = Instant::now();
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(&dir)
            .env("CLIENT_ID", CLIENT_ID)
            .env("CLIENT_SECRET", CLIENT_SECRET)
            .env("REDIRECT_URIS", redirects.join(","))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs (Node.js 20 is needed by the social-login tests)");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let issuer = loop {
            let line = lines
                .next()
                .expect("oidc-provider printed its issuer")
                .expect("readable");
            if let Some(issuer) = line.strip_prefix("issuer ") {
                break issuer.to_owned();
            }
        };
        eprintln!("oidc-provider {issuer} ready in {:?}", started.elapsed());
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                eprintln!("oidc-provider: {line}");
            }
        });
        OidcProvider {
            issuer,
            _child: Mutex::new(child),
        }
    })
}

/// The settings of a server whose providers are the shared oidc-provider.
pub fn oauth_settings<'a>(issuer: &'a str, mail_dir: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut settings = mail_settings(mail_dir, &[]);
    settings.extend_from_slice(&[
        ("PUBLIC_URL", PUBLIC_URL),
        ("OAUTH_PROVIDERS", "corp,trusted"),
        ("OAUTH_CORP_ISSUER", issuer),
        ("OAUTH_CORP_CLIENT_ID", CLIENT_ID),
        ("OAUTH_CORP_CLIENT_SECRET", CLIENT_SECRET),
        ("OAUTH_TRUSTED_ISSUER", issuer),
        ("OAUTH_TRUSTED_CLIENT_ID", CLIENT_ID),
        ("OAUTH_TRUSTED_CLIENT_SECRET", CLIENT_SECRET),
        ("OAUTH_TRUSTED_TRUST_EMAIL", "true"),
        ("OAUTH_TRUSTED_DISPLAY_NAME", "Trusted Corp"),
        ("OAUTH_REDIRECT_ALLOWLIST", APP),
    ]);
    settings
}

/// A server with the oidc-provider configured (twice: `corp` and `trusted`), and its mail.
pub async fn spawn(db: Db, extra: &[(&str, &str)]) -> (TestApp, MailDir) {
    let provider = oidc_provider();
    let mail = MailDir::new();
    let dir = mail.dir();
    let mut settings = oauth_settings(&provider.issuer, &dir);
    settings.extend_from_slice(extra);
    let app = TestApp::spawn_with(db, &settings).await;
    (app, mail)
}

/// A client that follows no redirect: each hop is checked by the test.
pub fn browser() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The app's side of one flow: its own `state` and PKCE verifier.
pub struct AppSide {
    pub state: String,
    pub verifier: String,
}

impl AppSide {
    pub fn new() -> Self {
        Self {
            state: uuid::Uuid::new_v4().to_string(),
            verifier: format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            ),
        }
    }

    pub fn challenge(&self) -> String {
        auth_domain::oauth::pkce_s256(&self.verifier)
    }

    pub fn authorize_path(&self, provider: &str, redirect_uri: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", &self.state)
            .append_pair("code_challenge", &self.challenge())
            .append_pair("code_challenge_method", "S256")
            .finish();
        format!("/oauth/{provider}/authorize?{query}")
    }
}

/// The claims the provider's ID token will carry.
pub fn person(sub: &str, email: &str, verified: bool) -> Value {
    json!({"sub": sub, "email": email, "email_verified": verified, "given_name": "Ann", "family_name": "Lee"})
}

pub fn location(response: &Response) -> String {
    assert_eq!(response.status(), 302, "a redirect: {response:?}");
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The query parameters of a URL.
pub fn params(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Logs `claims` in at the provider (registered there first, then its dev interaction, with a
/// cookie jar of the test's): from its authorization URL to the callback URL it redirects to.
pub async fn at_provider(authorization_url: &str, claims: &Value) -> String {
    let client = browser();
    let mut cookies: HashMap<String, String> = HashMap::new();
    let mut keep = |response: &Response| {
        for value in response.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            if let Some((name, value)) = pair.split_once('=') {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let base = url::Url::parse(authorization_url).unwrap();
    let response = client.get(authorization_url).send().await.unwrap();
    assert_eq!(
        response.status(),
        303,
        "oidc-provider starts an interaction"
    );
    let absolute = |response: &Response| {
        let location = response.headers()[LOCATION].to_str().unwrap();
        base.join(location).unwrap().to_string()
    };
    let interaction = absolute(&response);
    let jar = keep(&response);
    let registered = client
        .post(base.join("/test/accounts").unwrap())
        .json(claims)
        .send()
        .await
        .unwrap();
    assert_eq!(
        registered.status(),
        204,
        "the test's account is known to the provider"
    );
    let login = claims["sub"].as_str().unwrap().to_owned();
    let response = client
        .post(&interaction)
        .header(COOKIE, jar)
        .form(&[("prompt", "login"), ("login", &login), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "login submitted");
    let resume = absolute(&response);
    let jar = keep(&response);
    let response = client
        .get(&resume)
        .header(COOKIE, jar)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "back to the relying party");
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The provider's redirect to `{PUBLIC_URL}/oauth/…/callback?…`, delivered to the server.
pub async fn deliver_callback(app: &TestApp, callback_url: &str) -> Response {
    let path = callback_url
        .strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{callback_url} is under PUBLIC_URL"));
    browser().get(app.url(path)).send().await.unwrap()
}

/// A whole external login up to the app's redirect: the parameters the app receives.
pub async fn social_login(
    app: &TestApp,
    provider: &str,
    side: &AppSide,
    claims: &Value,
) -> HashMap<String, String> {
    let response = browser()
        .get(app.url(&side.authorize_path(provider, APP)))
        .send()
        .await
        .unwrap();
    let callback = at_provider(&location(&response), claims).await;
    let back = location(&deliver_callback(app, &callback).await);
    assert!(back.starts_with(APP), "{back} goes back to the app");
    let params = params(&back);
    assert_eq!(params["state"], side.state, "the app's state comes back");
    params
}

pub async fn exchange(app: &TestApp, login_code: &str, verifier: &str) -> Response {
    app.post_json(
        "/oauth/token",
        &json!({"login_code": login_code, "code_verifier": verifier}),
    )
    .await
}

/// A whole external login, exchanged: the token answer (a pair or `mfa_required`).
pub async fn log_in_with(app: &TestApp, provider: &str, claims: &Value) -> Value {
    let side = AppSide::new();
    let params = social_login(app, provider, &side, claims).await;
    let code = params
        .get("login_code")
        .unwrap_or_else(|| panic!("a login_code, got {params:?}"));
    let response = exchange(app, code, &side.verifier).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("no-store"));
    response.json().await.unwrap()
}
