//! Drawing, on any plotters backend (the SVG and the PNG of a plot come from
//! the same code). Every plot has the same frame: the title on top, the
//! chart on the left, the legend on the right, the machine caption below.

use std::fmt::Display;
use std::ops::Range;

use anyhow::{anyhow, Result};
use plotters::chart::MeshStyle;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::{CoordTranslate, Shift};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::data::{Loss, Losses, Phases, Point, Scaling, Series};
use super::style::{self, text, Shape, INK, MUTED};
use super::{Chart, Context};
use crate::analyse::models::{amdahl_fit, AmdahlFit};
use crate::present::format::{self, tick, time_unit, work};
use crate::results::Kernel;
use piscale_kernels::BackendKind;

/// Heights of the title and caption bands, width of the legend panel.
const TITLE_H: u32 = 50;
const CAPTION_H: u32 = 32;
const LEGEND_W: u32 = 180;
/// Sideways shift between the backends' points, as a fraction of the x
/// range, so that error bars at the same worker count do not hide each other.
const DODGE: f64 = 0.006;

/// Plotters errors carry the backend's error type; this turns them into
/// `anyhow` ones.
trait Drawn<T> {
    fn drawn(self) -> Result<T>;
}

impl<T, E: Display> Drawn<T> for std::result::Result<T, E> {
    fn drawn(self) -> Result<T> {
        self.map_err(|e| anyhow!("cannot draw the plot: {e}"))
    }
}

/// Draws `chart` on `root` and finishes it (`present`).
pub(super) fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    ctx: &Context,
) -> Result<()> {
    root.fill(&WHITE).drawn()?;
    match chart {
        Chart::Speedup(s) => curves(root, ctx, s, &Curves::speedup(s)),
        Chart::Efficiency(s) => curves(root, ctx, s, &Curves::efficiency(s)),
        Chart::Weak(s) => curves(root, ctx, s, &Curves::weak(s)),
        Chart::Time(s) => time(root, ctx, s),
        Chart::Phases(p) => phases(root, ctx, p),
        Chart::Breakdown(l) => breakdown(root, ctx, l),
    }?;
    root.present().drawn()
}

/// The chart and legend areas of a plot whose title and caption are drawn.
struct Frame<DB: DrawingBackend> {
    chart: DrawingArea<DB, Shift>,
    legend: DrawingArea<DB, Shift>,
}

fn frame<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    caption: &str,
) -> Result<Frame<DB>> {
    let (w, h) = root.dim_in_pixel();
    let (top, rest) = root.split_vertically(TITLE_H);
    let centred = Pos::new(HPos::Center, VPos::Center);
    top.draw(&Text::new(
        title,
        (w as i32 / 2, TITLE_H as i32 / 2 + 4),
        text(style::TITLE_SIZE, &INK).pos(centred),
    ))
    .drawn()?;
    let (main, bottom) = rest.split_vertically(h - TITLE_H - CAPTION_H);
    bottom
        .draw(&Text::new(
            caption,
            (w as i32 / 2, CAPTION_H as i32 / 2),
            text(style::CAPTION_SIZE, &MUTED).pos(centred),
        ))
        .drawn()?;
    let (chart, legend) = main.split_horizontally(w - LEGEND_W);
    Ok(Frame { chart, legend })
}

/// The look shared by every chart's axes and grid.
fn style_mesh<X: Ranged, Y: Ranged, DB: DrawingBackend>(
    mesh: &mut MeshStyle<'_, '_, X, Y, DB>,
    x_desc: &str,
    y_desc: &str,
) {
    mesh.axis_style(INK.stroke_width(style::THIN))
        .bold_line_style(style::GRID.stroke_width(1))
        .light_line_style(WHITE.mix(0.0))
        .label_style(text(style::LABEL_SIZE, &INK))
        .axis_desc_style(text(style::DESC_SIZE, &INK))
        .set_all_tick_mark_size(6)
        .x_desc(x_desc)
        .y_desc(y_desc);
}

/// A chart builder with the margins and label areas every chart uses.
fn builder<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> ChartBuilder<'_, '_, DB> {
    let mut b = ChartBuilder::on(area);
    b.margin_top(14)
        .margin_right(18)
        .margin_left(8)
        .margin_bottom(6)
        .x_label_area_size(58)
        .y_label_area_size(78);
    b
}

