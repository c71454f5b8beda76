//! `oauth_*` metrics: external logins by provider and outcome.

use prometheus::{IntCounterVec, Opts, Registry};

pub struct OauthMetrics {
    logins: IntCounterVec,
}

impl OauthMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let logins = IntCounterVec::new(
            Opts::new(
                "oauth_logins_total",
                "Social-login steps, by provider and outcome: started, login_code (the callback \
                 handed the app a code), refused (account_exists, login_failed), linked, \
                 invalid_state, exchanged, mfa_required, invalid_code",
            ),
            &["provider", "outcome"],
        )?;
        registry.register(Box::new(logins.clone()))?;
        Ok(Self { logins })
    }

    pub fn record(&self, provider: &str, outcome: &str) {
        self.logins.with_label_values(&[provider, outcome]).inc();
    }
}
