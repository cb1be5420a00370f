//! Key bindings as data: one named field per binding, with a default (k9s and gitui habits).
//! The help screen is generated from [`KeyBindings::help`], so it never drifts from the code.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Self {
        Key {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }
    pub const fn ch(c: char) -> Self {
        Key::plain(KeyCode::Char(c))
    }
    pub const fn ctrl(c: char) -> Self {
        Key {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    pub fn matches(&self, event: &KeyEvent) -> bool {
        // Shift is implied by an upper-case char; compare only the modifiers that matter.
        let wanted = self.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        let got = event.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        self.code == event.code && wanted == got
    }

    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Enter => "enter".into(),
            KeyCode::Esc => "esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "shift-tab".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "pgup".into(),
            KeyCode::PageDown => "pgdn".into(),
            KeyCode::Home => "home".into(),
            KeyCode::End => "end".into(),
            other => format!("{other:?}").to_lowercase(),
        };
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            format!("ctrl-{base}")
        } else {
            base
        }
    }
}

/// One binding: its keys, what it does, and whether it changes the system (hidden read-only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub help: &'static str,
    pub changes_system: bool,
}

impl Binding {
    fn new(keys: &[Key], help: &'static str) -> Self {
        Binding {
            keys: keys.to_vec(),
            help,
            changes_system: false,
        }
    }
    fn action(keys: &[Key], help: &'static str) -> Self {
        Binding {
            keys: keys.to_vec(),
            help,
            changes_system: true,
        }
    }
    pub fn matches(&self, event: &KeyEvent) -> bool {
        self.keys.iter().any(|k| k.matches(event))
    }
    pub fn label(&self) -> String {
        self.keys
            .iter()
            .map(Key::label)
            .collect::<Vec<_>>()
            .join("/")
    }
}

#[derive(Debug, Clone)]
pub struct KeyBindings {
    pub quit: Binding,
    pub back: Binding,
    pub help: Binding,
    pub filter: Binding,
    pub jump: Binding,
    pub next_pane: Binding,
    pub up: Binding,
    pub down: Binding,
    pub left: Binding,
    pub right: Binding,
    pub page_up: Binding,
    pub page_down: Binding,
    pub top: Binding,
    pub bottom: Binding,
    pub inspect: Binding,
    pub mark: Binding,
    pub mark_range: Binding,
    pub clear_marks: Binding,
    pub redrive: Binding,
    pub redrive_to: Binding,
    pub delete: Binding,
    pub export: Binding,
    pub goal_check: Binding,
    pub live: Binding,
    pub stop_running: Binding,
    pub overview: Binding,
    pub dlq: Binding,
    pub goal: Binding,
    pub projects: Binding,
    pub topology: Binding,
    pub health: Binding,
    pub audit: Binding,
}

