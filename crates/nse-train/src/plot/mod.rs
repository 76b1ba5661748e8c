//! Charts through the `plotters` crate: PNG scatter plots of evaluated architectures over
//! (cost, accuracy) with the Pareto front highlighted ([`plot_pareto`], [`plot_scatter`]),
//! and the HTML report's SVG charts ([`svg`]). One drawing function serves both formats. Text
//! is rendered with the DejaVu Sans font embedded in the crate (`fonts/`), so no system fonts
//! or fontconfig are needed.
//!
//! ```no_run
//! use nse_train::plot::{PlotPoint, plot_pareto};
//!
//! let points = [
//!     PlotPoint { cost: 120.0, accuracy: 71.0, on_front: false, extra: false },
//!     PlotPoint { cost: 100.0, accuracy: 70.0, on_front: true, extra: false },
//!     PlotPoint { cost: 150.0, accuracy: 74.0, on_front: true, extra: false },
//!     PlotPoint { cost: 80.0, accuracy: 66.0, on_front: false, extra: true },
//! ];
//! // The resource window 120 ± 30 MMACs with its extra band of 30 below, shaded.
//! let window = nse_space::ResourceWindow::new(120.0, 30.0, 30.0);
//! plot_pareto(&points, "NSE round 1", "MMACs", Some(&window), "front.png".as_ref()).unwrap();
//! ```

pub mod svg;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use image::{ImageFormat, RgbImage};
use nse_space::ResourceWindow;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Width of the images [`plot_pareto`] writes, in pixels.
pub const PLOT_WIDTH: u32 = 800;
/// Height of the images [`plot_pareto`] writes, in pixels.
pub const PLOT_HEIGHT: u32 = 600;

/// Colour of Pareto-front points and of the step line joining them.
pub const FRONT_COLOR: [u8; 3] = [214, 39, 40];
/// Colour of the (hollow square) markers of extra-band points.
pub const EXTRA_COLOR: [u8; 3] = [255, 127, 14];
/// Colour of the other evaluated architectures.
pub const CANDIDATE_COLOR: [u8; 3] = [95, 125, 175];
/// Colour of the resource window's shading (drawn at [`SHADE_OPACITY`]).
pub const WINDOW_COLOR: [u8; 3] = [44, 160, 44];
/// Opacity of the shading of the resource window and (in [`EXTRA_COLOR`]) its extra band.
pub const SHADE_OPACITY: f64 = 0.12;

/// Radius of front markers, in pixels.
const FRONT_RADIUS: i32 = 5;
/// Radius of candidate markers.
const CANDIDATE_RADIUS: i32 = 3;
/// Half side of extra-band markers.
const EXTRA_HALF: i32 = 4;

/// The font family the charts use; [`register_font`] maps it to the embedded DejaVu Sans.
const FONT: &str = "sans-serif";

/// Registers the embedded font with plotters (once per process).
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../fonts/DejaVuSans.ttf"),
        )
        .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Write {
            path: PathBuf::from("fonts/DejaVuSans.ttf"),
            message: "the embedded font does not parse".into(),
        })
    }
}

/// Errors of [`plot_pareto`].
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// A point's cost or accuracy is not a finite number.
    #[error("point {index}: cost {cost} and accuracy {accuracy} must be finite")]
    NotFinite {
        /// Index of the point.
        index: usize,
        /// Its cost.
        cost: f64,
        /// Its accuracy.
        accuracy: f64,
    },
    /// Writing the file failed.
    #[error("cannot write plot {path}: {message}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Result alias of the plot module.
pub type Result<T> = std::result::Result<T, PlotError>;

/// One evaluated architecture in the plot.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PlotPoint {
    /// Its cost (x axis), in the unit of the axis label (MMACs, ms, ...).
    pub cost: f64,
    /// Its top-1 accuracy in percent (y axis).
    pub accuracy: f64,
    /// On the Pareto front: a large red dot, joined to the other front points by a step line.
    pub on_front: bool,
    /// From the extra band below the resource window: a hollow orange square (unless on the
    /// front). Points that are neither are small blue dots.
    pub extra: bool,
}

