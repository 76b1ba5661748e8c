//! WGPU against CPU: the same supernet, child network and optimizer steps run on the `wgpu`
//! device and on the CPU (`Device::flex()`), on identical weights and inputs, and must agree
//! to within f32 round-off.
//!
//! Covered: the supernet forward (train mode on the autodiff device, eval mode via
//! `.valid()`), the indicator step (logits, expected cost, gradient w.r.t. α, one Adam step on
//! α), a weight step (loss, every parameter gradient, parameters and BN statistics after one
//! and two Nesterov-SGD steps), BN recalibration (every running statistic, eval logits of the
//! supernet and of the child inheriting its weights afterwards) and a fresh child network
//! (train-mode forward/backward, then eval forward).
//!
//! The space is the `fashion-mnist-mb27` preset with stem stride 1 (28x28 grayscale; cells
//! `RNRNRNR` at 28 → 14 → 7 → 4 → 2); the architectures mix inverted bottlenecks (dilated
//! `ir_k3_*_d2`/`_d3` included), the factorised `rec` ops, multi-branch and empty residual
//! cells. Both devices build their networks with [`Supernet::new`] /
//! [`ChildNetwork::from_space`] from the same seed: initial weights are drawn on the host
//! from per-component RNG streams, and [`identical_weights_on_both_devices`] checks that every
//! parameter and BN statistic of both is bit-identical (and that the seed reaches the WGPU
//! weights). Inputs are host-drawn too ([`images`]).
//!
//! Metric: `max|wgpu − cpu| / max|cpu|` per output, and per tensor for gradients, parameters
//! and BN statistics (there with a floor of 1e-3 of the largest tensor of the set, see
//! [`check_all`]), with every value required finite. The bounds allow for f32 round-off under
//! a different summation order (tiled GPU matmul/convolution vs CPU loops): each reduction of
//! n terms carries a relative error of order √n·2⁻²⁴ ≈ 1e-6 for the fan-ins here (≤ 1,000),
//! and about ten such layers, train-mode batch norms (which divide by small batch deviations)
//! and the backward pass amplify it. Forward values are held to 1e-4 ([`FORWARD`]);
//! gradients, stepped parameters and re-estimated statistics to 1e-3 ([`BACKWARD`]); Mesa's
//! llvmpipe stays under 1e-5 and 1e-4, a tenfold margin. A real mismatch — a wrong kernel,
//! different weights — gives errors of order 1 ([`supernet_forward_train_and_eval`] checks
//! that other weights are caught).
//!
//! Run: `cargo test -p nse --features wgpu --test wgpu_parity` (CI runs it on Mesa's software
//! Vulkan driver, `mesa-vulkan-drivers`). Without any WGPU adapter the tests fail, unless
//! `NSE_SKIP_WGPU=1` is set: then they print that they were skipped and pass.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Device, Gradients, Int, Tensor, TensorData};
use nse::burn;
use nse::modules::init::normal_values;
use nse::space::{Architecture, SearchSpace, SpaceSpec};
use nse::supernet::recalibration::recalibrate;
use nse::supernet::{CellPaths, ChildNetwork, CostTable, Indicators, Supernet, resource_penalty};
use nse::train::optim::{SgdSettings, adam, sgd};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

mod common;
use common::wgpu;

/// Relative error bound for forward values (logits, expected cost).
const FORWARD: f32 = 1e-4;
/// Relative error bound for gradients, stepped parameters and re-estimated BN statistics.
const BACKWARD: f32 = 1e-3;
/// Seed of the network weights.
const SEED: u64 = 7;
/// Images per batch.
const BATCH: usize = 6;
const CLASSES: usize = 10;

/// The `fashion-mnist-mb27` preset with stem stride 1: cells `RNRNRNR` (N residual).
fn space() -> SearchSpace {
    let spec = SpaceSpec {
        stem_stride: 1,
        ..SpaceSpec::preset("fashion-mnist-mb27").unwrap()
    };
    let space = spec.check().unwrap();
    let residual: Vec<bool> = space.cells().iter().map(|c| c.is_residual()).collect();
    assert_eq!(residual, [false, true, false, true, false, true, false]);
    space
}

