//! Stakeholder charts with plotters, as PNG or SVG: payment throughput over time, funding
//! progress per project, and queue depth over time. Titles, axes with units, legends, and series
//! told apart by marker shape and lightness as well as hue, so they survive grey-scale printing.

use plotters::coord::Shift;
use plotters::coord::types::{RangedCoordi64, RangedCoordu64};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

/// Payments per minute at one minute (minutes since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThroughputPoint {
    pub minute: i64,
    pub approved: u64,
    pub declined: u64,
    pub cancelled: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ProjectBar {
    pub id: String,
    pub goal: i64,
    pub raised: i64,
    pub currency: String,
    /// The figures of the project's row on the stakeholder dashboard, (label, value), computed
    /// by the dashboard's own expressions ([`crate::stakeholders::progress_figures`]); empty
    /// when the metrics could not be read.
    pub figures: Vec<(String, Option<f64>)>,
}

impl ProjectBar {
    /// The figure shown under `label`, when it has a value.
    pub fn figure(&self, label: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|(l, _)| l == label)
            .and_then(|(_, v)| *v)
    }

    /// Where the bar gets to by the deadline at the recent pace, in % of goal: the projection
    /// drawn beyond the bar. `None` without a pace or once the goal is reached.
    pub fn projected_percent_at_deadline(&self) -> Option<f64> {
        use crate::stakeholders::{DAYS_LEFT, DAYS_TO_GOAL};
        let pct = percent(self);
        let to_goal = self.figure(DAYS_TO_GOAL)?;
        let left = self.figure(DAYS_LEFT)?.max(0.0);
        (to_goal > 0.0 && pct < 100.0).then(|| pct + (100.0 - pct) * left / to_goal)
    }
}

fn percent(p: &ProjectBar) -> f64 {
    if p.goal > 0 {
        p.raised as f64 * 100.0 / p.goal as f64
    } else {
        0.0
    }
}

/// What the charts are drawn from: the local world's history or CloudWatch's.
#[derive(Debug, Clone, Default)]
pub struct History {
    pub throughput: Vec<ThroughputPoint>,
    /// (minute, messages per queue)
    pub depths: Vec<(i64, BTreeMap<String, u64>)>,
    pub projects: Vec<ProjectBar>,
    /// Where the data came from, printed under each title.
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot create {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("drawing {chart} failed: {message}")]
    Draw {
        chart: &'static str,
        message: String,
    },
    #[error("no data to draw: {0}")]
    Empty(&'static str),
}

const SIZE: (u32, u32) = (1200, 675);
const FONT: &str = "sans-serif";

/// Dark, medium and light: distinguishable in colour and in grey.
const DARK: RGBColor = RGBColor(0x1f, 0x3a, 0x93);
const MEDIUM: RGBColor = RGBColor(0xd9, 0x5f, 0x02);
const LIGHT: RGBColor = RGBColor(0x7f, 0xbf, 0x7b);
const ALERT: RGBColor = RGBColor(0xc0, 0x1b, 0x1b);

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font travels inside the binary, so charts render on a machine without fonts.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

fn minute_label(minute: i64) -> String {
    chrono::DateTime::from_timestamp(minute * 60, 0)
        .map_or_else(String::new, |t| t.format("%H:%M").to_string())
}

fn draw_err<E: std::fmt::Debug>(chart: &'static str) -> impl Fn(E) -> ReportError {
    move |e| ReportError::Draw {
        chart,
        message: format!("{e:?}"),
    }
}

/// The charts, by file name.
pub const CHARTS: [&str; 3] = ["throughput", "funding", "queue-depth"];

/// Writes the three charts into `dir`; returns their paths.
pub fn write_report(
    dir: &Path,
    history: &History,
    format: Format,
) -> Result<Vec<PathBuf>, ReportError> {
    register_fonts();
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut written = Vec::new();
    for name in CHARTS {
        let path = dir.join(format!("{name}.{}", format.extension()));
        match format {
            Format::Png => {
                let root = BitMapBackend::new(&path, SIZE).into_drawing_area();
                draw_chart(name, &root, history)?;
                root.present().map_err(draw_err("png file"))?;
            }
            Format::Svg => {
                let root = SVGBackend::new(&path, SIZE).into_drawing_area();
                draw_chart(name, &root, history)?;
                root.present().map_err(draw_err("svg file"))?;
            }
        }
        written.push(path);
    }
    Ok(written)
}

fn draw_chart<DB: DrawingBackend>(
    name: &str,
    root: &DrawingArea<DB, Shift>,
    h: &History,
) -> Result<(), ReportError> {
    match name {
        "throughput" => throughput(root, h),
        "funding" => funding(root, h),
        _ => depth(root, h),
    }
}

fn title_area<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    source: &str,
) -> Result<DrawingArea<DB, Shift>, ReportError> {
    root.fill(&WHITE).map_err(draw_err("background"))?;
    let (top, rest) = root.split_vertically(70);
    top.draw(&Text::new(
        title.to_string(),
        (30, 12),
        (FONT, 30).into_font().style(FontStyle::Bold).color(&BLACK),
    ))
    .map_err(draw_err("title"))?;
    top.draw(&Text::new(
        source.to_string(),
        (30, 48),
        (FONT, 16).into_font().color(&RGBColor(90, 90, 90)),
    ))
    .map_err(draw_err("subtitle"))?;
    Ok(rest)
}