/// The words of a plot: legend entries per point style, the y-axis label, and whether the
/// front points are joined by a step line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlotLabels<'a> {
    /// Legend of the [`PlotPoint::on_front`] points (large red dots).
    pub front: &'a str,
    /// Legend of the other points (small blue dots).
    pub candidate: &'a str,
    /// Legend of the [`PlotPoint::extra`] points (hollow orange squares).
    pub extra: &'a str,
    /// The y axis.
    pub y_axis: &'a str,
    /// Join the front points by a step line (a Pareto front).
    pub step_line: bool,
}

impl PlotLabels<'static> {
    /// The Pareto plot's: "Pareto front", "evaluated", "extra band", "top-1 accuracy (%)",
    /// with the step line.
    pub const PARETO: PlotLabels<'static> = PlotLabels {
        front: "Pareto front",
        candidate: "evaluated",
        extra: "extra band",
        y_axis: "top-1 accuracy (%)",
        step_line: true,
    };
}

/// The data-to-pixel mapping of a drawn scatter.
pub(crate) type Coordinates = Cartesian2d<RangedCoordf64, RangedCoordf64>;

fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

fn draw_error(e: impl std::fmt::Display) -> PlotError {
    PlotError::Write {
        path: PathBuf::from("<chart>"),
        message: e.to_string(),
    }
}

/// `values`' range widened by 6 % on each side (a 10 %-wide range around a single value,
/// `[0, 1]` without values).
fn padded_range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if hi - lo < 1e-9 * lo.abs().max(1.0) {
        let half = 0.05 * lo.abs().max(1.0);
        (lo, hi) = (lo - half, hi + half);
    }
    let pad = 0.06 * (hi - lo);
    (lo - pad)..(hi + pad)
}

pub(crate) fn check_finite(points: &[PlotPoint]) -> Result<()> {
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

/// Draws the scatter of `points` on `root` (any plotters backend): candidates as small
/// [`CANDIDATE_COLOR`] dots, extra-band points as hollow [`EXTRA_COLOR`] squares, front points
/// as [`FRONT_COLOR`] dots (joined by a step line when `labels.step_line`), a title, axis
/// labels, a grid and a legend with each group's count. A `window` is shaded behind the
/// points ([`WINDOW_COLOR`], its extra band in [`EXTRA_COLOR`]) and the x axis widened to show
/// it whole. Returns the data-to-pixel mapping.
pub(crate) fn draw_scatter<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: &[PlotPoint],
    title: &str,
    x_label: &str,
    labels: &PlotLabels<'_>,
    window: Option<&ResourceWindow>,
) -> Result<Coordinates> {
    check_finite(points)?;
    let window = window.filter(|w| w.check().is_ok());
    register_font()?;
    root.fill(&WHITE).map_err(draw_error)?;
    let window_edges = window
        .map(|w| vec![w.extra_low(), w.high()])
        .unwrap_or_default();
    let y_range = padded_range(points.iter().map(|p| p.accuracy));
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 20))
        .margin(14)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(
            padded_range(points.iter().map(|p| p.cost).chain(window_edges)),
            y_range.clone(),
        )
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(labels.y_axis)
        .label_style((FONT, 13))
        .axis_desc_style((FONT, 15))
        .light_line_style(RGBColor(238, 238, 238))
        .bold_line_style(RGBColor(215, 215, 215))
        .draw()
        .map_err(draw_error)?;
    let (candidate, extra, front) = (rgb(CANDIDATE_COLOR), rgb(EXTRA_COLOR), rgb(FRONT_COLOR));
    if let Some(w) = window {
        let (bottom, top) = (y_range.start, y_range.end);
        let shades = [
            (w.low(), w.high(), rgb(WINDOW_COLOR), "resource window"),
            (w.extra_low(), w.low(), extra, "extra band range"),
        ];
        for (from, to, color, label) in shades {
            if to <= from {
                continue;
            }
            let fill = color.mix(SHADE_OPACITY).filled();
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(from, bottom), (to, top)],
                    fill,
                )))
                .map_err(draw_error)?
                .label(label)
                .legend(move |(x, y)| Rectangle::new([(x + 2, y - 5), (x + 14, y + 5)], fill));
        }
    }
    let plain: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| !p.on_front && !p.extra)
        .map(|p| (p.cost, p.accuracy))
        .collect();
    let banded: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| !p.on_front && p.extra)
        .map(|p| (p.cost, p.accuracy))
        .collect();
    let mut on_front: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.on_front)
        .map(|p| (p.cost, p.accuracy))
        .collect();
    on_front.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    if !plain.is_empty() {
        chart
            .draw_series(
                plain
                    .iter()
                    .map(|&p| Circle::new(p, CANDIDATE_RADIUS, candidate.filled())),
            )
            .map_err(draw_error)?
            .label(format!("{} ({})", labels.candidate, plain.len()))
            .legend(move |(x, y)| Circle::new((x + 8, y), CANDIDATE_RADIUS, candidate.filled()));
    }
    if !banded.is_empty() {
        let e = EXTRA_HALF;
        chart
            .draw_series(banded.iter().map(|&p| {
                EmptyElement::at(p) + Rectangle::new([(-e, -e), (e, e)], extra.stroke_width(2))
            }))
            .map_err(draw_error)?
            .label(format!("{} ({})", labels.extra, banded.len()))
            .legend(move |(x, y)| {
                Rectangle::new(
                    [(x + 8 - e, y - e), (x + 8 + e, y + e)],
                    extra.stroke_width(2),
                )
            });
    }
    if labels.step_line && on_front.len() > 1 {
        let steps: Vec<(f64, f64)> = on_front
            .windows(2)
            .flat_map(|w| [w[0], (w[1].0, w[0].1)])
            .chain(on_front.last().copied())
            .collect();
        chart
            .draw_series(LineSeries::new(steps, front.stroke_width(2)))
            .map_err(draw_error)?;
    }
    if !on_front.is_empty() {
        chart
            .draw_series(
                on_front
                    .iter()
                    .map(|&p| Circle::new(p, FRONT_RADIUS, front.filled())),
            )
            .map_err(draw_error)?
            .label(format!("{} ({})", labels.front, on_front.len()))
            .legend(move |(x, y)| Circle::new((x + 8, y), FRONT_RADIUS, front.filled()));
    }
    if !points.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 13))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .draw()
            .map_err(draw_error)?;
    }
    Ok(chart.as_coord_spec().clone())
}

