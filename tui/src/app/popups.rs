//! The popups over any view: the help, a confirmation, a line of input, a result message.
//! While one is open, keys answer it and nothing else.

use super::Action;
use super::keys::KeyBindings;
use super::view::{ACCENT, BAD, GOOD, block, cut_front, width_of};
use super::views::dlq::wrap_words;
use crate::dispatch::Operation;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputPurpose {
    Filter,
    Jump,
    RedriveTarget,
}

#[derive(Debug, Clone)]
pub enum Modal {
    /// The keys; a page at a time where they do not all fit (at 80×24 they take two).
    Help {
        /// Pages turned (back when negative); the page shown is this modulo their count.
        page: i32,
    },
    Confirm {
        question: String,
        action: Operation,
    },
    Input {
        purpose: InputPurpose,
        buffer: String,
    },
    Message {
        title: String,
        lines: Vec<String>,
    },
}

impl Modal {
    /// What `key` means while this popup is open.
    pub fn action_for(&self, key: &KeyEvent) -> Option<Action> {
        match self {
            Modal::Input { .. } => match key.code {
                KeyCode::Enter => Some(Action::InputSubmit),
                KeyCode::Esc => Some(Action::Cancel),
                KeyCode::Backspace => Some(Action::InputBackspace),
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                    Some(Action::Input(c))
                }
                _ => None,
            },
            Modal::Confirm { action, .. } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::Confirm),
                KeyCode::Char('p') if offers_pausing_handler(action) => {
                    Some(Action::ConfirmPausingHandler)
                }
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                    Some(Action::Cancel)
                }
                _ => None,
            },
            Modal::Help { .. } => Some(match key.code {
                KeyCode::Down | KeyCode::PageDown | KeyCode::Char('j') | KeyCode::Char(' ') => {
                    Action::PageDown
                }
                KeyCode::Up | KeyCode::PageUp | KeyCode::Char('k') => Action::PageUp,
                _ => Action::Cancel,
            }),
            Modal::Message { .. } => Some(Action::Cancel),
        }
    }

    /// Turns the help's page for a moving action; false when this popup does not take it.
    pub fn turn_page(&mut self, action: &Action) -> bool {
        let Modal::Help { page } = self else {
            return false;
        };
        match action {
            Action::Down | Action::PageDown => *page = page.saturating_add(1),
            Action::Up | Action::PageUp => *page = page.saturating_sub(1),
            _ => return false,
        }
        true
    }

    /// Edits the input line: a character typed, or one taken back.
    pub fn edit(&mut self, action: &Action) {
        if let Modal::Input { buffer, .. } = self {
            match action {
                Action::Input(c) => buffer.push(*c),
                Action::InputBackspace => {
                    buffer.pop();
                }
                _ => {}
            }
        }
    }
}

/// A redrive may run with dlq_handler's trigger paused.
fn offers_pausing_handler(action: &Operation) -> bool {
    matches!(action, Operation::Dispose(r) if r.offers_pausing_handler())
}

fn popup(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width.saturating_sub(4));
    let h = height.min(area.height.saturating_sub(2));
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

/// `text` (its lines) wrapped at spaces to `width` cells; lines that fit stay as they are.
fn wrapped(text: &str, width: usize) -> Vec<String> {
    text.lines()
        .flat_map(|line| {
            if width_of(line) <= width {
                vec![line.to_string()]
            } else {
                wrap_words(line, width.max(1))
            }
        })
        .collect()
}

