//! Operating the server: Prometheus metrics, and a request id on every request.
//!
//! The composition root registers one [`Metrics`] as app data (`web::Data<Metrics>`) and wraps
//! the app in [`observe`]; `GET /metrics` (in [`crate::scope`]) renders them. Without a
//! registered `Metrics`, `observe` still tags requests and `/metrics` answers 404.
use actix_web::{web, HttpRequest, HttpResponse};

use crate::error::ApiError;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// What the database pool reports (r2d2's `Pool::state()` and its size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolState {
    pub connections: u32,
    pub idle_connections: u32,
    pub max_connections: u32,
}

type PoolProbe = Box<dyn Fn() -> PoolState + Send + Sync>;

/// What the session cache reports (PostgreSQL with `SESSION_CACHE_SIZE` > 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionCacheState {
    pub entries: u64,
    pub hits: u64,
    pub misses: u64,
    /// Whether its invalidation listener is listening (otherwise the cache is bypassed).
    pub listening: bool,
}

type SessionCacheProbe = Box<dyn Fn() -> SessionCacheState + Send + Sync>;

/// The server's Prometheus metrics.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    login_successes: IntCounter,
    login_failures: IntCounter,
    login_lockouts: IntCounter,
    refresh_reuse: IntCounter,
    pool_connections: IntGauge,
    pool_idle: IntGauge,
    pool_in_use: IntGauge,
    pool_max: IntGauge,
    pool_probe: Option<PoolProbe>,
    cache_entries: IntGauge,
    cache_hits: IntCounter,
    cache_misses: IntCounter,
    cache_listening: IntGauge,
    cache_probe: Option<SessionCacheProbe>,
    mfa: crate::mfa::metrics::MfaMetrics,
    passkeys: crate::passkeys::metrics::PasskeyMetrics,
    oauth: crate::oauth::metrics::OauthMetrics,
}

/// Latency buckets (seconds): from half a millisecond (a cached check) to ten seconds (a
/// request that waited out a pool checkout).
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    /// Creates the metrics in a registry of their own.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests answered, by method, route pattern and status",
            ),
            &["method", "route", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Time to answer an HTTP request, by method and route pattern",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["method", "route"],
        )?;
        let counter = |name: &str, help: &str| IntCounter::new(name, help);
        let gauge = |name: &str, help: &str| IntGauge::new(name, help);
        let metrics = Self {
            login_successes: counter("login_successes_total", "Logins that issued tokens")?,
            login_failures: counter(
                "login_failures_total",
                "Logins refused for invalid credentials",
            )?,
            login_lockouts: counter(
                "login_lockouts_total",
                "Logins refused because the account or address is locked out",
            )?,
            refresh_reuse: counter(
                "refresh_reuse_detected_total",
                "Rotated refresh tokens presented again (their session was revoked)",
            )?,
            pool_connections: gauge(
                "db_pool_connections",
                "Open database connections in the pool",
            )?,
            pool_idle: gauge(
                "db_pool_idle_connections",
                "Open database connections waiting in the pool",
            )?,
            pool_in_use: gauge(
                "db_pool_in_use_connections",
                "Database connections checked out by a request",
            )?,
            pool_max: gauge(
                "db_pool_max_connections",
                "Largest number of connections the pool opens",
            )?,
            cache_entries: gauge(
                "session_cache_entries",
                "Sessions held by the session cache",
            )?,
            cache_hits: counter(
                "session_cache_hits_total",
                "Authentications answered by the session cache, without a query",
            )?,
            cache_misses: counter(
                "session_cache_misses_total",
                "Authentications the session cache could not answer (read from the database)",
            )?,
            cache_listening: gauge(
                "session_cache_listening",
                "1 while the session cache's invalidation listener listens (else it is bypassed)",
            )?,
            mfa: crate::mfa::metrics::MfaMetrics::new(&registry)?,
            passkeys: crate::passkeys::metrics::PasskeyMetrics::new(&registry)?,
            oauth: crate::oauth::metrics::OauthMetrics::new(&registry)?,
            registry,
            requests,
            latency,
            pool_probe: None,
            cache_probe: None,
        };
        metrics
            .registry
            .register(Box::new(metrics.requests.clone()))?;
        metrics
            .registry
            .register(Box::new(metrics.latency.clone()))?;
        for counter in [
            &metrics.login_successes,
            &metrics.login_failures,
            &metrics.login_lockouts,
            &metrics.refresh_reuse,
            &metrics.cache_hits,
            &metrics.cache_misses,
        ] {
            metrics.registry.register(Box::new(counter.clone()))?;
        }
        for gauge in [
            &metrics.pool_connections,
            &metrics.pool_idle,
            &metrics.pool_in_use,
            &metrics.pool_max,
            &metrics.cache_entries,
            &metrics.cache_listening,
        ] {
            metrics.registry.register(Box::new(gauge.clone()))?;
        }
        Ok(metrics)
    }

    /// Reads the pool's state each time the metrics are rendered.
    pub fn with_pool_probe(
        mut self,
        probe: impl Fn() -> PoolState + Send + Sync + 'static,
    ) -> Self {
        self.pool_probe = Some(Box::new(probe));
        self
    }

    /// Reads the session cache's counters each time the metrics are rendered.
    pub fn with_session_cache_probe(
        mut self,
        probe: impl Fn() -> SessionCacheState + Send + Sync + 'static,
    ) -> Self {
        self.cache_probe = Some(Box::new(probe));
        self
    }

    pub fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[method, route, status_label(status)])
            .inc();
        self.latency
            .with_label_values(&[method, route])
            .observe(seconds);
    }

    pub fn record_login_success(&self) {
        self.login_successes.inc();
    }

    pub fn record_login_failure(&self) {
        self.login_failures.inc();
    }

    /// The hook for login throttling: one call per login refused by a lockout.
    pub fn record_login_lockout(&self) {
        self.login_lockouts.inc();
    }

    /// The second-factor metrics (`mfa_*`).
    pub fn mfa(&self) -> &crate::mfa::metrics::MfaMetrics {
        &self.mfa
    }

    /// The passkey metrics (`passkey_*`).
    pub fn passkeys(&self) -> &crate::passkeys::metrics::PasskeyMetrics {
        &self.passkeys
    }

    /// The social-login metrics (`oauth_*`).
    pub fn oauth(&self) -> &crate::oauth::metrics::OauthMetrics {
        &self.oauth
    }

    pub fn record_refresh_reuse(&self) {
        self.refresh_reuse.inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        if let Some(probe) = &self.pool_probe {
            let state = probe();
            self.pool_connections.set(i64::from(state.connections));
            self.pool_idle.set(i64::from(state.idle_connections));
            self.pool_in_use.set(i64::from(
                state.connections.saturating_sub(state.idle_connections),
            ));
            self.pool_max.set(i64::from(state.max_connections));
        }
        if let Some(probe) = &self.cache_probe {
            let state = probe();
            self.cache_entries
                .set(i64::try_from(state.entries).unwrap_or(i64::MAX));
            self.cache_listening.set(i64::from(state.listening));
            for (counter, now) in [
                (&self.cache_hits, state.hits),
                (&self.cache_misses, state.misses),
            ] {
                counter.inc_by(now.saturating_sub(counter.get()));
            }
        }
        TextEncoder::new().encode_to_string(&self.registry.gather())
    }

    /// The registry, to add metrics of an embedding application.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// Status labels come from a fixed set, so a label value is never allocated per request.
