//! Drawing the DLQ browser. Only the visible rows are built, and rows and the selected
//! message's detail are copied from earlier frames of the same snapshot
//! ([`RenderCache`](crate::app::render_cache::RenderCache)).

use super::{DlqBrowser, Pane};
use crate::app::render_cache::{DetailLines, RowsScope};
use crate::app::snapshot::Snapshot;
use crate::app::view::{ACCENT, GOOD, WARN, block, header, selected_style, window};
use crate::ops::dlq::DlqMessage;
use crate::render::age;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, Widget};

impl DlqBrowser {
    pub(super) fn draw_browser(&self, frame: &mut Frame, area: Rect, s: &Snapshot) {
        let total = self.row_count(s);
        let [list, detail] =
            Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
                .areas(area);
        let title = self.list_title(s, total);
        let height = list.height.saturating_sub(3) as usize;
        let range = window(total, self.cursor.selected, height);
        let start = range.start;
        let rows = self.window(s, range.clone());
        // Narrow terminals drop the FROM column rather than squeeze every column unreadable.
        let wide = list.width >= 100;
        let border = if self.pane == Pane::List {
            ACCENT
        } else {
            Color::DarkGray
        };
        let (widths, titles): (Vec<Constraint>, Vec<&'static str>) = [
            (Constraint::Length(1), ""),
            (Constraint::Length(10), "ID"),
            (Constraint::Length(15), "KIND"),
            (Constraint::Length(21), "FROM"),
            (Constraint::Length(3), "ATT"),
            (Constraint::Length(6), "AGE"),
            (Constraint::Length(9), "LEDGER"),
            (Constraint::Min(10), "REASON"),
        ]
        .into_iter()
        .filter(|(_, t)| wide || *t != "FROM")
        .unzip();
        let list_block = block(title).border_style(Style::new().fg(border));
        let inner = list_block.inner(list);
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
            filter: self.filter.clone(),
            width: rows_area.width,
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
                dlq_row_cells(m, marked, wide, &widths, rows_area.width)
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

        let border = if self.pane == Pane::Detail {
            ACCENT
        } else {
            Color::DarkGray
        };
        let detail_block = block("Message").border_style(Style::new().fg(border));
        let Some(m) = rows
            .get(self.cursor.selected.saturating_sub(start))
            .copied()
        else {
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
        let lines = cache.detail(&self.queue, &m.message_id, detail.width, || {
            detail_lines(m, detail.width)
        });
        frame.render_widget(Paragraph::new(borrowed(&lines.facts)), facts);
        frame.render_widget(
            Paragraph::new(borrowed(&lines.json)).scroll((self.detail_scroll, 0)),
            json,
        );
    }
}

/// One DLQ list row as its cells: a table of that row alone, `width` wide.
fn dlq_row_cells(
    m: &DlqMessage,
    marked: bool,
    wide: bool,
    widths: &[Constraint],
    width: u16,
) -> Vec<ratatui::buffer::Cell> {
    let mut cells = vec![
        Cell::from(if marked { "✓" } else { " " }),
        Cell::from(m.message_id.as_str()),
        Cell::from(m.kind.as_deref().unwrap_or("(unreadable)")),
    ];
    if wide {
        cells.push(Cell::from(m.from.as_deref().unwrap_or("-")));
    }
    cells.extend([
        Cell::from(m.attempts.to_string()),
        Cell::from(age(m.age_seconds)),
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
    let mut facts = vec![
        Line::from(vec![
            Span::styled("id       ", Style::new().dark_gray()),
            Span::raw(m.message_id.clone()),
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
    fn json_highlighting_keeps_the_text() {
        let line = highlight_json_line(r#"  "amount": 50000,"#);
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, r#"  "amount": 50000,"#);
    }
}
