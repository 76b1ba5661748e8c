//! Data parallelism on a second backend: the weight step of `nse_supernet::parallel` with
//! replicas on WGPU (Mesa's software Vulkan driver here, the code path of GPUs: CubeCL
//! kernels, device-to-device copies of gradients and statistics), and with replicas on two
//! different backends at once (CPU main device, WGPU replica: `Module::fork` and
//! `GradientsParams::to_device` across backends).
//!
//! - Two WGPU replicas take the step of the summed, share-weighted shard gradients computed
//!   on one WGPU device (the CPU replicas' test, `nse-supernet/tests/data_parallel.rs`, on the
//!   GPU code path).
//! - A CPU + WGPU pair takes the same step as the summed shard gradients on one CPU device,
//!   to within the round-off of WGPU against the CPU (`wgpu_parity.rs`); a step that dropped
//!   a shard's gradients ends 4e-2 away, far outside it. Its running statistics are the
//!   average of the two shards'.
//! - An indicator step on a CPU + WGPU pair moves the indicators as on a CPU + CPU pair
//!   (which `data_parallel.rs` holds to the summed shard gradients on one device).
//! - A search's evaluation spread over the CPU and WGPU (`Search::set_devices` before the
//!   evaluation: the second device scores every other candidate on a full replica of the
//!   supernet) scores the candidates a CPU-only evaluation scores, with the same accuracies to
//!   within one image of the held-out batches.
//!
//! Run: `cargo test -p nse --features wgpu --test wgpu_data_parallel` (CI does, beside
//! `wgpu_parity`). Without any WGPU adapter the tests fail, unless `NSE_SKIP_WGPU=1` is set.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Device, Tensor};
use nse::burn;
use nse::space::{Architecture, SearchSpace};
use nse::supernet::Supernet;
use nse::supernet::parallel::{indicator_step_parallel, weight_step_parallel};
use nse::train::progress::Quiet;
use nse::train::search::events::SearchEvent;
use nse::train::search::{Pause, Search, SearchConfig};

mod common;
use common::wgpu;
// The tiny space and the host-drawn batches of the CPU replicas' test, shared with it.
#[path = "../../nse-supernet/tests/support/mod.rs"]
mod support;
use support::{batch, tiny_space};

fn sgd() -> ModuleOptimizer {
    SgdConfig::new()
        .with_momentum(Some(MomentumConfig {
            momentum: 0.9,
            dampening: 0.0,
            nesterov: true,
        }))
        .with_weight_decay(Some(WeightDecayConfig { penalty: 4e-5 }))
        .init()
}

fn archs() -> Vec<Vec<Vec<usize>>> {
    vec![
        vec![vec![0, 2], vec![1], vec![3, 4]],
        vec![vec![1, 3], vec![0, 4], vec![2]],
        vec![vec![0, 2, 4], vec![1], vec![1, 3]],
    ]
}

/// The trainable parameters' values, in visiting order.
fn trainable<M: Module>(module: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if param.is_require_grad() {
                self.0
                    .push(param.val().into_data().try_to_vec::<f32>().unwrap());
            }
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .flat_map(|(x, y)| {
            assert_eq!(x.len(), y.len());
            x.iter().zip(y).map(|(p, q)| (p - q).abs())
        })
        .fold(0.0, |m, d| if d.is_nan() { f32::NAN } else { m.max(d) })
}

/// Three parallel steps of `net` over `devices`, the batches made on `main` (7 images).
fn three_parallel_steps(mut net: Supernet, main: &Device, devices: &[Device]) -> Supernet {
    let mut optim = sgd();
    for (step, arch) in archs().iter().enumerate() {
        let (images, labels) = batch(main, 7, step);
        let (next, stats) =
            weight_step_parallel(net, &mut optim, 0.05, arch, &[], images, labels, devices)
                .unwrap();
        assert!(stats.loss.is_finite(), "step {step}: loss {}", stats.loss);
        assert_eq!(stats.images, 7);
        net = next;
    }
    net
}

/// Three steps on one supernet on `device` whose loss is the share-weighted sum of the two
/// shards' losses (4 and 3 images), each shard in a forward pass of its own: what a parallel
/// step over two replicas must equal.
fn three_summed_shard_steps(space: &SearchSpace, device: &Device) -> Supernet {
    let mut reference = Supernet::new(space, device, 7).unwrap();
    let mut optim = sgd();
    for (step, arch) in archs().iter().enumerate() {
        let (images, labels) = batch(device, 7, step);
        let mut total: Option<Tensor<1>> = None;
        for (start, size) in [(0, 4), (4, 3)] {
            let logits = reference
                .forward(images.clone().narrow(0, start, size), arch)
                .unwrap();
            let y = labels.clone().narrow(0, start, size).one_hot(4).float();
            let weighted = cross_entropy_with_logits(logits, y).mul_scalar(size as f64 / 7.0);
            total = Some(match total {
                Some(t) => t + weighted,
                None => weighted,
            });
        }
        let mut grads = total.unwrap().backward();
        let params = GradientsParams::from_module(&mut grads, &reference);
        reference = optim.step(0.05, reference, params);
    }
    reference
}

