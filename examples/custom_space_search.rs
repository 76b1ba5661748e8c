//! A search over a space of your own, written as JSON (a pool of eight ops, not a reference
//! pool), watched from code as it runs, then its `log.jsonl` read back with the library's
//! own event types.
//!
//! ```text
//! cargo run -p nse --example custom_space_search            # runs/custom-space, ~1 minute
//! cargo run -p nse --example custom_space_search -- OUT_DIR
//! ```
//!
//! It shows:
//! - a `SpaceSpec` from JSON: the pool as a list of op names (`ir_k3_e3`, `rec_k5_e2`, …,
//!   see `nse::ops::OpSpec`), the layout, the widths;
//! - a `SearchConfig` built from a preset and changed in code;
//! - `Search::observe`: a function that gets every `SearchEvent` as it happens;
//! - `events::read_log`: the run's log as typed events.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use nse::burn::tensor::Device;
use nse::space::SpaceSpec;
use nse::train::progress::Quiet;
use nse::train::search::events::{SearchEvent, read_log};
use nse::train::search::{Search, SearchConfig};

/// The space: 28x28 grayscale images (the demo's Fashion-MNIST), five cells, eight ops.
const SPACE: &str = r#"{
    "pool": ["ir_k3_e1", "ir_k3_e3", "ir_k5_e3", "ir_k3_e3_se", "ir_k3_e1_d2",
             "conv_k3_e1", "dual_k3_e1", "rec_k5_e2"],
    "layout": {"cells": "RNRNR"},
    "channels": [16, 24, 40, 64],
    "stem_stride": 1,
    "input_channels": 1,
    "input_size": 28,
    "num_classes": 10,
    "tail_channels": 128,
    "subspace_size": 4
}"#;

fn run(out: PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let space: SpaceSpec = serde_json::from_str(SPACE)?;
    let checked = space.check()?;
    println!(
        "space: {} cells, a pool of {} ops, K = {}: {} rounds",
        checked.num_cells(),
        checked.pool().len(),
        space.subspace_size,
        checked.num_rounds()
    );
    // The demo's settings on this space, shortened; the window is placed relative to the
    // space's MAC range (0 the cheapest architecture, 1 every cell's K dearest ops).
    let mut config = SearchConfig::preset("demo")?;
    config.space = space;
    config.epochs_per_round = 1;
    config.epoch_batches = Some(40);
    config.resource.relative = true;
    config.resource.target = 0.25;
    config.resource.drift = 0.1;
    config.resource.extra_drift = 0.05;
    config.resource.a = 100.0;
    if out.join("checkpoint").exists() || out.join("front.json").exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let device = Device::flex();
    let mut search = Search::new(config, &out, &device)?;

    // Watch the search: losses every 20 weight steps, each round's evolution.
    let losses = Arc::new(Mutex::new(Vec::new()));
    let sink = losses.clone();
    search.observe(move |event| match event {
        SearchEvent::WeightStep { step, loss, .. } => {
            sink.lock().unwrap().push(*loss);
            if step % 20 == 0 {
                println!("  step {step}: loss {loss:.3}");
            }
        }
        SearchEvent::RoundStart {
            round, subspace, ..
        } => {
            println!("round {round}: sub-space {subspace:?}");
        }
        SearchEvent::RoundEnd {
            round,
            front,
            introduced,
            ..
        } => println!(
            "round {round} ended: front of {}, ops introduced {introduced:?}",
            front.len()
        ),
        _ => {}
    });
    let outcome = search.run(&mut Quiet)?;
    println!(
        "finished: {} weight steps observed, front:",
        losses.lock().unwrap().len()
    );
    for entry in &outcome.front {
        println!(
            "  {:.2} MMACs {:.1}%  {}",
            entry.macs as f64 / 1e6,
            entry.accuracy,
            entry.text
        );
    }

    // The log, read back with the same types.
    let events = read_log(&out.join("log.jsonl"))?;
    let evaluated: Vec<f64> = events
        .iter()
        .filter_map(|e| match e {
            SearchEvent::Evaluated { accuracy, .. } => Some(*accuracy),
            _ => None,
        })
        .collect();
    let best = evaluated.iter().copied().fold(0.0, f64::max);
    println!(
        "log.jsonl: {} events, {} architectures evaluated, best held-out top-1 {best:.1}%",
        events.len(),
        evaluated.len()
    );
    Ok(())
}

fn main() -> ExitCode {
    let out = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("runs/custom-space"));
    match run(out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
