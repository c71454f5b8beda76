//! The database side of the topology, built in a temporary folder from the machine's
//! PostgreSQL binaries: a primary, a streaming standby with synchronous replication, and
//! PgBouncer in transaction pooling mode in front. Everything is stopped and removed when
//! the [`Cluster`] is dropped (a panic included).
//!
//! PostgreSQL's server binaries (and PgBouncer) refuse to run as root: as root, they run as
//! the `postgres` user (`runuser`), in a folder that user owns.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|e| format!("no free port: {e}"))
}

/// The newest `/usr/lib/postgresql/<version>/bin`, or `PG_BIN`.
fn postgres_bin() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map_err(|e| format!("/usr/lib/postgresql: {e} (install PostgreSQL, or set PG_BIN)"))?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| "no /usr/lib/postgresql/*/bin/initdb".to_owned())
}

fn pgbouncer_bin() -> Result<PathBuf, String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("pgbouncer"))
        .find(|candidate| candidate.exists())
        .ok_or_else(|| "pgbouncer is not installed (make topology-test installs it)".to_owned())
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn checked(what: &str, output: std::io::Result<Output>) -> Result<String, String> {
    let output = output.map_err(|e| format!("{what}: {e}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

pub struct Cluster {
    pub dir: PathBuf,
    bin: PathBuf,
    as_root: bool,
    pub primary_port: u16,
    pub standby_port: u16,
    pub bouncer_port: u16,
    /// Data folders of the servers that may be running (stopped on drop).
    running: Vec<PathBuf>,
    bouncer_started: bool,
}

impl Cluster {
    /// Builds and starts the whole topology; on failure, what was started is stopped.
    pub fn start() -> Result<Self, String> {
        let as_root = running_as_root();
        let base = std::env::temp_dir();
        let dir = base.join(format!(
            "auth-topology-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut cluster = Self {
            dir,
            bin: postgres_bin()?,
            as_root,
            primary_port: free_port()?,
            standby_port: free_port()?,
            bouncer_port: free_port()?,
            running: Vec::new(),
            bouncer_started: false,
        };
        cluster.build()?;
        Ok(cluster)
    }

    /// A command run as the `postgres` user when we are root.
    fn as_postgres(&self, program: &Path) -> Command {
        if self.as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn tool(&self, name: &str, args: &[&str]) -> Result<String, String> {
        let output = self
            .as_postgres(&self.bin.join(name))
            .args(args)
            .current_dir(&self.dir)
            .output();
        checked(name, output)
    }

    fn data(&self, node: &str) -> PathBuf {
        self.dir.join(node)
    }

    fn path(&self, node: &str) -> String {
        self.data(node).display().to_string()
    }

    fn append(&self, file: &Path, text: &str) -> Result<(), String> {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(file)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{}: {e}", file.display()))
    }

    fn build(&mut self) -> Result<(), String> {
        if self.as_root {
            checked(
                "chown",
                Command::new("chown")
                    .args(["postgres:postgres"])
                    .arg(&self.dir)
                    .output(),
            )?;
        }
        let primary = self.path("primary");
        self.tool(
            "initdb",
            &[
                "-D",
                &primary,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        // Synchronous replication: a commit is acknowledged once the standby has it, so a
        // promotion loses no acknowledged write. fsync is off: nothing here outlives the test,
        // and an immediate stop keeps the page cache (the machine does not crash).
        self.append(
            &self.data("primary").join("postgresql.conf"),
            &format!(
                "\nport = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
                 wal_level = replica\nmax_wal_senders = 5\nsynchronous_standby_names = '*'\n\
                 synchronous_commit = on\nfsync = off\nshared_buffers = 32MB\n\
                 max_connections = 200\n",
                self.primary_port,
                self.dir.display()
            ),
        )?;
        self.start_node("primary")?;
        self.tool(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.primary_port.to_string(),
                "-U",
                "postgres",
                "-D",
                &self.path("standby"),
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        )?;
        // After its promotion the standby is alone: it must not wait for a standby of its own.
        self.append(
            &self.data("standby").join("postgresql.conf"),
            &format!(
                "\nport = {}\nsynchronous_standby_names = ''\nhot_standby = on\n",
                self.standby_port
            ),
        )?;
        self.start_node("standby")?;
        self.wait_for(
            Duration::from_secs(30),
            "the standby to stream synchronously",
            || {
                self.psql(
                    self.primary_port,
                    "postgres",
                    "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
                )
                .map(|out| out.trim() == "1")
                .unwrap_or(false)
            },
        )?;
        self.psql(self.primary_port, "postgres", "CREATE DATABASE auth")?;
        self.start_bouncer()
    }

    fn start_node(&mut self, node: &str) -> Result<(), String> {
        let data = self.path(node);
        let log = self.dir.join(format!("{node}.log")).display().to_string();
        self.running.push(self.data(node));
        self.tool(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-t", "60", "start"],
        )
        .map(|_| ())
    }

    fn bouncer_config(&self, server_port: u16) -> String {
        let dir = self.dir.display();
        // pool_mode = transaction: a server connection is lent for one transaction at a time.
        // server_login_retry: how soon a failed server login is retried (default 15 s: the
        // whole outage after a promotion). query_wait_timeout: how long a query may wait for a
        // server before its client gets an error (default 120 s: a hang, not a 503).
        format!(
            "[databases]\nauth = host=127.0.0.1 port={server_port} dbname=auth\n\
             [pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {dir}/userlist.txt\nadmin_users = postgres\n\
             pool_mode = transaction\ndefault_pool_size = 20\nmax_client_conn = 500\n\
             server_login_retry = 1\nserver_connect_timeout = 2\nquery_wait_timeout = 10\n\
             logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            self.bouncer_port
        )
    }

    fn write_owned(&self, name: &str, text: &str) -> Result<(), String> {
        let path = self.dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        if self.as_root {
            checked(
                "chown",
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&path)
                    .output(),
            )?;
        }
        Ok(())
    }

    fn start_bouncer(&mut self) -> Result<(), String> {
        self.write_owned("userlist.txt", "\"postgres\" \"\"\n")?;
        self.write_owned("pgbouncer.ini", &self.bouncer_config(self.primary_port))?;
        let config = self.dir.join("pgbouncer.ini");
        let output = self
            .as_postgres(&pgbouncer_bin()?)
            .arg("-d")
            .arg(&config)
            .output();
        self.bouncer_started = true;
        checked("pgbouncer", output)?;
        self.wait_for(Duration::from_secs(10), "PgBouncer to answer", || {
            self.psql(self.bouncer_port, "auth", "SELECT 1").is_ok()
        })
    }

    fn bouncer_pid(&self) -> Option<String> {
        std::fs::read_to_string(self.dir.join("pgbouncer.pid"))
            .ok()
            .map(|pid| pid.trim().to_owned())
            .filter(|pid| !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()))
    }

    /// `psql -Atc SQL` on 127.0.0.1:port (psql runs as any user).
    pub fn psql(&self, port: u16, database: &str, sql: &str) -> Result<String, String> {
        checked(
            "psql",
            Command::new(self.bin.join("psql"))
                .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "postgres"])
                .args(["-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql])
                .output(),
        )
    }

    fn wait_for(
        &self,
        limit: Duration,
        what: &str,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while !ready() {
            if Instant::now() > deadline {
                return Err(format!("timed out waiting for {what}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }

    /// What the application is given: PgBouncer.
    pub fn bouncer_url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/auth?connect_timeout=2",
            self.bouncer_port
        )
    }

    /// Both PostgreSQL nodes, libpq's multi-host syntax: whichever accepts writes.
    pub fn nodes_url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{},127.0.0.1:{}/auth\
             ?target_session_attrs=read-write&connect_timeout=2",
            self.primary_port, self.standby_port
        )
    }

    /// The crash: `pg_ctl stop -m immediate` (no shutdown checkpoint, every backend killed).
    pub fn kill_primary(&mut self) -> Result<(), String> {
        let data = self.path("primary");
        self.tool("pg_ctl", &["-D", &data, "-m", "immediate", "stop"])?;
        let primary = self.data("primary");
        self.running.retain(|dir| dir != &primary);
        Ok(())
    }

    pub fn promote_standby(&self) -> Result<(), String> {
        self.tool("pg_ctl", &["-D", &self.path("standby"), "-w", "promote"])
            .map(|_| ())
    }

    /// Points PgBouncer at the new primary and reloads it (SIGHUP), as a failover manager's
    /// hook would.
    pub fn repoint_bouncer(&self) -> Result<(), String> {
        self.write_owned("pgbouncer.ini", &self.bouncer_config(self.standby_port))?;
        let pid = self.bouncer_pid().ok_or("no PgBouncer pid file")?;
        checked(
            "kill -HUP pgbouncer",
            Command::new("kill").args(["-HUP", &pid]).output(),
        )
        .map(|_| ())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.bouncer_started {
            if let Some(pid) = self.bouncer_pid() {
                let _ = Command::new("kill").args(["-TERM", &pid]).output();
            }
        }
        for data in std::mem::take(&mut self.running) {
            let data = data.display().to_string();
            let _ = self.tool("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]);
        }
        // PgBouncer removes its pid file when it exits.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.bouncer_pid().is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if std::env::var_os("TOPOLOGY_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
