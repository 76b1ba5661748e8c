//! The CPU convolution kernels (dense and depthwise) against Burn's own `conv2d` and its
//! autodiff backward, over strides, dilations, kernel sizes and asymmetric padding.

use burn::backend::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use nse_modules::kernels::{conv2d, depthwise_conv2d, elementwise, is_cpu};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn max_rel_err(a: Tensor<4>, b: Tensor<4>) -> f32 {
    let scale = b.clone().abs().max().into_scalar::<f32>() + 1e-6;
    let diff = (a - b).abs().max().into_scalar::<f32>();
    diff / scale
}

/// Standard-normal-ish values from a seeded host RNG (the device RNG is global, and tests run
/// in parallel).
fn values(n: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    (0..n)
        .map(|_| (0..4).map(|_| rng.random::<f32>()).sum::<f32>() - 2.0)
        .collect()
}

/// Memory order of the test inputs and of the upstream gradient.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Order {
    /// Contiguous `[batch, channels, h, w]`.
    ImageMajor,
    /// `[batch, channels, h, w]` views of contiguous `[channels, batch, h, w]` memory, as the
    /// kernels leave activations; the upstream gradient arrives in the same order.
    ChannelMajor,
}

/// A `[batch, channels, h, w]` leaf of the given values (in that logical order), stored in
/// `order`: `(leaf, view)`, where the view is the logical tensor and the leaf carries the
/// gradient (`[channels, batch, h, w]` when channel-major).
fn stored(
    values: Vec<f32>,
    dims: [usize; 4],
    order: Order,
    device: &Device,
) -> (Tensor<4>, Tensor<4>) {
    if order == Order::ImageMajor {
        let t = Tensor::<4>::from_data(TensorData::new(values, dims), device).require_grad();
        return (t.clone(), t);
    }
    let [n, c, h, w] = dims;
    let p = h * w;
    let mut cm = vec![0.0f32; values.len()];
    for b in 0..n {
        for ch in 0..c {
            cm[(ch * n + b) * p..][..p].copy_from_slice(&values[(b * c + ch) * p..][..p]);
        }
    }
    let leaf = Tensor::<4>::from_data(TensorData::new(cm, [c, n, h, w]), device).require_grad();
    (leaf.clone(), leaf.swap_dims(0, 1))
}

/// Output, input gradient and weight gradient of `conv` applied to seeded random inputs, with
/// a random upstream gradient (through a weighted sum) so every output position matters.
fn run(
    conv: impl Fn(Tensor<4>, Tensor<4>) -> Tensor<4>,
    shape: [usize; 4],
    weight_shape: [usize; 4],
    seed: u64,
    order: Order,
) -> (Tensor<4>, Tensor<4>, Tensor<4>) {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = shape.iter().product();
    let (x_leaf, x) = stored(values(n, &mut rng), shape, order, &device);
    let n = weight_shape.iter().product();
    let w = Tensor::<4>::from_data(TensorData::new(values(n, &mut rng), weight_shape), &device)
        .require_grad();
    let y = conv(x, w.clone());
    let n = y.dims().iter().product();
    let (_, up) = stored(values(n, &mut rng), y.dims(), order, &device);
    let up = up.detach();
    let weighted = match order {
        Order::ImageMajor => y.clone() * up,
        // keeps the channel-major order, so the gradient reaching `conv` has it too
        Order::ChannelMajor => elementwise([y.clone(), up], |[y, up]| y * up),
    };
    let grads = weighted.sum().backward();
    let mut gx = x_leaf.grad(&grads).expect("input gradient");
    if order == Order::ChannelMajor {
        gx = gx.swap_dims(0, 1);
    }
    let gw = w.grad(&grads).expect("weight gradient");
    (y.inner(), gx, gw)
}

