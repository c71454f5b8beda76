//! Faults: the database going away and coming back (through a TCP proxy the test can cut),
//! and a graceful stop on SIGTERM of the real binary.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use auth_infra::testing::TestDatabase;
use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::support::{assert_error, Db, TestApp, SECRET};

/// How long any one request may take while the database is down before the test calls it a
/// hang (the server is configured to give up on the database after 1 s).
const NO_HANG: Duration = Duration::from_secs(20);

/// A TCP proxy in front of PostgreSQL. `cut()` closes every live connection and closes new
/// ones as soon as they are accepted (a refusal, never a black hole); `restore()` forwards
/// again.
struct Proxy {
    port: u16,
    cut: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let acceptor = tokio::spawn({
            let (cut, connections) = (cut.clone(), connections.clone());
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    if cut.load(Ordering::SeqCst) {
                        drop(inbound);
                        continue;
                    }
                    let link = tokio::spawn(async move {
                        if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    });
                    let mut live = connections.lock().unwrap();
                    live.retain(|task| !task.is_finished());
                    live.push(link);
                }
            }
        });
        Self {
            port,
            cut,
            connections,
            acceptor,
        }
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for link in self.connections.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.cut();
    }
}

/// `postgres://user@host:port/name?query` → (host:port, the same URL through 127.0.0.1:proxy
/// with a connect timeout).
fn split_url(url: &str) -> (String, Box<dyn Fn(u16) -> String>) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host.to_owned()),
        None => (String::new(), authority.to_owned()),
    };
    let host_port = if host_port.contains(':') {
        host_port
    } else {
        format!("{host_port}:5432")
    };
    let separator = if path.contains('?') { '&' } else { '?' };
    let (scheme, path) = (scheme.to_owned(), path.to_owned());
    (
        host_port,
        Box::new(move |port| {
            format!("{scheme}://{userinfo}127.0.0.1:{port}/{path}{separator}connect_timeout=2")
        }),
    )
}

/// A server whose PostgreSQL connections all go through a [`Proxy`].
struct ProxiedApp {
    address: String,
    client: reqwest::Client,
    handle: ServerHandle,
    proxy: Proxy,
    db: TestDatabase,
}

impl ProxiedApp {
    async fn spawn() -> Self {
        let db = TestDatabase::postgres();
        let (target, through) = split_url(db.raw_url());
        let target = tokio::net::lookup_host(target)
            .await
            .unwrap()
            .next()
            .unwrap();
        let proxy = Proxy::start(target).await;
        let app = TestApp::build(
            &through(proxy.port),
            &[("DATABASE_TIMEOUT", "1s"), ("DATABASE_POOL_SIZE", "4")],
        )
        .await;
        let address = format!("http://{}", app.address());
        let handle = app.handle();
        tokio::spawn(app.run());
        Self {
            address,
            client: reqwest::Client::builder().timeout(NO_HANG).build().unwrap(),
            handle,
            proxy,
            db,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("the server answers while the database is down (no hang)")
    }

    async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
            .send()
            .await
            .expect("the server answers while the database is down (no hang)")
    }

    /// Polls `/ready` until it answers 200 (the pool reconnects on its own).
    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.get("/ready", None).await.status() == 200 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the server serves again once the database is back"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for ProxiedApp {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

fn credentials(email: &str) -> Value {
    json!({ "email": email, "password": "securepass123" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_down_is_503_and_the_same_process_recovers() {
    let app = ProxiedApp::spawn().await;
    assert_eq!(
        app.post("/create", &credentials("a@example.com"))
            .await
            .status(),
        201
    );
    let tokens: Value = app
        .post("/login", &credentials("a@example.com"))
        .await
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/", Some(&access)).await.status(), 200);

    app.proxy.cut();
    assert_error(app.get("/ready", None).await, 503, "service_unavailable").await;
    assert_error(
        app.get("/", Some(&access)).await,
        503,
        "service_unavailable",
    )
    .await;
    assert_error(
        app.post("/login", &credentials("a@example.com")).await,
        503,
        "service_unavailable",
    )
    .await;
    assert_error(
        app.post("/create", &credentials("b@example.com")).await,
        503,
        "service_unavailable",
    )
    .await;
    assert_error(
        app.post(
            "/refresh-access",
            &json!({ "refresh_token": tokens["refresh_token"] }),
        )
        .await,
        503,
        "service_unavailable",
    )
    .await;
    // What needs no database still answers.
    assert_eq!(app.get("/health", None).await.status(), 200);

    app.proxy.restore();
    app.wait_ready().await;
    assert_eq!(app.get("/", Some(&access)).await.status(), 200);
    assert_eq!(
        app.post("/create", &credentials("b@example.com"))
            .await
            .status(),
        201
    );
    assert_eq!(
        app.post("/login", &credentials("b@example.com"))
            .await
            .status(),
        200
    );
}

/// What one registration attempt came to, as its client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    Failed(Option<u16>),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registrations_across_an_outage_lose_nothing_and_invent_nothing() {
    let app = Arc::new(ProxiedApp::spawn().await);
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 25;
    let clients: Vec<_> = (0..CLIENTS)
        .map(|client| {
            let app = app.clone();
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                for n in 0..PER_CLIENT {
                    let email = format!("c{client}-n{n}@example.com");
                    let outcome = match app
                        .client
                        .post(app.url("/create"))
                        .json(&credentials(&email))
                        .send()
                        .await
                    {
                        Ok(response) if response.status() == 201 => Outcome::Created,
                        Ok(response) => Outcome::Failed(Some(response.status().as_u16())),
                        Err(_) => Outcome::Failed(None),
                    };
                    outcomes.push((email, outcome));
                    tokio::time::sleep(Duration::from_millis(40)).await;
                }
                outcomes
            })
        })
        .collect();

    // Cut while the clients are registering, and restore while they still are.
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.proxy.cut();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.proxy.restore();

    let mut outcomes = Vec::new();
    for client in clients {
        outcomes.extend(client.await.unwrap());
    }
    app.wait_ready().await;

    let created: BTreeSet<&str> = outcomes
        .iter()
        .filter(|(_, o)| *o == Outcome::Created)
        .map(|(e, _)| e.as_str())
        .collect();
    let failed: BTreeSet<&str> = outcomes
        .iter()
        .filter(|(_, o)| *o != Outcome::Created)
        .map(|(e, _)| e.as_str())
        .collect();
    for (email, outcome) in &outcomes {
        if let Outcome::Failed(status) = outcome {
            assert_eq!(
                *status,
                Some(503),
                "{email}: an outage is a 503, never a 500 or a dropped request"
            );
        }
    }
    assert!(!failed.is_empty(), "the outage was seen by some request");
    assert!(!created.is_empty(), "requests succeed around the outage");

    let url = app.db.raw_url().to_owned();
    let stored: BTreeSet<String> = tokio::task::spawn_blocking(move || {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            email: String,
        }
        let mut conn = diesel::pg::PgConnection::establish(&url).unwrap();
        diesel::sql_query("SELECT email FROM users")
            .load::<Row>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|row| row.email)
            .collect()
    })
    .await
    .unwrap();

    for email in &created {
        assert!(stored.contains(*email), "{email} got 201 but has no row");
    }
    for email in &stored {
        assert!(
            created.contains(email.as_str()) || failed.contains(email.as_str()),
            "{email} has a row but no request for it"
        );
    }
    // A failed registration may have committed before its answer was lost; retrying it then
    // says so (409), and one that did not commit succeeds now.
    for email in &failed {
        let retry = app.post("/create", &credentials(email)).await.status();
        if stored.contains(*email) {
            assert_eq!(retry, 409, "{email}");
        } else {
            assert_eq!(retry, 201, "{email}");
        }
    }
}

