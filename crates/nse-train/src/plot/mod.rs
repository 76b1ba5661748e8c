//! PNG scatter plots of evaluated architectures over (cost, accuracy), with the Pareto front
//! highlighted — drawn with the `image` crate and a tiny built-in bitmap [`font`], so no
//! font files, fontconfig or plotting library are needed.
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
//! plot_pareto(&points, "NSE round 1", "MMACs", "front.png".as_ref()).unwrap();
//! ```

pub mod font;
pub mod svg;

use std::path::{Path, PathBuf};

use image::{ImageFormat, Rgb, RgbImage};

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

const BACKGROUND: [u8; 3] = [255, 255, 255];
const AXIS_COLOR: [u8; 3] = [0, 0, 0];
const GRID_COLOR: [u8; 3] = [228, 228, 228];
const TEXT_COLOR: [u8; 3] = [20, 20, 20];

/// Text scale (screen pixels per font pixel).
const TEXT_SCALE: i64 = 2;

/// Margins around the plotting area: left, right, top, bottom.
const MARGIN: (i64, i64, i64, i64) = (96, 30, 56, 76);

/// Radius of front markers.
const FRONT_RADIUS: i64 = 5;
/// Radius of candidate markers.
const CANDIDATE_RADIUS: i64 = 3;
/// Half side of extra-band markers.
const EXTRA_HALF: i64 = 4;

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

/// How a point is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Candidate,
    Extra,
    Front,
}

impl PlotPoint {
    fn style(&self) -> Style {
        if self.on_front {
            Style::Front
        } else if self.extra {
            Style::Extra
        } else {
            Style::Candidate
        }
    }
}

