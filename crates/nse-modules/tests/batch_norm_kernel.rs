//! The CPU train-mode batch-norm kernel against Burn's `batch_norm_train` and its autodiff
//! backward, and `ConvBn`'s batch norm (running statistics, inference) against Burn's
//! `BatchNorm` module.

use burn::module::Module;
use burn::nn::BatchNormConfig;
use burn::tensor::{Device, Tensor, TensorData};
use nse_modules::ConvBnConfig;
use nse_modules::kernels::{batch_norm_train, elementwise};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `offset + spread · (roughly standard normal)` values from a seeded host RNG.
fn values(n: usize, offset: f32, spread: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let z = (0..4).map(|_| rng.random::<f32>()).sum::<f32>() - 2.0;
            offset + spread * z
        })
        .collect()
}

fn max_rel_err<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    let scale = b.clone().abs().max().into_scalar::<f32>() + 1e-6;
    (a - b).abs().max().into_scalar::<f32>() / scale
}

/// `[batch, channels, h, w]` values rearranged as contiguous `[channels, batch, h, w]`.
fn channel_major(values: &[f32], [n, c, h, w]: [usize; 4]) -> Vec<f32> {
    let p = h * w;
    let mut out = vec![0.0f32; values.len()];
    for b in 0..n {
        for ch in 0..c {
            out[(ch * n + b) * p..][..p].copy_from_slice(&values[(b * c + ch) * p..][..p]);
        }
    }
    out
}

/// How the test feeds the kernel: the memory order of `x`, and whether the upstream gradient
/// keeps the channel-major order (through `elementwise`) or arrives as Burn's ops leave it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Feed {
    ImageMajor,
    ChannelMajor,
    ChannelMajorInputOnly,
}

/// Output, mean, variance and the gradients of x, γ and β, with a random upstream gradient.
fn run(
    train: impl Fn(Tensor<4>, Tensor<1>, Tensor<1>) -> (Tensor<4>, Tensor<1>, Tensor<1>),
    shape: [usize; 4],
    offset: f32,
    seed: u64,
    feed: Feed,
) -> Vec<(&'static str, Tensor<4>)> {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n: usize = shape.iter().product();
    let xs = values(n, offset, 1.0, &mut rng);
    let [b, c, h, w] = shape;
    let (x_leaf, x) = if feed == Feed::ImageMajor {
        let x = Tensor::<4>::from_data(TensorData::new(xs, shape), &device).require_grad();
        (x.clone(), x)
    } else {
        let leaf = Tensor::<4>::from_data(
            TensorData::new(channel_major(&xs, shape), [c, b, h, w]),
            &device,
        )
        .require_grad();
        (leaf.clone(), leaf.swap_dims(0, 1))
    };
    let c = shape[1];
    let gamma =
        Tensor::<1>::from_data(TensorData::new(values(c, 1.0, 0.3, &mut rng), [c]), &device)
            .require_grad();
    let beta = Tensor::<1>::from_data(TensorData::new(values(c, 0.0, 0.3, &mut rng), [c]), &device)
        .require_grad();
    let (y, mean, var) = train(x, gamma.clone(), beta.clone());
    let up = Tensor::<4>::from_data(
        TensorData::new(values(n, 0.0, 1.0, &mut rng), shape),
        &device,
    );
    let weighted = match feed {
        Feed::ChannelMajor => elementwise([y.clone(), up], |[y, up]| y * up),
        _ => y.clone() * up,
    };
    let grads = weighted.sum().backward();
    let mut x_grad = x_leaf.grad(&grads).expect("x gradient");
    if feed != Feed::ImageMajor {
        x_grad = x_grad.swap_dims(0, 1);
    }
    let as4 = |t: Tensor<1>| t.reshape([1, c, 1, 1]);
    vec![
        ("output", y.inner()),
        ("mean", as4(mean.inner())),
        ("variance", as4(var.inner())),
        ("input gradient", x_grad),
        (
            "gamma gradient",
            as4(gamma.grad(&grads).expect("gamma gradient")),
        ),
        (
            "beta gradient",
            as4(beta.grad(&grads).expect("beta gradient")),
        ),
    ]
}