// ---- Graceful shutdown of the real binary ---------------------------------------------------

/// The real `auth-server` binary, killed if still running when dropped.
struct Process {
    child: Child,
    address: SocketAddr,
    // Kept open: the server's standard output must stay writable.
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Process {
    fn start(database_url: &str, workdir: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_auth-server"))
            .arg("serve")
            .current_dir(workdir)
            .env("DATABASE_URL", database_url)
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .env("JWT_SECRET", SECRET)
            .env("DATA_ENCRYPTION_KEY", crate::support::DATA_KEY)
            .env("BCRYPT_COST", "4")
            .env("WORKERS", "2")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        let mut stdout = BufReader::new(stdout);
        stdout.read_line(&mut line).unwrap();
        let address = line
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        Self {
            child,
            address,
            _stdout: stdout,
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `request` on `stream` and reads one response (headers + `Content-Length` body).
fn read_response(stream: &mut TcpStream) -> (u16, String) {
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    (status, String::from_utf8(body).unwrap())
}

fn graceful_stop_finishes_in_flight_requests(db: Db) {
    let database = match db {
        Db::Sqlite => TestDatabase::sqlite(),
        Db::Postgres => TestDatabase::postgres(),
    };
    let workdir = std::env::temp_dir().join(format!("auth-sigterm-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&workdir).unwrap();
    let mut server = Process::start(database.raw_url(), &workdir);
    let registration = credentials("slow@example.com").to_string();
    let mut stream = TcpStream::connect(server.address).unwrap();
    write!(
        stream,
        "POST /create HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{registration}",
        registration.len()
    )
    .unwrap();
    assert_eq!(read_response(&mut stream).0, 201);

    // A connection the server has certainly accepted (it answered on it), then a login whose
    // body is only half sent: that request is in flight when the signal arrives.
    let mut stream = TcpStream::connect(server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut stream).0, 200);
    let body = credentials("slow@example.com").to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    write!(
        stream,
        "POST /login HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.signal("TERM");

    // New connections are refused once the server has stopped listening…
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect_timeout(&server.address, Duration::from_secs(1)) {
            Err(_) => break,
            Ok(_) => {
                assert!(Instant::now() < deadline, "still accepting after SIGTERM");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server waits for the request in flight"
    );

    // …while the request in flight completes.
    stream.write_all(rest.as_bytes()).unwrap();
    let (status, body) = read_response(&mut stream);
    assert_eq!(status, 200, "{body}");
    let tokens: Value = serde_json::from_str(&body).unwrap();
    assert!(tokens["access_token"].is_string());

    let exit = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server exits once its requests are done");
    assert!(exit.success(), "{exit:?}");
    drop(database);
    let _ = std::fs::remove_dir_all(workdir);
}

mod sqlite {
    #[test]
    fn graceful_stop_finishes_in_flight_requests() {
        super::graceful_stop_finishes_in_flight_requests(super::Db::Sqlite);
    }
}

mod postgres {
    #[test]
    fn graceful_stop_finishes_in_flight_requests() {
        super::graceful_stop_finishes_in_flight_requests(super::Db::Postgres);
    }
}
