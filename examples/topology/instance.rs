//! One auth-server process (the real binary), its log in a file, stopped when dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The binary to run: `AUTH_SERVER_BIN`, or the debug build beside this example.
pub fn server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("AUTH_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let here = std::env::current_exe().unwrap_or_default();
    // target/<profile>/examples/<name> → target/<profile>/auth-server
    here.parent()
        .and_then(Path::parent)
        .map(|profile| profile.join("auth-server"))
        .unwrap_or_else(|| PathBuf::from("target/debug/auth-server"))
}

pub struct Instance {
    pub name: String,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    child: Child,
    pub log: PathBuf,
}

impl Instance {
    /// Starts `auth-server serve` with `env` (on top of a cleared environment, plus PATH),
    /// on a free port, and waits until it prints its address.
    pub fn start(name: &str, dir: &Path, env: &[(&str, String)]) -> Result<Self, String> {
        let log = dir.join(format!("{name}.log"));
        let out = dir.join(format!("{name}.out"));
        let stderr = File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let stdout = File::create(&out).map_err(|e| format!("{}: {e}", out.display()))?;
        let mut command = Command::new(server_binary());
        command
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOST", "127.0.0.1")
            .env("PORT", "0")
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", server_binary().display()))?;
        let mut instance = Self {
            name: name.to_owned(),
            base: String::new(),
            child,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let printed = std::fs::read_to_string(&out).unwrap_or_default();
            if let Some(address) = printed
                .lines()
                .find_map(|line| line.strip_prefix("auth-server listening on "))
            {
                instance.base = address.trim().to_owned();
                return Ok(instance);
            }
            if let Ok(Some(status)) = instance.child.try_wait() {
                return Err(format!(
                    "{name} exited ({status}) before listening: {}",
                    instance.log_tail()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("{name} did not listen within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last lines of its log, for a failure message.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One sample of a metric from `/metrics`.
    pub async fn metric(&self, client: &reqwest::Client, name: &str) -> Option<f64> {
        let text = client
            .get(self.url("/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.lines()
            .find_map(|line| line.strip_prefix(&format!("{name} ")))
            .and_then(|value| value.trim().parse().ok())
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
