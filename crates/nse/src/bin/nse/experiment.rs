//! `nse experiment`: the experiments that test the search, and `compare` and `known-answer`
//! on finished ones.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use nse::registry;

use nse::space::Architecture;
use nse::train::experiment::{Experiment, ExperimentConfig, serve_retrainings};
use nse::train::ranks::SharedRanks;
use nse::train::run_dir::RunDir;

use crate::common::{Common, recipe, reporter, search_config, stop_on_signals};

#[derive(Args)]
pub(crate) struct ExperimentArgs {
    /// `ranking` (inherited vs retrained accuracy), `ground-truth` (architectures spread
    /// over the window retrained with several seeds, and their noise ceiling), `vs-random`
    /// (the front vs random architectures at matched cost), `vs-fixed` (evolving vs fixed
    /// space, same budget), `compare` (the mean tau of --variant rankings against that of
    /// --base rankings of the same ground truth, with a paired bootstrap interval), or
    /// `known-answer` (how many weak ops the front of --run holds, against anchors, when the
    /// --strong ops are the known answer).
    pub(crate) kind: String,
    /// ground-truth: retrain this architecture (text form, `0+3 | 1 | - | ...`) instead of
    /// drawing them; repeat for each.
    #[arg(long = "architecture", value_name = "TEXT")]
    pub(crate) architectures: Vec<String>,
    /// known-answer: a strong op of the pool (`ir_k3_e6`); repeat for each.
    #[arg(long, value_name = "OP")]
    pub(crate) strong: Vec<String>,
    /// compare: a base ranking's folder (its score) or `DIR#k` (its ensemble member k),
    /// by held-out top-1, or by held-out loss with `@loss` (`DIR#k@loss`); repeat for
    /// several supernets.
    #[arg(long = "base", value_name = "DIR[#k][@loss]")]
    pub(crate) compare_base: Vec<String>,
    /// compare: a variant ranking's folder or `DIR#k`, `@loss` for the loss; repeat for
    /// several supernets.
    #[arg(long = "variant", value_name = "DIR[#k][@loss]")]
    pub(crate) compare_variant: Vec<String>,
    /// A search preset: demo, cifar10, imagenet-mb27, imagenet-mb19-gpu (latency).
    #[arg(long, conflicts_with_all = ["config", "run"])]
    pub(crate) preset: Option<String>,
    /// A search config (JSON, see `nse_train::search::SearchConfig`).
    #[arg(long, conflicts_with = "run")]
    pub(crate) config: Option<PathBuf>,
    /// Override a search config field: `--set epochs_per_round=4` (JSON values).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub(crate) overrides: Vec<String>,
    /// Seed of the search and of the experiment's own draws (overrides the config's).
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Analyse this finished search run instead of running a search.
    #[arg(long)]
    pub(crate) run: Option<PathBuf>,
    /// Architectures: to rank (default 20), of the ground truth (default 24), random ones
    /// (default 8), or front entries per side (default 3).
    #[arg(long)]
    pub(crate) archs: Option<usize>,
    /// ground-truth: retrain this many architectures first and go on only when their
    /// predicted noise ceiling meets the rule (--pilot-min-ceiling, --pilot-min-stratified).
    #[arg(long, default_value_t = 0)]
    pub(crate) pilot: usize,
    /// ground-truth with --pilot: the least predicted 2-seed Kendall-tau ceiling overall.
    #[arg(long, default_value_t = 0.65)]
    pub(crate) pilot_min_ceiling: f64,
    /// ground-truth with --pilot: the least predicted 2-seed ceiling within cost strata.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) pilot_min_stratified: f64,
    /// Retraining seeds per architecture.
    #[arg(long, default_value_t = 1)]
    pub(crate) seeds: usize,
    /// ranking: score the architectures of this earlier ranking's output folder and reuse
    /// its retrained accuracies (same space, data, recipe and seeds) instead of retraining.
    #[arg(long)]
    pub(crate) candidates_from: Option<PathBuf>,
    /// ranking with --candidates-from: also score those architectures after every supernet
    /// training epoch and report tau per epoch (when the ranking forms).
    #[arg(long, requires = "candidates_from")]
    pub(crate) probe: bool,
    /// ranking: rank by the mean score of this many supernets, the search's own and the same
    /// search trained again with the next training seeds (search-m1/, search-m2/, ...).
    #[arg(long, default_value_t = 1)]
    pub(crate) ensemble: usize,
    /// vs-fixed: the baseline at the same budget, `fixed-space` (the first sub-space, no
    /// evolution) or `single-branch` (the same search with at most one op per cell).
    #[arg(long, default_value = "fixed-space")]
    pub(crate) baseline: String,
    /// Retraining recipe: demo, cifar10, or a RetrainConfig JSON file.
    #[arg(long, default_value = "demo")]
    pub(crate) recipe: String,
    /// Override a recipe field: `--retrain-set epochs=2` (JSON values).
    #[arg(long = "retrain-set", value_name = "PATH=VALUE")]
    pub(crate) retrain_overrides: Vec<String>,
    /// Output folder (rerun the same command to continue an interrupted experiment);
    /// compare: the JSON file to write (optional).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) common: Common,
}