impl Default for KeyBindings {
    fn default() -> Self {
        use KeyCode::*;
        KeyBindings {
            quit: Binding::new(
                &[Key::ch('q'), Key::ctrl('c')],
                "back, or quit from the overview",
            ),
            back: Binding::new(&[Key::plain(Esc)], "back / close / clear filter"),
            help: Binding::new(&[Key::ch('?')], "this help"),
            filter: Binding::new(&[Key::ch('/')], "filter the list"),
            jump: Binding::new(
                &[Key::ch(':')],
                "jump to a view or queue (:dlq, :parked, :payment_attempt_queue…)",
            ),
            next_pane: Binding::new(&[Key::plain(Tab), Key::plain(BackTab)], "switch pane"),
            up: Binding::new(&[Key::plain(Up), Key::ch('k')], "up"),
            down: Binding::new(&[Key::plain(Down), Key::ch('j')], "down"),
            left: Binding::new(&[Key::plain(Left), Key::ch('h')], "previous view"),
            right: Binding::new(&[Key::plain(Right), Key::ch('l')], "next view"),
            page_up: Binding::new(&[Key::plain(PageUp), Key::ctrl('u')], "page up"),
            page_down: Binding::new(&[Key::plain(PageDown), Key::ctrl('d')], "page down"),
            top: Binding::new(&[Key::plain(Home)], "first row"),
            bottom: Binding::new(&[Key::plain(End), Key::ch('G')], "last row"),
            inspect: Binding::new(&[Key::plain(Enter)], "inspect / open / preview"),
            mark: Binding::new(&[Key::ch(' ')], "mark the message"),
            mark_range: Binding::new(
                &[Key::ctrl(' '), Key::ctrl('@')],
                "mark a range (from the last mark)",
            ),
            clear_marks: Binding::new(&[Key::ctrl('\\'), Key::ctrl('4')], "clear marks"),
            redrive: Binding::action(
                &[Key::ch('r')],
                "redrive marked (or selected) messages to their `from`",
            ),
            redrive_to: Binding::action(
                &[Key::ch('R')],
                "redrive marked (or selected) to a queue you name",
            ),
            delete: Binding::action(
                &[Key::ch('d')],
                "delete marked (or selected), after a backup",
            ),
            export: Binding::action(&[Key::ch('e')], "export marked (or all) to JSONL"),
            goal_check: Binding::action(
                &[Key::ch('g')],
                "goal check: cancel the selected project's late payments",
            ),
            live: Binding::action(&[Key::ch('p')], "pause / resume the local world's traffic"),
            stop_running: Binding::action(
                &[Key::ch('x')],
                "stop the running redrive/delete after the batch in flight",
            ),
            overview: Binding::new(&[Key::ch('1')], "overview"),
            dlq: Binding::new(&[Key::ch('2')], "DLQ browser"),
            goal: Binding::new(&[Key::ch('3')], "goal check"),
            projects: Binding::new(&[Key::ch('4')], "projects"),
            topology: Binding::new(&[Key::ch('5')], "topology"),
            health: Binding::new(&[Key::ch('6')], "health"),
            audit: Binding::new(&[Key::ch('7')], "audit log"),
        }
    }
}

impl KeyBindings {
    /// (keys, what they do) for the help screen; actions are left out when read-only.
    pub fn help(&self, read_only: bool) -> Vec<(String, &'static str)> {
        [
            &self.help,
            &self.quit,
            &self.back,
            &self.overview,
            &self.dlq,
            &self.goal,
            &self.projects,
            &self.topology,
            &self.health,
            &self.audit,
            &self.left,
            &self.right,
            &self.jump,
            &self.filter,
            &self.next_pane,
            &self.up,
            &self.down,
            &self.page_up,
            &self.page_down,
            &self.top,
            &self.bottom,
            &self.inspect,
            &self.mark,
            &self.mark_range,
            &self.clear_marks,
            &self.redrive,
            &self.redrive_to,
            &self.delete,
            &self.export,
            &self.goal_check,
            &self.live,
            &self.stop_running,
        ]
        .into_iter()
        .filter(|b| !(read_only && b.changes_system))
        .map(|b| (b.label(), b.help))
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_match_their_keys_and_help_hides_actions_when_read_only() {
        let k = KeyBindings::default();
        let ev = |code, modifiers| KeyEvent::new(code, modifiers);
        assert!(k.down.matches(&ev(KeyCode::Char('j'), KeyModifiers::NONE)));
        assert!(
            k.bottom
                .matches(&ev(KeyCode::Char('G'), KeyModifiers::SHIFT))
        );
        assert!(
            k.mark_range
                .matches(&ev(KeyCode::Char(' '), KeyModifiers::CONTROL))
        );
        assert!(
            !k.mark
                .matches(&ev(KeyCode::Char(' '), KeyModifiers::CONTROL))
        );
        assert!(k.help(false).iter().any(|(_, h)| h.contains("redrive")));
        assert!(!k.help(true).iter().any(|(_, h)| h.contains("redrive")));
        assert_eq!(k.clear_marks.label(), "ctrl-\\/ctrl-4");
    }
}
