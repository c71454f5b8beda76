//! The identities of the logged-in user: listing, linking (re-authenticated), unlinking.

use uuid::Uuid;

use super::service::{AppRequest, StartError};
use super::{Identity, OAuthService};
use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::mail::SecurityNotice;
use crate::mfa::Reauthenticated;
use crate::one_time::TokenDigest;
use crate::ports::oauth::UnlinkOutcome;
use crate::session::{ClientInfo, Principal};
use crate::user::User;

#[derive(Debug, thiserror::Error)]
pub enum BeginLinkError {
    #[error("no such provider")]
    UnknownProvider,
    #[error(transparent)]
    Fault(#[from] Fault),
}

#[derive(Debug, thiserror::Error)]
pub enum UnlinkError {
    #[error("no such identity")]
    NotFound,
    /// It is the account's last way to log in.
    #[error("the last way to log in")]
    LastLoginMethod,
    #[error(transparent)]
    Fault(#[from] Fault),
}

impl OAuthService {
    pub async fn identities(&self, principal: &Principal) -> Result<Vec<Identity>, Fault> {
        self.ports
            .identities
            .list_identities(principal.user.id)
            .await
    }

    /// `POST /users/me/identities/{provider}`: a flow bound to the re-authenticated caller.
    /// Returns the secret of its `link` parameter (`GET /oauth/{provider}/authorize?link=…`).
    pub async fn begin_link(
        &self,
        proof: &Reauthenticated,
        provider: &str,
        app: AppRequest,
    ) -> Result<String, BeginLinkError> {
        match self
            .new_authorization(provider, app, Some(proof.user_id()))
            .await
        {
            Ok(request) => Ok(request.state),
            Err(StartError::Fault(fault)) => Err(fault.into()),
            Err(_) => Err(BeginLinkError::UnknownProvider),
        }
    }

    /// `GET /oauth/{provider}/authorize?link=…`: the provider URL of a link begun by
    /// [`OAuthService::begin_link`] (not spent: the callback spends it).
    pub async fn resume_link(&self, provider: &str, link: &str) -> Result<String, StartError> {
        let now = self.ports.clock.now();
        let pending = self
            .ports
            .flows
            .find_authorization(&TokenDigest::of(link), now)
            .await?
            .filter(|p| p.provider == provider && p.link_user.is_some())
            .ok_or(StartError::InvalidLink)?;
        let request = crate::ports::oauth::AuthorizationRequest {
            state: link.to_owned(),
            nonce: pending.nonce,
            pkce_verifier: pending.pkce_verifier,
        };
        self.provider_url(provider, &request).await
    }

    /// `DELETE /users/me/identities/{id}` (re-authenticated).
    pub async fn unlink(
        &self,
        principal: &Principal,
        proof: &Reauthenticated,
        id: Uuid,
        client: &ClientInfo,
    ) -> Result<(), UnlinkError> {
        let user = crate::mfa::service::owner(principal, proof)?;
        match self.ports.identities.unlink_identity(user.id, id).await? {
            UnlinkOutcome::NotFound => Err(UnlinkError::NotFound),
            UnlinkOutcome::LastLoginMethod => Err(UnlinkError::LastLoginMethod),
            UnlinkOutcome::Removed(identity) => {
                let event = AuditEvent::new(kind::IDENTITY_UNLINKED, self.ports.clock.now())
                    .user(user.id)
                    .session(principal.session_id)
                    .client(client)
                    .detail("provider", identity.provider.as_str());
                audit::record(self.ports.audit.as_ref(), event).await;
                self.notify(user, SecurityNotice::IdentityUnlinked).await;
                Ok(())
            }
        }
    }

    /// Records a new link: the audit event and the owner's notice.
    pub(super) async fn linked(&self, user: &User, identity: &Identity, client: &ClientInfo) {
        let event = AuditEvent::new(kind::IDENTITY_LINKED, identity.linked_at)
            .user(user.id)
            .client(client)
            .detail("provider", identity.provider.as_str());
        audit::record(self.ports.audit.as_ref(), event).await;
        self.notify(user, SecurityNotice::IdentityLinked).await;
    }

    async fn notify(&self, user: &User, notice: SecurityNotice) {
        let now = self.ports.clock.now();
        crate::notices::queue_notice(self.ports.outbox.as_ref(), now, user, notice).await;
    }
}
