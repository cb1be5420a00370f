//! The DLQ browser: one queue's messages (filtered), marks, the selected message's detail, and
//! the disposals (redrive, delete) and export of what is marked.

mod draw;
mod groups;
mod order;

use super::{Component, Context, Cursor, Effect, motion};
use crate::app::Action;
use crate::app::render_cache::RenderCache;
use crate::app::snapshot::{LoadState, Snapshot};
use crate::dispatch::{Extent, Operation};
use crate::ops::dlq::check::LedgerCheck;
use crate::ops::dlq::groups::{FailureGroup, MessageFilter, group_by_cause};
use crate::ops::dlq::{Disposal, DisposalRequest, DlqMessage, Selection};
use crate::render::thousands;
use crowdfund_core::topology::QUEUE_PARKED;
use ratatui::Frame;
use ratatui::layout::Rect;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::ops::Range;
use std::path::PathBuf;
use std::rc::Rc;

pub use draw::{highlight_json_line, wrap_words};
pub use order::ListOrder;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    List,
    Detail,
}

#[derive(Debug)]
pub struct DlqBrowser {
    pub queue: String,
    pub cursor: Cursor,
    pub marked: BTreeSet<String>,
    /// Where the last mark was made, for marking a range.
    pub anchor: Option<usize>,
    pub filter: String,
    /// The group opened from the causes: the list shows only its messages.
    pub cause: Option<String>,
    /// Showing the failures grouped by cause instead of the messages.
    pub by_cause: bool,
    /// The selected group, while they are shown.
    pub group_cursor: Cursor,
    /// Expiring first (the queue's order) or newest first (`o`).
    pub order: ListOrder,
    pub pane: Pane,
    pub detail_scroll: u16,
    /// Emptied with every new snapshot; drawing reads and fills it.
    pub render_cache: RenderCache,
    /// The groups of the list as filtered, computed once per snapshot and filter.
    groups_cache: RefCell<Option<(String, Rc<Vec<FailureGroup>>)>>,
}

impl Default for DlqBrowser {
    fn default() -> Self {
        DlqBrowser {
            queue: QUEUE_PARKED.to_string(),
            cursor: Cursor::default(),
            marked: BTreeSet::new(),
            anchor: None,
            filter: String::new(),
            cause: None,
            by_cause: false,
            group_cursor: Cursor::default(),
            order: ListOrder::default(),
            pane: Pane::List,
            detail_scroll: 0,
            render_cache: RenderCache::default(),
            groups_cache: RefCell::new(None),
        }
    }
}

impl DlqBrowser {
    /// What the list shows: the opened group's messages, those the `/` text matches. The same
    /// rules as `--reason`/`--grep` on the command line ([`MessageFilter`]).
    pub fn message_filter(&self) -> MessageFilter {
        MessageFilter::group(self.cause.clone(), Some(self.filter.clone()))
    }

