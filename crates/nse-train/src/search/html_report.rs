//! `report.html`: one self-contained page about a search run (no scripts, no network access,
//! charts as inline SVG), built from the run's `log.jsonl`, `front.json` and `config.json`:
//!
//! - per round, the Pareto scatter of the evaluated architectures with the front, the extra
//!   band and the resource window (from `config.json`) shaded;
//! - the sub-space's evolution per cell and round: the ops searched, kept, dropped and
//!   brought in, by name;
//! - the indicators of every cell's ops over the training epochs;
//! - the supernet's training curves (loss and accuracy per epoch);
//! - the final front: MACs, parameters, latency where known, held-out accuracy and ops.
//!
//! ```no_run
//! let page = nse_train::search::html_report::write_report("runs/demo".as_ref())?;
//! println!("open {}", page.display());
//! # Ok::<(), nse_train::search::SearchError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use nse_space::pareto::Origin;
use nse_space::{Architecture, ResourceWindow, SearchSpace, SpaceSpec};

use crate::plot::svg::{Line, lines_svg, pareto_svg};
use crate::run_dir::RunDir;
use crate::search::error::{Result, SearchError};
use crate::search::events::{SearchEvent, read_log};
use crate::search::front::Front;
use crate::search::report::{FrontEntry, FrontFile};

/// The report's file name in the run directory.
pub use crate::run_dir::REPORT_FILE;

/// One round as the log tells it.
#[derive(Debug, Default)]
struct Round {
    subspace: Vec<Vec<usize>>,
    /// `(architecture, cost, accuracy, origin)` of every evaluation.
    evaluated: Vec<(Architecture, f64, f64, Origin)>,
    front: Vec<FrontEntry>,
    kept: Vec<Vec<usize>>,
    introduced: Vec<Vec<usize>>,
    /// Ops dropped during training (indicator-driven), per cell.
    dropped: Vec<Vec<usize>>,
    ended: bool,
}

/// Everything the page shows, read from a run directory.
#[derive(Debug)]
struct Run {
    space: SpaceSpec,
    unit: String,
    rounds: BTreeMap<usize, Round>,
    /// `(global epoch, round, per cell per pool op)` indicator snapshots.
    alphas: Vec<(usize, usize, Vec<Vec<f32>>)>,
    /// `(step, loss, accuracy)` per training epoch.
    training: Vec<(u64, f64, f64)>,
    front: Option<FrontFile>,
    finished: bool,
    /// The resource window in the cost unit, from `config.json` (none without one, or while
    /// it is still relative).
    window: Option<ResourceWindow>,
}

fn read_run(dir: &Path) -> Result<Run> {
    let log_path = RunDir::new(dir).log_path();
    if !log_path.is_file() {
        return Err(SearchError::Config(format!(
            "{} is not a search run: it has no log.jsonl",
            dir.display()
        )));
    }
    let events = read_log(&log_path)?;
    let mut space = None;
    let mut unit = String::from("MMACs");
    let mut rounds: BTreeMap<usize, Round> = BTreeMap::new();
    let mut alphas = Vec::new();
    let mut training = Vec::new();
    let mut finished = false;
    for event in events {
        match event {
            SearchEvent::Start {
                space: s, unit: u, ..
            } => {
                space = Some(s);
                if !u.is_empty() {
                    unit = u;
                }
            }
            SearchEvent::RoundStart {
                round, subspace, ..
            } => {
                // A resumed round starts again: keep what the log says last.
                let r = rounds.entry(round).or_default();
                r.dropped = vec![Vec::new(); subspace.len()];
                r.subspace = subspace;
            }
            SearchEvent::Dropped { round, ops, .. } => {
                let r = rounds.entry(round).or_default();
                r.dropped.resize(ops.len().max(r.dropped.len()), Vec::new());
                for (cell, ops) in ops.into_iter().enumerate() {
                    for op in ops {
                        if !r.dropped[cell].contains(&op) {
                            r.dropped[cell].push(op);
                        }
                    }
                }
            }
            SearchEvent::Train {
                step,
                loss,
                accuracy,
                ..
            } => {
                training.retain(|&(s, _, _)| s < step);
                training.push((step, loss, accuracy));
            }
            SearchEvent::EpochEnd {
                round, alphas: a, ..
            } => {
                let epoch = alphas.len();
                alphas.push((epoch, round, a));
            }
            SearchEvent::Evaluated {
                round,
                architecture,
                origin,
                cost,
                accuracy,
                ..
            } => rounds.entry(round).or_default().evaluated.push((
                architecture,
                cost,
                accuracy,
                origin,
            )),
            SearchEvent::RoundEnd {
                round,
                front,
                introduced,
                kept,
                ..
            } => {
                let r = rounds.entry(round).or_default();
                r.front = front;
                r.introduced = introduced;
                r.kept = kept;
                r.ended = true;
            }
            SearchEvent::Finish { .. } => finished = true,
            _ => {}
        }
    }
    let space = space.ok_or_else(|| {
        SearchError::Config(format!(
            "{}: the log has no start event",
            log_path.display()
        ))
    })?;
    let front_path = RunDir::new(dir).front_path();
    let front = if front_path.is_file() {
        Some(FrontFile::read(&front_path)?)
    } else {
        None
    };
    Ok(Run {
        space,
        unit,
        rounds,
        alphas,
        training,
        front,
        finished,
        window: read_window(dir)?,
    })
}

