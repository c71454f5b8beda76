//! Keys generated on first start and kept beside a SQLite database (`DB_PATH.jwt-secret`,
//! `DB_PATH.data-key`), readable and writable by their owner only.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// A key file's contents, as read or as just written.
#[derive(PartialEq, Eq)]
pub struct SecretFile {
    pub contents: String,
    /// Whether this start created the file (the caller says so in the log).
    pub created: bool,
}

impl std::fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretFile")
            .field("contents", &"<redacted>")
            .field("created", &self.created)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretFileError {
    #[error("cannot read the key file {path}: {cause}")]
    Read { path: String, cause: io::Error },
    #[error("cannot create the key file {path}: {cause}")]
    Create { path: String, cause: io::Error },
    #[error("cannot write the key file {path}: {cause}")]
    Write { path: String, cause: io::Error },
}

/// The contents of the key file at `path`; when there is none, `generate()`'s, written to a
/// new file of mode 0600 (never over one that appeared meanwhile).
pub fn read_or_create(
    path: &Path,
    generate: impl FnOnce() -> String,
) -> Result<SecretFile, SecretFileError> {
    let shown = || path.display().to_string();
    match fs::read_to_string(path) {
        Ok(contents) => Ok(SecretFile {
            contents,
            created: false,
        }),
        Err(cause) if cause.kind() == io::ErrorKind::NotFound => {
            let contents = generate();
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options
                .open(path)
                .map_err(|cause| SecretFileError::Create {
                    path: shown(),
                    cause,
                })?;
            file.write_all(contents.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|cause| SecretFileError::Write {
                    path: shown(),
                    cause,
                })?;
            Ok(SecretFile {
                contents,
                created: true,
            })
        }
        Err(cause) => Err(SecretFileError::Read {
            path: shown(),
            cause,
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn created_once_with_mode_0600_then_read_back() {
        let dir = std::env::temp_dir().join(format!("auth-secret-file-{}", uuid::Uuid::new_v4()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("auth.db.jwt-secret");
        let first = read_or_create(&path, || "generated".into()).unwrap();
        assert_eq!(
            (first.contents.as_str(), first.created),
            ("generated", true)
        );
        let again = read_or_create(&path, || unreachable!("the file exists")).unwrap();
        assert_eq!(
            (again.contents.as_str(), again.created),
            ("generated", false)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let missing_dir = dir.join("missing").join("key");
        let error = read_or_create(&missing_dir, String::new).unwrap_err();
        assert!(
            error.to_string().starts_with("cannot create the key file "),
            "{error}"
        );
        fs::remove_dir_all(dir).unwrap();
    }
}
