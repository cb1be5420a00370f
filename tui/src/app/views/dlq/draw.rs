//! Drawing the DLQ browser. Only the visible rows are built, and rows and the selected
//! message's detail are copied from earlier frames of the same snapshot
//! ([`RenderCache`](crate::app::render_cache::RenderCache)).

use super::{DlqBrowser, Pane};
use crate::app::render_cache::{DetailLines, RowsScope};
use crate::app::snapshot::Snapshot;
use crate::app::view::{
    ACCENT, GOOD, TitlePart, WARN, block, cut_front, fit_title, header, is_wide, selected_style,
    width_of, window,
};
use crate::ops::dlq::DlqMessage;
use crate::render::{age, time_left};
use crowdfund_core::domain::Timestamp;
use crowdfund_core::money::group_thousands;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

/// The ID column is at least this wide: local ids (`m-00001011`) show whole, a UUID its last
/// nine characters.
const MIN_ID_WIDTH: usize = 10;
/// The list shows the FROM column from this width on (terminals of 162 columns and more).
const FROM_LIST_WIDTH: u16 = 100;
/// Columns of a list row besides the ID: marked, KIND, FROM, ATT, AGE, EXPIRES (when SQS
/// deletes it: [`time_left`], at most 7 characters), LEDGER, REASON (its least width).
/// Message kinds and queue names are at most 16 and 22 characters (`goal_achievement`,
/// `goal_achievement_queue`): they always show whole.
const COLUMNS: [(u16, &str); 8] = [
    (1, ""),
    (16, "KIND"),
    (22, "FROM"),
    (3, "ATT"),
    (6, "AGE"),
    (7, "EXPIRES"),
    (9, "LEDGER"),
    (10, "REASON"),
];

/// Where the list and the message go in the browser.
struct Panes {
    list: Option<Rect>,
    detail: Rect,
    /// The message under the list, or alone, rather than beside it.
    stacked: bool,
}

impl DlqBrowser {
    pub(super) fn draw_browser(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        let total = self.row_count(s);
        let panes = self.panes(area);
        let selected = match panes.list {
            Some(list) => self.draw_list(frame, list, s, total),
            None => self.selected_message(s),
        };
        self.draw_detail(frame, &panes, selected, s);
    }

