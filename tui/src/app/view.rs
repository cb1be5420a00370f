//! Drawing: a pure function of [`App`]. This is the frame around the views (tabs, the health
//! pulse, the status line) and what every view draws with; each view draws its own body
//! ([`super::views`]), and the popups go on top ([`super::popups`]).

use super::health::{self, Severity};
use super::snapshot::Part;
use super::views::View;
use super::{App, popups};
use crate::render::thousands;
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Gauge, Paragraph, Row, Tabs, Wrap};

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 20;

pub const ACCENT: Color = Color::Cyan;
pub const BAD: Color = Color::Red;
pub const WARN: Color = Color::Yellow;
pub const GOOD: Color = Color::Green;

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
            Paragraph::new(format!("connecting to {}…", app.target)).alignment(Alignment::Center),
            body,
        ),
        Some(s) => app.views.get(app.view).draw(frame, body, s),
    }
    draw_pulse(frame, pulse, app);
    draw_status(frame, status, app);
    if let Some(modal) = &app.modal {
        popups::draw(frame, area, modal, &app.keys, app.read_only);
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

/// The first queue whose messages are loading: its name, how many are in, and its count.
fn loading(s: &super::snapshot::Snapshot) -> Option<(&str, usize, u64)> {
    s.loads.iter().find_map(|(queue, load)| {
        (load.state == super::snapshot::LoadState::Loading).then(|| {
            let loaded = s.list(queue).len();
            let count = s.load(queue).queue_count.unwrap_or(0).max(loaded as u64);
            (queue.as_str(), loaded, count)
        })
    })
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
    if let Some((queue, loaded, count)) = app.snapshot.as_ref().and_then(loading) {
        let ratio = if count == 0 {
            0.0
        } else {
            loaded as f64 / count as f64
        };
        let gauge = Gauge::default()
            .gauge_style(Style::new().fg(ACCENT).bg(Color::DarkGray))
            .ratio(ratio.clamp(0.0, 1.0))
            .label(format!(
                "loading {queue}: {} of ~{} messages",
                thousands(loaded as u64),
                thousands(count)
            ));
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
    if let Some(n) = app.snapshot.as_ref().and_then(|s| s.requests_per_minute) {
        spans.push(Span::raw(format!(" · {n} req/min")));
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

pub fn block(title: impl Into<String>) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(Style::new().dark_gray())
        .title(Span::styled(
            format!(" {} ", title.into()),
            Style::new().fg(ACCENT).bold(),
        ))
}

/// A panel's title with the state of the part it draws, while that part is not in.
pub fn part_title(title: &str, part: &Part) -> String {
    match part {
        Part::Ready => title.to_string(),
        Part::Loading => format!("{title} · loading…"),
        Part::Failed(e) => format!("{title} · unavailable: {e}"),
    }
}

pub fn header(cells: &[&'static str]) -> Row<'static> {
    Row::new(cells.iter().map(|c| Cell::from(*c)))
        .style(Style::new().add_modifier(Modifier::BOLD).fg(ACCENT))
}

/// First `n` visible rows around `selected`, for a list of `len` in `height` rows.
pub fn window(len: usize, selected: usize, height: usize) -> std::ops::Range<usize> {
    let height = height.max(1);
    let start = if selected >= height {
        selected + 1 - height
    } else {
        0
    };
    start..(start + height).min(len)
}

pub fn selected_style() -> Style {
    Style::new()
        .bg(Color::DarkGray)
        .add_modifier(Modifier::BOLD)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_math() {
        assert_eq!(window(100, 0, 10), 0..10);
        assert_eq!(window(100, 15, 10), 6..16);
        assert_eq!(window(3, 2, 10), 0..3);
        assert_eq!(window(0, 0, 0), 0..0);
    }
}
