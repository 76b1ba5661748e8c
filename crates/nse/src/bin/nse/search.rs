//! `nse search`: run or resume a search, then (`--retrain`) retrain its best entry.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::Args;

use nse::train::run_dir::RunDir;
use nse::train::search::html_report;
use nse::train::search::{Search, SearchConfig, SearchOutcome, SharedRanks};
use nse::train::tensorboard::SearchBoard;

use crate::common::{Common, recipe, reporter, search_config, stop_on_signals};
use crate::retrain::run_retrain;

#[derive(Args)]
pub(crate) struct SearchArgs {
    /// A search preset: demo, cifar10, imagenet-mb27, imagenet-mb19-gpu (latency).
    #[arg(long, conflicts_with_all = ["config", "resume"])]
    pub(crate) preset: Option<String>,
    /// A search config (JSON, see `nse_train::search::SearchConfig`).
    #[arg(long, conflicts_with = "resume")]
    pub(crate) config: Option<PathBuf>,
    /// Continue the search in this run directory from its latest checkpoint.
    #[arg(long)]
    pub(crate) resume: Option<PathBuf>,
    /// Override a config field: `--set lr.base=0.2 --set evaluation.n=50` (JSON values).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub(crate) overrides: Vec<String>,
    /// Seed (overrides the config's).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Stop after this many weight steps (a checkpoint is written; resume to continue).
    #[arg(long)]
    pub(crate) max_steps: Option<u64>,
    /// Output (run) directory.
    #[arg(long, default_value = "runs/search")]
    pub(crate) out: PathBuf,
    /// After the search, retrain the most accurate front architecture with the `demo`
    /// recipe (or --recipe) into OUT/retrain.
    #[arg(long)]
    pub(crate) retrain: bool,
    /// Recipe for --retrain: demo, cifar10, or a RetrainConfig JSON file.
    #[arg(long, default_value = "demo")]
    pub(crate) recipe: String,
    /// Write no TensorBoard event files (by default OUT/tensorboard/, and
    /// OUT/retrain/tensorboard/ with --retrain: `tensorboard --logdir OUT`).
    #[arg(long)]
    pub(crate) no_tensorboard: bool,
    #[command(flatten)]
    pub(crate) common: Common,
}

/// A latency search whose JSON table does not exist yet gets one: every layer of its space
/// timed on `device` with `nse latency build`'s defaults (batch 1), written where the config
/// names it and reused from then on. The reference's CSV is never built.
pub(crate) fn build_missing_latency_table(
    config: &SearchConfig,
    device: &burn::tensor::Device,
    quiet: bool,
) -> nse::Result<()> {
    let r = &config.resource;
    let Some(path) = r.latency_table.as_ref() else {
        return Ok(());
    };
    let is_csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if r.metric != nse::space::CostKind::Latency || path.exists() || is_csv {
        return Ok(());
    }
    let space = config.space.check()?;
    let settings = nse::modules::latency::MeasureSettings::default();
    println!(
        "latency: {} does not exist; timing the space's layers on {device:?} (batch {}) into \
         it. `nse latency build` builds one with other settings.",
        path.display(),
        settings.batch
    );
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| nse::Error::file(parent, e))?;
    }
    let mut reporter = reporter(quiet);
    nse::train::latency::build_table(&space, device, &settings, path, reporter.as_mut())?;
    Ok(())
}

/// `nse search` on this process's rank of `ranks` (one rank unless started by an MPI
/// launcher): rank 0 writes the run folder and prints; the other ranks work in private
/// folders and print nothing.
/// A latency search over ranks needs its table on every node before it starts: timing
/// layers on each rank would give each its own costs.
fn refuse_missing_latency_table(config: &SearchConfig) -> nse::Result<()> {
    let r = &config.resource;
    match r.latency_table.as_ref() {
        Some(path) if r.metric == nse::space::CostKind::Latency && !path.exists() => {
            Err(nse::Error::Usage(format!(
                "latency table {} does not exist: build it once with `nse latency build` and \
                 copy it to every node (ranks do not time layers on their own)",
                path.display()
            )))
        }
        _ => Ok(()),
    }
}

