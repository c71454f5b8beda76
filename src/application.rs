//! The HTTP server: binds the listener, mounts the API with its metrics, and runs it beside
//! the background tasks.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use auth_api::ops::{self, Metrics, PoolState, SessionCacheState};
use auth_api::AuthApi;
use auth_domain::ports::Readiness;
use auth_infra::mail::{parse_sender, FileMailer};

use crate::background::BackgroundTasks;
use crate::{assemble, Config, MailTransport, StartError};

/// A bound, not yet running, HTTP server.
pub struct Application {
    server: Server,
    address: SocketAddr,
    /// Stopped with the server.
    background: BackgroundTasks,
}

impl Application {
    /// Builds everything and binds the listener (`PORT=0` picks a free port).
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let components = assemble(&config).await?;
        match &config.mail.transport {
            MailTransport::Directory(dir) => {
                FileMailer::new(dir.clone(), parse_sender(&config.mail.from)?).ensure_dir()?;
                log::info!(
                    "mail is written as .eml files to {} (set SMTP_URL to send it)",
                    dir.display()
                );
            }
            MailTransport::Smtp(url) => {
                log::info!("mail is sent through {}", auth_infra::db::redacted(url));
            }
        }
        let address = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&address).map_err(|cause| StartError::Bind {
            address: address.clone(),
            cause,
        })?;
        let bound = listener.local_addr().map_err(|cause| StartError::Bind {
            address: address.clone(),
            cause,
        })?;
        let mut settings = config.api.clone();
        settings.jwks = components.jwks.clone();
        let readiness: Arc<dyn Readiness> = Arc::new(components.database.clone());
        let service = components.service.clone();
        let (account, admin) = (components.account.clone(), components.admin.clone());
        let recovery = components.recovery.clone();
        let mfa = components.mfa.clone();
        let passkeys = components.passkeys.clone();
        let oauth = components.oauth.clone();
        let pool = components.database.clone();
        let cache = components.database.clone();
        let metrics = web::Data::new(
            Metrics::new()
                .map_err(|e| StartError::Metrics(e.to_string()))?
                .with_pool_probe(move || {
                    let state = pool.pool_state();
                    PoolState {
                        connections: state.connections,
                        idle_connections: state.idle_connections,
                        max_connections: state.max_connections,
                    }
                })
                .with_session_cache_probe(move || {
                    cache
                        .session_cache_stats()
                        .map(|stats| SessionCacheState {
                            entries: stats.entries as u64,
                            hits: stats.hits,
                            misses: stats.misses,
                            listening: stats.listening,
                        })
                        .unwrap_or_default()
                }),
        );
        let mut server = HttpServer::new(move || {
            let api = AuthApi {
                service: service.clone(),
                readiness: readiness.clone(),
                settings: settings.clone(),
                account: account.clone(),
                admin: admin.clone(),
                recovery: recovery.clone(),
                mfa: mfa.clone(),
                passkeys: passkeys.clone(),
                oauth: oauth.clone(),
            };
            App::new()
                .app_data(metrics.clone())
                .wrap(from_fn(ops::observe))
                .wrap(auth_api::access_log::middleware())
                .service(auth_api::scope("", web::Data::new(api)))
        })
        .shutdown_timeout(30)
        // After answering a request whose body it will not read (413, 408), the connection is
        // closed at once: no "lingering close" that would go on reading and discarding what
        // the client still sends (a second of it is hundreds of megabytes on a fast link).
        .client_disconnect_timeout(std::time::Duration::ZERO);
        if let Some(workers) = config.workers {
            server = server.workers(workers);
        }
        // Blocking threads per worker: no more than can do work at once, one per pooled
        // connection (bcrypt has threads of its own), so a burst of session-cache misses
        // queues for the pool instead of starting a thread per request (actix's default
        // allows 512 in all; each thread keeps about 350 KiB resident, and 100 of them were
        // 35 MiB).
        server = server.worker_max_blocking_threads(config.database.max_connections as usize);
        let server = server
            .listen(listener)
            .map_err(|cause| StartError::Bind {
                address: address.clone(),
                cause,
            })?
            .run();
        // Started last, so a server that fails to start leaves no task behind.
        let background = BackgroundTasks::start(&components, &config);
        Ok(Self {
            server,
            address: bound,
            background,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A handle to stop the server (gracefully or not).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGINT/SIGTERM (or the handle) stops it; in-flight requests finish.
    pub async fn run(self) -> std::io::Result<()> {
        let _background = self.background;
        self.server.await
    }
}