/// One line of the legend.
enum Key {
    /// A backend: its line and marker.
    Series {
        colour: RGBColor,
        shape: Shape,
        label: String,
        /// A smaller second line under the label.
        detail: Option<String>,
    },
    /// A reference line, solid or dashed.
    Line {
        colour: RGBColor,
        dashed: bool,
        label: String,
        /// Smaller lines under the label, `\n` between them.
        detail: Option<String>,
    },
    /// A filled square (a phase of the stacked bars).
    Swatch { colour: RGBColor, label: String },
    /// Muted explanatory text, one entry per line.
    Note(String),
}

/// Draws the legend keys top down.
fn legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, keys: &[Key]) -> Result<()> {
    let left_mid = Pos::new(HPos::Left, VPos::Center);
    let label = text(style::LEGEND_SIZE, &INK).pos(left_mid);
    let small = text(style::CAPTION_SIZE, &MUTED).pos(left_mid);
    let (x0, x1, tx) = (4, 40, 48);
    let mut y = 26;
    for key in keys {
        match key {
            Key::Series {
                colour,
                shape,
                label: name,
                detail,
            } => {
                area.draw(&PathElement::new(
                    vec![(x0, y), (x1, y)],
                    colour.stroke_width(style::LINE),
                ))
                .drawn()?;
                marker(area, ((x0 + x1) / 2, y), *shape, *colour)?;
                area.draw(&Text::new(name.as_str(), (tx, y), label.clone()))
                    .drawn()?;
                if let Some(detail) = detail {
                    y += 18;
                    area.draw(&Text::new(detail.as_str(), (tx, y), small.clone()))
                        .drawn()?;
                }
                y += 28;
            }
            Key::Line {
                colour,
                dashed,
                label: name,
                detail,
            } => {
                let style = colour.stroke_width(style::THIN);
                if *dashed {
                    for x in (x0..x1).step_by(12) {
                        area.draw(&PathElement::new(vec![(x, y), ((x + 7).min(x1), y)], style))
                            .drawn()?;
                    }
                } else {
                    area.draw(&PathElement::new(vec![(x0, y), (x1, y)], style))
                        .drawn()?;
                }
                area.draw(&Text::new(name.as_str(), (tx, y), label.clone()))
                    .drawn()?;
                for line in detail.iter().flat_map(|d| d.lines()) {
                    y += 18;
                    area.draw(&Text::new(line, (tx, y), small.clone()))
                        .drawn()?;
                }
                y += 28;
            }
            Key::Swatch {
                colour,
                label: name,
            } => {
                area.draw(&Rectangle::new(
                    [(x0 + 8, y - 9), (x1 - 8, y + 9)],
                    colour.filled(),
                ))
                .drawn()?;
                area.draw(&Text::new(name.as_str(), (tx, y), label.clone()))
                    .drawn()?;
                y += 28;
            }
            Key::Note(note) => {
                area.draw(&Text::new(note.as_str(), (x0, y), small.clone()))
                    .drawn()?;
                y += 18;
            }
        }
    }
    Ok(())
}

/// Draws a filled marker centred on `at`.
fn marker<DB: DrawingBackend, CT: CoordTranslate>(
    area: &DrawingArea<DB, CT>,
    at: CT::From,
    shape: Shape,
    colour: RGBColor,
) -> Result<()> {
    let fill = colour.filled();
    let r = style::MARKER;
    let at = EmptyElement::at(at);
    match shape {
        Shape::Circle => area.draw(&(at + Circle::new((0, 0), r, fill))),
        Shape::Square => area.draw(&(at + Rectangle::new([(1 - r, 1 - r), (r - 1, r - 1)], fill))),
        Shape::Triangle => {
            area.draw(&(at + Polygon::new(vec![(0, -r - 1), (r + 1, r), (-r - 1, r)], fill)))
        }
        Shape::Diamond => area.draw(
            &(at + Polygon::new(vec![(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)], fill)),
        ),
        Shape::TriangleDown => {
            area.draw(&(at + Polygon::new(vec![(0, r + 1), (r + 1, -r), (-r - 1, -r)], fill)))
        }
    }
    .drawn()
}

/// The x axis of worker counts: a little wider than the measured ones, with
/// a tick at each — only at powers of two and the last one when there are
/// many, and none so close to the next that their labels would touch.
fn workers_axis(workers: &[usize]) -> (Range<f64>, Vec<f64>) {
    let max = workers.last().copied().unwrap_or(1).max(2) as f64;
    let span = 1.1 * (max - 1.0);
    let pad = 0.05 * (max - 1.0);
    let ticks = (1.0 - pad)..(max + pad);
    (ticks, workers_ticks(workers, |a, b| (b - a) / span >= 0.06))
}

