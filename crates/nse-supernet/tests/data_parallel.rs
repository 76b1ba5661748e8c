//! Data-parallel weight steps (`nse_supernet::parallel`) on forked CPU replicas in threads:
//! the update is the one of the summed, share-weighted shard gradients on one device; the
//! running statistics are the average of the replicas'; a non-finite shard takes no step;
//! the result does not depend on thread timing.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{GradientsParams, ModuleOptimizer, SgdConfig};
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Device, Tensor};
use nse_supernet::Supernet;
use nse_supernet::parallel::{shard_sizes, weight_step_parallel};

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

/// Every float parameter (and running statistic) in visiting order.
fn values<M: Module>(module: &M) -> Vec<Vec<f32>> {
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
        .flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()))
        .fold(0.0, f32::max)
}

fn archs() -> Vec<Vec<Vec<usize>>> {
    vec![
        vec![vec![0, 2], vec![1], vec![3, 4]],
        vec![vec![1, 3], vec![0, 4], vec![2]],
        vec![vec![0, 2, 4], vec![1], vec![1, 3]],
    ]
}

#[test]
fn shards_are_as_equal_as_possible() {
    assert_eq!(shard_sizes(10, 3), [4, 3, 3]);
    assert_eq!(shard_sizes(8, 2), [4, 4]);
    assert_eq!(shard_sizes(2, 4), [1, 1], "no empty shard");
    assert_eq!(shard_sizes(5, 1), [5]);
    assert_eq!(shard_sizes(0, 3), [0]);
}

/// Three steps on two replicas (shards of 4 and 3 images) against three steps on one
/// supernet whose loss is the share-weighted sum of the shards' losses, each shard in a
/// forward pass of its own (the batch-norm statistics are per shard on both sides).
#[test]
fn two_replicas_take_the_step_of_the_summed_shard_gradients() {
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let devices = [device.clone(), device.clone()];
    let mut parallel = Supernet::new(&space, &device, 7).unwrap();
    let mut reference = Supernet::new(&space, &device, 7).unwrap();
    let (mut optim_p, mut optim_r) = (sgd(), sgd());
    assert_eq!(values(&parallel), values(&reference));
    let before = values(&parallel);
    for (step, arch) in archs().iter().enumerate() {
        let (images, labels) = batch(&device, 7, step);
        let (next, stats) = weight_step_parallel(
            parallel,
            &mut optim_p,
            0.05,
            arch,
            &[],
            images.clone(),
            labels.clone(),
            &devices,
        )
        .unwrap();
        parallel = next;
        assert_eq!(stats.images, 7);

        let mut loss_sum = 0.0f64;
        let mut total: Option<Tensor<1>> = None;
        for (start, size) in [(0, 4), (4, 3)] {
            let logits = reference
                .forward(images.clone().narrow(0, start, size), arch)
                .unwrap();
            let y = labels.clone().narrow(0, start, size).one_hot(4).float();
            let loss = cross_entropy_with_logits(logits, y);
            loss_sum += f64::from(loss.clone().into_scalar::<f32>()) * size as f64;
            let weighted = loss.mul_scalar(size as f64 / 7.0);
            total = Some(match total {
                Some(t) => t + weighted,
                None => weighted,
            });
        }
        let mut grads = total.unwrap().backward();
        let params = GradientsParams::from_module(&mut grads, &reference);
        reference = optim_r.step(0.05, reference, params);
        let mean = loss_sum / 7.0;
        assert!(
            (f64::from(stats.loss) - mean).abs() < 1e-5,
            "step {step}: reported loss {} against the batch mean {mean}",
            stats.loss
        );
    }
    let moved = max_abs_diff(&values(&parallel), &before);
    assert!(moved > 1e-3, "the steps moved the weights ({moved})");
    // Trainable parameters only: the running statistics differ by design (averaged over the
    // replicas against updated shard after shard).
    let diff = max_abs_diff(&trainable(&parallel), &trainable(&reference));
    assert!(
        diff < 1e-5,
        "the parallel step differs from the summed shard gradients by {diff}"
    );
}

