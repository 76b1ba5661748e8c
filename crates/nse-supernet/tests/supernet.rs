//! Supernet behaviour: exact branch execution, the two-path estimator's value and gradient,
//! the resource penalty, BN recalibration, weight inheritance and re-initialisation.

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use nse_space::{Architecture, SearchSpace, SpaceSpec};
use nse_supernet::recalibration::recalibrate;
use nse_supernet::{
    CellPaths, ChildNetwork, CostTable, Indicators, PathWeights, Supernet, SupernetOptions,
    resource_penalty,
};

fn space(json: &str) -> SearchSpace {
    serde_json::from_str::<SpaceSpec>(json)
        .unwrap()
        .check()
        .unwrap()
}

/// Three cells (N 8→8, R 8→16, N 16→16) over a 5-op custom pool, 8x8 RGB input.
fn tiny_space() -> SearchSpace {
    space(
        r#"{"pool": ["ir_k3_e1", "ir_k5_e3", "ir_k3_e6_d2", "rec_k5_e2", "conv_k3_e1"],
            "layout": {"cells": "NRN"}, "channels": [8, 16], "stem_stride": 1,
            "input_size": 8, "num_classes": 4, "tail_channels": 16, "subspace_size": 3}"#,
    )
}

fn to_vec<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

fn max_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    to_vec(a)
        .iter()
        .zip(to_vec(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn forward_runs_exactly_the_chosen_branches() {
    let device = Device::flex();
    device.seed(1);
    let space = tiny_space();
    let net = Supernet::new(&space, &device, 9).unwrap().valid();
    let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let arch = Architecture::new(vec![vec![], vec![1, 3], vec![2]]).unwrap();
    let y = net.forward(x.clone(), arch.cells()).unwrap();
    // By hand: stem, identity cell, mean of two branches, residual average.
    let h = net.stem.forward(x);
    let h = (net.cells[1].ops[1].forward(h.clone()) + net.cells[1].ops[3].forward(h)) / 2.0;
    let h = (h.clone() + net.cells[2].ops[2].forward(h)) / 2.0;
    let expected = net.tail.forward(h);
    assert!(max_diff(y, expected) < 1e-5);
    // Invalid architectures are errors, not panics.
    assert!(
        net.forward(
            Tensor::zeros([1, 3, 8, 8], &device),
            &[vec![0], vec![], vec![0]]
        )
        .is_err()
    );
    assert!(
        net.forward(
            Tensor::zeros([1, 3, 8, 8], &device),
            &[vec![0], vec![7], vec![0]]
        )
        .is_err()
    );
    assert!(
        net.forward(Tensor::zeros([1, 3, 8, 8], &device), &[vec![0]])
            .is_err()
    );
}

fn paths() -> Vec<CellPaths> {
    vec![
        CellPaths {
            subspace: vec![0, 1, 2],
            selected: vec![0, 2],
            unselected: Some(vec![1]),
        },
        CellPaths {
            subspace: vec![1, 3],
            selected: vec![1],
            unselected: None,
        },
        CellPaths {
            subspace: vec![0, 3, 4],
            selected: vec![],
            unselected: Some(vec![3, 4]),
        },
    ]
}

#[test]
fn indicator_forward_value_equals_the_selected_architecture() {
    let device = Device::flex().autodiff();
    device.seed(2);
    let space = tiny_space();
    let net = Supernet::new(&space, &device, 9).unwrap();
    let alphas = vec![vec![0.3, -0.5, 1.2, 0.0, 0.7]; 3];
    let indicators = Indicators::from_values(&alphas, &device);
    let costs = CostTable::macs(&space);
    let x = Tensor::<4>::random([4, 3, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let out = net
        .forward_indicator(x.clone(), &paths(), &indicators, &costs)
        .unwrap();
    let selected: Vec<Vec<usize>> = paths().into_iter().map(|p| p.selected).collect();
    let plain = net.forward(x, &selected).unwrap();
    assert!(max_diff(out.logits, plain) < 1e-5);
}

/// d log P(set) / d α_i for the cell's sub-space, with p = sigmoid(α)·0.999 + 0.0005.
fn dlogp(alpha: f64, on: bool) -> f64 {
    let s = 1.0 / (1.0 + (-alpha).exp());
    let p = s * 0.999 + 0.0005;
    let dp = 0.999 * s * (1.0 - s);
    if on { dp / p } else { -dp / (1.0 - p) }
}

#[test]
fn indicator_gradient_matches_the_analytic_two_path_estimator() {
    let device = Device::flex().autodiff();
    device.seed(3);
    let space = space(
        r#"{"pool": ["ir_k3_e1", "ir_k5_e3", "rec_k5_e2"], "layout": {"cells": "N"},
            "channels": [8], "stem_stride": 1, "input_size": 6, "num_classes": 5,
            "tail_channels": 8, "subspace_size": 3}"#,
    );
    let net = Supernet::new(&space, &device, 9).unwrap();
    let alpha = [0.4f64, -0.8, 1.1];
    let indicators = Indicators::from_values(&[alpha.map(|a| a as f32).to_vec()], &device);
    let costs = CostTable::macs(&space);
    let (s, u) = (vec![0usize, 2], vec![1usize]);
    let paths = [CellPaths {
        subspace: vec![0, 1, 2],
        selected: s.clone(),
        unselected: Some(u.clone()),
    }];
    let x = Tensor::<4>::random([3, 3, 6, 6], Distribution::Normal(0.0, 1.0), &device);
    let w = Tensor::<2>::random([3, 5], Distribution::Normal(0.0, 1.0), &device);

    let out = net
        .forward_indicator(x.clone(), &paths, &indicators, &costs)
        .unwrap();
    let grads = (out.logits * w.clone()).sum().backward();
    let got = to_vec(indicators.alpha.grad(&grads).unwrap());

    // Expected: dL/dα_i = q_s q_u <g, y_s − y_u> (dlogP_s/dα_i − dlogP_u/dα_i), g = dL/dy.
    let h = net.stem.forward(x).detach();
    let y_s = net.cells[0].forward(h.clone(), &s).detach();
    let y_u = net.cells[0].forward(h, &u).detach();
    let z = y_s.clone().require_grad();
    let g_grads = (net.tail.forward(z.clone()) * w).sum().backward();
    let g = z.grad(&g_grads).unwrap();
    let inner: f64 = to_vec(g * (y_s - y_u)).iter().map(|&v| v as f64).sum();
    let log_p = |set: &[usize]| -> f64 {
        (0..3)
            .map(|i| {
                let sig = 1.0 / (1.0 + (-alpha[i]).exp());
                let p = sig * 0.999 + 0.0005;
                if set.contains(&i) {
                    p.ln()
                } else {
                    (1.0 - p).ln()
                }
            })
            .sum()
    };
    let q_s = 1.0 / (1.0 + (log_p(&u) - log_p(&s)).exp());
    let q_u = 1.0 - q_s;
    for i in 0..3 {
        let d = dlogp(alpha[i], s.contains(&i)) - dlogp(alpha[i], u.contains(&i));
        let expected = q_s * q_u * inner * d;
        assert!(
            (got[i] as f64 - expected).abs() <= 1e-3 * expected.abs().max(1e-3),
            "α_{i}: got {} expected {expected}",
            got[i]
        );
        assert!(
            expected.abs() > 1e-4,
            "the test must exercise a non-trivial gradient"
        );
    }
    // Weight gradients flow through the selected path only: the unselected op gets none.
    let op1 = &net.cells[0].ops[1];
    let weight = match op1 {
        nse_modules::CandidateOp::InvertedBottleneck(b) => b.expand.conv.weight.val(),
        _ => unreachable!(),
    };
    assert!(
        weight
            .grad(&grads)
            .is_none_or(|g| to_vec(g.abs().sum()) == vec![0.0])
    );
}

#[test]
fn expected_cost_is_the_q_weighted_path_cost() {
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let costs = CostTable::macs(&space);
    let indicators = Indicators::from_values(&vec![vec![0.3, -0.5, 1.2, 0.0, 0.7]; 3], &device);
    let paths = paths();
    let weights = PathWeights::new(&indicators, &paths).unwrap();
    let got = to_vec(weights.expected_cost(&paths, &costs))[0] as f64;
    let q_s = to_vec(weights.selected.clone());
    let q_u = to_vec(weights.unselected.clone());
    let mut expected = costs.fixed;
    for (c, p) in paths.iter().enumerate() {
        let c_u = costs.set_cost(c, p.unselected.as_deref().unwrap_or(&[]));
        expected += q_s[c] as f64 * costs.set_cost(c, &p.selected) + q_u[c] as f64 * c_u;
    }
    assert!(
        (got - expected).abs() < 1e-4 * expected,
        "{got} vs {expected}"
    );
    assert_eq!((q_s[1], q_u[1]), (1.0, 0.0), "deterministic cell");
    assert!((q_s[0] + q_u[0] - 1.0).abs() < 1e-6 && q_s[0] > 0.0 && q_s[0] < 1.0);
}

#[test]
fn resource_penalty_pushes_expensive_ops_down() {
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let costs = CostTable::macs(&space);
    // Cell 1 (R 8→16): op 0 (ir_k3_e1) is cheap, op 3 (rec_k5_e2) expensive.
    assert!(costs.ops[1][3] > 3.0 * costs.ops[1][0]);
    let mut alpha = vec![vec![0.0f32; 5]; 3];
    let mut previous_cost = f64::INFINITY;
    for step in 0..20 {
        let (s, u) = if step % 2 == 0 {
            (vec![0], vec![3])
        } else {
            (vec![3], vec![0])
        };
        let indicators = Indicators::from_values(&alpha, &device);
        let paths: Vec<CellPaths> = (0..3)
            .map(|c| CellPaths {
                subspace: if c == 1 { vec![0, 3] } else { vec![] },
                selected: if c == 1 { s.clone() } else { vec![] },
                unselected: if c == 1 { Some(u.clone()) } else { None },
            })
            .collect();
        let weights = PathWeights::new(&indicators, &paths).unwrap();
        let cost = weights.expected_cost(&paths, &costs);
        let grads = resource_penalty(cost, 0.0, 10.0, 2.0).backward();
        let g = to_vec(indicators.alpha.grad(&grads).unwrap());
        assert!(
            g[5 + 3] > 0.0,
            "step {step}: expensive op must be pushed down"
        );
        assert!(g[5] < 0.0, "step {step}: cheap op must be pushed up");
        assert!(g[..5].iter().chain(&g[10..]).all(|&v| v == 0.0));
        for (i, a) in alpha[1].iter_mut().enumerate() {
            *a -= 5.0 * g[5 + i];
        }
        // The mean cost under the Bernoulli distribution falls monotonically.
        let p = |a: f32| 1.0 / (1.0 + (-a as f64).exp());
        let mean = p(alpha[1][0]) * costs.ops[1][0] + p(alpha[1][3]) * costs.ops[1][3];
        assert!(mean < previous_cost);
        previous_cost = mean;
    }
    assert!(alpha[1][3] < -0.5 && alpha[1][0] > 0.5, "{:?}", alpha[1]);
}

#[test]
fn recalibration_sets_the_exact_statistics_of_the_data_fed() {
    let device = Device::flex().autodiff();
    device.seed(4);
    let space = tiny_space();
    let mut net = Supernet::new(&space, &device, 9).unwrap();
    // Move the statistics of op 4 of cell 0 with another architecture first.
    let other = vec![vec![4], vec![0], vec![]];
    let warm = Tensor::<4>::random([8, 3, 8, 8], Distribution::Normal(1.0, 2.0), &device);
    net.forward(warm, &other).unwrap();
    let untouched = |net: &Supernet| {
        let mut op = net.cells[0].ops[4].clone();
        to_vec(op.batch_norms_mut()[0].running_mean.value_sync())
    };
    let before = untouched(&net);
    assert!(before.iter().any(|&v| v != 0.0));

    let arch = vec![vec![1], vec![0, 3], vec![2]];
    let batches: Vec<Tensor<4>> = (0..3)
        .map(|_| Tensor::random([6, 3, 8, 8], Distribution::Normal(0.5, 1.5), &device))
        .collect();
    assert_eq!(recalibrate(&mut net, &arch, batches.clone()).unwrap(), 3);

    // Stem BN: mean over all data of the stem conv output; variance: mean of batch variances.
    let conv = |x: Tensor<4>| net.stem.conv.conv.forward(x).detach();
    let outs: Vec<Tensor<4>> = batches.iter().cloned().map(conv).collect();
    let all = Tensor::cat(outs.clone(), 0);
    let mean = to_vec(all.mean_dim(0).mean_dim(2).mean_dim(3).reshape([8]));
    let var: Vec<f32> = {
        let per_batch: Vec<Vec<f32>> = outs
            .into_iter()
            .map(|o| {
                let m = o.clone().mean_dim(0).mean_dim(2).mean_dim(3);
                to_vec(
                    (o - m)
                        .powi_scalar(2)
                        .mean_dim(0)
                        .mean_dim(2)
                        .mean_dim(3)
                        .reshape([8]),
                )
            })
            .collect();
        (0..8)
            .map(|c| per_batch.iter().map(|v| v[c]).sum::<f32>() / 3.0)
            .collect()
    };
    let running_mean = to_vec(net.stem.conv.bn.running_mean.value_sync());
    let running_var = to_vec(net.stem.conv.bn.running_var.value_sync());
    for c in 0..8 {
        assert!(
            (running_mean[c] - mean[c]).abs() < 1e-4,
            "mean {c}: {} vs {}",
            running_mean[c],
            mean[c]
        );
        assert!(
            (running_var[c] - var[c]).abs() < 1e-3 * var[c].max(1.0),
            "var {c}: {} vs {}",
            running_var[c],
            var[c]
        );
    }
    assert_eq!(
        untouched(&net),
        before,
        "ops outside the architecture keep their statistics"
    );
    assert_eq!(net.stem.conv.bn.momentum, 0.1, "momentum restored");
    // Plain devices cannot run train-mode batch norm.
    let mut plain = Supernet::new(&space, &Device::flex(), 9).unwrap();
    let x = Tensor::<4>::zeros([2, 3, 8, 8], &Device::flex());
    assert!(recalibrate(&mut plain, &arch, vec![x]).is_err());
}

#[test]
fn child_inherits_weights_and_matches_the_supernet_in_eval_mode() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let space = tiny_space();
    let mut net = Supernet::new(&space, &device, 9).unwrap();
    let arch = Architecture::new(vec![vec![], vec![0, 3], vec![2, 4]]).unwrap();
    let batches: Vec<Tensor<4>> = (0..2)
        .map(|_| Tensor::random([6, 3, 8, 8], Distribution::Normal(0.2, 1.3), &device))
        .collect();
    recalibrate(&mut net, arch.cells(), batches).unwrap();
    let child = ChildNetwork::inherit(&net, &space, &arch).unwrap();
    assert_eq!(child.cells.len(), 2);
    let x = Tensor::<4>::random([3, 3, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let from_supernet = net
        .valid()
        .forward(x.clone().inner(), arch.cells())
        .unwrap();
    let from_child = child.valid().forward(x.inner());
    assert!(max_diff(from_supernet, from_child) < 1e-5);
    // A fresh child differs.
    let fresh = ChildNetwork::from_space(&space, &arch, &Device::flex(), 9).unwrap();
    let y = fresh.forward(Tensor::ones([1, 3, 8, 8], &Device::flex()));
    let z = child_valid_ones(&net, &space, &arch);
    assert!(max_diff(y, z) > 1e-4);
}

fn child_valid_ones(net: &Supernet, space: &SearchSpace, arch: &Architecture) -> Tensor<2> {
    let child = ChildNetwork::inherit(net, space, arch).unwrap().valid();
    child.forward(Tensor::ones([1, 3, 8, 8], &Device::flex()))
}

#[test]
fn seeded_reinitialisation_is_reproducible() {
    let device = Device::flex();
    let space = tiny_space();
    let weights = |seed: u64| {
        let net = Supernet::new(&space, &device, seed).unwrap();
        let x =
            Tensor::<4>::from_data(TensorData::new(vec![0.5f32; 3 * 64], [1, 3, 8, 8]), &device);
        to_vec(
            net.forward(
                x,
                &[
                    vec![0, 1, 2, 3, 4],
                    vec![0, 1, 2, 3, 4],
                    vec![0, 1, 2, 3, 4],
                ],
            )
            .unwrap(),
        )
    };
    assert_eq!(weights(11), weights(11));
    assert_ne!(weights(11), weights(12));
}

#[test]
fn weight_and_indicator_optimizers_step_disjoint_parameters() {
    use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let costs = CostTable::macs(&space);
    let net = Supernet::new(&space, &device, 31).unwrap();
    let indicators = Indicators::from_values(&vec![vec![0.1, 0.2, -0.3, 0.4, 0.0]; 3], &device);
    let x = Tensor::<4>::random([4, 3, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let out = net
        .forward_indicator(x, &paths(), &indicators, &costs)
        .unwrap();
    let mut grads = out.logits.powi_scalar(2).mean().backward();
    let weight_grads = GradientsParams::from_module(&mut grads, &net);
    let alpha_grads = GradientsParams::from_module(&mut grads, &indicators);
    let stem_before = to_vec(net.stem.conv.conv.weight.val());
    let alpha_before = indicators.values();

    let mut sgd = SgdConfig::new().init();
    let net = sgd.step(0.1, net, weight_grads);
    let mut adam = AdamConfig::new().with_beta_1(0.0).init();
    let stepped = adam.step(0.005, indicators.clone(), alpha_grads);

    assert_ne!(
        to_vec(net.stem.conv.conv.weight.val()),
        stem_before,
        "weights moved"
    );
    assert_eq!(
        indicators.values(),
        alpha_before,
        "the weight step left α alone"
    );
    let after = stepped.values();
    // Only ops that differ between the two paths of a stochastic cell get a gradient:
    // cell 0 ops 0, 1, 2 (S = {0, 2}, U = {1}); cell 2 ops 3, 4 (S = {}, U = {3, 4}; op 0 is
    // off in both, so its factor cancels in q).
    for (c, row) in after.iter().enumerate() {
        for (i, &a) in row.iter().enumerate() {
            let moves = (c == 0 && i < 3) || (c == 2 && [3, 4].contains(&i));
            assert_eq!(a != alpha_before[c][i], moves, "cell {c} op {i}");
        }
    }
}

#[test]
fn an_optimizer_step_leaves_unused_ops_untouched() {
    use burn::optim::{GradientsParams, SgdConfig};
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let net = Supernet::new(&space, &device, 41).unwrap();
    let weight = |net: &Supernet, c: usize, i: usize| match &net.cells[c].ops[i] {
        nse_modules::CandidateOp::InvertedBottleneck(b) => to_vec(b.expand.conv.weight.val()),
        nse_modules::CandidateOp::Factorized(b) => to_vec(b.expand.conv.weight.val()),
        nse_modules::CandidateOp::Plain(b) => to_vec(b.expand.conv.weight.val()),
        nse_modules::CandidateOp::Dual(b) => to_vec(b.expand.conv.weight.val()),
    };
    let before_unused = weight(&net, 1, 4);
    let before_used = weight(&net, 1, 0);
    let x = Tensor::<4>::random([4, 3, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let loss = net
        .forward(x, &[vec![1], vec![0], vec![2]])
        .unwrap()
        .powi_scalar(2)
        .mean();
    let grads = GradientsParams::from_grads(loss.backward(), &net);
    let mut sgd = SgdConfig::new().init();
    let net = sgd.step(0.1, net, grads);
    assert_eq!(weight(&net, 1, 4), before_unused);
    assert_ne!(weight(&net, 1, 0), before_used);
}

/// Shadow batch norm: a cell of `m` branches normalises their mean with its batch norm for
/// `m`, then mixes in the residual as `(x + m·z) / (m + 1)`; recalibration re-estimates that
/// batch norm only; a child network cannot inherit such a supernet.
#[test]
fn shadow_batch_norm_normalises_by_branch_count() {
    let device = Device::flex().autodiff();
    device.seed(5);
    let space = tiny_space();
    let options = SupernetOptions {
        shadow_batch_norm: true,
    };
    let mut net = Supernet::with_options(&space, &device, 9, options).unwrap();
    assert!(net.has_shadow_batch_norm());
    assert_eq!(
        net.cells[2].shadow.len(),
        5,
        "one per branch count up to the pool"
    );
    assert!(
        !Supernet::new(&space, &device, 9)
            .unwrap()
            .has_shadow_batch_norm()
    );
    let arch = vec![vec![1], vec![0, 3], vec![2, 4]];
    let batches: Vec<Tensor<4>> = (0..2)
        .map(|_| Tensor::random([6, 3, 8, 8], Distribution::Normal(0.5, 1.5), &device))
        .collect();
    recalibrate(&mut net, &arch, batches.clone()).unwrap();
    // Only the batch norm of cell 2's branch count (2) was re-estimated.
    let stats = |bn: &burn::nn::BatchNorm| to_vec(bn.running_mean.value_sync());
    assert!(stats(&net.cells[2].shadow[1]).iter().any(|&v| v != 0.0));
    assert!(stats(&net.cells[2].shadow[0]).iter().all(|&v| v == 0.0));
    assert!(stats(&net.cells[2].shadow[2]).iter().all(|&v| v == 0.0));

    // Eval mode, by hand: cell 2 (residual, two branches) after cells 0 and 1.
    let eval = net.valid();
    let x = Tensor::<4>::random(
        [3, 3, 8, 8],
        Distribution::Normal(0.0, 1.0),
        &Device::flex(),
    );
    let y = eval.forward(x.clone(), &arch).unwrap();
    let h = eval.cells[1].forward(
        eval.cells[0].forward(eval.stem.forward(x), &arch[0]),
        &arch[1],
    );
    let mean =
        (eval.cells[2].ops[2].forward(h.clone()) + eval.cells[2].ops[4].forward(h.clone())) / 2.0;
    let z = eval.cells[2].shadow[1].forward(mean);
    let expected = eval.tail.forward((h + z * 2.0) / 3.0);
    assert!(max_diff(y.clone(), expected) < 1e-5);
    // The normalised mean differs from the plain mean: the layer does act.
    let plain_h = eval.cells[1].forward(
        eval.cells[0].forward(
            eval.stem
                .forward(Tensor::zeros([1, 3, 8, 8], &Device::flex())),
            &arch[0],
        ),
        &arch[1],
    );
    let plain = nse_supernet::cell::cell_output(
        plain_h.clone(),
        [&eval.cells[2].ops[2], &eval.cells[2].ops[4]],
        true,
    );
    assert!(max_diff(plain, eval.cells[2].forward(plain_h, &arch[2])) > 1e-3);

    let err = ChildNetwork::inherit(&net, &space, &Architecture::new(arch).unwrap()).unwrap_err();
    assert!(err.to_string().contains("shadow batch norms"), "{err}");
}

/// The sampler's paths go into the supernet as they are: each cell's sub-space beside its two
/// sets, no unselected set where the cell is deterministic, and the differentiable `q_s` of
/// [`PathWeights`] equal to the sampler's f64 `q_s`.
#[test]
fn sampled_paths_are_the_supernets_paths() {
    use rand::SeedableRng;
    let device = Device::flex();
    let space = tiny_space();
    // Cell 0 (normal, 8→8: residual) three ops; cell 1 (reduction) a single op:
    // deterministic; cell 2 (residual) empty: deterministic.
    let subspace = nse_space::SubSpace::new(&space, vec![vec![0, 1, 3], vec![2], vec![]]).unwrap();
    let alphas = vec![vec![0.3f32, -0.2, 0.0, 0.5, 0.0]; 3];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    let paths = subspace.sample_two_paths(&alphas, &mut rng).unwrap().cells;
    assert_eq!(paths.len(), 3);
    for (c, path) in paths.iter().enumerate() {
        assert_eq!(path.subspace, subspace.ops(c));
    }
    assert!(paths[0].unselected.is_some());
    assert_eq!(paths[1].unselected, None);
    assert_eq!(paths[2].unselected, None);
    let weights = PathWeights::new(&Indicators::from_values(&alphas, &device), &paths).unwrap();
    let q: Vec<f32> = weights.selected.into_data().try_to_vec().unwrap();
    for (c, path) in paths.iter().enumerate() {
        let want = path.q_selected(&alphas[c]);
        assert!(
            (f64::from(q[c]) - want).abs() < 1e-6,
            "cell {c}: {} vs {want}",
            q[c]
        );
    }
    assert!(q[0] > 0.0 && q[0] < 1.0, "cell 0 is stochastic: {}", q[0]);
}

/// Every float of a module (weights and running statistics), in visiting order.
struct Floats(Vec<f32>);

impl burn::module::ModuleVisitor for Floats {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        self.0.extend(
            param
                .val()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap(),
        );
    }
}

/// A batch whose loss is NaN takes no weight step: the weights, the optimizer's momentum and
/// the running batch-norm statistics the forward touched are as if the batch never came,
/// so a run that skips it continues exactly like one that never saw it.
#[test]
fn a_non_finite_loss_takes_no_step_and_keeps_the_batch_norm_statistics() {
    use burn::optim::SgdConfig;
    use burn::optim::momentum::MomentumConfig;
    use burn::tensor::Int;
    use nse_supernet::training::weight_step;
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let arch = vec![vec![1], vec![0, 3], vec![2, 4]];
    // Batches from a formula, not the device's generator: that generator is shared with
    // the other tests of this binary, which run in parallel, so a re-seeded draw could differ
    // between the clean and the poisoned run.
    let batch = |seed: u64| {
        let pixels: Vec<f32> = (0..4 * 3 * 64u64)
            .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        (
            Tensor::<4>::from_data(TensorData::new(pixels, [4, 3, 8, 8]), &device),
            Tensor::<1, Int>::from_data([0, 1, 2, 3], &device),
        )
    };
    let run = |poisoned: bool| -> Vec<f32> {
        let mut net = Supernet::new(&space, &device, 51).unwrap();
        let mut optim = SgdConfig::new()
            .with_momentum(Some(MomentumConfig {
                momentum: 0.9,
                dampening: 0.0,
                nesterov: false,
            }))
            .init();
        for (i, seed) in [1u64, 2, 3].into_iter().enumerate() {
            if poisoned && i == 1 {
                let (x, y) = batch(9);
                let (stepped, stats) =
                    weight_step(net, &mut optim, 0.1, &arch, x.mul_scalar(f32::NAN), y).unwrap();
                assert!(stats.loss.is_nan(), "{}", stats.loss);
                net = stepped;
            }
            let (x, y) = batch(seed);
            let (stepped, stats) = weight_step(net, &mut optim, 0.1, &arch, x, y).unwrap();
            assert!(stats.loss.is_finite());
            net = stepped;
        }
        let mut floats = Floats(Vec::new());
        net.valid().visit(&mut floats);
        floats.0
    };
    let clean = run(false);
    let poisoned = run(true);
    assert!(
        poisoned.iter().all(|v| v.is_finite()),
        "NaN reached the supernet"
    );
    assert_eq!(poisoned, clean);
}
