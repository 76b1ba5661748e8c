//! End-to-end retraining on a tiny synthetic task: learning, output files, exact resume,
//! checkpoint compatibility, label smoothing and the weight-decay exclusion.

mod common;
use common::{Lines, flip_bits, quadrants, safetensors, tiny_network};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::Module;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nse_space::NetworkSpec;
use nse_supernet::ChildNetwork;
use nse_train::data::{InMemoryDataset, Normalize};
use nse_train::optim::SgdSettings;
use nse_train::progress::{Collect, Quiet};
use nse_train::retrain::{
    EvalSettings, MODEL_FILE, NETWORK_FILE, REPORT_FILE, RetrainConfig, RetrainData, RetrainError,
    RetrainOptions, RetrainReport, SAFETENSORS_FILE, Weights, evaluate, retrain,
};

/// A folder under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nse-retrain-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tiny_config() -> RetrainConfig {
    RetrainConfig {
        epochs: 3,
        batch_size: 32,
        eval_batch_size: 50,
        lr: 0.1,
        warmup_epochs: 1,
        warmup_lr: 0.02,
        seed: 7,
        workers: 1,
        ..RetrainConfig::cifar10()
    }
}

fn data() -> RetrainData<Arc<InMemoryDataset>, Arc<InMemoryDataset>> {
    RetrainData::new(quadrants(64, 1), quadrants(25, 2))
        .with_normalize(Normalize::new(vec![0.3], vec![0.3]).unwrap())
}

fn run(
    config: &RetrainConfig,
    dir: &Path,
    options: &RetrainOptions,
) -> Result<RetrainReport, RetrainError> {
    retrain(
        &tiny_network(),
        data(),
        config,
        &Device::flex(),
        dir,
        options,
        &mut Quiet,
    )
}

/// Epoch, lr, train loss and top-1, test top-1, top-5, loss and images.
type EpochMetrics = (usize, f64, f64, f64, f64, f64, f64, usize);

/// Every metric of every epoch (not the timings).
fn metrics(report: &RetrainReport) -> Vec<EpochMetrics> {
    report
        .epochs
        .iter()
        .map(|e| {
            (
                e.epoch,
                e.lr,
                e.train_loss,
                e.train_top1,
                e.test.top1,
                e.test.top5,
                e.test.loss,
                e.test.images,
            )
        })
        .collect()
}

#[test]
fn retraining_learns_and_writes_loadable_outputs() {
    let dir = TempDir::new("learns");
    let mut progress = Collect::default();
    let config = tiny_config();
    let report = retrain(
        &tiny_network(),
        data(),
        &config,
        &Device::flex(),
        dir.path(),
        &RetrainOptions::default(),
        &mut progress,
    )
    .unwrap();
    assert!(report.finished);
    assert_eq!(report.epochs.len(), 3);
    assert_eq!(report.steps_per_epoch, 8); // 256 images / 32
    assert_eq!(report.weights, Weights::Trained);
    let last = report.last_test().unwrap();
    assert_eq!(last.images, 100);
    // Chance is 25%.
    assert!(
        last.top1 >= 70.0,
        "test top-1 {}% after 3 epochs",
        last.top1
    );
    assert_eq!(
        last.top5, 100.0,
        "top-5 of 4 classes is top-4: always right"
    );
    assert!(report.epochs[2].train_loss < report.epochs[0].train_loss);
    // Learning rate: cosine to 0 at the last step.
    assert!(report.epochs[0].lr > report.epochs[1].lr && report.epochs[2].lr < 0.01);
    let (space, arch) = report.network.resolve().unwrap();
    assert_eq!(
        report.macs,
        space.architecture_cost(&arch).unwrap().total.macs
    );
    assert_eq!(
        report.params,
        space.architecture_cost(&arch).unwrap().total.params
    );

    // Progress: one bar per epoch and per evaluation, one line per epoch.
    assert_eq!(
        progress.labels(),
        vec![
            "epoch 1/3",
            "test",
            "epoch 2/3",
            "test",
            "epoch 3/3",
            "test"
        ]
    );
    assert_eq!(progress.lines().len(), 3);
    assert!(
        progress.lines()[2].starts_with("epoch 3/3: train loss "),
        "{}",
        progress.lines()[2]
    );

    // Output files.
    for file in [MODEL_FILE, SAFETENSORS_FILE, NETWORK_FILE, REPORT_FILE] {
        assert!(dir.path().join(file).is_file(), "{file} missing");
    }
    let from_disk: RetrainReport =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(REPORT_FILE)).unwrap())
            .unwrap();
    for (a, b) in from_disk.epochs.iter().zip(&report.epochs) {
        assert_eq!(a.test.images, b.test.images);
        for (x, y) in [
            (a.train_loss, b.train_loss),
            (a.test.top1, b.test.top1),
            (a.test.loss, b.test.loss),
        ] {
            assert!((x - y).abs() <= 1e-12 * y.abs(), "{x} vs {y}");
        }
    }
    assert!(from_disk.finished);
    let network: NetworkSpec =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join(NETWORK_FILE)).unwrap())
            .unwrap();
    assert_eq!(network, tiny_network());

    // The saved model evaluates to the reported final accuracy.
    let model =
        ChildNetwork::load(&space, &arch, &Device::flex(), &dir.path().join(MODEL_FILE)).unwrap();
    let settings =
        EvalSettings::new(64).with_normalize(Normalize::new(vec![0.3], vec![0.3]).unwrap());
    let eval = evaluate(
        &model,
        quadrants(25, 2),
        &settings,
        &Device::flex(),
        &mut Quiet,
    )
    .unwrap();
    assert_eq!(eval.images, 100);
    assert_eq!(eval.top1, last.top1);
    assert!(
        (eval.loss - last.loss).abs() < 1e-5,
        "{} vs {}",
        eval.loss,
        last.loss
    );
}

