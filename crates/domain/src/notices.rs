//! Security notices mailed to a user when a way to log in is added or removed (no secret in
//! them).

use chrono::{DateTime, Utc};

use crate::mail::{MailIntent, SecurityNotice};
use crate::ports::MailOutbox;
use crate::user::User;

/// Queues a security notice for `user` (no secret in it). Best effort: a failure is logged,
/// never the request's.
pub(crate) async fn queue_notice(
    outbox: &dyn MailOutbox,
    now: DateTime<Utc>,
    user: &User,
    notice: SecurityNotice,
) {
    let intent = MailIntent::SecurityNotice {
        user_id: user.id,
        email: user.email.clone(),
        notice,
    };
    if let Err(fault) = outbox.enqueue(&intent, now).await {
        log::warn!(
            "could not queue the {} notice for user {}: {fault}",
            notice.kind(),
            user.id
        );
    }
}
