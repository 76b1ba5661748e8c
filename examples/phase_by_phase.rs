//! A search driven phase by phase with an evaluator of your own.
//!
//! ```text
//! cargo run -p nse --example phase_by_phase            # runs/phase-by-phase, ~2 minutes
//! cargo run -p nse --example phase_by_phase -- OUT_DIR
//! ```
//!
//! The demo search (Fashion-MNIST subset, two rounds), shortened, with:
//! - an evaluator that takes the method's score (BN recalibration, then held-out top-1 with
//!   the inherited weights) and subtracts a penalty per branch. Any closure over the round,
//!   the supernet, the architecture and the default scorer is an `Evaluator`;
//! - a pause before each round's evaluation: the candidates are listed, and the sparsest
//!   architecture of the round's sub-space (one op in every cell that needs one) is added;
//! - a pause after each round: its front is printed before the next round trains.

use std::path::PathBuf;
use std::process::ExitCode;

use nse::burn::tensor::Device;
use nse::space::Architecture;
use nse::supernet::Supernet;
use nse::train::progress::Quiet;
use nse::train::search::checkpoint::{find, read_progress};
use nse::train::search::{Pause, Scorer, Search, SearchConfig};

/// Held-out points taken off per branch: prefer sparser architectures at equal accuracy.
const PER_BRANCH: f64 = 0.2;

fn run(out: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = SearchConfig::preset("demo")?;
    config.epochs_per_round = 1;
    config.epoch_batches = Some(40);
    if out.join("checkpoint").exists() || out.join("front.json").exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let mut search = Search::new(config, &out, &Device::flex())?;
    search.evaluate_with(
        |_round: usize, supernet: &mut Supernet, arch: &Architecture, scorer: &Scorer| {
            let branches: usize = arch.cells().iter().map(Vec::len).sum();
            Ok(scorer.score(supernet, arch)? - PER_BRANCH * branches as f64)
        },
    );
    search.pause_at(&[Pause::BeforeEvaluation, Pause::AfterRound]);
    loop {
        let outcome = search.run(&mut Quiet)?;
        match outcome.paused {
            Some(Pause::BeforeEvaluation) => {
                let candidates = search.candidates()?;
                println!(
                    "round {}: {} candidates sampled, costs {:.2} to {:.2} MMACs",
                    outcome.rounds_done + 1,
                    candidates.len(),
                    candidates
                        .iter()
                        .map(|c| c.cost)
                        .fold(f64::INFINITY, f64::min),
                    candidates.iter().map(|c| c.cost).fold(0.0, f64::max),
                );
                // The sparsest architecture of the round's sub-space.
                let progress = read_progress(&find(&out).ok_or("no checkpoint")?)?;
                let subspace = progress.evolution.subspace();
                let sparse = Architecture::new(
                    (0..subspace.num_cells())
                        .map(|c| match subspace.is_residual(c) {
                            true => Vec::new(),
                            false => vec![subspace.ops(c)[0]],
                        })
                        .collect(),
                )?;
                let added = search.add_candidates(std::slice::from_ref(&sparse))?;
                println!("  added `{sparse}` ({added} new)");
            }
            Some(Pause::AfterRound) => {
                println!("round {} ended, front:", outcome.rounds_done);
                for entry in &outcome.front {
                    println!(
                        "  {:.2} MMACs, score {:.2}  {}",
                        entry.macs as f64 / 1e6,
                        entry.accuracy,
                        entry.text
                    );
                }
            }
            None => {
                println!(
                    "finished after {} rounds: {} on the front, scored as held-out top-1 minus \
                     {PER_BRANCH} per branch",
                    outcome.rounds_done,
                    outcome.front.len()
                );
                return Ok(());
            }
        }
    }
}

fn main() -> ExitCode {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("runs/phase-by-phase"));
    match run(out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
