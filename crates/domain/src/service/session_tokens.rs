//! What a session's tokens are used for: refreshing, authenticating a request, logging out.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::session::{ClientInfo, Principal, Session};
use crate::token::{Claims, TokenKind, TokenPair};
use crate::user::User;

use super::{AuthService, AuthenticateError, RefreshError, Refusal};

impl AuthService {
    /// Rotates a refresh token: the one presented is spent, a new pair is returned.
    ///
    /// A refresh token of a live session that is not the session's newest one was already
    /// rotated: it is treated as stolen and the whole session is revoked.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RefreshError> {
        self.refresh_from(refresh_token, &ClientInfo::default())
            .await
    }

    /// [`AuthService::refresh`], naming the client in the audit trail if reuse is detected.
    pub async fn refresh_from(
        &self,
        refresh_token: &str,
        client: &ClientInfo,
    ) -> Result<TokenPair, RefreshError> {
        let claims = self
            .tokens
            .verify(refresh_token, TokenKind::Refresh)
            .map_err(Refusal::from)?;
        let now = self.clock.now();
        let (session, _user) = self.live_session(&claims, now).await?;

        let next = Uuid::new_v4();
        // The compare-and-set decides, not `session.refresh_jti`: the session may come from a
        // cache that has not yet heard of a rotation made a moment ago (see `find_with_user`),
        // and a stale copy must not turn a legitimate refresh into a detected reuse.
        let rotated = self
            .sessions
            .rotate_refresh(session.id, claims.token_id, next, now)
            .await?;
        if !rotated {
            // Either an old token came back, or a concurrent refresh won the race with this
            // same token: both mean the token was presented twice.
            self.sessions.revoke(session.id, now).await?;
            let event = AuditEvent::new(kind::REFRESH_REUSE_DETECTED, now)
                .user(session.user_id)
                .session(session.id)
                .client(client);
            audit::record(self.audit.as_ref(), event).await;
            return Err(RefreshError::ReuseDetected);
        }
        Ok(self.issuer.issue_pair(&session, next, now)?)
    }

    /// Resolves an access token to the caller, with one read of the store.
    pub async fn authenticate(&self, access_token: &str) -> Result<Principal, AuthenticateError> {
        let claims = self
            .tokens
            .verify(access_token, TokenKind::Access)
            .map_err(Refusal::from)?;
        let (session, user) = self.live_session(&claims, self.clock.now()).await?;
        Ok(Principal {
            user,
            session_id: session.id,
            amr: session.amr,
            auth_time: session.created_at,
        })
    }

    /// Ends the caller's session: its refresh token and its access tokens stop working.
    pub async fn logout(&self, principal: &Principal) -> Result<(), Fault> {
        self.logout_from(principal, &ClientInfo::default()).await
    }

    /// [`AuthService::logout`], naming the client in the audit trail.
    pub async fn logout_from(
        &self,
        principal: &Principal,
        client: &ClientInfo,
    ) -> Result<(), Fault> {
        let now = self.clock.now();
        self.sessions.revoke(principal.session_id, now).await?;
        let event = AuditEvent::new(kind::LOGGED_OUT, now)
            .user(principal.user.id)
            .session(principal.session_id)
            .client(client);
        audit::record(self.audit.as_ref(), event).await;
        Ok(())
    }

    /// The session a token names, if it and its user may still be used.
    async fn live_session(
        &self,
        claims: &Claims,
        now: DateTime<Utc>,
    ) -> Result<(Session, User), LiveSessionError> {
        let (session, user) = self
            .sessions
            .find_with_user(claims.session_id)
            .await?
            .ok_or(Refusal::UnknownSession)?;
        if session.user_id != claims.subject || user.id != claims.subject {
            return Err(Refusal::UnknownSession.into());
        }
        if !session.is_live(now) {
            return Err(Refusal::SessionEnded.into());
        }
        if !user.is_active {
            return Err(Refusal::AccountInactive.into());
        }
        Ok((session, user))
    }
}

/// `live_session`'s outcome, convertible into either caller's error.
#[derive(Debug)]
enum LiveSessionError {
    Refused(Refusal),
    Fault(Fault),
}

impl From<Refusal> for LiveSessionError {
    fn from(refusal: Refusal) -> Self {
        Self::Refused(refusal)
    }
}

impl From<Fault> for LiveSessionError {
    fn from(fault: Fault) -> Self {
        Self::Fault(fault)
    }
}

impl From<LiveSessionError> for AuthenticateError {
    fn from(error: LiveSessionError) -> Self {
        match error {
            LiveSessionError::Refused(refusal) => Self::Refused(refusal),
            LiveSessionError::Fault(fault) => Self::Fault(fault),
        }
    }
}

impl From<LiveSessionError> for RefreshError {
    fn from(error: LiveSessionError) -> Self {
        match error {
            LiveSessionError::Refused(refusal) => Self::Refused(refusal),
            LiveSessionError::Fault(fault) => Self::Fault(fault),
        }
    }
}