/// Output, input gradient and weight gradient agree in shape and to 1e-5 relative error.
fn assert_matches(
    case: &str,
    ours: (Tensor<4>, Tensor<4>, Tensor<4>),
    burn: (Tensor<4>, Tensor<4>, Tensor<4>),
) {
    for (what, a, b) in [
        ("output", ours.0, burn.0),
        ("input gradient", ours.1, burn.1),
        ("weight gradient", ours.2, burn.2),
    ] {
        assert_eq!(a.dims(), b.dims(), "{case}: {what} shape");
        let err = max_rel_err(a, b);
        assert!(err < 1e-5, "{case}: {what} differs by {err}");
    }
}

/// `kernel` against Burn's `conv2d` on the same seeded inputs, fed in both memory orders:
/// output, input gradient and weight gradient (see [`assert_matches`]).
fn assert_kernel_matches_burn(
    case: &str,
    kernel: impl Fn(Tensor<4>, Tensor<4>, ConvOptions<2>) -> Tensor<4>,
    shape: [usize; 4],
    weight: [usize; 4],
    options: &ConvOptions<2>,
    seed: u64,
) {
    let burn = run(
        |x, w| burn::tensor::module::conv2d(x, w, None, options.clone()),
        shape,
        weight,
        seed,
        Order::ImageMajor,
    );
    for order in [Order::ImageMajor, Order::ChannelMajor] {
        let ours = run(
            |x, w| kernel(x, w, options.clone()),
            shape,
            weight,
            seed,
            order,
        );
        assert_matches(&format!("{case} {order:?}"), ours, burn.clone());
    }
}

#[test]
fn cpu_device_is_recognised() {
    assert!(is_cpu(&Device::flex()));
    assert!(is_cpu(&Device::flex().autodiff()));
}

#[test]
fn depthwise_kernels_match_burn_conv2d() {
    // (input shape, kernel, stride, padding (begin, end) per axis, dilation)
    type Case = (
        [usize; 4],
        [usize; 2],
        [usize; 2],
        [(usize, usize); 2],
        [usize; 2],
    );
    // Output planes above 64 pixels take the per-plane gradient kernels (and Burn's forward),
    // smaller ones the channels-last kernels: both are covered.
    let cases: [Case; 12] = [
        ([2, 3, 16, 16], [3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1]),
        // more channels than one block of the channels-last weight gradient, and a partial block
        ([3, 130, 4, 4], [3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1]),
        ([2, 3, 17, 15], [5, 5], [2, 2], [(2, 2), (2, 2)], [1, 1]),
        // maps smaller than the kernel (late stages of a CIFAR-size supernet)
        ([2, 3, 2, 2], [5, 5], [1, 1], [(2, 2), (2, 2)], [1, 1]),
        ([2, 3, 1, 1], [3, 3], [1, 1], [(3, 3), (3, 3)], [3, 3]),
        ([2, 3, 8, 8], [3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1]),
        ([2, 4, 9, 7], [3, 3], [2, 2], [(1, 1), (1, 1)], [1, 1]),
        ([1, 5, 10, 10], [3, 3], [1, 1], [(2, 2), (2, 2)], [2, 2]),
        ([3, 2, 11, 11], [3, 3], [2, 2], [(3, 3), (3, 3)], [3, 3]),
        ([2, 6, 7, 9], [5, 5], [1, 1], [(2, 2), (2, 2)], [1, 1]),
        ([2, 3, 12, 12], [7, 7], [2, 2], [(3, 3), (3, 3)], [1, 1]),
        ([2, 3, 6, 6], [3, 3], [2, 2], [(0, 1), (1, 0)], [1, 1]),
    ];
    for (k, (shape, kernel, stride, padding, dilation)) in cases.into_iter().enumerate() {
        let options = ConvOptions::new_with_padding(stride, padding, dilation, shape[1]);
        let case = format!("case {k} {shape:?} k{kernel:?} s{stride:?} p{padding:?} d{dilation:?}");
        let weight = [shape[1], 1, kernel[0], kernel[1]];
        assert_kernel_matches_burn(&case, depthwise_conv2d, shape, weight, &options, k as u64);
    }
}

