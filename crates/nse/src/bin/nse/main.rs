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
//! nse list                                   # every preset, space, pool, network, recipe, …
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

mod common;
mod data;
mod experiment;
mod inspect;
mod latency;
mod list;
mod retrain;
mod search;

use data::*;
use experiment::*;
use inspect::*;
use latency::*;
use retrain::*;
use search::*;

/// Neural Search-space Evolution (NSE, ICCV 2021) on Burn.
#[derive(Parser)]
#[command(name = "nse", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// Every named thing: presets, spaces, pools, networks, recipes, experiments, baselines,
    /// weight sampling, devices (`nse list recipes`: one kind).
    List(list::ListArgs),
    /// Data preparation: `nse data extract` unpacks an archive once, `nse data hold-back`
    /// moves training images into the test set.
    #[command(subcommand)]
    Data(DataCommand),
}

#[derive(Subcommand)]
pub(crate) enum DataCommand {
    /// Write image lists of a train/ + test/ image-folder tree with COUNT training images
    /// (class-stratified, by seed) moved to the test list: `train.txt` and `test.txt` for
    /// `data.source = {"kind": "image_list", ...}`, so that retrained networks are evaluated
    /// on more images.
    HoldBack(HoldBackArgs),
    /// Extract a `.tar.gz` image-folder archive into a folder once, as the `archive` data
    /// source does (a marker names the archive; a second call reuses the folder).
    Extract(ExtractArgs),
}

#[derive(Subcommand)]
pub(crate) enum LatencyCommand {
    /// Time every layer a search space needs on a device into a latency table (JSON) that
    /// `--set resource.metric=latency --set resource.latency_table=FILE` searches with.
    Build(LatencyBuildArgs),
    /// Compare a table's predictions with the measured latency of random whole networks of
    /// the space (Spearman rho, mean error, a fitted per-layer overhead).
    Validate(LatencyValidateArgs),
}

pub(crate) fn main() -> ExitCode {
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
    // Under an MPI launcher, one rank of a job (`nse_cluster`); else one process alone.
    let ranks: nse::train::search::SharedRanks = match nse::cluster::Ranks::from_launcher() {
        Ok(ranks) => Arc::new(ranks),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let spans_ranks = matches!(
        cli.command,
        Command::Search(_) | Command::Retrain(_) | Command::Experiment(_)
    );
    if ranks.size() > 1 && !spans_ranks {
        eprintln!(
            "error: only `nse search`, `nse retrain` and `nse experiment` run across MPI ranks \
             so far: start this command without mpirun"
        );
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Search(args) => search(args, Arc::clone(&ranks)),
        Command::Retrain(args) => retrain_command(args, Arc::clone(&ranks)),
        Command::Eval(args) => eval_command(args),
        Command::Stats(args) => stats(args),
        Command::Export(args) => export_command(args),
        Command::Report(args) => report_command(args),
        Command::Experiment(args) => experiment(*args, Arc::clone(&ranks)),
        Command::Latency(LatencyCommand::Build(args)) => latency_build(args),
        Command::Latency(LatencyCommand::Validate(args)) => latency_validate(args),
        Command::Data(DataCommand::HoldBack(args)) => hold_back(args),
        Command::Data(DataCommand::Extract(args)) => extract(args),
        Command::List(args) => list::list(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // One rank's error ends every rank of the job at once (the others would wait for it
        // in their next collective).
        Err(e) if ranks.size() > 1 => ranks.abort(1, &format!("error: {e}")),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