/// mb27 indices: 0..=8 `ir_k3_e{1,3,6}_d{1,2,3}` (dilation innermost), 9..=20
/// `ir_k{5,7,9,11}_e{1,3,6}`, 21..=26 `rec_k{5,7}_e{1,2,4}`. Two-branch cells, dilated and
/// factorised ops, an empty (identity) residual cell.
fn arch() -> Vec<Vec<usize>> {
    vec![
        vec![0, 22],  // R 16→24: ir_k3_e1 + rec_k5_e2
        vec![7, 25],  // N 24: ir_k3_e6_d2 + rec_k7_e2
        vec![10],     // R 24→32: ir_k5_e3
        vec![],       // N 32: identity
        vec![2, 23],  // R 32→48: ir_k3_e1_d3 + rec_k5_e4
        vec![5],      // N 48: ir_k3_e3_d3
        vec![14, 24], // R 48→64: ir_k7_e6 + rec_k7_e1
    ]
}

/// The architecture of the fresh child network: other ops, two empty residual cells.
fn child_arch() -> Architecture {
    Architecture::new(vec![
        vec![3, 21],
        vec![],
        vec![1, 26],
        vec![4, 9],
        vec![13],
        vec![],
        vec![8],
    ])
    .unwrap()
}

/// Seeded N(0, 1) images, the same values on every device.
fn images(seed: u64, device: &Device) -> Tensor<4> {
    let shape = [BATCH, 1, 28, 28];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let values = normal_values(shape.iter().product(), 1.0, &mut rng);
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// One-hot targets for fixed labels.
fn targets(device: &Device) -> Tensor<2> {
    let labels: Vec<i64> = (0..BATCH as i64)
        .map(|i| (3 * i + 1) % CLASSES as i64)
        .collect();
    Tensor::<1, Int>::from_data(TensorData::new(labels, [BATCH]), device)
        .one_hot(CLASSES)
        .float()
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

fn max_abs(v: &[f32]) -> f32 {
    v.iter().fold(0f32, |m, x| m.max(x.abs()))
}

/// `max|a − b| / max(max|b|, floor)` (0 when `a == b`), after checking lengths and that every
/// value is finite.
fn rel_err(what: &str, a: &[f32], b: &[f32], floor: f32) -> f32 {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    assert!(
        a.iter().chain(b).all(|v| v.is_finite()),
        "{what}: non-finite values"
    );
    let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    if diff == 0.0 {
        0.0
    } else {
        diff / max_abs(b).max(floor)
    }
}

/// Asserts `wgpu` ≈ `cpu` within `bound`; prints and returns the error.
fn check(what: &str, wgpu: &[f32], cpu: &[f32], bound: f32) -> f32 {
    let err = rel_err(what, wgpu, cpu, 0.0);
    println!("{what}: relative error {err:.2e} (bound {bound:.0e})");
    assert!(
        err <= bound,
        "{what}: relative error {err:.3e} > {bound:.0e}"
    );
    err
}

/// Every float tensor of a module in visiting order (parameters and BN running statistics),
/// named by path; with `grads`, each parameter's gradient instead (`None` if it has none).
struct Tensors<'a> {
    grads: Option<&'a Gradients>,
    path: Vec<String>,
    out: Vec<(String, Option<Vec<f32>>)>,
}

impl ModuleVisitor for Tensors<'_> {
    fn enter_module(&mut self, name: &str, _container: &str) {
        self.path.push(name.to_string());
    }
    fn exit_module(&mut self, _name: &str, _container: &str) {
        self.path.pop();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = match self.grads {
            Some(grads) => param.grad(grads).map(values),
            None => Some(values(param.val())),
        };
        self.out.push((self.path.join("."), value));
    }
}

fn tensors<M: Module>(module: &M, grads: Option<&Gradients>) -> Vec<(String, Option<Vec<f32>>)> {
    let mut visitor = Tensors {
        grads,
        path: Vec::new(),
        out: Vec::new(),
    };
    module.visit(&mut visitor);
    visitor.out
}

/// Checks every tensor of `wgpu` against `cpu` (same names, same gradients present): per
/// tensor `max|a − b| / max(max|b|, FLOOR · group)`, `group` the largest `|b|` of all the
/// tensors, must stay within `bound`. Returns the largest error. Some tensors vanish
/// mathematically and hold only round-off on both devices (the β gradients of an op's last
/// BN, whose constant shift the next train-mode BN removes; the running means of BNs after a
/// 1x1 conv of zero-mean BN outputs); the floor keeps those from counting as mismatches while
/// a wrong tensor down to 1e-6 of the group's scale still fails. At least one tensor must be
/// non-zero.
fn check_all(
    what: &str,
    wgpu: &[(String, Option<Vec<f32>>)],
    cpu: &[(String, Option<Vec<f32>>)],
    bound: f32,
) -> f32 {
    const FLOOR: f32 = 1e-3;
    assert_eq!(wgpu.len(), cpu.len(), "{what}: tensor counts differ");
    let group = cpu
        .iter()
        .flat_map(|(_, b)| b.as_deref())
        .map(max_abs)
        .fold(0f32, f32::max);
    assert!(group > 0.0, "{what}: nothing non-zero to compare");
    let mut worst = (0f32, "");
    let mut compared = 0;
    for ((name, a), (other, b)) in wgpu.iter().zip(cpu) {
        assert_eq!(name, other, "{what}: module structure differs");
        match (a, b) {
            (None, None) => {}
            (Some(a), Some(b)) => {
                let err = rel_err(&format!("{what} `{name}`"), a, b, FLOOR * group);
                assert!(
                    err <= bound,
                    "{what} `{name}`: relative error {err:.3e} > {bound:.0e}"
                );
                if err >= worst.0 {
                    worst = (err, name);
                }
                compared += 1;
            }
            _ => panic!("{what} `{name}`: present on one device only"),
        }
    }
    println!(
        "{what}: {compared} tensors, max relative error {:.2e} at `{}` (bound {bound:.0e})",
        worst.0, worst.1
    );
    worst.0
}

