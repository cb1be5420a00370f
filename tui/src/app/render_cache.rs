//! What the DLQ browser drew in earlier frames, so that a frame copies it instead of building
//! it again: a table row costs far more to lay out and render (cells, lines, spans, graphemes)
//! than to copy, and the detail pane's JSON need not be pretty-printed and highlighted anew
//! every frame.
//!
//! Drawing stays a pure function of the state: everything here was computed from the current
//! snapshot, and [`App::apply_snapshot`](super::App::apply_snapshot) empties the cache when a new
//! one arrives. Keys carry the rest of what the cached parts depend on:
//! - list rows: the terminal cells one table row renders to (unselected: the selection is
//!   styled on top), per row index and mark, for one queue, filter and width at a time, and
//!   only around the visible window (and for one width of the ID column);
//! - the detail pane: the lines of the selected message, per queue, message id and width.

use ratatui::buffer::Cell;
use ratatui::text::Line;
use std::cell::{Ref, RefCell};
use std::collections::HashMap;
use std::ops::Range;

/// What the cached list rows depend on besides the snapshot and the row itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowsScope {
    pub queue: String,
    pub filter: String,
    pub width: u16,
    /// The ID column's width (it follows the ids on screen).
    pub id_width: u16,
}

/// The detail pane's lines for one message.
#[derive(Debug, Clone, Default)]
pub struct DetailLines {
    /// Id, payment and ledger state, receive count, and the reason wrapped to the pane.
    pub facts: Vec<Line<'static>>,
    /// The body, pretty-printed and highlighted.
    pub json: Vec<Line<'static>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DetailKey {
    queue: String,
    message_id: String,
    width: u16,
}

#[derive(Debug, Default)]
struct Rows {
    scope: RowsScope,
    cells: HashMap<(usize, bool), Vec<Cell>>,
}

#[derive(Debug, Default)]
pub struct RenderCache {
    rows: RefCell<Rows>,
    detail: RefCell<Option<(DetailKey, DetailLines)>>,
}

/// Rows kept beyond the visible window, in windows either side: enough for scrolling back and
/// forth, bounded however long the list.
const KEPT_WINDOWS: usize = 2;

impl RenderCache {
    /// Forgets everything (a new snapshot arrived).
    pub fn clear(&self) {
        let mut rows = self.rows.borrow_mut();
        rows.scope = RowsScope::default();
        rows.cells.clear();
        self.detail.replace(None);
    }

    /// Starts a frame of list rows in `scope` showing `window`: drops the rows of another
    /// scope, and rows far from the window.
    pub fn begin_rows(&self, scope: &RowsScope, window: &Range<usize>) {
        let mut rows = self.rows.borrow_mut();
        if rows.scope != *scope {
            rows.scope = scope.clone();
            rows.cells.clear();
        }
        let margin = window.len().max(1) * KEPT_WINDOWS;
        if rows.cells.len() > 2 * (window.len() + 2 * margin) {
            let keep = window.start.saturating_sub(margin)..window.end.saturating_add(margin);
            rows.cells.retain(|(i, _), _| keep.contains(i));
        }
    }

    /// The cells of list row `index` (marked or not), built by `build` the first time.
    pub fn row(
        &self,
        index: usize,
        marked: bool,
        build: impl FnOnce() -> Vec<Cell>,
    ) -> Ref<'_, [Cell]> {
        self.rows
            .borrow_mut()
            .cells
            .entry((index, marked))
            .or_insert_with(build);
        Ref::map(self.rows.borrow(), |r| {
            r.cells.get(&(index, marked)).map_or(&[][..], Vec::as_slice)
        })
    }

    /// The detail pane's lines for `message_id` in `queue` at `width`, built by `build` when
    /// another message (or width) was shown last.
    pub fn detail(
        &self,
        queue: &str,
        message_id: &str,
        width: u16,
        build: impl FnOnce() -> DetailLines,
    ) -> Ref<'_, DetailLines> {
        let fresh = matches!(&*self.detail.borrow(), Some((k, _))
            if k.queue == queue && k.message_id == message_id && k.width == width);
        if !fresh {
            let key = DetailKey {
                queue: queue.to_string(),
                message_id: message_id.to_string(),
                width,
            };
            self.detail.replace(Some((key, build())));
        }
        Ref::map(self.detail.borrow(), |d| match d {
            Some((_, lines)) => lines,
            None => &EMPTY,
        })
    }
}

static EMPTY: DetailLines = DetailLines {
    facts: Vec::new(),
    json: Vec::new(),
};

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(symbol: &'static str) -> Vec<Cell> {
        vec![Cell::new(symbol); 3]
    }

    #[test]
    fn rows_are_built_once_per_scope_and_mark() {
        let cache = RenderCache::default();
        let scope = RowsScope {
            queue: "etc_parked".into(),
            filter: String::new(),
            width: 3,
            id_width: 1,
        };
        cache.begin_rows(&scope, &(0..2));
        assert_eq!(cache.row(0, false, || cells("a"))[0].symbol(), "a");
        assert_eq!(cache.row(0, false, || cells("b"))[0].symbol(), "a");
        assert_eq!(cache.row(0, true, || cells("m"))[0].symbol(), "m");

        let filtered = RowsScope {
            filter: "declined".into(),
            ..scope.clone()
        };
        cache.begin_rows(&filtered, &(0..2));
        assert_eq!(cache.row(0, false, || cells("c"))[0].symbol(), "c");

        cache.clear();
        cache.begin_rows(&filtered, &(0..2));
        assert_eq!(cache.row(0, false, || cells("d"))[0].symbol(), "d");
    }

    #[test]
    fn rows_far_from_the_window_are_dropped() {
        let cache = RenderCache::default();
        let scope = RowsScope::default();
        for start in 0..1000 {
            cache.begin_rows(&scope, &(start..start + 10));
            for i in start..start + 10 {
                cache.row(i, false, || cells("x"));
            }
        }
        let kept = cache.rows.borrow().cells.len();
        assert!(kept <= 2 * (10 + 2 * 20), "{kept} rows kept");
        assert_eq!(cache.row(995, false, || cells("new"))[0].symbol(), "x");
        assert_eq!(cache.row(5, false, || cells("new"))[0].symbol(), "new");
    }

    #[test]
    fn the_detail_is_built_again_for_another_message_or_width() {
        let cache = RenderCache::default();
        let lines = |t: &'static str| DetailLines {
            facts: vec![Line::raw(t)],
            json: Vec::new(),
        };
        let text = |d: &DetailLines| d.facts[0].to_string();
        assert_eq!(text(&cache.detail("q", "m-1", 40, || lines("one"))), "one");
        assert_eq!(text(&cache.detail("q", "m-1", 40, || lines("two"))), "one");
        assert_eq!(
            text(&cache.detail("q", "m-2", 40, || lines("three"))),
            "three"
        );
        assert_eq!(
            text(&cache.detail("q", "m-2", 50, || lines("four"))),
            "four"
        );
        cache.clear();
        assert_eq!(
            text(&cache.detail("q", "m-2", 50, || lines("five"))),
            "five"
        );
    }
}
