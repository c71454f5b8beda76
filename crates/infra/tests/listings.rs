//! The listing lines of the port contracts (`UserRepository::list`/`count`,
//! `AuditLog::list_for_user`/`count_for_user`) and `prune`'s batches, on PostgreSQL and SQLite:
//! keyset paging in the listing's order, across inserts, without duplicates or gaps; prefix
//! search; the maintained user counter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use auth_domain::audit::{kind, AuditEvent};
use auth_domain::listing::{SearchPrefix, Start};
use auth_domain::ports::{AuditLog, SessionRepository, UserRepository};
use auth_domain::session::ClientInfo;
use auth_domain::user::AccountKind;
use auth_domain::{Email, NewUser, PasswordHash, Session, SessionId, User, UserId, Username};
use auth_infra::testing::TestDatabase;
use auth_infra::{Backend, Database};
use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

mod support;
use support::{connect, now, on_both_databases};

fn user(email: &str, username: Option<&str>, joined: DateTime<Utc>) -> User {
    let new = NewUser {
        username: username.map(|name| Username::parse(name).unwrap()),
        ..NewUser::default()
    };
    User::register(
        Email::parse(email).unwrap(),
        new,
        PasswordHash::new("$2b$04$hash".into()),
        AccountKind::Regular,
        joined,
    )
}

/// SQL run on a connection of its own, as another process would.
fn sql(db: &TestDatabase, statement: &str) -> usize {
    use diesel::{Connection, RunQueryDsl};
    match db.url.backend {
        Backend::Postgres => {
            let mut conn = diesel::PgConnection::establish(db.raw_url()).unwrap();
            diesel::sql_query(statement).execute(&mut conn).unwrap()
        }
        Backend::Sqlite => {
            let path = db.url.sqlite_path().unwrap();
            let mut conn = diesel::SqliteConnection::establish(path).unwrap();
            diesel::sql_query(statement).execute(&mut conn).unwrap()
        }
    }
}

fn ids(users: &[User]) -> Vec<UserId> {
    users.iter().map(|user| user.id).collect()
}

/// Walks the whole listing `limit` at a time through cursors.
async fn walk(store: &Database, search: Option<&str>, limit: u32) -> Vec<User> {
    let search = search.map(|raw| SearchPrefix::parse(raw).unwrap().unwrap());
    let mut all: Vec<User> = Vec::new();
    let mut start = Start::Offset(0);
    loop {
        let page = store.list(search.clone(), start, limit).await.unwrap();
        assert!(page.len() <= limit as usize);
        let Some(last) = page.last() else {
            return all;
        };
        start = Start::After(last.date_joined, last.id.0);
        let done = page.len() < limit as usize;
        all.extend(page);
        if done {
            return all;
        }
    }
}

async fn users_walked_by_cursor_come_in_registration_order_once_each(db: TestDatabase) {
    let store = connect(&db);
    let base = now() - TimeDelta::hours(1);
    let mut expected = Vec::new();
    for n in 0..13 {
        // Pairs share a registration time: ties are broken by id.
        let joined = base + TimeDelta::seconds(n / 2);
        let u = user(&format!("u{n}@example.com"), None, joined);
        store.insert(&u).await.unwrap();
        expected.push(u);
    }
    expected.sort_by_key(|u| (u.date_joined, u.id.to_string()));

    for limit in [1, 3, 5, 13, 100] {
        let walked = walk(&store, None, limit).await;
        assert_eq!(ids(&walked), ids(&expected), "limit {limit}");
    }
    // Offsets see the same order.
    let by_offset = store.list(None, Start::Offset(4), 3).await.unwrap();
    assert_eq!(ids(&by_offset), ids(&expected[4..7]));
    assert_eq!(store.count(None).await.unwrap(), 13);
}

