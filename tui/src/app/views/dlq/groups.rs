//! Drawing the failures grouped by cause: one row per cause, the largest first, with the
//! counts drawn as bars, and under the list the selected group's detail.

use super::DlqBrowser;
use crate::app::snapshot::Snapshot;
use crate::app::view::{
    ACCENT, TitlePart, WARN, block, cut, fit_title, header, is_wide, selected_style, window,
};
use crate::ops::dlq::groups::FailureGroup;
use crate::render::{bar, thousands};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};

impl DlqBrowser {
    pub(super) fn draw_groups(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        let groups = self.groups(s);
        let detail_height = 7.min(area.height / 2);
        let [list, detail] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(detail_height)]).areas(area);
        let (full, short) = self.count_title(s, s.list(&self.queue).len());
        let mut parts = vec![
            TitlePart::fixed(format!("{} cause(s)", groups.len())),
            TitlePart::new(full, short),
        ];
        if !self.filter.is_empty() {
            parts.push(TitlePart::new(
                format!("filter /{}", self.filter),
                format!("/{}", self.filter),
            ));
        }
        let title = fit_title(
            &format!("{} by cause —", self.queue),
            &parts,
            usize::from(list.width.saturating_sub(4)),
        );
        let height = list.height.saturating_sub(3) as usize;
        let range = window(groups.len(), self.group_cursor.selected, height);
        let largest = groups.iter().map(|g| g.count).max().unwrap_or(1).max(1);
        let wide = is_wide(area);
        let rows: Vec<Row> = groups[range.clone()]
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let marked = self.marked_in(s, g);
                let mut cells = vec![
                    Cell::from(match marked {
                        Marked::All => "✓",
                        Marked::Some => "·",
                        Marked::None => " ",
                    }),
                    Cell::from(thousands(g.count)),
                    Cell::from(bar(g.count as f64 / largest as f64, 8)),
                ];
                if wide {
                    cells.push(Cell::from(g.kinds.join(",")));
                }
                cells.extend([
                    Cell::from(g.last_seen.format("%m-%d %H:%M").to_string()),
                    Cell::from(g.cause.clone()),
                ]);
                let style = if range.start + i == self.group_cursor.selected {
                    selected_style()
                } else if marked == Marked::All {
                    Style::new().fg(WARN)
                } else {
                    Style::new()
                };
                Row::new(cells).style(style)
            })
            .collect();
        let mut widths = vec![
            Constraint::Length(1),
            Constraint::Length(7),
            Constraint::Length(8),
        ];
        let mut titles = vec!["", "COUNT", ""];
        if wide {
            widths.push(Constraint::Length(24));
            titles.push("KINDS");
        }
        widths.extend([Constraint::Length(11), Constraint::Min(10)]);
        titles.extend(["LAST SEEN", "CAUSE"]);
        frame.render_widget(
            Table::new(rows, widths)
                .header(header(&titles))
                .block(block(title).border_style(Style::new().fg(ACCENT))),
            list,
        );
        let text = match groups.get(self.group_cursor.selected) {
            Some(g) => group_detail(g, detail.width),
            None => vec![Line::from(self.empty_hint(s))],
        };
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: true }).block(block(
                "Group (enter: its messages · a: mark it · r: redrive it · c: back)",
            )),
            detail,
        );
    }

    /// Whether a group's messages are marked: all, some or none.
    fn marked_in(&self, s: &Snapshot, g: &FailureGroup) -> Marked {
        if self.marked.is_empty() {
            return Marked::None;
        }
        let ids = self.group_ids(s, &g.cause);
        let n = ids.iter().filter(|id| self.marked.contains(*id)).count();
        match n {
            0 => Marked::None,
            n if n == ids.len() => Marked::All,
            _ => Marked::Some,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marked {
    All,
    Some,
    None,
}

/// The selected group: its cause whole, when its messages were sent, kinds and samples.
fn group_detail(g: &FailureGroup, width: u16) -> Vec<Line<'static>> {
    let room = usize::from(width.saturating_sub(2));
    let kinds = if g.kinds.is_empty() {
        "-".to_string()
    } else {
        g.kinds.join(", ")
    };
    vec![
        Line::from(g.cause.clone()),
        Line::from(
            cut(
                &format!(
                    "{} message(s), sent {} … {}",
                    thousands(g.count),
                    g.first_seen.format("%Y-%m-%d %H:%M:%S"),
                    g.last_seen.format("%Y-%m-%d %H:%M:%S")
                ),
                room,
            )
            .into_owned(),
        ),
        Line::from(cut(&format!("kinds: {kinds}"), room).into_owned()),
        Line::from(cut(&format!("e.g. {}", g.sample_ids.join(", ")), room).into_owned()),
    ]
}