#[test]
fn resuming_from_a_checkpoint_equals_an_uninterrupted_run() {
    let config = RetrainConfig {
        ema_decay: Some(0.9),
        ..tiny_config()
    };
    let whole_dir = TempDir::new("whole");
    let whole = run(&config, whole_dir.path(), &RetrainOptions::default()).unwrap();
    assert_eq!(whole.weights, Weights::Ema);
    assert!(whole.resumed_at.is_empty());

    let dir = TempDir::new("resumed");
    let stop = RetrainOptions {
        stop_after_epoch: Some(1),
        ..RetrainOptions::default()
    };
    let first = run(&config, dir.path(), &stop).unwrap();
    assert!(!first.finished);
    assert_eq!(first.epochs.len(), 1);
    assert!(
        !dir.path().join(MODEL_FILE).exists(),
        "no final model before the end"
    );
    assert!(
        dir.path()
            .join("checkpoint/epoch-0001/optimizer.bpk")
            .is_file()
    );
    assert!(dir.path().join("checkpoint/epoch-0001/ema.bpk").is_file());

    // A raised stop flag stops the next epoch at its first batch; the checkpoint stays.
    let interrupted = RetrainOptions::default();
    interrupted.stop.raise();
    let err = run(&config, dir.path(), &interrupted).unwrap_err();
    assert!(
        matches!(err, RetrainError::Interrupted { epoch: 2, kept: 1 }),
        "{err}"
    );
    assert!(err.to_string().contains("run it again"), "{err}");
    assert!(
        dir.path()
            .join("checkpoint/epoch-0001/state.json")
            .is_file()
    );

    // A different recipe cannot continue this checkpoint.
    let other = RetrainConfig {
        lr: 0.2,
        ..config.clone()
    };
    let err = run(&other, dir.path(), &RetrainOptions::default()).unwrap_err();
    assert!(matches!(err, RetrainError::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("config differs"), "{err}");
    // Changing the worker count does not change results, so it may differ.
    let resumed = run(
        &RetrainConfig {
            workers: 2,
            ..config.clone()
        },
        dir.path(),
        &RetrainOptions::default(),
    )
    .unwrap();
    assert!(resumed.finished);
    assert_eq!(resumed.resumed_at, vec![1]);
    assert_eq!(metrics(&resumed), metrics(&whole));
    assert!(
        !dir.path().join("checkpoint/epoch-0001").exists()
            && dir.path().join("checkpoint/epoch-0002/COMPLETE").exists()
            && dir.path().join("checkpoint/epoch-0003/COMPLETE").exists(),
        "the latest checkpoint and its fallback are kept"
    );
    // The same final weights, bit for bit.
    let weights = safetensors(&dir.path().join(SAFETENSORS_FILE));
    assert_eq!(weights.len(), 38); // stem 5, two IR cells 15 each, tail 3
    assert!(weights == safetensors(&whole_dir.path().join(SAFETENSORS_FILE)));

    // `resume: false` starts over (and, deterministic, ends the same).
    let again = run(
        &config,
        dir.path(),
        &RetrainOptions {
            resume: false,
            stop_after_epoch: Some(1),
            ..RetrainOptions::default()
        },
    )
    .unwrap();
    assert!(again.resumed_at.is_empty());
    assert_eq!(metrics(&again), metrics(&whole)[..1].to_vec());
}

#[test]
fn label_smoothing_matches_a_hand_computed_loss() {
    let device = Device::flex();
    let logits = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0], [1, 3]), &device);
    let labels = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64], [1]), &device);
    let loss = |eps: f64| {
        let config = RetrainConfig {
            label_smoothing: eps,
            ..RetrainConfig::demo()
        };
        f64::from(
            config
                .train_loss(&device)
                .forward(logits.clone(), labels.clone())
                .into_scalar::<f32>(),
        )
    };
    // log p = x − logsumexp(x); logsumexp(1, 2, 3) = 3 + ln(1 + e^−1 + e^−2).
    let lse = 3.0 + (1.0 + (-1.0f64).exp() + (-2.0f64).exp()).ln();
    let nll = lse - 1.0; // −log p_0 = 2.4076
    let mean_nll = (3.0 * lse - 6.0) / 3.0; // mean over classes of −log p = 1.4076
    assert!((loss(0.0) - nll).abs() < 1e-5, "{} vs {nll}", loss(0.0));
    // Targets (1 − ε)·onehot + ε/K: loss = (1 − ε)·nll + ε·mean_nll = 2.3076.
    let expected = 0.9 * nll + 0.1 * mean_nll;
    assert!(
        (loss(0.1) - expected).abs() < 1e-5,
        "{} vs {expected}",
        loss(0.1)
    );
    assert!((expected - 2.307_606).abs() < 1e-5);
}