async fn a_walk_across_inserts_neither_repeats_nor_skips(db: TestDatabase) {
    let store = connect(&db);
    let base = now() - TimeDelta::hours(1);
    let mut existing = Vec::new();
    for n in 0..10 {
        let u = user(
            &format!("u{n}@example.com"),
            None,
            base + TimeDelta::seconds(n),
        );
        store.insert(&u).await.unwrap();
        existing.push(u);
    }
    let first = store.list(None, Start::Offset(0), 4).await.unwrap();
    let last = first.last().unwrap();
    let cursor = Start::After(last.date_joined, last.id.0);

    // Meanwhile: a user registered "before" the cursor (it would shift an offset page), a
    // new one after everything, and the cursor's own user is deleted.
    let early = user("early@example.com", None, base - TimeDelta::minutes(5));
    store.insert(&early).await.unwrap();
    let late = user("late@example.com", None, now());
    store.insert(&late).await.unwrap();
    assert!(store.delete(last.id, false).await.unwrap());

    let mut rest = Vec::new();
    let mut start = cursor;
    loop {
        let page = store.list(None, start, 4).await.unwrap();
        let Some(tail) = page.last() else { break };
        start = Start::After(tail.date_joined, tail.id.0);
        rest.extend(page);
    }
    let mut seen: Vec<UserId> = ids(&first);
    seen.extend(ids(&rest));
    let unique: HashSet<UserId> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no user twice");
    let mut expected = ids(&existing);
    expected.push(late.id);
    assert_eq!(
        seen, expected,
        "every user that was there, then the newcomer"
    );
}

async fn a_prefix_finds_emails_and_usernames_case_insensitively(db: TestDatabase) {
    let store = connect(&db);
    let base = now() - TimeDelta::hours(1);
    let people = [
        ("john@doe.com", Some("Johnny")),
        ("jane@doe.com", Some("JDoe")),
        ("ajohn@example.com", None),
        ("bob@example.com", Some("john_b")),
        ("jo%hn@example.com", None),
        ("zed@example.com", Some("jo")),
    ];
    let mut all = Vec::new();
    for (n, (email, username)) in people.iter().enumerate() {
        let u = user(email, *username, base + TimeDelta::seconds(n as i64));
        store.insert(&u).await.unwrap();
        all.push(u);
    }
    let found = |raw: &'static str| {
        let store = store.clone();
        async move {
            let search = SearchPrefix::parse(raw).unwrap();
            let users = store
                .list(search.clone(), Start::Offset(0), 100)
                .await
                .unwrap();
            let count = store.count(search).await.unwrap();
            assert_eq!(
                count,
                users.len() as u64,
                "{raw}: the count matches the list"
            );
            users
                .iter()
                .map(|u| u.email.as_str().to_owned())
                .collect::<Vec<_>>()
        }
    };

    assert_eq!(
        found("JOHN").await,
        ["john@doe.com", "bob@example.com"],
        "email or username, registration order"
    );
    assert_eq!(found("jd").await, ["jane@doe.com"]);
    assert_eq!(
        found("jo").await,
        [
            "john@doe.com",
            "bob@example.com",
            "jo%hn@example.com",
            "zed@example.com"
        ]
    );
    // Wildcards are plain characters: `_` and `%` match only themselves.
    assert_eq!(found("jo%").await, ["jo%hn@example.com"]);
    assert_eq!(found("john_").await, ["bob@example.com"]);
    assert_eq!(found("j_").await, Vec::<String>::new());
    assert_eq!(found("nobody").await, Vec::<String>::new());
    // Prefixes, not substrings.
    assert_eq!(found("doe").await, Vec::<String>::new());

    // A search pages by cursor like the listing.
    let walked = walk(&store, Some("jo"), 1).await;
    assert_eq!(walked.len(), 4);
    assert_eq!(walked[3].email.as_str(), "zed@example.com");
}

async fn the_user_count_follows_every_write_path(db: TestDatabase) {
    let store = connect(&db);
    assert_eq!(store.count(None).await.unwrap(), 0);
    let a = user("a@example.com", None, now());
    let b = user("b@example.com", None, now());
    store.insert(&a).await.unwrap();
    store.insert(&b).await.unwrap();
    // A refused insert counts nothing.
    assert!(store.insert(&a).await.is_err());
    assert_eq!(store.count(None).await.unwrap(), 2);
    assert!(store.delete(a.id, false).await.unwrap());
    assert_eq!(store.count(None).await.unwrap(), 1);
    // Behind the store's back, several rows at once.
    sql(
        &db,
        "INSERT INTO users (id, email, role, is_active, is_verified, is_staff, is_superuser, \
         password_hash, date_joined) VALUES \
         ('00000000-0000-4000-8000-000000000001', 'x1@example.com', 'user', TRUE, FALSE, FALSE, \
          FALSE, 'h', '2026-01-01 00:00:00'), \
         ('00000000-0000-4000-8000-000000000002', 'x2@example.com', 'user', TRUE, FALSE, FALSE, \
          FALSE, 'h', '2026-01-01 00:00:01')",
    );
    assert_eq!(store.count(None).await.unwrap(), 3);
    sql(&db, "DELETE FROM users WHERE email LIKE 'x%'");
    assert_eq!(store.count(None).await.unwrap(), 1);
}

