//! The terminal and the event loop. Raw mode, the alternate screen and mouse capture are undone
//! on every exit: normal return, error, or panic.

use super::worker::{self, Local, WorkerConfig};
use super::{App, UiEvent, view};
use crate::backend::LocalWorld;
use anyhow::{Context, Result};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, DisableMouseCapture, EnableMouseCapture};
use ratatui::crossterm::execute;
use ratatui::crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use std::io::stdout;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(stdout(), LeaveAlternateScreen, DisableMouseCapture);
}

/// Restores the terminal when dropped, so `?` and early returns cannot leave it raw.
struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Runs the console on the local world until the operator quits.
pub fn run(app: App, world: LocalWorld, config: WorkerConfig) -> Result<()> {
    run_with(app, move |commands, events| {
        worker::run(Local::new(world), config, commands, events)
    })
}

/// Runs the console on a remote backend (`--aws`), its calls on `runtime`, until the operator
/// quits.
#[cfg(feature = "aws")]
pub fn run_remote(
    app: App,
    backend: crate::backend::Backend,
    requests: crowdfund_handlers::aws::requests::RequestCounter,
    runtime: tokio::runtime::Handle,
    config: WorkerConfig,
) -> Result<()> {
    run_with(app, move |commands, events| {
        super::remote::run(backend, requests, runtime, config, commands, events)
    })
}

/// Runs the console with `worker` collecting data and running actions on its own thread.
pub fn run_with<W>(mut app: App, worker: W) -> Result<()>
where
    W: FnOnce(mpsc::Receiver<super::WorkerCommand>, mpsc::Sender<UiEvent>) + Send + 'static,
{
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
    enable_raw_mode().context("cannot put the terminal in raw mode; is this a terminal?")?;
    let _guard = Guard;
    execute!(stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    let mut terminal = Terminal::new(CrosstermBackend::new(stdout()))?;
    terminal.clear()?;

    let (events_tx, events) = mpsc::channel::<UiEvent>();
    let stop = Arc::new(AtomicBool::new(false));
    let input = {
        let tx = events_tx.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(100)) {
                    Ok(true) => match event::read() {
                        Ok(e) => {
                            if tx.send(UiEvent::Input(e)).is_err() {
                                return;
                            }
                        }
                        Err(_) => return,
                    },
                    Ok(false) => {}
                    Err(_) => return,
                }
            }
        })
    };
    let (commands_tx, commands) = mpsc::channel();
    let worker = std::thread::spawn(move || worker(commands, events_tx));

    let result = (|| -> Result<()> {
        loop {
            terminal.draw(|f| view::draw(f, &app))?;
            let Ok(first) = events.recv_timeout(Duration::from_millis(250)) else {
                continue;
            };
            // Apply everything that is waiting before drawing again.
            for e in std::iter::once(first).chain(events.try_iter()) {
                match e {
                    UiEvent::Input(e) => app.handle_event(&e),
                    UiEvent::Worker(w) => app.on_worker_event(w),
                }
            }
            for c in app.take_commands() {
                // A worker that is gone cannot take commands; quitting still works.
                let _ = commands_tx.send(c);
            }
            if app.should_quit {
                return Ok(());
            }
        }
    })();
    let _ = commands_tx.send(super::WorkerCommand::Quit);
    stop.store(true, Ordering::Relaxed);
    let _ = worker.join();
    let _ = input.join();
    result
}