/// After a step, the running mean of the stem's batch norm is the average of what each
/// shard alone would have made of it.
#[test]
fn running_statistics_are_the_average_of_the_replicas() {
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let arch = &archs()[0];
    let (images, labels) = batch(&device, 6, 3);
    let net = Supernet::new(&space, &device, 11).unwrap();
    nse_modules::materialize(&net);
    let alone = |start: usize| {
        let copy = Supernet::new(&space, &device, 11).unwrap();
        copy.forward(images.clone().narrow(0, start, 3), arch)
            .unwrap();
        copy.stem.conv.bn.running_mean.value_sync()
    };
    let expected = (alone(0) + alone(3)).div_scalar(2.0);
    let (net, _) = weight_step_parallel(
        net,
        &mut sgd(),
        0.05,
        arch,
        &[],
        images,
        labels,
        &[device.clone(), device.clone()],
    )
    .unwrap();
    let got = net.stem.conv.bn.running_mean.value_sync();
    let diff = (got - expected.clone()).abs().max().into_scalar::<f32>();
    let size = expected.abs().max().into_scalar::<f32>();
    assert!(size > 1e-3, "the statistics moved");
    assert!(diff < 1e-6, "running mean differs by {diff}");
}

#[test]
fn a_non_finite_shard_takes_no_step() {
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let arch = &archs()[1];
    let net = Supernet::new(&space, &device, 5).unwrap();
    nse_modules::materialize(&net);
    let before = values(&net);
    let (images, labels) = batch(&device, 6, 1);
    let poisoned = Tensor::cat(
        vec![
            images.clone().narrow(0, 0, 3),
            images.narrow(0, 3, 3).mul_scalar(f32::NAN),
        ],
        0,
    );
    let (net, stats) = weight_step_parallel(
        net,
        &mut sgd(),
        0.05,
        arch,
        &[],
        poisoned,
        labels,
        &[device.clone(), device.clone()],
    )
    .unwrap();
    assert!(stats.loss.is_nan());
    assert_eq!(values(&net), before, "weights and statistics as they were");
}

#[test]
fn the_result_does_not_depend_on_thread_timing() {
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let devices = [device.clone(), device.clone(), device.clone()];
    let run = || {
        let mut net = Supernet::new(&space, &device, 3).unwrap();
        let mut optim = sgd();
        for (step, arch) in archs().iter().enumerate() {
            let (images, labels) = batch(&device, 8, step);
            let coast = vec![vec![4], vec![], vec![]];
            net = weight_step_parallel(
                net, &mut optim, 0.05, arch, &coast, images, labels, &devices,
            )
            .unwrap()
            .0;
        }
        values(&net)
    };
    assert_eq!(run(), run());
}

/// The generic data-parallel gradients (retraining's): for a child network on three
/// replicas (shards of 3, 3 and 2 images), the summed gradients and the averaged statistics
/// equal the share-weighted shard losses' gradients on one device and the average of the
/// shards' own statistics.
#[test]
fn a_child_networks_gradients_over_three_replicas_are_the_summed_shard_gradients() {
    use nse_supernet::ChildNetwork;
    use nse_supernet::parallel::{gradients_on_devices, set_statistics};
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let network = space
        .child(&"0+2 | 1 | 3".parse().unwrap())
        .expect("a child of the tiny space");
    let net = ChildNetwork::new(&network, &device, 5).unwrap();
    let (images, labels) = batch(&device, 8, 4);
    let devices = [device.clone(), device.clone(), device.clone()];
    let shards = gradients_on_devices(&net, images.clone(), labels.clone(), &devices, |n, x, y| {
        let logits = n.try_forward(x)?;
        let loss = cross_entropy_with_logits(logits.clone(), y.one_hot(4).float());
        Ok((loss, logits))
    })
    .unwrap();
    let mut stepped = net.clone();
    set_statistics(&mut stepped, shards.statistics);
    let stepped = sgd().step(0.05, stepped, shards.grads.unwrap());

    let reference = ChildNetwork::new(&network, &device, 5).unwrap();
    let mut total: Option<Tensor<1>> = None;
    let mut stem_means = Vec::new();
    for (start, size) in [(0, 3), (3, 3), (6, 2)] {
        let alone = ChildNetwork::new(&network, &device, 5).unwrap();
        let x = images.clone().narrow(0, start, size);
        let y = labels.clone().narrow(0, start, size).one_hot(4).float();
        alone.try_forward(x.clone()).unwrap();
        stem_means.push(alone.stem.conv.bn.running_mean.value_sync());
        let loss = cross_entropy_with_logits(reference.try_forward(x).unwrap(), y)
            .mul_scalar(size as f64 / 8.0);
        total = Some(match total {
            Some(t) => t + loss,
            None => loss,
        });
    }
    let mut grads = total.unwrap().backward();
    let params = GradientsParams::from_module(&mut grads, &reference);
    let reference = sgd().step(0.05, reference, params);
    let diff = max_abs_diff(&trainable(&stepped), &trainable(&reference));
    assert!(diff < 1e-5, "parameters differ by {diff}");
    let moved = max_abs_diff(&trainable(&stepped), &trainable(&net));
    assert!(moved > 1e-4, "the step moved the weights ({moved})");
    let expected = stem_means
        .into_iter()
        .reduce(|a, b| a + b)
        .unwrap()
        .div_scalar(3.0);
    let got = stepped.stem.conv.bn.running_mean.value_sync();
    let diff = (got - expected).abs().max().into_scalar::<f32>();
    assert!(diff < 1e-6, "stem running mean differs by {diff}");
}

