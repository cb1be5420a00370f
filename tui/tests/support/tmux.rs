//! The console in a real terminal: a private tmux server runs the binary in a detached session
//! (160×48, or the size a test asks for), keys are sent (and counted), and the screen is read
//! back with `capture-pane`.
//! Waiting is always for text on the screen, with a deadline, never for a fixed time.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long any one screen may take to appear.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A tmux session running one command; the server is killed when this is dropped.
pub struct Tmux {
    socket: PathBuf,
    session: String,
    /// Where the command's stderr goes, shown when a wait fails.
    stderr: PathBuf,
    keystrokes: u32,
}

/// Whether tmux can run here. Without it a test skips with a printed reason, except in CI,
/// where it fails (.ci/run installs tmux).
pub fn available() -> bool {
    let ok = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is required in CI (.ci/run installs it)"
        );
        eprintln!("SKIPPED: tmux is not installed");
    }
    ok
}

/// Single-quotes `arg` for the shell tmux runs the command with.
fn quote(arg: &str) -> String {
    format!("'{}'", arg.replace('\'', r"'\''"))
}

impl Tmux {
    /// Starts `program args…` in a 160×48 session of a tmux server whose socket (and the
    /// command's stderr) live in `dir`.
    pub fn launch(dir: &Path, program: &str, args: &[&str]) -> Tmux {
        Tmux::launch_sized(dir, program, args, 160, 48)
    }

    /// [`Tmux::launch`] in a `width`×`height` session.
    pub fn launch_sized(dir: &Path, program: &str, args: &[&str], width: u16, height: u16) -> Tmux {
        let t = Tmux {
            socket: dir.join("tmux.sock"),
            session: "console".into(),
            stderr: dir.join("console.stderr"),
            keystrokes: 0,
        };
        let mut command = quote(program);
        for a in args {
            command.push(' ');
            command.push_str(&quote(a));
        }
        command.push_str(&format!(" 2>{}", quote(&t.stderr.display().to_string())));
        let out = t.cmd(&[
            "new-session",
            "-d",
            "-s",
            &t.session,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-S")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux runs")
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .cmd(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// Sends one key (a tmux key name) and counts it.
    pub fn key(&mut self, key: &str) {
        self.keystrokes += 1;
        self.cmd(&["send-keys", "-t", &self.session, key]);
    }

    /// Types `text` as it is (no key names), counting each character as a key.
    #[allow(dead_code, reason = "the AWS target's test types nothing")]
    pub fn type_text(&mut self, text: &str) {
        self.keystrokes += text.chars().count() as u32;
        self.cmd(&["send-keys", "-t", &self.session, "-l", text]);
    }

    /// Keys sent since launch.
    pub fn keystrokes(&self) -> u32 {
        self.keystrokes
    }

    /// Polls the screen until `pred` holds and returns it; after [`PATIENCE`] (or once the
    /// command has exited) fails with what the screen and the command's stderr showed.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            let alive = self.alive();
            if !alive || started.elapsed() >= PATIENCE {
                let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
                panic!(
                    "waited for {what}{}; the screen shows:\n{s}\nstderr:\n{stderr}",
                    if alive {
                        ""
                    } else {
                        ", but the console exited"
                    }
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn alive(&self) -> bool {
        self.cmd(&["has-session", "-t", &self.session])
            .status
            .success()
    }

    /// Waits up to [`PATIENCE`] for the command to exit; true when it did.
    pub fn exited(&self) -> bool {
        let started = Instant::now();
        while self.alive() && started.elapsed() < PATIENCE {
            std::thread::sleep(Duration::from_millis(100));
        }
        !self.alive()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

/// The DLQ browser's list rows on `screen`: the lines below its `ID … KIND` header down to the
/// list's bottom border, cut to the list pane (between the first two borders) so that the
/// message beside it (or under it, in a narrow terminal) is not read.
pub fn dlq_rows(screen: &str) -> Vec<&str> {
    screen
        .lines()
        .skip_while(|l| !(l.contains(" ID ") && l.contains("KIND")))
        .skip(1)
        .take_while(|l| !l.starts_with('└'))
        .map(|l| l.split('│').nth(1).unwrap_or_default())
        .collect()
}