fn status_label(status: u16) -> &'static str {
    const KNOWN: &[(u16, &str)] = &[
        (200, "200"),
        (201, "201"),
        (202, "202"),
        (204, "204"),
        (304, "304"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (409, "409"),
        (413, "413"),
        (415, "415"),
        (422, "422"),
        (429, "429"),
        (500, "500"),
        (503, "503"),
    ];
    KNOWN
        .iter()
        .find(|(code, _)| *code == status)
        .map(|(_, label)| *label)
        .unwrap_or(match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        })
}

/// The metrics registered as app data, if any.
pub fn metrics_of(req: &HttpRequest) -> Option<&Metrics> {
    req.app_data::<web::Data<Metrics>>()
        .map(|data| data.get_ref())
}

/// The metrics in the Prometheus text format; 404 when the server registers none.
#[utoipa::path(
    get, path = "/metrics", tag = "operations", operation_id = "metrics",
    responses(
        (status = 200, description = "Prometheus text exposition (version 0.0.4): `http_requests_total`, `http_request_duration_seconds`, `login_successes_total`, `login_failures_total`, `login_lockouts_total`, `refresh_reuse_detected_total`, `db_pool_*`, `session_cache_*`", content_type = "text/plain", body = String),
        (status = 404, description = "`not_found`: metrics are not enabled", body = crate::error::ErrorBody),
        (status = 500, description = "`internal_error`", body = crate::error::ErrorBody),
    )
)]
pub async fn metrics(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some(metrics) = metrics_of(&req) else {
        return Err(ApiError::not_found());
    };
    let text = metrics
        .render()
        .map_err(|e| ApiError::from_fault(&auth_domain::Fault::internal(e)))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::is_sane_request_id;

    #[test]
    fn only_short_plain_tokens_are_kept_as_request_ids() {
        for good in ["abc", "0193b0a2-7c1e-7000-8000-000000000000", "a.b_c-D9"] {
            assert!(is_sane_request_id(good), "{good}");
        }
        let too_long = "a".repeat(65);
        for bad in ["", "a b", "a\"b", "line\nbreak", "é", too_long.as_str()] {
            assert!(!is_sane_request_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn metrics_render_in_the_text_format() -> Result<(), prometheus::Error> {
        let metrics = Metrics::new()?.with_pool_probe(|| PoolState {
            connections: 3,
            idle_connections: 1,
            max_connections: 10,
        });
        metrics.record_request("GET", "/", 200, 0.002);
        metrics.record_login_failure();
        metrics.record_login_lockout();
        let text = metrics.render()?;
        assert!(text.contains("http_requests_total{method=\"GET\",route=\"/\",status=\"200\"} 1"));
        assert!(text.contains(
            "http_request_duration_seconds_bucket{method=\"GET\",route=\"/\",le=\"0.0025\"} 1"
        ));
        assert!(text.contains("login_failures_total 1"));
        assert!(text.contains("login_lockouts_total 1"));
        assert!(text.contains("login_successes_total 0"));
        assert!(text.contains("db_pool_connections 3"));
        assert!(text.contains("db_pool_in_use_connections 2"));
        assert!(text.contains("db_pool_max_connections 10"));
        Ok(())
    }

    #[test]
    fn unusual_statuses_fall_into_classes() {
        assert_eq!(status_label(200), "200");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(502), "5xx");
    }
}