/// Renders the scatter into an RGB image of [`PLOT_WIDTH`] × [`PLOT_HEIGHT`] pixels.
pub(crate) fn render_png(
    points: &[PlotPoint],
    title: &str,
    x_label: &str,
    labels: &PlotLabels<'_>,
    window: Option<&ResourceWindow>,
) -> Result<(RgbImage, Coordinates)> {
    let mut buffer = vec![0u8; (PLOT_WIDTH * PLOT_HEIGHT * 3) as usize];
    let coordinates = {
        let root =
            BitMapBackend::with_buffer(&mut buffer, (PLOT_WIDTH, PLOT_HEIGHT)).into_drawing_area();
        let coordinates = draw_scatter(&root, points, title, x_label, labels, window)?;
        root.present().map_err(draw_error)?;
        coordinates
    };
    let image = RgbImage::from_raw(PLOT_WIDTH, PLOT_HEIGHT, buffer)
        .expect("the buffer has the image's size");
    Ok((image, coordinates))
}

/// Writes a [`PLOT_WIDTH`] × [`PLOT_HEIGHT`] PNG scatter plot of `points` to `path`:
/// cost on the x axis (labelled `x_label`), top-1 accuracy in percent on the y axis, front
/// points in [`FRONT_COLOR`] joined by a step line, extra-band points as hollow
/// [`EXTRA_COLOR`] squares, other points as small [`CANDIDATE_COLOR`] dots; the resource
/// `window` (in the x axis' unit) and its extra band shaded behind them; a grid with tick
/// labels, `title` on top, and a legend. The file is written atomically (to a temporary
/// sibling, then renamed).
pub fn plot_pareto(
    points: &[PlotPoint],
    title: &str,
    x_label: &str,
    window: Option<&ResourceWindow>,
    path: &Path,
) -> Result<()> {
    write_png(points, title, x_label, &PlotLabels::PARETO, window, path)
}

