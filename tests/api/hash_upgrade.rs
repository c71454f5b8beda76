//! A password hash made at a lower bcrypt cost is upgraded at the next successful login.

use auth_infra::db::schema::users;
use auth_infra::testing::TestDatabase;
use diesel::prelude::*;

use crate::support::{seed_user, Db, TestApp};

/// The stored hash, read straight from the database.
pub fn stored_hash(db: &TestDatabase, email: &str) -> String {
    let query = users::table
        .filter(users::email.eq(email.to_owned()))
        .select(users::password_hash);
    match db.raw_url().strip_prefix("sqlite://") {
        Some(path) => {
            let mut conn = diesel::SqliteConnection::establish(path).unwrap();
            query.first(&mut conn).unwrap()
        }
        None => {
            let mut conn = diesel::PgConnection::establish(db.raw_url()).unwrap();
            query.first(&mut conn).unwrap()
        }
    }
}

async fn a_lower_cost_hash_is_upgraded_at_the_next_login(db: Db) {
    // Registered by a server hashing at cost 4.
    let app = TestApp::spawn_with(db, &[("BCRYPT_COST", "4")]).await;
    assert_eq!(app.register(&seed_user()).await.status(), 201);
    assert!(stored_hash(&app.db, "john@doe.com").starts_with("$2b$04$"));

    // The server restarts configured with cost 5.
    let restarted = TestApp::build(app.db.raw_url(), &[("BCRYPT_COST", "5")]).await;
    let base = format!("http://{}", restarted.address());
    let handle = restarted.handle();
    tokio::spawn(restarted.run());
    let login = |password: &'static str| {
        let client = app.client.clone();
        let url = format!("{base}/login");
        async move {
            client
                .post(url)
                .json(&serde_json::json!({ "email": "john@doe.com", "password": password }))
                .send()
                .await
                .unwrap()
        }
    };

    // A refused login changes nothing.
    assert_eq!(login("wrong-password-1").await.status(), 401);
    assert!(stored_hash(&app.db, "john@doe.com").starts_with("$2b$04$"));

    assert_eq!(login("johnspassword1234@!").await.status(), 200);
    let upgraded = stored_hash(&app.db, "john@doe.com");
    assert!(upgraded.starts_with("$2b$05$"), "hash not upgraded");

    // The upgraded hash still holds the same password, on both servers, and is not
    // re-hashed again.
    assert_eq!(login("johnspassword1234@!").await.status(), 200);
    assert_eq!(stored_hash(&app.db, "john@doe.com"), upgraded);
    assert_eq!(
        app.login("john@doe.com", "johnspassword1234@!")
            .await
            .status(),
        200
    );
    handle.stop(false).await;
}

crate::on_both_databases!(a_lower_cost_hash_is_upgraded_at_the_next_login);