/// Three steps on two WGPU replicas against the summed shard gradients on one WGPU device.
#[test]
fn two_wgpu_replicas_take_the_step_of_the_summed_shard_gradients() {
    let Some(wgpu) = wgpu() else { return };
    let device = wgpu.autodiff();
    let space = tiny_space();
    let start = Supernet::new(&space, &device, 7).unwrap();
    let before = trainable(&start);
    let parallel = three_parallel_steps(start, &device, &[device.clone(), device.clone()]);
    let reference = three_summed_shard_steps(&space, &device);
    let moved = max_abs_diff(&trainable(&parallel), &before);
    let diff = max_abs_diff(&trainable(&parallel), &trainable(&reference));
    println!("two WGPU replicas: moved {moved:.3e}, differ from one device by {diff:.3e}");
    assert!(moved > 1e-3, "the steps moved the weights ({moved})");
    assert!(
        diff < 1e-5,
        "the parallel step on WGPU differs from the summed shard gradients by {diff}"
    );
}

/// The same three steps with the main device and first replica on the CPU, the second on
/// WGPU: the weights end where the summed shard gradients on the CPU take them, to within
/// WGPU's round-off against the CPU; the running mean of the stem's batch norm is the average
/// of the CPU and WGPU shards' own.
#[test]
fn a_cpu_and_a_wgpu_replica_step_like_two_cpu_replicas() {
    let Some(wgpu) = wgpu() else { return };
    let cpu = Device::flex().autodiff();
    let gpu = wgpu.autodiff();
    let space = tiny_space();
    let start = Supernet::new(&space, &cpu, 7).unwrap();
    let before = trainable(&start);
    let mixed = three_parallel_steps(start, &cpu, &[cpu.clone(), gpu.clone()]);
    let reference = three_summed_shard_steps(&space, &cpu);
    let moved = max_abs_diff(&trainable(&reference), &before);
    let diff = max_abs_diff(&trainable(&mixed), &trainable(&reference));
    println!("CPU + WGPU replicas: moved {moved:.3e}, differ from one CPU device by {diff:.3e}");
    assert!(moved > 1e-3, "the steps moved the weights ({moved})");
    // wgpu_parity.rs bounds stepped parameters by 1e-3 relative to the largest tensor; the
    // parameters here are below 1 in magnitude, so 1e-3 absolute is that bound or tighter.
    assert!(
        diff < 1e-3 && diff < moved * 0.05,
        "CPU + WGPU replicas end {diff} away from one CPU device (the steps moved {moved})"
    );

    // One step's running statistics: the average of what each shard alone makes of them,
    // the second shard on WGPU.
    let arch = &archs()[0];
    let (images, labels) = batch(&cpu, 6, 3);
    let net = Supernet::new(&space, &cpu, 11).unwrap();
    nse::modules::materialize(&net);
    let alone = |start: usize, device: &Device| {
        let copy = Supernet::new(&space, device, 11).unwrap();
        copy.forward(images.clone().narrow(0, start, 3).to_device(device), arch)
            .unwrap();
        copy.stem.conv.bn.running_mean.value_sync().to_device(&cpu)
    };
    let expected = (alone(0, &cpu) + alone(3, &gpu)).div_scalar(2.0);
    let (net, _) = weight_step_parallel(
        net,
        &mut sgd(),
        0.05,
        arch,
        &[],
        images,
        labels,
        &[cpu.clone(), gpu],
    )
    .unwrap();
    let got = net.stem.conv.bn.running_mean.value_sync();
    let diff = (got - expected.clone()).abs().max().into_scalar::<f32>();
    let size = expected.abs().max().into_scalar::<f32>();
    assert!(size > 1e-3, "the statistics moved ({size})");
    assert!(
        diff < 1e-4 * size.max(1.0),
        "running mean differs by {diff}"
    );
}

/// The demo preset, shortened: one round of thirty weight steps, four candidates scored on two
/// held-out batches after recalibrating on one.
fn short_demo() -> SearchConfig {
    let mut config = SearchConfig::preset("demo").unwrap();
    config.max_rounds = Some(1);
    config.epochs_per_round = 1;
    config.epoch_batches = Some(30);
    config.evaluation.n = 4;
    config.evaluation.n_extra = 0;
    config.evaluation.recalibration_batches = 1;
    config.evaluation.eval_batches = Some(2);
    config
}