/// All parameters and (synchronised) BN statistics of a supernet.
fn state(net: &Supernet) -> Vec<(String, Option<Vec<f32>>)> {
    net.sync_statistics();
    tensors(net, None)
}

#[test]
fn identical_weights_on_both_devices() {
    let Some(gpu) = wgpu() else { return };
    let space = space();
    let cpu_state = state(&Supernet::new(&space, &Device::flex(), SEED).unwrap());
    let gpu_state = state(&Supernet::new(&space, &gpu, SEED).unwrap());
    assert_eq!(gpu_state.len(), cpu_state.len());
    assert!(
        gpu_state == cpu_state,
        "Supernet::new gives different weights on WGPU"
    );
    let child = |device: &Device| {
        let child = ChildNetwork::from_space(&space, &child_arch(), device, SEED).unwrap();
        child.sync_statistics();
        tensors(&child, None)
    };
    assert!(
        child(&gpu) == child(&Device::flex()),
        "ChildNetwork::from_space gives different weights on WGPU"
    );
    println!(
        "supernet: {} tensors bit-identical; fresh child: likewise",
        cpu_state.len()
    );
    // The seed reaches the WGPU weights.
    let other = state(&Supernet::new(&space, &gpu, SEED + 1).unwrap());
    let (name, a) = &other[0];
    let err = rel_err(
        name,
        a.as_ref().unwrap(),
        cpu_state[0].1.as_ref().unwrap(),
        0.0,
    );
    assert!(err > 0.5, "`{name}` with another seed: {err:.1e}");
}

#[test]
fn supernet_forward_train_and_eval() {
    let Some(gpu) = wgpu() else { return };
    let space = space();
    let run = |device: Device, seed: u64| {
        let device = device.autodiff();
        let net = Supernet::new(&space, &device, seed).unwrap();
        let train = values(net.forward(images(1, &device), &arch()).unwrap());
        let eval = values(
            net.valid()
                .forward(images(2, &device.clone().inner()), &arch())
                .unwrap(),
        );
        (train, eval)
    };
    let (gpu_train, gpu_eval) = run(gpu, SEED);
    let (cpu_train, cpu_eval) = run(Device::flex(), SEED);
    check(
        "supernet train-mode logits",
        &gpu_train,
        &cpu_train,
        FORWARD,
    );
    check("supernet eval-mode logits", &gpu_eval, &cpu_eval, FORWARD);
    // Other weights are far outside the bound.
    let (other_train, other_eval) = run(Device::flex(), SEED + 1);
    for (what, gpu, other) in [
        ("train", gpu_train, other_train),
        ("eval", gpu_eval, other_eval),
    ] {
        let err = rel_err(what, &gpu, &other, 0.0);
        assert!(
            err > 100.0 * FORWARD,
            "{what}: other weights give {err:.1e}"
        );
    }
}

/// Indicator paths on [`arch`] (the selected sets): stochastic cells with empty and
/// multi-op unselected sets, and two deterministic cells.
fn paths() -> Vec<CellPaths> {
    let cell = |subspace: &[usize], unselected: Option<&[usize]>, selected: &[usize]| CellPaths {
        subspace: subspace.to_vec(),
        selected: selected.to_vec(),
        unselected: unselected.map(<[usize]>::to_vec),
    };
    let a = arch();
    vec![
        cell(&[0, 3, 9, 22, 25], Some(&[3, 9, 25]), &a[0]),
        cell(&[1, 7, 12, 21, 25], Some(&[]), &a[1]),
        cell(&[10, 11], Some(&[11]), &a[2]),
        cell(&[], None, &a[3]),
        cell(&[2, 4, 23, 24], Some(&[4, 24]), &a[4]),
        cell(&[5, 8], Some(&[5, 8]), &a[5]),
        cell(&[14, 24], None, &a[6]),
    ]
}