/// The worker counts to label, ascending: all of them, or the powers of two
/// and the last when there are more than 12, less any that is not `apart`
/// from the one before it (the last always stays).
fn workers_ticks(workers: &[usize], apart: impl Fn(f64, f64) -> bool) -> Vec<f64> {
    let last = workers.last().copied().unwrap_or(1);
    let mut kept: Vec<f64> = Vec::new();
    for &w in workers {
        if workers.len() > 12 && !w.is_power_of_two() && w != last {
            continue;
        }
        let w = w as f64;
        match kept.last() {
            Some(&prev) if !apart(prev, w) => {
                if w == last as f64 && kept.len() > 1 {
                    kept.pop();
                    kept.push(w);
                }
            }
            _ => kept.push(w),
        }
    }
    kept
}

/// A linear axis with ticks (and grid lines) exactly at the given values.
/// plotters' `with_key_points` does the same but loses the label
/// formatter of an `f64` axis.
struct Ticked {
    axis: RangedCoordf64,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Ticked {
        Ticked {
            axis: range.into(),
            ticks,
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.axis.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.axis.range()
    }
}

/// Ticks for a log axis over `range`: the decades when they give three
/// ticks or more, else 1-2-5 steps, else every digit.
fn log_ticks(range: &Range<f64>) -> Vec<f64> {
    let (lo, hi) = (range.start, range.end);
    let ticks = |mantissas: &[f64]| -> Vec<f64> {
        let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        (first..=last)
            .flat_map(|e| mantissas.iter().map(move |m| m * 10f64.powi(e)))
            .filter(|t| (lo..=hi).contains(t))
            .collect()
    };
    const DIGITS: [f64; 9] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    [&[1.0][..], &[1.0, 2.0, 5.0]]
        .into_iter()
        .map(ticks)
        .find(|t| t.len() >= 3)
        .unwrap_or_else(|| ticks(&DIGITS))
}

/// A backend name short enough for the legend panel: `python-pi1-numb…`.
fn short(name: &str) -> String {
    const MAX: usize = 15;
    if name.chars().count() <= MAX {
        name.to_string()
    } else {
        name.chars().take(MAX - 1).chain(['…']).collect()
    }
}

/// A point as drawn: x, y and the ends of its CI bar, in axis units.
type Mark = (f64, f64, Option<(f64, f64)>);

/// Shift of the `k`-th of `n` series, in units of the axis span.
fn dodge(k: usize, n: usize) -> f64 {
    (k as f64 - (n as f64 - 1.0) / 2.0) * DODGE
}

/// `12` for a worker count on the axis.
fn whole(x: &f64) -> String {
    format!("{}", x.round() as i64)
}

/// How one kind of curve plot reads its points.
struct Curves {
    title: String,
    y_desc: &'static str,
    /// The plotted value of a point, and its CI.
    value: fn(&Point) -> Option<f64>,
    ci: fn(&Point) -> Option<(f64, f64)>,
    /// The ideal curve: y = p (speed-up) or 100 % (efficiency).
    ideal_diagonal: bool,
    ideal_label: &'static str,
    /// Draw the fitted Amdahl curve of each backend.
    amdahl: bool,
}

impl Curves {
    fn speedup(s: &Scaling) -> Curves {
        Curves {
            title: format!(
                "{}: strong-scaling speed-up (N = {})",
                s.method,
                work(s.work)
            ),
            y_desc: "speed-up over 1 worker (×)",
            value: |p| p.speedup,
            ci: |p| p.speedup_ci,
            ideal_diagonal: true,
            ideal_label: "ideal (p×)",
            amdahl: true,
        }
    }

    fn efficiency(s: &Scaling) -> Curves {
        Curves {
            title: format!(
                "{}: strong-scaling efficiency (N = {})",
                s.method,
                work(s.work)
            ),
            y_desc: "parallel efficiency, speed-up / p (%)",
            value: |p| p.efficiency().map(|e| 100.0 * e),
            ci: |p| p.efficiency_ci().map(|(lo, hi)| (100.0 * lo, 100.0 * hi)),
            ideal_diagonal: false,
            ideal_label: "ideal (100 %)",
            amdahl: false,
        }
    }

