//! Mounting auth-server's routes into an existing actix-web app, under `/auth`, next to the
//! app's own routes — with a protected route of the app's own behind the same middleware.
//!
//! ```sh
//! cargo run -p auth-api --example mount
//! curl -X POST localhost:8080/auth/create -H 'content-type: application/json' \
//!      -d '{"email":"ann@example.com","password":"correct horse"}'
//! ```

use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use auth_api::{middleware::require_auth, ApiSettings, AuthApi};
use auth_domain::account::AccountService;
use auth_domain::admin::AdminService;
use auth_domain::mfa::{
    MfaChallengeStore, MfaPolicy, MfaPorts, MfaService, RecoveryCodeStore, SecondFactorLogin,
    SecondFactors, TotpStore,
};
use auth_domain::passkeys::{
    CeremonyStore, PasskeyPolicy, PasskeyPorts, PasskeyService, PasskeyStore,
};
use auth_domain::ports::MailOutbox;
use auth_domain::ports::OneTimeTokenRepository;
use auth_domain::ports::{
    AuditLog, Clock, PasswordHasher, Readiness, SessionRepository, TokenService, UserRepository,
};
use auth_domain::recovery::{RecoveryPolicy, RecoveryPorts, RecoveryService};
use auth_domain::{AuthService, Principal, TokenPolicy};
use auth_infra::db::DatabaseUrl;
use auth_infra::mail::{
    parse_sender, spawn_delivery_worker, DeliveryWorker, FileMailer, WakingOutbox,
};
use auth_infra::webauthn::{WebauthnRelyingParty, WebauthnSettings};
use auth_infra::{
    BcryptHasher, DataKey, Database, DatabaseOptions, JwtSettings, JwtTokenService,
    RandomSecretGenerator, SystemClock,
};
use tokio::sync::Notify;