#[test]
fn dense_kernels_match_burn_conv2d() {
    // (input shape, output channels, kernel, stride, padding (begin, end) per axis, dilation)
    type Case = (
        [usize; 4],
        usize,
        [usize; 2],
        [usize; 2],
        [(usize, usize); 2],
        [usize; 2],
    );
    let cases: [Case; 13] = [
        // more than 2048 output pixels over the batch: the weight gradient's GEMM is split
        // along the pixels into chunks (two here, the second partial)
        ([9, 4, 16, 16], 5, [1, 1], [1, 1], [(0, 0), (0, 0)], [1, 1]),
        // a map above 256 output pixels (forward through Burn, gradients ours)
        ([2, 3, 20, 20], 4, [3, 3], [1, 1], [(1, 1), (1, 1)], [1, 1]),
        // maps smaller than the kernel (late stages of a CIFAR-size supernet)
        ([2, 4, 1, 1], 3, [1, 5], [1, 1], [(0, 0), (2, 2)], [1, 1]),
        ([2, 4, 2, 2], 3, [3, 3], [2, 2], [(1, 1), (1, 1)], [1, 1]),
        // 1x1 expand / project, including 1x1 maps
        ([3, 5, 4, 4], 7, [1, 1], [1, 1], [(0, 0), (0, 0)], [1, 1]),
        ([4, 6, 1, 1], 3, [1, 1], [1, 1], [(0, 0), (0, 0)], [1, 1]),
        // stem: 3x3 stride 2
        ([2, 3, 9, 8], 4, [3, 3], [2, 2], [(1, 1), (1, 1)], [1, 1]),
        // factorised 1xk then kx1
        ([2, 4, 6, 6], 4, [1, 5], [1, 1], [(0, 0), (2, 2)], [1, 1]),
        ([2, 4, 6, 6], 5, [5, 1], [2, 1], [(2, 2), (0, 0)], [1, 1]),
        // dilated, asymmetric padding, strided 1x1
        ([2, 3, 10, 10], 2, [3, 3], [1, 1], [(2, 2), (2, 2)], [2, 2]),
        ([2, 3, 7, 6], 4, [3, 3], [2, 2], [(0, 1), (1, 0)], [1, 1]),
        ([2, 3, 7, 7], 4, [1, 1], [2, 2], [(0, 0), (0, 0)], [1, 1]),
        // a padded 1x1 conv: the output is larger than the input (not pointwise)
        ([2, 3, 3, 3], 2, [1, 1], [1, 1], [(1, 1), (1, 1)], [1, 1]),
    ];
    for (k, (shape, cout, kernel, stride, padding, dilation)) in cases.into_iter().enumerate() {
        let options = ConvOptions::new_with_padding(stride, padding, dilation, 1);
        let weight = [cout, shape[1], kernel[0], kernel[1]];
        let case = format!(
            "case {k} {shape:?}->{cout} k{kernel:?} s{stride:?} p{padding:?} d{dilation:?}"
        );
        assert_kernel_matches_burn(&case, conv2d, shape, weight, &options, k as u64);
    }
}

/// With an input that needs no gradient (the stem's images) only the weight gradient is
/// computed, through its own path.
#[test]
fn dense_weight_gradient_alone_matches_burn() {
    let device = Device::flex().autodiff();
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let options = ConvOptions::new_with_padding([2, 2], [(1, 1), (1, 1)], [1, 1], 1);
    let x = Tensor::<4>::from_data(
        TensorData::new(values(2 * 3 * 9 * 9, &mut rng), [2, 3, 9, 9]),
        &device,
    );
    let w = Tensor::<4>::from_data(
        TensorData::new(values(4 * 3 * 9, &mut rng), [4, 3, 3, 3]),
        &device,
    );
    let grad_of = |conv: &dyn Fn(Tensor<4>, Tensor<4>) -> Tensor<4>| {
        let w = w.clone().require_grad();
        let grads = conv(x.clone(), w.clone()).powf_scalar(2.0).sum().backward();
        w.grad(&grads).expect("weight gradient")
    };
    let ours = grad_of(&|x, w| conv2d(x, w, options.clone()));
    let burn = grad_of(&|x, w| burn::tensor::module::conv2d(x, w, None, options.clone()));
    let err = max_rel_err(ours, burn);
    assert!(err < 1e-5, "weight gradient differs by {err}");
}

