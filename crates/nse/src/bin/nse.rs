//! `nse`: Neural Search-space Evolution from the command line.
//!
//! ```text
//! nse search --preset demo --retrain          # the README's main job
//! nse search --config my_search.json --set batch_size=256 --out runs/cifar
//! nse search --resume runs/cifar
//! nse retrain --front runs/cifar/front.json --index 0 --out runs/cifar/retrain-0
//! nse eval --model runs/cifar/retrain-0
//! nse export --pytorch export/cifar --model runs/cifar/retrain-0
//! nse report runs/cifar
//! nse stats nsenet
//! nse experiment ranking --preset demo --archs 20 --out runs/ranking
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use nse::data::Normalize;
use nse::device;
use nse::space::NetworkSpec;
use nse::space::{Architecture, SearchSpace};
use nse::supernet::ChildNetwork;
use nse::supernet::pytorch::{ExportInfo, export_pytorch};
use nse::train::experiment::{
    Baseline, Experiment, ExperimentConfig, ExperimentKind, ExperimentReport,
};
use nse::train::interrupt::StopFlag;
use nse::train::progress::{Quiet, Reporter, Terminal};
use nse::train::retrain::{
    EvalSettings, MODEL_FILE, NETWORK_FILE, RetrainConfig, RetrainOptions, evaluate, retrain,
};
use nse::train::run_dir::RunDir;
use nse::train::search::data::{normalization, open_splits, retrain_data};
use nse::train::search::html_report;
use nse::train::search::{DataSource, FrontFile, NormalizeChoice, Search, SearchConfig};
use nse::train::tensorboard::{RetrainBoard, SearchBoard};

/// Neural Search-space Evolution (NSE, ICCV 2021) on Burn.
#[derive(Parser)]
#[command(name = "nse", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run (or resume) an NSE search.
    Search(SearchArgs),
    /// Train an architecture from scratch as a standalone network.
    Retrain(RetrainArgs),
    /// Evaluate a retrained model on the test split.
    Eval(EvalArgs),
    /// Print the MACs and parameters of an architecture.
    Stats(StatsArgs),
    /// Write a search run's report.html: Pareto fronts per round, the sub-space's evolution,
    /// indicators, training curves and the final front, in one self-contained page.
    Report(ReportArgs),
    /// Export a network to PyTorch: model.py (plain torch.nn), model.safetensors, and a
    /// sample with nse's logits that `python model.py` checks.
    Export(ExportArgs),
    /// Test the search: supernet ranking, NSE vs random, evolving vs fixed space.
    Experiment(Box<ExperimentArgs>),
    /// Latency tables: `nse latency build` times every layer of a space on a device.
    #[command(subcommand)]
    Latency(LatencyCommand),
    /// Data preparation: `nse data hold-back` moves training images into the test set.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Subcommand)]
enum DataCommand {
    /// Write image lists of a train/ + test/ image-folder tree with COUNT training images
    /// (class-stratified, by seed) moved to the test list: `train.txt` and `test.txt` for
    /// `data.source = {"kind": "image_list", ...}`, so that retrained networks are evaluated
    /// on more images.
    HoldBack(HoldBackArgs),
}

