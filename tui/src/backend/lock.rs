//! One writer per state file. A process that will write the local world holds an exclusive
//! lock on a sibling file (`world.json.lock`) for as long as it holds the world in memory: the
//! interactive console for its whole session, a command for its load → act → save. Without it,
//! two processes each load the world, change it and save, and the later save silently undoes
//! the earlier one.
//!
//! Readers (`status`, `dlq list`, `--read-only`) take no lock, not even a shared one: the world
//! is only ever replaced by an atomic rename, so a reader always sees one whole saved world
//! (at most one autosave old), and a shared lock would only make `status` wait behind an open
//! console, which holds its lock for hours.
//!
//! The lock is the kernel's (`File::try_lock`, flock on Unix): a process that dies releases it,
//! so there is never a stale lock to clean up. The holder writes who it is into the lock file,
//! so that whoever waits can be told.

use chrono::{DateTime, FixedOffset, Local, SecondsFormat};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a writer waits for the lock by default: enough for another command's save, short
/// enough to say at once that a console is open.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

/// How often a waiting process tries again.
const RETRY: Duration = Duration::from_millis(50);

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "state file {state} is in use by {holder} (waited {waited}); close it, or act from inside it, or pass --state with another file (--lock-wait waits longer)"
    )]
    Busy {
        state: String,
        holder: String,
        waited: String,
    },
    #[error(
        "cannot lock state file {state} through {lock}: {source}; check that directory's permissions, or pass --state"
    )]
    Io {
        state: String,
        lock: String,
        source: std::io::Error,
    },
}

/// Who holds the lock, as written into the lock file.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    command: String,
    /// Local time, with its offset.
    since: String,
}

impl Holder {
    /// `crowdfund-console (TUI), pid 4242, since 06:12:03` (the date too when not today).
    fn describe(&self) -> String {
        let since = DateTime::<FixedOffset>::parse_from_rfc3339(&self.since).map_or_else(
            |_| self.since.clone(),
            |t| {
                let t = t.with_timezone(&Local);
                if t.date_naive() == Local::now().date_naive() {
                    t.format("%H:%M:%S").to_string()
                } else {
                    t.format("%Y-%m-%d %H:%M:%S").to_string()
                }
            },
        );
        format!("{}, pid {}, since {since}", self.command, self.pid)
    }
}

/// The exclusive lock on a state file, held until dropped.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

/// `dir/world.json` → `dir/world.json.lock`.
pub fn lock_path(state: &Path) -> PathBuf {
    let mut name = state.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    state.with_file_name(name)
}

impl StateLock {
    /// Takes the lock of `state` for `command` (what the holder is doing, e.g.
    /// `crowdfund-console dlq redrive`), waiting up to `wait` for another holder to let go.
    /// `waiting` is told once, naming the holder, when the lock is not free at once.
    pub fn acquire(
        state: &Path,
        command: &str,
        wait: Duration,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<Self, LockError> {
        let path = lock_path(state);
        let io = |source| LockError::Io {
            state: state.display().to_string(),
            lock: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut options = OpenOptions::new();
        // Not truncated on open: until the lock is ours, its content is the holder's.
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(io)?;
        let started = Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    let holder = read_holder(&path);
                    let waited = started.elapsed();
                    if waited >= wait {
                        return Err(LockError::Busy {
                            state: state.display().to_string(),
                            holder,
                            waited: humantime::format_duration(round_ms(waited)).to_string(),
                        });
                    }
                    if !told {
                        waiting(&holder);
                        told = true;
                    }
                    std::thread::sleep(RETRY.min(wait - waited));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            }
        }
        let written = write_holder(&file, command);
        written.map_err(io)?;
        Ok(StateLock { file, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for StateLock {
    /// Forgets who held it (the next holder writes itself anyway); closing the file releases
    /// the lock.
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// Writes who now holds the lock into the lock file.
fn write_holder(mut file: &File, command: &str) -> std::io::Result<()> {
    let holder = Holder {
        pid: std::process::id(),
        command: command.to_string(),
        since: Local::now().to_rfc3339_opts(SecondsFormat::Secs, false),
    };
    file.set_len(0)?;
    file.rewind()?;
    file.write_all(
        serde_json::to_string(&holder)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    file.flush()
}

/// Who holds the lock, for a message; a holder that has not written itself yet is unnamed.
fn read_holder(path: &Path) -> String {
    let mut text = String::new();
    let read = File::open(path).and_then(|mut f| f.read_to_string(&mut text));
    match read
        .ok()
        .and_then(|_| serde_json::from_str::<Holder>(&text).ok())
    {
        Some(h) => h.describe(),
        None => "another process (it has not said which yet)".to_string(),
    }
}

fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis().try_into().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A second writer waits, then fails naming the first; once the first lets go, it gets in.
    #[test]
    fn a_second_writer_is_told_who_holds_the_state_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("world.json");
        let first =
            StateLock::acquire(&state, "crowdfund-console (TUI)", DEFAULT_WAIT, &mut |_| {})
                .expect("free");
        let mut told = Vec::new();
        let started = Instant::now();
        let e = StateLock::acquire(
            &state,
            "crowdfund-console simulate",
            Duration::from_millis(200),
            &mut |h| told.push(h.to_string()),
        )
        .expect_err("held");
        assert!(started.elapsed() >= Duration::from_millis(200), "it waited");
        let text = e.to_string();
        let pid = format!("pid {}", std::process::id());
        for needle in [
            state.display().to_string().as_str(),
            "in use by crowdfund-console (TUI)",
            pid.as_str(),
            "since ",
            "close it, or act from inside it, or pass --state",
        ] {
            assert!(text.contains(needle), "{needle:?} in {text}");
        }
        assert_eq!(told.len(), 1, "told once: {told:?}");
        drop(first);
        let second = StateLock::acquire(
            &state,
            "crowdfund-console simulate",
            Duration::ZERO,
            &mut |_| {},
        )
        .expect("free again");
        let written = std::fs::read_to_string(second.path()).expect("lock file");
        assert!(written.contains("crowdfund-console simulate"), "{written}");
    }

    #[test]
    fn the_lock_file_sits_beside_the_state_file() {
        assert_eq!(
            lock_path(Path::new("/data/crowdfund/world.json")),
            Path::new("/data/crowdfund/world.json.lock")
        );
        assert_eq!(lock_path(Path::new("w.json")), Path::new("w.json.lock"));
    }
}