    /// From [`WIDE`](crate::app::view::WIDE) columns the message is beside the list, as it
    /// always was. Narrower, it goes under the list, where its facts (id, payment, why it
    /// failed) follow the selection; while it has the focus (enter or tab; tab or esc goes
    /// back) it takes the whole area, so that its body can be read.
    fn panes(&self, area: Rect) -> Panes {
        if is_wide(area) {
            let [list, detail] =
                Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
                    .areas(area);
            return Panes {
                list: Some(list),
                detail,
                stacked: false,
            };
        }
        if self.pane == Pane::Detail {
            return Panes {
                list: None,
                detail: area,
                stacked: true,
            };
        }
        // Room for the facts (id, payment, received, two lines of why), more when tall.
        let detail_height = (area.height * 2 / 5).max(8).min(area.height / 2);
        let [list, detail] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(detail_height)]).areas(area);
        Panes {
            list: Some(list),
            detail,
            stacked: true,
        }
    }

    /// The list's title, fitted to `width` cells: the queue whole, then how many messages
    /// (of how many listed, when filtered), the marks and the filter; when they do not fit,
    /// the filter, then the count, take their short forms, and the rest is cut.
    pub fn list_title(&self, s: &Snapshot, total: usize, width: usize) -> String {
        let count = |n: usize| group_thousands(n as i64);
        let (full, short) = self.count_title(s, total);
        let mut parts = vec![TitlePart::new(full, short)];
        if !self.marked.is_empty() {
            parts.push(TitlePart::fixed(format!(
                "{} marked",
                count(self.marked.len())
            )));
        }
        if let Some(cause) = &self.cause {
            parts.push(TitlePart::new(format!("cause: {cause}"), "one cause"));
        }
        if !self.filter.is_empty() {
            parts.push(TitlePart::new(
                format!("filter /{}", self.filter),
                format!("/{}", self.filter),
            ));
        }
        if self.order != super::ListOrder::default() {
            parts.push(TitlePart::fixed(self.order.label().to_string()));
        }
        fit_title(&format!("{} —", self.queue), &parts, width)
    }

    /// Draws the list in `list` and returns the selected message, when it is on screen.
    fn draw_list<'s>(
        &self,
        frame: &mut Frame,
        list: Rect,
        s: &'s Snapshot,
        total: usize,
    ) -> Option<&'s DlqMessage> {
        // The block's corners and the spaces around the title.
        let title = self.list_title(s, total, usize::from(list.width.saturating_sub(4)));
        let height = list.height.saturating_sub(3) as usize;
        let range = window(total, self.cursor.selected, height);
        let start = range.start;
        let rows = self.window(s, range.clone());
        let border = if self.pane == Pane::List {
            ACCENT
        } else {
            Color::DarkGray
        };
        let list_block = block(title).border_style(Style::new().fg(border));
        let inner = list_block.inner(list);
        // Narrow lists drop the FROM column (the kind names it, the message shows it) rather
        // than squeeze every column unreadable.
        let from = list.width >= FROM_LIST_WIDTH;
        let columns: Vec<(u16, &'static str)> = COLUMNS
            .iter()
            .copied()
            .filter(|(_, t)| from || *t != "FROM")
            .collect();
        let others: u16 = columns.iter().map(|(w, _)| w + 1).sum();
        let id_room = usize::from(inner.width.saturating_sub(others));
        let id_width = id_width(rows.iter().map(|m| m.message_id.as_str()), id_room);
        let mut widths = Vec::with_capacity(columns.len() + 1);
        let mut titles = Vec::with_capacity(columns.len() + 1);
        for (i, (width, title)) in columns.into_iter().enumerate() {
            if i == 1 {
                widths.push(Constraint::Length(id_width));
                titles.push("ID");
            }
            widths.push(match title {
                "REASON" => Constraint::Min(width),
                _ => Constraint::Length(width),
            });
            titles.push(title);
        }
        // The frame, header and all: the table without its rows.
        frame.render_widget(
            Table::new(Vec::<Row>::new(), widths.clone())
                .header(header(&titles))
                .block(list_block),
            list,
        );
        // The rows: each is rendered once per snapshot (as a table of that one row would render
        // it) and copied afterwards; the selection is styled on top, as the table styles a row
        // before drawing its cells.
        let rows_area = Rect {
            y: inner.y.saturating_add(1),
            height: inner.height.saturating_sub(1),
            ..inner
        };
        let scope = RowsScope {
            queue: self.queue.clone(),
            filter: self.message_filter().describe().unwrap_or_default(),
            width: rows_area.width,
            id_width,
        };
        let cache = &self.render_cache;
        cache.begin_rows(&scope, &range);
        let buf = frame.buffer_mut();
        // No row fits in an empty area (and a cell outside the buffer has no index).
        let fits = if rows_area.is_empty() {
            0
        } else {
            rows_area.height as usize
        };
        for (i, m) in rows.iter().enumerate().take(fits) {
            let y = rows_area.y + i as u16;
            let marked = self.marked.contains(&m.message_id);
            let cells = cache.row(start + i, marked, || {
                dlq_row_cells(m, marked, from, s.status.now, &widths, rows_area.width)
            });
            let at = buf.index_of(rows_area.x, y);
            if let Some(target) = buf.content.get_mut(at..at + cells.len()) {
                target.clone_from_slice(&cells);
            }
            if start + i == self.cursor.selected {
                buf.set_style(
                    Rect {
                        y,
                        height: 1,
                        ..rows_area
                    },
                    selected_style(),
                );
            }
        }
        rows.get(self.cursor.selected.saturating_sub(start))
            .copied()
    }

    fn draw_detail(&self, frame: &mut Frame, panes: &Panes, m: Option<&DlqMessage>, s: &Snapshot) {
        let detail = panes.detail;
        let border = if self.pane == Pane::Detail {
            ACCENT
        } else {
            Color::DarkGray
        };
        let title = match (panes.stacked, panes.list) {
            (false, _) => "Message",
            (true, Some(_)) => "Message (enter: read it all)",
            (true, None) => "Message (j/k: scroll · tab or esc: back to the list)",
        };
        let detail_block = block(title).border_style(Style::new().fg(border));
        let Some(m) = m else {
            let hint = self.empty_hint(s);
            frame.render_widget(
                Paragraph::new(hint)
                    .wrap(ratatui::widgets::Wrap { trim: true })
                    .block(detail_block),
                detail,
            );
            return;
        };
        let inner = detail_block.inner(detail);
        frame.render_widget(detail_block, detail);
        let [facts, json] =
            Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(inner);
        let lines = self
            .render_cache
            .detail(&self.queue, &m.message_id, detail.width, || {
                detail_lines(m, detail.width)
            });
        frame.render_widget(Paragraph::new(borrowed(&lines.facts)), facts);
        frame.render_widget(
            Paragraph::new(borrowed(&lines.json)).scroll((self.detail_scroll, 0)),
            json,
        );
    }
}