#[test]
fn convolve_computes_what_the_module_computes() {
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use nse_modules::kernels::convolve;
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    // (channels in → out, kernel, groups, padding, bias): the tail's 1x1 (`Valid`), a dense
    // and a depthwise conv with explicit padding, and the ones left to Burn (bias, groups that
    // are not depthwise, `Same` padding).
    let cases = [
        ([6, 10], [1, 1], 1, PaddingConfig2d::Valid, false),
        (
            [6, 4],
            [3, 3],
            1,
            PaddingConfig2d::Explicit(1, 1, 1, 1),
            false,
        ),
        (
            [6, 6],
            [5, 5],
            6,
            PaddingConfig2d::Explicit(2, 2, 2, 2),
            false,
        ),
        ([6, 4], [1, 1], 1, PaddingConfig2d::Valid, true),
        (
            [6, 4],
            [3, 3],
            2,
            PaddingConfig2d::Explicit(1, 1, 1, 1),
            false,
        ),
        ([6, 4], [3, 3], 1, PaddingConfig2d::Same, false),
    ];
    for (channels, kernel, groups, padding, bias) in cases {
        let conv = Conv2dConfig::new(channels, kernel)
            .with_groups(groups)
            .with_padding(padding.clone())
            .with_bias(bias)
            .init(&device);
        let shape = [3, channels[0], 5, 5];
        let x = Tensor::<4>::from_data(
            TensorData::new(values(shape.iter().product(), &mut rng), shape),
            &device,
        );
        let (ours, burn) = (convolve(&conv, x.clone()), conv.forward(x));
        assert_eq!(
            ours.dims(),
            burn.dims(),
            "{kernel:?} groups {groups} {padding:?}"
        );
        let err = max_rel_err(ours, burn);
        assert!(
            err < 1e-5,
            "{kernel:?} groups {groups} {padding:?}: differs by {err}"
        );
    }
}

/// The kernels are written for `f32`: tensors of another dtype go through Burn's own ops on
/// the CPU too, and give Burn's result in that dtype.
#[test]
fn other_dtypes_fall_back_to_burn() {
    use burn::tensor::DType;
    let device = Device::flex();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = Tensor::<4>::from_data(
        TensorData::new(values(2 * 4 * 6 * 6, &mut rng), [2, 4, 6, 6]),
        &device,
    )
    .cast(DType::F64);
    let dense = Tensor::<4>::from_data(
        TensorData::new(values(3 * 4 * 9, &mut rng), [3, 4, 3, 3]),
        &device,
    )
    .cast(DType::F64);
    let depth = Tensor::<4>::from_data(
        TensorData::new(values(4 * 9, &mut rng), [4, 1, 3, 3]),
        &device,
    )
    .cast(DType::F64);
    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], 1);
    let ours = conv2d(x.clone(), dense.clone(), options.clone());
    let burn = burn::tensor::module::conv2d(x.clone(), dense, None, options);
    assert_eq!(ours.dtype(), DType::F64);
    assert_eq!(ours.into_data(), burn.into_data());
    let options = ConvOptions::new([2, 2], [1, 1], [1, 1], 4);
    let ours = depthwise_conv2d(x.clone(), depth.clone(), options.clone());
    let burn = burn::tensor::module::conv2d(x, depth, None, options);
    assert_eq!(ours.dtype(), DType::F64);
    assert_eq!(ours.into_data(), burn.into_data());
}
