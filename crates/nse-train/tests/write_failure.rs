//! A checkpoint write that fails (injected, as on a full disk) stops the search or the
//! retraining with an error naming the file, leaves the last good checkpoint whole, and the
//! run resumes from it to the uninterrupted result once writes work again. In a test binary
//! of its own: the injection hook is process-wide (and the tests here take turns with it).

use burn::tensor::Device;
use nse_supernet::durable::inject_write_failures;
use nse_train::progress::Quiet;
use nse_train::run_dir::RunDir;
use nse_train::search::Search;
use nse_train::search::checkpoint::{find, verify};

mod common;
use common::{config, quadrants, safetensors, scratch, tiny_network, write_dataset};

/// Held by each test for its whole run: the injection hook is process-wide.
static HOOK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_failed_checkpoint_write_leaves_the_last_good_one() {
    let _turn = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let data = scratch("data-write-failure");
    write_dataset(&data);
    let device = Device::flex();
    let config = config(&data);
    let full = scratch("write-failure-full");
    Search::new(config.clone(), &full, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();

    let dir = scratch("write-failure");
    let mut first = config.clone();
    first.max_steps = Some(4);
    Search::new(first, &dir, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    let good = find(&dir).unwrap();
    let progress = verify(&good).unwrap();
    assert_eq!(progress.total_steps, 4);

    // The next checkpoint (after 3 more steps) cannot be written.
    inject_write_failures(Some(0));
    let result = Search::resume(&dir, &device, Some(3))
        .unwrap()
        .run(&mut Quiet);
    inject_write_failures(None);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("injected write failure"), "{err}");
    assert!(
        err.contains("checkpoint.new"),
        "the error names the file: {err}"
    );
    // The last good checkpoint is still the newest intact one, unchanged.
    assert_eq!(find(&dir).unwrap(), good);
    assert_eq!(verify(&good).unwrap(), progress);

    // Writes work again: the search resumes from it to the uninterrupted front.
    let outcome = Search::resume(&dir, &device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(outcome.finished);
    assert_eq!(
        std::fs::read_to_string(RunDir::new(&dir).front_path()).unwrap(),
        std::fs::read_to_string(RunDir::new(&full).front_path()).unwrap()
    );
}

#[test]
fn a_failed_retraining_checkpoint_write_leaves_the_last_good_epoch() {
    use nse_train::data::Normalize;
    use nse_train::retrain::{
        RetrainConfig, RetrainData, RetrainOptions, SAFETENSORS_FILE, retrain,
    };
    let _turn = HOOK.lock().unwrap_or_else(|e| e.into_inner());
    let config = RetrainConfig {
        epochs: 3,
        batch_size: 32,
        eval_batch_size: 50,
        warmup_epochs: 1,
        seed: 7,
        workers: 1,
        ..RetrainConfig::cifar10()
    };
    let run = |dir: &std::path::Path, stop_after_epoch| {
        let data = RetrainData::new(quadrants(64, 1), quadrants(25, 2))
            .with_normalize(Normalize::new(vec![0.3], vec![0.3]).unwrap());
        let options = RetrainOptions {
            stop_after_epoch,
            ..RetrainOptions::default()
        };
        let device = Device::flex();
        retrain(
            &tiny_network(),
            data,
            &config,
            &device,
            dir,
            &options,
            &mut Quiet,
        )
    };
    let full = scratch("retrain-write-failure-full");
    run(&full, None).unwrap();

    let dir = scratch("retrain-write-failure");
    run(&dir, Some(1)).unwrap();
    let checkpoints = |dir: &std::path::Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join("checkpoint"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("epoch-"))
            .collect();
        names.sort();
        names
    };
    assert_eq!(checkpoints(&dir), ["epoch-0001"]);
    let good = dir.join("checkpoint/epoch-0001");
    // The resumed run writes `network.json`, trains epoch 2, and cannot write its checkpoint.
    inject_write_failures(Some(1));
    let result = run(&dir, None);
    inject_write_failures(None);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("injected write failure"), "{err}");
    assert!(
        err.contains("epoch-0002"),
        "the error names the file: {err}"
    );
    assert_eq!(
        checkpoints(&dir),
        ["epoch-0001"],
        "no epoch-0002 took its place"
    );
    nse_supernet::durable::verify(&good, "COMPLETE").unwrap();

    // Writes work again: the retraining resumes from epoch 1 to the uninterrupted weights.
    let report = run(&dir, None).unwrap();
    assert!(report.finished);
    assert!(
        safetensors(&dir.join(SAFETENSORS_FILE)) == safetensors(&full.join(SAFETENSORS_FILE)),
        "the resumed retraining ends with the uninterrupted weights"
    );
}