/// The ID column's width for `ids`, the ids on screen, with at most `room` cells for it.
///
/// Ids differ at their ends: local ones count up and share a long prefix (`m-00001011`,
/// `m-00001012`), SQS's are UUIDs. So the column shows each id's end, `…` in front when it is
/// cut ([`shown_id`]), and is as wide as the ids on screen need to be told apart: at least
/// [`MIN_ID_WIDTH`] (wide enough for a whole local id, or a UUID's last nine characters), one
/// cell more while two of them would read the same, never more than `room` nor than the
/// longest id. Only the visible rows are read: the width does not depend on the list's length,
/// and a frame costs the same with ten thousand messages listed.
fn id_width<'a>(ids: impl Iterator<Item = &'a str>, room: usize) -> u16 {
    let ids: Vec<&str> = ids.collect();
    let room = room.max(2);
    // An empty list keeps its header where it was.
    let Some(longest) = ids.iter().map(|id| width_of(id)).max() else {
        return MIN_ID_WIDTH.min(room) as u16;
    };
    let mut width = MIN_ID_WIDTH.min(room);
    while width < room && width < longest && !distinct(&ids, width) {
        width += 1;
    }
    width.min(longest).max(2) as u16
}

/// Whether `ids` read differently when each is shown in `width` cells.
fn distinct(ids: &[&str], width: usize) -> bool {
    let mut shown: Vec<_> = ids.iter().map(|id| cut_front(id, width)).collect();
    shown.sort_unstable();
    shown.windows(2).all(|w| w[0] != w[1])
}

/// `id` in the ID column `width` wide: whole, or `…` and its end.
fn shown_id(id: &str, width: u16) -> std::borrow::Cow<'_, str> {
    cut_front(id, usize::from(width))
}

/// One DLQ list row as its cells: a table of that row alone, `width` wide.
fn dlq_row_cells(
    m: &DlqMessage,
    marked: bool,
    from: bool,
    now: Timestamp,
    widths: &[Constraint],
    width: u16,
) -> Vec<ratatui::buffer::Cell> {
    let id_width = match widths.get(1) {
        Some(Constraint::Length(w)) => *w,
        _ => MIN_ID_WIDTH as u16,
    };
    let mut cells = vec![
        Cell::from(if marked { "✓" } else { " " }),
        Cell::from(shown_id(&m.message_id, id_width)),
        Cell::from(m.kind.as_deref().unwrap_or("(unreadable)")),
    ];
    if from {
        cells.push(Cell::from(m.from.as_deref().unwrap_or("-")));
    }
    cells.extend([
        Cell::from(m.attempts.to_string()),
        Cell::from(age(m.age_seconds)),
        Cell::from(time_left(m.expires_at, now)),
        Cell::from(m.ledger_state.as_deref().unwrap_or("-")),
        Cell::from(m.reason.as_deref().unwrap_or("-")),
    ]);
    let style = if marked {
        Style::new().fg(WARN)
    } else {
        Style::new()
    };
    let area = Rect::new(0, 0, width, 1);
    let mut buf = Buffer::empty(area);
    Table::new([Row::new(cells).style(style)], widths.iter().copied()).render(area, &mut buf);
    buf.content
}