/// A "nice" tick step (1, 2 or 5 × 10^k) giving about `target` intervals over `range`
/// (the nearest nice value to `range / target`).
fn nice_step(range: f64, target: f64) -> f64 {
    let raw = range / target;
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction < 1.5 {
        1.0
    } else if fraction < 3.0 {
        2.0
    } else if fraction < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// One axis: data range, ticks and their labels.
#[derive(Debug, Clone, PartialEq)]
struct Axis {
    min: f64,
    max: f64,
    ticks: Vec<f64>,
    decimals: usize,
}

impl Axis {
    /// An axis covering `values` with 6% padding on each side (a unit-wide range around a
    /// single value; `[0, 1]` without values).
    fn covering(values: impl Iterator<Item = f64>) -> Self {
        let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        if hi - lo < 1e-9 * lo.abs().max(1.0) {
            let half = 0.5 * lo.abs().max(1.0) * 0.1;
            (lo, hi) = (lo - half, hi + half);
        }
        let pad = 0.06 * (hi - lo);
        let (min, max) = (lo - pad, hi + pad);
        let step = nice_step(max - min, 5.0);
        let first = (min / step).ceil() as i64;
        let last = (max / step).floor() as i64;
        let ticks = (first..=last).map(|i| i as f64 * step).collect();
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        Axis {
            min,
            max,
            ticks,
            decimals,
        }
    }

    /// Where `v` falls between `from` (at `min`) and `to` (at `max`), in pixels.
    fn pixel(&self, v: f64, from: i64, to: i64) -> i64 {
        let t = (v - self.min) / (self.max - self.min);
        (from as f64 + t * (to - from) as f64).round() as i64
    }

    fn label(&self, v: f64) -> String {
        // Avoid "-0".
        let v = if v.abs() < 1e-12 { 0.0 } else { v };
        format!("{v:.*}", self.decimals)
    }
}

/// Data-to-pixel mapping of a plot.
#[derive(Debug, Clone, PartialEq)]
struct Layout {
    x: Axis,
    /// In percent.
    y: Axis,
    left: i64,
    right: i64,
    top: i64,
    bottom: i64,
}

impl Layout {
    fn new(points: &[PlotPoint]) -> Self {
        let (ml, mr, mt, mb) = MARGIN;
        Layout {
            x: Axis::covering(points.iter().map(|p| p.cost)),
            y: Axis::covering(points.iter().map(|p| p.accuracy)),
            left: ml,
            right: PLOT_WIDTH as i64 - mr,
            top: mt,
            bottom: PLOT_HEIGHT as i64 - mb,
        }
    }

    /// Pixel of `(cost, accuracy)` (accuracy in percent).
    fn to_pixel(&self, cost: f64, accuracy: f64) -> (i64, i64) {
        (
            self.x.pixel(cost, self.left, self.right),
            self.y.pixel(accuracy, self.bottom, self.top),
        )
    }
}

/// A canvas with clipped drawing primitives.
struct Canvas {
    image: RgbImage,
}

impl Canvas {
    fn new() -> Self {
        Canvas {
            image: RgbImage::from_pixel(PLOT_WIDTH, PLOT_HEIGHT, Rgb(BACKGROUND)),
        }
    }

    fn put(&mut self, x: i64, y: i64, color: [u8; 3]) {
        if (0..PLOT_WIDTH as i64).contains(&x) && (0..PLOT_HEIGHT as i64).contains(&y) {
            self.image.put_pixel(x as u32, y as u32, Rgb(color));
        }
    }

    fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, color: [u8; 3]) {
        for y in y0.min(y1)..=y0.max(y1) {
            for x in x0.min(x1)..=x0.max(x1) {
                self.put(x, y, color);
            }
        }
    }

    /// A line `width` pixels thick (Bresenham with square pens).
    fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), width: i64, color: [u8; 3]) {
        let (dx, dy) = ((x1 - x0).abs(), -(y1 - y0).abs());
        let (sx, sy) = (if x0 < x1 { 1 } else { -1 }, if y0 < y1 { 1 } else { -1 });
        let (mut x, mut y, mut err) = (x0, y0, dx + dy);
        let lo = -(width - 1) / 2;
        let hi = width / 2;
        loop {
            self.rect(x + lo, y + lo, x + hi, y + hi, color);
            if x == x1 && y == y1 {
                break;
            }
            let e2 = 2 * err;
            if e2 >= dy {
                err += dy;
                x += sx;
            }
            if e2 <= dx {
                err += dx;
                y += sy;
            }
        }
    }

    fn disc(&mut self, cx: i64, cy: i64, r: i64, color: [u8; 3]) {
        for y in -r..=r {
            for x in -r..=r {
                if x * x + y * y <= r * r + r {
                    self.put(cx + x, cy + y, color);
                }
            }
        }
    }

    fn hollow_square(&mut self, cx: i64, cy: i64, half: i64, color: [u8; 3]) {
        for d in -half..=half {
            for t in 0..2 {
                self.put(cx + d, cy - half + t, color);
                self.put(cx + d, cy + half - t, color);
                self.put(cx - half + t, cy + d, color);
                self.put(cx + half - t, cy + d, color);
            }
        }
    }

    /// Draws `text` with its top-left corner at `(x, y)`.
    fn text(&mut self, x: i64, y: i64, text: &str, color: [u8; 3]) {
        for (i, c) in text.chars().enumerate() {
            let gx0 = x + (i * font::ADVANCE) as i64 * TEXT_SCALE;
            for fy in 0..font::GLYPH_HEIGHT {
                for fx in 0..font::GLYPH_WIDTH {
                    if font::ink(c, fx, fy) {
                        let px = gx0 + fx as i64 * TEXT_SCALE;
                        let py = y + fy as i64 * TEXT_SCALE;
                        self.rect(px, py, px + TEXT_SCALE - 1, py + TEXT_SCALE - 1, color);
                    }
                }
            }
        }
    }

    /// Draws `text` rotated a quarter turn counter-clockwise (reading bottom to top), with
    /// the glyphs' top edge at column `x` and the text starting at row `y` (its bottom end).
    fn text_vertical(&mut self, x: i64, y: i64, text: &str, color: [u8; 3]) {
        for (i, c) in text.chars().enumerate() {
            let along0 = (i * font::ADVANCE) as i64 * TEXT_SCALE;
            for fy in 0..font::GLYPH_HEIGHT {
                for fx in 0..font::GLYPH_WIDTH {
                    if font::ink(c, fx, fy) {
                        let px = x + fy as i64 * TEXT_SCALE;
                        let py = y - along0 - fx as i64 * TEXT_SCALE;
                        self.rect(px, py - TEXT_SCALE + 1, px + TEXT_SCALE - 1, py, color);
                    }
                }
            }
        }
    }
}

