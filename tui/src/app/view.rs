//! Drawing: a pure function of [`App`]. Lists build only their visible rows, so a DLQ of ten
//! thousand messages draws as fast as one of ten; the DLQ browser also copies its rows and the
//! selected message's detail from earlier frames of the same snapshot ([`super::render_cache`]).

use super::health::{self, Severity};
use super::render_cache::{DetailLines, RowsScope};
use super::{App, InputPurpose, Modal, Pane, View};
use crate::ops::dlq::DlqMessage;
use crate::render::{age, bar};
use crowdfund_core::money::group_thousands;
use crowdfund_core::topology;
use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, Gauge, GraphType, LineGauge, Paragraph, Row,
    Table, Tabs, Widget, Wrap,
};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 20;

const ACCENT: Color = Color::Cyan;
const BAD: Color = Color::Red;
const WARN: Color = Color::Yellow;
const GOOD: Color = Color::Green;

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "crowdfund-console needs at least {MIN_WIDTH}×{MIN_HEIGHT}; this terminal is {}×{}.\nEnlarge it, or press q to quit.",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
        return;
    }
    let [tabs, body, pulse, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_tabs(frame, tabs, app);
    match &app.snapshot {
        None => frame.render_widget(
            Paragraph::new("collecting the first snapshot…").alignment(Alignment::Center),
            body,
        ),
        Some(_) => match app.view {
            View::Overview => draw_overview(frame, body, app),
            View::Dlq => draw_dlq(frame, body, app),
            View::Goal => draw_goal(frame, body, app),
            View::Projects => draw_projects(frame, body, app),
            View::Topology => draw_topology(frame, body, app),
            View::Health => draw_health(frame, body, app),
            View::Audit => draw_audit(frame, body, app),
        },
    }
    draw_pulse(frame, pulse, app);
    draw_status(frame, status, app);
    if let Some(modal) = &app.modal {
        draw_modal(frame, area, app, modal);
    }
}

fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let titles: Vec<Line> = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| Line::from(format!("{} {}", i + 1, v.title())))
        .collect();
    let selected = View::ALL.iter().position(|v| *v == app.view).unwrap_or(0);
    let tabs = Tabs::new(titles)
        .select(selected)
        .highlight_style(
            Style::new()
                .fg(Color::Black)
                .bg(ACCENT)
                .add_modifier(Modifier::BOLD),
        )
        .divider("│");
    frame.render_widget(tabs, area);
}