/// SQL for a UUID made of `kind` (a hex digit) and the generated series' `i`.
fn series_uuid(db: &TestDatabase, kind: char) -> String {
    match db.url.backend {
        Backend::Postgres => {
            format!("('00000000-0000-4000-8{kind}00-' || lpad(i::text, 12, '0'))::uuid")
        }
        Backend::Sqlite => {
            format!("'00000000-0000-4000-8{kind}00-' || substr('000000000000' || i, -12)")
        }
    }
}

async fn a_search_counts_no_further_than_one_beyond_the_limit(db: TestDatabase) {
    let store = connect(&db);
    // 1,500 users `many…@` (usernames `m…`), by SQL, and 3 `few…`.
    let joined = match db.url.backend {
        Backend::Postgres => "TIMESTAMP '2026-01-01 00:00:00'",
        Backend::Sqlite => "'2026-01-01 00:00:00'",
    };
    sql(
        &db,
        &format!(
            "INSERT INTO users (id, email, username, username_key, role, is_active, \
             is_verified, is_staff, is_superuser, password_hash, date_joined) WITH RECURSIVE \
             n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500) SELECT {many}, 'many' || i || '@example.com', 'm' || i, 'm' || i, 'user', TRUE, FALSE, FALSE, \
             FALSE, 'h', {joined} FROM n",
            many = series_uuid(&db, 'a'),
        ),
    );
    for i in 0..3 {
        store
            .insert(&user(&format!("few{i}@example.com"), None, now()))
            .await
            .unwrap();
    }
    let count = |raw: &str| {
        let search = SearchPrefix::parse(raw).unwrap();
        let store = &store;
        async move { store.count(search).await.unwrap() }
    };
    let limit = auth_domain::listing::SEARCH_TOTAL_LIMIT;
    assert_eq!(
        count("many").await,
        limit + 1,
        "counted one beyond, not 1500"
    );
    // Usernames m1, m10–m19, m100–m199, m1000–m1500: below the limit, exact.
    assert_eq!(count("m1").await, 1 + 10 + 100 + 501);
    // A user whose email and username both match is counted once: `many7…` matches the
    // emails many7, many70–79, many700–799, and now user 7's username too.
    sql(
        &db,
        "UPDATE users SET username = 'many7x', username_key = 'many7x' WHERE email = 'many7@example.com'",
    );
    assert_eq!(count("many7").await, 1 + 10 + 100);
    assert_eq!(count("few").await, 3);
    assert_eq!(count("nobody").await, 0);
    // The unfiltered total is the counter, not capped.
    assert_eq!(store.count(None).await.unwrap(), 1503);
}

async fn audit_trails_walked_by_cursor_merge_subject_and_actor_newest_first(db: TestDatabase) {
    let store = connect(&db);
    let (ann, root) = (UserId::new(), UserId::new());
    let base = now() - TimeDelta::hours(1);
    let mut expected = Vec::new();
    for n in 0..12i64 {
        // Pairs share a time; a third are ann's own acts, a third an admin's on ann, a third
        // ann acting on herself (subject and actor: listed once).
        let at = base + TimeDelta::seconds(n / 2);
        let event = match n % 3 {
            0 => AuditEvent::new(kind::LOGIN_SUCCEEDED, at).user(ann),
            1 => AuditEvent::new(kind::USER_UPDATED, at)
                .user(root)
                .actor(ann),
            _ => AuditEvent::new(kind::PROFILE_UPDATED, at)
                .user(ann)
                .actor(ann),
        };
        store.record(&event).await.unwrap();
        expected.push(event);
    }
    // Someone else's event, between them.
    let other = AuditEvent::new(kind::LOGGED_OUT, base + TimeDelta::seconds(3)).user(root);
    store.record(&other).await.unwrap();
    expected.sort_by_key(|e| std::cmp::Reverse((e.at, e.id.to_string())));
    let expected: Vec<Uuid> = expected.iter().map(|e| e.id).collect();

    for limit in [1, 2, 5, 12, 100] {
        let mut walked: Vec<Uuid> = Vec::new();
        let mut start = Start::Offset(0);
        loop {
            let page = store.list_for_user(ann, start, limit).await.unwrap();
            assert!(page.len() <= limit as usize);
            let Some(last) = page.last() else { break };
            start = Start::After(last.at, last.id);
            walked.extend(page.iter().map(|e| e.id));
        }
        assert_eq!(walked, expected, "limit {limit}");
    }
    let by_offset = store.list_for_user(ann, Start::Offset(3), 4).await.unwrap();
    assert_eq!(
        by_offset.iter().map(|e| e.id).collect::<Vec<_>>(),
        expected[3..7]
    );
    assert_eq!(store.count_for_user(ann).await.unwrap(), 12);
}

