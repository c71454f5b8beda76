//! The real binary, logging at debug level through a whole flow, never writes a password, a
//! password hash, a token or the signing key.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use auth_infra::testing::TestDatabase;
use serde_json::{json, Value};

use crate::hash_upgrade::stored_hash;
use crate::support::{Db, SECRET};

const PASSWORD: &str = "johnspassword1234@!";
const WRONG_PASSWORD: &str = "Wr0ng-but-close-1234@!";
const COMMON_PASSWORD: &str = "password123";

/// The server process; killed when dropped.
struct Server {
    child: Child,
    output: Arc<Mutex<String>>,
    readers: Vec<thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `auth-server serve` on a free port and waits for its address.
    fn start(db: &TestDatabase) -> (Self, String) {
        let workdir = std::env::temp_dir().join(format!("auth-logs-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&workdir).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .arg("serve")
            .current_dir(&workdir)
            .env("DATABASE_URL", db.raw_url())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("JWT_SECRET", SECRET)
            .env("DATA_ENCRYPTION_KEY", crate::support::DATA_KEY)
            .env("BCRYPT_COST", "4")
            .env("WORKERS", "2")
            .env("RUST_LOG", "debug")
            .env_remove("RUST_LOG_STYLE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("auth-server starts");
        let output = Arc::new(Mutex::new(String::new()));
        let (address_tx, address_rx) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let out = Arc::clone(&output);
        let stdout_reader = thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("auth-server listening on ") {
                    let _ = address_tx.send(address.trim().to_owned());
                }
                let mut all = out.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
            }
        });
        let err = Arc::clone(&output);
        let stderr_reader = thread::spawn(move || {
            let mut text = String::new();
            let mut stderr = stderr;
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                err.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let server = Self {
            child,
            output,
            readers: vec![stdout_reader, stderr_reader],
        };
        let address = address_rx
            .recv_timeout(Duration::from_secs(120))
            .unwrap_or_else(|_| {
                panic!(
                    "no address printed; output so far:\n{}",
                    server.output.lock().unwrap()
                )
            });
        (server, address)
    }

    /// Stops the process and returns everything it wrote.
    fn finish(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in std::mem::take(&mut self.readers) {
            let _ = reader.join();
        }
        let output = self.output.lock().unwrap().clone();
        output
    }
}

async fn logs_never_contain_a_password_a_hash_or_a_token(db: Db) {
    let database = match db {
        Db::Sqlite => TestDatabase::sqlite(),
        Db::Postgres => TestDatabase::postgres(),
    };
    let (server, base) = Server::start(&database);
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| client.post(format!("{base}{path}")).json(&body).send();

    let user = json!({
        "email": "john@doe.com", "username": "john.doe", "first_name": "John",
        "last_name": "Doe", "password": PASSWORD,
    });
    assert_eq!(post("/create", user).await.unwrap().status(), 201);
    let weak = json!({ "email": "weak@doe.com", "password": COMMON_PASSWORD });
    assert_eq!(post("/create", weak).await.unwrap().status(), 422);
    let credentials = json!({ "email": "john@doe.com", "password": PASSWORD });
    let first: Value = post("/login", credentials.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let home = client
        .get(format!("{base}/"))
        .bearer_auth(first["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), 200);
    let refreshed: Value = post(
        "/refresh-access",
        json!({ "refresh_token": first["refresh_token"] }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    // A replayed refresh token, a bad bearer token, a logout, a wrong password.
    let replay = post(
        "/refresh-access",
        json!({ "refresh_token": first["refresh_token"] }),
    )
    .await
    .unwrap();
    assert_eq!(replay.status(), 401);
    let bad_bearer = client
        .get(format!("{base}/users/me"))
        .bearer_auth(format!("{}x", first["access_token"].as_str().unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(bad_bearer.status(), 401);
    let second: Value = post("/login", credentials)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let logout = client
        .post(format!("{base}/logout"))
        .bearer_auth(second["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let wrong = json!({ "email": "john@doe.com", "password": WRONG_PASSWORD });
    assert_eq!(post("/login", wrong).await.unwrap().status(), 401);

    // Secrets in query strings: the link a reset mail carries, and what careless clients send.
    const QUERY_SECRETS: [(&str, &str); 3] = [
        (
            "/reset-password?token=",
            "QueryResetToken0123456789abcdefABCDEF",
        ),
        (
            "/users/me?access_token=",
            "QueryAccessToken0123456789abcdef",
        ),
        (
            "/login?email=john%40doe.com&password=",
            "QueryPassword0123456789",
        ),
    ];
    for (path, secret) in QUERY_SECRETS {
        let response = client
            .get(format!("{base}{path}{secret}"))
            .send()
            .await
            .unwrap();
        assert_ne!(response.status(), 500);
    }

    let hash = stored_hash(&database, "john@doe.com");
    let logs = server.finish();
    // The capture worked: the flow is in the log.
    assert!(logs.contains("listening on"), "{logs}");
    assert!(logs.contains("POST /login"), "request log missing:\n{logs}");
    assert!(logs.contains("DEBUG"), "not at debug level:\n{logs}");
    assert!(
        logs.contains("GET /reset-password HTTP/1.1"),
        "the request line, without its query, is logged:\n{logs}"
    );

    let mut secrets: Vec<(String, String)> = vec![
        ("the password".into(), PASSWORD.into()),
        ("a wrong password".into(), WRONG_PASSWORD.into()),
        ("a refused password".into(), COMMON_PASSWORD.into()),
        ("a bcrypt hash".into(), "$2b$".into()),
        ("the stored hash".into(), hash),
        ("the signing key".into(), SECRET.into()),
    ];
    for (path, secret) in QUERY_SECRETS {
        secrets.push((format!("the query secret of {path}"), secret.into()));
    }
    for (name, pair) in [
        ("first", &first),
        ("refreshed", &refreshed),
        ("second", &second),
    ] {
        for kind in ["access_token", "refresh_token"] {
            let token = pair[kind].as_str().unwrap().to_owned();
            let signature = token.rsplit('.').next().unwrap().to_owned();
            secrets.push((format!("the {name} {kind}"), token));
            secrets.push((format!("the {name} {kind}'s signature"), signature));
        }
    }
    for (name, secret) in secrets {
        assert!(!logs.contains(&secret), "the log contains {name}:\n{logs}");
    }
}

crate::on_both_databases!(logs_never_contain_a_password_a_hash_or_a_token);