    fn weak(s: &Scaling) -> Curves {
        Curves {
            title: format!(
                "{}: weak-scaling efficiency ({} per worker)",
                s.method,
                work(s.work)
            ),
            y_desc: "weak-scaling efficiency t₁/tₚ (%)",
            ..Curves::efficiency(s)
        }
    }
}

/// Speed-up, efficiency or weak-scaling efficiency against workers: one
/// line per backend with CI bars, the ideal, and optionally Amdahl fits.
fn curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Context,
    s: &Scaling,
    how: &Curves,
) -> Result<()> {
    let frame = frame(root, &how.title, &ctx.caption)?;
    let workers = s.workers();
    let (x_range, ticks) = workers_axis(&workers);
    let x_end = x_range.end;
    let span = x_range.end - x_range.start;
    let ideal_top = if how.ideal_diagonal { x_end } else { 100.0 };
    let y_top = s
        .series
        .iter()
        .flat_map(|series| &series.points)
        .filter_map(|p| (how.ci)(p).map(|c| c.1).or((how.value)(p)))
        .fold(ideal_top, f64::max)
        * 1.08;
    let mut chart = builder(&frame.chart)
        .build_cartesian_2d(Ticked::new(x_range.clone(), ticks), 0.0..y_top)
        .drawn()?;
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, "workers p", how.y_desc);
    mesh.x_label_formatter(&whole)
        .y_label_formatter(&|v: &f64| tick(*v))
        .draw()
        .drawn()?;

    let ideal: Vec<(f64, f64)> = if how.ideal_diagonal {
        vec![(1.0, 1.0), (x_end, x_end)]
    } else {
        vec![(x_range.start, 100.0), (x_range.end, 100.0)]
    };
    chart
        .draw_series(LineSeries::new(
            ideal,
            style::IDEAL.stroke_width(style::THIN),
        ))
        .drawn()?;
    oversubscribed_line(&mut chart, ctx, &workers, 0.0..y_top)?;

    // The capacity C(p) (or C(p)/p) first, under the backends' curves.
    let mut capacity = false;
    for series in s.series.iter().filter(|x| x.backend == Kernel::Capacity) {
        capacity |= capacity_line(&mut chart, series, how)?;
    }

    let mut keys = Vec::new();
    // Whether any fitted curve was drawn, for its legend key.
    let mut fitted = false;
    let backends: Vec<_> = s
        .series
        .iter()
        .filter(|x| x.backend != Kernel::Capacity)
        .collect();
    let n = backends.len();
    for (k, series) in backends.into_iter().enumerate() {
        let colour = ctx.palette.colour(&series.backend);
        let shape = ctx.palette.shape(&series.backend);
        let shift = dodge(k, n) * span;
        // Only a fit the data can carry (enough worker counts) and whose f
        // is a fraction: an unphysical curve would mislead more than none.
        let amdahl = how
            .amdahl
            .then(|| amdahl_fit(&series.speedups()).ok())
            .flatten();
        if let Some(fit) = amdahl.filter(AmdahlFit::physical) {
            fitted = true;
            let top = series.points.iter().map(|p| p.workers).max().unwrap_or(1) as f64;
            let steps = 60;
            let curve = (0..=steps).map(|i| {
                let p = 1.0 + (top - 1.0) * i as f64 / steps as f64;
                (p, fit.predict(p))
            });
            chart
                .draw_series(DashedLineSeries::new(
                    curve,
                    9,
                    6,
                    colour.stroke_width(style::THIN),
                ))
                .drawn()?;
        }
        let points: Vec<Mark> = series
            .points
            .iter()
            .filter_map(|p| Some((p.workers as f64 + shift, (how.value)(p)?, (how.ci)(p))))
            .collect();
        series_marks(&mut chart, &points, colour, shape)?;
        if !points.is_empty() {
            keys.push(Key::Series {
                colour,
                shape,
                label: short(&series.backend.label()),
                detail: amdahl.map(|fit| {
                    let f = fit.serial_fraction;
                    if fit.physical() {
                        format!("f = {}", format::estimate(f.value, f.half_width))
                    } else {
                        "f unphysical".into()
                    }
                }),
            });
        }
    }
    keys.push(Key::Line {
        colour: style::IDEAL,
        dashed: false,
        label: how.ideal_label.into(),
        detail: None,
    });
    if capacity {
        keys.push(Key::Line {
            colour: style::CAPACITY,
            dashed: true,
            label: "capacity".into(),
            detail: Some("(what the CPUs\ncan give)".into()),
        });
    }
    if fitted {
        keys.push(Key::Line {
            colour: INK,
            dashed: true,
            label: "Amdahl fit".into(),
            detail: None,
        });
    }
    keys.push(Key::Note("bars: 95 % CI".into()));
    keys.push(Key::Note("of the median".into()));
    legend(&frame.legend, &keys)
}