/// The detail pane's lines for `m` in a pane `width` wide.
fn detail_lines(m: &DlqMessage, width: u16) -> DetailLines {
    // Where a redrive sends it, beside the id when there is room (the body says it too).
    let from = m
        .from
        .as_deref()
        .map(|f| format!(" · from {f}"))
        .filter(|f| 2 + 9 + width_of(&m.message_id) + width_of(f) <= usize::from(width))
        .unwrap_or_default();
    let mut facts = vec![
        Line::from(vec![
            Span::styled("id       ", Style::new().dark_gray()),
            Span::raw(m.message_id.clone()),
            Span::raw(from),
        ]),
        Line::from(vec![
            Span::styled("payment  ", Style::new().dark_gray()),
            Span::raw(format!(
                "{} · ledger: {}",
                m.payment_id.as_deref().unwrap_or("-"),
                m.ledger_state.as_deref().unwrap_or("-")
            )),
        ]),
        Line::from(vec![
            Span::styled("received ", Style::new().dark_gray()),
            Span::raw(format!(
                "{}× · attempts {} · toDiscord {}",
                m.receive_count, m.attempts, m.to_discord
            )),
        ]),
    ];
    // The reason matters whole: wrap it by hand (ratatui's wrapping costs more than the rest
    // of the frame), under a hanging indent.
    let reason = m
        .reason
        .as_deref()
        .unwrap_or("no reason recorded (redriven by SQS after 3 receives, or unreadable)");
    let wrap_at = width.saturating_sub(2 + 9).max(10) as usize;
    for (i, chunk) in wrap_words(reason, wrap_at).into_iter().enumerate() {
        let label = if i == 0 { "why      " } else { "         " };
        facts.push(Line::from(vec![
            Span::styled(label, Style::new().dark_gray()),
            Span::styled(chunk, Style::new().fg(WARN)),
        ]));
    }
    // The facts wrap (the reason matters whole); the JSON below does not: its lines are short
    // and wrapping it would cost more than the rest of the frame.
    let pretty = match &m.body {
        serde_json::Value::String(raw) => raw.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    let json = pretty.lines().map(highlight_json_line).collect();
    DetailLines { facts, json }
}

/// `lines` borrowed for one frame's paragraph, without copying their text.
fn borrowed<'a>(lines: &'a [Line<'static>]) -> Vec<Line<'a>> {
    lines
        .iter()
        .map(|l| Line {
            spans: l
                .spans
                .iter()
                .map(|s| Span::styled(s.content.as_ref(), s.style))
                .collect(),
            style: l.style,
            alignment: l.alignment,
        })
        .collect()
}

/// Splits `text` into lines of at most `width` characters at spaces (long words are cut).
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let options = textwrap::Options::new(width)
        .word_separator(textwrap::WordSeparator::AsciiSpace)
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .wrap_algorithm(textwrap::WrapAlgorithm::FirstFit)
        .break_words(true);
    textwrap::wrap(text, options)
        .into_iter()
        .map(|line| line.into_owned())
        .collect()
}

/// Colours one line of pretty-printed JSON: keys, strings, numbers, literals.
pub fn highlight_json_line(line: &str) -> Line<'static> {
    let indent_len = line.len() - line.trim_start().len();
    let (indent, rest) = line.split_at(indent_len);
    let mut spans = vec![Span::raw(indent.to_string())];
    let (key, value) = match rest.find("\": ") {
        Some(i) if rest.starts_with('"') => (Some(&rest[..=i]), &rest[i + 1..]),
        _ => (None, rest),
    };
    if let Some(k) = key {
        spans.push(Span::styled(k.to_string(), Style::new().fg(ACCENT)));
    }
    let trimmed = value.trim_start_matches(':').trim_start();
    let color = match trimmed.chars().next() {
        Some('"') => Some(GOOD),
        Some(c) if c.is_ascii_digit() || c == '-' => Some(WARN),
        Some('t') | Some('f') | Some('n') => Some(Color::Magenta),
        _ => None,
    };
    match color {
        Some(c) => {
            let prefix_len = value.len() - trimmed.len();
            spans.push(Span::raw(value[..prefix_len].to_string()));
            spans.push(Span::styled(trimmed.to_string(), Style::new().fg(c)));
        }
        None => spans.push(Span::raw(value.to_string())),
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_wrap_at_spaces_and_long_words_are_cut() {
        assert_eq!(
            wrap_words("payment pay-1 was declined: card declined", 16),
            ["payment pay-1", "was declined:", "card declined"]
        );
        assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap_words("", 5), [""]);
        assert_eq!(
            wrap_words("ab abcdefghij x", 4),
            ["ab", "abcd", "efgh", "ij x"]
        );
    }

    #[test]
    fn the_id_column_is_as_wide_as_the_ids_on_screen_need() {
        let local = ["m-00001011", "m-00001012", "m-00001476"];
        assert_eq!(id_width(local.into_iter(), 40), 10, "whole");
        assert_eq!(id_width(["m-1", "m-2"].into_iter(), 40), 3, "short ids");
        assert_eq!(id_width(std::iter::empty(), 40), 10, "the header stays");
        let uuids = [
            "8c3f1e2a-4b5d-4e6f-9a0b-1c2d3e4f5a6b",
            "0b9e7d6c-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
        ];
        assert_eq!(id_width(uuids.into_iter(), 40), 10);
        assert_eq!(shown_id(uuids[0], 10), "…d3e4f5a6b");
        // Tails alike on screen: wider until they differ, never wider than the room.
        let alike = [
            "aaaaaaaa-0000-4000-8000-000000000001",
            "aaaaaaaa-0000-4000-8000-100000000001",
        ];
        assert_eq!(id_width(alike.into_iter(), 40), 13);
        assert_eq!(shown_id(alike[1], 13), "…100000000001");
        assert_eq!(id_width(alike.into_iter(), 11), 11);
        assert_eq!(id_width(["dup", "dup"].into_iter(), 40), 3);
    }

    fn snapshot_with(queue: &str, messages: usize) -> Snapshot {
        let message = DlqMessage {
            queue: queue.into(),
            message_id: "m-1".into(),
            kind: None,
            from: None,
            attempts: 0,
            to_discord: false,
            declined: false,
            reason: None,
            payment_id: None,
            ledger_state: None,
            sent_at: Default::default(),
            expires_at: Default::default(),
            age_seconds: 0,
            receive_count: 0,
            body: serde_json::Value::Null,
        };
        let mut s = Snapshot::empty("local", "test", Default::default());
        s.parts = crate::app::snapshot::Parts::ready();
        s.lists = [(queue.to_string(), vec![message; messages])].into();
        s.loads = [(
            queue.to_string(),
            crate::app::snapshot::ListLoad {
                state: crate::app::snapshot::LoadState::Complete,
                queue_count: None,
            },
        )]
        .into();
        s
    }

    #[test]
    fn the_list_title_fits_its_width() {
        let queue = "goal_achievement_queue";
        let s = snapshot_with(queue, 10_000);
        let mut b = DlqBrowser::default();
        b.open(queue);
        assert_eq!(
            b.list_title(&s, 10_000, 76),
            "goal_achievement_queue — 10,000 message(s)"
        );
        b.marked.extend((0..1234).map(|i| format!("m-{i}")));
        b.filter = "payment pay-000122 was declined".into();
        let title = b.list_title(&s, 3_420, 76);
        assert_eq!(
            title,
            "goal_achievement_queue — 3,420/10,000 · 1,234 marked · /payment pay-000122 …"
        );
        for width in [10, 30, 45, 60, 76, 120] {
            let title = b.list_title(&s, 3_420, width);
            assert!(width_of(&title) <= width, "{width}: {title}");
            assert!(
                title.starts_with(&queue[..width.min(queue.len()) - 1]),
                "{title}"
            );
        }
        assert_eq!(
            b.list_title(&s, 3_420, 120),
            "goal_achievement_queue — 3,420 of 10,000 message(s) · 1,234 marked · filter /payment pay-000122 was declined"
        );
    }

    #[test]
    fn on_aws_the_title_counts_what_is_loaded_against_the_queue() {
        let queue = "etc_parked";
        let mut s = snapshot_with(queue, 3_420);
        s.status.backend = "aws".into();
        s.status.queues = vec![crowdfund_core::ports::QueueStats {
            name: queue.into(),
            visible: 9_990,
            in_flight: 10,
            ..Default::default()
        }];
        s.loads.insert(
            queue.into(),
            crate::app::snapshot::ListLoad {
                state: crate::app::snapshot::LoadState::Loading,
                queue_count: None,
            },
        );
        let mut b = DlqBrowser::default();
        b.open(queue);
        assert_eq!(
            b.list_title(&s, 3_420, 76),
            "etc_parked — 3,420 of ~10,000 loaded (loading)"
        );
        assert_eq!(b.list_title(&s, 3_420, 24), "etc_parked — 3,420/~10,…");
    }

    #[test]
    fn json_highlighting_keeps_the_text() {
        let line = highlight_json_line(r#"  "amount": 50000,"#);
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, r#"  "amount": 50000,"#);
    }
}