/// `nse experiment compare`.
pub(crate) fn compare(args: &ExperimentArgs) -> nse::Result<()> {
    use nse::train::experiment::compare::{compare_rankings, read_columns, write_difference};
    let base = read_columns(&args.compare_base)?;
    let variant = read_columns(&args.compare_variant)?;
    let seed = args.seed.unwrap_or(0);
    let difference = compare_rankings(&base, &variant, 2000, seed)?;
    for (side, columns) in [("base", &difference.base), ("variant", &difference.variant)] {
        for c in columns {
            println!("{side} {}: tau {:.3}", c.column, c.kendall_tau);
        }
    }
    println!("{}", difference.summary());
    if let Some(out) = &args.out {
        write_difference(out, &difference)?;
        println!("report: {}", out.display());
    }
    Ok(())
}

/// `nse experiment known-answer`.
pub(crate) fn known_answer(args: &ExperimentArgs) -> nse::Result<()> {
    use nse::train::experiment::known_answer::known_answer;
    let run = args
        .run
        .as_ref()
        .ok_or("known-answer: give the finished search with --run")?;
    let report = known_answer(run, &args.strong)?;
    println!("{}", report.summary());
    if let Some(out) = &args.out {
        nse::train::run_dir::write_json(out, &report)?;
        println!("report: {}", out.display());
    }
    Ok(())
}

/// Refuses the options that `compare` and `known-answer` (which read finished runs and train
/// nothing) would otherwise ignore silently.
fn refuse_training_options(args: &ExperimentArgs) -> nse::Result<()> {
    let given = [
        ("--preset", args.preset.is_some()),
        ("--config", args.config.is_some()),
        ("--set", !args.overrides.is_empty()),
        ("--retrain-set", !args.retrain_overrides.is_empty()),
        ("--architecture", !args.architectures.is_empty()),
        ("--archs", args.archs.is_some()),
        ("--candidates-from", args.candidates_from.is_some()),
    ];
    match given.iter().find(|(_, set)| *set) {
        Some((flag, _)) => Err(nse::Error::Usage(format!(
            "{flag} does not apply to `nse experiment {}`, which reads finished runs",
            args.kind
        ))),
        None => Ok(()),
    }
}

/// `nse experiment` on this process's rank of `ranks` (one rank unless started by an MPI
/// launcher): rank 0 runs the experiment and prints, the other ranks retrain what it hands
/// them ([`serve_retrainings`]).
pub(crate) fn experiment(args: ExperimentArgs, ranks: SharedRanks) -> nse::Result<()> {
    if !args.strong.is_empty() && args.kind != "known-answer" {
        return Err("--strong is for `nse experiment known-answer`".into());
    }
    if (!args.compare_base.is_empty() || !args.compare_variant.is_empty()) && args.kind != "compare"
    {
        return Err("--base and --variant are for `nse experiment compare`".into());
    }
    if ranks.size() > 1 && matches!(args.kind.as_str(), "compare" | "known-answer") {
        return Err(nse::Error::Usage(format!(
            "`nse experiment {}` does not run across MPI ranks: start it without mpirun",
            args.kind
        )));
    }
    match args.kind.as_str() {
        "compare" => {
            refuse_training_options(&args)?;
            if args.run.is_some() {
                return Err("--run is for `nse experiment known-answer`".into());
            }
            return compare(&args);
        }
        "known-answer" => {
            refuse_training_options(&args)?;
            return known_answer(&args);
        }
        _ => {}
    }
    let out = args
        .out
        .clone()
        .ok_or("--out is required: the experiment's folder")?;
    let stop = stop_on_signals();
    let device = args.common.single_device("experiment")?;
    let kind = registry::experiment(&args.kind)?;
    let search = match &args.run {
        Some(run) => {
            if !args.overrides.is_empty() || args.seed.is_some() {
                return Err(
                    "--run analyses the run with its saved config: drop --set/--seed".into(),
                );
            }
            let folder = RunDir::new(run);
            if !folder.has_config() {
                return Err(nse::Error::Usage(format!(
                    "--run {}: not a search run directory (no {})",
                    run.display(),
                    folder.config_path().display()
                )));
            }
            folder.read_config()?
        }
        None => search_config(&args.preset, &args.config, &args.overrides, args.seed)?,
    };
    let mut config =
        ExperimentConfig::new(kind, search, recipe(&args.recipe, &args.retrain_overrides)?);
    config.run = args.run.clone();
    config.seeds = args.seeds;
    config.candidates_from = args.candidates_from.clone();
    config.probe = args.probe;
    config.ensemble = args.ensemble;
    config.baseline = registry::baseline(&args.baseline)?;
    config.pilot = args.pilot;
    if !args.architectures.is_empty() {
        config.architectures = args
            .architectures
            .iter()
            .map(|t| t.parse::<Architecture>())
            .collect::<Result<_, _>>()?;
        config.archs = config.architectures.len();
    }
    config.pilot_rule.min_ceiling = args.pilot_min_ceiling;
    config.pilot_rule.min_stratified_ceiling = args.pilot_min_stratified;
    if let Some(n) = args.archs {
        config.archs = n;
    }
    let started = Instant::now();
    if !ranks.is_root() {
        let mut quiet = reporter(true);
        return Ok(serve_retrainings(&*ranks, &device, &stop, quiet.as_mut())?);
    }
    let mut experiment = Experiment::new(config, &out, &device)?;
    experiment.stop_when(stop);
    experiment.spread_over(ranks)?;
    let mut reporter = reporter(args.common.quiet);
    let report = experiment.run(reporter.as_mut())?;
    println!("{}", report.summary());
    println!(
        "report: {} ({:.0} s)",
        out.join(format!("{}.json", kind.name())).display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