/// The resolved resource window of the run's `config.json`; `None` when the run has no
/// config or its setting is still [`relative`](crate::search::ResourceConfig::relative).
fn read_window(dir: &Path) -> Result<Option<ResourceWindow>> {
    let run = RunDir::new(dir);
    if !run.has_config() {
        return Ok(None);
    }
    let config = run.read_config()?;
    let window = config.resource.window();
    Ok((!config.resource.relative && window.check().is_ok()).then_some(window))
}

/// HTML-escapes text.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The names of pool ops `ops`, joined.
fn names(space: &SearchSpace, ops: &[usize]) -> String {
    if ops.is_empty() {
        return "—".into();
    }
    ops.iter()
        .map(|&i| space.op_name(i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `mb27` for a reference pool, `custom` for a list of ops.
fn pool_name(space: &SpaceSpec) -> String {
    match serde_json::to_value(&space.pool) {
        Ok(serde_json::Value::String(name)) => name,
        _ => "custom".into(),
    }
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}h3{margin-top:1.2em}\
table{border-collapse:collapse;margin:0.6em 0;font-size:0.9em}\
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}\
figure{margin:0.8em 0}.charts{display:flex;flex-wrap:wrap;gap:8px}\
.charts figure{flex:0 0 auto}.note{color:#555;font-size:0.9em}";

/// Renders the report of the run in `dir` as one HTML page.
pub fn render_report(dir: &Path) -> Result<String> {
    let run = read_run(dir)?;
    let space = run.space.check()?;
    let plot_error = |e: crate::plot::PlotError| SearchError::Config(format!("report chart: {e}"));
    let mut html = String::new();
    let title = format!("NSE search: {}", dir.display());
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let ended = run.rounds.values().filter(|r| r.ended).count();
    let _ = writeln!(
        html,
        "<p>Pool <b>{}</b> ({} ops), {} cells, sub-space of {} ops per cell; cost in {}. \
         {} round(s) ended{}.</p>",
        esc(&pool_name(&run.space)),
        space.pool().len(),
        space.num_cells(),
        run.space.subspace_size,
        esc(&run.unit),
        ended,
        if run.finished {
            ", search finished"
        } else {
            ", search not finished (resume it to continue)"
        }
    );
    if let Some(w) = &run.window {
        let _ = writeln!(
            html,
            "<p>Resource window {:.4}..{:.4} {unit} (shaded green in the round charts), extra \
             band {:.4}..{:.4} {unit} below it (shaded orange).</p>",
            w.low(),
            w.high(),
            w.extra_low(),
            w.low(),
            unit = esc(&run.unit),
        );
    }
    html.push_str(
        "<nav><a href=\"#front\">Final front</a> · <a href=\"#rounds\">Rounds</a> · \
         <a href=\"#evolution\">Sub-space evolution</a> · <a href=\"#indicators\">Indicators</a> · \
         <a href=\"#training\">Training</a></nav>\n",
    );

    // The final front.
    html.push_str("<h2 id=\"front\">Final front</h2>\n");
    match &run.front {
        Some(front) => {
            let has_latency = front.front.iter().any(|e| e.latency.is_some());
            let _ = writeln!(
                html,
                "<table><tr><th>#</th><th>MMACs</th><th>params (M)</th>{}<th>held-out top-1 (%)</th>\
                 <th>architecture</th><th>ops</th></tr>",
                if has_latency {
                    format!(
                        "<th>latency ({})</th>",
                        esc(front.unit.as_deref().unwrap_or("ms"))
                    )
                } else {
                    String::new()
                }
            );
            html.push_str(&Front::new(front.front.clone()).report_rows(has_latency, esc));
            html.push_str(
                "</table>\n<p class=\"note\">Accuracies are inherited from the supernet \
                 (after batch-norm recalibration); <code>nse retrain</code> trains an entry from \
                 scratch.</p>\n",
            );
        }
        None => html.push_str("<p>No <code>front.json</code> yet.</p>\n"),
    }

    // Per round: the Pareto scatter.
    html.push_str("<h2 id=\"rounds\">Rounds</h2>\n<div class=\"charts\">\n");
    for (round, r) in &run.rounds {
        let points = Front::new(r.front.clone()).chart_points(r.evaluated.iter().map(
            |(architecture, cost, accuracy, origin)| (architecture, *cost, *accuracy, *origin),
        ));
        let svg = pareto_svg(
            &points,
            &format!("round {round}: {} evaluated", points.len()),
            &run.unit,
            run.window.as_ref(),
        )
        .map_err(plot_error)?;
        let _ = writeln!(html, "<figure>{svg}</figure>");
    }
    html.push_str("</div>\n");

    // Sub-space evolution.
    html.push_str(
        "<h2 id=\"evolution\">Sub-space evolution</h2>\n<p class=\"note\">Per round and cell: the \
         ops searched, those the round's front kept, those dropped (by the indicators during \
         training, or at the round's end) and those brought in from the pool for the next \
         round.</p>\n",
    );
    for (round, r) in &run.rounds {
        let _ = writeln!(
            html,
            "<h3>Round {round}</h3>\n<table><tr><th>cell</th><th>searched</th><th>kept</th>\
             <th>dropped</th><th>brought in</th></tr>"
        );
        // After the last round no evolution is logged (nothing kept or brought in): the
        // front's ops are what it would keep.
        let last = r.kept.iter().all(Vec::is_empty) && r.introduced.iter().all(Vec::is_empty);
        for (cell, searched) in r.subspace.iter().enumerate() {
            let kept = if last {
                let mut ops: Vec<usize> = r
                    .front
                    .iter()
                    .filter_map(|e| e.architecture.cells().get(cell))
                    .flat_map(|set| set.iter().copied())
                    .collect();
                ops.sort_unstable();
                ops.dedup();
                ops
            } else {
                r.kept.get(cell).cloned().unwrap_or_default()
            };
            let mut dropped = r.dropped.get(cell).cloned().unwrap_or_default();
            if r.ended {
                for op in searched {
                    if !kept.contains(op) && !dropped.contains(op) {
                        dropped.push(*op);
                    }
                }
            }
            let introduced = r.introduced.get(cell).cloned().unwrap_or_default();
            let kept_text = if r.ended {
                names(&space, &kept)
            } else {
                "(round not ended)".into()
            };
            let _ = writeln!(
                html,
                "<tr><td>{cell}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&names(&space, searched)),
                esc(&kept_text),
                esc(&names(&space, &dropped)),
                esc(&names(&space, &introduced))
            );
        }
        html.push_str("</table>\n");
    }

    // Indicators per cell over the epochs.
    html.push_str(
        "<h2 id=\"indicators\">Indicators</h2>\n<p class=\"note\">The importance indicator of \
         every op of a cell's sub-space at the end of each supernet training epoch (epochs \
         counted over all rounds).</p>\n<div class=\"charts\">\n",
    );
    for cell in 0..space.num_cells() {
        let mut per_op: BTreeMap<usize, Vec<(f64, f64)>> = BTreeMap::new();
        for (epoch, round, alphas) in &run.alphas {
            let searched = run
                .rounds
                .get(round)
                .and_then(|r| r.subspace.get(cell))
                .cloned()
                .unwrap_or_default();
            if let Some(values) = alphas.get(cell) {
                for &op in &searched {
                    if let Some(&v) = values.get(op) {
                        per_op
                            .entry(op)
                            .or_default()
                            .push((*epoch as f64 + 1.0, f64::from(v)));
                    }
                }
            }
        }
        let lines: Vec<Line> = per_op
            .into_iter()
            .map(|(op, points)| Line {
                label: names(&space, &[op]),
                points,
            })
            .collect();
        let svg =
            lines_svg(&lines, &format!("cell {cell}"), "epoch", "indicator").map_err(plot_error)?;
        let _ = writeln!(html, "<figure>{svg}</figure>");
    }
    html.push_str("</div>\n");

    // Training curves.
    html.push_str("<h2 id=\"training\">Training</h2>\n<div class=\"charts\">\n");
    let loss = Line {
        label: "training loss".into(),
        points: run
            .training
            .iter()
            .map(|&(s, l, _)| (s as f64, l))
            .collect(),
    };
    let accuracy = Line {
        label: "training top-1 (%)".into(),
        points: run
            .training
            .iter()
            .map(|&(s, _, a)| (s as f64, a))
            .collect(),
    };
    for (line, y) in [(loss, "loss"), (accuracy, "top-1 (%)")] {
        let svg = lines_svg(
            std::slice::from_ref(&line),
            &format!("supernet {y} per epoch"),
            "weight step",
            y,
        )
        .map_err(plot_error)?;
        let _ = writeln!(html, "<figure>{svg}</figure>");
    }
    html.push_str("</div>\n</body></html>\n");
    Ok(html)
}

/// Writes `report.html` into the run directory `dir` and returns its path.
pub fn write_report(dir: &Path) -> Result<PathBuf> {
    let html = render_report(dir)?;
    let path = RunDir::new(dir).report_path();
    nse_supernet::durable::write_bytes(&path, html.as_bytes())
        .map_err(|e| SearchError::io(&path, e))?;
    Ok(path)
}
