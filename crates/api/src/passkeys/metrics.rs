//! `passkey_*` metrics: passkey logins by outcome, and changes of passkeys.

use prometheus::{IntCounterVec, Opts, Registry};

pub struct PasskeyMetrics {
    logins: IntCounterVec,
    changes: IntCounterVec,
}

impl PasskeyMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let logins = IntCounterVec::new(
            Opts::new(
                "passkey_logins_total",
                "Passkey assertions, by step (login, second_factor) and outcome: succeeded, \
                 refused, malformed, throttled",
            ),
            &["step", "outcome"],
        )?;
        let changes = IntCounterVec::new(
            Opts::new(
                "passkey_changes_total",
                "Changes of passkeys: added, renamed, removed",
            ),
            &["change"],
        )?;
        registry.register(Box::new(logins.clone()))?;
        registry.register(Box::new(changes.clone()))?;
        Ok(Self { logins, changes })
    }

    pub fn record_login(&self, step: &str, outcome: &str) {
        self.logins.with_label_values(&[step, outcome]).inc();
    }

    pub fn record_change(&self, change: &str) {
        self.changes.with_label_values(&[change]).inc();
    }
}
