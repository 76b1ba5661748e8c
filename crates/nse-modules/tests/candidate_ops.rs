//! Every op of the reference pools builds, runs, and allocates exactly the parameters that
//! the cost model counts.

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor};
use nse_modules::CandidateOpConfig;
use nse_modules::{ConvBnConfig, SqueezeExciteConfig, learnable_params};
use nse_ops::{Activation, CandidatePool, OpGeometry, OpSpec};

fn device() -> Device {
    let device = Device::flex();
    device.seed(7);
    device
}

/// Builds `spec` at `geometry`, runs a batch of 2 and checks shape and parameter count.
fn check(spec: &OpSpec, geometry: OpGeometry, device: &Device) {
    let op = CandidateOpConfig::new(*spec, [geometry.cin, geometry.cout])
        .with_stride(geometry.stride)
        .init(device)
        .unwrap_or_else(|e| panic!("{spec} at {geometry:?}: {e}"));
    let cost = spec.cost(&geometry).unwrap();
    assert_eq!(
        learnable_params(&op),
        cost.cost.params,
        "{spec} at {geometry:?}: module parameters vs cost model"
    );
    let [h, w] = geometry.input;
    let x = Tensor::<4>::random(
        [2, geometry.cin, h, w],
        Distribution::Normal(0.0, 1.0),
        device,
    );
    let y = op.forward(x);
    assert_eq!(
        y.dims(),
        [2, geometry.cout, cost.output[0], cost.output[1]],
        "{spec} at {geometry:?}: output shape"
    );
    let values: Vec<f32> = y.into_data().try_to_vec::<f32>().unwrap();
    assert!(
        values.iter().all(|v| v.is_finite()),
        "{spec}: non-finite output"
    );
}

#[test]
fn every_mb72_op_runs_in_residual_and_reduction_cells() {
    let device = device();
    let pool = CandidatePool::reference("mb72").unwrap();
    for spec in pool.ops() {
        // residual: cin == cout, stride 1, odd size
        check(spec, OpGeometry::new(8, 8, 1, 7), &device);
        // reduction: cin != cout, stride 2, even and odd non-square size
        check(
            spec,
            OpGeometry {
                cin: 8,
                cout: 12,
                stride: 2,
                input: [8, 9],
            },
            &device,
        );
    }
}

#[test]
fn every_mb19_op_and_se_swish_variants_run() {
    let device = device();
    let pool = CandidatePool::reference("mb19").unwrap();
    for spec in pool.ops() {
        check(spec, OpGeometry::new(8, 8, 1, 6), &device);
        let variant = spec.with_se(true).with_activation(Activation::Swish);
        check(&variant, OpGeometry::new(8, 16, 2, 7), &device);
    }
}

#[test]
fn all_reference_ops_round_trip_as_text_and_serde() {
    for name in nse_ops::REFERENCE_POOLS {
        let pool = CandidatePool::reference(name).unwrap();
        for spec in pool.ops() {
            let text = spec.to_string();
            assert_eq!(text.parse::<OpSpec>().unwrap(), *spec, "{text}");
            let json = serde_json::to_string(spec).unwrap();
            assert_eq!(
                serde_json::from_str::<OpSpec>(&json).unwrap(),
                *spec,
                "{json}"
            );
        }
        let json = serde_json::to_string(&pool).unwrap();
        assert_eq!(serde_json::from_str::<CandidatePool>(&json).unwrap(), pool);
    }
    assert_eq!(CandidatePool::reference("mb72").unwrap().ops().len(), 72);
}

#[test]
fn groups_not_dividing_channels_fail_at_init() {
    let spec: OpSpec = "ir_k3_e1_g2x2".parse().unwrap();
    let err = CandidateOpConfig::new(spec, [9, 8])
        .init(&device())
        .unwrap_err();
    assert!(
        err.to_string().contains("2 groups do not divide the 9"),
        "{err}"
    );
}

#[test]
fn dilated_depthwise_padding_is_exact() {
    // 3x3 depthwise of ones, dilation 2, padding 2 on a 5x5 map of ones: each output is the
    // number of taps that land inside the map.
    let device = device();
    let mut unit = ConvBnConfig::new([1, 1], [3, 3])
        .with_padding([2, 2])
        .with_dilation(2)
        .init(&device);
    unit.conv.weight = Param::from_tensor(Tensor::ones([1, 1, 3, 3], &device));
    let y = unit.forward(Tensor::ones([1, 1, 5, 5], &device));
    assert_eq!(y.dims(), [1, 1, 5, 5]);
    let got: Vec<f32> = y.into_data().try_to_vec::<f32>().unwrap();
    let taps = |i: i32| {
        [-2, 0, 2]
            .iter()
            .filter(|&&o| (0..5).contains(&(i + o)))
            .count()
    };
    let scale = 1.0 / (1.0f32 + 1e-5).sqrt(); // eval-mode BN with fresh statistics
    for i in 0..5 {
        for j in 0..5 {
            let expected = (taps(i) * taps(j)) as f32 * scale;
            let v = got[(i * 5 + j) as usize];
            assert!((v - expected).abs() < 1e-5, "({i},{j}): {v} vs {expected}");
        }
    }
}

#[test]
fn squeeze_excite_with_zero_weights_halves_the_input() {
    let device = device();
    let mut se = SqueezeExciteConfig::new(8).init(&device);
    se.expand.weight = Param::from_tensor(Tensor::zeros([8, 2, 1, 1], &device));
    let x = Tensor::<4>::random([2, 8, 3, 3], Distribution::Normal(0.0, 1.0), &device);
    let y = se.forward(x.clone());
    let diff: f32 = (y - x.mul_scalar(0.5)).abs().max().into_scalar();
    assert!(diff < 1e-6, "max difference {diff}");
}

#[test]
fn initialisation_is_kaiming_normal_fan_out_and_unit_batch_norm() {
    let device = device();
    let unit = ConvBnConfig::new([64, 128], [3, 3]).init(&device);
    let w: Vec<f32> = unit
        .conv
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n;
    let std = (w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    let expected = (2.0f64 / (128.0 * 9.0)).sqrt();
    assert!(mean.abs() < 0.005, "mean {mean}");
    assert!(
        (std / expected - 1.0).abs() < 0.05,
        "std {std} vs {expected}"
    );
    let gamma: Vec<f32> = unit.bn.gamma.val().into_data().try_to_vec::<f32>().unwrap();
    let beta: Vec<f32> = unit.bn.beta.val().into_data().try_to_vec::<f32>().unwrap();
    assert!(gamma.iter().all(|&g| g == 1.0) && beta.iter().all(|&b| b == 0.0));
    // Depthwise: PyTorch's fan_out counts every output channel (not divided by the groups).
    let dw = ConvBnConfig::new([256, 256], [3, 3])
        .with_groups(256)
        .init(&device);
    let w: Vec<f32> = dw
        .conv
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap();
    let std = (w.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
    let expected = (2.0f64 / (256.0 * 9.0)).sqrt();
    assert!(
        (std / expected - 1.0).abs() < 0.1,
        "depthwise std {std} vs {expected}"
    );
    // Burn's own count includes the two running statistics of each BN; ours does not.
    assert_eq!(unit.num_params() as u64, learnable_params(&unit) + 2 * 128);
}
