//! What the passkey use cases need from the outside world: the stored credentials, the
//! ceremonies under way (in the database, so any instance finishes what another began), and
//! the WebAuthn relying party that makes options and verifies responses. As in
//! [`crate::ports`], each method's documentation is its contract.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::Fault;
use crate::mfa::KeyedDigest;
use crate::user::UserId;

/// A passkey's id in this service (not the authenticator's credential id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PasskeyId(pub Uuid);

impl PasskeyId {
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }
}

impl Default for PasskeyId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for PasskeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A registered passkey. `credential` is the relying party's own record of the public key
/// and its flags (opaque here); no secret is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    pub id: PasskeyId,
    pub user_id: UserId,
    /// The authenticator's credential id: unique across all accounts.
    pub credential_id: Vec<u8>,
    pub name: String,
    pub credential: String,
    /// The last signature counter accepted (0: the authenticator reports none).
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// What adding a passkey did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyAdded {
    /// Stored; `recovery_codes` tells whether the recovery codes offered were stored too
    /// (the account had no second factor before).
    Added { recovery_codes: bool },
    /// The credential id is registered already (to this account or another): nothing stored.
    DuplicateCredential,
    /// No such user: nothing stored.
    NoUser,
}

pub use crate::login_methods::LoginMethods;

/// What removing a passkey did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRemoval {
    Removed,
    /// The user has no such passkey.
    NotFound,
    /// The rule refused what would remain: nothing removed.
    LastLoginMethod,
}

/// A signature just verified, to record on its passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyUse {
    pub id: PasskeyId,
    /// The counter stored before this assertion (compare-and-set).
    pub previous_sign_count: u32,
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// The relying party's record, updated with the assertion's counter and flags.
    pub credential: String,
    pub at: DateTime<Utc>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasskeyStore: Send + Sync {
    /// All or nothing: stores `passkey`, sets the user's `mfa_enabled`, and — only when the
    /// user had no second factor before (`mfa_enabled` was false) — replaces their recovery
    /// codes by `recovery_codes`.
    ///
    /// MUST return `DuplicateCredential` (storing nothing) when the credential id is stored
    /// already, for any user; `NoUser` when the user does not exist.
    async fn add_passkey(
        &self,
        passkey: &StoredPasskey,
        recovery_codes: &[KeyedDigest],
    ) -> Result<PasskeyAdded, Fault>;

    /// The user's passkeys, oldest first.
    async fn list_passkeys(&self, user_id: UserId) -> Result<Vec<StoredPasskey>, Fault>;

    /// The passkey with this credential id, whoever's it is.
    async fn find_passkey(&self, credential_id: &[u8]) -> Result<Option<StoredPasskey>, Fault>;

    /// Renames the user's passkey. MUST return `false` when the user has no such passkey.
    async fn rename_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        name: &str,
    ) -> Result<bool, Fault>;

    /// All or nothing: removes the user's passkey unless `keeps_login` refuses the ways to
    /// log in that would remain (counted in the same transaction, so two concurrent
    /// removals cannot remove the last two); then sets `mfa_enabled` to whether a second
    /// factor remains (TOTP or a passkey) and, when none does, deletes the recovery codes.
    async fn remove_passkey(
        &self,
        user_id: UserId,
        id: PasskeyId,
        keeps_login: fn(LoginMethods) -> bool,
    ) -> Result<PasskeyRemoval, Fault>;

    /// Records a verified assertion only if the passkey's counter is still
    /// `previous_sign_count` (of two concurrent logins with one counter value, one records).
    /// MUST return `false` when it recorded nothing.
    async fn record_passkey_use(&self, use_: &PasskeyUse) -> Result<bool, Fault>;
}

/// What a ceremony is for: a state taken for one kind is never accepted for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    Registration,
    Login,
    SecondFactor,
    Reauthentication,
}

impl CeremonyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CeremonyKind::Registration => "registration",
            CeremonyKind::Login => "login",
            CeremonyKind::SecondFactor => "second_factor",
            CeremonyKind::Reauthentication => "reauthentication",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [
            CeremonyKind::Registration,
            CeremonyKind::Login,
            CeremonyKind::SecondFactor,
            CeremonyKind::Reauthentication,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == raw)
    }
}