/// On-screen width of `text`.
fn text_px(text: &str) -> i64 {
    font::text_width(text) as i64 * TEXT_SCALE
}

/// Height of a line of text on screen.
const TEXT_HEIGHT: i64 = font::GLYPH_HEIGHT as i64 * TEXT_SCALE;

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

/// Renders the plot into an image.
fn render(points: &[PlotPoint], title: &str, x_label: &str, labels: &PlotLabels<'_>) -> RgbImage {
    let layout = Layout::new(points);
    let mut c = Canvas::new();
    let (l, r, t, b) = (layout.left, layout.right, layout.top, layout.bottom);

    // Grid and tick labels.
    for &v in &layout.x.ticks {
        let x = layout.x.pixel(v, l, r);
        c.line((x, t), (x, b), 1, GRID_COLOR);
        c.line((x, b), (x, b + 5), 1, AXIS_COLOR);
        let label = layout.x.label(v);
        c.text(x - text_px(&label) / 2, b + 10, &label, TEXT_COLOR);
    }
    for &v in &layout.y.ticks {
        let y = layout.y.pixel(v, b, t);
        c.line((l, y), (r, y), 1, GRID_COLOR);
        c.line((l - 5, y), (l, y), 1, AXIS_COLOR);
        let label = layout.y.label(v);
        c.text(
            l - 10 - text_px(&label),
            y - TEXT_HEIGHT / 2 + 2,
            &label,
            TEXT_COLOR,
        );
    }
    // Axes (a box).
    c.line((l, t), (r, t), 1, AXIS_COLOR);
    c.line((l, b), (r, b), 1, AXIS_COLOR);
    c.line((l, t), (l, b), 1, AXIS_COLOR);
    c.line((r, t), (r, b), 1, AXIS_COLOR);

    // Title and axis labels.
    let width = PLOT_WIDTH as i64;
    c.text(
        (width - text_px(title)) / 2,
        (t - TEXT_HEIGHT) / 2,
        title,
        TEXT_COLOR,
    );
    c.text(
        (l + r - text_px(x_label)) / 2,
        PLOT_HEIGHT as i64 - TEXT_HEIGHT - 8,
        x_label,
        TEXT_COLOR,
    );
    let y_label = labels.y_axis;
    c.text_vertical(8, (t + b + text_px(y_label)) / 2, y_label, TEXT_COLOR);

    // Points: candidates, then the extra band, then the front on top.
    for p in points.iter().filter(|p| p.style() == Style::Candidate) {
        let (x, y) = layout.to_pixel(p.cost, p.accuracy);
        c.disc(x, y, CANDIDATE_RADIUS, CANDIDATE_COLOR);
    }
    for p in points.iter().filter(|p| p.style() == Style::Extra) {
        let (x, y) = layout.to_pixel(p.cost, p.accuracy);
        c.hollow_square(x, y, EXTRA_HALF, EXTRA_COLOR);
    }
    let front: Vec<(i64, i64)> = {
        let mut f: Vec<&PlotPoint> = points
            .iter()
            .filter(|p| p.style() == Style::Front)
            .collect();
        f.sort_by(|a, b| {
            a.cost
                .total_cmp(&b.cost)
                .then(a.accuracy.total_cmp(&b.accuracy))
        });
        f.iter()
            .map(|p| layout.to_pixel(p.cost, p.accuracy))
            .collect()
    };
    // Step line: along the cost axis at the previous accuracy, then up to the next point.
    for w in front.windows(2).filter(|_| labels.step_line) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        c.line((x0, y0), (x1, y0), 2, FRONT_COLOR);
        c.line((x1, y0), (x1, y1), 2, FRONT_COLOR);
    }
    for &(x, y) in &front {
        c.disc(x, y, FRONT_RADIUS, FRONT_COLOR);
    }

    // Legend, top-left inside the plotting area.
    let entries = [
        (Style::Front, labels.front),
        (Style::Candidate, labels.candidate),
        (Style::Extra, labels.extra),
    ];
    let mut y = t + 12;
    for (kind, label) in entries {
        if !points.iter().any(|p| p.style() == kind) {
            continue;
        }
        let x = l + 16;
        match kind {
            Style::Front => c.disc(x, y, FRONT_RADIUS, FRONT_COLOR),
            Style::Candidate => c.disc(x, y, CANDIDATE_RADIUS, CANDIDATE_COLOR),
            Style::Extra => c.hollow_square(x, y, EXTRA_HALF, EXTRA_COLOR),
        }
        c.text(x + 14, y - TEXT_HEIGHT / 2 + 2, label, TEXT_COLOR);
        y += TEXT_HEIGHT + 6;
    }
    c.image
}