/// The capacity's curve: a grey dashed line through its points, without
/// markers or CI bars, so that it reads as a limit, not a backend. Whether
/// there was anything to draw.
fn capacity_line<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    series: &Series,
    how: &Curves,
) -> Result<bool>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let points: Vec<(f64, f64)> = series
        .points
        .iter()
        .filter_map(|p| Some((p.workers as f64, (how.value)(p)?)))
        .collect();
    if points.is_empty() {
        return Ok(false);
    }
    chart
        .draw_series(DashedLineSeries::new(
            points,
            7,
            5,
            style::CAPACITY.stroke_width(style::LINE),
        ))
        .drawn()?;
    Ok(true)
}

/// One backend's points: the line through them, their CI bars and markers.
fn series_marks<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    points: &[Mark],
    colour: RGBColor,
    shape: Shape,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .draw_series(LineSeries::new(
            points.iter().map(|&(x, y, _)| (x, y)),
            colour.stroke_width(style::LINE),
        ))
        .drawn()?;
    chart
        .draw_series(points.iter().filter_map(|&(x, y, ci)| {
            let (lo, hi) = ci?;
            Some(ErrorBar::new_vertical(
                x,
                lo,
                y,
                hi,
                colour.stroke_width(style::THIN),
                10,
            ))
        }))
        .drawn()?;
    for &(x, y, _) in points {
        marker(chart.plotting_area(), (x, y), shape, colour)?;
    }
    Ok(())
}

/// A dotted vertical line at the number of usable CPUs, when more workers
/// than that were measured (oversubscription).
fn oversubscribed_line<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    ctx: &Context,
    workers: &[usize],
    y: Range<f64>,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let Some(cpus) = ctx.usable_cpus else {
        return Ok(());
    };
    if !workers.iter().any(|&w| w > cpus) {
        return Ok(());
    }
    let x = cpus as f64;
    chart
        .draw_series(DashedLineSeries::new(
            [(x, y.start), (x, y.end)],
            3,
            5,
            MUTED.stroke_width(style::THIN),
        ))
        .drawn()?;
    chart
        .draw_series(std::iter::once(
            EmptyElement::at((x, y.end))
                + Text::new(
                    "usable CPUs",
                    (6, 6),
                    text(style::CAPTION_SIZE, &MUTED).pos(Pos::new(HPos::Left, VPos::Top)),
                ),
        ))
        .drawn()?;
    Ok(())
}

/// Median wall time against workers, log–log, with CI bars and the ideal
/// t₁/p from the serial baseline.
fn time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Context,
    s: &Scaling,
) -> Result<()> {
    let title = format!(
        "{}: wall time, strong scaling (N = {})",
        s.method,
        work(s.work)
    );
    let frame = frame(root, &title, &ctx.caption)?;
    let workers = s.workers();
    let max_w = workers.last().copied().unwrap_or(1).max(2) as f64;
    let x_range = (1.0 / 1.15)..(max_w * 1.15);
    let ticks = workers_ticks(&workers, |a, b| b / a >= 1.2);
    let times = || {
        s.series
            .iter()
            .flat_map(|series| &series.points)
            .flat_map(|p| {
                let (lo, hi) = p.ci_s.unwrap_or((f64::NAN, f64::NAN));
                [p.median_s.unwrap_or(f64::NAN), lo, hi]
            })
    };
    let serial_t1 = s
        .series
        .iter()
        .find(|series| series.backend == Kernel::local(BackendKind::Serial))
        .and_then(|series| series.points.iter().find(|p| p.workers == 1))
        .and_then(|p| p.median_s);
    let lo = times()
        .chain(serial_t1.map(|t| t / max_w))
        .filter(|t| *t > 0.0)
        .fold(f64::INFINITY, f64::min);
    let hi = times().filter(|t| *t > 0.0).fold(0.0, f64::max);
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo, hi)
    } else {
        (1.0, 1.0)
    };
    let (unit, scale) = time_unit(hi);
    let y_range = (lo * scale / 1.3)..(hi * scale * 1.3);
    let mut chart = builder(&frame.chart)
        .build_cartesian_2d(
            x_range.clone().log_scale().base(2.0).with_key_points(ticks),
            y_range
                .clone()
                .log_scale()
                .with_key_points(log_ticks(&y_range)),
        )
        .drawn()?;
    let y_desc = format!("median wall time ({unit}, log scale)");
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, "workers p (log scale)", &y_desc);
    mesh.x_label_formatter(&whole)
        .y_label_formatter(&|v: &f64| tick(*v))
        .draw()
        .drawn()?;
    if let Some(t1) = serial_t1 {
        chart
            .draw_series(LineSeries::new(
                [(1.0, t1 * scale), (max_w, t1 * scale / max_w)],
                style::IDEAL.stroke_width(style::THIN),
            ))
            .drawn()?;
    }
    oversubscribed_line(&mut chart, ctx, &workers, y_range)?;

    let span = (x_range.end / x_range.start).log2();
    let n = s.series.len();
    let mut keys = Vec::new();
    for (k, series) in s.series.iter().enumerate() {
        let colour = ctx.palette.colour(&series.backend);
        let shape = ctx.palette.shape(&series.backend);
        let shift = (dodge(k, n) * span).exp2();
        let points: Vec<Mark> = series
            .points
            .iter()
            .filter_map(|p| {
                let ci = p.ci_s.map(|(lo, hi)| (lo * scale, hi * scale));
                Some((p.workers as f64 * shift, p.median_s? * scale, ci))
            })
            .collect();
        series_marks(&mut chart, &points, colour, shape)?;
        if !points.is_empty() {
            keys.push(Key::Series {
                colour,
                shape,
                label: short(&series.backend.label()),
                detail: None,
            });
        }
    }
    if serial_t1.is_some() {
        keys.push(Key::Line {
            colour: style::IDEAL,
            dashed: false,
            label: "ideal (t₁/p)".into(),
            detail: None,
        });
        keys.push(Key::Note("t₁: serial, 1 worker".into()));
    }
    keys.push(Key::Note("bars: 95 % CI".into()));
    keys.push(Key::Note("of the median".into()));
    legend(&frame.legend, &keys)
}