#[derive(Args)]
struct HoldBackArgs {
    /// The tree (ROOT/train/<class>/<image>, ROOT/test/<class>/<image>).
    #[arg(long)]
    root: PathBuf,
    /// Training images to move to the test list.
    #[arg(long)]
    count: usize,
    /// Seed of the choice.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder for train.txt and test.txt.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Subcommand)]
enum LatencyCommand {
    /// Time every layer a search space needs on a device into a latency table (JSON) that
    /// `--set resource.metric=latency --set resource.latency_table=FILE` searches with.
    Build(LatencyBuildArgs),
    /// Compare a table's predictions with the measured latency of random whole networks of
    /// the space (Spearman rho, mean error, a fitted per-layer overhead).
    Validate(LatencyValidateArgs),
}

#[derive(Args)]
struct LatencyValidateArgs {
    /// The space (as for `latency build`).
    #[arg(long)]
    space: String,
    /// The table: the NSE reference's CSV or a JSON table.
    #[arg(long)]
    table: PathBuf,
    /// Random architectures to time.
    #[arg(long, default_value_t = 30)]
    archs: usize,
    /// Seed of their draw.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Images per timed forward pass.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Untimed passes before timing each network.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed passes per network (the median is kept).
    #[arg(long, default_value_t = 7)]
    repeats: usize,
    /// When the stem counts: reference (only with 32 stem channels), always or never.
    #[arg(long, default_value = "reference")]
    latency_stem: String,
    /// Leave out the adds that merge the branches of a non-residual cell.
    #[arg(long)]
    no_merge_adds: bool,
    /// Write the report (every architecture) as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Add the fitted per-layer overhead to the table file (a JSON table), so that searches
    /// and `nse stats` with it predict whole networks.
    #[arg(long)]
    fit: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct LatencyBuildArgs {
    /// A space preset (cifar10-mb27, imagenet-mb27, ...), a published network's space
    /// (nsenet-gpu, ...), or a SpaceSpec JSON file.
    #[arg(long)]
    space: String,
    /// Images per timed forward pass.
    #[arg(long, default_value_t = 1)]
    batch: usize,
    /// Untimed passes before timing each layer.
    #[arg(long, default_value_t = 3)]
    warmup: usize,
    /// Timed passes per layer (the median is kept).
    #[arg(long, default_value_t = 7)]
    repeats: usize,
    /// The table file (an existing table of the same device and settings is completed).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ExperimentArgs {
    /// `ranking` (inherited vs retrained accuracy), `ground-truth` (architectures spread
    /// over the window retrained with several seeds, and their noise ceiling), `vs-random`
    /// (the front vs random architectures at matched cost), `vs-fixed` (evolving vs fixed
    /// space, same budget), `compare` (the mean tau of --variant rankings against that of
    /// --base rankings of the same ground truth, with a paired bootstrap interval), or
    /// `known-answer` (how many weak ops the front of --run holds, against anchors, when the
    /// --strong ops are the known answer).
    kind: String,
    /// ground-truth: retrain this architecture (text form, `0+3 | 1 | - | ...`) instead of
    /// drawing them; repeat for each.
    #[arg(long = "architecture", value_name = "TEXT")]
    architectures: Vec<String>,
    /// known-answer: a strong op of the pool (`ir_k3_e6`); repeat for each.
    #[arg(long, value_name = "OP")]
    strong: Vec<String>,
    /// compare: a base ranking's folder (its score) or `DIR#k` (its ensemble member k);
    /// repeat for several supernets.
    #[arg(long = "base", value_name = "DIR[#k]")]
    compare_base: Vec<String>,
    /// compare: a variant ranking's folder or `DIR#k`; repeat for several supernets.
    #[arg(long = "variant", value_name = "DIR[#k]")]
    compare_variant: Vec<String>,
    /// A search preset: demo, cifar10, imagenet-mb27, imagenet-mb19-gpu (latency).
    #[arg(long, conflicts_with_all = ["config", "run"])]
    preset: Option<String>,
    /// A search config (JSON, see `nse_train::search::SearchConfig`).
    #[arg(long, conflicts_with = "run")]
    config: Option<PathBuf>,
    /// Override a search config field: `--set epochs_per_round=4` (JSON values).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    overrides: Vec<String>,
    /// Seed of the search and of the experiment's own draws (overrides the config's).
    #[arg(long)]
    seed: Option<u64>,
    /// Analyse this finished search run instead of running a search.
    #[arg(long)]
    run: Option<PathBuf>,
    /// Architectures: to rank (default 20), of the ground truth (default 24), random ones
    /// (default 8), or front entries per side (default 3).
    #[arg(long)]
    archs: Option<usize>,
    /// ground-truth: retrain this many architectures first and go on only when their
    /// predicted noise ceiling meets the rule (--pilot-min-ceiling, --pilot-min-stratified).
    #[arg(long, default_value_t = 0)]
    pilot: usize,
    /// ground-truth with --pilot: the least predicted 2-seed Kendall-tau ceiling overall.
    #[arg(long, default_value_t = 0.65)]
    pilot_min_ceiling: f64,
    /// ground-truth with --pilot: the least predicted 2-seed ceiling within cost strata.
    #[arg(long, default_value_t = 0.5)]
    pilot_min_stratified: f64,
    /// Retraining seeds per architecture.
    #[arg(long, default_value_t = 1)]
    seeds: usize,
    /// ranking: score the architectures of this earlier ranking's output folder and reuse
    /// its retrained accuracies (same space, data, recipe and seeds) instead of retraining.
    #[arg(long)]
    candidates_from: Option<PathBuf>,
    /// ranking with --candidates-from: also score those architectures after every supernet
    /// training epoch and report tau per epoch (when the ranking forms).
    #[arg(long, requires = "candidates_from")]
    probe: bool,
    /// ranking: rank by the mean score of this many supernets, the search's own and the same
    /// search trained again with the next training seeds (search-m1/, search-m2/, ...).
    #[arg(long, default_value_t = 1)]
    ensemble: usize,
    /// vs-fixed: the baseline at the same budget, `fixed-space` (the first sub-space, no
    /// evolution) or `single-branch` (the same search with at most one op per cell).
    #[arg(long, default_value = "fixed-space")]
    baseline: String,
    /// Retraining recipe: demo, cifar10, or a RetrainConfig JSON file.
    #[arg(long, default_value = "demo")]
    recipe: String,
    /// Override a recipe field: `--retrain-set epochs=2` (JSON values).
    #[arg(long = "retrain-set", value_name = "PATH=VALUE")]
    retrain_overrides: Vec<String>,
    /// Output folder (rerun the same command to continue an interrupted experiment);
    /// compare: the JSON file to write (optional).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct DataArgs {
    /// Dataset: demo, fashion-mnist:DIR, mnist:DIR, cifar10-bin:DIR, image-folder:ROOT
    /// (ROOT/train, ROOT/test) or archive:FILE.tar.gz (extracted under /var/tmp/nse-data).
    /// Default: the search run's data, else the demo subset.
    #[arg(long)]
    data: Option<String>,
}

#[derive(Args)]
struct RetrainArgs {
    /// A NetworkSpec JSON file or a published network name.
    #[arg(long, conflicts_with = "front")]
    arch: Option<String>,
    /// A search's front.json; retrains entry --index.
    #[arg(long)]
    front: Option<PathBuf>,
    /// Entry of the front.
    #[arg(long, default_value_t = 0)]
    index: usize,
    /// Recipe: demo, cifar10, or a RetrainConfig JSON file.
    #[arg(long, default_value = "demo")]
    recipe: String,
    /// Override a recipe field: `--set epochs=10` (JSON values).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    overrides: Vec<String>,
    /// Output directory (model.bpk, model.safetensors, network.json, report.json).
    #[arg(long, default_value = "runs/retrain")]
    out: PathBuf,
    /// Write no TensorBoard event files (by default OUT/tensorboard/).
    #[arg(long)]
    no_tensorboard: bool,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct EvalArgs {
    /// A retrain output directory (network.json + model.bpk).
    #[arg(long)]
    model: PathBuf,
    /// Batch size.
    #[arg(long, default_value_t = 256)]
    batch_size: usize,
    #[command(flatten)]
    data: DataArgs,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ReportArgs {
    /// The search's run directory (log.jsonl, front.json); report.html is written there.
    run: PathBuf,
}

#[derive(Args)]
struct ExportArgs {
    /// Write the PyTorch export (model.py, model.safetensors, check.safetensors) into DIR.
    #[arg(long, value_name = "DIR")]
    pytorch: PathBuf,
    /// A retrain output directory (network.json + model.bpk): the trained network.
    #[arg(
        long,
        value_name = "RETRAIN_DIR",
        required_unless_present = "arch",
        conflicts_with = "arch"
    )]
    model: Option<PathBuf>,
    /// A published network (nsenet27, nsenet, nsenet-gpu), a NetworkSpec JSON file, or a
    /// front.json (with --index), with fresh weights drawn from --seed.
    #[arg(long)]
    arch: Option<String>,
    /// Entry of a front.json given to --arch.
    #[arg(long, default_value_t = 0, requires = "arch")]
    index: usize,
    /// Seed of the fresh weights of --arch.
    #[arg(long, default_value_t = 0, requires = "arch")]
    seed: u64,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct Common {
    /// Compute device: cpu, wgpu, cuda[:N] (GPU ones need the matching build feature).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Spread search and retraining over several devices (data parallelism), the first being
    /// the main one: `cuda:0,cuda:1`, `wgpu:0,wgpu:1`, or `cpu,cpu` (CPU replicas in threads).
    /// Replaces --device. See docs/scaling.md.
    #[arg(long, value_name = "LIST")]
    devices: Option<String>,
    /// No progress bars (log lines only).
    #[arg(long)]
    quiet: bool,
}

impl Common {
    /// The devices to use, the main one first: `--devices`, or `--device` alone.
    fn devices(&self) -> Result<Vec<nse::burn::tensor::Device>, String> {
        match &self.devices {
            Some(list) => device::list_from_names(list),
            None => Ok(vec![device::from_name(&self.device)?]),
        }
    }

