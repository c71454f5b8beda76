//! `GET /sessions`, `DELETE /sessions/{id}`, `POST /logout-all`, and `auth-server prune`.

use std::process::Command;

use auth_domain::ports::SessionRepository;
use auth_domain::session::ClientInfo;
use auth_domain::{Session, SessionId, UserId};
use auth_infra::{Database, DatabaseOptions};
use chrono::{TimeDelta, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::support::{assert_error, Db, TestApp, SECRET};
use crate::support::{
    delete, get, json_of, login, login_as, me_status, post, refresh_status, register, PASSWORD,
};

const ANN: &str = "ann@example.com";
const BOB: &str = "bob@example.com";

async fn sessions_lists_the_live_ones_and_marks_the_current(db: Db) {
    let app = TestApp::spawn(db).await;
    register(&app, ANN).await;
    let laptop = login_as(&app, ANN, PASSWORD, "laptop/1.0").await;
    let phone = login_as(&app, ANN, PASSWORD, "phone/2.0").await;
    let ended = login_as(&app, ANN, PASSWORD, "old/0.1").await;
    assert_eq!(
        post(&app, "/logout", &ended.access, &json!({}))
            .await
            .status(),
        204
    );
    register(&app, BOB).await;
    login(&app, BOB, PASSWORD).await;

    let body = json_of(get(&app, "/sessions", &laptop.access).await, 200).await;

    let items = body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        2,
        "the ended one and Bob's are not listed: {body}"
    );
    let current: Vec<_> = items.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["user_agent"], "laptop/1.0");
    let other = items.iter().find(|s| s["current"] == false).unwrap();
    assert_eq!(other["user_agent"], "phone/2.0");
    for session in items {
        assert!(Uuid::parse_str(session["id"].as_str().unwrap()).is_ok());
        assert_eq!(session["address"], "127.0.0.1");
        for time in ["created_at", "last_used_at", "expires_at"] {
            let value = session[time].as_str().unwrap();
            assert!(
                chrono::DateTime::parse_from_rfc3339(value).is_ok(),
                "{time}: {value}"
            );
        }
        let keys: Vec<_> = session.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 7, "exactly the documented keys: {keys:?}");
    }
    // Seen from the phone, the phone is the current one.
    let body = json_of(get(&app, "/sessions", &phone.access).await, 200).await;
    let current = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == true)
        .unwrap()
        .clone();
    assert_eq!(current["user_agent"], "phone/2.0");

    let anonymous = app.client.get(app.url("/sessions")).send().await.unwrap();
    assert_error(anonymous, 401, "not_authenticated").await;
}

/// The id of the caller's session whose user agent is `agent`.
async fn session_id(app: &TestApp, token: &str, agent: &str) -> String {
    let body = json_of(get(app, "/sessions", token).await, 200).await;
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["user_agent"] == agent)
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .unwrap()
}

async fn ending_one_of_ones_own_sessions_kills_its_tokens_only(db: Db) {
    let app = TestApp::spawn(db).await;
    register(&app, ANN).await;
    let laptop = login_as(&app, ANN, PASSWORD, "laptop").await;
    let phone = login_as(&app, ANN, PASSWORD, "phone").await;
    let phone_id = session_id(&app, &laptop.access, "phone").await;

    let response = delete(&app, &format!("/sessions/{phone_id}"), &laptop.access).await;

    assert_eq!(response.status(), 204);
    assert_eq!(me_status(&app, &phone.access).await, 401);
    assert_eq!(refresh_status(&app, &phone.refresh).await, 401);
    assert_eq!(me_status(&app, &laptop.access).await, 200);
    let again = delete(&app, &format!("/sessions/{phone_id}"), &laptop.access).await;
    assert_error(again, 404, "not_found").await;

    // Ending the current session is a logout.
    let laptop_id = session_id(&app, &laptop.access, "laptop").await;
    let response = delete(&app, &format!("/sessions/{laptop_id}"), &laptop.access).await;
    assert_eq!(response.status(), 204);
    assert_eq!(me_status(&app, &laptop.access).await, 401);
}

async fn someone_elses_unknown_or_malformed_session_is_not_found(db: Db) {
    let app = TestApp::spawn(db).await;
    register(&app, ANN).await;
    register(&app, BOB).await;
    let ann = login(&app, ANN, PASSWORD).await;
    let bob = login_as(&app, BOB, PASSWORD, "bobs-agent").await;
    let bobs_id = session_id(&app, &bob.access, "bobs-agent").await;

    let paths = [
        format!("/sessions/{bobs_id}"),
        format!("/sessions/{}", Uuid::new_v4()),
        "/sessions/not-a-uuid".to_owned(),
        "/sessions/%FF%FE".to_owned(),
    ];
    for path in &paths {
        let response = delete(&app, path, &ann.access).await;
        assert_error(response, 404, "not_found").await;
    }
    assert_eq!(
        me_status(&app, &bob.access).await,
        200,
        "Bob's session lives on"
    );
    assert_eq!(refresh_status(&app, &bob.refresh).await, 200);
}

