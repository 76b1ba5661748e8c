//! `nse`: Neural Search-space Evolution from the command line.
//!
//! ```text
//! nse search --preset demo --retrain          # the README's main job
//! nse search --config my_search.json --set batch_size=256 --out runs/cifar
//! nse search --resume runs/cifar
//! nse retrain --front runs/cifar/front.json --index 0 --out runs/cifar/retrain-0
//! nse eval --model runs/cifar/retrain-0
//! nse stats nsenet
//! ```

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use nse::device;
use nse::space::{NetworkSpec, PUBLISHED, published};
use nse::train::progress::{Quiet, Reporter, Terminal};
use nse::train::search::{FrontFile, Search, SearchConfig};

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
    /// Print the MACs and parameters of an architecture.
    Stats(StatsArgs),
}

#[derive(Args)]
struct Common {
    /// Compute device: cpu, wgpu, cuda[:N] (GPU ones need the matching build feature).
    #[arg(long, default_value = "cpu")]
    device: String,
    /// No progress bars (log lines only).
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct SearchArgs {
    /// A search preset: demo, cifar10, imagenet-mb27.
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
fn apply_overrides(config: SearchConfig, overrides: &[String]) -> Result<SearchConfig, String> {
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

fn search(args: SearchArgs) -> Result<(), String> {
    let device = device::from_name(&args.common.device)?;
    let started = Instant::now();
    let mut search = if let Some(dir) = &args.resume {
        if !args.overrides.is_empty() || args.seed.is_some() {
            return Err("--resume continues with the run's saved config: drop --set/--seed".into());
        }
        Search::resume(dir, &device, args.max_steps).map_err(|e| e.to_string())?
    } else {
        let config = match (&args.preset, &args.config) {
            (Some(name), _) => SearchConfig::preset(name).map_err(|e| e.to_string())?,
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            (None, None) => return Err("give --preset NAME, --config FILE or --resume DIR".into()),
        };
        let mut config = apply_overrides(config, &args.overrides)?;
        if let Some(seed) = args.seed {
            config.seed = seed;
        }
        config.max_steps = args.max_steps;
        Search::new(config, &args.out, &device).map_err(|e| e.to_string())?
    };
    let run_dir = args.resume.clone().unwrap_or(args.out.clone());
    let mut reporter = reporter(args.common.quiet);
    let outcome = search.run(reporter.as_mut()).map_err(|e| e.to_string())?;
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
        println!(
            "  [{i}] {:.2} MMACs {:.3} M params  {:.2}%  {}",
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
        run_dir.join("log.jsonl").display(),
        run_dir.join("pareto_round*.png").display()
    );
    Ok(())
}

fn load_network(name: &str, index: usize) -> Result<NetworkSpec, String> {
    if PUBLISHED.contains(&name) {
        return published(name).map_err(|e| e.to_string());
    }
    let path = Path::new(name);
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "`{name}` is neither a published network ({}) nor a readable file: {e}",
            PUBLISHED.join(", ")
        )
    })?;
    if let Ok(front) = serde_json::from_str::<FrontFile>(&text) {
        return front.network(index).map_err(|e| e.to_string());
    }
    serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))
}

fn stats(args: StatsArgs) -> Result<(), String> {
    let network = load_network(&args.network, args.index)?;
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
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Search(args) => search(args),
        Command::Stats(args) => stats(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
