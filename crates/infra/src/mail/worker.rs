//! The background delivery worker: runs `RecoveryService::deliver_due` rounds, woken at once
//! when a request enqueues mail and otherwise every poll interval (which picks up retries and
//! mail enqueued by other instances).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use auth_domain::mail::{MailIntent, QueuedMail};
use auth_domain::ports::MailOutbox;
use auth_domain::recovery::{DeliveryOutcome, DeliveryReport, RecoveryService};
use auth_domain::Fault;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// How often expired one-time tokens are purged.
const PURGE_EVERY: Duration = Duration::from_secs(3_600);

/// An outbox that wakes the local worker after each enqueue, so mail leaves without waiting
/// for the next poll.
pub struct WakingOutbox {
    inner: Arc<dyn MailOutbox>,
    wake: Arc<Notify>,
}

impl WakingOutbox {
    pub fn new(inner: Arc<dyn MailOutbox>, wake: Arc<Notify>) -> Self {
        Self { inner, wake }
    }
}

#[async_trait]
impl MailOutbox for WakingOutbox {
    async fn enqueue(&self, intent: &MailIntent, now: DateTime<Utc>) -> Result<(), Fault> {
        self.inner.enqueue(intent, now).await?;
        // A permit is stored if the worker is busy: the wake-up is not lost.
        self.wake.notify_one();
        Ok(())
    }

    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<QueuedMail>, Fault> {
        self.inner.claim_due(now, lease_until, limit).await
    }

    async fn finish(&self, id: Uuid) -> Result<(), Fault> {
        self.inner.finish(id).await
    }

    async fn retry_at(
        &self,
        id: Uuid,
        next_attempt_at: DateTime<Utc>,
        error: &str,
    ) -> Result<(), Fault> {
        self.inner.retry_at(id, next_attempt_at, error).await
    }

    async fn give_up(&self, id: Uuid, now: DateTime<Utc>, error: &str) -> Result<(), Fault> {
        self.inner.give_up(id, now, error).await
    }
}

/// A running worker; it stops when this value is dropped. A send cut short is retried (by
/// this or another instance) once its claim runs out.
pub struct DeliveryWorker {
    task: JoinHandle<()>,
}

impl Drop for DeliveryWorker {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn log_report(report: &DeliveryReport) {
    let DeliveryReport {
        id,
        kind,
        attempt,
        outcome,
    } = report;
    match outcome {
        DeliveryOutcome::Delivered => {
            log::info!("mail {id} ({kind}) delivered on attempt {attempt}");
        }
        DeliveryOutcome::NothingToSend => {
            log::info!("mail {id} ({kind}) dropped: nothing to send");
        }
        DeliveryOutcome::Retrying { at, error } => {
            log::warn!("mail {id} ({kind}) attempt {attempt} failed, next attempt at {at}: {error}")
        }
        DeliveryOutcome::GaveUp { error } => {
            log::error!("mail {id} ({kind}) given up after attempt {attempt}: {error}");
        }
        DeliveryOutcome::StoreFault(fault) => log::warn!(
            "mail {id} ({kind}) attempt {attempt}: the outbox could not be updated, \
             retried when the claim runs out: {}",
            auth_domain::error::chain(fault)
        ),
    }
}

/// Starts the worker on the current tokio runtime.
pub fn spawn_delivery_worker(
    service: RecoveryService,
    wake: Arc<Notify>,
    poll_interval: Duration,
) -> DeliveryWorker {
    let batch = service.policy().batch_size;
    let task = tokio::spawn(async move {
        let mut last_purge: Option<tokio::time::Instant> = None;
        loop {
            let full_batch = match service.deliver_due().await {
                Ok(reports) => {
                    reports.iter().for_each(log_report);
                    reports.len() >= batch
                }
                Err(fault) => {
                    log::warn!(
                        "mail delivery: cannot read the outbox: {}",
                        auth_domain::error::chain(&fault)
                    );
                    false
                }
            };
            if last_purge.is_none_or(|at| at.elapsed() >= PURGE_EVERY) {
                last_purge = Some(tokio::time::Instant::now());
                match service.purge_expired_tokens().await {
                    Ok(0) => {}
                    Ok(purged) => log::info!("purged {purged} expired one-time tokens"),
                    Err(fault) => log::warn!(
                        "cannot purge expired tokens: {}",
                        auth_domain::error::chain(&fault)
                    ),
                }
            }
            if full_batch {
                continue;
            }
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(poll_interval) => {}
            }
        }
    });
    DeliveryWorker { task }
}