    /// The rows after the filter.
    pub fn rows<'s>(&self, s: &'s Snapshot) -> Vec<&'s DlqMessage> {
        let matcher = self.message_filter().matcher();
        order::in_order(s.list(&self.queue), self.order)
            .filter(|m| matcher.matches(m))
            .collect()
    }

    /// How many rows there are, without collecting them (moving runs this per key).
    pub fn row_count(&self, s: &Snapshot) -> usize {
        let list = s.list(&self.queue);
        let filter = self.message_filter();
        if filter.is_empty() {
            return list.len();
        }
        let matcher = filter.matcher();
        list.iter().filter(|m| matcher.matches(m)).count()
    }

    /// The rows in `range` (after the filter), without building the rest: the list may hold
    /// ten thousand messages and a frame shows forty.
    pub fn window<'s>(&self, s: &'s Snapshot, range: Range<usize>) -> Vec<&'s DlqMessage> {
        let list = s.list(&self.queue);
        let filter = self.message_filter();
        if filter.is_empty() {
            return order::window_in_order(list, self.order, range);
        }
        let matcher = filter.matcher();
        order::in_order(list, self.order)
            .filter(|m| matcher.matches(m))
            .skip(range.start)
            .take(range.len())
            .collect()
    }

    /// The causes of the messages the `/` text matches, the largest first; computed once per
    /// snapshot (grouping normalises every reason).
    pub fn groups(&self, s: &Snapshot) -> Rc<Vec<FailureGroup>> {
        let key = format!("{}\u{0}{}", self.queue, self.filter);
        if let Some((k, groups)) = self.groups_cache.borrow().as_ref()
            && *k == key
        {
            return groups.clone();
        }
        let matcher = MessageFilter::new(None, Some(self.filter.clone())).matcher();
        let groups = Rc::new(group_by_cause(
            s.list(&self.queue).iter().filter(|m| matcher.matches(m)),
        ));
        *self.groups_cache.borrow_mut() = Some((key, groups.clone()));
        groups
    }

    fn selected_group(&self, s: &Snapshot) -> Option<FailureGroup> {
        self.groups(s).get(self.group_cursor.selected).cloned()
    }

    /// The ids of one group's messages (those the `/` text matches).
    fn group_ids(&self, s: &Snapshot, cause: &str) -> Vec<String> {
        let matcher =
            MessageFilter::group(Some(cause.to_string()), Some(self.filter.clone())).matcher();
        s.list(&self.queue)
            .iter()
            .filter(|m| matcher.matches(m))
            .map(|m| m.message_id.clone())
            .collect()
    }

    pub fn selected_message<'s>(&self, s: &'s Snapshot) -> Option<&'s DlqMessage> {
        let at = self.cursor.selected;
        self.window(s, at..at + 1).into_iter().next()
    }

    /// Shows `queue`; true when it is another queue than the one shown (its state starts anew).
    pub fn open(&mut self, queue: &str) -> bool {
        if self.queue == queue {
            return false;
        }
        self.queue = queue.to_string();
        self.cursor = Cursor::default();
        self.group_cursor = Cursor::default();
        self.cause = None;
        self.clear_marks();
        self.detail_scroll = 0;
        true
    }

    /// Opens the group of `cause`: the list shows its messages.
    fn open_group(&mut self, cause: String) {
        self.cause = Some(cause);
        self.by_cause = false;
        self.cursor = Cursor::default();
        self.detail_scroll = 0;
    }

    /// Marks every message shown; in the groups, every message of the selected group (again:
    /// unmarks them).
    fn mark_all(&mut self, s: &Snapshot) {
        let ids: Vec<String> = if self.by_cause {
            let Some(g) = self.selected_group(s) else {
                return;
            };
            self.group_cursor.move_by(1, self.groups(s).len());
            self.group_ids(s, &g.cause)
        } else {
            self.rows(s).iter().map(|m| m.message_id.clone()).collect()
        };
        if ids.iter().all(|id| self.marked.contains(id)) {
            for id in &ids {
                self.marked.remove(id);
            }
        } else {
            self.marked.extend(ids);
        }
    }

    /// Filters the list by `text` (any field, case-insensitive), from its first row.
    pub fn set_filter(&mut self, text: String) {
        self.filter = text;
        self.cursor = Cursor::default();
    }

    pub fn clear_marks(&mut self) {
        self.marked.clear();
        self.anchor = None;
    }

    /// Moves the selection, or scrolls the detail when it has the focus.
    fn move_by(&mut self, by: i64, s: &Snapshot) {
        if self.pane == Pane::Detail {
            let next = i64::from(self.detail_scroll) + by;
            self.detail_scroll = next.clamp(0, i64::from(u16::MAX)) as u16;
        } else if self.cursor.move_by(by, self.row_count(s)) {
            self.detail_scroll = 0;
        }
    }

    fn toggle_mark(&mut self, s: &Snapshot) {
        if let Some(id) = self.selected_message(s).map(|m| m.message_id.clone()) {
            if !self.marked.remove(&id) {
                self.marked.insert(id);
            }
            self.anchor = Some(self.cursor.selected);
            self.move_by(1, s);
        }
    }

    fn mark_range(&mut self, s: &Snapshot) {
        let selected = self.cursor.selected;
        let anchor = self.anchor.unwrap_or(selected);
        let (lo, hi) = (anchor.min(selected), anchor.max(selected));
        let ids: Vec<String> = self
            .window(s, lo..hi.saturating_add(1))
            .iter()
            .map(|m| m.message_id.clone())
            .collect();
        self.marked.extend(ids);
        self.anchor = Some(selected);
    }

    /// Marked messages, or the selected one when nothing is marked.
    fn chosen_ids(&self, s: &Snapshot) -> Vec<String> {
        if self.marked.is_empty() {
            self.selected_message(s)
                .map(|m| vec![m.message_id.clone()])
                .unwrap_or_default()
        } else {
            self.marked.iter().cloned().collect()
        }
    }

    /// The filter's description when the marks are exactly what it shows (a group opened and
    /// marked whole, `/` then `a`), so the confirmation and the audit line name it.
    fn marked_by_filter(&self, s: &Snapshot) -> Option<String> {
        let filter = self.message_filter();
        if self.marked.is_empty() || filter.is_empty() {
            return None;
        }
        let rows = self.rows(s);
        let exactly = rows.len() == self.marked.len()
            && rows.iter().all(|m| self.marked.contains(&m.message_id));
        exactly.then(|| filter.describe()).flatten()
    }

    /// A redrive or delete of what is chosen (the marked messages; else, in the groups, the
    /// selected group; else the selected message), to confirm.
    pub fn propose_disposal(&self, disposal: Disposal, cx: &Context) -> Effect {
        let s = cx.snapshot;
        let (ids, chosen_by) = match self.selected_group(s) {
            Some(g) if self.by_cause && self.marked.is_empty() => {
                let filter = MessageFilter::group(Some(g.cause.clone()), Some(self.filter.clone()));
                (self.group_ids(s, &g.cause), filter.describe())
            }
            _ => (self.chosen_ids(s), self.marked_by_filter(s)),
        };
        if ids.is_empty() {
            return Effect::Error(format!("{} is empty: nothing to act on", self.queue));
        }
        let count = ids.len() as u64;
        let mut extent = Extent::messages(count);
        if matches!(disposal, Disposal::Redrive { .. }) {
            // From the ledger states the index already holds: no request.
            let chosen: std::collections::HashSet<&str> = ids.iter().map(String::as_str).collect();
            let messages: Vec<DlqMessage> = s
                .list(&self.queue)
                .iter()
                .filter(|m| chosen.contains(m.message_id.as_str()))
                .cloned()
                .collect();
            extent.ledger = Some(LedgerCheck::of(&messages).summary());
        }
        let request = DisposalRequest::new(&self.queue, Selection::Ids(ids), disposal, false)
            .with_rate(cx.redrive_rate)
            .chosen_by(chosen_by);
        Effect::Propose(Operation::Dispose(request), extent)
    }

    /// An export of what is marked, else of what is shown (the whole queue when nothing
    /// filters it), to confirm.
    fn propose_export(&self, s: &Snapshot) -> Effect {
        let filter = self.message_filter();
        let (selection, count) = if self.marked.is_empty() && filter.is_empty() {
            (Selection::All, self.row_count(s))
        } else if self.marked.is_empty() {
            let ids: Vec<String> = self.rows(s).iter().map(|m| m.message_id.clone()).collect();
            let count = ids.len();
            (Selection::Ids(ids), count)
        } else {
            (
                Selection::Ids(self.marked.iter().cloned().collect()),
                self.marked.len(),
            )
        };
        let stamp = s.collected_at.format("%Y%m%dT%H%M%SZ");
        let out = PathBuf::from(format!("crowdfund-export-{}-{stamp}.jsonl", self.queue));
        let operation = Operation::Export {
            queue: self.queue.clone(),
            selection,
            out,
        };
        Effect::Propose(operation, Extent::messages(count as u64))
    }
}