/// Stacked bars of the median spawn, compute and reduce times per backend
/// at one worker count, each labelled with the share of spawn + reduce.
fn phases<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Context,
    ph: &Phases,
) -> Result<()> {
    let title = format!(
        "{}: time per phase at p = {}, strong scaling (N = {})",
        ph.method,
        ph.workers,
        work(ph.work)
    );
    let frame = frame(root, &title, &ctx.caption)?;
    let n = ph.bars.len().max(1);
    let top_s = ph
        .bars
        .iter()
        .map(|b| b.phases.total_s())
        .fold(0.0, f64::max);
    let (unit, scale) = time_unit(top_s);
    let top = if top_s > 0.0 {
        top_s * scale * 1.15
    } else {
        1.0
    };
    let names: Vec<String> = ph.bars.iter().map(|b| b.backend.label()).collect();
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            names.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    // Names side by side when they fit under their bars (about 7 px a
    // character); otherwise turned upright, e.g. fifteen backends by three
    // start methods.
    let longest = names.iter().map(|s| s.chars().count()).max().unwrap_or(0) as u32;
    let (width, _) = frame.chart.dim_in_pixel();
    let upright = n as u32 * (longest * 7 + 10) > width.saturating_sub(110);
    let mut b = builder(&frame.chart);
    if upright {
        b.x_label_area_size(longest * 7 + 44);
    }
    let mut chart = b
        .build_cartesian_2d(
            Ticked::new(-0.5..n as f64 - 0.5, (0..n).map(|i| i as f64).collect()),
            0.0..top,
        )
        .drawn()?;
    let y_desc = format!("median time per phase ({unit})");
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, "backend", &y_desc);
    // Upright names are drawn below, by hand: the mesh centres a label on
    // its tick, which would put half of an upright one inside the chart.
    let none = |_: &f64| String::new();
    mesh.disable_x_mesh()
        .x_label_formatter(if upright { &none } else { &label })
        .y_label_formatter(&|v: &f64| tick(*v))
        .draw()
        .drawn()?;
    if upright {
        let (bx, by) = frame.chart.get_base_pixel();
        for (i, name) in names.iter().enumerate() {
            let (px, py) = chart.backend_coord(&(i as f64, 0.0));
            frame
                .chart
                .draw(&Text::new(
                    name.as_str(),
                    (px - bx, py - by + 12),
                    text(style::LABEL_SIZE, &INK)
                        .transform(FontTransform::Rotate90)
                        .pos(Pos::new(HPos::Left, VPos::Center)),
                ))
                .drawn()?;
        }
    }
    let half = 0.32;
    for (i, bar) in ph.bars.iter().enumerate() {
        let x = i as f64;
        let mut y = 0.0;
        for (value, colour) in [
            (bar.phases.spawn_s, style::SPAWN),
            (bar.phases.compute_s, style::COMPUTE),
            (bar.phases.reduce_s, style::REDUCE),
        ] {
            let h = value * scale;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x - half, y), (x + half, y + h)],
                    colour.filled(),
                )))
                .drawn()?;
            y += h;
        }
        let total = bar.phases.total_s();
        if total > 0.0 {
            let share = (bar.phases.spawn_s + bar.phases.reduce_s) / total;
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, y))
                        + Text::new(
                            format::share(share),
                            (0, -6),
                            text(style::LABEL_SIZE, &INK).pos(Pos::new(HPos::Center, VPos::Bottom)),
                        ),
                ))
                .drawn()?;
        }
    }
    let keys = [
        Key::Swatch {
            colour: style::REDUCE,
            label: "reduce".into(),
        },
        Key::Swatch {
            colour: style::COMPUTE,
            label: "compute".into(),
        },
        Key::Swatch {
            colour: style::SPAWN,
            label: "spawn".into(),
        },
        Key::Note("label: spawn + reduce".into()),
        Key::Note("share of the bar".into()),
        Key::Note(String::new()),
        Key::Note("medians over the".into()),
        Key::Note("repetitions".into()),
    ];
    legend(&frame.legend, &keys)
}