type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordi64, RangedCoordu64>>;

/// Minutes on x (labelled as UTC times), counts from zero on y with a little headroom.
fn time_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    minutes: std::ops::Range<i64>,
    max: u64,
    y_desc: &str,
) -> Result<TimeChart<'a, DB>, ReportError> {
    let mut chart = ChartBuilder::on(area)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(minutes, 0u64..(max + max / 10 + 1))
        .map_err(draw_err("axes"))?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc(y_desc)
        .x_label_formatter(&|m| minute_label(*m))
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 15))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()
        .map_err(draw_err("mesh"))?;
    Ok(chart)
}

/// A line of the throughput chart: label, colour, and the value it reads.
type Series = (&'static str, RGBColor, fn(&ThroughputPoint) -> u64);

fn throughput<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &History,
) -> Result<(), ReportError> {
    if h.throughput.is_empty() {
        return Err(ReportError::Empty(
            "no payment throughput recorded in the period",
        ));
    }
    let area = title_area(root, "Payments per minute", &h.source)?;
    let first = h.throughput.first().map_or(0, |p| p.minute);
    let last = h.throughput.last().map_or(1, |p| p.minute).max(first + 1);
    let max = h
        .throughput
        .iter()
        .map(|p| p.approved.max(p.declined).max(p.cancelled))
        .max()
        .unwrap_or(1)
        .max(1);
    let mut chart = time_chart(&area, first..last, max, "payments per minute")?;
    let series: [Series; 3] = [
        ("approved", DARK, |p| p.approved),
        ("declined", MEDIUM, |p| p.declined),
        ("cancelled (refunded)", LIGHT, |p| p.cancelled),
    ];
    for (i, (label, color, value)) in series.into_iter().enumerate() {
        let points: Vec<(i64, u64)> = h.throughput.iter().map(|p| (p.minute, value(p))).collect();
        let style = ShapeStyle::from(&color).stroke_width(3);
        chart
            .draw_series(LineSeries::new(points.clone(), style))
            .map_err(draw_err("throughput line"))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 24, y)],
                    ShapeStyle::from(&color).stroke_width(3),
                )
            });
        // A distinct marker per series: circle, triangle, cross.
        match i {
            0 => chart
                .draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))
                .map(|_| ()),
            1 => chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| TriangleMarker::new(*p, 6, color.filled())),
                )
                .map(|_| ()),
            _ => chart
                .draw_series(
                    points
                        .iter()
                        .map(|p| Cross::new(*p, 5, ShapeStyle::from(&color).stroke_width(2))),
                )
                .map(|_| ()),
        }
        .map_err(draw_err("throughput markers"))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 17))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err("throughput legend"))?;
    Ok(())
}

