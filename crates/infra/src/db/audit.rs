//! The audit trail in the `audit_events` table (append-only: the migration's triggers refuse
//! UPDATE and DELETE).

use std::collections::BTreeMap;

use async_trait::async_trait;
use auth_domain::audit::AuditEvent;
use auth_domain::listing::Start;
use auth_domain::ports::AuditLog;
use auth_domain::session::ClientInfo;
use auth_domain::{Fault, SessionId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::rows::{naive, utc};
use super::schema::audit_events;
use super::Database;
use crate::db::id::DbId;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub(super) struct AuditRow {
    pub(super) id: DbId,
    pub(super) at: NaiveDateTime,
    event: String,
    user_id: Option<DbId>,
    actor_id: Option<DbId>,
    session_id: Option<DbId>,
    client_addr: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> Fault {
    Fault::internal(format!("stored audit event {what} is invalid: {error}"))
}

impl TryFrom<&AuditEvent> for AuditRow {
    type Error = Fault;

    fn try_from(event: &AuditEvent) -> Result<Self, Fault> {
        let detail = if event.detail.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&event.detail).map_err(Fault::internal)?)
        };
        Ok(Self {
            id: DbId::from(event.id),
            at: naive(event.at),
            event: event.kind.clone(),
            user_id: event.user_id.map(DbId::from),
            actor_id: event.actor_id.map(DbId::from),
            session_id: event.session_id.map(DbId::from),
            client_addr: event.client.address.clone(),
            user_agent: event.client.user_agent.clone(),
            detail,
        })
    }
}

impl TryFrom<AuditRow> for AuditEvent {
    type Error = Fault;

    fn try_from(row: AuditRow) -> Result<Self, Fault> {
        let detail = match row.detail {
            None => BTreeMap::new(),
            Some(json) => serde_json::from_str(&json).map_err(|e| corrupt("detail", e))?,
        };
        Ok(AuditEvent {
            id: row.id.0,
            at: utc(row.at),
            kind: row.event,
            user_id: row.user_id.map(UserId::from),
            actor_id: row.actor_id.map(UserId::from),
            session_id: row.session_id.map(SessionId::from),
            client: ClientInfo {
                user_agent: row.user_agent,
                address: row.client_addr,
            },
            detail,
        })
    }
}

#[async_trait]
impl AuditLog for Database {
    async fn record(&self, event: &AuditEvent) -> Result<(), Fault> {
        let row = AuditRow::try_from(event)?;
        self.run(move |conn| {
            diesel::insert_into(audit_events::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn list_for_user(
        &self,
        user_id: UserId,
        start: Start,
        limit: u32,
    ) -> Result<Vec<AuditEvent>, Fault> {
        self.load_audit_trail(user_id, start, limit).await
    }

    async fn count_for_user(&self, user_id: UserId) -> Result<u64, Fault> {
        self.count_audit_trail(user_id).await
    }
}
