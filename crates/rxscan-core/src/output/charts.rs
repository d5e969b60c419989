//! The report's charts, drawn by the `plotters` crate into SVG strings that the report inlines
//! (no script, no network, printable, crisp at any zoom). Each chart is one function from
//! plain numbers to an SVG element carrying `role="img"`, an `aria-label` and a `<title>`, so a
//! screen reader names it; the numbers the charts plot are the report's shown numbers, so
//! under suppression a chart shows nothing the tables do not.
//!
//! plotters is built without fonts (`default-features = false`): the SVG backend writes text
//! as `<text>` elements for the browser to set, and estimates text widths itself.

use std::io;

use plotters::element::DashedPathElement;
use plotters::prelude::*;

use super::html::escape;
use crate::results::compare::{funnel_limits, Position, Z95, Z998};

/// One practice on a funnel plot: label, shown denominator and rate (a proportion), position.
pub struct FunnelPoint {
    pub label: String,
    pub den: u64,
    pub rate: f64,
    pub position: Option<Position>,
}

/// One line of a trend chart: label, and the rate (a proportion) at each date, `None` where it
/// is not shown.
pub struct Line {
    pub label: String,
    pub rates: Vec<Option<f64>>,
}

/// Line colours that stay apart from each other and from the black total (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A y-axis label: whole percentages when the axis is tall enough for them.
fn percent_label(y_max: f64) -> impl Fn(&f64) -> String {
    move |y| {
        if y_max >= 10.0 {
            format!("{y:.0}")
        } else {
            format!("{y:.1}")
        }
    }
}

/// Up to this many practices, each is named on the funnel plot and has its own colour on the
/// monthly chart.
pub const MANY: usize = PALETTE.len();

const WIDTH: u32 = 640;
const HEIGHT: u32 = 400;

fn fail<E: std::fmt::Debug>(e: E) -> io::Error {
    io::Error::other(format!("drawing a chart: {e:?}"))
}

/// The legend of the series that have labels, in the same place and style on every chart.
fn legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
) -> io::Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()
        .map_err(fail)
}

fn colour(position: Option<Position>) -> RGBColor {
    match position {
        Some(Position::Above998) => RGBColor(178, 24, 43),
        Some(Position::Above95) => RGBColor(239, 138, 98),
        Some(Position::Below95) => RGBColor(103, 169, 207),
        Some(Position::Below998) => RGBColor(33, 102, 172),
        _ => RGBColor(90, 90, 90),
    }
}

/// Add `role="img"`, `aria-label`, a `<title>` and a `data-chart` kind to the SVG element
/// plotters wrote, and let it scale to its container.
fn accessible(svg: String, kind: &str, label: &str) -> String {
    let label = escape(label);
    let Some(end) = svg.find('>') else {
        return svg;
    };
    let open = svg[..end].replacen(
        "<svg ",
        &format!(
            "<svg role=\"img\" aria-label=\"{label}\" data-chart=\"{kind}\" class=\"chart\" preserveAspectRatio=\"xMidYMid meet\" "
        ),
        1,
    );
    format!("{open}>\n<title>{label}</title>{}", &svg[end + 1..])
}