fn funding<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &History,
) -> Result<(), ReportError> {
    if h.projects.is_empty() {
        return Err(ReportError::Empty("no projects"));
    }
    let area = title_area(root, "Funding progress per project (% of goal)", &h.source)?;
    // Bars on the left, each project's figures in a column on the right, row by row.
    let (plot, column) = area.split_horizontally(area.dim_in_pixel().0 * 56 / 100);
    let n = h.projects.len();
    let pct = percent;
    // The longest bar or projection, capped so one runaway pace does not flatten the rest.
    let cap = 300.0;
    let max = h
        .projects
        .iter()
        .map(|p| {
            p.projected_percent_at_deadline()
                .unwrap_or(0.0)
                .max(pct(p))
                .min(cap)
        })
        .fold(100.0_f64, f64::max)
        * 1.08;
    let names: Vec<String> = h.projects.iter().map(|p| p.id.clone()).collect();
    let mut chart = ChartBuilder::on(&plot)
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(150)
        .build_cartesian_2d(0.0..max, 0.0..n as f64)
        .map_err(draw_err("funding axes"))?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("raised, % of goal")
        .y_labels(n * 2 + 1)
        .y_label_formatter(&|y| {
            let i = (*y - 0.5).round();
            if (y - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_label_formatter(&|x| format!("{x:.0}%"))
        .axis_desc_style((FONT, 18))
        .label_style((FONT, 15))
        .draw()
        .map_err(draw_err("funding mesh"))?;
    let column_top = column.get_base_pixel().1;
    for (i, p) in h.projects.iter().enumerate() {
        let y = i as f64;
        let reached = pct(p) >= 100.0;
        let color = if reached { DARK } else { LIGHT };
        let projected = p.projected_percent_at_deadline().map(|x| x.min(cap));
        if let Some(to) = projected {
            // The projection: an outline from the bar's end to where the pace takes it.
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(pct(p).min(cap), y + 0.3), (to, y + 0.7)],
                    ShapeStyle::from(&MEDIUM).stroke_width(2),
                )))
                .map_err(draw_err("funding projection"))?;
        }
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(0.0, y + 0.2), (pct(p).min(cap), y + 0.8)],
                color.filled(),
            )))
            .map_err(draw_err("funding bar"))?;
        let headline = format!(
            "{}: {:.0}%  {} / {} {}",
            p.id,
            pct(p),
            crowdfund_core::money::group_thousands(p.raised),
            crowdfund_core::money::group_thousands(p.goal),
            p.currency
        );
        let (_, row_middle) = chart.backend_coord(&(0.0, y + 0.5));
        let row_middle = row_middle - column_top;
        column
            .draw(&Text::new(
                headline,
                (10, row_middle - 22),
                (FONT, 17).into_font().style(FontStyle::Bold),
            ))
            .map_err(draw_err("funding label"))?;
        column
            .draw(&Text::new(
                progress_detail(p),
                (10, row_middle + 2),
                (FONT, 15).into_font(),
            ))
            .map_err(draw_err("funding label"))?;
    }
    chart
        .draw_series(LineSeries::new(
            vec![(100.0, 0.0), (100.0, n as f64)],
            ShapeStyle::from(&ALERT).stroke_width(2),
        ))
        .map_err(draw_err("goal line"))?
        .label("goal (100%)")
        .legend(|(x, y)| {
            PathElement::new(
                vec![(x, y), (x + 24, y)],
                ShapeStyle::from(&ALERT).stroke_width(2),
            )
        });
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(0.0, -1.0), (0.0, -1.0)],
            ShapeStyle::from(&MEDIUM).stroke_width(2),
        )))
        .map_err(draw_err("projection legend"))?
        .label("by the deadline at the 7-day pace")
        .legend(|(x, y)| {
            Rectangle::new(
                [(x, y - 5), (x + 24, y + 5)],
                ShapeStyle::from(&MEDIUM).stroke_width(2),
            )
        });
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err("funding legend"))?;
    Ok(())
}

/// "12 backers · 10 days left · goal in 5 days at this pace": the dashboard's figures beside
/// a bar.
pub fn progress_detail(p: &ProjectBar) -> String {
    use crate::stakeholders::{BACKERS, DAYS_LEFT, DAYS_TO_GOAL};
    let mut parts = Vec::new();
    if let Some(b) = p.figure(BACKERS) {
        parts.push(format!("{b:.0} backers"));
    }
    if let Some(d) = p.figure(DAYS_LEFT) {
        parts.push(if d > 0.0 {
            format!("{d:.1} days left")
        } else {
            "ended".to_string()
        });
    }
    if !p.figures.is_empty() {
        parts.push(match p.figure(DAYS_TO_GOAL) {
            Some(0.0) => "goal reached".to_string(),
            Some(d) => format!("goal in {d:.1} days at the 7-day pace"),
            None => "no pace to the goal".to_string(),
        });
    }
    parts.join(" · ")
}