    /// The one device of a command that does not spread its work (`--devices` of one name
    /// is accepted).
    fn single_device(&self, command: &str) -> Result<nse::burn::tensor::Device, String> {
        let mut devices = self.devices()?;
        if devices.len() > 1 {
            return Err(format!(
                "`nse {command}` runs on one device: give --device (--devices spreads `nse search` \
                 and `nse retrain`)"
            ));
        }
        Ok(devices.remove(0))
    }
}

#[derive(Args)]
struct SearchArgs {
    /// A search preset: demo, cifar10, imagenet-mb27, imagenet-mb19-gpu (latency).
    #[arg(long, conflicts_with_all = ["config", "resume"])]
    preset: Option<String>,
    /// A search config (JSON, see `nse_train::search::SearchConfig`).
    #[arg(long, conflicts_with = "resume")]
    config: Option<PathBuf>,
    /// Continue the search in this run directory from its latest checkpoint.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Override a config field: `--set lr.base=0.2 --set evaluation.n=50` (JSON values).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    overrides: Vec<String>,
    /// Seed (overrides the config's).
    #[arg(long)]
    seed: Option<u64>,
    /// Stop after this many weight steps (a checkpoint is written; resume to continue).
    #[arg(long)]
    max_steps: Option<u64>,
    /// Output (run) directory.
    #[arg(long, default_value = "runs/search")]
    out: PathBuf,
    /// After the search, retrain the most accurate front architecture with the `demo`
    /// recipe (or --recipe) into OUT/retrain.
    #[arg(long)]
    retrain: bool,
    /// Recipe for --retrain: demo, cifar10, or a RetrainConfig JSON file.
    #[arg(long, default_value = "demo")]
    recipe: String,
    /// Write no TensorBoard event files (by default OUT/tensorboard/, and
    /// OUT/retrain/tensorboard/ with --retrain: `tensorboard --logdir OUT`).
    #[arg(long)]
    no_tensorboard: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct StatsArgs {
    /// A published network (nsenet27, nsenet, nsenet-gpu), a NetworkSpec JSON file, or a
    /// front.json (with --index).
    network: String,
    /// Entry of a front.json.
    #[arg(long, default_value_t = 0)]
    index: usize,
    /// Also print the latency from this table: the NSE reference's CSV or a JSON table.
    #[arg(long, value_name = "FILE")]
    latency_table: Option<PathBuf>,
    /// When the stem counts in the latency: reference (only with 32 stem channels, as the
    /// reference), always or never.
    #[arg(long, default_value = "reference", requires = "latency_table")]
    latency_stem: String,
    /// Leave out the adds that merge the branches of a non-residual cell (the reference's
    /// window sampler does; its indicator loss and Pareto evaluation count them).
    #[arg(long, requires = "latency_table")]
    no_merge_adds: bool,
}

fn set_path(value: &mut Value, path: &str, new: Value) -> Result<(), String> {
    let mut node = value;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let object = node
            .as_object_mut()
            .ok_or_else(|| format!("--set {path}: `{}` is not an object", parts[..i].join(".")))?;
        if i + 1 == parts.len() {
            if !object.contains_key(*part) {
                return Err(format!("--set {path}: unknown field `{part}`"));
            }
            object.insert(part.to_string(), new);
            return Ok(());
        }
        node = object
            .get_mut(*part)
            .ok_or_else(|| format!("--set {path}: unknown field `{part}`"))?;
    }
    Ok(())
}

/// Applies `PATH=VALUE` overrides (VALUE as JSON, or as a string when it is not JSON).
fn apply_overrides<T: serde::Serialize + serde::de::DeserializeOwned>(
    config: T,
    overrides: &[String],
) -> Result<T, String> {
    if overrides.is_empty() {
        return Ok(config);
    }
    let mut value = serde_json::to_value(&config).map_err(|e| e.to_string())?;
    for o in overrides {
        let (path, raw) = o
            .split_once('=')
            .ok_or_else(|| format!("--set `{o}`: expected PATH=VALUE"))?;
        let new = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        set_path(&mut value, path, new)?;
    }
    serde_json::from_value(value).map_err(|e| format!("config after --set: {e}"))
}

fn reporter(quiet: bool) -> Box<dyn Reporter> {
    if quiet {
        Box::new(Quiet)
    } else {
        Box::new(Terminal::default())
    }
}

/// A latency search whose JSON table does not exist yet gets one: every layer of its space
/// timed on `device` with `nse latency build`'s defaults (batch 1), written where the config
/// names it and reused from then on. The reference's CSV is never built.
fn build_missing_latency_table(
    config: &SearchConfig,
    device: &burn::tensor::Device,
    quiet: bool,
) -> Result<(), String> {
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
    let space = config.space.check().map_err(|e| e.to_string())?;
    let settings = nse::modules::latency::MeasureSettings::default();
    println!(
        "latency: {} does not exist; timing the space's layers on {device:?} (batch {}) into \
         it. `nse latency build` builds one with other settings.",
        path.display(),
        settings.batch
    );
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    let mut reporter = reporter(quiet);
    nse::train::latency::build_table(&space, device, &settings, path, reporter.as_mut())
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn search(args: SearchArgs) -> Result<(), String> {
    let stop = stop_on_signals();
    let devices = args.common.devices()?;
    let device = devices[0].clone();
    let started = Instant::now();
    let mut search = if let Some(dir) = &args.resume {
        if !args.overrides.is_empty() || args.seed.is_some() {
            return Err("--resume continues with the run's saved config: drop --set/--seed".into());
        }
        Search::resume(dir, &device, args.max_steps).map_err(|e| e.to_string())?
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
        build_missing_latency_table(&config, &device, args.common.quiet)?;
        Search::new(config, &args.out, &device).map_err(|e| e.to_string())?
    };
    search.set_devices(&devices).map_err(|e| e.to_string())?;
    let run_dir = args.resume.clone().unwrap_or(args.out.clone());
    let board_error = if args.no_tensorboard {
        None
    } else {
        let dir = RunDir::new(&run_dir).tensorboard_dir();
        let (mut board, error) =
            SearchBoard::create(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        search.observe(move |event| board.observe(event));
        Some(error)
    };
    let mut reporter = reporter(args.common.quiet);
    search.stop_when(stop);
    let outcome = search.run(reporter.as_mut()).map_err(|e| e.to_string())?;
    if let Some(e) = board_error.and_then(|e| e.get()) {
        eprintln!("warning: the TensorBoard event file could not be written: {e}");
    }
    if outcome.interrupted {
        return Err(format!(
            "interrupted after {} steps (round {}), checkpoint written; continue with: nse search --resume {}",
            outcome.total_steps,
            outcome.rounds_done + 1,
            run_dir.display()
        ));
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
    let folder = RunDir::new(&run_dir);
    println!(
        "log: {}  plots: {}",
        folder.log_path().display(),
        folder.pareto_plots_pattern().display()
    );
    let report = html_report::write_report(&run_dir).map_err(|e| e.to_string())?;
    println!("report: {}", report.display());
    if args.retrain {
        let best = outcome
            .front
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.accuracy.total_cmp(&b.1.accuracy))
            .map(|(i, _)| i)
            .ok_or("the search produced an empty front")?;
        let entry = &outcome.front[best];
        let network = entry.network(&search.config().space, best);
        println!("retraining front entry {best} ({})", entry.text);
        let source = search.config().data.source.clone();
        run_retrain(
            &network,
            &source,
            recipe(&args.recipe, &[])?,
            &folder.retrain_dir(),
            &devices,
            args.common.quiet,
            !args.no_tensorboard,
        )?;
        println!("total wall time: {:.0} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn search_config(
    preset: &Option<String>,
    config: &Option<PathBuf>,
    overrides: &[String],
    seed: Option<u64>,
) -> Result<SearchConfig, String> {
    let config = match (preset, config) {
        (Some(name), _) => SearchConfig::preset(name).map_err(|e| e.to_string())?,
        (None, Some(path)) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        (None, None) => return Err("give --preset NAME or --config FILE".into()),
    };
    let mut config: SearchConfig = apply_overrides(config, overrides)?;
    if let Some(seed) = seed {
        config.seed = seed;
    }
    Ok(config)
}

/// `nse experiment compare`.
fn compare(args: &ExperimentArgs) -> Result<(), String> {
    use nse::train::experiment::compare::{compare_rankings, read_columns, write_difference};
    let base = read_columns(&args.compare_base).map_err(|e| e.to_string())?;
    let variant = read_columns(&args.compare_variant).map_err(|e| e.to_string())?;
    let seed = args.seed.unwrap_or(0);
    let difference = compare_rankings(&base, &variant, 2000, seed).map_err(|e| e.to_string())?;
    for (side, columns) in [("base", &difference.base), ("variant", &difference.variant)] {
        for c in columns {
            println!("{side} {}: tau {:.3}", c.column, c.kendall_tau);
        }
    }
    println!("{}", difference.summary());
    if let Some(out) = &args.out {
        write_difference(out, &difference).map_err(|e| e.to_string())?;
        println!("report: {}", out.display());
    }
    Ok(())
}

/// `nse experiment known-answer`.
fn known_answer(args: &ExperimentArgs) -> Result<(), String> {
    use nse::train::experiment::known_answer::known_answer;
    let run = args
        .run
        .as_ref()
        .ok_or("known-answer: give the finished search with --run")?;
    let report = known_answer(run, &args.strong).map_err(|e| e.to_string())?;
    println!("{}", report.summary());
    if let Some(out) = &args.out {
        nse::train::run_dir::write_json(out, &report).map_err(|e| e.to_string())?;
        println!("report: {}", out.display());
    }
    Ok(())
}

fn experiment(args: ExperimentArgs) -> Result<(), String> {
    match args.kind.as_str() {
        "compare" => return compare(&args),
        "known-answer" => return known_answer(&args),
        _ => {}
    }
    if !args.strong.is_empty() {
        return Err("--strong is for `nse experiment known-answer`".into());
    }
    if !args.compare_base.is_empty() || !args.compare_variant.is_empty() {
        return Err("--base and --variant are for `nse experiment compare`".into());
    }
    let out = args
        .out
        .clone()
        .ok_or("--out is required: the experiment's folder")?;
    let stop = stop_on_signals();
    let device = args.common.single_device("experiment")?;
    let kind = ExperimentKind::from_name(&args.kind).map_err(|e| e.to_string())?;
    let search = match &args.run {
        Some(run) => {
            if !args.overrides.is_empty() || args.seed.is_some() {
                return Err(
                    "--run analyses the run with its saved config: drop --set/--seed".into(),
                );
            }
            let folder = RunDir::new(run);
            if !folder.has_config() {
                return Err(format!(
                    "--run {}: not a search run directory (no {})",
                    run.display(),
                    folder.config_path().display()
                ));
            }
            folder.read_config().map_err(|e| e.to_string())?
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
    config.baseline = Baseline::from_name(&args.baseline).map_err(|e| e.to_string())?;
    config.pilot = args.pilot;
    if !args.architectures.is_empty() {
        config.architectures = args
            .architectures
            .iter()
            .map(|t| t.parse::<Architecture>().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        config.archs = config.architectures.len();
    }
    config.pilot_rule.min_ceiling = args.pilot_min_ceiling;
    config.pilot_rule.min_stratified_ceiling = args.pilot_min_stratified;
    if let Some(n) = args.archs {
        config.archs = n;
    }
    let started = Instant::now();
    let mut experiment = Experiment::new(config, &out, &device).map_err(|e| e.to_string())?;
    experiment.stop_when(stop);
    let mut reporter = reporter(args.common.quiet);
    let report = experiment
        .run(reporter.as_mut())
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        match &report {
            ExperimentReport::Ranking(r) => r.summary(),
            ExperimentReport::VsRandom(r) => r.summary(),
            ExperimentReport::VsFixed(r) => r.summary(),
            ExperimentReport::GroundTruth(r) => r.summary(),
        }
    );
    println!(
        "report: {} ({:.0} s)",
        out.join(format!("{}.json", kind.name())).display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn hold_back(args: HoldBackArgs) -> Result<(), String> {
    let lists = nse::data::hold_back_lists(&args.root, args.count, args.seed, &args.out)
        .map_err(|e| e.to_string())?;
    println!(
        "{}: {} training images; {}: {} test images and {} held back from training",
        lists.train_list.display(),
        lists.train,
        lists.test_list.display(),
        lists.test,
        lists.held_back
    );
    let source = serde_json::json!({
        "kind": "image_list",
        "root": args.root,
        "train": lists.train_list,
        "test": lists.test_list,
    });
    println!("use them with: --set 'data.source={source}'");
    Ok(())
}

fn recipe(name: &str, overrides: &[String]) -> Result<RetrainConfig, String> {
    let config = match name {
        "demo" => RetrainConfig::demo(),
        "cifar10" => RetrainConfig::cifar10(),
        path => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!("recipe `{path}` is neither demo, cifar10 nor a readable file: {e}")
            })?;
            serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?
        }
    };
    apply_overrides(config, overrides)
}

/// Parses `--data`.
fn data_source(spec: &str) -> Result<DataSource, String> {
    let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
    let path = || {
        if arg.is_empty() {
            Err(format!("--data {kind}: give a path as `{kind}:PATH`"))
        } else {
            Ok(PathBuf::from(arg))
        }
    };
    Ok(match kind {
        "demo" => DataSource::FashionMnistDemo,
        "fashion-mnist" => DataSource::Mnist {
            dir: path()?,
            fashion: true,
        },
        "mnist" => DataSource::Mnist {
            dir: path()?,
            fashion: false,
        },
        "cifar10-bin" => DataSource::Cifar10Binary { dir: path()? },
        "image-folder" => DataSource::ImageFolder { root: path()? },
        "archive" => {
            let file = path()?;
            let stem = file
                .file_name()
                .map(|n| n.to_string_lossy().replace(".tar.gz", ""))
                .unwrap_or_default();
            DataSource::Archive {
                cache: PathBuf::from("/var/tmp/nse-data").join(stem),
                path: file,
            }
        }
        other => {
            return Err(format!(
                "--data `{other}`: expected demo, fashion-mnist:DIR, mnist:DIR, cifar10-bin:DIR, \
                 image-folder:ROOT or archive:FILE"
            ));
        }
    })
}

fn run_retrain(
    network: &NetworkSpec,
    source: &DataSource,
    config: RetrainConfig,
    out: &Path,
    devices: &[nse::burn::tensor::Device],
    quiet: bool,
    tensorboard: bool,
) -> Result<(), String> {
    let device = &devices[0];
    let (space, _) = network.resolve().map_err(|e| e.to_string())?;
    let data = retrain_data(source, &space).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let data_json = serde_json::to_string_pretty(source).map_err(|e| e.to_string())?;
    std::fs::write(out.join("data.json"), data_json)
        .map_err(|e| format!("{}: {e}", out.display()))?;
    let mut reporter = reporter(quiet);
    let started = Instant::now();
    let options = RetrainOptions {
        stop: stop_on_signals(),
        devices: if devices.len() > 1 {
            devices.to_vec()
        } else {
            Vec::new()
        },
        ..RetrainOptions::default()
    };
    let board_error = if tensorboard {
        let dir = out.join(nse::train::run_dir::TENSORBOARD_DIR);
        let (mut board, error) =
            RetrainBoard::create(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        options.observe(move |event| board.observe(event));
        Some(error)
    } else {
        None
    };
    let report = retrain(
        network,
        data,
        &config,
        device,
        out,
        &options,
        reporter.as_mut(),
    )
    .map_err(|e| e.to_string())?;
    if let Some(e) = board_error.and_then(|e| e.get()) {
        eprintln!("warning: the TensorBoard event file could not be written: {e}");
    }
    let last = report.epochs.last().ok_or("retraining ran no epoch")?;
    println!(
        "retrained {} epochs in {:.0} s: test top-1 {:.2}%, top-5 {:.2}% ({:.2} MMACs, {:.3} M params)",
        report.epochs.len(),
        started.elapsed().as_secs_f64(),
        last.test.top1,
        last.test.top5,
        report.macs as f64 / 1e6,
        report.params as f64 / 1e6
    );
    println!(
        "model: {} (and model.safetensors, report.json)",
        out.join(MODEL_FILE).display()
    );
    Ok(())
}

fn retrain_command(args: RetrainArgs) -> Result<(), String> {
    let devices = args.common.devices()?;
    let (network, run_source) = match (&args.arch, &args.front) {
        (Some(arch), None) => (nse::network::load(arch, 0)?, None),
        (None, Some(front)) => {
            let file = FrontFile::read(front).map_err(|e| e.to_string())?;
            // The data of the search that made the front, when it is beside it.
            let source = front
                .parent()
                .and_then(|d| RunDir::new(d).read_config().ok())
                .map(|c| c.data.source);
            (file.network(args.index).map_err(|e| e.to_string())?, source)
        }
        _ => return Err("give --arch FILE|NAME or --front front.json [--index I]".into()),
    };
    let source = match (&args.data.data, run_source) {
        (Some(spec), _) => data_source(spec)?,
        (None, Some(source)) => source,
        (None, None) => DataSource::FashionMnistDemo,
    };
    let config = recipe(&args.recipe, &args.overrides)?;
    run_retrain(
        &network,
        &source,
        config,
        &args.out,
        &devices,
        args.common.quiet,
        !args.no_tensorboard,
    )
}

/// The network of a retrain output directory and its trained weights.
fn load_retrained(
    dir: &Path,
    device: &nse::burn::tensor::Device,
) -> Result<(NetworkSpec, SearchSpace, Architecture, ChildNetwork), String> {
    let network_path = dir.join(NETWORK_FILE);
    let text = std::fs::read_to_string(&network_path)
        .map_err(|e| format!("{}: {e}", network_path.display()))?;
    let network: NetworkSpec =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", network_path.display()))?;
    let (space, arch) = network.resolve().map_err(|e| e.to_string())?;
    let model = ChildNetwork::load(&space, &arch, device, &dir.join(MODEL_FILE))
        .map_err(|e| e.to_string())?;
    Ok((network, space, arch, model))
}

/// The normalisation a retrained model was trained with, from its `report.json` (`None` when
/// the report is missing or has none).
fn recorded_normalize(dir: &Path) -> Option<Normalize> {
    std::fs::read_to_string(dir.join("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| serde_json::from_value(v["normalize"].clone()).ok())
}

fn report_command(args: ReportArgs) -> Result<(), String> {
    let path = html_report::write_report(&args.run).map_err(|e| e.to_string())?;
    println!("report: {}", path.display());
    Ok(())
}

fn export_command(args: ExportArgs) -> Result<(), String> {
    let device = args.common.single_device("export")?;
    let (info, space, arch, model) = match (&args.model, &args.arch) {
        (Some(dir), _) => {
            let (network, space, arch, model) = load_retrained(dir, &device)?;
            let name = network
                .name
                .clone()
                .unwrap_or_else(|| dir.display().to_string());
            let normalize = recorded_normalize(dir).map(|n| (n.mean, n.std));
            (ExportInfo { name, normalize }, space, arch, model)
        }
        (None, Some(arch_name)) => {
            let network = nse::network::load(arch_name, args.index)?;
            let (space, arch) = network.resolve().map_err(|e| e.to_string())?;
            let model = ChildNetwork::from_space(&space, &arch, &device, args.seed)
                .map_err(|e| e.to_string())?;
            let name = network.name.clone().unwrap_or_else(|| arch_name.clone());
            (ExportInfo::named(name), space, arch, model)
        }
        (None, None) => return Err("give --model RETRAIN_DIR or --arch NETWORK".into()),
    };
    let export =
        export_pytorch(&model, &space, &arch, &info, &args.pytorch).map_err(|e| e.to_string())?;
    println!(
        "{}: {} and {}; `python {}` checks PyTorch's logits against nse's on {}",
        info.name,
        export.model_py.display(),
        export.weights.display(),
        export.model_py.display(),
        export.check.display()
    );
    Ok(())
}

fn eval_command(args: EvalArgs) -> Result<(), String> {
    let device = args.common.single_device("eval")?;
    let (_, space, _, model) = load_retrained(&args.model, &device)?;
    let source = match &args.data.data {
        Some(spec) => data_source(spec)?,
        None => std::fs::read_to_string(args.model.join("data.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(DataSource::FashionMnistDemo),
    };
    let channels = space.spec().input_channels;
    let (train, test) = open_splits(&source, channels).map_err(|e| e.to_string())?;
    let test = test.ok_or("the dataset has no test split")?;
    // The normalisation the network was retrained with (its report), else the source's.
    let normalize = match recorded_normalize(&args.model) {
        Some(normalize) if args.data.data.is_none() => normalize,
        _ => normalization(&source, &NormalizeChoice::Auto, channels, &*train)
            .map_err(|e| e.to_string())?,
    };
    let settings = EvalSettings::new(args.batch_size).with_normalize(normalize);
    let mut reporter = reporter(args.common.quiet);
    let report =
        evaluate(&model, test, &settings, &device, reporter.as_mut()).map_err(|e| e.to_string())?;
    println!(
        "{}: top-1 {:.2}%, top-5 {:.2}%, loss {:.4} on {} test images",
        args.model.display(),
        report.top1,
        report.top5,
        report.loss,
        report.images
    );
    Ok(())
}

fn stats(args: StatsArgs) -> Result<(), String> {
    let network = nse::network::load(&args.network, args.index)?;
    let (space, arch) = network.resolve().map_err(|e| e.to_string())?;
    let cost = space.architecture_cost(&arch).map_err(|e| e.to_string())?;
    println!(
        "{}: pool {}, {} cells, {:.2} MMACs, {:.3} M params",
        network.name.as_deref().unwrap_or(&args.network),
        space.pool().name(),
        space.num_cells(),
        cost.total.mmacs(),
        cost.total.mparams()
    );
    println!("  {}", arch.describe(&space));
    if let Some(path) = &args.latency_table {
        let table = nse::ops::latency::LatencyTable::read(path).map_err(|e| e.to_string())?;
        let rules = latency_rules(&args.latency_stem, args.no_merge_adds)?;
        let latency = space
            .architecture_latency(&table, &rules, &arch)
            .map_err(|e| e.to_string())?;
        let unit = &latency.unit;
        let batch = table
            .batch
            .map(|b| format!(" (batch {b})"))
            .unwrap_or_default();
        println!("latency: {:.3} {unit}{batch}", latency.total);
        println!(
            "  stem {:.3}, tail {:.3}; cells: {}",
            latency.stem,
            latency.tail,
            latency
                .cells
                .iter()
                .map(|c| format!("{c:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    Ok(())
}

/// The space named by `--space`: a space preset, a published network's space, or a file.
fn space_spec(name: &str) -> Result<nse::space::SpaceSpec, String> {
    if nse::space::PRESETS.contains(&name) {
        return nse::space::SpaceSpec::preset(name).map_err(|e| e.to_string());
    }
    if nse::space::PUBLISHED.contains(&name) {
        return nse::space::published(name)
            .map(|n| n.space)
            .map_err(|e| e.to_string());
    }
    let path = Path::new(name);
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "--space `{name}`: not a preset ({}), a published network ({}) or a readable \
             file: {e}",
            nse::space::PRESETS.join(", "),
            nse::space::PUBLISHED.join(", ")
        )
    })?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The summation rules of `--latency-stem` and `--no-merge-adds`.
fn latency_rules(stem: &str, no_merge_adds: bool) -> Result<nse::space::LatencyRules, String> {
    let stem = match stem {
        "reference" => nse::space::StemRule::Reference,
        "always" => nse::space::StemRule::Always,
        "never" => nse::space::StemRule::Never,
        other => {
            return Err(format!(
                "--latency-stem `{other}`: expected reference, always or never"
            ));
        }
    };
    Ok(nse::space::LatencyRules {
        merge_adds: !no_merge_adds,
        stem,
    })
}

fn latency_validate(args: LatencyValidateArgs) -> Result<(), String> {
    let device = args.common.single_device("latency validate")?;
    let space = space_spec(&args.space)?
        .check()
        .map_err(|e| e.to_string())?;
    let table = nse::ops::latency::LatencyTable::read(&args.table).map_err(|e| e.to_string())?;
    let rules = latency_rules(&args.latency_stem, args.no_merge_adds)?;
    if args.archs < 2 || args.batch == 0 || args.repeats == 0 {
        return Err("--archs must be at least 2, --batch and --repeats at least 1".into());
    }
    let is_csv = args
        .table
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if args.fit && is_csv {
        return Err("--fit writes into a JSON table, not the reference's CSV".into());
    }
    let settings = nse::train::latency::ValidationSettings {
        measure: nse::modules::latency::MeasureSettings {
            batch: args.batch,
            warmup: args.warmup,
            repeats: args.repeats,
        },
        archs: args.archs,
        seed: args.seed,
    };
    let mut reporter = reporter(args.common.quiet);
    let report = nse::train::latency::validate_table(
        &space,
        &table,
        &rules,
        &device,
        &settings,
        reporter.as_mut(),
    )
    .map_err(|e| e.to_string())?;
    if let Some(out) = &args.out {
        nse::train::run_dir::write_json(out, &report).map_err(|e| e.to_string())?;
    }
    println!("latency validation: {}", report.summary());
    if args.fit {
        let mut table = table;
        table.layer_overhead += report.overhead_per_layer;
        table.output_overhead += report.overhead_per_output_million;
        nse::train::run_dir::write_json(&args.table, &table).map_err(|e| e.to_string())?;
        println!(
            "{}: overhead now {:.4} ms per layer and {:.4} ms per million conv outputs",
            args.table.display(),
            table.layer_overhead,
            table.output_overhead
        );
    }
    Ok(())
}

fn latency_build(args: LatencyBuildArgs) -> Result<(), String> {
    let device = args.common.single_device("latency build")?;
    let space = space_spec(&args.space)?
        .check()
        .map_err(|e| e.to_string())?;
    let settings = nse::modules::latency::MeasureSettings {
        batch: args.batch,
        warmup: args.warmup,
        repeats: args.repeats,
    };
    if settings.batch == 0 || settings.repeats == 0 {
        return Err("--batch and --repeats must be at least 1".into());
    }
    let started = Instant::now();
    let mut reporter = reporter(args.common.quiet);
    let table =
        nse::train::latency::build_table(&space, &device, &settings, &args.out, reporter.as_mut())
            .map_err(|e| e.to_string())?;
    println!(
        "latency table: {} layers in {} ({:.1} s), measured on {}",
        table.entries.len(),
        args.out.display(),
        started.elapsed().as_secs_f64(),
        table.measured_on.as_deref().unwrap_or("?")
    );
    Ok(())
}

/// The stop flag that Ctrl-C and SIGTERM raise.
static STOP: OnceLock<StopFlag> = OnceLock::new();

/// The first SIGINT or SIGTERM raises [`STOP`] (the search stops at its next step, with a
/// checkpoint); a second one ends the process at once.
#[cfg(unix)]
extern "C" fn on_stop_signal(_: libc::c_int) {
    static SEEN: AtomicBool = AtomicBool::new(false);
    if SEEN.swap(true, Ordering::SeqCst) {
        #[allow(unsafe_code)]
        // SAFETY: `_exit` is async-signal-safe and ends the process without unwinding.
        unsafe {
            libc::_exit(130)
        };
    }
    if let Some(flag) = STOP.get() {
        flag.raise();
    }
    let message = b"\nstopping at the next step (a checkpoint is written); press Ctrl-C again to abort at once\n";
    #[allow(unsafe_code)]
    // SAFETY: `write` is async-signal-safe; the buffer outlives the call.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
    }
}

/// Installs the Ctrl-C / SIGTERM handler and returns the flag it raises.
fn stop_on_signals() -> StopFlag {
    let flag = STOP.get_or_init(StopFlag::new).clone();
    #[cfg(unix)]
    #[allow(unsafe_code)]
    // SAFETY: installs a handler that only performs async-signal-safe operations (atomics,
    // `write`, `_exit`); STOP is initialised before the handler can run.
    unsafe {
        let handler = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    flag
}

fn main() -> ExitCode {
    // Output piped into `head` or `grep -q` ends quietly when the reader leaves, as other
    // command-line tools do, instead of panicking on the broken pipe.
    #[cfg(unix)]
    #[allow(unsafe_code)]
    // SAFETY: restores the default disposition of SIGPIPE before any thread starts; no
    // handler of ours is replaced.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if let Err(e) = nse::modules::kernels::KernelMode::from_env() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Search(args) => search(args),
        Command::Retrain(args) => retrain_command(args),
        Command::Eval(args) => eval_command(args),
        Command::Stats(args) => stats(args),
        Command::Export(args) => export_command(args),
        Command::Report(args) => report_command(args),
        Command::Experiment(args) => experiment(*args),
        Command::Latency(LatencyCommand::Build(args)) => latency_build(args),
        Command::Latency(LatencyCommand::Validate(args)) => latency_validate(args),
        Command::Data(DataCommand::HoldBack(args)) => hold_back(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
