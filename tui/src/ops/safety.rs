//! The safety net of destructive actions: the affected messages go to a JSONL backup before
//! anything moves, and every action leaves one line in the audit log.

use crowdfund_core::domain::Timestamp;
use crowdfund_core::ports::ReceivedMessage;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct SafetyError {
    action: &'static str,
    path: String,
    source: std::io::Error,
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SafetyError {
    let path = path.display().to_string();
    move |source| SafetyError {
        action,
        path,
        source,
    }
}

/// One line of the backup file: enough to put the message back by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupLine {
    pub queue: String,
    pub message_id: String,
    pub body: String,
    pub receive_count: u32,
    pub sent_at: Timestamp,
}

/// An open backup file; lines are flushed before the messages they describe move.
pub struct Backup {
    pub path: PathBuf,
    file: File,
    pub lines: u64,
}

impl Backup {
    /// `dir/<time>-<action>-<queue>.jsonl`, created new (never overwriting another backup),
    /// readable by its owner only (0600) in a directory only its owner can enter (0700). The
    /// directory is synced once the file exists, so the new entry survives a crash.
    pub fn create(
        dir: &Path,
        at: Timestamp,
        action: &str,
        queue: &str,
    ) -> Result<Self, SafetyError> {
        private_dir(dir)?;
        let stamp = at.format("%Y%m%dT%H%M%S%.3fZ");
        let path = dir.join(format!("{stamp}-{action}-{queue}.jsonl"));
        let file = private_file()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("cannot create backup file", &path))?;
        sync_dir(dir).map_err(io_err("cannot sync backup directory", dir))?;
        Ok(Backup {
            path,
            file,
            lines: 0,
        })
    }

    pub fn write(&mut self, queue: &str, messages: &[&ReceivedMessage]) -> Result<(), SafetyError> {
        self.file
            .write_all(jsonl(queue, messages).as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(io_err("cannot write backup file", &self.path))?;
        self.lines += messages.len() as u64;
        Ok(())
    }
}

/// Options that create a file readable and writable by its owner only (0600 on Unix): backups,
/// exports and the audit log hold payment bodies and who did what.
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Creates `dir` (and missing parents) as 0700. A directory that already exists but that
/// others may read is tightened to 0700 rather than refused: it is ours (the backups beside
/// the state file), and refusing would stop every redrive until someone ran chmod. When it
/// cannot be tightened (another user owns it), the backup is refused, so nothing moves.
fn private_dir(dir: &Path) -> Result<(), SafetyError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(dir)
        .map_err(io_err("cannot create backup directory", dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)
            .map_err(io_err("cannot read backup directory", dir))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(
                |source| SafetyError {
                    action: "refusing to back up: other users can open the backup directory",
                    path: format!(
                        "{} (mode {:o}; `chmod 700` it, or move it away)",
                        dir.display(),
                        mode & 0o777
                    ),
                    source,
                },
            )?;
        }
    }
    Ok(())
}

/// Tightens an existing regular file that others may read to 0600 (a path the operator chose
/// may exist already; a device such as /dev/stdout is left alone).
fn tighten_file(file: &File, path: &Path) -> Result<(), SafetyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = file
            .metadata()
            .map_err(io_err("cannot read the permissions of", path))?;
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io_err("cannot make private (0600)", path))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (file, path);
    Ok(())
}

/// Syncs a directory, so that a file just created (or renamed) in it survives a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Messages as JSONL backup lines.
fn jsonl(queue: &str, messages: &[&ReceivedMessage]) -> String {
    let mut buf = String::new();
    for m in messages {
        let line = BackupLine {
            queue: queue.to_string(),
            message_id: m.message_id.clone(),
            body: m.body.clone(),
            receive_count: m.receive_count,
            sent_at: m.sent_at,
        };
        buf.push_str(&serde_json::to_string(&line).unwrap_or_default());
        buf.push('\n');
    }
    buf
}

