//! The real `auth-server` binary: `--help`, start-up failures, `migrate`,
//! `create-superuser`, and serving with no configuration at all.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::support::{seed_user, SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_auth-server");
/// Longest a start-up failure or a one-shot command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// An empty temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("auth-cli-{}", Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The binary in `dir` with an empty environment but `PATH` and `vars`.
fn command(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).env_clear();
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    command.envs(vars.iter().copied());
    command
}

/// Runs to completion (killed after [`COMMAND_TIMEOUT`]) with `stdin` as standard input.
fn run(mut command: Command, args: &[&str], stdin: &str) -> Output {
    let mut child = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut pipe = child.stdin.take().unwrap();
        // The program may exit before reading: a broken pipe is not the test's concern.
        let _ = pipe.write_all(stdin.as_bytes());
    }
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > COMMAND_TIMEOUT {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{args:?} still running after {COMMAND_TIMEOUT:?}; stderr: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Asserts the process stopped with a failure and exactly one stderr line naming `variable`.
fn assert_fails_naming(output: &Output, variable: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "exit {:?}; stderr {stderr}",
        output.status
    );
    assert!(
        output.status.code().is_some(),
        "exited, not killed: {:?}",
        output.status
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert_eq!(lines.len(), 1, "one line on stderr, got {stderr:?}");
    assert!(
        lines[0].contains(variable),
        "{variable} named in {stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("RUST_BACKTRACE"), "{stderr}");
}

/// A running `auth-server serve`, killed when dropped (also when the test fails).
struct Server {
    child: Child,
    address: String,
    stderr_file: PathBuf,
}

impl Server {
    /// Starts the server in `dir` and waits for its "listening on http://…" line.
    fn start(dir: &Path, vars: &[(&str, &str)]) -> Self {
        let stderr_file = dir.join("server.stderr");
        let mut child = command(dir, vars)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr_file).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(at) = line.find("listening on http://") {
                    let address = line[at + "listening on ".len()..].trim().to_owned();
                    let _ = sender.send(address);
                }
            }
        });
        // Owned by the guard from here on, so a failing wait still kills the child.
        let mut server = Self {
            child,
            address: String::new(),
            stderr_file,
        };
        match receiver.recv_timeout(COMMAND_TIMEOUT) {
            Ok(address) => server.address = address,
            Err(_) => panic!(
                "no \"listening on\" line; exit {:?}; stderr: {}",
                server.child.try_wait(),
                server.stderr()
            ),
        }
        server
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_file).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn login(client: &Client, server: &Server, email: &str, password: &str) -> String {
    let response = client
        .post(server.url("/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        200,
        "login; server stderr: {}",
        server.stderr()
    );
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn me(client: &Client, server: &Server, access: &str) -> Value {
    let response = client
        .get(server.url("/users/me"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

const FAST: (&str, &str) = ("BCRYPT_COST", "4");

#[test]
fn help_lists_the_configuration_variables() {
    let dir = TempDir::new();
    let output = run(command(dir.path(), &[]), &["--help"], "");
    assert!(output.status.success(), "{output:?}");
    let help = String::from_utf8_lossy(&output.stdout);
    for variable in [
        "DATABASE_URL",
        "JWT_SECRET",
        "BCRYPT_COST",
        "JWT_ALGORITHM",
        "ACCESS_TOKEN_TTL",
        "REFRESH_TOKEN_NAME",
        "MAX_BODY_BYTES",
        "AUTH_SUPERUSER_PASSWORD",
        "DATA_ENCRYPTION_KEY",
        "MFA_ISSUER",
        "MFA_TOKEN_TTL",
        "REAUTH_MAX_AGE",
        "REQUIRE_MFA_FOR_ADMINS",
    ] {
        assert!(help.contains(variable), "{variable} in --help:\n{help}");
    }
    for subcommand in ["serve", "migrate", "create-superuser"] {
        assert!(help.contains(subcommand), "{subcommand} in --help:\n{help}");
    }
}

#[test]
fn short_jwt_secret_stops_the_server() {
    let dir = TempDir::new();
    let output = run(
        command(
            dir.path(),
            &[FAST, ("PORT", "0"), ("JWT_SECRET", "too-short")],
        ),
        &[],
        "",
    );
    assert_fails_naming(&output, "JWT_SECRET");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("too-short"),
        "the secret is not echoed"
    );
}

#[test]
fn unknown_jwt_algorithm_stops_the_server() {
    let dir = TempDir::new();
    let vars = [
        FAST,
        ("PORT", "0"),
        ("JWT_SECRET", SECRET),
        ("JWT_ALGORITHM", "XX256"),
    ];
    let output = run(command(dir.path(), &vars), &["serve"], "");
    assert_fails_naming(&output, "JWT_ALGORITHM");
}

#[test]
fn unparsable_duration_stops_the_server() {
    let dir = TempDir::new();
    let vars = [
        FAST,
        ("PORT", "0"),
        ("JWT_SECRET", SECRET),
        ("ACCESS_TOKEN_TTL", "abc"),
    ];
    let output = run(command(dir.path(), &vars), &["serve"], "");
    assert_fails_naming(&output, "ACCESS_TOKEN_TTL");
}

#[test]
fn postgres_without_jwt_secret_stops_the_server() {
    let dir = TempDir::new();
    let vars = [
        FAST,
        ("PORT", "0"),
        (
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
    ];
    let output = run(command(dir.path(), &vars), &["serve"], "");
    assert_fails_naming(&output, "JWT_SECRET");
}

#[test]
fn unreachable_database_stops_the_server() {
    let dir = TempDir::new();
    let vars = [
        FAST,
        ("PORT", "0"),
        ("JWT_SECRET", SECRET),
        ("DATA_ENCRYPTION_KEY", crate::support::DATA_KEY),
        ("DATABASE_URL", "postgres://postgres@127.0.0.1:1/x"),
    ];
    let output = run(command(dir.path(), &vars), &["serve"], "");
    assert_fails_naming(&output, "DATABASE_URL");
}

#[test]
fn postgres_without_data_encryption_key_stops_the_server() {
    let dir = TempDir::new();
    let vars = [
        FAST,
        ("PORT", "0"),
        ("JWT_SECRET", SECRET),
        (
            "DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/postgres",
        ),
    ];
    let output = run(command(dir.path(), &vars), &["serve"], "");
    assert_fails_naming(&output, "DATA_ENCRYPTION_KEY");
}

#[test]
fn migrate_on_a_fresh_sqlite_file_exits_zero() {
    let dir = TempDir::new();
    let database = dir.path().join("fresh.db");
    let url = format!("sqlite://{}", database.display());
    for _ in 0..2 {
        // Twice: migrating an up-to-date database is fine too.
        let output = run(
            command(dir.path(), &[("DATABASE_URL", &url)]),
            &["migrate"],
            "",
        );
        assert!(output.status.success(), "{output:?}");
        assert!(!String::from_utf8_lossy(&output.stderr).contains("panicked"));
    }
    assert!(database.is_file(), "migrate created {}", database.display());
}

async fn assert_superuser_can_log_in(dir: &Path, email: &str, password: &str) {
    let server = Server::start(dir, &[FAST, ("PORT", "0")]);
    let client = Client::new();
    let access = login(&client, &server, email, password).await;
    let user = me(&client, &server, &access).await;
    assert_eq!(user["email"], email);
    assert_eq!(user["role"], "admin");
    assert_eq!(user["is_superuser"], true);
    assert_eq!(user["is_staff"], true);
    assert_eq!(user["is_verified"], true);
    assert_eq!(user["is_active"], true);
    let response = client
        .post(server.url("/login"))
        .json(&json!({ "email": email, "password": format!("{password}x") }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn create_superuser_with_the_password_in_the_environment() {
    let dir = TempDir::new();
    let password = "admin-password-123";
    let output = run(
        command(dir.path(), &[FAST, ("AUTH_SUPERUSER_PASSWORD", password)]),
        &["create-superuser", "--email", "admin@example.com"],
        "",
    );
    assert!(output.status.success(), "{output:?}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains(password));
    assert!(!String::from_utf8_lossy(&output.stderr).contains(password));
    assert_superuser_can_log_in(dir.path(), "admin@example.com", password).await;
}

#[tokio::test]
async fn create_superuser_with_the_password_on_standard_input() {
    let dir = TempDir::new();
    let password = "stdin-password-456";
    let output = run(
        command(dir.path(), &[FAST]),
        &[
            "create-superuser",
            "--email",
            "Root@Example.com",
            "--username",
            "root",
        ],
        &format!("{password}\n"),
    );
    assert!(output.status.success(), "{output:?}");
    assert_superuser_can_log_in(dir.path(), "root@example.com", password).await;
}

#[tokio::test]
async fn serve_with_no_configuration_runs_on_sqlite() {
    let dir = TempDir::new();
    let server = Server::start(dir.path(), &[("PORT", "0")]);

    let database = dir.path().join("auth.db");
    let key_file = dir.path().join("auth.db.jwt-secret");
    assert!(database.is_file(), "auth.db created");
    assert!(key_file.is_file(), "auth.db.jwt-secret created");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&key_file).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "key file mode {mode:o}");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(key.trim().len() >= 32, "key of at least 32 bytes");

    let client = Client::new();
    let response = client
        .post(server.url("/create"))
        .json(&seed_user())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201, "stderr: {}", server.stderr());
    let access = login(&client, &server, "john@doe.com", "johnspassword1234@!").await;
    let response = client
        .get(server.url("/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({ "message": "hello john@doe.com" }));

    // The generated key is kept: a restart still accepts the token.
    drop(server);
    let server = Server::start(dir.path(), &[("PORT", "0")]);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
    let response = client
        .get(server.url("/"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "token survives a restart");
}

/// A sample of `name` from the server's `/metrics`.
async fn metric(client: &Client, server: &Server, name: &str) -> f64 {
    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
        .trim()
        .parse()
        .unwrap()
}

/// SQLite's session cache is exact for one process, and a write from another process on the
/// same file — here a second `auth-server serve` — is honoured within 1 s.
#[tokio::test]
async fn sqlite_a_logout_through_another_process_is_refused_within_a_second() {
    let dir = TempDir::new();
    let vars = [("PORT", "0"), FAST, ("JWT_SECRET", SECRET)];
    let first = Server::start(dir.path(), &vars);
    let second = Server::start(dir.path(), &vars);
    let client = Client::new();
    let response = client
        .post(first.url("/create"))
        .json(&seed_user())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let access = login(&client, &first, "john@doe.com", "johnspassword1234@!").await;

    // The first server answers from its cache.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let hits = metric(&client, &first, "session_cache_hits_total").await;
        for _ in 0..5 {
            assert_eq!(me(&client, &first, &access).await["email"], "john@doe.com");
        }
        if metric(&client, &first, "session_cache_hits_total").await >= hits + 5.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "GET /users/me is answered from the cache"
        );
    }

    let response = client
        .post(second.url("/logout"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let took =
        crate::support::refused_within(&client, &first.address, &access, Duration::from_secs(1))
            .await;
    assert!(took < Duration::from_secs(1), "refused after {took:?}");
}
