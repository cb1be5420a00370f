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
use std::borrow::Cow;

pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 20;

/// From this many columns the views put their panes side by side. Narrower (down to
/// [`MIN_WIDTH`]), they stack them, drop what another view shows in full, and use shorter
/// forms, so that nothing that matters is cut at 80×24.
pub const WIDE: u16 = 120;

/// Whether `area` is wide enough for the side-by-side layouts (see [`WIDE`]).
pub fn is_wide(area: Rect) -> bool {
    area.width >= WIDE
}

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
    // " 1 Overview │ 2 DLQ │ 3 Goal check │ …" is 82 cells: narrower terminals get the short
    // titles ("3 Goal"), which fit in 80.
    let full: usize = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| width_of(&format!(" {} {} ", i + 1, v.title())) + 1)
        .sum::<usize>()
        - 1;
    let short = full > usize::from(area.width);
    let titles: Vec<Line> = View::ALL
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let title = if short { v.short_title() } else { v.title() };
            Line::from(format!("{} {title}", i + 1))
        })
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

/// The worst attention rule in one line. When it does not fit, the pointer to the health view
/// goes first (its tab is on screen), then the rule's text is cut; the count of rules and the
/// key that opens the place to fix it stay.
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
    let key = first
        .filter(|r| !r.key.is_empty())
        .map(|r| format!("  [{}]", r.key))
        .unwrap_or_default();
    let hint = "  (6 health)";
    let text = first.map(|r| format!(" · {}", r.text)).unwrap_or_default();
    let room = usize::from(area.width);
    let used = width_of(&head) + width_of(&text) + width_of(&key);
    let (text, hint) = if used + width_of(hint) <= room {
        (Cow::Owned(text), hint)
    } else {
        let left = room.saturating_sub(width_of(&head) + width_of(&key));
        (cut(&text, left), "")
    };
    let spans = vec![
        Span::styled(head, Style::new().fg(color).bold()),
        Span::raw(text),
        Span::styled(key, Style::new().fg(ACCENT)),
        Span::styled(hint, Style::new().dark_gray()),
    ];
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
    frame.render_widget(
        Paragraph::new(Line::from(status_spans(app, area.width))),
        area,
    );
}

/// The status line in at most `width` cells. What can be left out goes first: the simulated
/// clock, the key hint (the help says it), the refresh time, the target; then an error or
/// notice is cut, never dropped.
fn status_spans(app: &App, width: u16) -> Vec<Span<'static>> {
    let refreshed = app.snapshot.as_ref().map_or("never".to_string(), |s| {
        s.collected_at.format("%H:%M:%S").to_string()
    });
    let clock = app
        .snapshot
        .as_ref()
        .map(|s| format!(" · clock {}", s.status.now.format("%H:%M:%S")));
    let mode = (app.backend == "local").then_some(if app.live { " · live" } else { " · paused" });
    let message = match (&app.error, &app.notice) {
        (Some(e), _) => Some((format!(" · {e}"), Style::new().fg(BAD).bold())),
        (None, Some(n)) => Some((format!(" · {n}"), Style::new().fg(GOOD))),
        (None, None) => None,
    };
    let room = usize::from(width);
    // Most to least detailed; the first that fits is drawn, the last one cut to fit.
    for level in 0..=4 {
        let mut spans = vec![Span::styled(
            format!(" {} ", app.backend),
            Style::new().fg(Color::Black).bg(ACCENT),
        )];
        match level {
            0..=2 => spans.push(Span::raw(format!(
                " {} · refreshed {refreshed}",
                app.target
            ))),
            3 => spans.push(Span::raw(format!(" {}", app.target))),
            _ => {}
        }
        if level == 0
            && let Some(c) = &clock
        {
            spans.push(Span::raw(c.clone()));
        }
        if let Some(m) = mode {
            spans.push(Span::raw(m));
        }
        // What the console costs on AWS, next to what it shows.
        if let Some(n) = app.snapshot.as_ref().and_then(|s| s.requests_per_minute) {
            spans.push(Span::raw(format!(" · {n} req/min")));
        }
        if app.read_only {
            spans.push(Span::styled(" · READ-ONLY", Style::new().fg(WARN).bold()));
        }
        let hint = Span::styled("  ? help  q quit", Style::new().dark_gray());
        let used: usize = spans.iter().map(Span::width).sum::<usize>()
            + if level <= 1 { hint.width() } else { 0 };
        let text = message.as_ref().map_or(0, |(t, _)| width_of(t));
        if used + text <= room || level == 4 {
            if let Some((t, style)) = &message {
                let t = cut(t, room.saturating_sub(used)).into_owned();
                spans.push(Span::styled(t, *style));
            }
            if level <= 1 {
                spans.push(hint);
            }
            return spans;
        }
    }
    Vec::new()
}