/// Writes messages to `path` as JSONL (an export), replacing the file. The file is created
/// 0600 (an existing regular file is tightened to 0600): it holds the same bodies a backup does.
pub fn write_jsonl(
    path: &Path,
    queue: &str,
    messages: &[&ReceivedMessage],
) -> Result<(), SafetyError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err("cannot create directory", dir))?;
    }
    let mut file = private_file()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
        .map_err(io_err("cannot create export file", path))?;
    tighten_file(&file, path)?;
    file.write_all(jsonl(queue, messages).as_bytes())
        .and_then(|()| file.flush())
        .map_err(io_err("cannot write export file", path))
}

/// Which of an action's two audit lines this is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Written before the action starts: who asked for what. An intent without a result
    /// means the process died during the action.
    Intent,
    /// Written after it, however it ended. Lines written before there were phases were
    /// written after their action, so they read as results.
    #[default]
    Result,
}

/// How an action ended, on its result line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    Ok,
    Failed,
    /// Stopped on request (Ctrl-C, the console's `x`): the rest was left where it was.
    Cancelled,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Failed => "failed",
            AuditOutcome::Cancelled => "cancelled",
        }
    }
}

/// One line of the audit log. Fields added later default, so older lines still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub time: Timestamp,
    #[serde(default)]
    pub phase: Phase,
    /// On result lines; older lines have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<AuditOutcome>,
    /// Why it failed, on a failed result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub identity: String,
    pub action: String,
    pub queue: String,
    /// The function whose trigger was paused or resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// A goal check's cut-off: payments after it are cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// The filter that chose the messages (`cause ~ "…"`, `text ~ "…"`), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    pub selected: u64,
    pub moved: u64,
    pub failed: u64,
    pub skipped: u64,
    /// Redriven, but the original could not be deleted: a copy is also still in `queue`.
    #[serde(default)]
    pub duplicated: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

impl AuditEntry {
    /// An intent line: `identity` is about to `action` on `queue`; counts stay zero until the
    /// result, except what is known before (`selected`).
    pub fn intent(time: Timestamp, identity: &str, action: &str, queue: &str) -> Self {
        AuditEntry {
            time,
            phase: Phase::Intent,
            outcome: None,
            error: None,
            identity: identity.to_string(),
            action: action.to_string(),
            queue: queue.to_string(),
            function: None,
            to: None,
            at: None,
            filter: None,
            selected: 0,
            moved: 0,
            failed: 0,
            skipped: 0,
            duplicated: 0,
            backup: None,
        }
    }
}

/// How an action ended, for its result line.
pub enum Ending<'a> {
    Ok,
    Cancelled,
    Failed(&'a dyn std::fmt::Display),
}

/// An action's two audit lines: the intent is written before it starts (an action whose
/// intent cannot be written does not run), the result after it, however it ended.
#[must_use = "an action's result line is written by `finish`"]
pub struct AuditTrail {
    log: PathBuf,
    entry: AuditEntry,
}

impl AuditTrail {
    pub fn begin(log: &Path, intent: AuditEntry) -> Result<Self, SafetyError> {
        let entry = AuditEntry {
            phase: Phase::Intent,
            ..intent
        };
        append_audit(log, &entry)?;
        Ok(AuditTrail {
            log: log.to_path_buf(),
            entry,
        })
    }

    /// Writes the result line: the intent's fields, as `fill` updates them (counts, backup),
    /// with the outcome.
    pub fn finish(
        self,
        time: Timestamp,
        ending: Ending<'_>,
        fill: impl FnOnce(&mut AuditEntry),
    ) -> Result<(), SafetyError> {
        let mut entry = AuditEntry {
            time,
            phase: Phase::Result,
            ..self.entry
        };
        fill(&mut entry);
        (entry.outcome, entry.error) = match ending {
            Ending::Ok => (Some(AuditOutcome::Ok), None),
            Ending::Cancelled => (Some(AuditOutcome::Cancelled), None),
            Ending::Failed(e) => (Some(AuditOutcome::Failed), Some(e.to_string())),
        };
        append_audit(&self.log, &entry)
    }
}