#[test]
fn train_mode_kernel_matches_burn() {
    // (shape, mean of the input): 1x1 maps (the last stages), a batch of one, odd planes,
    // planes longer than the vector lanes, and an input whose mean dwarfs its spread.
    let cases = [
        ([8, 3, 5, 5], 0.0),
        ([64, 7, 1, 1], 0.5),
        ([1, 4, 3, 3], -1.0),
        ([3, 5, 7, 9], 2.0),
        ([16, 40, 4, 4], 0.0),
        ([2, 3, 6, 6], 30.0),
    ];
    let feeds = [
        Feed::ImageMajor,
        Feed::ChannelMajor,
        Feed::ChannelMajorInputOnly,
    ];
    for (i, (shape, offset)) in cases.into_iter().enumerate() {
        for feed in feeds {
            let ours = run(
                |x, g, b| {
                    let r = batch_norm_train(x, g, b, 1e-5);
                    (r.output, r.mean, r.variance)
                },
                shape,
                offset,
                i as u64,
                feed,
            );
            let burn = run(
                |x, g, b| {
                    let r = burn::tensor::module::batch_norm_train(x, g, b, 1e-5);
                    (r.output, r.mean, r.variance)
                },
                shape,
                offset,
                i as u64,
                Feed::ImageMajor,
            );
            for ((what, a), (_, b)) in ours.into_iter().zip(burn) {
                assert_eq!(a.dims(), b.dims(), "{shape:?}: {what} shape");
                let err = max_rel_err(a, b);
                // Burn sums in f32, the kernel in f64: a large mean costs Burn the digits.
                let bound = if offset.abs() > 10.0 { 1e-3 } else { 2e-5 };
                assert!(
                    err < bound,
                    "{shape:?} (mean {offset}, {feed:?}): {what} differs by {err}"
                );
            }
        }
    }
}

#[test]
fn variance_keeps_its_precision_under_a_large_mean() {
    // x = 1000 + 0.01·z: E[x²] − E[x]² in f32 would lose every digit of a 1e-4 variance.
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let shape = [4, 2, 8, 8];
    let xs = values(shape.iter().product(), 1000.0, 0.01, &mut rng);
    let x = Tensor::<4>::from_data(TensorData::new(xs.clone(), shape), &device);
    let r = batch_norm_train(
        x,
        Tensor::ones([2], &device),
        Tensor::zeros([2], &device),
        1e-5,
    );
    let variance = r.variance.into_data().try_to_vec::<f32>().unwrap();
    for (c, &v) in variance.iter().enumerate() {
        let channel: Vec<f64> = (0..4)
            .flat_map(|b| xs[(b * 2 + c) * 64..][..64].iter().map(|&v| v as f64))
            .collect();
        let mean = channel.iter().sum::<f64>() / 256.0;
        let exact = channel.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 256.0;
        let rel = (v as f64 - exact).abs() / exact;
        assert!(
            rel < 1e-3,
            "channel {c}: variance {v} against {exact} ({rel})"
        );
    }
}

#[test]
fn conv_bn_batch_norm_behaves_like_burns_module() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let layer = ConvBnConfig::new([3, 6], [1, 1]).init_with(&device, &mut rng);
    let reference = BatchNormConfig::new(6).init(&device);
    let conv_only = |x: Tensor<4>| layer.conv.forward(x);
    for step in 0..3 {
        let shape = [5, 3, 4, 4];
        let xs = values(shape.iter().product(), step as f32, 1.0, &mut rng);
        let x = Tensor::<4>::from_data(TensorData::new(xs, shape), &device);
        let ours = layer.forward(x.clone());
        let burn = reference.forward(conv_only(x));
        let err = max_rel_err(ours, burn);
        assert!(err < 1e-5, "step {step}: train output differs by {err}");
    }
    for (what, a, b) in [
        (
            "running mean",
            layer.bn.running_mean.value_sync(),
            reference.running_mean.value_sync(),
        ),
        (
            "running variance",
            layer.bn.running_var.value_sync(),
            reference.running_var.value_sync(),
        ),
    ] {
        let err = max_rel_err(a, b);
        assert!(err < 1e-5, "{what} differs by {err}");
    }
    // Inference with those statistics, on the inference device.
    let (layer, reference) = (layer.valid(), reference.valid());
    let x = Tensor::<4>::from_data(
        TensorData::new(values(5 * 3 * 16, 0.5, 1.0, &mut rng), [5, 3, 4, 4]),
        &Device::flex(),
    );
    let err = max_rel_err(
        layer.forward(x.clone()),
        reference.forward(layer.conv.forward(x)),
    );
    assert!(err < 1e-5, "inference output differs by {err}");
}
