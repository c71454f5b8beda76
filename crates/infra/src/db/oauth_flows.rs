//! Started authorizations and `login_code`s of social login on the Diesel store. Taking one is
//! one `DELETE … RETURNING`: only the caller whose DELETE removed the row gets it, so a state
//! or code is spent exactly once across instances.

use async_trait::async_trait;
use auth_domain::oauth::{ExternalProfile, PendingAction, PendingAuthorization, PendingLogin};
use auth_domain::one_time::TokenDigest;
use auth_domain::ports::oauth::OAuthFlowStore;
use auth_domain::{Email, Fault, UserId};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::rows::{columns_of, naive, utc};
use super::Database;
use crate::db::id::DbId;

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::schema::sql_types::Id;
    oauth_states (state_digest) {
        state_digest -> Text,
        provider -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        redirect_uri -> Text,
        app_state -> Text,
        app_code_challenge -> Text,
        link_user_id -> Nullable<Id>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use crate::db::schema::sql_types::Id;
    oauth_login_codes (code_digest) {
        code_digest -> Text,
        app_code_challenge -> Text,
        provider -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        email_verified -> Bool,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        action -> Text,
        user_id -> Nullable<Id>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_states)]
struct StateRow {
    state_digest: String,
    provider: String,
    nonce: String,
    pkce_verifier: String,
    redirect_uri: String,
    app_state: String,
    app_code_challenge: String,
    link_user_id: Option<DbId>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_login_codes)]
struct LoginRow {
    code_digest: String,
    app_code_challenge: String,
    provider: String,
    subject: String,
    email: Option<String>,
    email_verified: bool,
    given_name: Option<String>,
    family_name: Option<String>,
    action: String,
    user_id: Option<DbId>,
    created_at: NaiveDateTime,
    expires_at: NaiveDateTime,
}

impl From<&PendingAuthorization> for StateRow {
    fn from(p: &PendingAuthorization) -> Self {
        Self {
            state_digest: p.state_digest.as_str().to_owned(),
            provider: p.provider.clone(),
            nonce: p.nonce.clone(),
            pkce_verifier: p.pkce_verifier.clone(),
            redirect_uri: p.redirect_uri.clone(),
            app_state: p.app_state.clone(),
            app_code_challenge: p.app_code_challenge.clone(),
            link_user_id: p.link_user.map(DbId::from),
            created_at: naive(p.created_at),
            expires_at: naive(p.expires_at),
        }
    }
}

impl TryFrom<StateRow> for PendingAuthorization {
    type Error = Fault;

    fn try_from(row: StateRow) -> Result<Self, Fault> {
        Ok(Self {
            state_digest: TokenDigest::from_stored(row.state_digest),
            provider: row.provider,
            nonce: row.nonce,
            pkce_verifier: row.pkce_verifier,
            redirect_uri: row.redirect_uri,
            app_state: row.app_state,
            app_code_challenge: row.app_code_challenge,
            link_user: row.link_user_id.map(UserId::from),
            created_at: utc(row.created_at),
            expires_at: utc(row.expires_at),
        })
    }
}

impl From<&PendingLogin> for LoginRow {
    fn from(p: &PendingLogin) -> Self {
        let (action, user) = match p.action {
            PendingAction::LogIn(user) => ("log_in", Some(user)),
            PendingAction::CreateAccount => ("create_account", None),
            PendingAction::LinkAndLogIn(user) => ("link_and_log_in", Some(user)),
        };
        Self {
            code_digest: p.code_digest.as_str().to_owned(),
            app_code_challenge: p.app_code_challenge.clone(),
            provider: p.profile.provider.clone(),
            subject: p.profile.subject.clone(),
            email: p.profile.email.as_ref().map(|e| e.as_str().to_owned()),
            email_verified: p.profile.email_verified,
            given_name: p.profile.given_name.clone(),
            family_name: p.profile.family_name.clone(),
            action: action.to_owned(),
            user_id: user.map(DbId::from),
            created_at: naive(p.created_at),
            expires_at: naive(p.expires_at),
        }
    }
}

impl TryFrom<LoginRow> for PendingLogin {
    type Error = Fault;

    fn try_from(row: LoginRow) -> Result<Self, Fault> {
        let user = || {
            row.user_id
                .map(UserId::from)
                .ok_or_else(|| Fault::internal("stored social login lacks its user"))
        };
        let action = match row.action.as_str() {
            "log_in" => PendingAction::LogIn(user()?),
            "create_account" => PendingAction::CreateAccount,
            "link_and_log_in" => PendingAction::LinkAndLogIn(user()?),
            _ => return Err(Fault::internal("stored social-login action is invalid")),
        };
        let email = row.email.map(Email::from_stored);
        Ok(Self {
            code_digest: TokenDigest::from_stored(row.code_digest),
            app_code_challenge: row.app_code_challenge,
            profile: ExternalProfile {
                provider: row.provider,
                subject: row.subject,
                email,
                email_verified: row.email_verified,
                given_name: row.given_name,
                family_name: row.family_name,
            },
            action,
            created_at: utc(row.created_at),
            expires_at: utc(row.expires_at),
        })
    }
}

#[async_trait]
impl OAuthFlowStore for Database {
    async fn insert_authorization(&self, pending: &PendingAuthorization) -> Result<(), Fault> {
        let row = StateRow::from(pending);
        self.run(move |conn| {
            // Each new state sweeps the expired ones (indexed), so the table stays small.
            diesel::delete(oauth_states::table.filter(oauth_states::expires_at.le(row.created_at)))
                .execute(conn)?;
            diesel::insert_into(oauth_states::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn find_authorization(
        &self,
        state: &TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingAuthorization>, Fault> {
        let (digest, now) = (state.as_str().to_owned(), naive(now));
        self.run(move |conn| {
            let row = oauth_states::table
                .find(digest)
                .filter(oauth_states::expires_at.gt(now))
                .select(StateRow::as_select())
                .first(conn)
                .optional()?;
            Ok(row.map(PendingAuthorization::try_from).transpose()?)
        })
        .await
        .map_err(Fault::from)
    }

    async fn take_authorization(
        &self,
        state: &TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingAuthorization>, Fault> {
        let (digest, now) = (state.as_str().to_owned(), naive(now));
        self.take_row(
            move |conn| {
                diesel::delete(oauth_states::table.find(digest))
                    .returning(columns_of::<StateRow>())
                    .get_result(conn)
            },
            move |row: &StateRow| row.expires_at > now,
        )
        .await
    }

    async fn insert_login(&self, pending: &PendingLogin) -> Result<(), Fault> {
        let row = LoginRow::from(pending);
        self.run(move |conn| {
            diesel::delete(
                oauth_login_codes::table.filter(oauth_login_codes::expires_at.le(row.created_at)),
            )
            .execute(conn)?;
            diesel::insert_into(oauth_login_codes::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await
        .map_err(Fault::from)
    }

    async fn take_login(
        &self,
        code: &TokenDigest,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingLogin>, Fault> {
        let (digest, now) = (code.as_str().to_owned(), naive(now));
        self.take_row(
            move |conn| {
                diesel::delete(oauth_login_codes::table.find(digest))
                    .returning(columns_of::<LoginRow>())
                    .get_result(conn)
            },
            move |row: &LoginRow| row.expires_at > now,
        )
        .await
    }
}