pub(crate) fn search(args: SearchArgs, ranks: SharedRanks) -> nse::Result<()> {
    let stop = stop_on_signals();
    let devices = args.common.devices()?;
    let device = devices[0].clone();
    let started = Instant::now();
    let root = ranks.is_root();
    let mut search = if let Some(dir) = &args.resume {
        if !args.overrides.is_empty() || args.seed.is_some() {
            return Err("--resume continues with the run's saved config: drop --set/--seed".into());
        }
        Search::resume_on_ranks(dir, &device, args.max_steps, Arc::clone(&ranks))?
    } else {
        let mut config = search_config(&args.preset, &args.config, &args.overrides, args.seed)
            .map_err(|e| {
                if args.preset.is_none() && args.config.is_none() {
                    "give --preset NAME, --config FILE or --resume DIR".into()
                } else {
                    e
                }
            })?;
        // `--max-steps` wins over a `max_steps` in the config or `--set`, never erases it.
        if args.max_steps.is_some() {
            config.max_steps = args.max_steps;
        }
        if ranks.size() > 1 {
            refuse_missing_latency_table(&config)?;
        } else {
            build_missing_latency_table(&config, &device, args.common.quiet)?;
        }
        Search::new_on_ranks(config, &args.out, &device, Arc::clone(&ranks))?
    };
    search.set_devices(&devices)?;
    let run_dir = args.resume.clone().unwrap_or(args.out.clone());
    let board_error = if args.no_tensorboard || !root {
        None
    } else {
        let dir = RunDir::new(&run_dir).tensorboard_dir();
        let (mut board, error) =
            SearchBoard::create(&dir).map_err(|e| nse::Error::file(&dir, e))?;
        search.observe(move |event| board.observe(event));
        Some(error)
    };
    let mut reporter = reporter(args.common.quiet || !root);
    search.stop_when(stop);
    let outcome = search.run(reporter.as_mut())?;
    let folder = RunDir::new(&run_dir);
    if !root {
        // The outcome is the same on every rank: follow rank 0 into the retraining.
        if args.retrain && outcome.finished && !outcome.interrupted {
            retrain_best(&search, &outcome, &args, &devices, &folder, ranks)?;
        }
        return Ok(());
    }
    if let Some(e) = board_error.and_then(|e| e.get()) {
        eprintln!("warning: the TensorBoard event file could not be written: {e}");
    }
    if outcome.interrupted {
        return Err(nse::Error::Usage(format!(
            "interrupted after {} steps (round {}), checkpoint written; continue with: nse search --resume {}",
            outcome.total_steps,
            outcome.rounds_done + 1,
            run_dir.display()
        )));
    }
    if !outcome.finished {
        println!(
            "stopped after {} steps (round {} in progress); continue with: nse search --resume {}",
            outcome.total_steps,
            outcome.rounds_done + 1,
            run_dir.display()
        );
        return Ok(());
    }
    println!(
        "search finished: {} rounds, {} weight steps, {:.0} s",
        outcome.rounds_done,
        outcome.total_steps,
        started.elapsed().as_secs_f64()
    );
    println!(
        "front ({} architectures, cost ascending):",
        outcome.front.len()
    );
    for (i, entry) in outcome.front.iter().enumerate() {
        let latency = entry
            .latency
            .map(|l| format!(" {l:.3} ms"))
            .unwrap_or_default();
        println!(
            "  [{i}] {:.2} MMACs {:.3} M params{latency}  {:.2}%  {}",
            entry.macs as f64 / 1e6,
            entry.params as f64 / 1e6,
            entry.accuracy,
            entry.text
        );
    }
    if let Some(path) = &outcome.front_path {
        println!("front: {}", path.display());
    }
    println!(
        "log: {}  plots: {}",
        folder.log_path().display(),
        folder.pareto_plots_pattern().display()
    );
    let report = html_report::write_report(&run_dir)?;
    println!("report: {}", report.display());
    if args.retrain {
        retrain_best(&search, &outcome, &args, &devices, &folder, ranks)?;
        println!("total wall time: {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// `--retrain`: the most accurate architecture of the front retrained into the run's
/// `retrain/` folder, on every rank of `ranks` (rank 0 prints and writes).
fn retrain_best(
    search: &Search,
    outcome: &SearchOutcome,
    args: &SearchArgs,
    devices: &[nse::burn::tensor::Device],
    folder: &RunDir,
    ranks: SharedRanks,
) -> nse::Result<()> {
    let best = outcome
        .front
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.accuracy.total_cmp(&b.1.accuracy))
        .map(|(i, _)| i)
        .ok_or("the search produced an empty front")?;
    let entry = &outcome.front[best];
    let network = entry.network(&search.config().space, best);
    if ranks.is_root() {
        println!("retraining front entry {best} ({})", entry.text);
    }
    let source = search.config().data.source.clone();
    run_retrain(
        &network,
        &source,
        recipe(&args.recipe, &[])?,
        &folder.retrain_dir(),
        devices,
        args.common.quiet,
        !args.no_tensorboard,
        ranks,
    )
}
