//! The hand-over from a login's first factor to its second: the challenge behind an
//! `mfa_token`.

use std::sync::Arc;

use chrono::TimeDelta;

use super::MfaMethod;
use crate::amr::Amr;
use crate::audit::{self, kind, AuditEvent};
use crate::error::Fault;
use crate::one_time::OneTimeSecret;
use crate::ports::mfa::{MfaChallenge, MfaChallengeStore, SecondFactors};
use crate::ports::{AuditLog, Clock, SecretGenerator};
use crate::session::ClientInfo;
use crate::user::{User, UserId};

/// What the password step of a login needs to hand over to the second factor.
#[derive(Clone)]
pub struct SecondFactorLogin {
    pub challenges: Arc<dyn MfaChallengeStore>,
    pub factors: Arc<dyn SecondFactors>,
    pub secrets: Arc<dyn SecretGenerator>,
    pub token_ttl: TimeDelta,
}

/// The answer to a right first factor of an account with a second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaChallengeIssued {
    /// Shown once; only its digest is stored.
    pub mfa_token: OneTimeSecret,
    pub methods: Vec<MfaMethod>,
    /// Seconds the token lives.
    pub expires_in: i64,
    pub user_id: UserId,
}

/// Opens a challenge for `user`, whose first factor `first_factor` was just proven.
pub(crate) async fn issue_challenge(
    login: Option<&SecondFactorLogin>,
    clock: &dyn Clock,
    audit_log: &dyn AuditLog,
    user: &User,
    first_factor: Amr,
    client: &ClientInfo,
) -> Result<MfaChallengeIssued, Fault> {
    let Some(login) = login else {
        return Err(Fault::internal(
            "an account with a second factor logged in, but second factors are not configured",
        ));
    };
    let status = login.factors.mfa_status(user.id).await?;
    let now = clock.now();
    let secret = login.secrets.generate();
    let challenge = MfaChallenge {
        digest: secret.digest(),
        user_id: user.id,
        first_factor,
        created_at: now,
        expires_at: now + login.token_ttl,
        failures: 0,
    };
    login.challenges.insert_challenge(&challenge).await?;
    // Neither a success nor a failure yet: recorded as the step it is.
    let event = AuditEvent::new(kind::LOGIN_MFA_REQUIRED, now)
        .user(user.id)
        .client(client);
    audit::record(audit_log, event).await;
    Ok(MfaChallengeIssued {
        mfa_token: secret,
        methods: MfaMethod::available(&status),
        expires_in: login.token_ttl.num_seconds(),
        user_id: user.id,
    })
}
