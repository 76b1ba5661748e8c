//! The two training steps of a search round (docs/method.md §6), as the search calls them
//! from `nse-supernet` with its own optimizers and resource penalty: the indicator step
//! leaves every weight trainable, a step on the path equals a step on the whole supernet,
//! and coasting ops move by their momentum alone.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nse_space::{CostKind, CostTable, LatencyRules, SearchSpace, SpaceSpec, SubSpace};
use nse_supernet::training::{indicator_step, weight_step, weight_step_coasting};
use nse_supernet::{Indicators, Supernet};
use nse_train::search::ResourceConfig;
use rand::SeedableRng;
/// Names of the float parameters of `module` that do not require gradients.
fn untrainable<M: Module>(module: &M) -> Vec<String> {
    struct Check(Vec<String>, Vec<String>);
    impl ModuleVisitor for Check {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.1.push(name.to_string());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.1.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let path = self.1.join(".");
            let buffer = path.ends_with("running_mean") || path.ends_with("running_var");
            if !buffer && !param.val().is_require_grad() {
                self.0.push(path);
            }
        }
    }
    let mut check = Check(Vec::new(), Vec::new());
    module.visit(&mut check);
    check.0
}

/// The Fashion-MNIST mb27 demo space and a batch of four 28x28 images (pixel `i` is
/// `(i % period) / period`) with `labels`, on `device`.
fn demo_batch(
    device: &Device,
    period: usize,
    labels: [i64; 4],
) -> (SearchSpace, Tensor<4>, Tensor<1, Int>) {
    let space = SpaceSpec::preset("fashion-mnist-mb27")
        .unwrap()
        .check()
        .unwrap();
    let [c, h, w] = [1, 28, 28];
    let pixels: Vec<f32> = (0..4 * c * h * w)
        .map(|i| (i % period) as f32 / period as f32)
        .collect();
    let images = Tensor::<4>::from_data(TensorData::new(pixels, [4, c, h, w]), device);
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels.to_vec(), [4]), device);
    (space, images, labels)
}

