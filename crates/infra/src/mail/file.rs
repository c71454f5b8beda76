//! The file mailer: one RFC 5322 `.eml` file per message in a folder, written atomically.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use auth_domain::mail::{MailError, MailMessage};
use auth_domain::ports::Mailer;
use chrono::Utc;
use lettre::message::Mailbox;
use uuid::Uuid;

use super::{build, MailSetupError};

/// Writes each message to `DIR/<UTC time>-<uuid>.eml` (so a listing sorts by time). The file
/// appears whole or not at all: it is written under a hidden `.tmp` name, flushed to disk, then
/// renamed. Files are readable by their owner only (unix): they hold one-time tokens.
#[derive(Debug, Clone)]
pub struct FileMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl FileMailer {
    /// A mailer writing to `dir`, which is created when the first message is written (see
    /// [`FileMailer::ensure_dir`] to create it at start).
    pub fn new(dir: impl Into<PathBuf>, from: Mailbox) -> Self {
        Self {
            dir: dir.into(),
            from,
        }
    }

    /// Creates the folder now if it is missing, so a bad `MAIL_DIR` stops the server at start.
    pub fn ensure_dir(&self) -> Result<(), MailSetupError> {
        fs::create_dir_all(&self.dir).map_err(|error| {
            MailSetupError::Directory(format!("cannot create {}: {error}", self.dir.display()))
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn write_atomically(dir: &Path, name: &str, contents: &[u8]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let temporary = dir.join(format!(".{name}.tmp"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temporary).and_then(|mut file| {
        file.write_all(contents)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| fs::rename(&temporary, dir.join(name)));
    if renamed.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    renamed?;
    // Make the rename itself durable; not every platform can open a directory for that.
    if let Ok(directory) = fs::File::open(dir) {
        let _ = directory.sync_all();
    }
    Ok(())
}

#[async_trait]
impl Mailer for FileMailer {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let contents = build(&self.from, message)?.formatted();
        let name = format!(
            "{}-{}.eml",
            Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            Uuid::new_v4().simple()
        );
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_atomically(&dir, &name, &contents))
            .await
            .map_err(MailError::transient)?
            .map_err(|error| {
                MailError::transient(format!(
                    "cannot write a mail file in {}: {error}",
                    self.dir.display()
                ))
            })
    }
}
