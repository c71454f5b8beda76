//! A credential change is a compare-and-set on the caller's live session: of concurrent
//! `POST /users/me/password` requests of one user, at most one answers 200; the others
//! answer 401 `invalid_token` and change nothing.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::support::{Db, TestApp};

const CURRENT: &str = "johnspassword1234@!";

async fn concurrent_password_changes_of_one_user_let_exactly_one_win(db: Db) {
    let app = TestApp::spawn(db).await;
    let (first, _) = app.seed_tokens().await;
    let (second, _) = app.login_pair("john@doe.com", CURRENT).await;
    let changes = (0..20).map(|n| {
        // Half from one session, half from the other.
        let token = if n % 2 == 0 { &first } else { &second };
        let body = json!({
            "current_password": CURRENT,
            "new_password": format!("brand-new-secret-{n}-xq"),
        });
        app.client
            .post(app.url("/users/me/password"))
            .bearer_auth(token)
            .json(&body)
            .send()
    });
    let responses = join_all(changes).await;
    let mut winners = Vec::new();
    for (n, response) in responses.into_iter().enumerate() {
        let response = response.expect("request sent");
        let status = response.status().as_u16();
        let body: Value = response.json().await.expect("JSON");
        match status {
            200 => winners.push(n),
            401 => assert_eq!(body["code"], "invalid_token", "{body}"),
            other => panic!("change {n}: {other} {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    // The winner's password is the password; a loser's changed nothing.
    let winner = format!("brand-new-secret-{}-xq", winners[0]);
    let loser = format!("brand-new-secret-{}-xq", (winners[0] + 1) % 20);
    assert_eq!(app.login("john@doe.com", &loser).await.status(), 401);
    assert_eq!(app.login("john@doe.com", CURRENT).await.status(), 401);
    assert_eq!(app.login("john@doe.com", &winner).await.status(), 200);
}

crate::on_both_databases!(concurrent_password_changes_of_one_user_let_exactly_one_win);
