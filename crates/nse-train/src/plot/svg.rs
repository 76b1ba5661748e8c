//! Charts as SVG text through the `plotters` crate, for the HTML report
//! ([`crate::search::html_report`]): a Pareto scatter and a line chart. The text is laid out
//! by the browser, so no font files are needed.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{CANDIDATE_COLOR, EXTRA_COLOR, FRONT_COLOR, PlotError, PlotPoint, Result};

/// Width of the report's charts, in SVG pixels.
pub const SVG_WIDTH: u32 = 540;
/// Height of the report's charts, in SVG pixels.
pub const SVG_HEIGHT: u32 = 360;

/// One line of a [`lines_svg`] chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Its legend.
    pub label: String,
    /// `(x, y)` points in drawing order.
    pub points: Vec<(f64, f64)>,
}

fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// A qualitative palette (Tableau 10) for the lines of a chart.
const PALETTE: [[u8; 3]; 10] = [
    [31, 119, 180],
    [255, 127, 14],
    [44, 160, 44],
    [214, 39, 40],
    [148, 103, 189],
    [140, 86, 75],
    [227, 119, 194],
    [127, 127, 127],
    [188, 189, 34],
    [23, 190, 207],
];

fn draw_error(e: impl std::fmt::Display) -> PlotError {
    PlotError::Write {
        path: "<svg>".into(),
        message: e.to_string(),
    }
}

/// `[lo, hi]` widened by 5 % on each side (and to a unit span around a single value).
fn padded(lo: f64, hi: f64) -> std::ops::Range<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        let half = lo.abs().max(1.0) * 0.5;
        return (lo - half)..(hi + half);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad)..(hi + pad)
}

fn bounds(points: impl Iterator<Item = (f64, f64)>) -> Option<(f64, f64, f64, f64)> {
    points.fold(None, |b, (x, y)| {
        Some(match b {
            None => (x, x, y, y),
            Some((x0, x1, y0, y1)) => (x0.min(x), x1.max(x), y0.min(y), y1.max(y)),
        })
    })
}

fn check_finite(points: &[PlotPoint]) -> Result<()> {
    match points
        .iter()
        .position(|p| !p.cost.is_finite() || !p.accuracy.is_finite())
    {
        Some(index) => Err(PlotError::NotFinite {
            index,
            cost: points[index].cost,
            accuracy: points[index].accuracy,
        }),
        None => Ok(()),
    }
}

/// Renders into a string: `draw` gets the whole drawing area.
fn render(draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SVG_WIDTH, SVG_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// A Pareto scatter as SVG: candidates as small blue dots, the extra band's as hollow orange
/// squares, the front as red dots joined by a step line, with a legend. An empty set of
/// points gives a chart saying so.
pub fn pareto_svg(points: &[PlotPoint], title: &str, x_label: &str) -> Result<String> {
    check_finite(points)?;
    render(|root| {
        let Some((x0, x1, y0, y1)) = bounds(points.iter().map(|p| (p.cost, p.accuracy))) else {
            root.titled(
                &format!("{title}: no evaluated architectures"),
                ("sans-serif", 18),
            )
            .map_err(draw_error)?;
            return Ok(());
        };
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(padded(x0, x1), padded(y0, y1))
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc("held-out top-1 (%)")
            .light_line_style(RGBColor(236, 236, 236))
            .draw()
            .map_err(draw_error)?;
        let (candidate, extra, front) = (rgb(CANDIDATE_COLOR), rgb(EXTRA_COLOR), rgb(FRONT_COLOR));
        let plain: Vec<_> = points.iter().filter(|p| !p.on_front && !p.extra).collect();
        chart
            .draw_series(
                plain
                    .iter()
                    .map(|p| Circle::new((p.cost, p.accuracy), 3, candidate.filled())),
            )
            .map_err(draw_error)?
            .label(format!("candidates ({})", plain.len()))
            .legend(move |(x, y)| Circle::new((x + 8, y), 3, candidate.filled()));
        let banded: Vec<_> = points.iter().filter(|p| !p.on_front && p.extra).collect();
        if !banded.is_empty() {
            chart
                .draw_series(banded.iter().map(|p| {
                    EmptyElement::at((p.cost, p.accuracy))
                        + Rectangle::new([(-4, -4), (4, 4)], extra.stroke_width(2))
                }))
                .map_err(draw_error)?
                .label(format!("extra band ({})", banded.len()))
                .legend(move |(x, y)| {
                    Rectangle::new([(x + 4, y - 4), (x + 12, y + 4)], extra.stroke_width(2))
                });
        }
        let mut on_front: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.on_front)
            .map(|p| (p.cost, p.accuracy))
            .collect();
        on_front.sort_by(|a, b| a.0.total_cmp(&b.0));
        let steps: Vec<(f64, f64)> = on_front
            .windows(2)
            .flat_map(|w| [w[0], (w[1].0, w[0].1)])
            .chain(on_front.last().copied())
            .collect();
        chart
            .draw_series(LineSeries::new(steps, front.stroke_width(2)))
            .map_err(draw_error)?;
        chart
            .draw_series(
                on_front
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 5, front.filled())),
            )
            .map_err(draw_error)?
            .label(format!("Pareto front ({})", on_front.len()))
            .legend(move |(x, y)| Circle::new((x + 8, y), 5, front.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(draw_error)?;
        Ok(())
    })
}

