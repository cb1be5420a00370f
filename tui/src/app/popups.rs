//! The popups over any view: the help, a confirmation, a line of input, a result message.
//! While one is open, keys answer it and nothing else.

use super::Action;
use super::keys::KeyBindings;
use super::view::{ACCENT, BAD, GOOD, block};
use crate::dispatch::Operation;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputPurpose {
    Filter,
    Jump,
    RedriveTarget,
}

#[derive(Debug, Clone)]
pub enum Modal {
    Help,
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
            Modal::Confirm { .. } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Some(Action::Confirm),
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => {
                    Some(Action::Cancel)
                }
                _ => None,
            },
            Modal::Help | Modal::Message { .. } => Some(Action::Cancel),
        }
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

/// Draws `modal` over the whole `area`.
pub fn draw(frame: &mut Frame, area: Rect, modal: &Modal, keys: &KeyBindings, read_only: bool) {
    match modal {
        Modal::Help => {
            let entries = keys.help(read_only);
            let lines: Vec<Line> = entries
                .iter()
                .map(|(k, h)| {
                    Line::from(vec![
                        Span::styled(format!("{k:>16}  "), Style::new().fg(ACCENT)),
                        Span::raw(*h),
                    ])
                })
                .collect();
            let r = popup(area, 84, lines.len() as u16 + 2);
            frame.render_widget(Clear, r);
            let title = if read_only {
                "Keys (read-only: actions hidden) — any key closes"
            } else {
                "Keys — any key closes"
            };
            frame.render_widget(Paragraph::new(lines).block(block(title)), r);
        }
        Modal::Confirm { question, .. } => {
            let r = popup(area, 70, 7);
            frame.render_widget(Clear, r);
            let text = vec![
                Line::raw(question.clone()),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("y", Style::new().fg(GOOD).bold()),
                    Span::raw(" confirm   "),
                    Span::styled("n", Style::new().fg(BAD).bold()),
                    Span::raw(" cancel"),
                ]),
            ];
            frame.render_widget(
                Paragraph::new(text)
                    .wrap(Wrap { trim: true })
                    .block(block("Confirm")),
                r,
            );
        }
        Modal::Input { purpose, buffer } => {
            let prompt = match purpose {
                InputPurpose::Filter => "filter /",
                InputPurpose::Jump => "jump :",
                InputPurpose::RedriveTarget => "redrive to queue:",
            };
            let r = popup(area, 70, 3);
            frame.render_widget(Clear, r);
            let line = Line::from(vec![
                Span::styled(format!("{prompt} "), Style::new().fg(ACCENT)),
                Span::raw(buffer.clone()),
                Span::raw("█"),
            ]);
            frame.render_widget(
                Paragraph::new(line).block(block("enter: apply · esc: cancel")),
                r,
            );
        }
        Modal::Message { title, lines } => {
            let shown: Vec<Line> = lines
                .iter()
                .take(area.height.saturating_sub(4) as usize)
                .map(|l| Line::raw(l.clone()))
                .collect();
            let r = popup(area, 90, shown.len() as u16 + 2);
            frame.render_widget(Clear, r);
            frame.render_widget(
                Paragraph::new(shown)
                    .wrap(Wrap { trim: false })
                    .block(block(format!("{title} — any key closes"))),
                r,
            );
        }
    }
}