/// A funnel plot: each practice's rate against its denominator, the total's rate `p0` as a
/// line, and the 95% (dashed) and 99.8% (solid) limits around it. Without `p0` (the total
/// is not shown) only the points.
pub fn funnel(points: &[FunnelPoint], p0: Option<f64>, label: &str) -> io::Result<String> {
    let max_den = points.iter().map(|p| p.den).max().unwrap_or(0).max(10);
    let x_max = max_den as f64 * 1.1;
    // The y range: every point, and the 99.8% limit at the smallest denominator plotted.
    let min_den = points.iter().map(|p| p.den).min().unwrap_or(max_den).max(1);
    let mut y_max = points.iter().map(|p| p.rate).fold(0.0, f64::max);
    if let Some(l) = p0.and_then(|p0| funnel_limits(p0, min_den, Z998)) {
        y_max = y_max.max(l.high);
    }
    let y_max = (100.0 * y_max * 1.15).clamp(1.0, 100.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..x_max, 0f64..y_max)
            .map_err(fail)?;
        let y_label = percent_label(y_max);
        chart
            .configure_mesh()
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&y_label)
            .x_desc("Denominator (patients)")
            .y_desc("Rate (%)")
            .bold_line_style(RGBColor(225, 225, 225))
            .max_light_lines(0)
            .draw()
            .map_err(fail)?;
        if let Some(p0) = p0 {
            let total = vec![(0.0, 100.0 * p0), (x_max, 100.0 * p0)];
            chart
                .draw_series(LineSeries::new(total, BLACK.stroke_width(2)))
                .map_err(fail)?
                .label("total rate")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2))
                });
            // Limits sampled densely where they bend (small denominators), kept to the plot.
            let ns: Vec<u64> = (0..=200)
                .map(|i| 1 + ((x_max - 1.0) * (i as f64 / 200.0).powi(2)) as u64)
                .collect();
            let curve = |z: f64, upper: bool| -> Vec<(f64, f64)> {
                let mut pts: Vec<(f64, f64)> = ns
                    .iter()
                    .filter_map(|&n| funnel_limits(p0, n, z).map(|l| (n as f64, l)))
                    .map(|(n, l)| (n, 100.0 * if upper { l.high } else { l.low }))
                    .filter(|&(_, y)| y <= y_max)
                    .collect();
                pts.dedup();
                pts
            };
            let grey = RGBColor(110, 110, 110);
            for upper in [true, false] {
                let s95 = chart
                    .draw_series(DashedLineSeries::new(
                        curve(Z95, upper),
                        6,
                        4,
                        grey.stroke_width(1),
                    ))
                    .map_err(fail)?;
                if upper {
                    s95.label("95% limits").legend(move |(x, y)| {
                        DashedPathElement::new(
                            vec![(x, y), (x + 18, y)],
                            5,
                            3,
                            grey.stroke_width(1),
                        )
                    });
                }
                let s998 = chart
                    .draw_series(LineSeries::new(curve(Z998, upper), grey.stroke_width(2)))
                    .map_err(fail)?;
                if upper {
                    s998.label("99.8% limits").legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], grey.stroke_width(2))
                    });
                }
            }
        }
        // With many practices only those outside the limits are named (the rest would overlap).
        let name_all = points.len() <= MANY;
        chart
            .draw_series(points.iter().map(|p| {
                let style = colour(p.position).filled();
                let outside = p.position.is_some_and(|p| p != Position::Inside);
                let name = if name_all || outside {
                    &p.label[..]
                } else {
                    ""
                };
                EmptyElement::at((p.den as f64, 100.0 * p.rate))
                    + Circle::new((0, 0), 5, style)
                    + Text::new(name.to_string(), (7, -14), ("sans-serif", 13).into_font())
            }))
            .map_err(fail)?;
        if p0.is_some() {
            legend(&mut chart)?;
        }
        root.present().map_err(fail)?;
    }
    Ok(accessible(svg, "funnel", label))
}

/// A line chart of rates by month, one line per practice and a thicker black one for the
/// total (the last of `lines`); a rate not shown breaks its line.
pub fn trend(dates: &[String], lines: &[Line], label: &str) -> io::Result<String> {
    let n = dates.len().max(2);
    let y_top = lines
        .iter()
        .flat_map(|l| l.rates.iter().flatten())
        .fold(0.0, |a: f64, &b| a.max(b));
    let y_max = (100.0 * y_top * 1.15).clamp(1.0, 100.0);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(32)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..(n - 1) as f64, 0f64..y_max)
            .map_err(fail)?;
        let label_of = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-9 && i >= 0.0 {
                dates.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        let y_label = percent_label(y_max);
        chart
            .configure_mesh()
            .y_label_formatter(&y_label)
            .x_labels(dates.len().clamp(2, 8))
            .x_label_formatter(&label_of)
            .x_desc("Index date")
            .y_desc("Rate (%)")
            .bold_line_style(RGBColor(225, 225, 225))
            .max_light_lines(0)
            .draw()
            .map_err(fail)?;
        // More practices than colours: every practice a thin grey line, named once, under the
        // total; markers only where a month stands alone or the months are few.
        let many = lines.len() > MANY + 1;
        let marked = dates.len() <= 24;
        let mut grey_named = false;
        for (i, line) in lines.iter().enumerate() {
            let total = i + 1 == lines.len();
            let style = if total {
                BLACK.stroke_width(3)
            } else if many {
                RGBColor(170, 170, 170).stroke_width(1)
            } else {
                PALETTE[i % PALETTE.len()].stroke_width(2)
            };
            let name = if many && !total {
                (!grey_named).then(|| "each practice".to_string())
            } else {
                Some(line.label.clone())
            };
            let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
            for (d, rate) in line.rates.iter().enumerate() {
                match rate {
                    Some(r) => segments
                        .last_mut()
                        .expect("never empty")
                        .push((d as f64, 100.0 * r)),
                    None => segments.push(Vec::new()),
                }
            }
            let mut name = name;
            for segment in segments.into_iter().filter(|s| !s.is_empty()) {
                let marks: Vec<_> = segment
                    .iter()
                    .filter(|_| marked || segment.len() == 1)
                    .map(|&p| Circle::new(p, 3, style.filled()))
                    .collect();
                let drawn = chart
                    .draw_series(LineSeries::new(segment, style))
                    .map_err(fail)?;
                if let Some(name) = name.take() {
                    drawn
                        .label(name)
                        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
                }
                chart.draw_series(marks).map_err(fail)?;
            }
            grey_named |= many && !total && name.is_none();
        }
        legend(&mut chart)?;
        root.present().map_err(fail)?;
    }
    Ok(accessible(svg, "trend", label))
}