/// Cells `text` takes on a terminal.
pub fn width_of(text: &str) -> usize {
    Span::raw(text).width()
}

/// `text` in at most `width` cells: whole when it fits, else its start and `…`.
pub fn cut(text: &str, width: usize) -> Cow<'_, str> {
    if width_of(text) <= width {
        return Cow::Borrowed(text);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let mut used = 1; // the ellipsis
    let mut end = 0;
    for (i, c) in text.char_indices() {
        let w = width_of(&text[i..i + c.len_utf8()]);
        if used + w > width {
            break;
        }
        used += w;
        end = i + c.len_utf8();
    }
    Cow::Owned(format!("{}…", &text[..end]))
}

/// `text` in at most `width` cells: whole when it fits, else `…` and its end. For ids and
/// paths, which their ends tell apart.
pub fn cut_front(text: &str, width: usize) -> Cow<'_, str> {
    if width_of(text) <= width {
        return Cow::Borrowed(text);
    }
    if width == 0 {
        return Cow::Borrowed("");
    }
    let mut used = 1;
    let mut start = text.len();
    for (i, c) in text.char_indices().rev() {
        let w = width_of(&text[i..i + c.len_utf8()]);
        if used + w > width {
            break;
        }
        used += w;
        start = i;
    }
    Cow::Owned(format!("…{}", &text[start..]))
}

/// One part of a title: what it says when there is room, and a shorter form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitlePart {
    pub long: String,
    pub short: String,
}

impl TitlePart {
    pub fn new(long: impl Into<String>, short: impl Into<String>) -> Self {
        TitlePart {
            long: long.into(),
            short: short.into(),
        }
    }

    /// A part without a shorter form.
    pub fn fixed(text: impl Into<String>) -> Self {
        let text = text.into();
        TitlePart::new(text.clone(), text)
    }
}

/// `head` and `parts` (joined by ` · `) in at most `width` cells: the parts take their short
/// forms, the last first, until the title fits; what still does not fit is cut with `…`.
pub fn fit_title(head: &str, parts: &[TitlePart], width: usize) -> String {
    let join = |shortened: usize| {
        let mut title = head.to_string();
        for (i, p) in parts.iter().enumerate() {
            title.push_str(if i == 0 { " " } else { " · " });
            title.push_str(if i >= parts.len() - shortened {
                &p.short
            } else {
                &p.long
            });
        }
        title
    };
    for shortened in 0..=parts.len() {
        let title = join(shortened);
        if width_of(&title) <= width {
            return title;
        }
    }
    cut(&join(parts.len()), width).into_owned()
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

    #[test]
    fn cutting_keeps_the_start_or_the_end() {
        assert_eq!(cut("etc_parked", 20), "etc_parked");
        assert_eq!(cut("etc_parked", 6), "etc_p…");
        assert_eq!(cut("a → b", 4), "a →…");
        assert_eq!(cut("abc", 0), "");
        assert_eq!(cut_front("m-00001011", 10), "m-00001011");
        assert_eq!(
            cut_front("8c3f1e2a-4b5d-4e6f-9a0b-1c2d3e4f5a6b", 10),
            "…d3e4f5a6b"
        );
        assert_eq!(cut_front("abc", 0), "");
    }

    #[test]
    fn titles_take_short_forms_last_part_first() {
        let parts = [
            TitlePart::new("3,420 of ~10,000 loaded", "3,420/~10,000"),
            TitlePart::fixed("12 marked"),
            TitlePart::new("filter /declined", "/declined"),
        ];
        let head = "goal_achievement_queue —";
        assert_eq!(
            fit_title(head, &parts, 100),
            "goal_achievement_queue — 3,420 of ~10,000 loaded · 12 marked · filter /declined"
        );
        assert_eq!(
            fit_title(head, &parts, 76),
            "goal_achievement_queue — 3,420 of ~10,000 loaded · 12 marked · /declined"
        );
        assert_eq!(
            fit_title(head, &parts, 60),
            "goal_achievement_queue — 3,420/~10,000 · 12 marked · /decli…"
        );
        assert_eq!(fit_title(head, &[], 10), "goal_achi…");
    }
}