/// Writes a [`PLOT_WIDTH`] × [`PLOT_HEIGHT`] PNG scatter plot of `points` to `path`:
/// cost on the x axis (labelled `x_label`), top-1 accuracy in percent on the y axis, front
/// points in [`FRONT_COLOR`] joined by a step line, extra-band points as hollow
/// [`EXTRA_COLOR`] squares, other points as small [`CANDIDATE_COLOR`] dots; gridlines at
/// "nice" tick values with labels, `title` on top, and a legend. The file is written
/// atomically (to a temporary sibling, then renamed).
pub fn plot_pareto(points: &[PlotPoint], title: &str, x_label: &str, path: &Path) -> Result<()> {
    plot_scatter(points, title, x_label, &PlotLabels::PARETO, path)
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
    if let Some((index, p)) = points
        .iter()
        .enumerate()
        .find(|(_, p)| !(p.cost.is_finite() && p.accuracy.is_finite()))
    {
        return Err(PlotError::NotFinite {
            index,
            cost: p.cost,
            accuracy: p.accuracy,
        });
    }
    let image = render(points, title, x_label, labels);
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
        vec![
            PlotPoint {
                cost: 120.0,
                accuracy: 71.0,
                on_front: false,
                extra: false,
            },
            PlotPoint {
                cost: 135.0,
                accuracy: 69.0,
                on_front: false,
                extra: false,
            },
            PlotPoint {
                cost: 150.0,
                accuracy: 74.5,
                on_front: true,
                extra: false,
            },
            PlotPoint {
                cost: 100.0,
                accuracy: 70.0,
                on_front: true,
                extra: false,
            },
            PlotPoint {
                cost: 125.0,
                accuracy: 72.5,
                on_front: true,
                extra: false,
            },
            PlotPoint {
                cost: 80.0,
                accuracy: 66.0,
                on_front: false,
                extra: true,
            },
        ]
    }

    #[test]
    fn nice_ticks() {
        assert_eq!(nice_step(10.0, 5.0), 2.0);
        assert_eq!(nice_step(0.7, 5.0), 0.1);
        assert_eq!(nice_step(300.0, 5.0), 50.0);
        assert_eq!(nice_step(400.0, 5.0), 100.0);
        let axis = Axis::covering([100.0, 200.0].into_iter());
        assert_eq!(axis.ticks, vec![100.0, 120.0, 140.0, 160.0, 180.0, 200.0]);
        assert_eq!(axis.label(120.0), "120");
        let axis = Axis::covering([69.0, 74.5].into_iter());
        assert_eq!(axis.decimals, 0);
        assert!(axis.ticks.contains(&70.0) && axis.ticks.contains(&74.0));
        let single = Axis::covering([5.0].into_iter());
        assert!(single.min < 5.0 && single.max > 5.0);
        let empty = Axis::covering(std::iter::empty());
        assert!(empty.min < 0.0 && empty.max > 1.0);
    }

    #[test]
    fn writes_a_png_with_the_front_highlighted() {
        let dir = std::env::temp_dir().join(format!("nse-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("front.png");
        let points = sample();
        plot_pareto(&points, "NSE round 1 (mb27)", "MMACs", &path).unwrap();
        let decoded = image::open(&path).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (PLOT_WIDTH, PLOT_HEIGHT));
        assert_eq!(
            image::ImageFormat::from_path(&path).unwrap(),
            ImageFormat::Png
        );

        let layout = Layout::new(&points);
        let at = |x: i64, y: i64| decoded.get_pixel(x as u32, y as u32).0;
        for p in &points {
            let (x, y) = layout.to_pixel(p.cost, p.accuracy);
            assert!(layout.left < x && x < layout.right && layout.top < y && y < layout.bottom);
            match p.style() {
                Style::Front => {
                    // The whole disc interior is highlighted.
                    for (dx, dy) in [(0, 0), (3, 0), (-3, 0), (0, 3), (0, -3)] {
                        assert_eq!(at(x + dx, y + dy), FRONT_COLOR, "front point {p:?}");
                    }
                }
                Style::Candidate => assert_eq!(at(x, y), CANDIDATE_COLOR, "{p:?}"),
                Style::Extra => {
                    assert_eq!(at(x - EXTRA_HALF, y), EXTRA_COLOR, "{p:?}");
                    assert_ne!(at(x, y), EXTRA_COLOR, "hollow: {p:?}");
                }
            }
        }
        // The step line runs at the lower point's accuracy to the next front point's cost.
        let (x0, y0) = layout.to_pixel(100.0, 70.0);
        let (x1, _) = layout.to_pixel(125.0, 72.5);
        assert_eq!(at((x0 + x1) / 2, y0), FRONT_COLOR);
        // No highlight far from the front (below the lowest front point, at low cost).
        let (xe, ye) = layout.to_pixel(80.0, 66.0);
        assert_ne!(at(xe + 20, ye + 20), FRONT_COLOR);
        // Text was drawn: the title row and the tick-label rows hold dark pixels.
        let dark_in = |y0: i64, y1: i64| {
            (y0..y1).any(|y| (0..PLOT_WIDTH as i64).any(|x| at(x, y) == TEXT_COLOR))
        };
        assert!(dark_in(0, layout.top), "title");
        assert!(
            dark_in(layout.bottom + 8, layout.bottom + 8 + TEXT_HEIGHT),
            "x tick labels"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_scatter_without_step_line_leaves_the_path_between_front_points_blank() {
        let dir = std::env::temp_dir().join(format!("nse-scatter-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("scatter.png");
        let points = sample();
        let labels = PlotLabels {
            front: "group a",
            candidate: "group b",
            step_line: false,
            ..PlotLabels::PARETO
        };
        plot_scatter(&points, "two groups", "MMACs", &labels, &path).unwrap();
        let decoded = image::open(&path).unwrap().to_rgb8();
        let layout = Layout::new(&points);
        let at = |x: i64, y: i64| decoded.get_pixel(x as u32, y as u32).0;
        let (x0, y0) = layout.to_pixel(100.0, 70.0);
        let (x1, _) = layout.to_pixel(125.0, 72.5);
        assert_eq!(at(x0, y0), FRONT_COLOR, "the points are drawn");
        assert_ne!(at((x0 + x1) / 2, y0), FRONT_COLOR, "but not joined");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn rejects_non_finite_points() {
        let points = [PlotPoint {
            cost: f64::NAN,
            accuracy: 50.0,
            on_front: true,
            extra: false,
        }];
        let err = plot_pareto(&points, "t", "x", Path::new("/nonexistent/x.png")).unwrap_err();
        assert!(
            matches!(err, PlotError::NotFinite { index: 0, .. }),
            "{err}"
        );
    }
}