#[test]
fn the_retraining_optimizer_skips_weight_decay_on_batch_norm_and_biases() {
    let device = Device::flex().autodiff();
    let (space, arch) = tiny_network().resolve().unwrap();
    let net = ChildNetwork::from_space(&space, &arch, &device, 3).unwrap();
    let config = RetrainConfig {
        sgd: SgdSettings {
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.5,
        },
        ..tiny_config()
    };
    // A zero loss: only weight decay moves parameters.
    let x = Tensor::<4>::ones([2, 1, 8, 8], &device);
    let grads = GradientsParams::from_grads(net.forward(x).mul_scalar(0.0).sum().backward(), &net);
    let values = |t: Tensor<1>| {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    };
    let flat = |t: Tensor<4>| {
        let n = t.shape().num_elements();
        values(t.reshape([n]))
    };
    let stem_before = flat(net.stem.conv.conv.weight.val());
    let bias_before = values(net.tail.classifier.bias.as_ref().unwrap().val());
    let beta_before = values(net.stem.conv.bn.beta.val());
    let net = config.optimizer().step(0.1, net, grads);
    let stem_after = flat(net.stem.conv.conv.weight.val());
    for (a, b) in stem_after.iter().zip(&stem_before) {
        assert!(
            (a - b * 0.95).abs() < 1e-6,
            "conv weight decays: {b} -> {a}"
        );
    }
    assert_eq!(
        values(net.stem.conv.bn.gamma.val()),
        vec![1.0; 4],
        "BN weight"
    );
    assert_eq!(values(net.stem.conv.bn.beta.val()), beta_before, "BN bias");
    assert_eq!(
        values(net.tail.classifier.bias.as_ref().unwrap().val()),
        bias_before,
        "linear bias"
    );
    assert!(
        net.valid()
            .forward(Tensor::<4>::ones([1, 1, 8, 8], &Device::flex()))
            .dims()
            == [1, 4]
    );
}

#[test]
fn mismatched_data_is_reported() {
    let dir = TempDir::new("mismatch");
    // 3 classes for a 4-class network.
    let three = {
        let d = quadrants(4, 3);
        let labels: Vec<usize> = d.labels().iter().map(|&l| l % 3).collect();
        Arc::new(
            InMemoryDataset::new(
                8,
                8,
                1,
                d.pixels().to_vec(),
                labels,
                vec!["a".into(), "b".into(), "c".into()],
            )
            .unwrap(),
        )
    };
    let err = retrain(
        &tiny_network(),
        RetrainData::new(three, quadrants(4, 4)),
        &tiny_config(),
        &Device::flex(),
        dir.path(),
        &RetrainOptions::default(),
        &mut Quiet,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("training set has 3 classes, the network 4"),
        "{err}"
    );
    let err = run(
        &RetrainConfig {
            batch_size: 1000,
            ..tiny_config()
        },
        dir.path(),
        &RetrainOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("`batch_size` = 1000"), "{err}");
}