/// A line chart as SVG, one coloured line per [`Line`] with a legend (colours repeat after
/// ten lines). Lines without points are left out; no points at all gives a chart saying so.
pub fn lines_svg(lines: &[Line], title: &str, x_label: &str, y_label: &str) -> Result<String> {
    for line in lines {
        if let Some(index) = line
            .points
            .iter()
            .position(|(x, y)| !x.is_finite() || !y.is_finite())
        {
            return Err(PlotError::NotFinite {
                index,
                cost: line.points[index].0,
                accuracy: line.points[index].1,
            });
        }
    }
    render(|root| {
        let Some((x0, x1, y0, y1)) = bounds(lines.iter().flat_map(|l| l.points.iter().copied()))
        else {
            root.titled(&format!("{title}: no data"), ("sans-serif", 18))
                .map_err(draw_error)?;
            return Ok(());
        };
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(padded(x0, x1), padded(y0, y1))
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .light_line_style(RGBColor(236, 236, 236))
            .draw()
            .map_err(draw_error)?;
        for (i, line) in lines.iter().filter(|l| !l.points.is_empty()).enumerate() {
            let color = rgb(PALETTE[i % PALETTE.len()]);
            let series = chart
                .draw_series(LineSeries::new(
                    line.points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(draw_error)?;
            series.label(line.label.clone()).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
            });
            if line.points.len() == 1 {
                chart
                    .draw_series(std::iter::once(Circle::new(
                        line.points[0],
                        3,
                        color.filled(),
                    )))
                    .map_err(draw_error)?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(draw_error)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(cost: f64, accuracy: f64, on_front: bool, extra: bool) -> PlotPoint {
        PlotPoint {
            cost,
            accuracy,
            on_front,
            extra,
        }
    }

    #[test]
    fn pareto_chart_draws_every_kind_of_point_and_the_legend() {
        let svg = pareto_svg(
            &[
                point(1.0, 50.0, true, false),
                point(2.0, 60.0, true, false),
                point(1.5, 40.0, false, false),
                point(0.5, 30.0, false, true),
            ],
            "round 1",
            "MMACs",
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in [
            "round 1",
            "MMACs",
            "candidates (1)",
            "extra band (1)",
            "Pareto front (2)",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        // Front dots are red, candidates blue.
        assert!(svg.contains("#D62728"), "front colour");
        assert!(svg.contains("#5F7DAF"), "candidate colour");
        assert!(pareto_svg(&[point(f64::NAN, 1.0, false, false)], "t", "x").is_err());
        assert!(
            pareto_svg(&[], "empty", "x")
                .unwrap()
                .contains("no evaluated")
        );
    }

    #[test]
    fn line_chart_has_a_line_and_label_per_series() {
        let lines = [
            Line {
                label: "ir_k3_e6".into(),
                points: vec![(0.0, 0.1), (1.0, 0.3)],
            },
            Line {
                label: "rec_k5_e2".into(),
                points: vec![(0.0, -0.2)],
            },
        ];
        let svg = lines_svg(&lines, "cell 0", "epoch", "indicator").unwrap();
        assert!(svg.contains("ir_k3_e6") && svg.contains("rec_k5_e2"));
        assert!(svg.matches("<polyline").count() >= 2, "{svg}");
        assert!(
            lines_svg(&[], "none", "x", "y")
                .unwrap()
                .contains("no data")
        );
    }
}