/// The colour and legend label of a loss.
fn loss_style(loss: Loss) -> (RGBColor, &'static str) {
    match loss {
        Loss::Machine => (style::LOST_MACHINE, "machine (C/p)"),
        Loss::Code => (style::LOST_CODE, "code"),
        Loss::Imbalance => (style::LOST_IMBALANCE, "imbalance (LB)"),
        Loss::Overhead => (style::LOST_OVERHEAD, "overhead (OE)"),
        Loss::Unsplit => (style::LOST_UNSPLIT, "not split"),
    }
}

/// Where the speed-up went: one horizontal bar per kernel, as long as the
/// ideal p (a tick marks it), cut into what it reached (from 0) and what
/// each step from p down lost — the machine (p → C), the code, the
/// imbalance and the overhead — each labelled with its share where it is
/// wide enough. A step that gained (a factor above 1) is an outlined
/// strip over the bar, from the level before to the level after.
fn breakdown<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    ctx: &Context,
    l: &Losses,
) -> Result<()> {
    let title = format!(
        "{}: where the speed-up went at p = {} (N = {})",
        l.method,
        l.workers,
        work(l.work)
    );
    let frame = frame(root, &title, &ctx.caption)?;
    let n = l.falls.len().max(1);
    let top = l
        .falls
        .iter()
        .flat_map(|f| std::iter::once(f.ideal).chain(f.steps.iter().map(|&(_, v)| v)))
        .fold(1.0, f64::max);
    // Room on the right of the longest bar for its label.
    let x_top = top * 1.2;
    // The first kernel on top.
    let row_y = |i: usize| (n - 1 - i) as f64;
    let names: Vec<String> = l.falls.iter().map(|f| short(&f.backend.label())).collect();
    let label = |y: &f64| {
        let i = y.round();
        if (y - i).abs() < 1e-6 && (0.0..n as f64).contains(&i) {
            names.get(n - 1 - i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let mut builder = builder(&frame.chart);
    builder.y_label_area_size(150);
    let mut chart = builder
        .build_cartesian_2d(
            0.0..x_top,
            Ticked::new(-0.5..n as f64 - 0.5, (0..n).map(|i| i as f64).collect()),
        )
        .drawn()?;
    let mut mesh = chart.configure_mesh();
    style_mesh(&mut mesh, "speed-up over 1 worker (×)", "");
    mesh.disable_y_mesh()
        .x_label_formatter(&|v: &f64| tick(*v))
        .y_label_formatter(&label)
        .draw()
        .drawn()?;

    let half = if n > 6 { 0.36 } else { 0.3 };
    let mut used: Vec<Loss> = Vec::new();
    let mut gained = false;
    for (i, fall) in l.falls.iter().enumerate() {
        let y = row_y(i);
        let rect = |x0: f64, x1: f64, h: f64| [(x0, y - h), (x1, y + h)];
        let achieved = fall.achieved();
        chart
            .draw_series(std::iter::once(Rectangle::new(
                rect(0.0, achieved, half),
                style::ACHIEVED.filled(),
            )))
            .drawn()?;
        // Losses first, full height; gains over them, as outlined strips.
        for (loss, before, after) in fall.drops().filter(|d| d.2 < d.1) {
            let (colour, _) = loss_style(loss);
            if !used.contains(&loss) {
                used.push(loss);
            }
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    rect(after, before, half),
                    colour.filled(),
                )))
                .drawn()?;
            share_label(&mut chart, (after, before), y, 1.0 - after / before)?;
        }
        for (loss, before, after) in fall.drops().filter(|d| d.2 > d.1) {
            let (colour, _) = loss_style(loss);
            gained = true;
            chart
                .draw_series([
                    Rectangle::new(rect(before, after, half / 2.0), WHITE.filled()),
                    Rectangle::new(
                        rect(before, after, half / 2.0),
                        colour.stroke_width(style::THIN),
                    ),
                ])
                .drawn()?;
            if !used.contains(&loss) {
                used.push(loss);
            }
        }
        // The ideal p, a tick across the bar.
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(fall.ideal, y - half - 0.08), (fall.ideal, y + half + 0.08)],
                INK.stroke_width(style::THIN),
            )))
            .drawn()?;
        let end = std::iter::once(fall.ideal)
            .chain(fall.steps.iter().map(|&(_, v)| v))
            .fold(0.0, f64::max);
        chart
            .draw_series(std::iter::once(
                EmptyElement::at((end, y))
                    + Text::new(
                        format::times(achieved),
                        (8, 0),
                        text(style::LABEL_SIZE, &INK).pos(Pos::new(HPos::Left, VPos::Center)),
                    ),
            ))
            .drawn()?;
    }

    let mut keys = vec![Key::Swatch {
        colour: style::ACHIEVED,
        label: "achieved S".into(),
    }];
    // Left to right on the bars: overhead, imbalance, code, machine.
    for loss in [
        Loss::Unsplit,
        Loss::Overhead,
        Loss::Imbalance,
        Loss::Code,
        Loss::Machine,
    ] {
        if used.contains(&loss) {
            let (colour, label) = loss_style(loss);
            keys.push(Key::Swatch {
                colour,
                label: label.into(),
            });
        }
    }
    keys.push(Key::Line {
        colour: INK,
        dashed: false,
        label: "ideal p".into(),
        detail: None,
    });
    keys.push(Key::Note("steps from p down:".into()));
    keys.push(Key::Note("p → C(p), the capacity,".into()));
    keys.push(Key::Note("× code × LB × OE = S".into()));
    if used.contains(&Loss::Unsplit) {
        keys.push(Key::Note(String::new()));
        keys.push(Key::Note("not split: C → S for a".into()));
        keys.push(Key::Note("kernel without busy".into()));
        keys.push(Key::Note("times (a command)".into()));
    }
    if gained {
        keys.push(Key::Note(String::new()));
        keys.push(Key::Note("outlined: a step that".into()));
        keys.push(Key::Note("gained (factor > 1)".into()));
    }
    legend(&frame.legend, &keys)
}