/// Appends one line. The log is created 0600 (an existing one is tightened to 0600), and its
/// directory is synced when the log is new, so the first line survives a crash.
pub fn append_audit(log: &Path, entry: &AuditEntry) -> Result<(), SafetyError> {
    if let Some(dir) = log.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err("cannot create audit directory", dir))?;
    }
    let existed = log.exists();
    let mut file = private_file()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io_err("cannot open audit log", log))?;
    tighten_file(&file, log)?;
    if !existed {
        let dir = log
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        sync_dir(dir).map_err(io_err("cannot sync audit directory", dir))?;
    }
    // One write per line: appends from several processes do not interleave within a line.
    let line = format!("{}\n", serde_json::to_string(entry).unwrap_or_default());
    file.write_all(line.as_bytes())
        .and_then(|()| file.sync_data())
        .map_err(io_err("cannot append to audit log", log))
}

/// The audit log, oldest first; unreadable lines are skipped (the log is append-only text).
pub fn read_audit(log: &Path) -> Result<Vec<AuditEntry>, SafetyError> {
    let file = match File::open(log) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("cannot open audit log", log)(e)),
    };
    Ok(BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str(&l).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        "2026-11-26T03:00:00Z".parse().expect("time")
    }

    /// A line written before phases existed still reads, as a result with no outcome.
    #[test]
    fn old_audit_lines_still_read() {
        let old = r#"{"time":"2026-01-01T00:00:00Z","identity":"local:ops","action":"redrive","queue":"etc_parked","selected":2,"moved":2,"failed":0,"skipped":0,"backup":"b.jsonl"}"#;
        let entry: AuditEntry = serde_json::from_str(old).expect("old line");
        assert_eq!((entry.phase, entry.outcome), (Phase::Result, None));
        assert_eq!((entry.moved, entry.duplicated, entry.at), (2, 0, None));
    }

    /// An action's intent, then its result with the outcome, the counts and the error.
    #[test]
    fn a_trail_writes_the_intent_then_the_result() {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("audit.jsonl");
        let mut intent = AuditEntry::intent(at(), "me", "export", "etc_parked");
        intent.selected = 3;
        let trail = AuditTrail::begin(&log, intent).expect("intent");
        assert_eq!(read_audit(&log).expect("read").len(), 1);
        trail
            .finish(at(), Ending::Failed(&"disk full"), |e| e.failed = 3)
            .expect("result");
        let lines = read_audit(&log).expect("read");
        assert_eq!(
            lines.iter().map(|l| l.phase).collect::<Vec<_>>(),
            [Phase::Intent, Phase::Result]
        );
        let result = &lines[1];
        assert_eq!(result.outcome, Some(AuditOutcome::Failed));
        assert_eq!(result.error.as_deref(), Some("disk full"));
        assert_eq!((result.selected, result.failed), (3, 3));
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    /// Backups are 0600 in a 0700 directory (an existing open one is tightened), and so are
    /// the audit log and exports, an existing export file included.
    #[cfg(unix)]
    #[test]
    fn backups_audit_log_and_exports_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let backups = dir.path().join("world-backups");
        let backup = Backup::create(&backups, at(), "redrive", "etc_parked").expect("backup");
        assert_eq!((mode(&backups), mode(&backup.path)), (0o700, 0o600));

        let open = dir.path().join("open-backups");
        std::fs::create_dir(&open).expect("dir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Backup::create(&open, at(), "delete", "etc_parked").expect("backup");
        assert_eq!(mode(&open), 0o700, "tightened");

        let log = dir.path().join("world-audit.jsonl");
        append_audit(&log, &AuditEntry::intent(at(), "me", "delete", "q")).expect("audit");
        assert_eq!(mode(&log), 0o600);

        let out = dir.path().join("export.jsonl");
        write_jsonl(&out, "etc_parked", &[]).expect("export");
        assert_eq!(mode(&out), 0o600);
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_jsonl(&out, "etc_parked", &[]).expect("export again");
        assert_eq!(mode(&out), 0o600, "an existing export file is tightened");
    }
}