async fn logout_all_ends_every_session_of_the_caller(db: Db) {
    let app = TestApp::spawn(db).await;
    register(&app, ANN).await;
    register(&app, BOB).await;
    let pairs = [
        login(&app, ANN, PASSWORD).await,
        login(&app, ANN, PASSWORD).await,
        login(&app, ANN, PASSWORD).await,
    ];
    let bob = login(&app, BOB, PASSWORD).await;

    let response = post(&app, "/logout-all", &pairs[1].access, &json!({})).await;

    assert_eq!(response.status(), 204);
    for pair in &pairs {
        assert_eq!(me_status(&app, &pair.access).await, 401);
        assert_eq!(refresh_status(&app, &pair.refresh).await, 401);
    }
    assert_eq!(
        me_status(&app, &bob.access).await,
        200,
        "other users untouched"
    );
    let again = login(&app, ANN, PASSWORD).await;
    assert_eq!(me_status(&app, &again.access).await, 200);
    let get_instead = app
        .client
        .get(app.url("/logout-all"))
        .bearer_auth(&again.access)
        .send()
        .await
        .unwrap();
    assert_error(get_instead, 405, "method_not_allowed").await;
}

fn session(user: UserId, age: TimeDelta, lifetime: TimeDelta) -> Session {
    let opened = Utc::now() - age;
    Session {
        amr: auth_domain::Amr::password(),
        id: SessionId::new(),
        user_id: user,
        refresh_jti: Uuid::new_v4(),
        created_at: opened,
        last_used_at: opened,
        expires_at: opened + lifetime,
        revoked_at: None,
        client: ClientInfo::default(),
    }
}

async fn prune_command_deletes_expired_and_long_revoked_sessions_and_keeps_live_ones(db: Db) {
    let app = TestApp::spawn(db).await;
    let ann: UserId = UserId(Uuid::parse_str(&register(&app, ANN).await).unwrap());
    let live = login(&app, ANN, PASSWORD).await;
    let store = Database::connect(&app.db.url, &DatabaseOptions::default()).unwrap();
    let expired = session(ann, TimeDelta::days(31), TimeDelta::days(30));
    store.start(&expired).await.unwrap();
    let long_revoked = session(ann, TimeDelta::days(20), TimeDelta::days(30));
    store.start(&long_revoked).await.unwrap();
    store
        .revoke(long_revoked.id, Utc::now() - TimeDelta::days(8))
        .await
        .unwrap();
    let recently_revoked = session(ann, TimeDelta::days(2), TimeDelta::days(30));
    store.start(&recently_revoked).await.unwrap();
    store
        .revoke(recently_revoked.id, Utc::now() - TimeDelta::days(1))
        .await
        .unwrap();

    // The real binary, as an operator (or a cron job) runs it.
    let output = Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .arg("prune")
        .env_clear()
        .env("DATABASE_URL", app.db.raw_url())
        .env("JWT_SECRET", SECRET)
        .env("DATA_ENCRYPTION_KEY", crate::support::DATA_KEY)
        .env("RUST_LOG", "warn")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("deleted 2 "), "{stdout}");
    assert!(store.find_with_user(expired.id).await.unwrap().is_none());
    assert!(store
        .find_with_user(long_revoked.id)
        .await
        .unwrap()
        .is_none());
    assert!(
        store
            .find_with_user(recently_revoked.id)
            .await
            .unwrap()
            .is_some(),
        "kept for SESSION_RETENTION (7 days by default)"
    );
    assert_eq!(
        me_status(&app, &live.access).await,
        200,
        "live sessions are kept"
    );
    assert_eq!(refresh_status(&app, &live.refresh).await, 200);
}

async fn serve_prunes_periodically(db: Db) {
    let app = TestApp::spawn_with(db, &[("PRUNE_INTERVAL", "1s")]).await;
    let ann: UserId = UserId(Uuid::parse_str(&register(&app, ANN).await).unwrap());
    let live = login(&app, ANN, PASSWORD).await;
    let store = Database::connect(&app.db.url, &DatabaseOptions::default()).unwrap();
    let expired = session(ann, TimeDelta::days(31), TimeDelta::days(30));
    store.start(&expired).await.unwrap();

    // Behaviour, not timing: wait (up to a generous bound) until the server has pruned it.
    let mut pruned = false;
    for _ in 0..300 {
        if store.find_with_user(expired.id).await.unwrap().is_none() {
            pruned = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        pruned,
        "the serving process deletes expired sessions by itself"
    );
    assert_eq!(me_status(&app, &live.access).await, 200);
}

async fn a_bad_prune_interval_stops_the_server_with_one_line(db: Db) {
    let database = match db {
        Db::Sqlite => auth_infra::testing::TestDatabase::sqlite(),
        Db::Postgres => auth_infra::testing::TestDatabase::postgres(),
    };
    let output = Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .arg("prune")
        .env_clear()
        .env("DATABASE_URL", database.raw_url())
        .env("JWT_SECRET", SECRET)
        .env("DATA_ENCRYPTION_KEY", crate::support::DATA_KEY)
        .env("PRUNE_INTERVAL", "soon")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("PRUNE_INTERVAL"), "{stderr}");
}

crate::on_both_databases!(
    sessions_lists_the_live_ones_and_marks_the_current,
    ending_one_of_ones_own_sessions_kills_its_tokens_only,
    someone_elses_unknown_or_malformed_session_is_not_found,
    logout_all_ends_every_session_of_the_caller,
    prune_command_deletes_expired_and_long_revoked_sessions_and_keeps_live_ones,
    serve_prunes_periodically,
    a_bad_prune_interval_stops_the_server_with_one_line,
);