#[test]
fn indicator_step() {
    let Some(gpu) = wgpu() else { return };
    let space = space();
    let costs = CostTable::macs(&space);
    let alphas: Vec<Vec<f32>> = (0..space.num_cells())
        .map(|c| {
            (0..27)
                .map(|i| ((c * 27 + i) % 7) as f32 * 0.3 - 0.9)
                .collect()
        })
        .collect();
    let run = |device: Device| {
        let device = device.autodiff();
        let net = Supernet::new(&space, &device, SEED).unwrap();
        let indicators = Indicators::from_values(&alphas, &device);
        let out = net
            .forward_indicator(images(3, &device), &paths(), &indicators, &costs)
            .unwrap();
        let logits = values(out.logits.clone());
        let cost = values(out.expected_cost.clone());
        let loss = cross_entropy_with_logits(out.logits, targets(&device))
            + resource_penalty(out.expected_cost, 1.0, 0.05, 2.0);
        let mut grads = loss.backward();
        let alpha_grad = values(indicators.alpha.grad(&grads).unwrap());
        let g = GradientsParams::from_module(&mut grads, &indicators);
        let stepped = adam(0.0, 0.999).step(0.005, indicators, g).values();
        (logits, cost, alpha_grad, stepped.concat())
    };
    let (gpu_logits, gpu_cost, gpu_grad, gpu_alpha) = run(gpu);
    let (cpu_logits, cpu_cost, cpu_grad, cpu_alpha) = run(Device::flex());
    check("indicator-step logits", &gpu_logits, &cpu_logits, FORWARD);
    check("expected cost", &gpu_cost, &cpu_cost, FORWARD);
    assert!(
        cpu_grad.iter().filter(|&&g| g != 0.0).count() >= 10,
        "the gradient reaches the stochastic cells' ops"
    );
    check("dLoss/dα", &gpu_grad, &cpu_grad, BACKWARD);
    check("α after an Adam step", &gpu_alpha, &cpu_alpha, BACKWARD);
}

/// One weight step from identical weights: loss, every gradient, parameters and BN statistics
/// after a Nesterov-SGD step with weight decay, and after a second step with the same
/// gradients (recomputed at the initial weights), which goes through the momentum buffers the
/// first step left on the device. (A second forward/backward at the stepped weights is not
/// compared: after one lr-0.1 step this small net is ill-conditioned — on the CPU alone,
/// weights that agree to 1e-5 give gradients that differ by up to 4e-2 — which says nothing
/// about the device.)
#[test]
fn weight_step_with_nesterov_sgd() {
    let Some(gpu) = wgpu() else { return };
    let space = space();
    let run = |device: Device| {
        let device = device.autodiff();
        let net = Supernet::new(&space, &device, SEED).unwrap();
        let backward = |net: &Supernet| {
            let logits = net.forward(images(4, &device), &arch()).unwrap();
            let loss = cross_entropy_with_logits(logits, targets(&device));
            (values(loss.clone()), loss.backward())
        };
        let mut optim = sgd(&SgdSettings::default());
        let (loss, grads) = backward(&net);
        let first_grads = tensors(&net, Some(&grads));
        let grads = GradientsParams::from_grads(grads, &net);
        let stepped = optim.step(0.1, net.clone(), grads);
        let after_one = state(&stepped);
        let grads = GradientsParams::from_grads(backward(&net).1, &net);
        let after_two = state(&optim.step(0.1, stepped, grads));
        (loss, first_grads, after_one, after_two)
    };
    let (gpu_loss, gpu_grads, gpu_one, gpu_two) = run(gpu);
    let (cpu_loss, cpu_grads, cpu_one, cpu_two) = run(Device::flex());
    check("loss", &gpu_loss, &cpu_loss, FORWARD);
    check_all("weight gradients", &gpu_grads, &cpu_grads, BACKWARD);
    check_all("state after one step", &gpu_one, &cpu_one, BACKWARD);
    check_all("state after two steps", &gpu_two, &cpu_two, BACKWARD);
    let moved = |a: &[(String, Option<Vec<f32>>)], b: &[(String, Option<Vec<f32>>)]| {
        let weights = a.iter().zip(b).filter(|(x, _)| !x.0.contains("running_"));
        weights.filter(|(x, y)| x.1 != y.1).count()
    };
    assert!(
        moved(&cpu_two, &cpu_one) > 50,
        "the second step moves the weights"
    );
}