/// The indicator step runs on untracked weights; that must not leave any parameter of the
/// supernet itself untrainable, in particular the lazily created batch-norm parameters of
/// ops the step did not sample (Burn shares lazy initialisation between clones).
#[test]
fn indicator_step_leaves_every_weight_trainable_and_moves_the_indicators() {
    let device = Device::flex().autodiff();
    let (space, images, labels) = demo_batch(&device, 17, [0, 3, 5, 9]);
    let supernet = Supernet::new(&space, &device, 1).unwrap();
    let cells: Vec<Vec<usize>> = (0..space.num_cells()).map(|_| vec![0, 10, 22]).collect();
    let subspace = SubSpace::new(&space, cells).unwrap();
    let costs = CostTable::macs(&space);
    let indicators = Indicators::new(space.num_cells(), 27, &device);
    let before = indicators.values();
    let resource = ResourceConfig {
        metric: CostKind::Macs,
        target: 3.0,
        a: 1e-5,
        b: 2.0,
        drift: 1.0,
        extra_drift: 0.5,
        latency_table: None,
        latency_rules: LatencyRules::default(),
        relative: false,
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let after = indicator_step(
        &supernet,
        indicators,
        &mut nse_train::optim::adam(0.5, 0.999),
        0.01,
        &subspace,
        &costs,
        &resource.penalty(),
        images,
        labels,
        &mut rng,
    )
    .unwrap()
    .values();
    assert_ne!(after, before, "the indicators moved");
    let frozen = untrainable(&supernet);
    assert!(frozen.is_empty(), "untrainable after the step: {frozen:?}");
}

/// Every float parameter's values, in visiting order.
fn parameters<M: Module>(module: &M) -> Vec<Vec<f32>> {
    struct Collect(Vec<Vec<f32>>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            self.0
                .push(param.val().into_data().try_to_vec::<f32>().unwrap());
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

/// Stepping the path's modules one by one gives, to the bit, what Burn's optimizer gives
/// on the whole supernet, momentum and the no-decay group included, over several steps.
#[test]
fn weight_step_on_the_path_equals_a_step_on_the_whole_supernet() {
    let device = Device::flex().autodiff();
    let (space, images, labels) = demo_batch(&device, 23, [1, 3, 5, 9]);
    let settings = nse_train::optim::SgdSettings::default();
    let (mut ours, mut whole) = (
        Supernet::new(&space, &device, 5).unwrap(),
        Supernet::new(&space, &device, 5).unwrap(),
    );
    let (mut optim_ours, mut optim_whole) = (
        nse_train::optim::sgd(&settings),
        nse_train::optim::sgd(&settings),
    );
    let untouched = parameters(&ours);
    for step in 0..3 {
        // A different path each step: ops that were trained before and new ones.
        let arch: Vec<Vec<usize>> = (0..space.num_cells())
            .map(|cell| vec![(cell + step) % 27, (cell + 2 * step + 10) % 27])
            .collect();
        let (next, _) = weight_step(
            ours,
            &mut optim_ours,
            0.1,
            &arch,
            images.clone(),
            labels.clone(),
        )
        .unwrap();
        ours = next;
        let logits = whole.forward(images.clone(), &arch).unwrap();
        let loss = cross_entropy_with_logits(logits, labels.clone().one_hot(10).float());
        let mut grads = loss.backward();
        let params = GradientsParams::from_module(&mut grads, &whole);
        whole = optim_whole.step(0.1, whole, params);
    }
    let (a, b) = (parameters(&ours), parameters(&whole));
    assert_eq!(a.len(), b.len());
    let moved = a.iter().zip(&untouched).filter(|(a, u)| a != u).count();
    assert!(
        moved > 100,
        "the steps trained the path ({moved} parameters moved)"
    );
    for (i, (a, b)) in a.iter().zip(&b).enumerate() {
        assert!(a == b, "parameter {i} differs from the whole-supernet step");
    }
}

/// A coasting op keeps moving by its momentum alone: after a first step on the path
/// (`v0` the velocity it left), a zero-gradient Nesterov step without weight decay moves
/// `p1` to `p1 − lr·μ²·v0`, PyTorch's rule for a zero gradient; a frozen op stays put.
#[test]
fn coasting_ops_move_by_their_momentum_alone() {
    let device = Device::flex().autodiff();
    let (space, images, labels) = demo_batch(&device, 29, [2, 4, 6, 8]);
    let settings = nse_train::optim::SgdSettings {
        weight_decay: 0.0,
        ..Default::default()
    };
    let (lr, mu) = (0.1f64, settings.momentum);
    let n = space.num_cells();
    let first: Vec<Vec<usize>> = vec![vec![0, 3]; n];
    let second: Vec<Vec<usize>> = vec![vec![0]; n];
    let coast: Vec<Vec<usize>> = vec![vec![3]; n];
    let net = Supernet::new(&space, &device, 9).unwrap();
    let mut optim = nse_train::optim::sgd(&settings);
    let p0 = parameters(&net.cells[0].ops[3]);
    let (net, _) =
        weight_step(net, &mut optim, lr, &first, images.clone(), labels.clone()).unwrap();
    let p1 = parameters(&net.cells[0].ops[3]);
    let frozen = {
        let mut optim = nse_train::optim::sgd(&settings);
        let (again, _) = weight_step(
            Supernet::new(&space, &device, 9).unwrap(),
            &mut optim,
            lr,
            &first,
            images.clone(),
            labels.clone(),
        )
        .unwrap();
        let (again, _) = weight_step(
            again,
            &mut optim,
            lr,
            &second,
            images.clone(),
            labels.clone(),
        )
        .unwrap();
        parameters(&again.cells[0].ops[3])
    };
    assert_eq!(frozen, p1, "a frozen op does not move");
    let (net, _) =
        weight_step_coasting(net, &mut optim, lr, &second, &coast, images, labels).unwrap();
    let p2 = parameters(&net.cells[0].ops[3]);
    let mut moved = 0;
    for ((a, b), c) in p0.iter().zip(&p1).zip(&p2) {
        for ((&a, &b), &c) in a.iter().zip(b).zip(c) {
            // Nesterov's first step: p1 = p0 − lr(1 + μ)v0.
            let v0 = (f64::from(a) - f64::from(b)) / (lr * (1.0 + mu));
            let expected = f64::from(b) - lr * mu * mu * v0;
            assert!(
                (f64::from(c) - expected).abs() <= 1e-6 * (1.0 + expected.abs()),
                "{c} vs {expected}"
            );
            moved += usize::from(c != b);
        }
    }
    assert!(moved > 100, "the coasting op moved ({moved} values)");
}