/// Writes the `share` a step lost (`−12 %`) inside its segment `x0..x1`
/// of the bar at row `y`, when the segment is wide enough on screen.
fn share_label<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    (x0, x1): (f64, f64),
    y: f64,
    share: f64,
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let width = chart.backend_coord(&(x1, y)).0 - chart.backend_coord(&(x0, y)).0;
    if width < 48 {
        return Ok(());
    }
    chart
        .draw_series(std::iter::once(Text::new(
            format!("−{}", format::share(share)),
            ((x0 + x1) / 2.0, y),
            text(style::CAPTION_SIZE, &INK).pos(Pos::new(HPos::Center, VPos::Center)),
        )))
        .drawn()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_ticks_do_not_crowd() {
        let axis = |w: &[usize]| workers_axis(w).1;
        assert_eq!(axis(&[1, 2]), [1.0, 2.0]);
        assert_eq!(axis(&[1, 2, 4, 8, 16]), [1.0, 2.0, 4.0, 8.0, 16.0]);
        // On a linear axis up to 64, 2 and 4 would sit on top of 1.
        assert_eq!(
            axis(&[1, 2, 4, 8, 16, 32, 64]),
            [1.0, 8.0, 16.0, 32.0, 64.0]
        );
        let many: Vec<usize> = (1..=24).collect();
        assert_eq!(axis(&many), [1.0, 4.0, 8.0, 16.0, 24.0]);
        // The last count always keeps its label.
        assert_eq!(workers_ticks(&[1, 30, 31], |a, b| b - a > 2.0), [1.0, 31.0]);
    }

    #[test]
    fn long_names_are_cut_for_the_legend() {
        assert_eq!(short("shm-reduce"), "shm-reduce");
        assert_eq!(short("python-pi1-numba-jit"), "python-pi1-num…");
    }

    #[test]
    fn log_ticks_fit_the_range() {
        assert_eq!(log_ticks(&(0.5..2000.0)), [1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(log_ticks(&(4.5..92.0)), [5.0, 10.0, 20.0, 50.0]);
        assert_eq!(log_ticks(&(7.0..13.0)), [7.0, 8.0, 9.0, 10.0]);
    }
}