fn depth<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    h: &History,
) -> Result<(), ReportError> {
    if h.depths.is_empty() {
        return Err(ReportError::Empty("no queue depth samples in the period"));
    }
    let area = title_area(root, "Messages waiting per queue", &h.source)?;
    let first = h.depths.first().map_or(0, |d| d.0);
    let last = h.depths.last().map_or(1, |d| d.0).max(first + 1);
    let max = h
        .depths
        .iter()
        .flat_map(|(_, q)| q.values().copied())
        .max()
        .unwrap_or(1)
        .max(1);
    let mut chart = time_chart(&area, first..last, max, "messages")?;
    let queues: Vec<&str> = crowdfund_core::topology::QUEUES
        .iter()
        .map(|q| q.name)
        .collect();
    let palette = [
        DARK,
        MEDIUM,
        LIGHT,
        RGBColor(0x66, 0x66, 0x66),
        ALERT,
        BLACK,
    ];
    for (i, q) in queues.iter().enumerate() {
        let points: Vec<(i64, u64)> = h
            .depths
            .iter()
            .map(|(m, d)| (*m, d.get(*q).copied().unwrap_or(0)))
            .collect();
        let failure = crowdfund_core::topology::is_failure_queue(q);
        let color = palette[i % palette.len()];
        let width = if failure { 4 } else { 2 };
        chart
            .draw_series(LineSeries::new(
                points,
                ShapeStyle::from(&color).stroke_width(width),
            ))
            .map_err(draw_err("depth line"))?
            .label(q.to_string())
            .legend(move |(x, y)| {
                PathElement::new(
                    vec![(x, y), (x + 24, y)],
                    ShapeStyle::from(&color).stroke_width(width),
                )
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 16))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(draw_err("depth legend"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> History {
        History {
            throughput: (0..30)
                .map(|m| ThroughputPoint {
                    minute: 29_395_000 + m,
                    approved: 50 + m as u64,
                    declined: 5,
                    cancelled: m as u64 % 3,
                })
                .collect(),
            depths: (0..30)
                .map(|m| {
                    (
                        29_395_000 + m,
                        BTreeMap::from([
                            ("etc_parked".to_string(), m as u64),
                            ("payment_attempt_queue".to_string(), 10),
                        ]),
                    )
                })
                .collect(),
            projects: vec![
                ProjectBar {
                    id: "prj-a".into(),
                    goal: 100,
                    raised: 150,
                    currency: "KRW".into(),
                    figures: Vec::new(),
                },
                ProjectBar {
                    id: "prj-b".into(),
                    goal: 100,
                    raised: 40,
                    currency: "KRW".into(),
                    figures: vec![
                        ("backers".into(), Some(4.0)),
                        ("days left".into(), Some(10.0)),
                        ("days to goal at this pace".into(), Some(20.0)),
                    ],
                },
            ],
            source: "test".into(),
        }
    }

    /// The outline beyond a bar ends where the pace takes the project by its deadline: 40% with
    /// 10 of the 20 days it needs leaves it at 70%.
    #[test]
    fn the_projection_reaches_as_far_as_the_pace_by_the_deadline() {
        let h = history();
        assert_eq!(h.projects[0].projected_percent_at_deadline(), None);
        assert_eq!(h.projects[1].projected_percent_at_deadline(), Some(70.0));
        assert_eq!(
            progress_detail(&h.projects[1]),
            "4 backers · 10.0 days left · goal in 20.0 days at the 7-day pace"
        );
    }

    /// Each chart is written, in both formats, and is a real image of the promised size.
    #[test]
    fn charts_are_written_as_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let png = write_report(dir.path(), &history(), Format::Png).unwrap();
        assert_eq!(png.len(), 3);
        for p in &png {
            let bytes = std::fs::read(p).unwrap();
            assert_eq!(&bytes[1..4], b"PNG", "{}", p.display());
            let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
            assert_eq!(width, SIZE.0);
        }
        let svg = write_report(dir.path(), &history(), Format::Svg).unwrap();
        let text = std::fs::read_to_string(&svg[0]).unwrap();
        assert!(
            text.contains("<svg")
                && text.contains("Payments per minute")
                && text.contains("approved")
        );
    }

    #[test]
    fn an_empty_history_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_report(dir.path(), &History::default(), Format::Svg).unwrap_err();
        assert!(e.to_string().contains("no payment throughput"), "{e}");
    }
}