fn session_of(user: &User, created: DateTime<Utc>, expires: DateTime<Utc>) -> Session {
    Session {
        amr: auth_domain::Amr::password(),
        id: SessionId::new(),
        user_id: user.id,
        refresh_jti: Uuid::new_v4(),
        created_at: created,
        last_used_at: created,
        expires_at: expires,
        revoked_at: None,
        client: ClientInfo::default(),
    }
}

async fn prune_deletes_thousands_in_batches_and_spares_the_live(db: TestDatabase) {
    let store = connect(&db);
    let ann = user("ann@example.com", None, now());
    store.insert(&ann).await.unwrap();
    let live = session_of(&ann, now(), now() + TimeDelta::days(1));
    store.start(&live).await.unwrap();
    let revoked_lately = session_of(&ann, now(), now() + TimeDelta::days(1));
    store.start(&revoked_lately).await.unwrap();
    store.revoke(revoked_lately.id, now()).await.unwrap();
    // 2,500 expired sessions, all with one expiry (a tie larger than a batch), and 1,200
    // revoked long ago with distinct times.
    let id = ann.id;
    let ts = |literal: &str| match db.url.backend {
        Backend::Postgres => format!("TIMESTAMP '{literal}'"),
        Backend::Sqlite => format!("'{literal}'"),
    };
    let (old, older) = (ts("2020-01-01 00:00:00"), ts("2020-02-01 00:00:00"));
    let (then, far) = (ts("2021-01-01 00:00:00"), ts("2099-01-01 00:00:00"));
    sql(
        &db,
        &format!(
            "INSERT INTO sessions (id, user_id, refresh_jti, created_at, last_used_at, \
             expires_at) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
             WHERE i < 2500) SELECT {expired}, '{id}', {jti}, {old}, {old}, {older} FROM n",
            expired = series_uuid(&db, 'b'),
            jti = series_uuid(&db, 'c'),
        ),
    );
    let revoked_at = match db.url.backend {
        Backend::Postgres => "TIMESTAMP '2021-01-01 00:00:00' + i * INTERVAL '1 second'",
        Backend::Sqlite => "datetime('2021-01-01 00:00:00', '+' || i || ' seconds')",
    };
    sql(
        &db,
        &format!(
            "INSERT INTO sessions (id, user_id, refresh_jti, created_at, last_used_at, \
             expires_at, revoked_at) WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 \
             FROM n WHERE i < 1200) SELECT {revoked}, '{id}', {jti}, {then}, {then}, {far}, \
             {revoked_at} FROM n",
            revoked = series_uuid(&db, 'd'),
            jti = series_uuid(&db, 'e'),
        ),
    );

    let deleted = store
        .prune(Utc::now(), Utc::now() - TimeDelta::days(7))
        .await
        .unwrap();

    assert_eq!(deleted, 3_700);
    let left = store.list_live_for_user(ann.id, Utc::now()).await.unwrap();
    assert_eq!(left.iter().map(|s| s.id).collect::<Vec<_>>(), [live.id]);
    assert!(store
        .find_with_user(revoked_lately.id)
        .await
        .unwrap()
        .is_some());
    assert_eq!(
        store
            .prune(Utc::now(), Utc::now() - TimeDelta::days(7))
            .await
            .unwrap(),
        0
    );
}

on_both_databases!(
    users_walked_by_cursor_come_in_registration_order_once_each,
    a_walk_across_inserts_neither_repeats_nor_skips,
    a_prefix_finds_emails_and_usernames_case_insensitively,
    the_user_count_follows_every_write_path,
    a_search_counts_no_further_than_one_beyond_the_limit,
    audit_trails_walked_by_cursor_merge_subject_and_actor_newest_first,
    prune_deletes_thousands_in_batches_and_spares_the_live,
);