/// Trains the short demo search on the CPU, evaluates its candidates on `evaluation`; the
/// candidates in order with their held-out accuracy (%), and the number of held-out images.
fn evaluated(name: &str, evaluation: &[Device]) -> (Vec<(Architecture, f64)>, usize) {
    let dir = std::env::temp_dir().join(format!("nse-wgpu-dp-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = short_demo();
    let images = config.evaluation.eval_batches.unwrap() * config.batch_size;
    let cpu = Device::flex();
    let mut search = Search::new(config, &dir, &cpu).unwrap();
    search.pause_at(&[Pause::BeforeEvaluation]);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    search.observe(move |event| {
        if let SearchEvent::Evaluated {
            architecture,
            accuracy,
            ..
        } = event
        {
            sink.lock().unwrap().push((architecture.clone(), *accuracy));
        }
    });
    let mut pauses = 0;
    loop {
        match search.run(&mut Quiet).unwrap().paused {
            Some(Pause::BeforeEvaluation) => {
                search.set_devices(evaluation).unwrap();
                pauses += 1;
            }
            Some(other) => panic!("paused at {other:?}"),
            None => break,
        }
    }
    assert_eq!(pauses, 1, "one round, one evaluation");
    std::fs::remove_dir_all(&dir).unwrap();
    let seen = seen.lock().unwrap().clone();
    (seen, images)
}

#[test]
fn evaluation_spread_over_a_cpu_and_a_wgpu_device_scores_like_the_cpu() {
    let Some(wgpu) = wgpu() else { return };
    let (alone, images) = evaluated("cpu", &[Device::flex()]);
    let (spread, _) = evaluated("cpu-wgpu", &[Device::flex(), wgpu]);
    println!("CPU alone: {alone:?}");
    println!("CPU + WGPU: {spread:?}");
    assert_eq!(alone.len(), 4, "four candidates scored");
    let one_image = 100.0 / images as f64;
    for ((arch_a, acc_a), (arch_s, acc_s)) in alone.iter().zip(&spread) {
        assert_eq!(arch_a, arch_s, "the same candidates in the same order");
        assert!(
            (acc_a - acc_s).abs() <= one_image + 1e-9,
            "`{arch_a}`: {acc_s}% spread over CPU + WGPU against {acc_a}% on the CPU"
        );
    }
    assert_eq!(spread.len(), alone.len());
}

/// Three indicator steps (plain SGD, so the step is proportional to the summed gradient) on
/// `devices`, the batches on the first; the indicators after them, flattened.
fn three_indicator_steps(space: &SearchSpace, devices: &[Device]) -> Vec<f32> {
    use burn::optim::SgdConfig;
    use nse::space::SubSpace;
    use nse::supernet::training::ResourcePenalty;
    use nse::supernet::{CostTable, Indicators};
    use rand::SeedableRng;
    let main = &devices[0];
    let subspace = SubSpace::new(space, vec![vec![0, 1, 2], vec![1, 3, 4], vec![0, 2, 4]]).unwrap();
    let costs = CostTable::macs(space);
    let penalty = ResourcePenalty {
        target: 0.0,
        a: 20.0,
        b: 2.0,
    };
    let mut net = Supernet::new(space, main, 7).unwrap();
    let mut indicators = Indicators::for_space(space, main);
    let mut optim = SgdConfig::new().init();
    for step in 0..3u64 {
        let (images, labels) = batch(main, 7, 10 + step as usize);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(step);
        indicators = indicator_step_parallel(
            &mut net, indicators, &mut optim, 1.0, &subspace, &costs, &penalty, images, labels,
            &mut rng, devices,
        )
        .unwrap();
    }
    indicators.values().concat()
}

#[test]
fn a_cpu_and_a_wgpu_replica_take_the_indicator_step_of_two_cpu_replicas() {
    let Some(wgpu) = wgpu() else { return };
    let cpu = Device::flex().autodiff();
    let space = tiny_space();
    let mixed = three_indicator_steps(&space, &[cpu.clone(), wgpu.autodiff()]);
    let cpus = three_indicator_steps(&space, &[cpu.clone(), cpu.clone()]);
    let moved = cpus.iter().fold(0.0f32, |m, a| m.max(a.abs()));
    let diff = max_abs_diff(&[mixed], &[cpus]);
    println!("indicators: moved {moved:.3e}, CPU + WGPU against CPU + CPU {diff:.3e}");
    assert!(moved > 1e-2, "the steps moved the indicators ({moved})");
    assert!(
        diff < 1e-4 * moved.max(1.0),
        "CPU + WGPU indicators end {diff} away from CPU + CPU"
    );
}
