//! The NSE search end to end on a tiny synthetic dataset: an interrupted and resumed search
//! ends with exactly the front of an uninterrupted one; an infeasible resource window fails
//! before any training; the indicators move and the front is Pareto-optimal.

use burn::tensor::Device;
use nse_space::WeightSampling;
use nse_train::progress::Quiet;
use nse_train::run_dir::RunDir;
use nse_train::search::{FrontFile, Search, SearchConfig, SearchError, UnsampledOps};

mod common;
use common::{Lines, config, flip_bits, scratch, write_dataset};

/// Resumes the interrupted search in `parts` to its end and checks that it ends with the
/// front of the uninterrupted search in `full`.
/// The plan's window check of `config` (what `Search::new` runs before training).
fn check_window(config: &SearchConfig) -> Result<nse_space::Feasibility, SearchError> {
    config.clone().check()?.check_window()
}

fn resume_to_the_same_front(parts: &std::path::Path, full: &std::path::Path, device: &Device) {
    let outcome = Search::resume(parts, device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(outcome.finished);
    assert_eq!(
        std::fs::read_to_string(RunDir::new(parts).front_path()).unwrap(),
        std::fs::read_to_string(RunDir::new(full).front_path()).unwrap(),
        "the resumed search must end with the same front"
    );
}

/// The training losses a run logged, in order.
fn train_losses(dir: &std::path::Path) -> Vec<f64> {
    std::fs::read_to_string(RunDir::new(dir).log_path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "train")
        .map(|v| v["loss"].as_f64().unwrap())
        .collect()
}

/// The tiny search of `common::config` on its synthetic data, written to a scratch folder
/// `data_dir`, and the CPU device.
fn tiny_search(data_dir: &str) -> (SearchConfig, Device) {
    let data = scratch(data_dir);
    write_dataset(&data);
    (config(&data), Device::flex())
}

/// Runs a fresh search of `config` in `dir` to its end.
fn run_search(config: &SearchConfig, dir: &std::path::Path, device: &Device) {
    Search::new(config.clone(), dir, device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
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
    let front = FrontFile::read(&RunDir::new(&full).front_path()).unwrap();
    assert!(!front.front.is_empty());
    // Pareto-optimal: cost ascending, accuracy strictly rising along the front.
    for pair in front.front.windows(2) {
        assert!(pair[0].macs <= pair[1].macs && pair[0].accuracy < pair[1].accuracy);
    }
    // The indicators moved away from 0 during training.
    let log = std::fs::read_to_string(RunDir::new(&full).log_path()).unwrap();
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
    resume_to_the_same_front(&parts, &full, &device);
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
        message.contains("out of reach") && message.contains("499.000..501.000"),
        "{message}"
    );
    assert!(!run.join("checkpoint").exists() && !RunDir::new(&run).log_path().exists());
}

/// A window the round's learned distribution cannot fill fails after the training, saying
/// what to change; the training is kept, and a resume with a wider window in `config.json`
/// evaluates the round without training it again.
#[test]
fn a_window_missed_after_training_fails_resumably() {
    let (config, device) = tiny_search("data-missed-window");
    let run = scratch("missed-window");
    let mut first = config.clone();
    first.max_steps = Some(1);
    let outcome = Search::new(first, &run, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(!outcome.finished);
    // The window moves out of reach (the check before training has passed already).
    let path = RunDir::new(&run).config_path();
    let saved = std::fs::read_to_string(&path).unwrap();
    let mut moved: SearchConfig = serde_json::from_str(&saved).unwrap();
    moved.resource.target = 500.0;
    moved.resource.drift = 1.0;
    std::fs::write(&path, serde_json::to_string_pretty(&moved).unwrap()).unwrap();
    let err = Search::resume(&run, &device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap_err();
    assert!(matches!(err, SearchError::Infeasible(_)), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("round 1: resource window (499, 501) is infeasible")
            && message.contains("found 0 of")
            && message.contains("training is saved")
            && message.contains("attempts_per_architecture` (now")
            && message.contains(&path.display().to_string()),
        "{message}"
    );
    let epochs_logged = |run: &std::path::Path| {
        std::fs::read_to_string(RunDir::new(run).log_path())
            .unwrap()
            .lines()
            .filter(|l| l.contains("\"epoch_end\""))
            .count()
    };
    assert_eq!(epochs_logged(&run), config.epochs_per_round);
    // The original window back: the round is evaluated from the saved training.
    std::fs::write(&path, saved).unwrap();
    let outcome = Search::resume(&run, &device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(outcome.finished && outcome.rounds_done == 2);
    assert!(RunDir::new(&run).front_path().is_file());
    assert_eq!(epochs_logged(&run), 2 * config.epochs_per_round);
}

/// The window check before training judges what the space can reach, not the uniform
/// distribution of round 1: every preset passes it with its own `n` (2000 for
/// `imagenet-mb27`), although at p = 0.5 the cifar10 and imagenet presets miss their windows.
#[test]
fn every_preset_passes_the_window_check_before_training() {
    for name in SearchConfig::PRESETS {
        let mut config = SearchConfig::preset(name).unwrap();
        if config.resource.relative {
            // A table of this machine, timed quickly: the relative window fits any table.
            let dir = scratch("preset-latency-table");
            let space = config.space.check().unwrap();
            let settings = nse_modules::latency::MeasureSettings {
                batch: 1,
                warmup: 0,
                repeats: 1,
            };
            let path = dir.join("table.json");
            nse_train::latency::build_table(&space, &Device::flex(), &settings, &path, &mut Quiet)
                .unwrap();
            config.resource.latency_table = Some(path);
        } else if config.resource.latency_table.is_some() {
            config.resource.latency_table = Some(
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/data/reference-lut/reference_lut.csv"),
            );
        }
        let f = check_window(&config).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(f.found >= config.evaluation.n, "{name}: {f:?}");
        assert!(f.found_extra >= config.evaluation.n_extra, "{name}: {f:?}");
        let space = config.space.check().unwrap();
        let costs = nse_train::search::cost_table(&config, &space).unwrap();
        config.resource = config.resource.resolve(&space, &costs).unwrap();
        let r = &config.resource;
        assert!(
            f.cheapest < r.target + r.drift && f.dearest > r.target - r.drift,
            "{name}: {f:?}"
        );
    }
    // The README's relative latency window for the cifar10 preset, on a table of this
    // machine.
    let mut cifar = SearchConfig::preset("cifar10").unwrap();
    let dir = scratch("cifar10-latency-table");
    let path = dir.join("table.json");
    let fast = nse_modules::latency::MeasureSettings {
        batch: 1,
        warmup: 0,
        repeats: 1,
    };
    let space = cifar.space.check().unwrap();
    nse_train::latency::build_table(&space, &Device::flex(), &fast, &path, &mut Quiet).unwrap();
    cifar.resource.metric = nse_space::CostKind::Latency;
    cifar.resource.latency_table = Some(path);
    cifar.resource.relative = true;
    (cifar.resource.target, cifar.resource.drift) = (0.1, 0.03);
    cifar.resource.extra_drift = 0.02;
    let f = check_window(&cifar).unwrap();
    assert!(f.found >= cifar.evaluation.n, "{f:?}");
    // A window beyond the most expensive architecture still fails, naming the range.
    let mut config = SearchConfig::preset("cifar10").unwrap();
    config.resource.target = 1e6;
    let err = check_window(&config).unwrap_err();
    assert!(matches!(err, SearchError::Infeasible(_)), "{err}");
    assert!(err.to_string().contains("every op on"), "{err}");
    // More architectures than the window holds at any swept probability.
    let mut config = SearchConfig::preset("demo").unwrap();
    config.evaluation.n = 100_000;
    config.evaluation.attempts_per_architecture = 1;
    config.evaluation.n_extra = 0;
    let err = check_window(&config).unwrap_err();
    assert!(err.to_string().contains("found"), "{err}");
}

/// A one-round search of the tiny config with `change` applied against one without: the
/// change must alter training, and a run with it stopped after `stop_after` steps must
/// resume to exactly the uninterrupted front and losses. Returns the two runs' losses and
/// the changed run's directory.
fn changes_training_and_resumes_exactly(
    name: &str,
    change: impl Fn(&mut SearchConfig),
    stop_after: u64,
) -> (Vec<f64>, Vec<f64>, std::path::PathBuf) {
    let data = scratch(&format!("data-{name}"));
    write_dataset(&data);
    let device = Device::flex();
    let mut config = config(&data);
    config.max_rounds = Some(1);
    config.log_every = 1;
    let plain = scratch(&format!("{name}-off"));
    run_search(&config, &plain, &device);
    change(&mut config);
    let full = scratch(&format!("{name}-full"));
    run_search(&config, &full, &device);
    let (a, b) = (train_losses(&plain), train_losses(&full));
    assert_eq!(a.len(), b.len());
    assert_ne!(a, b, "{name} must change the training");
    let parts = scratch(&format!("{name}-parts"));
    let mut stopped = config.clone();
    stopped.max_steps = Some(stop_after);
    run_search(&stopped, &parts, &device);
    resume_to_the_same_front(&parts, &full, &device);
    assert_eq!(
        train_losses(&parts),
        b,
        "same training losses after the resume"
    );
    (a, b, full)
}

/// The reference's optimizer semantics for unsampled ops (`unsampled_ops: momentum`) change
/// the trained supernet, and a search interrupted mid-round still resumes to exactly the
/// uninterrupted front.
#[test]
fn momentum_for_unsampled_ops_changes_training_and_resumes_exactly() {
    let (frozen, coasting, _) = changes_training_and_resumes_exactly(
        "momentum",
        |c| c.unsampled_ops = UnsampledOps::Momentum,
        7,
    );
    assert_eq!(
        frozen[0], coasting[0],
        "the first step has nothing to coast"
    );
}

/// Both alternatives to the reference's weight-step sampling change the trained supernet,
/// and a search stopped in the middle of a fair block (3 ops per cell here: step 7 is the
/// second of a block) resumes to exactly the uninterrupted front and losses.
#[test]
fn weight_sampling_options_change_training_and_resume_exactly() {
    for (name, sampling) in [
        ("uniform-count", WeightSampling::UniformCount),
        ("fair", WeightSampling::Fair),
    ] {
        let (reference, other, full) =
            changes_training_and_resumes_exactly(name, |c| c.weight_sampling = sampling, 7);
        assert_eq!(reference.len(), other.len());
        let saved: SearchConfig = serde_json::from_str(
            &std::fs::read_to_string(RunDir::new(&full).config_path()).unwrap(),
        )
        .unwrap();
        assert_eq!(saved.weight_sampling, sampling, "recorded in config.json");
    }
}

#[test]
fn a_training_seed_replicates_supernet_training_on_the_same_subspace() {
    let data = scratch("data-training-seed");
    write_dataset(&data);
    let device = Device::flex();
    let mut config = config(&data);
    config.max_rounds = Some(1);
    config.log_every = 1;
    let run = |config: &SearchConfig, name: &str| -> Vec<serde_json::Value> {
        let dir = scratch(name);
        Search::new(config.clone(), &dir, &device)
            .unwrap()
            .run(&mut Quiet)
            .unwrap();
        std::fs::read_to_string(RunDir::new(&dir).log_path())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let field = |log: &[serde_json::Value], event: &str, key: &str| -> Vec<serde_json::Value> {
        log.iter()
            .filter(|v| v["event"] == event)
            .map(|v| v[key].clone())
            .collect()
    };
    let base = run(&config, "seed-default");
    config.training_seed = Some(config.seed);
    let same = run(&config, "seed-explicit");
    assert_eq!(
        field(&base, "train", "loss"),
        field(&same, "train", "loss"),
        "training_seed = seed is the default"
    );
    config.training_seed = Some(config.seed + 1);
    let other = run(&config, "seed-other");
    assert_eq!(
        field(&base, "round_start", "subspace"),
        field(&other, "round_start", "subspace"),
        "the sub-space stays with `seed`"
    );
    assert_eq!(
        field(&base, "start", "held_out_images"),
        field(&other, "start", "held_out_images")
    );
    assert_ne!(
        field(&base, "train", "loss"),
        field(&other, "train", "loss"),
        "another training seed trains another supernet"
    );
    // Another `seed` changes the sub-space (the reason training_seed exists).
    config.training_seed = None;
    config.seed += 1;
    let reseeded = run(&config, "seed-reseeded");
    assert_ne!(
        field(&base, "round_start", "subspace"),
        field(&reseeded, "round_start", "subspace"),
    );
}

#[test]
fn a_probe_scores_after_every_epoch_and_changes_no_front() {
    let (config, device) = tiny_search("data-probe");
    let plain = scratch("probe-off");
    run_search(&config, &plain, &device);
    let front = FrontFile::read(&RunDir::new(&plain).front_path()).unwrap();
    let mut probed = config.clone();
    probed.evaluation.probe = front.front.iter().map(|e| e.architecture.clone()).collect();
    let dir = scratch("probe-on");
    Search::new(probed.clone(), &dir, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(RunDir::new(&dir).front_path()).unwrap(),
        std::fs::read_to_string(RunDir::new(&plain).front_path()).unwrap(),
        "probing must not change the search"
    );
    let probes: Vec<serde_json::Value> = std::fs::read_to_string(RunDir::new(&dir).log_path())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["event"] == "probe")
        .collect();
    assert_eq!(probes.len(), 2 * config.epochs_per_round);
    for p in &probes {
        let scores = p["accuracies"].as_array().unwrap();
        assert_eq!(scores.len(), front.front.len());
        assert!(
            scores
                .iter()
                .all(|a| (0.0..=100.0).contains(&a.as_f64().unwrap()))
        );
    }
    // An architecture that does not fit the space is refused before training.
    let mut bad = probed;
    bad.evaluation.probe[0] = nse_space::Architecture::new(vec![vec![0]]).unwrap();
    let err = Search::new(bad, &scratch("probe-bad"), &device)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("evaluation.probe[0]"), "{err}");
}

#[test]
fn a_latency_constrained_search_writes_latency_per_front_entry() {
    use nse_ops::latency::{Extent, LatencyTable};
    use nse_space::{CostKind, LatencyRules, latency_layers};
    let data = scratch("data-latency");
    write_dataset(&data);
    let device = Device::flex();
    let mut config = config(&data);
    config.max_rounds = Some(1);
    // A made-up table covering every layer of the space: a per-layer overhead plus a term
    // in the layer's work.
    let space = config.space.check().unwrap();
    let mut table = LatencyTable::new("ms");
    let area = |e: Extent| match e {
        Extent::Square(n) => n * n,
        Extent::Pair(h, w) => h * w,
    };
    for key in latency_layers(&space).unwrap() {
        let work = key.cin * key.cout * area(key.kernel).max(1) * area(key.hw) / key.groups.max(1);
        table.entries.insert(key, 0.01 + 1e-6 * work as f64);
    }
    let path = data.join("latency.json");
    std::fs::write(&path, serde_json::to_string(&table).unwrap()).unwrap();
    config.resource.metric = CostKind::Latency;
    config.resource.latency_table = Some(path.clone());
    // The reachable range, from a window that takes everything.
    config.resource.target = 1.0;
    config.resource.drift = 1e9;
    let f = check_window(&config).unwrap();
    config.resource.target = (f.cheapest + f.dearest) / 2.0;
    config.resource.drift = (f.dearest - f.cheapest) / 4.0;
    config.resource.a = 0.05;
    let run = scratch("latency-run");
    Search::new(config.clone(), &run, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    let front = FrontFile::read(&RunDir::new(&run).front_path()).unwrap();
    assert_eq!(front.metric, CostKind::Latency);
    assert_eq!(front.unit.as_deref(), Some("ms"));
    assert!(!front.front.is_empty());
    let rules = LatencyRules::default();
    let costs = nse_train::search::cost_table(&config, &space).unwrap();
    for entry in &front.front {
        let latency = entry.latency.expect("latency per entry");
        // The per-op table (merge adds folded in) equals the network sum, exactly as summed.
        let summed = space
            .architecture_latency(&table, &rules, &entry.architecture)
            .unwrap()
            .total;
        assert!((latency - summed).abs() < 1e-9, "{latency} vs {summed}");
        assert!((costs.architecture_cost(entry.architecture.cells()) - summed).abs() < 1e-9);
    }
    // A MAC-constrained front carries no latency.
    let mut macs = config.clone();
    macs.resource = common::config(&data).resource;
    let macs_run = scratch("latency-macs");
    Search::new(macs, &macs_run, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    let macs_front = FrontFile::read(&RunDir::new(&macs_run).front_path()).unwrap();
    assert_eq!(macs_front.unit.as_deref(), Some("MMACs"));
    assert!(macs_front.front.iter().all(|e| e.latency.is_none()));
    // A missing table is refused before training, naming what is missing.
    let mut missing = config.clone();
    missing.resource.latency_table = None;
    let err = Search::new(missing, &scratch("latency-missing"), &device)
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("no `resource.latency_table`"),
        "{err}"
    );
    // A table that lacks a layer names it.
    let mut partial = table.clone();
    let first = *partial.entries.keys().next().unwrap();
    partial.entries.remove(&first);
    std::fs::write(&path, serde_json::to_string(&partial).unwrap()).unwrap();
    let err = Search::new(config, &scratch("latency-partial"), &device)
        .err()
        .expect("refused");
    assert!(err.to_string().contains(&first.to_string()), "{err}");
}

/// Shadow batch norm trains a batch norm per branch count in every cell (it changes the
/// training), and a search interrupted mid-round with it resumes to the uninterrupted front.
#[test]
fn shadow_batch_norm_trains_per_branch_count_and_resumes_exactly() {
    let (_, _, full) =
        changes_training_and_resumes_exactly("shadow", |c| c.shadow_batch_norm = true, 5);
    // The trained supernet: some shadow batch norm of each cell has learned.
    let search = Search::open(&full, &Device::flex()).unwrap();
    let (state, _) = search.latest_state().unwrap();
    let moved = |bn: &burn::nn::BatchNorm| {
        bn.gamma
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap()
            .iter()
            .any(|&g| g != 1.0)
    };
    for (c, cell) in state.supernet.cells.iter().enumerate() {
        assert!(!cell.shadow.is_empty());
        assert!(cell.shadow[..2].iter().any(moved), "cell {c}");
        // No path of this sub-space (3 ops) has 5 branches: that layer never trains.
        assert!(!moved(&cell.shadow[4]), "cell {c}");
    }
}

/// Raises a stop flag when a task called `label` begins and after `steps` advances of it.
struct StopAt {
    flag: nse_train::interrupt::StopFlag,
    label: &'static str,
    steps: u64,
    active: bool,
    seen: u64,
}

impl nse_train::progress::Reporter for StopAt {
    fn begin(&mut self, label: &str, _: u64) {
        self.active = label == self.label;
        self.seen = 0;
        if self.active && self.steps == 0 {
            self.flag.raise();
        }
    }
    fn advance(&mut self, n: u64, _: &str) {
        if self.active {
            self.seen += n;
            if self.seen >= self.steps {
                self.flag.raise();
            }
        }
    }
    fn finish(&mut self) {}
    fn line(&mut self, _: &str) {}
}

/// A raised stop flag stops the search at the next weight step (mid-round) or evaluated
/// architecture, with a checkpoint, and the resumed search ends with the uninterrupted front.
#[test]
fn a_stop_flag_stops_at_a_safe_point_and_the_search_resumes_exactly() {
    let (config, device) = tiny_search("data-stop");
    let full = scratch("stop-full");
    run_search(&config, &full, &device);
    for (name, label, steps) in [
        ("stop-train", "round 1 training", 3),
        ("stop-eval", "round 2 evaluation", 0),
    ] {
        let dir = scratch(name);
        let flag = nse_train::interrupt::StopFlag::new();
        let mut search = Search::new(config.clone(), &dir, &device).unwrap();
        search.stop_when(flag.clone());
        let mut reporter = StopAt {
            flag,
            label,
            steps,
            active: false,
            seen: 0,
        };
        let outcome = search.run(&mut reporter).unwrap();
        assert!(outcome.interrupted && !outcome.finished, "{name}");
        assert!(!RunDir::new(&dir).front_path().exists(), "{name}");
        let progress = nse_train::search::checkpoint::read_progress(
            &nse_train::search::checkpoint::find(&dir).unwrap(),
        )
        .unwrap();
        assert_eq!(progress.total_steps, outcome.total_steps, "{name}");
        if steps > 0 {
            assert_eq!(
                outcome.total_steps, 3,
                "stopped after the third weight step"
            );
        } else {
            assert_eq!(outcome.rounds_done, 1, "stopped in round 2's evaluation");
        }
        resume_to_the_same_front(&dir, &full, &device);
    }
}

/// A damaged newest checkpoint — flipped bits in the weights, or weights that checksum but
/// hold NaN — is reported by name and the search resumes from the one before it, to the
/// uninterrupted front; with every checkpoint damaged the search stops with a clear error.
#[test]
fn a_damaged_checkpoint_is_named_and_the_previous_one_resumes() {
    use nse_train::search::checkpoint::{candidates, checkpoint_dir};
    let (config, device) = tiny_search("data-damage");
    let full = scratch("damage-full");
    run_search(&config, &full, &device);
    // Two checkpoints mid-round 1 (after steps 5 and 9), then the newest is damaged.
    let interrupted = |name: &str| {
        let dir = scratch(name);
        let mut stopped = config.clone();
        stopped.max_steps = Some(5);
        run_search(&stopped, &dir, &device);
        Search::resume(&dir, &device, Some(4))
            .unwrap()
            .run(&mut Quiet)
            .unwrap();
        assert_eq!(candidates(&dir).len(), 2, "the previous checkpoint is kept");
        dir
    };
    let resume_reporting = |dir: &std::path::Path| -> Vec<String> {
        let mut lines = Lines::default();
        let outcome = Search::resume(dir, &device, None)
            .unwrap()
            .run(&mut lines)
            .unwrap();
        assert!(outcome.finished);
        assert_eq!(
            std::fs::read_to_string(RunDir::new(dir).front_path()).unwrap(),
            std::fs::read_to_string(RunDir::new(&full).front_path()).unwrap(),
        );
        lines.0
    };

    let flipped = interrupted("damage-bits");
    flip_bits(&checkpoint_dir(&flipped).join("supernet.bpk"));
    let lines = resume_reporting(&flipped);
    let report = lines.join("\n");
    assert!(
        report.contains("is damaged (supernet.bpk: checksum") && report.contains("falling back"),
        "{report}"
    );
    let log = std::fs::read_to_string(RunDir::new(&flipped).log_path()).unwrap();
    assert!(log.contains("\"damaged_checkpoint\""));
    // The damaged folder was set aside, out of the rotation; the run's checkpoints are whole.
    assert!(flipped.join("checkpoint.damaged/supernet.bpk").is_file());
    for dir in candidates(&flipped) {
        nse_train::search::checkpoint::verify(&dir).unwrap();
    }

    // Weights that match their checksum but hold NaN: refused when loaded.
    let nan = interrupted("damage-nan");
    let newest = checkpoint_dir(&nan);
    let search = Search::open(&nan, &device).unwrap();
    let path = newest.join("supernet.bpk");
    let mut state =
        nse_supernet::SupernetState::load(search.space(), &device.clone().autodiff(), &path)
            .unwrap();
    let mut alphas = state.indicators.values();
    alphas[0][0] = f32::NAN;
    state.indicators = nse_supernet::Indicators::from_values(&alphas, &device.clone().autodiff());
    state.save(&path).unwrap();
    nse_supernet::durable::seal(&newest, "COMPLETE").unwrap();
    let report = resume_reporting(&nan).join("\n");
    assert!(
        report.contains("non-finite") && report.contains("falling back"),
        "{report}"
    );

    // Both damaged: a clear error naming both, nothing trained.
    let both = interrupted("damage-both");
    for dir in candidates(&both) {
        flip_bits(&dir.join("supernet.bpk"));
    }
    let err = Search::resume(&both, &device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no intact checkpoint"), "{err}");
    assert!(
        err.contains("checkpoint.old") && err.matches("checksum").count() == 2,
        "{err}"
    );
}

/// A diverging run (a learning rate raised to 1e9 in a run's saved config) stops at the
/// first non-finite loss with an error naming the step and the last good checkpoint, which
/// stays intact; nothing is written after it.
#[test]
fn a_diverging_search_stops_and_names_the_last_good_checkpoint() {
    let data = scratch("data-diverge");
    write_dataset(&data);
    let device = Device::flex();
    let dir = scratch("diverge");
    let mut first = config(&data);
    first.max_steps = Some(3);
    run_search(&first, &dir, &device);
    let good = nse_train::search::checkpoint::find(&dir).unwrap();
    let before = std::fs::read(good.join("supernet.bpk")).unwrap();
    let path = RunDir::new(&dir).config_path();
    let mut saved: SearchConfig =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    saved.lr.base = 1e9;
    std::fs::write(&path, serde_json::to_string(&saved).unwrap()).unwrap();
    let err = Search::resume(&dir, &device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap_err();
    let SearchError::Diverged { round, step, .. } = &err else {
        panic!("expected a divergence, got {err}");
    };
    assert_eq!(*round, 1);
    assert!(*step > 3, "the first three steps were good: {err}");
    let text = err.to_string();
    assert!(text.contains("is NaN") || text.contains("is inf"), "{text}");
    assert!(text.contains(&format!("`{}`", good.display())), "{text}");
    // The last good checkpoint is untouched and whole.
    nse_train::search::checkpoint::verify(&good).unwrap();
    assert_eq!(std::fs::read(good.join("supernet.bpk")).unwrap(), before);
    assert!(!RunDir::new(&dir).front_path().exists());
}

/// Observers see every event as it happens; the log holds exactly the logged ones, and reads
/// back into the same typed events.
#[test]
fn observers_see_the_events_the_log_holds_and_every_step() {
    use nse_train::progress::{Collect, Event as ProgressEvent};
    use nse_train::search::SearchDisplay;
    use nse_train::search::events::{SearchEvent, read_log};
    use std::sync::{Arc, Mutex};
    let (config, device) = tiny_search("data-events");
    let dir = scratch("events");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut search = Search::new(config.clone(), &dir, &device).unwrap();
    let sink = seen.clone();
    search.observe(move |e| sink.lock().unwrap().push(e.clone()));
    let mut shown = Collect::default();
    let outcome = search.run(&mut shown).unwrap();
    let seen = seen.lock().unwrap().clone();
    // The progress shown is made from the events alone: replaying them through a
    // `SearchDisplay` gives the same bars and lines.
    let mut replay = SearchDisplay::new(Collect::default());
    seen.iter().for_each(|e| replay.on_event(e));
    assert_eq!(replay.into_inner(), shown);
    assert_eq!(
        shown.labels(),
        [
            "round 1 training",
            "round 1 evaluation",
            "round 2 training",
            "round 2 evaluation"
        ]
    );
    let advanced: u64 = shown
        .events
        .iter()
        .map(|e| match e {
            ProgressEvent::Advance { n, .. } => *n,
            _ => 0,
        })
        .sum();
    let evaluated = seen
        .iter()
        .filter(|e| matches!(e, SearchEvent::Evaluated { .. }))
        .count() as u64;
    assert_eq!(advanced, outcome.total_steps + evaluated);
    let lines = shown.lines();
    assert!(
        lines[0].starts_with("round 1/2: sub-space of up to "),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("round 2: ") && l.contains(" evaluated, front of ")),
        "{lines:?}"
    );
    let logged: Vec<SearchEvent> = seen.iter().filter(|e| e.is_logged()).cloned().collect();
    assert_eq!(read_log(&RunDir::new(&dir).log_path()).unwrap(), logged);
    // Every weight step, in order, and an indicator step every `every` steps.
    let steps: Vec<(usize, u64)> = seen
        .iter()
        .filter_map(|e| match e {
            SearchEvent::WeightStep { round, step, .. } => Some((*round, *step)),
            _ => None,
        })
        .collect();
    assert_eq!(steps.len() as u64, outcome.total_steps);
    let per_round = steps.iter().filter(|(r, _)| *r == 1).count() as u64;
    assert!(
        steps
            .iter()
            .filter(|(r, _)| *r == 1)
            .map(|(_, s)| *s)
            .eq(1..=per_round)
    );
    let indicator_steps = seen
        .iter()
        .filter(|e| matches!(e, SearchEvent::IndicatorStep { .. }))
        .count() as u64;
    let every = config.indicator.every as u64;
    assert_eq!(indicator_steps, outcome.total_steps / every);
    // The run begins with `start` and `round_start`, ends with `finish` holding the front.
    assert!(matches!(logged[0], SearchEvent::Start { .. }));
    assert!(matches!(
        logged[1],
        SearchEvent::RoundStart { round: 1, .. }
    ));
    let SearchEvent::Finish { front, .. } = logged.last().unwrap() else {
        panic!("the log ends with {:?}", logged.last());
    };
    assert_eq!(front, &outcome.front);
}

/// A custom evaluator replaces BN recalibration + held-out top-1: it is called once per
/// evaluated architecture, its scores are what the log and the front report, and the front
/// follows them (scoring cheaper architectures higher leaves the cheapest alone on it).
#[test]
fn a_custom_evaluator_scores_the_candidates() {
    use nse_train::search::events::{SearchEvent, read_log};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (config, device) = tiny_search("data-evaluator");
    let dir = scratch("evaluator");
    let mut search = Search::new(config, &dir, &device).unwrap();
    let space = search.space().clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    search.evaluate_with(
        move |_round: usize,
              _supernet: &mut nse_supernet::Supernet,
              arch: &nse_space::Architecture,
              _scorer: &nse_train::search::Scorer| {
            counter.fetch_add(1, Ordering::SeqCst);
            let macs = space.architecture_cost(arch)?.total.macs;
            Ok(-(macs as f64) / 1e6)
        },
    );
    let outcome = search.run(&mut Quiet).unwrap();
    let events = read_log(&RunDir::new(&dir).log_path()).unwrap();
    let scores: Vec<(f64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            SearchEvent::Evaluated { accuracy, macs, .. } => Some((*accuracy, *macs)),
            _ => None,
        })
        .collect();
    assert_eq!(scores.len(), calls.load(Ordering::SeqCst));
    assert!(!scores.is_empty());
    for (score, macs) in &scores {
        assert_eq!(*score, -(*macs as f64) / 1e6);
    }
    assert_eq!(outcome.front.len(), 1, "{:?}", outcome.front);
    let cheapest = outcome.front[0].macs;
    assert!(cheapest <= scores.iter().map(|s| s.1).min().unwrap());
}

/// A search on datasets given from code: recorded as `custom`, refused by a plain resume
/// with a clear message, and resumed with the same datasets to the uninterrupted front.
#[test]
fn a_search_runs_and_resumes_on_datasets_given_from_code() {
    use nse_train::data::{MnistVariant, Split, load_mnist};
    use nse_train::search::DataSource;
    use nse_train::search::data::SharedDataset;
    use std::sync::Arc;
    let data = scratch("data-custom");
    write_dataset(&data);
    let load = |split| -> SharedDataset {
        Arc::new(load_mnist(&data, split, MnistVariant::Fashion).unwrap())
    };
    let device = Device::flex();
    let config = config(&data);
    let full = scratch("custom-full");
    Search::with_datasets(
        config.clone(),
        "my data",
        load(Split::Train),
        Some(load(Split::Test)),
        &full,
        &device,
    )
    .unwrap()
    .run(&mut Quiet)
    .unwrap();
    let saved: SearchConfig =
        serde_json::from_str(&std::fs::read_to_string(RunDir::new(&full).config_path()).unwrap())
            .unwrap();
    assert_eq!(
        saved.data.source,
        DataSource::Custom {
            name: "my data".into()
        }
    );

    let parts = scratch("custom-parts");
    let mut stopped = config.clone();
    stopped.max_steps = Some(9);
    let train = load(Split::Train);
    Search::with_datasets(stopped, "my data", train.clone(), None, &parts, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    let err = Search::resume(&parts, &device, None).err().unwrap();
    assert!(err.to_string().contains("resume_with_datasets"), "{err}");
    let outcome = Search::resume_with_datasets(&parts, train, None, &device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(outcome.finished);
    assert_eq!(
        std::fs::read_to_string(RunDir::new(&parts).front_path()).unwrap(),
        std::fs::read_to_string(RunDir::new(&full).front_path()).unwrap()
    );
    // Images of the wrong channel count are refused before anything runs.
    let mut rgb = config.clone();
    rgb.space.input_channels = 3;
    let err = Search::with_datasets(
        rgb,
        "x",
        load(Split::Train),
        None,
        &scratch("custom-rgb"),
        &device,
    )
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("1 channels, the space expects 3"),
        "{err}"
    );
}

/// A search paused between phases continues to the uninterrupted front; at the pause before
/// an evaluation, research code sees the candidates and adds its own, which are scored.
#[test]
fn a_search_pauses_between_phases_and_takes_candidates() {
    use nse_train::search::Pause;
    use nse_train::search::events::{SearchEvent, read_log};
    let (config, device) = tiny_search("data-pause");
    let full = scratch("pause-full");
    run_search(&config, &full, &device);

    let dir = scratch("pause");
    let mut search = Search::new(config.clone(), &dir, &device).unwrap();
    search.pause_at(&[Pause::BeforeEvaluation, Pause::AfterRound]);
    let mut stops = Vec::new();
    let outcome = loop {
        let outcome = search.run(&mut Quiet).unwrap();
        match outcome.paused {
            Some(pause) => {
                if pause == Pause::BeforeEvaluation {
                    let candidates = search.candidates().unwrap();
                    assert!(!candidates.is_empty());
                    assert!(candidates.iter().all(|c| c.accuracy.is_none()));
                }
                stops.push((pause, outcome.rounds_done));
            }
            None => break outcome,
        }
    };
    assert!(outcome.finished);
    assert_eq!(
        stops,
        [
            (Pause::BeforeEvaluation, 0),
            (Pause::AfterRound, 1),
            (Pause::BeforeEvaluation, 1)
        ]
    );
    assert_eq!(
        std::fs::read_to_string(RunDir::new(&dir).front_path()).unwrap(),
        std::fs::read_to_string(RunDir::new(&full).front_path()).unwrap()
    );
    // Candidates of your own: from the round's sub-space, scored with the others.
    let own = scratch("pause-own");
    let mut search = Search::new(config.clone(), &own, &device).unwrap();
    search.pause_at(&[Pause::BeforeEvaluation]);
    assert!(search.add_candidates(&[]).is_err(), "not paused yet");
    let outcome = search.run(&mut Quiet).unwrap();
    assert_eq!(outcome.paused, Some(Pause::BeforeEvaluation));
    let subspace = nse_train::search::checkpoint::read_progress(
        &nse_train::search::checkpoint::find(&own).unwrap(),
    )
    .unwrap()
    .evolution
    .subspace()
    .clone();
    let cells: Vec<Vec<usize>> = (0..subspace.num_cells())
        .map(|c| match subspace.is_residual(c) {
            true => vec![],
            false => vec![subspace.ops(c)[0]],
        })
        .collect();
    let mine = nse_space::Architecture::new(cells.clone()).unwrap();
    let before = search.candidates().unwrap().len();
    let already = search
        .candidates()
        .unwrap()
        .iter()
        .any(|c| c.architecture == mine);
    assert_eq!(
        search.add_candidates(std::slice::from_ref(&mine)).unwrap(),
        usize::from(!already)
    );
    assert_eq!(
        search.add_candidates(std::slice::from_ref(&mine)).unwrap(),
        0,
        "no duplicates"
    );
    assert_eq!(
        search.candidates().unwrap().len(),
        before + usize::from(!already)
    );
    // An op outside the sub-space is refused, naming it.
    let outside = (0..5).find(|op| !subspace.ops(0).contains(op)).unwrap();
    let mut bad = cells.clone();
    bad[0] = vec![outside];
    let err = search
        .add_candidates(&[nse_space::Architecture::new(bad).unwrap()])
        .unwrap_err();
    assert!(
        err.to_string().contains("not in the round's sub-space"),
        "{err}"
    );
    search.pause_at(&[]);
    search.run(&mut Quiet).unwrap();
    let scored = read_log(&RunDir::new(&own).log_path())
        .unwrap()
        .into_iter()
        .any(|e| matches!(e, SearchEvent::Evaluated { round: 1, architecture, .. } if architecture == mine));
    assert!(scored, "the added candidate was scored in round 1");
}

/// Between two rounds research code may change the next round's sub-space; the round then
/// trains on it. Outside that pause the call is refused.
#[test]
fn the_next_rounds_subspace_can_be_changed_between_rounds() {
    use nse_train::search::Pause;
    use nse_train::search::checkpoint::{find, read_progress};
    use nse_train::search::events::{SearchEvent, read_log};
    let data = scratch("data-set-subspace");
    write_dataset(&data);
    let device = Device::flex();
    let dir = scratch("set-subspace");
    let mut search = Search::new(config(&data), &dir, &device).unwrap();
    assert!(
        search.set_subspace(vec![]).is_err(),
        "nothing to change yet"
    );
    search.pause_at(&[Pause::AfterRound]);
    let outcome = search.run(&mut Quiet).unwrap();
    assert_eq!(outcome.paused, Some(Pause::AfterRound));
    let evolution = read_progress(&find(&dir).unwrap()).unwrap().evolution;
    let mut cells = evolution.subspace().cells().to_vec();
    // Cell 2 (non-residual) takes its first pending op in place of a non-front op, if any.
    let kept = &evolution.kept()[2];
    if let (Some(&incoming), Some(slot)) = (
        evolution.pending()[2].first(),
        cells[2].iter().position(|op| !kept.contains(op)),
    ) {
        cells[2][slot] = incoming;
    }
    assert_ne!(
        cells,
        evolution.subspace().cells(),
        "the test changes the sub-space"
    );
    let set = search.set_subspace(cells.clone()).unwrap();
    for (cell, ops) in cells.iter().enumerate() {
        let mut ops = ops.clone();
        ops.sort_unstable();
        assert_eq!(set[cell], ops, "cell {cell}");
    }
    search.pause_at(&[]);
    search.run(&mut Quiet).unwrap();
    let round_two = read_log(&RunDir::new(&dir).log_path())
        .unwrap()
        .into_iter()
        .find_map(|e| match e {
            SearchEvent::RoundStart {
                round: 2, subspace, ..
            } => Some(subspace),
            _ => None,
        })
        .unwrap();
    assert_eq!(round_two, set);
}

/// Research code ends a round's training early (here an observer, after the third weight
/// step of round 1): the round goes on to its evaluation, the next round trains in full,
/// and a run also stopped there resumes to the same front.
#[test]
fn a_rounds_training_can_be_ended_early_and_the_search_resumes_exactly() {
    use nse_train::interrupt::StopFlag;
    use nse_train::search::events::{SearchEvent, read_log};
    let (config, device) = tiny_search("data-end-early");
    let run = |dir: &std::path::Path, also_stop: bool| {
        let (end, stop) = (StopFlag::new(), StopFlag::new());
        let mut search = Search::new(config.clone(), dir, &device).unwrap();
        search.end_training_when(end.clone());
        search.stop_when(stop.clone());
        search.observe(move |e| {
            if let SearchEvent::WeightStep {
                round: 1, step: 3, ..
            } = e
            {
                end.raise();
                if also_stop {
                    stop.raise();
                }
            }
        });
        search.run(&mut Quiet).unwrap()
    };
    let ended = scratch("end-early");
    let outcome = run(&ended, false);
    assert!(outcome.finished);
    let log = read_log(&RunDir::new(&ended).log_path()).unwrap();
    let early: Vec<_> = log
        .iter()
        .filter_map(|e| match e {
            SearchEvent::TrainingEndedEarly {
                round,
                step,
                planned,
            } => Some((*round, *step, *planned)),
            _ => None,
        })
        .collect();
    assert_eq!(early.len(), 1, "{early:?}");
    let (round, step, planned) = early[0];
    assert_eq!((round, step), (1, 3));
    assert!(planned > 3, "the round had {planned} steps planned");
    // Round 2 trained in full: the run took 3 + planned steps.
    assert_eq!(outcome.total_steps, 3 + planned);
    assert!(
        log.iter()
            .any(|e| matches!(e, SearchEvent::Evaluated { round: 1, .. })),
        "round 1 was evaluated"
    );

    let stopped = scratch("end-early-stopped");
    let outcome = run(&stopped, true);
    assert!(outcome.interrupted && outcome.total_steps == 3);
    resume_to_the_same_front(&stopped, &ended, &device);
}

/// A weight step whose loss is NaN (injected) stops the search by default, naming the step
/// and the last good checkpoint; with `non_finite_loss = skip` the batch is skipped and
/// logged, the run finishes with finite weights and resumes exactly; eight NaN losses in a
/// row stop it even then.
#[test]
fn a_non_finite_loss_stops_the_search_or_skips_the_batch() {
    use nse_train::search::events::{SearchEvent, read_log};
    use nse_train::search::{MAX_SKIPPED_IN_A_ROW, NonFiniteLoss};
    let (config, device) = tiny_search("data-nan-loss");
    let poisoned_run = |config: &SearchConfig, dir: &std::path::Path, at: &[(usize, u64)]| {
        let mut search = Search::new(config.clone(), dir, &device).unwrap();
        search.inject_non_finite_batches(at);
        search.run(&mut Quiet)
    };

    let stopped = scratch("nan-stop");
    let mut first = config.clone();
    first.max_steps = Some(3);
    run_search(&first, &stopped, &device);
    let good = nse_train::search::checkpoint::find(&stopped).unwrap();
    let mut search = Search::resume(&stopped, &device, None).unwrap();
    search.inject_non_finite_batches(&[(1, 5)]);
    let err = search.run(&mut Quiet).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            SearchError::Diverged {
                round: 1,
                step: 5,
                ..
            }
        ),
        "{text}"
    );
    assert!(text.contains("the loss is NaN"), "{text}");
    assert!(text.contains(&format!("`{}`", good.display())), "{text}");

    let mut skip = config.clone();
    skip.non_finite_loss = NonFiniteLoss::Skip;
    let skipped = scratch("nan-skip");
    let outcome = poisoned_run(&skip, &skipped, &[(1, 4), (2, 2)]).unwrap();
    assert!(outcome.finished);
    let log = read_log(&RunDir::new(&skipped).log_path()).unwrap();
    let skips: Vec<(usize, u64)> = log
        .iter()
        .filter_map(|e| match e {
            SearchEvent::SkippedBatch { round, step, loss } => {
                assert_eq!(loss, "NaN");
                Some((*round, *step))
            }
            _ => None,
        })
        .collect();
    assert_eq!(skips, [(1, 4), (2, 2)]);
    // The skipped batches left no NaN behind: the final checkpoint loads (loading refuses
    // non-finite weights and statistics) and the front is finite.
    let search = Search::open(&skipped, &device).unwrap();
    search.latest_state().unwrap();
    assert!(outcome.front.iter().all(|f| f.accuracy.is_finite()));

    // Interrupted after the skipped step and resumed: the same front.
    let parts = scratch("nan-skip-parts");
    let mut stopped_early = skip.clone();
    stopped_early.max_steps = Some(6);
    poisoned_run(&stopped_early, &parts, &[(1, 4)]).unwrap();
    let mut resumed = Search::resume(&parts, &device, None).unwrap();
    resumed.inject_non_finite_batches(&[(2, 2)]);
    assert!(resumed.run(&mut Quiet).unwrap().finished);
    assert_eq!(
        std::fs::read_to_string(RunDir::new(&parts).front_path()).unwrap(),
        std::fs::read_to_string(RunDir::new(&skipped).front_path()).unwrap()
    );

    // Too many in a row: the run has diverged.
    let row: Vec<(usize, u64)> = (3..3 + u64::from(MAX_SKIPPED_IN_A_ROW))
        .map(|s| (1, s))
        .collect();
    let err = poisoned_run(&skip, &scratch("nan-row"), &row).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{MAX_SKIPPED_IN_A_ROW} batches in a row")),
        "{err}"
    );
}

/// Scratch folders of ended test processes are removed; a live process's are kept.
#[test]
fn scratch_folders_of_ended_processes_are_removed() {
    if !std::path::Path::new("/proc/self").exists() {
        return; // Only where /proc tells which processes run.
    }
    let prefix = "nse-scratch-cleaner-test-";
    let tmp = std::env::temp_dir();
    // Beyond any pid Linux hands out (at most 2^22).
    let ended = tmp.join(format!("{prefix}4000000000-run"));
    let live = tmp.join(format!("{prefix}{}-run", std::process::id()));
    let unrelated = tmp.join(format!("{prefix}not-a-pid"));
    for dir in [&ended, &live, &unrelated] {
        std::fs::create_dir_all(dir.join("inner")).unwrap();
    }
    common::remove_ended_scratch(prefix);
    assert!(!ended.exists(), "an ended process's folder is removed");
    assert!(live.exists() && unrelated.exists());
    for dir in [&live, &unrelated] {
        std::fs::remove_dir_all(dir).unwrap();
    }
}