/// A damaged newest checkpoint is named, set aside, and the run resumes from the one before
/// it to the uninterrupted run's weights; with every checkpoint damaged it stops clearly.
#[test]
fn a_damaged_checkpoint_falls_back_to_the_previous_epoch() {
    let config = tiny_config();
    let whole_dir = TempDir::new("damage-whole");
    run(&config, whole_dir.path(), &RetrainOptions::default()).unwrap();
    let stop = RetrainOptions {
        stop_after_epoch: Some(2),
        ..RetrainOptions::default()
    };
    let dir = TempDir::new("damage");
    run(&config, dir.path(), &stop).unwrap();
    flip_bits(&dir.path().join("checkpoint/epoch-0002/model.bpk"));
    let mut lines = Lines::default();
    let resumed = retrain(
        &tiny_network(),
        data(),
        &config,
        &Device::flex(),
        dir.path(),
        &RetrainOptions::default(),
        &mut lines,
    )
    .unwrap();
    let report = lines.0.join("\n");
    assert!(
        report.contains("model.bpk: checksum") && report.contains("falling back"),
        "{report}"
    );
    assert_eq!(resumed.resumed_at, vec![1]);
    assert!(dir.path().join("checkpoint/.epoch-0002.damaged").is_dir());
    assert!(
        safetensors(&dir.path().join(SAFETENSORS_FILE))
            == safetensors(&whole_dir.path().join(SAFETENSORS_FILE))
    );

    // Every checkpoint damaged: an error naming them, no training.
    let both = TempDir::new("damage-both");
    run(&config, both.path(), &stop).unwrap();
    for epoch in ["epoch-0001", "epoch-0002"] {
        flip_bits(
            &both
                .path()
                .join("checkpoint")
                .join(epoch)
                .join("state.json"),
        );
    }
    let err = run(&config, both.path(), &RetrainOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no intact checkpoint"), "{err}");
    assert_eq!(err.matches("state.json: checksum").count(), 2, "{err}");
}

/// A learning rate far too high makes the loss non-finite: the run stops at that batch with
/// an error that names it and says that no checkpoint holds the diverged weights.
#[test]
fn a_diverging_retraining_stops_with_the_step() {
    let config = RetrainConfig {
        lr: 1e12,
        ..tiny_config()
    };
    let dir = TempDir::new("diverge");
    let err = run(&config, dir.path(), &RetrainOptions::default()).unwrap_err();
    let RetrainError::Diverged {
        epoch, last_good, ..
    } = &err
    else {
        panic!("expected a divergence, got {err}");
    };
    assert_eq!(*epoch, 1, "{err}");
    assert!(last_good.contains("no checkpoint"), "{err}");
    assert!(!dir.path().join(MODEL_FILE).exists());
    assert!(err.to_string().contains("lower the learning rate"), "{err}");
}

/// A batch whose loss is NaN (injected) stops the retraining by default, naming it and the
/// last good checkpoint; with `non_finite_loss = skip` it is skipped and counted, the weights
/// stay finite, and a run stopped after the skip resumes to the same final weights.
#[test]
fn a_non_finite_loss_stops_the_retraining_or_skips_the_batch() {
    use nse_train::divergence::NonFiniteLoss;
    let poisoned = |stop_after_epoch| RetrainOptions {
        stop_after_epoch,
        inject_non_finite_batches: vec![(2, 1)],
        ..RetrainOptions::default()
    };
    let stopped = TempDir::new("nan-stop");
    let err = run(&tiny_config(), stopped.path(), &poisoned(None)).unwrap_err();
    let RetrainError::Diverged {
        epoch,
        batch,
        loss,
        last_good,
        ..
    } = &err
    else {
        panic!("expected a divergence, got {err}");
    };
    assert_eq!((*epoch, *batch), (2, 1), "{err}");
    assert!(loss.is_nan());
    assert!(last_good.contains("epoch-0001"), "{err}");

    let config = RetrainConfig {
        non_finite_loss: NonFiniteLoss::Skip,
        ..tiny_config()
    };
    let whole = TempDir::new("nan-skip");
    let report = run(&config, whole.path(), &poisoned(None)).unwrap();
    assert!(report.finished);
    let skipped: Vec<usize> = report.epochs.iter().map(|e| e.skipped_batches).collect();
    assert_eq!(skipped, [0, 1, 0]);
    assert!(report.epochs.iter().all(|e| e.train_loss.is_finite()));
    let weights = safetensors(&whole.path().join(SAFETENSORS_FILE));
    for (name, bytes) in &weights {
        assert!(
            bytes
                .chunks(4)
                .all(|b| f32::from_le_bytes(b.try_into().unwrap()).is_finite()),
            "{name} holds NaN"
        );
    }

    let parts = TempDir::new("nan-skip-parts");
    run(&config, parts.path(), &poisoned(Some(2))).unwrap();
    let resumed = run(&config, parts.path(), &poisoned(None)).unwrap();
    assert!(resumed.finished);
    assert_eq!(safetensors(&parts.path().join(SAFETENSORS_FILE)), weights);
}

/// Retraining on two CPU replicas: it learns, differs from one device (per-device batch
/// statistics), an interrupted run resumes to the same weights bit for bit, and another
/// device count may continue it.
#[test]
fn retraining_on_two_devices_resumes_exactly_and_on_another_count() {
    let config = tiny_config();
    let device = Device::flex();
    let two = RetrainOptions {
        devices: vec![device.clone(), device.clone()],
        ..RetrainOptions::default()
    };
    let whole_dir = TempDir::new("dp-whole");
    let whole = run(&config, whole_dir.path(), &two).unwrap();
    assert!(whole.finished);
    let single_dir = TempDir::new("dp-single");
    let single = run(&config, single_dir.path(), &RetrainOptions::default()).unwrap();
    let last = |r: &RetrainReport| r.epochs.last().unwrap().test.top1;
    assert!(
        last(&whole) > 40.0,
        "two devices learn the four quadrants: {}% (one device: {}%)",
        last(&whole),
        last(&single)
    );
    assert_ne!(
        metrics(&whole),
        metrics(&single),
        "batch norm normalises per device, so two devices train differently"
    );

    let dir = TempDir::new("dp-parts");
    let stopped = RetrainOptions {
        stop_after_epoch: Some(1),
        ..two.clone()
    };
    assert!(!run(&config, dir.path(), &stopped).unwrap().finished);
    let resumed = run(&config, dir.path(), &two).unwrap();
    assert_eq!(metrics(&resumed), metrics(&whole));
    assert!(
        safetensors(&dir.path().join(SAFETENSORS_FILE))
            == safetensors(&whole_dir.path().join(SAFETENSORS_FILE))
    );

    let other = TempDir::new("dp-other");
    assert!(!run(&config, other.path(), &stopped).unwrap().finished);
    let continued = run(&config, other.path(), &RetrainOptions::default()).unwrap();
    assert!(continued.finished);
    assert_eq!(metrics(&continued)[0], metrics(&whole)[0]);
}

/// Observers receive every step and epoch as typed events, consistent with the report, and a
/// resumed run continues the step count where the checkpoint left it.
#[test]
fn observers_receive_the_steps_and_epochs_the_report_holds() {
    use nse_train::retrain::RetrainEvent;
    use std::sync::Mutex;
    let tmp = TempDir::new("events");
    let seen: Arc<Mutex<Vec<RetrainEvent>>> = Arc::default();
    let record = |options: &RetrainOptions| {
        let seen = Arc::clone(&seen);
        options.observe(move |e| seen.lock().unwrap().push(e.clone()));
    };
    let first = RetrainOptions {
        stop_after_epoch: Some(2),
        ..RetrainOptions::default()
    };
    record(&first);
    run(&tiny_config(), tmp.path(), &first).unwrap();
    let rest = RetrainOptions::default();
    record(&rest);
    let report = run(&tiny_config(), tmp.path(), &rest).unwrap();
    let events = seen.lock().unwrap().clone();
    let steps = report.steps_per_epoch;
    // Steps 1.. per epoch with a global count, three epochs in all over the two calls.
    let globals: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            RetrainEvent::Step { global_step, .. } => Some(*global_step),
            _ => None,
        })
        .collect();
    assert_eq!(globals, (1..=(3 * steps) as u64).collect::<Vec<_>>());
    let ends: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            RetrainEvent::EpochEnd {
                record,
                global_step,
                epochs,
            } => Some((record.clone(), *global_step, *epochs)),
            _ => None,
        })
        .collect();
    assert_eq!(ends.len(), 3);
    for (k, (record, global, epochs)) in ends.iter().enumerate() {
        assert_eq!(record, &report.epochs[k], "the report's epoch");
        assert_eq!((*global, *epochs), (((k + 1) * steps) as u64, 3));
    }
    assert!(
        events.contains(&RetrainEvent::Resumed { done: 2, epochs: 3 }),
        "the second call resumed"
    );
    // Each epoch: its start, its steps, its evaluation, its end, in that order.
    let third_start = events
        .iter()
        .position(|e| matches!(e, RetrainEvent::EpochStart { epoch: 3, .. }))
        .unwrap();
    assert!(matches!(
        events[third_start + steps + 1],
        RetrainEvent::Evaluating { epoch: 3 }
    ));
    assert!(matches!(
        events[third_start + steps + 2],
        RetrainEvent::EpochEnd { .. }
    ));
}