fn draw_pulse(frame: &mut Frame, area: Rect, app: &App) {
    let Some(s) = &app.snapshot else { return };
    let rules = health::rules(s);
    let critical = rules
        .iter()
        .filter(|r| r.severity == Severity::Critical)
        .count();
    let warnings = rules
        .iter()
        .filter(|r| r.severity == Severity::Warning)
        .count();
    let (color, head) = match (critical, warnings) {
        (0, 0) => (GOOD, "● all clear".to_string()),
        (0, w) => (WARN, format!("● {w} warning(s)")),
        (c, w) => (BAD, format!("● {c} critical, {w} warning(s)")),
    };
    let first = rules.first().filter(|r| r.severity != Severity::Ok);
    let mut spans = vec![Span::styled(head, Style::new().fg(color).bold())];
    if let Some(r) = first {
        spans.push(Span::raw(format!(" · {}", r.text)));
        if !r.key.is_empty() {
            spans.push(Span::styled(
                format!("  [{}]", r.key),
                Style::new().fg(ACCENT),
            ));
        }
    }
    spans.push(Span::styled("  (6 health)", Style::new().dark_gray()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_status(frame: &mut Frame, area: Rect, app: &App) {
    if let Some(r) = &app.running {
        let ratio = if r.total == 0 {
            0.0
        } else {
            r.done as f64 / r.total as f64
        };
        let gauge = Gauge::default()
            .gauge_style(Style::new().fg(ACCENT).bg(Color::DarkGray))
            .ratio(ratio.clamp(0.0, 1.0))
            .label(format!("{}: {} done", r.label, r.done));
        frame.render_widget(gauge, area);
        return;
    }
    let refreshed = app.snapshot.as_ref().map_or("never".to_string(), |s| {
        s.collected_at.format("%H:%M:%S").to_string()
    });
    let mut spans = vec![
        Span::styled(
            format!(" {} ", app.backend),
            Style::new().fg(Color::Black).bg(ACCENT),
        ),
        Span::raw(format!(" {} · refreshed {refreshed}", app.target)),
    ];
    if let Some(s) = &app.snapshot {
        spans.push(Span::raw(format!(
            " · clock {}",
            s.status.now.format("%H:%M:%S")
        )));
    }
    if app.backend == "local" {
        spans.push(Span::raw(if app.live { " · live" } else { " · paused" }));
    }
    if app.read_only {
        spans.push(Span::styled(" · READ-ONLY", Style::new().fg(WARN).bold()));
    }
    if let Some(e) = &app.error {
        spans.push(Span::styled(format!(" · {e}"), Style::new().fg(BAD).bold()));
    } else if let Some(n) = &app.notice {
        spans.push(Span::styled(format!(" · {n}"), Style::new().fg(GOOD)));
    }
    spans.push(Span::styled("  ? help  q quit", Style::new().dark_gray()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn block(title: impl Into<String>) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(Style::new().dark_gray())
        .title(Span::styled(
            format!(" {} ", title.into()),
            Style::new().fg(ACCENT).bold(),
        ))
}

fn header(cells: &[&'static str]) -> Row<'static> {
    Row::new(cells.iter().map(|c| Cell::from(*c)))
        .style(Style::new().add_modifier(Modifier::BOLD).fg(ACCENT))
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line sparkline of the last `width` samples.
pub fn spark(samples: impl ExactSizeIterator<Item = u64> + Clone, width: usize) -> String {
    let skip = samples.len().saturating_sub(width);
    let max = samples.clone().max().unwrap_or(0).max(1);
    samples
        .skip(skip)
        .map(|v| {
            if v == 0 {
                ' '
            } else {
                SPARKS[((v * 7) / max) as usize]
            }
        })
        .collect()
}

/// First `n` visible rows around `selected`, for a list of `len` in `height` rows.
fn window(len: usize, selected: usize, height: usize) -> std::ops::Range<usize> {
    let height = height.max(1);
    let start = if selected >= height {
        selected + 1 - height
    } else {
        0
    };
    start..(start + height).min(len)
}

fn selected_style() -> Style {
    Style::new()
        .bg(Color::DarkGray)
        .add_modifier(Modifier::BOLD)
}

fn draw_overview(frame: &mut Frame, area: Rect, app: &App) {
    let Some(s) = &app.snapshot else { return };
    let top_height = (s.status.queues.len() as u16 + 3).min(area.height / 2 + 2);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(top_height), Constraint::Min(0)]).areas(area);
    let [queues, lambdas] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(top);
    let [chart, funding] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(bottom);

    let spark_width = queues.width.saturating_sub(64).max(4) as usize;
    let fits = queues.height.saturating_sub(3) as usize;
    let rows = s.status.queues.iter().take(fits).map(|q| {
        let depth = q.visible + q.in_flight + q.delayed;
        let failing = topology::is_failure_queue(&q.name) && depth > 0;
        let style = if failing {
            Style::new().fg(BAD).bold()
        } else {
            Style::new()
        };
        let history = app.depth_history.get(&q.name);
        let trend = history.map_or_else(String::new, |h| spark(h.iter().copied(), spark_width));
        Row::new(vec![
            Cell::from(q.name.clone()),
            Cell::from(q.visible.to_string()),
            Cell::from(q.in_flight.to_string()),
            Cell::from(q.delayed.to_string()),
            Cell::from(age(q.oldest_age_seconds)),
            Cell::from(trend),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(23),
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Min(4),
        ],
    )
    .header(header(&[
        "QUEUE",
        "VISIBLE",
        "IN FLIGHT",
        "DELAYED",
        "OLDEST",
        "TREND",
    ]))
    .block(block("Queues"));
    frame.render_widget(table, queues);

    let rows = s.functions.iter().take(fits).map(|f| {
        let style = if f.errors > 0 || f.throttles > 0 {
            Style::new().fg(WARN)
        } else {
            Style::new()
        };
        Row::new(vec![
            Cell::from(f.name.clone()),
            Cell::from(f.invocations.to_string()),
            Cell::from(f.errors.to_string()),
            Cell::from(f.throttles.to_string()),
            Cell::from(
                f.duration_p99_micros
                    .map_or("-".into(), |d| format!("{:.2}ms", d as f64 / 1000.0)),
            ),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(18),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Min(7),
        ],
    )
    .header(header(&["FUNCTION", "INVOKED", "ERR 5m", "THROT", "P99"]))
    .block(block("Lambda health"));
    frame.render_widget(table, lambdas);

    draw_throughput(frame, chart, s);
    draw_funding(frame, funding, s);
}

fn draw_throughput(frame: &mut Frame, area: Rect, s: &super::snapshot::Snapshot) {
    let series = |f: fn(&super::snapshot::ThroughputPoint) -> u64| -> Vec<(f64, f64)> {
        s.throughput
            .iter()
            .enumerate()
            .map(|(i, p)| (i as f64, f(p) as f64))
            .collect()
    };
    let approved = series(|p| p.approved);
    let declined = series(|p| p.declined);
    let cancelled = series(|p| p.cancelled);
    let max = approved
        .iter()
        .chain(&declined)
        .chain(&cancelled)
        .map(|(_, y)| *y)
        .fold(1.0_f64, f64::max);
    let n = s.throughput.len().max(1) as f64;
    let datasets = vec![
        Dataset::default()
            .name("approved")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(GOOD))
            .data(&approved),
        Dataset::default()
            .name("declined")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(WARN))
            .data(&declined),
        Dataset::default()
            .name("cancelled")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::new().fg(BAD))
            .data(&cancelled),
    ];
    let chart = Chart::new(datasets)
        .block(block(
            match (s.throughput.is_empty(), s.status.backend.as_str()) {
                (true, _) => "Payments per minute (no data: CloudWatch could not be read)",
                (false, "local") => "Payments per minute (sim clock)",
                (false, _) => "Payments per minute (CloudWatch)",
            },
        ))
        .x_axis(
            Axis::default()
                .bounds([0.0, n - 1.0])
                .labels([
                    format!("-{}m", s.throughput.len().saturating_sub(1)),
                    "now".to_string(),
                ])
                .style(Style::new().dark_gray()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, max])
                .labels(["0".to_string(), format!("{max:.0}")])
                .style(Style::new().dark_gray()),
        );
    frame.render_widget(chart, area);
}

fn draw_funding(frame: &mut Frame, area: Rect, s: &super::snapshot::Snapshot) {
    let outer = block("Funding progress");
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    let projects = &s.status.projects;
    let rows = (inner.height as usize / 2).max(1);
    for (i, p) in projects.iter().take(rows).enumerate() {
        let ratio = if p.goal > 0 {
            p.raised as f64 / p.goal as f64
        } else {
            0.0
        };
        let achieved = p.goal_achieved_at.is_some();
        let color = if p.mismatch() {
            BAD
        } else if achieved {
            GOOD
        } else {
            ACCENT
        };
        let label = format!(
            "{:<16}{:>5.0}%{}",
            p.id,
            ratio * 100.0,
            if achieved { " ✓" } else { "  " }
        );
        let gauge = LineGauge::default()
            .filled_style(Style::new().fg(color))
            .unfilled_style(Style::new().dark_gray())
            .ratio(ratio.clamp(0.0, 1.0))
            .label(label);
        let y = inner.y + (i as u16) * 2;
        let detail = format!(
            "  {} of {} {} · {} backers",
            group_thousands(p.raised),
            group_thousands(p.goal),
            p.currency,
            p.backers
        );
        if y + 1 < inner.y + inner.height {
            frame.render_widget(
                Paragraph::new(detail).style(Style::new().dark_gray()),
                Rect::new(inner.x, y + 1, inner.width, 1),
            );
        }
        frame.render_widget(gauge, Rect::new(inner.x, y, inner.width, 1));
    }
}

fn draw_dlq(frame: &mut Frame, area: Rect, app: &App) {
    let total = app.dlq_row_count();
    let [list, detail] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(area);
    let mut title = format!("{} — {} message(s)", app.dlq.queue, total);
    if !app.dlq.marked.is_empty() {
        title.push_str(&format!(" · {} marked", app.dlq.marked.len()));
    }
    if !app.dlq.filter.is_empty() {
        title.push_str(&format!(" · filter /{}", app.dlq.filter));
    }
    let height = list.height.saturating_sub(3) as usize;
    let range = window(total, app.dlq.selected, height);
    let start = range.start;
    let rows = app.dlq_window(range.clone());
    // Narrow terminals drop the FROM column rather than squeeze every column unreadable.
    let wide = list.width >= 100;
    let border = if app.dlq.pane == Pane::List {
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
        queue: app.dlq.queue.clone(),
        filter: app.dlq.filter.clone(),
        width: rows_area.width,
    };
    let cache = &app.render_cache;
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
        let marked = app.dlq.marked.contains(&m.message_id);
        let cells = cache.row(start + i, marked, || {
            dlq_row_cells(m, marked, wide, &widths, rows_area.width)
        });
        let at = buf.index_of(rows_area.x, y);
        if let Some(target) = buf.content.get_mut(at..at + cells.len()) {
            target.clone_from_slice(&cells);
        }
        if start + i == app.dlq.selected {
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

    let border = if app.dlq.pane == Pane::Detail {
        ACCENT
    } else {
        Color::DarkGray
    };
    let detail_block = block("Message").border_style(Style::new().fg(border));
    let Some(m) = rows.get(app.dlq.selected.saturating_sub(start)).copied() else {
        let hint = if app.dlq.filter.is_empty() {
            "no messages here: all clear"
        } else {
            "no message matches the filter (esc clears it)"
        };
        frame.render_widget(Paragraph::new(hint).block(detail_block), detail);
        return;
    };
    let inner = detail_block.inner(detail);
    frame.render_widget(detail_block, detail);
    let [facts, json] = Layout::vertical([Constraint::Length(6), Constraint::Min(0)]).areas(inner);
    let lines = cache.detail(&app.dlq.queue, &m.message_id, detail.width, || {
        detail_lines(m, detail.width)
    });
    frame.render_widget(Paragraph::new(borrowed(&lines.facts)), facts);
    frame.render_widget(
        Paragraph::new(borrowed(&lines.json)).scroll((app.dlq.detail_scroll, 0)),
        json,
    );
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
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        while word.chars().count() > width {
            if !line.is_empty() {
                out.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            out.push(head);
        }
        let needed = line.chars().count() + usize::from(!line.is_empty()) + word.chars().count();
        if needed > width && !line.is_empty() {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || out.is_empty() {
        out.push(line);
    }
    out
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

fn draw_goal(frame: &mut Frame, area: Rect, app: &App) {
    let Some(s) = &app.snapshot else { return };
    let [list, preview] =
        Layout::horizontal([Constraint::Percentage(42), Constraint::Percentage(58)]).areas(area);
    let rows = s.status.projects.iter().enumerate().map(|(i, p)| {
        let late = s.late_payments.get(&p.id).copied().unwrap_or(0);
        let state = match p.goal_achieved_at {
            Some(at) => format!("reached {}", at.format("%H:%M:%S")),
            None => "open".into(),
        };
        let style = if i == app.goal_selected {
            selected_style()
        } else {
            Style::new()
        };
        Row::new(vec![
            Cell::from(p.id.clone()),
            Cell::from(state),
            Cell::from(late.to_string()),
        ])
        .style(if late > 0 { style.fg(WARN) } else { style })
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(18),
            Constraint::Length(17),
            Constraint::Min(4),
        ],
    )
    .header(header(&["PROJECT", "GOAL", "LATE"]))
    .block(block("Projects (enter: preview · g: run the check)"));
    frame.render_widget(table, list);

    let selected = s.status.projects.get(app.goal_selected);
    let plan = app
        .goal_preview
        .as_ref()
        .filter(|p| Some(&p.project_id) == selected.map(|s| &s.id));
    let Some(plan) = plan else {
        let text = match selected {
            Some(p) if p.goal_achieved_at.is_none() => format!(
                "{} has not reached its goal: a check would cancel nothing.",
                p.id
            ),
            Some(p) => format!(
                "Enter to see which of {}'s payments a check would cancel.",
                p.id
            ),
            None => "no projects".into(),
        };
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: true })
                .block(block("Preview")),
            preview,
        );
        return;
    };
    let title = format!(
        "A check at {} cancels {} payment(s), refunding {}",
        plan.achieved_at.format("%H:%M:%S"),
        plan.payments.len(),
        group_thousands(plan.total)
    );
    let height = preview.height.saturating_sub(3) as usize;
    let rows = plan.payments.iter().take(height).map(|p| {
        Row::new(vec![
            Cell::from(p.payment_id.clone()),
            Cell::from(format!(
                "{} {}",
                group_thousands(p.amount.amount),
                p.amount.currency
            )),
            Cell::from(p.paid_at.format("%H:%M:%S%.3f").to_string()),
            Cell::from(p.backer_email.clone()),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(12),
            Constraint::Length(14),
            Constraint::Length(13),
            Constraint::Min(10),
        ],
    )
    .header(header(&["PAYMENT", "AMOUNT", "PAID AT", "BACKER"]))
    .block(block(title));
    frame.render_widget(table, preview);
}

fn draw_projects(frame: &mut Frame, area: Rect, app: &App) {
    let projects = app.project_rows();
    let height = area.height.saturating_sub(3) as usize;
    let range = window(projects.len(), app.projects_selected, height);
    let start = range.start;
    let rows = projects[range].iter().enumerate().map(|(i, p)| {
        let ratio = if p.goal > 0 {
            p.raised as f64 / p.goal as f64
        } else {
            0.0
        };
        let (state, color) = if p.mismatch() {
            ("MISMATCH raised ≠ ledger net".to_string(), Some(BAD))
        } else if p.goal_achieved_at.is_some() {
            ("goal reached".to_string(), Some(GOOD))
        } else {
            (format!("deadline {}", p.deadline.format("%Y-%m-%d")), None)
        };
        let mut style = if start + i == app.projects_selected {
            selected_style()
        } else {
            Style::new()
        };
        if let Some(c) = color {
            style = style.fg(c);
        }
        Row::new(vec![
            Cell::from(p.id.clone()),
            Cell::from(p.title.clone()),
            Cell::from(group_thousands(p.goal)),
            Cell::from(group_thousands(p.raised)),
            Cell::from(group_thousands(p.ledger_net)),
            Cell::from(p.backers.to_string()),
            Cell::from(format!("{} {:>4.0}%", bar(ratio, 10), ratio * 100.0)),
            Cell::from(state),
        ])
        .style(style)
    });
    let mut title = "Projects (enter: goal check)".to_string();
    if !app.project_filter.is_empty() {
        title.push_str(&format!(" · filter /{}", app.project_filter));
    }
    let table = Table::new(
        rows,
        [
            Constraint::Length(17),
            Constraint::Length(26),
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Length(12),
            Constraint::Length(7),
            Constraint::Length(17),
            Constraint::Min(10),
        ],
    )
    .header(header(&[
        "ID",
        "TITLE",
        "GOAL",
        "RAISED",
        "LEDGER NET",
        "BACKERS",
        "PROGRESS",
        "STATE",
    ]))
    .block(block(title));
    frame.render_widget(table, area);
}

fn draw_topology(frame: &mut Frame, area: Rect, app: &App) {
    let Some(s) = &app.snapshot else { return };
    let rows = health::topology_rows(s);
    let height = area.height.saturating_sub(2) as usize;
    let range = window(rows.len(), app.topology_selected, height);
    let start = range.start;
    let lines: Vec<Line> = rows[range]
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut style = if r.alert {
                Style::new().fg(BAD)
            } else {
                Style::new()
            };
            if start + i == app.topology_selected {
                style = style.patch(selected_style());
            }
            Line::styled(
                format!("{}{}", "  ".repeat(r.indent as usize), r.text),
                style,
            )
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(block("Topology (enter: open the node)")),
        area,
    );
}

fn draw_health(frame: &mut Frame, area: Rect, app: &App) {
    let Some(s) = &app.snapshot else { return };
    let rules = health::rules(s);
    let rows = rules.iter().enumerate().map(|(i, r)| {
        let (icon, color) = match r.severity {
            Severity::Critical => ("✖ critical", BAD),
            Severity::Warning => ("▲ warning", WARN),
            Severity::Ok => ("● ok", GOOD),
        };
        let style = if i == app.health_selected {
            selected_style()
        } else {
            Style::new()
        };
        Row::new(vec![
            Cell::from(Span::styled(icon, Style::new().fg(color))),
            Cell::from(r.text.clone()),
            Cell::from(r.key),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Min(20),
            Constraint::Length(4),
        ],
    )
    .header(header(&["", "RULE", "KEY"]))
    .block(block("Health (enter: open the place to fix it)"));
    frame.render_widget(table, area);
}

fn draw_audit(frame: &mut Frame, area: Rect, app: &App) {
    let Some(s) = &app.snapshot else { return };
    let height = area.height.saturating_sub(3) as usize;
    let range = window(s.audit.len(), app.audit_selected, height);
    let start = range.start;
    let rows = s.audit[range].iter().enumerate().map(|(i, a)| {
        let style = if start + i == app.audit_selected {
            selected_style()
        } else {
            Style::new()
        };
        Row::new(vec![
            Cell::from(a.time.format("%Y-%m-%d %H:%M:%S").to_string()),
            Cell::from(a.identity.clone()),
            Cell::from(a.action.clone()),
            Cell::from(a.queue.clone()),
            Cell::from(a.to.clone().unwrap_or_default()),
            Cell::from(format!("{}/{}/{}", a.moved, a.failed, a.skipped)),
            Cell::from(a.backup.clone().unwrap_or_else(|| "-".into())),
        ])
        .style(style)
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(19),
            Constraint::Length(14),
            Constraint::Length(10),
            Constraint::Length(22),
            Constraint::Length(16),
            Constraint::Length(9),
            Constraint::Min(10),
        ],
    )
    .header(header(&[
        "TIME",
        "WHO",
        "ACTION",
        "QUEUE",
        "TO",
        "OK/FAIL/SKIP",
        "BACKUP",
    ]))
    .block(block(format!(
        "Audit log — {} action(s), newest first",
        s.audit.len()
    )));
    frame.render_widget(table, area);
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

fn draw_modal(frame: &mut Frame, area: Rect, app: &App, modal: &Modal) {
    match modal {
        Modal::Help => {
            let entries = app.keys.help(app.read_only);
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
            let title = if app.read_only {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_and_window_math() {
        assert_eq!(spark([0u64, 1, 7].into_iter(), 3), " ▂█");
        assert_eq!(spark([5u64, 5].into_iter(), 1), "█");
        assert_eq!(window(100, 0, 10), 0..10);
        assert_eq!(window(100, 15, 10), 6..16);
        assert_eq!(window(3, 2, 10), 0..3);
        assert_eq!(window(0, 0, 0), 0..0);
    }

    #[test]
    fn words_wrap_at_spaces_and_long_words_are_cut() {
        assert_eq!(
            wrap_words("payment pay-1 was declined: card declined", 16),
            ["payment pay-1", "was declined:", "card declined"]
        );
        assert_eq!(wrap_words("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap_words("", 5), [""]);
    }

    #[test]
    fn json_highlighting_keeps_the_text() {
        let line = highlight_json_line(r#"  "amount": 50000,"#);
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, r#"  "amount": 50000,"#);
    }
}