/// Three indicator steps on two replicas (shards of 4 and 3 held-out images) against three on
/// one device whose loss is the share-weighted sum of the shards' indicator losses
/// (cross-entropy plus the resource penalty), each shard in a forward pass of its own, with
/// the same two paths drawn from the same random stream. The supernet's weights stay as they
/// were.
#[test]
fn two_replicas_take_the_indicator_step_of_the_summed_shard_gradients() {
    use nse_space::SubSpace;
    use nse_supernet::parallel::indicator_step_parallel;
    use nse_supernet::training::ResourcePenalty;
    use nse_supernet::{CostTable, Indicators};
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    let device = Device::flex().autodiff();
    let space = tiny_space();
    let subspace =
        SubSpace::new(&space, vec![vec![0, 1, 2], vec![1, 3, 4], vec![0, 2, 4]]).unwrap();
    let costs = CostTable::macs(&space);
    // A target below every architecture's cost: the penalty's gradient pulls every cell's
    // indicators down, as large as the cross-entropy's here.
    let penalty = ResourcePenalty {
        target: 0.0,
        a: 20.0,
        b: 2.0,
    };
    // Plain SGD: its step is proportional to the gradient (Adam's would hide a wrongly
    // scaled sum).
    let plain_sgd = || SgdConfig::new().init();
    let devices = [device.clone(), device.clone()];

    let mut supernet = Supernet::new(&space, &device, 7).unwrap();
    nse_modules::materialize(&supernet);
    let weights_before = trainable(&supernet);
    let mut parallel = Indicators::for_space(&space, &device);
    let mut optim_p = plain_sgd();
    let reference_net = Supernet::new(&space, &device, 7).unwrap();
    nse_modules::materialize(&reference_net);
    let frozen = reference_net.clone().no_grad();
    let mut reference = Indicators::for_space(&space, &device);
    let mut optim_r = plain_sgd();
    let before = reference.values();
    for step in 0..3u64 {
        let (images, labels) = batch(&device, 7, 10 + step as usize);
        let mut rng = StdRng::seed_from_u64(step);
        parallel = indicator_step_parallel(
            &mut supernet,
            parallel,
            &mut optim_p,
            1.0,
            &subspace,
            &costs,
            &penalty,
            images.clone(),
            labels.clone(),
            &mut rng,
            &devices,
        )
        .unwrap();

        let mut rng = StdRng::seed_from_u64(step);
        let paths = subspace
            .sample_two_paths(&reference.values(), &mut rng)
            .unwrap()
            .cells;
        let mut total: Option<Tensor<1>> = None;
        for (start, size) in [(0, 4), (4, 3)] {
            let out = frozen
                .forward_indicator(
                    images.clone().narrow(0, start, size),
                    &paths,
                    &reference,
                    &costs,
                )
                .unwrap();
            let y = labels.clone().narrow(0, start, size).one_hot(4).float();
            let loss = cross_entropy_with_logits(out.logits, y)
                + nse_supernet::resource_penalty(
                    out.expected_cost,
                    penalty.target,
                    penalty.a,
                    penalty.b,
                );
            let weighted = loss.mul_scalar(size as f64 / 7.0);
            total = Some(match total {
                Some(t) => t + weighted,
                None => weighted,
            });
        }
        let mut grads = total.unwrap().backward();
        let params = GradientsParams::from_module(&mut grads, &reference);
        reference = optim_r.step(1.0, reference, params);
    }
    let flat = |v: Vec<Vec<f32>>| v.concat();
    let (p, r, b) = (
        flat(parallel.values()),
        flat(reference.values()),
        flat(before),
    );
    let moved = max_abs_diff(std::slice::from_ref(&r), std::slice::from_ref(&b));
    let diff = max_abs_diff(std::slice::from_ref(&p), std::slice::from_ref(&r));
    println!("indicators moved {moved:.3e}, parallel against one device {diff:.3e}");
    assert!(moved > 1e-2, "the steps moved the indicators ({moved})");
    assert!(
        diff < 1e-5,
        "the parallel indicator step differs from the summed shard gradients by {diff}"
    );
    assert_eq!(
        trainable(&supernet),
        weights_before,
        "an indicator step leaves the supernet's weights alone"
    );
}