impl Component for DlqBrowser {
    fn update(&mut self, action: &Action, cx: &Context) -> Effect {
        let s = cx.snapshot;
        if self.by_cause {
            return self.update_groups(action, cx);
        }
        if let Some(by) = motion(action) {
            self.move_by(by, s);
            return Effect::None;
        }
        match action {
            // Esc leaves the message for the list first (narrow terminals show it alone).
            Action::Back if self.pane == Pane::Detail => self.pane = Pane::List,
            Action::Back if !self.filter.is_empty() => self.filter.clear(),
            // Out of an opened group: back to the groups.
            Action::Back if self.cause.is_some() => {
                self.cause = None;
                self.by_cause = true;
            }
            Action::ToggleGroups => self.by_cause = true,
            Action::MarkAll => self.mark_all(s),
            Action::Inspect if self.unread_work_queue(s) => return self.propose_look(s),
            Action::Inspect => self.pane = Pane::Detail,
            Action::Mark => self.toggle_mark(s),
            Action::MarkRange => self.mark_range(s),
            Action::CycleOrder => self.cycle_order(s),
            other => return self.propose_action(other, cx),
        }
        Effect::None
    }

    fn on_snapshot(&mut self, s: &Snapshot) {
        self.render_cache.clear();
        self.groups_cache.borrow_mut().take();
        self.cursor.clamp(self.row_count(s));
        // Grouping normalises every reason: only when the groups are on screen.
        if self.by_cause {
            self.group_cursor.clamp(self.groups(s).len());
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        if self.by_cause {
            self.draw_groups(frame, area, s);
        } else {
            self.draw_browser(frame, area, s);
        }
    }
}

impl DlqBrowser {
    /// Keys while the groups are shown: enter opens one, `a` marks it whole, `r`/`d` act on
    /// the marked messages or else on the selected group.
    fn update_groups(&mut self, action: &Action, cx: &Context) -> Effect {
        let s = cx.snapshot;
        if let Some(by) = motion(action) {
            self.group_cursor.move_by(by, self.groups(s).len());
            return Effect::None;
        }
        match action {
            Action::Back | Action::ToggleGroups => self.by_cause = false,
            Action::Inspect => match self.selected_group(s) {
                Some(g) => self.open_group(g.cause),
                None => return Effect::Error(format!("{} has no messages", self.queue)),
            },
            Action::Mark | Action::MarkAll => self.mark_all(s),
            other => return self.propose_action(other, cx),
        }
        Effect::None
    }

