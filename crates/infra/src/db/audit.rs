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
use uuid::Uuid;

use super::rows::{naive, utc};
use super::schema::audit_events;
use super::Database;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events)]
pub(super) struct AuditRow {
    pub(super) id: String,
    pub(super) at: NaiveDateTime,
    event: String,
    user_id: Option<String>,
    actor_id: Option<String>,
    session_id: Option<String>,
    client_addr: Option<String>,
    user_agent: Option<String>,
    detail: Option<String>,
}

fn corrupt(what: &str, error: impl std::fmt::Display) -> Fault {
    Fault::internal(format!("stored audit event {what} is invalid: {error}"))
}

fn parse_uuid(what: &str, raw: Option<String>) -> Result<Option<Uuid>, Fault> {
    raw.map(|raw| Uuid::parse_str(&raw).map_err(|e| corrupt(what, e)))
        .transpose()
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
            id: event.id.to_string(),
            at: naive(event.at),
            event: event.kind.clone(),
            user_id: event.user_id.map(|id| id.to_string()),
            actor_id: event.actor_id.map(|id| id.to_string()),
            session_id: event.session_id.map(|id| id.to_string()),
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
            id: Uuid::parse_str(&row.id).map_err(|e| corrupt("id", e))?,
            at: utc(row.at),
            kind: row.event,
            user_id: parse_uuid("user id", row.user_id)?.map(UserId),
            actor_id: parse_uuid("actor id", row.actor_id)?.map(UserId),
            session_id: parse_uuid("session id", row.session_id)?.map(SessionId),
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