/// [`plot_pareto`] with other words ([`PlotLabels`]): any scatter of two or three groups of
/// points, such as the experiments' retrained accuracies.
pub fn plot_scatter(
    points: &[PlotPoint],
    title: &str,
    x_label: &str,
    labels: &PlotLabels<'_>,
    path: &Path,
) -> Result<()> {
    write_png(points, title, x_label, labels, None, path)
}

fn write_png(
    points: &[PlotPoint],
    title: &str,
    x_label: &str,
    labels: &PlotLabels<'_>,
    window: Option<&ResourceWindow>,
    path: &Path,
) -> Result<()> {
    let (image, _) = render_png(points, title, x_label, labels, window)?;
    let write_error = |message: String| PlotError::Write {
        path: path.to_path_buf(),
        message,
    };
    nse_supernet::durable::write_with(path, |tmp| {
        image
            .save_with_format(tmp, ImageFormat::Png)
            .map_err(std::io::Error::other)
    })
    .map_err(|e| write_error(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<PlotPoint> {
        let p = |cost, accuracy, on_front, extra| PlotPoint {
            cost,
            accuracy,
            on_front,
            extra,
        };
        vec![
            p(120.0, 71.0, false, false),
            p(135.0, 69.0, false, false),
            p(150.0, 74.5, true, false),
            p(100.0, 70.0, true, false),
            p(125.0, 72.5, true, false),
            p(80.0, 66.0, false, true),
        ]
    }

    #[test]
    fn padded_ranges() {
        let r = padded_range([100.0, 200.0].into_iter());
        assert!((r.start - 94.0).abs() < 1e-9 && (r.end - 206.0).abs() < 1e-9);
        let single = padded_range([5.0].into_iter());
        assert!(single.start < 5.0 && single.end > 5.0);
        let empty = padded_range(std::iter::empty());
        assert!(empty.start < 0.0 && empty.end > 1.0);
    }

    #[test]
    fn writes_a_png_with_the_front_highlighted() {
        let dir = std::env::temp_dir().join(format!("nse-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("front.png");
        let points = sample();
        plot_pareto(&points, "NSE round 1 (mb27)", "MMACs", None, &path).unwrap();
        let decoded = image::open(&path).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (PLOT_WIDTH, PLOT_HEIGHT));
        assert_eq!(
            image::ImageFormat::from_path(&path).unwrap(),
            ImageFormat::Png
        );
        let (rendered, coordinates) = render_png(
            &points,
            "NSE round 1 (mb27)",
            "MMACs",
            &PlotLabels::PARETO,
            None,
        )
        .unwrap();
        assert_eq!(rendered, decoded, "the file holds the rendered image");

        let at = |(x, y): (i32, i32)| decoded.get_pixel(x as u32, y as u32).0;
        let px = |cost: f64, accuracy: f64| coordinates.translate(&(cost, accuracy));
        for p in &points {
            let (x, y) = px(p.cost, p.accuracy);
            if p.on_front {
                // The whole disc interior is highlighted.
                for (dx, dy) in [(0, 0), (3, 0), (-3, 0), (0, 3), (0, -3)] {
                    assert_eq!(at((x + dx, y + dy)), FRONT_COLOR, "front point {p:?}");
                }
            } else if p.extra {
                assert_eq!(at((x - EXTRA_HALF, y)), EXTRA_COLOR, "{p:?}");
                assert_ne!(at((x, y)), EXTRA_COLOR, "hollow: {p:?}");
            } else {
                assert_eq!(at((x, y)), CANDIDATE_COLOR, "{p:?}");
            }
        }
        // The step line runs at the lower point's accuracy to the next front point's cost.
        let (x0, y0) = px(100.0, 70.0);
        let (x1, _) = px(125.0, 72.5);
        assert_eq!(at(((x0 + x1) / 2, y0)), FRONT_COLOR);
        // No highlight away from the front (below the lowest front point, at low cost).
        let (xe, ye) = px(80.0, 66.0);
        assert_ne!(at((xe + 20, ye + 20)), FRONT_COLOR);
        // Text was drawn: dark pixels in the title band above the plot and in the tick-label
        // band below it.
        let (_, top) = px(80.0, 75.0);
        let (_, bottom) = px(80.0, 65.0);
        let dark_in = |y0: i32, y1: i32| {
            (y0.max(0)..y1.min(PLOT_HEIGHT as i32))
                .any(|y| (0..PLOT_WIDTH as i32).any(|x| at((x, y)).iter().all(|&c| c < 90)))
        };
        assert!(dark_in(0, top - 10), "title");
        assert!(dark_in(bottom + 4, bottom + 30), "x tick labels");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_window_and_its_extra_band_are_shaded_behind_the_points() {
        let points = sample();
        // Window (100, 140), extra band (40, 100]: the band reaches below every point, so the
        // x axis widens to show it.
        let window = ResourceWindow::new(120.0, 20.0, 60.0);
        let render = |window: Option<&ResourceWindow>| {
            render_png(&points, "w", "MMACs", &PlotLabels::PARETO, window).unwrap()
        };
        let (shaded, coordinates) = render(Some(&window));
        let (plain, plain_coordinates) = render(None);
        let (plain_80, _) = plain_coordinates.translate(&(80.0, 70.0));
        let (shaded_80, _) = coordinates.translate(&(80.0, 70.0));
        let (band_left, _) = coordinates.translate(&(40.0, 70.0));
        assert!(shaded_80 > plain_80, "{shaded_80} vs {plain_80}");
        assert!(band_left > 64 && band_left < shaded_80, "{band_left}");
        // Away from the points, the legend and the step line the shading is all there is.
        let at = |image: &RgbImage, coordinates: &Coordinates, cost: f64, accuracy: f64| {
            let (x, y) = coordinates.translate(&(cost, accuracy));
            image.get_pixel(x as u32, y as u32).0
        };
        let greenish = |[r, g, b]: [u8; 3]| g > r + 10 && g > b + 10;
        let orangeish = |[r, g, b]: [u8; 3]| r > g + 5 && g > b + 5;
        let grey = |[r, g, b]: [u8; 3]| r == g && g == b;
        for cost in [103.0, 112.0, 118.0] {
            let pixel = at(&shaded, &coordinates, cost, 67.0);
            assert!(greenish(pixel), "{cost}: {pixel:?}");
            let pixel = at(&plain, &plain_coordinates, cost, 67.0);
            assert!(grey(pixel), "no window, {cost}: {pixel:?}");
        }
        for cost in [45.0, 70.0, 97.0] {
            let pixel = at(&shaded, &coordinates, cost, 67.0);
            assert!(orangeish(pixel), "{cost}: {pixel:?}");
        }
        let beyond = at(&shaded, &coordinates, 145.0, 73.0);
        assert!(grey(beyond), "beyond the window: {beyond:?}");
        // The points stay on top of the shading.
        let (x, y) = coordinates.translate(&(120.0, 71.0));
        assert_eq!(shaded.get_pixel(x as u32, y as u32).0, CANDIDATE_COLOR);
    }

    #[test]
    fn a_scatter_without_step_line_leaves_the_path_between_front_points_blank() {
        let points = sample();
        let labels = PlotLabels {
            front: "group a",
            candidate: "group b",
            step_line: false,
            ..PlotLabels::PARETO
        };
        let (image, coordinates) =
            render_png(&points, "two groups", "MMACs", &labels, None).unwrap();
        let at = |(x, y): (i32, i32)| image.get_pixel(x as u32, y as u32).0;
        let (x0, y0) = coordinates.translate(&(100.0, 70.0));
        let (x1, _) = coordinates.translate(&(125.0, 72.5));
        assert_eq!(at((x0, y0)), FRONT_COLOR, "the points are drawn");
        assert_ne!(at(((x0 + x1) / 2, y0)), FRONT_COLOR, "but not joined");
    }

    #[test]
    fn rejects_non_finite_points() {
        let points = [PlotPoint {
            cost: f64::NAN,
            accuracy: 50.0,
            on_front: true,
            extra: false,
        }];
        let err =
            plot_pareto(&points, "t", "x", None, Path::new("/nonexistent/x.png")).unwrap_err();
        assert!(
            matches!(err, PlotError::NotFinite { index: 0, .. }),
            "{err}"
        );
    }
}