/// A ceremony begun: the relying party's state (with its challenge) until it is finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// What finds it again: a random id handed to the client, or a key derived from what the
    /// finishing request carries anyway (the `mfa_token`, the session).
    pub key: String,
    pub kind: CeremonyKind,
    /// The account it was begun for (`None`: a discoverable login, for whoever answers).
    pub user_id: Option<UserId>,
    pub state: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CeremonyStore: Send + Sync {
    /// Stores `ceremony`, replacing one with the same key (and MAY delete ceremonies that
    /// expired before it was created).
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), Fault>;

    /// Takes (deletes and returns) the ceremony with this key and kind if it has not expired
    /// at `now`. MUST return `None` otherwise; of concurrent calls for one key, from any
    /// instance, at most one returns it.
    async fn take_ceremony(
        &self,
        key: &str,
        kind: CeremonyKind,
        now: DateTime<Utc>,
    ) -> Result<Option<Ceremony>, Fault>;
}

/// Options for the client (WebAuthn Level 3 JSON, the object itself) and the relying
/// party's state to keep until the response comes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyStart {
    pub options: String,
    pub state: String,
}

/// The account a registration is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationRequest {
    /// The WebAuthn user handle: the user's id (opaque, no personal data).
    pub user_handle: Uuid,
    pub user_name: String,
    pub display_name: String,
    /// Credential ids the authenticator must not register again (the user's passkeys).
    pub exclude: Vec<Vec<u8>>,
}

/// A credential the relying party accepted at registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    pub credential_id: Vec<u8>,
    pub credential: String,
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
}

/// Who an assertion claims to be, read before it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssertionClaim {
    pub credential_id: Vec<u8>,
    /// The user handle a discoverable credential returns.
    pub user_handle: Option<Vec<u8>>,
}

/// A verified assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
    /// The passkey's record updated with this assertion.
    pub credential: String,
}

/// Why the relying party refused a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CeremonyRefusal {
    /// Not a credential response at all (422).
    #[error("malformed credential: {0}")]
    Malformed(String),
    /// The signature counter did not move forward: maybe a cloned authenticator.
    #[error("the signature counter went backwards")]
    CounterWentBackwards,
    /// Wrong origin, RP ID, challenge, signature, flags…: the reason, for the log and the
    /// audit trail only.
    #[error("refused: {0}")]
    Refused(String),
}

/// The WebAuthn relying party (`WEBAUTHN_RP_ID`, `WEBAUTHN_ORIGINS`…). Pure computation.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait RelyingParty: Send + Sync {
    /// Creation options (resident key and user verification required, `exclude` excluded).
    fn start_registration(&self, request: &RegistrationRequest) -> Result<CeremonyStart, Fault>;

    /// Checks the response to the options of `state`. `Malformed` when `credential` is not a
    /// registration response; `Refused` when it does not answer them.
    fn finish_registration(
        &self,
        state: &str,
        credential: &str,
    ) -> Result<NewCredential, CeremonyRefusal>;

    /// Request options for any discoverable credential (no account named).
    fn start_discoverable_login(&self) -> Result<CeremonyStart, Fault>;

    /// Request options for these passkeys (a second factor, a re-authentication).
    fn start_login(&self, passkeys: &[StoredPasskey]) -> Result<CeremonyStart, Fault>;

    /// Reads who an assertion claims to be. MUST return `Malformed` when `credential` is not
    /// an assertion response.
    fn read_assertion(&self, credential: &str) -> Result<AssertionClaim, CeremonyRefusal>;

    /// Verifies an assertion against the state of its ceremony and the passkey it names:
    /// challenge, origin, RP ID, signature, user verification, and the signature counter
    /// (`CounterWentBackwards` when it is not above the stored one, unless both are 0).
    fn finish_login(
        &self,
        state: &str,
        credential: &str,
        passkey: &StoredPasskey,
    ) -> Result<VerifiedAssertion, CeremonyRefusal>;
}
