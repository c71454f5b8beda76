//! Administration: who may administer, and the administrators' use cases on other accounts.

use std::sync::Arc;

use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
pub use crate::listing::{Listing, Page};
use crate::listing::{SearchPrefix, SEARCH_TOTAL_LIMIT};
use crate::ports::{AdministerError, AuditLog, Clock, UserRepository};
use crate::session::ClientInfo;
use crate::user::{PrivilegeChange, Role, User, UserId};

/// Whether `user` may use the administration routes: an active user whose role is `admin`
/// or who is a superuser. Staff status alone is not enough.
///
/// The same definition counts the administrators for the last-administrator rule (see
/// [`UserRepository::update_privileges`]).
pub fn can_administer(user: &User) -> bool {
    user.is_active && (user.role == Role::Admin || user.is_superuser)
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The caller is not an administrator.
    #[error("administrator rights required")]
    Forbidden,
    #[error("no such user")]
    NotFound,
    /// The change would leave no active administrator.
    #[error("no administrator would remain")]
    LastAdministrator,
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl From<AdministerError> for AdminError {
    fn from(error: AdministerError) -> Self {
        match error {
            AdministerError::LastAdministrator => Self::LastAdministrator,
            AdministerError::Fault(fault) => Self::Fault(fault),
        }
    }
}

/// The administrators' use cases. Every one first checks [`can_administer`] on the caller,
/// before anything else is read, so a non-administrator learns nothing (not even whether an
/// id exists).
#[derive(Clone)]
pub struct AdminService {
    users: Arc<dyn UserRepository>,
    audit: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
}

impl AdminService {
    pub fn new(
        users: Arc<dyn UserRepository>,
        audit: Arc<dyn AuditLog>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            audit,
            clock,
        }
    }

    fn authorise(actor: &User) -> Result<(), AdminError> {
        if can_administer(actor) {
            Ok(())
        } else {
            Err(AdminError::Forbidden)
        }
    }

    /// Users in registration order, a page at a time; with `search`, only those whose email
    /// or username starts with it. The total of a search is counted for its first page, up to
    /// [`SEARCH_TOTAL_LIMIT`] (a larger count is reported as that, not exact), and carried
    /// on by the cursor (the total of all users is a maintained counter, read on every page).
    pub async fn list_users(
        &self,
        actor: &User,
        search: Option<SearchPrefix>,
        page: Page,
    ) -> Result<Listing<User>, AdminError> {
        Self::authorise(actor)?;
        let items = self
            .users
            .list(search.clone(), page.start(), page.limit + 1)
            .await?;
        let searched = search.is_some();
        let total = match (&search, page.after) {
            (Some(_), Some(cursor)) => cursor.total,
            _ => self.users.count(search).await?,
        };
        let listing = Listing::from_read(items, total, page, |user| (user.date_joined, user.id.0));
        Ok(if searched {
            listing.counted_up_to(SEARCH_TOTAL_LIMIT)
        } else {
            listing
        })
    }

    pub async fn get_user(&self, actor: &User, id: UserId) -> Result<User, AdminError> {
        Self::authorise(actor)?;
        self.users.find_by_id(id).await?.ok_or(AdminError::NotFound)
    }

    /// Changes a user's privileges. Deactivating ends all of the user's sessions at once; no
    /// change may leave the service without an active administrator.
    pub async fn update_user(
        &self,
        actor: &User,
        id: UserId,
        change: PrivilegeChange,
        client: &ClientInfo,
    ) -> Result<User, AdminError> {
        Self::authorise(actor)?;
        if change.is_empty() {
            return self.get_user(actor, id).await;
        }
        let now = self.clock.now();
        let user = self
            .users
            .update_privileges(id, &change, change.may_remove_an_administrator(), now)
            .await?
            .ok_or(AdminError::NotFound)?;
        let mut event = AuditEvent::new(kind::USER_UPDATED, now)
            .user(id)
            .actor(actor.id)
            .client(client);
        for (field, value) in change.fields() {
            event = event.detail(field, value);
        }
        audit::record(self.audit.as_ref(), event).await;
        Ok(user)
    }

    /// Deletes a user; their sessions go with them. The last administrator cannot be deleted.
    pub async fn delete_user(
        &self,
        actor: &User,
        id: UserId,
        client: &ClientInfo,
    ) -> Result<(), AdminError> {
        Self::authorise(actor)?;
        if !self.users.delete(id, true).await? {
            return Err(AdminError::NotFound);
        }
        let event = AuditEvent::new(kind::USER_DELETED, self.clock.now())
            .user(id)
            .actor(actor.id)
            .client(client);
        audit::record(self.audit.as_ref(), event).await;
        Ok(())
    }

    /// The audit trail of a user (as subject or as actor), newest first; its total is counted
    /// for the first page and carried on by the cursor. A deleted user's
    /// trail stays readable; an id nobody ever had has an empty one.
    pub async fn audit_trail(
        &self,
        actor: &User,
        id: UserId,
        page: Page,
    ) -> Result<Listing<AuditEvent>, AdminError> {
        Self::authorise(actor)?;
        let items = self
            .audit
            .list_for_user(id, page.start(), page.limit + 1)
            .await?;
        let total = match page.after {
            Some(cursor) => cursor.total,
            None => self.audit.count_for_user(id).await?,
        };
        Ok(Listing::from_read(items, total, page, |event| {
            (event.at, event.id)
        }))
    }
}
