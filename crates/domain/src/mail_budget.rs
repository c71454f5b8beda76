//! Mail cannot be used to flood anyone: per kind (verification, reset), per account and per
//! requesting address, at most one mail per `MAIL_MIN_INTERVAL` and `MAIL_MAX_PER_DAY` a day.
//! Beyond the budget a request still answers the same 202 (nothing revealed), and no mail is
//! queued. Keyed by the address too, so a stranger's requests do not spend the owner's budget.
//!
//! The budget is kept in the throttle's store ([`LoginThrottle::spend`]): in the database,
//! shared by every instance, counted atomically.

use std::sync::Arc;

use chrono::TimeDelta;

use crate::error::Fault;
use crate::one_time::OneTimeTokenKind;
use crate::ports::Clock;
use crate::ports::LoginThrottle;
use crate::session::ClientInfo;
use crate::throttle::{AddressKey, Spend, WindowLimit};
use crate::values::Email;

/// `MAIL_MIN_INTERVAL` and `MAIL_MAX_PER_DAY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailLimits {
    pub min_interval: TimeDelta,
    pub max_per_day: u32,
}

impl Default for MailLimits {
    fn default() -> Self {
        Self {
            min_interval: TimeDelta::minutes(1),
            max_per_day: 10,
        }
    }
}

/// The mail budget, per kind, account and requesting address.
#[derive(Clone)]
pub struct MailBudget {
    store: Arc<dyn LoginThrottle>,
    limits: MailLimits,
    clock: Arc<dyn Clock>,
}

impl MailBudget {
    pub fn new(store: Arc<dyn LoginThrottle>, limits: MailLimits, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            limits,
            clock,
        }
    }

    /// Spends one mail of `kind` to `email` requested by `client`: `false` (queue nothing)
    /// when that is beyond the budget.
    pub async fn spend(
        &self,
        kind: OneTimeTokenKind,
        email: &Email,
        client: &ClientInfo,
    ) -> Result<bool, Fault> {
        let now = self.clock.now();
        let address = AddressKey::of_client(client);
        let whom = format!(
            "{}:{}|{}",
            kind.as_str(),
            address.as_ref().map_or("-", AddressKey::as_str),
            email.as_str()
        );
        let interval = WindowLimit {
            max: 1,
            window: self.limits.min_interval,
        };
        // The interval first: a request refused by it spends nothing of the day's budget.
        if let Spend::ExhaustedUntil(_) = self
            .store
            .spend(&format!("mail-interval:{whom}"), &interval, now)
            .await?
        {
            return Ok(false);
        }
        let day = WindowLimit {
            max: self.limits.max_per_day,
            window: TimeDelta::days(1),
        };
        Ok(matches!(
            self.store
                .spend(&format!("mail-day:{whom}"), &day, now)
                .await?,
            Spend::Spent
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockClock;
    use crate::ports::MockLoginThrottle;
    use chrono::{DateTime, TimeZone, Utc};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
    }

    #[tokio::test]
    async fn the_interval_and_the_day_are_spent_per_kind_address_and_account() {
        let mut store = MockLoginThrottle::new();
        store
            .expect_spend()
            .withf(|key, limit, _| {
                key == "mail-interval:password_reset:192.0.2.1|ann@example.com"
                    && limit.max == 1
                    && limit.window == TimeDelta::minutes(1)
            })
            .times(1)
            .returning(|_, _, _| Ok(Spend::Spent));
        store
            .expect_spend()
            .withf(|key, limit, _| {
                key == "mail-day:password_reset:192.0.2.1|ann@example.com"
                    && limit.max == 10
                    && limit.window == TimeDelta::days(1)
            })
            .times(1)
            .returning(|_, _, _| Ok(Spend::ExhaustedUntil(now())));
        let mut clock = MockClock::new();
        clock.expect_now().return_const(now());
        let budget = MailBudget::new(Arc::new(store), MailLimits::default(), Arc::new(clock));
        let client = ClientInfo {
            user_agent: None,
            address: Some("192.0.2.1".into()),
        };
        let email = Email::parse("ann@example.com").unwrap();
        let sent = budget
            .spend(OneTimeTokenKind::PasswordReset, &email, &client)
            .await
            .unwrap();
        assert!(!sent, "the day's budget is spent");
    }
}
