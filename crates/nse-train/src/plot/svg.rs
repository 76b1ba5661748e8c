//! Charts as SVG text, for the HTML report ([`crate::search::html_report`]): the Pareto
//! scatter of the PNG plots and a line chart.

use nse_space::ResourceWindow;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{
    FONT, PlotError, PlotLabels, PlotPoint, Result, draw_error, draw_scatter, padded_range,
    register_font, rgb,
};

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

/// Renders into a string: `draw` gets the whole drawing area.
fn render(draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>) -> Result<String> {
    register_font()?;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (SVG_WIDTH, SVG_HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        draw(&root)?;
        root.present().map_err(draw_error)?;
    }
    Ok(svg)
}

/// A Pareto scatter as SVG, drawn as [`plot_pareto`](super::plot_pareto) draws its PNG:
/// candidates as small blue dots, the extra band's as hollow orange squares, the front as red
/// dots joined by a step line, with a legend.
pub fn pareto_svg(
    points: &[PlotPoint],
    title: &str,
    x_label: &str,
    window: Option<&ResourceWindow>,
) -> Result<String> {
    let labels = PlotLabels {
        candidate: "candidates",
        y_axis: "held-out top-1 (%)",
        ..PlotLabels::PARETO
    };
    render(|root| draw_scatter(root, points, title, x_label, &labels, window).map(|_| ()))
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
        let points = || lines.iter().flat_map(|l| l.points.iter().copied());
        if points().next().is_none() {
            root.titled(&format!("{title}: no data"), (FONT, 18))
                .map_err(draw_error)?;
            return Ok(());
        }
        let mut chart = ChartBuilder::on(root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(56)
            .build_cartesian_2d(
                padded_range(points().map(|(x, _)| x)),
                padded_range(points().map(|(_, y)| y)),
            )
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
            Some(&ResourceWindow::new(1.5, 0.5, 0.7)),
        )
        .unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        for text in [
            "round 1",
            "MMACs",
            "candidates (1)",
            "extra band (1)",
            "Pareto front (2)",
            "resource window",
            "extra band range",
            "#2CA02C",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        // Front dots are red, candidates blue.
        assert!(svg.contains("#D62728"), "front colour");
        assert!(svg.contains("#5F7DAF"), "candidate colour");
        assert!(pareto_svg(&[point(f64::NAN, 1.0, false, false)], "t", "x", None).is_err());
        let empty = pareto_svg(&[], "nothing evaluated", "x", None).unwrap();
        assert!(empty.contains("nothing evaluated") && !empty.contains("Pareto front ("));
        assert!(!empty.contains("resource window") && !empty.contains("#2CA02C"));
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
