//! The verification cache: verify once at deploy, run many times.
//!
//! An accepting `pccc verify` or `pccc compile --verify` records the
//! SHA-256 of the artifact's exact bytes; `pccc run` of an artifact whose
//! hash is recorded skips the validator. Any changed byte is a different
//! hash, so a miss. An entry also names the pccc executable that wrote it
//! (version, size and modification time of the binary), so a rebuilt or
//! upgraded validator verifies again instead of trusting an older one.
//!
//! What this adds to the trusted base: the cache directory. Whoever can
//! write it can make `run` skip verification of any artifact, like whoever
//! can replace the pccc binary. So the directory is created private (0700),
//! and one not owned by the effective user, or writable by group or others,
//! is not used. SHA-256's collision resistance is assumed.
//!
//! Where: `$PCCC_CACHE_DIR`, else `$XDG_CACHE_HOME/pccc/verified`, else
//! `$HOME/.cache/pccc/verified`.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub struct VerifyCache {
    dir: PathBuf,
    /// The executable's identity, the content of every entry it writes.
    identity: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no cache directory: set PCCC_CACHE_DIR, XDG_CACHE_HOME or HOME")]
    NoDirectory,
    #[error("cannot identify the running pccc executable: {0}")]
    Executable(std::io::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error(
        "{0} is not private to this user (owned by another user, or writable by group or \
         others): not used; fix its owner and mode (chmod 700) or point PCCC_CACHE_DIR elsewhere"
    )]
    NotPrivate(PathBuf),
}

/// Where the cache lives, by the environment (see the module docs).
pub fn default_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    var("PCCC_CACHE_DIR")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("pccc").join("verified")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("pccc").join("verified")))
}

/// Owned by the effective user and not writable by group or others: what
/// the directory and every entry must be.
fn private(m: &std::fs::Metadata) -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    m.uid() == unsafe { libc::geteuid() } && m.mode() & 0o022 == 0
}

/// The artifact's key: its SHA-256, in hex.
pub fn key(artifact: &[u8]) -> String {
    Sha256::digest(artifact)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl VerifyCache {
    /// The cache at `dir`, created (private) if missing.
    pub fn open(dir: &Path) -> Result<VerifyCache, CacheError> {
        let io = |e| CacheError::Io(dir.to_path_buf(), e);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
        if !private(&std::fs::metadata(dir).map_err(io)?) {
            return Err(CacheError::NotPrivate(dir.to_path_buf()));
        }
        let exe = std::env::current_exe()
            .and_then(std::fs::metadata)
            .map_err(CacheError::Executable)?;
        let identity = format!(
            "pccc {} {} {}.{:09}\n",
            env!("CARGO_PKG_VERSION"),
            exe.len(),
            exe.mtime(),
            exe.mtime_nsec()
        );
        Ok(VerifyCache {
            dir: dir.to_path_buf(),
            identity,
        })
    }

    /// The cache at `default_dir()`.
    pub fn open_default() -> Result<VerifyCache, CacheError> {
        VerifyCache::open(&default_dir().ok_or(CacheError::NoDirectory)?)
    }

    fn entry(&self, artifact: &[u8]) -> PathBuf {
        self.dir.join(key(artifact))
    }

    /// Whether this executable accepted exactly these bytes before. The
    /// entry itself must be private too: the directory was checked when
    /// opened, but whoever owns its parent could swap it since.
    pub fn contains(&self, artifact: &[u8]) -> bool {
        let Ok(mut f) = std::fs::File::open(self.entry(artifact)) else {
            return false;
        };
        let mut content = String::new();
        f.metadata().is_ok_and(|m| m.is_file() && private(&m))
            && std::io::Read::read_to_string(&mut f, &mut content).is_ok()
            && content == self.identity
    }

    /// Record that these bytes were accepted. Call only with the very bytes
    /// the validator accepted.
    pub fn record(&self, artifact: &[u8]) -> Result<(), CacheError> {
        let path = self.entry(artifact);
        let tmp = self
            .dir
            .join(format!(".{}.{}", key(artifact), std::process::id()));
        let io = |e| CacheError::Io(path.clone(), e);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(self.identity.as_bytes()).map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }

    /// `record`, a failure being a warning: verification went on regardless.
    pub fn record_or_warn(&self, artifact: &[u8]) {
        if let Err(e) = self.record(artifact) {
            eprintln!("warning: cannot record the verification in the cache: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pccc-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_recorded_artifact_hits_and_a_changed_byte_misses() {
        let dir = scratch("hit");
        let c = VerifyCache::open(&dir).unwrap();
        let mut art = b"\x7fELF artifact bytes".to_vec();
        assert!(!c.contains(&art));
        c.record(&art).unwrap();
        assert!(c.contains(&art));
        art[5] ^= 1;
        assert!(!c.contains(&art));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_of_another_executable_misses() {
        let dir = scratch("other");
        let c = VerifyCache::open(&dir).unwrap();
        let art = b"artifact".to_vec();
        std::fs::write(dir.join(key(&art)), "pccc 0.0.0 1 2.000000000\n").unwrap();
        assert!(!c.contains(&art));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_entry_others_can_write_is_not_trusted() {
        let dir = scratch("entrymode");
        let c = VerifyCache::open(&dir).unwrap();
        let art = b"artifact".to_vec();
        c.record(&art).unwrap();
        assert!(c.contains(&art));
        let entry = dir.join(key(&art));
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(!c.contains(&art));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_is_not_used() {
        let dir = scratch("shared");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            VerifyCache::open(&dir),
            Err(CacheError::NotPrivate(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn key_is_sha256() {
        assert_eq!(
            key(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