/// Recalibration of [`arch`]'s batch norms on three batches; then the eval forward of the
/// supernet and of the child network inheriting its weights.
#[test]
fn bn_recalibration_and_inherited_child() {
    let Some(gpu) = wgpu() else { return };
    let space = space();
    let run = |device: Device| {
        let plain = device.clone();
        let device = device.autodiff();
        let mut net = Supernet::new(&space, &device, SEED).unwrap();
        let batches: Vec<Tensor<4>> = (0..3).map(|k| images(10 + k, &device)).collect();
        assert_eq!(recalibrate(&mut net, &arch(), batches).unwrap(), 3);
        let eval = net.valid();
        let logits = values(eval.forward(images(20, &plain), &arch()).unwrap());
        let arch = Architecture::new(arch()).unwrap();
        let child = ChildNetwork::inherit(&eval, &space, &arch).unwrap();
        let child_logits = values(child.forward(images(21, &plain)));
        (state(&eval), logits, child_logits)
    };
    let (gpu_state, gpu_logits, gpu_child) = run(gpu);
    let (cpu_state, cpu_logits, cpu_child) = run(Device::flex());
    let stats = |s: &[(String, Option<Vec<f32>>)]| -> Vec<(String, Option<Vec<f32>>)> {
        s.iter()
            .filter(|(name, _)| name.ends_with("running_mean") || name.ends_with("running_var"))
            .cloned()
            .collect()
    };
    let (gpu_stats, cpu_stats) = (stats(&gpu_state), stats(&cpu_state));
    assert!(
        cpu_stats.len() > 20,
        "BN statistics found: {}",
        cpu_stats.len()
    );
    check_all(
        "recalibrated BN statistics",
        &gpu_stats,
        &cpu_stats,
        BACKWARD,
    );
    check(
        "eval logits after recalibration",
        &gpu_logits,
        &cpu_logits,
        FORWARD,
    );
    check(
        "inherited child eval logits",
        &gpu_child,
        &cpu_child,
        FORWARD,
    );
}

#[test]
fn child_network_train_and_eval() {
    let Some(gpu) = wgpu() else { return };
    let space = space();
    let run = |device: Device| {
        let device = device.autodiff();
        let child = ChildNetwork::from_space(&space, &child_arch(), &device, SEED).unwrap();
        assert_eq!(child.cells.len(), 5);
        let logits = child.try_forward(images(30, &device)).unwrap();
        let train = values(logits.clone());
        let loss = cross_entropy_with_logits(logits, targets(&device));
        let grads = loss.backward();
        let grads = tensors(&child, Some(&grads));
        // The train forward moved the BN statistics: fold them in, then evaluate with them.
        child.sync_statistics();
        let eval = child.valid();
        let logits = values(eval.try_forward(images(31, &device.inner())).unwrap());
        (train, grads, logits)
    };
    let (gpu_train, gpu_grads, gpu_eval) = run(gpu);
    let (cpu_train, cpu_grads, cpu_eval) = run(Device::flex());
    check("child train-mode logits", &gpu_train, &cpu_train, FORWARD);
    check_all("child gradients", &gpu_grads, &cpu_grads, BACKWARD);
    check("child eval-mode logits", &gpu_eval, &cpu_eval, FORWARD);
}

/// Latency tables on WGPU: layers of every kind (dense, depthwise, factorised pair-keyed
/// convs, add, pool, linear) are timed on the device, synchronised, to finite times.
#[test]
fn latency_layers_time_on_wgpu() {
    use nse::modules::latency::{MeasureSettings, measure_layer};
    use nse::ops::latency::{Extent, LayerKind};
    let Some(device) = wgpu() else { return };
    let keys = nse::space::latency_layers(&space()).unwrap();
    let pick = |f: &dyn Fn(&nse::ops::latency::LayerKey) -> bool| {
        *keys
            .iter()
            .find(|k| f(k))
            .expect("the space has such a layer")
    };
    let chosen = [
        pick(&|k| k.kind == LayerKind::Conv && k.groups == 1),
        pick(&|k| k.kind == LayerKind::Conv && k.groups > 1 && k.dilation > 1),
        pick(&|k| matches!(k.hw, Extent::Pair(..))),
        pick(&|k| k.kind == LayerKind::Add),
        pick(&|k| k.kind == LayerKind::AvgPool),
        pick(&|k| k.kind == LayerKind::Linear),
    ];
    let settings = MeasureSettings {
        batch: 2,
        warmup: 1,
        repeats: 2,
    };
    for key in chosen {
        let ms = measure_layer(&key, &device, &settings).unwrap();
        assert!(ms.is_finite() && ms >= 0.0, "{key}: {ms}");
    }
}