/// The use cases, and the worker that sends their mail (as `.eml` files in `./mail`).
fn auth_api() -> Result<(AuthApi, DeliveryWorker), Box<dyn std::error::Error>> {
    let url = DatabaseUrl::parse("sqlite://example.db")?;
    let database = Database::connect(&url, &DatabaseOptions::default())?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let secret = std::env::var("JWT_SECRET")
        .unwrap_or_else(|_| "example-only-secret-change-me-0123456789".into());
    let tokens = JwtTokenService::new(
        JwtSettings {
            algorithm: auth_infra::jwt::Algorithm::HS256,
            secret: secret.into_bytes(),
            issuer: "my-app".into(),
            audience: None,
            leeway_secs: 0,
            key_pair: None,
        },
        clock.clone(),
    )?;
    let store = Arc::new(database);
    let users = store.clone() as Arc<dyn UserRepository>;
    let sessions = store.clone() as Arc<dyn SessionRepository>;
    let audit = store.clone() as Arc<dyn AuditLog>;
    let tokens = Arc::new(tokens) as Arc<dyn TokenService>;
    let hasher = Arc::new(BcryptHasher::new(10)?) as Arc<dyn PasswordHasher>;
    let policy = TokenPolicy::default();
    let wake = Arc::new(Notify::new());
    let recovery = RecoveryService::new(
        RecoveryPorts {
            users: users.clone(),
            tokens: store.clone() as Arc<dyn OneTimeTokenRepository>,
            outbox: Arc::new(WakingOutbox::new(
                store.clone() as Arc<dyn MailOutbox>,
                wake.clone(),
            )),
            mailer: Arc::new(FileMailer::new(
                "mail",
                parse_sender("my-app <no-reply@localhost>")?,
            )),
            secrets: Arc::new(RandomSecretGenerator),
            hasher: hasher.clone(),
            clock: clock.clone(),
        },
        RecoveryPolicy {
            public_url: "http://127.0.0.1:8080/auth".into(),
            ..RecoveryPolicy::default()
        },
    );
    let worker = spawn_delivery_worker(recovery.clone(), wake.clone(), Duration::from_secs(5));
    // TOTP secrets are encrypted under this key: keep it (`openssl rand -base64 32`). Without
    // one, the example makes a key that lives as long as the process.
    let data_key = match std::env::var("DATA_ENCRYPTION_KEY") {
        Ok(encoded) => DataKey::parse(&encoded)?,
        Err(_) => DataKey::parse(&DataKey::generate_encoded())?,
    };
    let service = AuthService::new(
        users.clone(),
        sessions.clone(),
        tokens.clone(),
        hasher.clone(),
        clock.clone(),
        policy,
    )
    .with_audit(audit.clone())
    .with_second_factors(SecondFactorLogin {
        challenges: store.clone() as Arc<dyn MfaChallengeStore>,
        factors: store.clone() as Arc<dyn SecondFactors>,
        secrets: Arc::new(RandomSecretGenerator),
        token_ttl: MfaPolicy::default().token_ttl,
    });
    let data_key = Arc::new(data_key);
    let outbox: Arc<dyn MailOutbox> = Arc::new(WakingOutbox::new(
        store.clone() as Arc<dyn MailOutbox>,
        wake,
    ));
    // Passkeys for pages served from http://localhost:8080 (the RP ID is `localhost`).
    let relying_party = WebauthnRelyingParty::new(&WebauthnSettings {
        rp_id: "localhost".into(),
        rp_name: "my-app".into(),
        origins: vec!["http://localhost:8080".into()],
        challenge_ttl: Duration::from_secs(300),
    })?;
    let passkeys = PasskeyService::new(
        PasskeyPorts {
            users: users.clone(),
            passkeys: store.clone() as Arc<dyn PasskeyStore>,
            ceremonies: store.clone() as Arc<dyn CeremonyStore>,
            relying_party: Arc::new(relying_party),
            challenges: store.clone() as Arc<dyn MfaChallengeStore>,
            keeper: data_key.clone(),
            outbox: outbox.clone(),
            audit: audit.clone(),
            clock: clock.clone(),
        },
        service.clone(),
        PasskeyPolicy::default(),
        MfaPolicy::default().reauth_max_age,
    );
    let mfa = MfaService::new(
        MfaPorts {
            users: users.clone(),
            totp: store.clone() as Arc<dyn TotpStore>,
            codes: store.clone() as Arc<dyn RecoveryCodeStore>,
            factors: store.clone() as Arc<dyn SecondFactors>,
            challenges: store.clone() as Arc<dyn MfaChallengeStore>,
            keeper: data_key,
            outbox,
            audit: audit.clone(),
            clock: clock.clone(),
        },
        service.clone(),
        MfaPolicy::default(),
    );
    let api = AuthApi {
        service,
        readiness: store as Arc<dyn Readiness>,
        settings: ApiSettings::default(),
        account: AccountService::new(
            users.clone(),
            sessions,
            tokens,
            hasher,
            clock.clone(),
            audit.clone(),
            policy,
        ),
        admin: AdminService::new(users, audit, clock),
        recovery,
        mfa,
        passkeys,
        oauth: None,
    };
    Ok((api, worker))
}

/// A route of the host app that reuses auth-server's middleware.
async fn dashboard(principal: web::ReqData<Principal>) -> HttpResponse {
    HttpResponse::Ok().body(format!("dashboard of {}", principal.user.email))
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (api, _mail_worker) = auth_api()?;
    let api = web::Data::new(api);
    println!("listening on http://127.0.0.1:8080 (auth routes under /auth)");
    HttpServer::new(move || {
        App::new()
            .route(
                "/",
                web::get().to(|| async { HttpResponse::Ok().body("my app") }),
            )
            .service(
                web::scope("/app")
                    // The middleware finds the use cases in this app data.
                    .app_data(api.clone())
                    .route(
                        "/dashboard",
                        web::get().to(dashboard).wrap(from_fn(require_auth)),
                    ),
            )
            .service(auth_api::scope("/auth", api.clone()))
    })
    .bind(("127.0.0.1", 8080))?
    .run()
    .await?;
    Ok(())
}
