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
    /// `dir/<time>-<action>-<queue>.jsonl`, created new (never overwriting another backup).
    pub fn create(
        dir: &Path,
        at: Timestamp,
        action: &str,
        queue: &str,
    ) -> Result<Self, SafetyError> {
        std::fs::create_dir_all(dir).map_err(io_err("cannot create backup directory", dir))?;
        let stamp = at.format("%Y%m%dT%H%M%S%.3fZ");
        let path = dir.join(format!("{stamp}-{action}-{queue}.jsonl"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_err("cannot create backup file", &path))?;
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

/// Writes messages to `path` as JSONL (an export), replacing the file.
pub fn write_jsonl(
    path: &Path,
    queue: &str,
    messages: &[&ReceivedMessage],
) -> Result<(), SafetyError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err("cannot create directory", dir))?;
    }
    std::fs::write(path, jsonl(queue, messages)).map_err(io_err("cannot write export file", path))
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub time: Timestamp,
    pub identity: String,
    pub action: String,
    pub queue: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    pub selected: u64,
    pub moved: u64,
    pub failed: u64,
    pub skipped: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<String>,
}

pub fn append_audit(log: &Path, entry: &AuditEntry) -> Result<(), SafetyError> {
    if let Some(dir) = log.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io_err("cannot create audit directory", dir))?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .map_err(io_err("cannot open audit log", log))?;
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
