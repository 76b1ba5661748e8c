//! The NSE search end to end on a tiny synthetic dataset: an interrupted and resumed search
//! ends with exactly the front of an uninterrupted one; an infeasible resource window fails
//! before any training; the indicators move and the front is Pareto-optimal.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use nse_ops::CostMetric;
use nse_space::SpaceSpec;
use nse_train::data::{IdxImages, Split, mnist_file_names, write_idx_images, write_idx_labels};
use nse_train::progress::Quiet;
use nse_train::search::{
    DataConfig, DataSource, EvaluationConfig, FrontFile, IndicatorConfig, LrConfig, ResourceConfig,
    Search, SearchConfig, SearchError,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nse-search-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 8x8 grayscale images; class `c` lights up a 2x2 block at a class-specific place, plus noise.
fn write_dataset(dir: &Path) {
    for (split, count) in [(Split::Train, 300), (Split::Test, 60)] {
        let mut pixels = Vec::with_capacity(count * 64);
        let mut labels = Vec::with_capacity(count);
        let mut state = 12345u32 + count as u32;
        for i in 0..count {
            let c = (i % 10) as u8;
            let (r0, c0) = ((c as usize / 5) * 4 + 1, (c as usize % 5) + 1);
            for r in 0..8 {
                for k in 0..8 {
                    state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
                    let noise = (state >> 24) as u8 / 4;
                    let on = (r0..r0 + 2).contains(&r) && (c0..c0 + 2).contains(&k);
                    pixels.push(if on { 200 + noise / 2 } else { noise });
                }
            }
            labels.push(c);
        }
        let (images, label_file) = mnist_file_names(split);
        let images_data = IdxImages {
            count,
            rows: 8,
            cols: 8,
            pixels,
        };
        write_idx_images(dir.join(images), &images_data).unwrap();
        write_idx_labels(dir.join(label_file), &labels).unwrap();
    }
}

fn config(data: &Path) -> SearchConfig {
    let space: SpaceSpec = serde_json::from_str(
        r#"{"pool": ["ir_k3_e1", "ir_k3_e3", "rec_k5_e1", "ir_k5_e1", "ir_k3_e1_d2"],
            "layout": {"cells": "NRN"}, "channels": [8, 16], "stem_stride": 1,
            "input_channels": 1, "input_size": 8, "num_classes": 10, "tail_channels": 16,
            "subspace_size": 3}"#,
    )
    .unwrap();
    SearchConfig {
        space,
        data: DataConfig {
            source: DataSource::Mnist {
                dir: data.to_path_buf(),
                fashion: true,
            },
            holdout_fraction: 0.2,
            augment: false,
            workers: Some(1),
        },
        seed: 7,
        batch_size: 32,
        epochs_per_round: 2,
        lr: LrConfig {
            base: 0.1,
            warmup_from: 0.02,
            warmup_epochs: 0.5,
            min: 0.0,
        },
        sgd: Default::default(),
        indicator: IndicatorConfig {
            lr: 0.05,
            beta_2: 0.999,
            every: 2,
            drop_threshold: -2.0,
        },
        resource: ResourceConfig {
            metric: CostMetric::Macs,
            target: 0.5,
            a: 0.5,
            b: 2.0,
            drift: 0.5,
            extra_drift: 0.2,
        },
        evaluation: EvaluationConfig {
            n: 4,
            n_extra: 0,
            recalibration_batches: 2,
            eval_batches: None,
            attempts_per_architecture: 200,
        },
        epoch_batches: None,
        max_rounds: None,
        max_steps: None,
        log_every: 3,
    }
}

#[test]
fn resumed_search_ends_with_the_uninterrupted_front() {
    let data = scratch("data");
    write_dataset(&data);
    let device = Device::flex();
    let config = config(&data);

    let full = scratch("full");
    let mut search = Search::new(config.clone(), &full, &device).unwrap();
    assert_eq!(search.space().num_rounds(), 2);
    let outcome = search.run(&mut Quiet).unwrap();
    assert!(outcome.finished);
    assert_eq!(outcome.rounds_done, 2);
    let front = FrontFile::read(&full.join("front.json")).unwrap();
    assert!(!front.front.is_empty());
    // Pareto-optimal: cost ascending, accuracy strictly rising along the front.
    for pair in front.front.windows(2) {
        assert!(pair[0].macs <= pair[1].macs && pair[0].accuracy < pair[1].accuracy);
    }
    // The indicators moved away from 0 during training.
    let log = std::fs::read_to_string(full.join("log.jsonl")).unwrap();
    let moved = log
        .lines()
        .filter(|l| l.contains("\"epoch_end\""))
        .any(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["alphas"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c.as_array().unwrap().clone())
                .any(|a| a.as_f64().unwrap().abs() > 1e-3)
        });
    assert!(moved, "indicators never moved");
    assert!(full.join("pareto_round1.png").is_file() && full.join("pareto_round2.png").is_file());

    // Interrupted mid-epoch of round 1, then resumed twice (once into round 2).
    let parts = scratch("parts");
    let mut stopped = config.clone();
    stopped.max_steps = Some(11);
    let outcome = Search::new(stopped, &parts, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(!outcome.finished);
    assert_eq!(outcome.total_steps, 11);
    let outcome = Search::resume(&parts, &device, Some(16))
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(!outcome.finished);
    assert_eq!(outcome.rounds_done, 1);
    let outcome = Search::resume(&parts, &device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(outcome.finished);
    assert_eq!(
        std::fs::read_to_string(parts.join("front.json")).unwrap(),
        std::fs::read_to_string(full.join("front.json")).unwrap(),
        "the resumed search must end with the same front"
    );
    // A finished run directory is not reused by a fresh search.
    assert!(Search::new(config, &parts, &device).is_err());
}

#[test]
fn an_infeasible_window_fails_before_training() {
    let data = scratch("data-infeasible");
    write_dataset(&data);
    let mut config = config(&data);
    config.resource.target = 500.0;
    config.resource.drift = 1.0;
    let run = scratch("infeasible");
    let err = Search::new(config, &run, &Device::flex())
        .err()
        .expect("must fail");
    assert!(matches!(err, SearchError::Infeasible(_)), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("costs seen") && message.contains("499.000..501.000"),
        "{message}"
    );
    assert!(!run.join("checkpoint").exists() && !run.join("log.jsonl").exists());
}
