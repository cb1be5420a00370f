//! Key bindings as data (k9s and gitui habits): one table where each binding's keys, its
//! [`Action`] and its help line stand together. The key → action lookup and the help screen
//! both read it, so neither drifts from the other.

use super::Action;
use super::views::View;
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

/// One binding: its keys, the action they mean, and the help line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub keys: Vec<Key>,
    pub action: Action,
    pub help: &'static str,
}

impl Binding {
    fn new(keys: &[Key], action: Action, help: &'static str) -> Self {
        Binding {
            keys: keys.to_vec(),
            action,
            help,
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

/// Every binding, in the order the help screen lists them.
#[derive(Debug, Clone)]
pub struct KeyBindings {
    pub bindings: Vec<Binding>,
}

impl Default for KeyBindings {
    fn default() -> Self {
        use Action::*;
        use KeyCode::{
            BackTab, Down as ArrowDown, End, Enter, Esc, Home, Left, PageDown as PgDn,
            PageUp as PgUp, Right, Tab, Up as ArrowUp,
        };
        let b = Binding::new;
        let bindings = vec![
            b(&[Key::ch('?')], Help, "this help"),
            b(
                &[Key::ch('q'), Key::ctrl('c')],
                Quit,
                "back, or quit from the overview",
            ),
            b(&[Key::plain(Esc)], Back, "back / close / clear filter"),
            b(&[Key::ch('1')], Show(View::Overview), "overview"),
            b(&[Key::ch('2')], Show(View::Dlq), "DLQ browser"),
            b(&[Key::ch('3')], Show(View::Goal), "goal check"),
            b(&[Key::ch('4')], Show(View::Projects), "projects"),
            b(&[Key::ch('5')], Show(View::Topology), "topology"),
            b(&[Key::ch('6')], Show(View::Health), "health"),
            b(&[Key::ch('7')], Show(View::Audit), "audit log"),
            b(&[Key::plain(Left), Key::ch('h')], PrevView, "previous view"),
            b(&[Key::plain(Right), Key::ch('l')], NextView, "next view"),
            b(
                &[Key::ch(':')],
                Jump,
                "jump to a view or queue (:dlq, :parked, :payment_attempt_queue…)",
            ),
            b(&[Key::ch('/')], Filter, "filter the list"),
            b(
                &[Key::ctrl('r')],
                Refresh,
                "refresh now, and read the queue on screen again",
            ),
            b(
                &[Key::plain(Tab), Key::plain(BackTab)],
                NextPane,
                "switch pane",
            ),
            b(&[Key::plain(ArrowUp), Key::ch('k')], Up, "up"),
            b(&[Key::plain(ArrowDown), Key::ch('j')], Down, "down"),
            b(&[Key::plain(PgUp), Key::ctrl('u')], PageUp, "page up"),
            b(&[Key::plain(PgDn), Key::ctrl('d')], PageDown, "page down"),
            b(&[Key::plain(Home)], Top, "first row"),
            b(&[Key::plain(End), Key::ch('G')], Bottom, "last row"),
            b(&[Key::plain(Enter)], Inspect, "inspect / open / preview"),
            b(&[Key::ch(' ')], Mark, "mark the message"),
            b(
                &[Key::ctrl(' '), Key::ctrl('@')],
                MarkRange,
                "mark a range (from the last mark)",
            ),
            b(
                &[Key::ch('a')],
                MarkAll,
                "mark every message shown (the filter's, or the group's)",
            ),
            b(
                &[Key::ch('c')],
                ToggleGroups,
                "DLQ: group failures by cause, or list the messages",
            ),
            b(
                &[Key::ctrl('\\'), Key::ctrl('4')],
                ClearMarks,
                "clear marks",
            ),
            b(
                &[Key::ch('r')],
                Redrive,
                "redrive marked (or selected) messages to their `from`",
            ),
            b(
                &[Key::ch('R')],
                RedriveTo,
                "redrive marked (or selected) to a queue you name",
            ),
            b(
                &[Key::ch('d')],
                Delete,
                "delete marked (or selected), after a backup",
            ),
            b(
                &[Key::ch('e')],
                Export,
                "export marked (or all shown) to JSONL",
            ),
            b(
                &[Key::ch('o')],
                CycleOrder,
                "order the DLQ list: expiring first / newest first",
            ),
            b(
                &[Key::ch('g')],
                GoalCheck,
                "goal check: cancel the selected project's late payments",
            ),
            b(
                &[Key::ch('t')],
                ToggleTrigger,
                "topology: pause / resume the selected function's SQS trigger",
            ),
            b(
                &[Key::ch('p')],
                ToggleLive,
                "pause / resume the local world's traffic",
            ),
            b(
                &[Key::ch('x')],
                StopRunning,
                "stop the running redrive/delete after the batch in flight",
            ),
        ];
        KeyBindings { bindings }
    }
}

impl KeyBindings {
    /// The action `event` is bound to.
    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .find(|b| b.matches(event))
            .map(|b| b.action.clone())
    }

    /// (keys, what they do) for the help screen; actions are left out when read-only.
    pub fn help(&self, read_only: bool) -> Vec<(String, &'static str)> {
        self.bindings
            .iter()
            .filter(|b| !(read_only && b.action.changes_system()))
            .map(|b| (b.label(), b.help))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(code: KeyCode, modifiers: KeyModifiers) -> Option<Action> {
        KeyBindings::default().action_for(&KeyEvent::new(code, modifiers))
    }

    #[test]
    fn bindings_match_their_keys_and_help_hides_actions_when_read_only() {
        let k = KeyBindings::default();
        assert_eq!(
            action(KeyCode::Char('j'), KeyModifiers::NONE),
            Some(Action::Down)
        );
        assert_eq!(
            action(KeyCode::Char('G'), KeyModifiers::SHIFT),
            Some(Action::Bottom)
        );
        assert_eq!(
            action(KeyCode::Char(' '), KeyModifiers::CONTROL),
            Some(Action::MarkRange)
        );
        assert_eq!(
            action(KeyCode::Char(' '), KeyModifiers::NONE),
            Some(Action::Mark)
        );
        assert_eq!(
            action(KeyCode::Char('7'), KeyModifiers::NONE),
            Some(Action::Show(View::Audit))
        );
        assert_eq!(
            action(KeyCode::Char('o'), KeyModifiers::NONE),
            Some(Action::CycleOrder)
        );
        assert!(k.help(true).iter().any(|(_, h)| h.contains("newest first")));
        assert!(k.help(false).iter().any(|(_, h)| h.contains("redrive")));
        assert!(!k.help(true).iter().any(|(_, h)| h.contains("redrive")));
        let clear = k.bindings.iter().find(|b| b.action == Action::ClearMarks);
        assert_eq!(clear.map(Binding::label).as_deref(), Some("ctrl-\\/ctrl-4"));
    }

    /// A key means one thing: no two bindings share one.
    #[test]
    fn no_key_is_bound_twice() {
        let k = KeyBindings::default();
        let keys: Vec<Key> = k.bindings.iter().flat_map(|b| b.keys.clone()).collect();
        for (i, a) in keys.iter().enumerate() {
            assert!(!keys[i + 1..].contains(a), "{} is bound twice", a.label());
        }
    }
}
