//! The retraining demo: `RetrainConfig::demo()` on the in-repository Fashion-MNIST subset with
//! a small architecture of the `fashion-mnist-mb27` space (residual cells `ir_k3_e1`, the
//! others `ir_k3_e3`). Minutes, not seconds, so ignored by default; run it with
//!
//! ```text
//! cargo test -p nse-train --test retrain_demo -- --ignored --nocapture
//! ```
//!
//! It prints the wall time and the final test accuracy, and checks the accuracy is far above
//! chance (10%).

use std::time::Instant;

use burn::tensor::Device;
use nse_space::{Architecture, SpaceSpec};
use nse_train::data::demo::load_fashion_mnist_demo;
use nse_train::data::{Normalize, Split};
use nse_train::progress::Terminal;
use nse_train::retrain::{RetrainConfig, RetrainData, RetrainOptions, retrain};

#[test]
#[ignore = "about two to three minutes on a two-core CPU"]
fn demo_retrain_on_fashion_mnist() {
    let space = SpaceSpec::preset("fashion-mnist-mb27")
        .unwrap()
        .check()
        .unwrap();
    let cells = space
        .cells()
        .iter()
        .map(|c| vec![if c.is_residual() { 0 } else { 3 }])
        .collect();
    let arch = Architecture::new(cells).unwrap();
    let network = space.child(&arch).unwrap();
    let data = RetrainData::new(
        load_fashion_mnist_demo(Split::Train).unwrap(),
        load_fashion_mnist_demo(Split::Test).unwrap(),
    )
    .with_normalize(Normalize::fashion_mnist());
    let out = std::env::temp_dir().join(format!("nse-retrain-demo-{}", std::process::id()));
    let start = Instant::now();
    let report = retrain(
        &network,
        data,
        &RetrainConfig::demo(),
        &Device::flex(),
        &out,
        &RetrainOptions {
            resume: false,
            stop_after_epoch: None,
            ..RetrainOptions::default()
        },
        &mut Terminal::new(),
    )
    .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let test = report.last_test().unwrap();
    println!(
        "architecture {arch}: {:.2} MMACs, {} params; {} epochs in {seconds:.1} s; test top-1 {:.2}% top-5 {:.2}% loss {:.4}",
        report.macs as f64 / 1e6,
        report.params,
        report.epochs.len(),
        test.top1,
        test.top5,
        test.loss
    );
    std::fs::remove_dir_all(&out).unwrap();
    assert!(report.finished);
    assert!(test.top1 > 60.0, "test top-1 {}%", test.top1);
}
