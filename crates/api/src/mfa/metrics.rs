//! `mfa_*` metrics: second-factor logins by outcome, and changes of second factors.

use prometheus::{IntCounterVec, Opts, Registry};

pub struct MfaMetrics {
    logins: IntCounterVec,
    changes: IntCounterVec,
}

impl MfaMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let logins = IntCounterVec::new(
            Opts::new(
                "mfa_logins_total",
                "Second-factor login steps, by outcome: challenged (a right password asked for \
                 a second factor), succeeded, wrong_code, invalid_token, throttled",
            ),
            &["outcome"],
        )?;
        let changes = IntCounterVec::new(
            Opts::new(
                "mfa_changes_total",
                "Changes of second factors: totp_enabled, totp_disabled, \
                 recovery_codes_renewed, recovery_code_used, reset",
            ),
            &["change"],
        )?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(changes.clone()))?;
        Ok(Self { logins, changes })
    }

    pub fn record_login(&self, outcome: &str) {
        self.logins.with_label_values(&[outcome]).inc();
    }

    pub fn record_change(&self, change: &str) {
        self.changes.with_label_values(&[change]).inc();
    }
}
