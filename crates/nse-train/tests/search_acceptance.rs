//! Acceptance: a shortened NSE search on the real CIFAR-10 JPEG tree from `../shared/data/`
//! (2 rounds of a few hundred weight steps in all). It must finish, produce a non-empty front
//! whose held-out accuracies are above chance, and move the indicators away from 0.
//!
//! Run: `cargo test -p nse-train --test search_acceptance -- --ignored --nocapture`
//! (`.ci/run` does). The archive is extracted once to `$NSE_DATA_CACHE/cifar10`
//! (default `/var/tmp/nse-data/cifar10`).

use nse_train::run_dir::RunDir;
use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::Device;
use nse_space::SpaceSpec;
use nse_train::progress::Terminal;
use nse_train::search::{DataSource, FrontFile, Search, SearchConfig};

fn shared_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
}

fn cache_root() -> PathBuf {
    std::env::var_os("NSE_DATA_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/nse-data"))
}

/// The README's CIFAR-10 command used to stop at once: its window check sampled the uniform
/// distribution of round 1 and found 59 of 100 architectures. The check now judges what the
/// space can reach; the unmodified preset on the full CIFAR-10 tree must get past it.
#[test]
#[ignore = "reads ../shared/data (CIFAR-10); run by .ci/run"]
fn the_cifar10_preset_starts_on_the_full_dataset() {
    let mut config = SearchConfig::preset("cifar10").unwrap();
    config.data.source = DataSource::Archive {
        path: shared_data().join("cifar10/cifar10_jpg_q75.tar.gz"),
        cache: cache_root().join("cifar10"),
    };
    let run = std::env::temp_dir().join(format!("nse-cifar-preset-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run);
    let search = Search::new(config, &run, &Device::flex()).unwrap();
    assert_eq!(
        search.data().train.len() + search.data().held_out.len(),
        50_000
    );
    assert!(RunDir::new(&run).config_path().exists());
    std::fs::remove_dir_all(&run).unwrap();
}

#[test]
#[ignore = "reads ../shared/data (CIFAR-10) and trains for a few minutes; run by .ci/run"]
fn shortened_cifar10_search_finds_a_front_above_chance() {
    let mut config = SearchConfig::preset("cifar10").unwrap();
    config.data.source = DataSource::Archive {
        path: shared_data().join("cifar10/cifar10_jpg_q75.tar.gz"),
        cache: cache_root().join("cifar10"),
    };
    // A small CIFAR space: stem stride 2 (16x16 cells), NR layout of 7 cells.
    config.space = serde_json::from_str::<SpaceSpec>(
        r#"{"pool": "mb27", "layout": "NR", "depths": [0, 1, 1, 1, 0],
            "channels": [16, 24, 32, 48, 64], "stem_stride": 2, "input_size": 32,
            "num_classes": 10, "tail_channels": 128, "subspace_size": 5}"#,
    )
    .unwrap();
    config.batch_size = 64;
    config.epochs_per_round = 2;
    // 480 weight steps: scored on a random sample of the held-out split (no longer its
    // first class), the best front entry reached 18.9 % here, 10 % being chance; with 240 steps
    // 16.4 %, too close to the bound below.
    config.epoch_batches = Some(120);
    config.max_rounds = Some(2);
    config.resource.target = 4.0;
    config.resource.drift = 1.5;
    config.resource.extra_drift = 1.0;
    config.resource.a = 0.05;
    config.evaluation.n = 8;
    config.evaluation.n_extra = 2;
    config.evaluation.recalibration_batches = 4;
    config.evaluation.eval_batches = Some(8);
    let run = std::env::temp_dir().join(format!("nse-cifar-acceptance-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&run);
    let started = Instant::now();
    let mut search = Search::new(config, &run, &Device::flex()).unwrap();
    let outcome = search.run(&mut Terminal::default()).unwrap();
    assert!(outcome.finished);
    assert_eq!(outcome.rounds_done, 2);
    assert!(outcome.total_steps >= 200, "{} steps", outcome.total_steps);
    let front = FrontFile::read(&RunDir::new(&run).front_path()).unwrap();
    assert!(!front.front.is_empty());
    let best = front.front.iter().map(|f| f.accuracy).fold(0.0, f64::max);
    println!(
        "CIFAR-10 acceptance: {} steps in {:.0} s, front of {}, best held-out top-1 {best:.1}%",
        outcome.total_steps,
        started.elapsed().as_secs_f64(),
        front.front.len()
    );
    assert!(
        best > 15.0,
        "best front accuracy {best:.1}% is not above chance (10%)"
    );
    let log = std::fs::read_to_string(RunDir::new(&run).log_path()).unwrap();
    let max_alpha = log
        .lines()
        .filter(|l| l.contains("\"epoch_end\""))
        .flat_map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["alphas"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| {
                    c.as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_f64().unwrap().abs())
                        .collect::<Vec<_>>()
                })
                .collect::<Vec<_>>()
        })
        .fold(0.0, f64::max);
    assert!(
        max_alpha > 0.01,
        "indicators did not move: max |alpha| {max_alpha}"
    );
    let _ = std::fs::remove_dir_all(&run);
}