/// Draws `modal` over the whole `area`.
pub fn draw(frame: &mut Frame, area: Rect, modal: &Modal, keys: &KeyBindings, read_only: bool) {
    match modal {
        Modal::Help { page } => draw_help(frame, area, *page, keys, read_only),
        Modal::Confirm { question, action } => {
            let width = 70u16.min(area.width.saturating_sub(4));
            let mut text: Vec<Line> = wrapped(question, usize::from(width.saturating_sub(2)))
                .into_iter()
                .map(Line::raw)
                .collect();
            text.push(Line::raw(""));
            let mut answers = vec![
                Span::styled("y", Style::new().fg(GOOD).bold()),
                Span::raw(" confirm   "),
            ];
            if offers_pausing_handler(action) {
                answers.push(Span::styled("p", Style::new().fg(GOOD).bold()));
                answers.push(Span::raw(" confirm, dlq_handler paused meanwhile   "));
            }
            answers.push(Span::styled("n", Style::new().fg(BAD).bold()));
            answers.push(Span::raw(" cancel"));
            text.push(Line::from(answers));
            // At least as tall as it always was; taller when the question wraps further.
            let r = popup(area, width, (text.len() as u16 + 2).max(7));
            frame.render_widget(Clear, r);
            frame.render_widget(Paragraph::new(text).block(block("Confirm")), r);
        }
        Modal::Input { purpose, buffer } => {
            let prompt = match purpose {
                InputPurpose::Filter => "filter /",
                InputPurpose::Jump => "jump :",
                InputPurpose::RedriveTarget => "redrive to queue:",
            };
            let r = popup(area, 70, 3);
            frame.render_widget(Clear, r);
            // What is typed last stays in sight.
            let room = usize::from(r.width.saturating_sub(2)).saturating_sub(width_of(prompt) + 2);
            let line = Line::from(vec![
                Span::styled(format!("{prompt} "), Style::new().fg(ACCENT)),
                Span::raw(cut_front(buffer, room).into_owned()),
                Span::raw("█"),
            ]);
            frame.render_widget(
                Paragraph::new(line).block(block("enter: apply · esc: cancel")),
                r,
            );
        }
        Modal::Message { title, lines } => {
            let width = 90u16.min(area.width.saturating_sub(4));
            let wrap = |l: &String| wrapped(l, usize::from(width.saturating_sub(2)));
            let mut shown: Vec<String> = lines.iter().flat_map(wrap).collect();
            // Too many for the screen: the first ones, how many are left out, and the last
            // line whole (the totals).
            let room = area.height.saturating_sub(4) as usize;
            if shown.len() > room {
                let last = lines.last().map(wrap).unwrap_or_default();
                let keep = room.saturating_sub(last.len() + 1);
                let left_out = shown.len() - keep - last.len();
                shown.truncate(keep);
                shown.push(format!("… {left_out} more line(s)"));
                shown.extend(last);
            }
            shown.truncate(room);
            let r = popup(area, width, shown.len() as u16 + 2);
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(shown.into_iter().map(Line::raw).collect::<Vec<_>>())
                    .block(block(format!("{title} — any key closes"))),
                r,
            );
        }
    }
}

/// The keys, each help text wrapped under itself; a page at a time when they do not all fit.
fn draw_help(frame: &mut Frame, area: Rect, page: i32, keys: &KeyBindings, read_only: bool) {
    const KEYS: usize = 16;
    let width = 84u16.min(area.width.saturating_sub(4));
    let text_width = usize::from(width.saturating_sub(2)).saturating_sub(KEYS + 2);
    let mut lines: Vec<Line> = Vec::new();
    for (k, h) in keys.help(read_only) {
        for (i, part) in wrapped(h, text_width).into_iter().enumerate() {
            let k = if i == 0 { k.as_str() } else { "" };
            lines.push(Line::from(vec![
                Span::styled(format!("{k:>KEYS$}  "), Style::new().fg(ACCENT)),
                Span::raw(part),
            ]));
        }
    }
    let room = (area.height.saturating_sub(4) as usize).max(1);
    let pages = lines.len().div_ceil(room).max(1);
    let page = page.rem_euclid(pages as i32) as usize;
    let height = lines.len().min(room) as u16 + 2;
    let shown: Vec<Line> = lines.into_iter().skip(page * room).take(room).collect();
    let r = popup(area, width, height);
    frame.render_widget(Clear, r);
    let mut title = if read_only {
        "Keys (read-only: actions hidden)".to_string()
    } else {
        "Keys".to_string()
    };
    if pages > 1 {
        title.push_str(&format!(
            " {}/{pages} — j/k: page, any other key closes",
            page + 1
        ));
    } else {
        title.push_str(" — any key closes");
    }
    frame.render_widget(Paragraph::new(shown).block(block(title)), r);
}
