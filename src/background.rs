//! What runs beside the server while it serves: the periodic session prune and the mail
//! delivery worker. Both stop with the server (or when dropped).

use auth_domain::maintenance::SessionPruner;
use auth_infra::mail::{spawn_delivery_worker, DeliveryWorker};

use crate::{Components, Config};

/// The tasks [`crate::Application`] runs beside the server.
pub struct BackgroundTasks {
    _prune: Option<PruneTask>,
    /// Sends the outbox's mail.
    _mail_worker: DeliveryWorker,
}

impl BackgroundTasks {
    /// The prune every `PRUNE_INTERVAL` (none when zero) and the mail worker.
    pub fn start(components: &Components, config: &Config) -> Self {
        let prune = (!config.prune_interval.is_zero())
            .then(|| PruneTask::spawn(components.pruner.clone(), config.prune_interval));
        let mail_worker = spawn_delivery_worker(
            components.recovery.clone(),
            components.mail_wake.clone(),
            config.mail.poll_interval,
        );
        Self {
            _prune: prune,
            _mail_worker: mail_worker,
        }
    }
}

/// The periodic session prune; stops with the server (or when dropped).
struct PruneTask(tokio::task::JoinHandle<()>);

impl PruneTask {
    /// Prunes now, then every `interval`. Each run goes through the repository, so its
    /// query runs on the blocking pool; a failed run is logged and retried next time.
    fn spawn(pruner: SessionPruner, interval: std::time::Duration) -> Self {
        Self(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match pruner.prune().await {
                    Ok(0) => log::debug!("prune: no session to delete"),
                    Ok(deleted) => log::info!("prune: deleted {deleted} ended session(s)"),
                    Err(fault) => log::warn!("prune failed (retried in {interval:?}): {fault}"),
                }
            }
        }))
    }
}

impl Drop for PruneTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}
