// One schema for both backends: ids are UUIDs (PostgreSQL's native `uuid`, SQLite's TEXT: see
// `sql_types::Id`) and times are UTC `TIMESTAMP`s. The SQL of each backend is in
// migrations/<backend>/.

pub mod sql_types {
    /// A UUID: `uuid` on PostgreSQL, its hyphenated text on SQLite. Bound and read as the
    /// hyphenated text (`String`) on both (the conversions are in `db/id.rs`).
    #[derive(
        Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId,
    )]
    #[diesel(postgres_type(oid = 2950, array_oid = 2951))]
    #[diesel(sqlite_type(name = "Text"))]
    pub struct Id;
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    users (id) {
        id -> Id,
        email -> Text,
        username -> Nullable<Text>,
        /// The username lower-cased: what uniqueness is enforced on.
        username_key -> Nullable<Text>,
        first_name -> Nullable<Text>,
        last_name -> Nullable<Text>,
        date_of_birth -> Nullable<Date>,
        role -> Text,
        is_active -> Bool,
        is_verified -> Bool,
        is_staff -> Bool,
        is_superuser -> Bool,
        password_hash -> Text,
        last_login -> Nullable<Timestamp>,
        date_joined -> Timestamp,
        password_changed_at -> Nullable<Timestamp>,
        mfa_enabled -> Bool,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    sessions (id) {
        id -> Id,
        user_id -> Id,
        refresh_jti -> Id,
        created_at -> Timestamp,
        last_used_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        user_agent -> Nullable<Text>,
        client_addr -> Nullable<Text>,
        /// RFC 8176 values, space-separated.
        amr -> Text,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(users, sessions);

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    /// Append-only (triggers refuse UPDATE and DELETE). No foreign keys: a deleted user's
    /// events stay.
    audit_events (id) {
        id -> Id,
        at -> Timestamp,
        event -> Text,
        user_id -> Nullable<Id>,
        actor_id -> Nullable<Id>,
        session_id -> Nullable<Id>,
        client_addr -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        /// A JSON object of strings, or NULL.
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    /// One row (id 1): how many users there are, kept by triggers.
    user_count (id) {
        id -> Integer,
        n -> BigInt,
    }
}

diesel::table! {
    /// Login failure counters (see `auth_domain::throttle`).
    login_attempts (throttle_key) {
        throttle_key -> Text,
        failures -> Integer,
        last_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    one_time_tokens (digest) {
        digest -> Text,
        kind -> Text,
        user_id -> Id,
        email -> Text,
        password_fingerprint -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    mail_outbox (id) {
        id -> Id,
        kind -> Text,
        recipient -> Text,
        user_id -> Nullable<Id>,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        failed_at -> Nullable<Timestamp>,
    }
}

// Issue "Two-factor authentication".

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    /// AES-256-GCM sealed; nonce and ciphertext base64.
    totp_secrets (user_id) {
        user_id -> Id,
        key_id -> Text,
        nonce -> Text,
        ciphertext -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    recovery_codes (user_id, digest) {
        user_id -> Id,
        digest -> Text,
        key_id -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    mfa_challenges (digest) {
        digest -> Text,
        user_id -> Id,
        first_factor -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        failures -> Integer,
        spent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// Sliding windows of the throttle (key 3, per-address budgets): `events` are the times
    /// (epoch milliseconds, comma-separated, ascending) still inside the window.
    throttle_windows (window_key) {
        window_key -> Text,
        events -> Text,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    /// Account + address pairs that logged in successfully (exempt from keys 2 and 3).
    login_known_pairs (pair_key) {
        pair_key -> Text,
        last_success_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    /// WebAuthn credentials (issue "Passkeys"); `credential_id` is base64url, unique.
    passkeys (id) {
        id -> Id,
        user_id -> Id,
        credential_id -> Text,
        name -> Text,
        /// The relying-party library's JSON of the public key and its flags.
        credential -> Text,
        sign_count -> BigInt,
        backup_eligible -> Bool,
        backed_up -> Bool,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    /// Passkey ceremonies under way: the relying party's state, taken once.
    passkey_ceremonies (ceremony_key) {
        ceremony_key -> Text,
        kind -> Text,
        user_id -> Nullable<Id>,
        state -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Id;
    external_identities (id) {
        id -> Id,
        user_id -> Id,
        provider -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        linked_at -> Timestamp,
    }
}