    /// Redrive, delete or export what is chosen, in the list and in the groups alike.
    fn propose_action(&self, action: &Action, cx: &Context) -> Effect {
        match action {
            Action::Redrive => self.propose_disposal(Disposal::Redrive { to: None }, cx),
            Action::RedriveTo => Effect::AskRedriveTarget,
            Action::Delete => self.propose_disposal(Disposal::Delete, cx),
            Action::Export => self.propose_export(cx.snapshot),
            _ => Effect::Ignored,
        }
    }
}

/// Messages a look into a work queue reads at most.
pub const LOOK_LIMIT: usize = 100;

impl DlqBrowser {
    /// A work queue on AWS, whose messages are read only on the operator's word.
    fn unread_work_queue(&self, s: &Snapshot) -> bool {
        matches!(
            s.load(&self.queue).state,
            LoadState::NotBrowsed | LoadState::LookedOnce(_)
        )
    }

    /// A look into the work queue on screen, to confirm: it raises receive counts.
    fn propose_look(&self, s: &Snapshot) -> Effect {
        let count = s.load(&self.queue).queue_count.unwrap_or(0);
        let operation = Operation::Look {
            queue: self.queue.clone(),
            limit: LOOK_LIMIT,
        };
        Effect::Propose(operation, Extent::messages(count.min(LOOK_LIMIT as u64)))
    }

    /// The list title's count, long and short: how many are loaded against the queue's own
    /// (approximate, on SQS) count, how far the load is, and how many the filter shows.
    pub fn count_title(&self, s: &Snapshot, shown: usize) -> (String, String) {
        let load = s.load(&self.queue);
        let loaded = thousands(s.list(&self.queue).len() as u64);
        let count = load
            .queue_count
            .map_or_else(|| "?".to_string(), |c| format!("~{}", thousands(c)));
        let (full, short) = match &load.state {
            LoadState::NotBrowsed => (format!("{count} messages, not read"), count.clone()),
            LoadState::LookedOnce(at) => (
                format!("{loaded} read once at {} of {count}", at.format("%H:%M:%S")),
                format!("{loaded}/{count}"),
            ),
            // The local world reads its queues whole, at no cost: its counts are exact.
            LoadState::Complete if s.status.backend == "local" => {
                (format!("{loaded} message(s)"), loaded.clone())
            }
            state => {
                let suffix = match state {
                    LoadState::Loading => " (loading)".to_string(),
                    LoadState::Capped(max) => format!(" (cap {})", thousands(*max as u64)),
                    LoadState::Failed(_) => " (load failed)".to_string(),
                    LoadState::NotLoaded => " (not loaded: ctrl-r)".to_string(),
                    _ => String::new(),
                };
                (
                    format!("{loaded} of {count} loaded{suffix}"),
                    format!("{loaded}/{count}"),
                )
            }
        };
        let shown_n = thousands(shown as u64);
        if shown == s.list(&self.queue).len() {
            (full, short)
        } else if load.state == LoadState::Complete && s.status.backend == "local" {
            (format!("{shown_n} of {full}"), format!("{shown_n}/{short}"))
        } else {
            (
                format!("{shown_n} shown · {full}"),
                format!("{shown_n}/{short}"),
            )
        }
    }

    /// What the message pane says when no message is selected.
    pub fn empty_hint(&self, s: &Snapshot) -> String {
        if !self.message_filter().is_empty() {
            return "no message matches the filter (esc clears it)".into();
        }
        match s.load(&self.queue).state {
            LoadState::NotBrowsed => format!(
                "{} is a work queue: its function reads it. On SQS a message can only be \
                 read by receiving it, which raises its receive count, and after {} receives \
                 SQS moves it to etc_dlq, so the console does not read it by itself.\n\n\
                 enter: look once at up to {LOOK_LIMIT} messages (asks first)",
                self.queue,
                crowdfund_core::topology::MAX_RECEIVE_COUNT
            ),
            LoadState::Loading | LoadState::NotLoaded => "loading…".into(),
            LoadState::Failed(ref e) => {
                format!("could not load {}: {e}\n\nctrl-r tries again", self.queue)
            }
            _ => "no messages here: all clear".into(),
        }
    }

    /// Tab switches between the list and the detail (wherever it is pressed).
    pub fn toggle_pane(&mut self) {
        self.pane = match self.pane {
            Pane::List => Pane::Detail,
            Pane::Detail => Pane::List,
        }
    }
}
