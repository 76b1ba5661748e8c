//! Exponential moving average (EMA) of a module's weights.
//!
//! [`Ema`] keeps a second copy of a module, without autodiff and in evaluation mode, and
//! after each optimizer step blends it towards the trained module:
//! `ema = d · ema + (1 − d) · w` for every float tensor — weights, biases, batch-norm
//! parameters and batch-norm running statistics alike (as `timm`'s `ModelEmaV2`). The decay
//! warms up as in TensorFlow's `ExponentialMovingAverage` with `num_updates`:
//! `d = min(decay, (1 + n) / (10 + n))` at update `n` (0-based), so that short runs are not
//! dominated by the initial weights.
//!
//! ```
//! use burn::nn::LinearConfig;
//! use burn::tensor::Device;
//! use nse_train::ema::Ema;
//!
//! let device = Device::flex().autodiff();
//! let model = LinearConfig::new(4, 2).init(&device);
//! let mut ema = Ema::new(&model, 0.999);
//! // ... after each optimizer step:
//! ema.update(&model);
//! assert_eq!(ema.updates(), 1);
//! let _for_evaluation = ema.module();
//! ```

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// Collects every float tensor of a module, flattened and without autodiff, in visiting
/// order.
struct Collector {
    tensors: Vec<Tensor<1>>,
}

impl ModuleVisitor for Collector {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let t = param.val().without_autodiff();
        let n = t.shape().num_elements();
        self.tensors.push(t.reshape([n]));
    }
}

/// Blends every float tensor of the average with the collected tensor at the same position.
struct Blender {
    tensors: std::vec::IntoIter<Tensor<1>>,
    decay: f64,
}

impl ModuleMapper for Blender {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let w = self
            .tensors
            .next()
            .expect("EMA: the module has more float tensors than its average");
        let decay = self.decay;
        param.map(|e| {
            let shape = e.shape();
            assert_eq!(
                shape.num_elements(),
                w.shape().num_elements(),
                "EMA: tensor shapes of the module and its average differ"
            );
            let w = w.to_device(&e.device()).reshape(shape);
            e.mul_scalar(decay) + w.mul_scalar(1.0 - decay)
        })
    }
}

/// An exponential moving average of a module's float tensors (see the [module docs](self)).
#[derive(Debug, Clone)]
pub struct Ema<M: Module> {
    module: M,
    decay: f64,
    updates: u64,
}

impl<M: Module> Ema<M> {
    /// Starts the average at `model`'s current values (a validation copy: no autodiff, eval
    /// mode). `decay` is the final decay, in `[0, 1)`.
    ///
    /// # Panics
    /// If `decay` is outside `[0, 1)`.
    pub fn new(model: &M, decay: f64) -> Self {
        Self::from_parts(model.valid(), decay, 0)
    }

    /// Rebuilds an average from its parts (resuming from a checkpoint): the averaged module,
    /// the configured decay and the number of updates done.
    ///
    /// # Panics
    /// If `decay` is outside `[0, 1)`.
    pub fn from_parts(module: M, decay: f64, updates: u64) -> Self {
        assert!(
            (0.0..1.0).contains(&decay),
            "EMA decay must lie in [0, 1), got {decay}"
        );
        Ema {
            module: module.valid(),
            decay,
            updates,
        }
    }

    /// The averaged module (no autodiff, eval mode).
    pub fn module(&self) -> &M {
        &self.module
    }

    /// The averaged module, consuming the average.
    pub fn into_module(self) -> M {
        self.module
    }

    /// The configured (final) decay.
    pub fn decay(&self) -> f64 {
        self.decay
    }

    /// Updates done so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The decay the next [`update`](Self::update) uses:
    /// `min(decay, (1 + n) / (10 + n))` with `n` = [`updates`](Self::updates).
    pub fn current_decay(&self) -> f64 {
        let n = self.updates as f64;
        self.decay.min((1.0 + n) / (10.0 + n))
    }

    /// Blends the average towards `model` with [`current_decay`](Self::current_decay) and
    /// counts the update. Call after every optimizer step; sync pending batch-norm statistic
    /// updates of `model` first (for a child network: `ChildNetwork::sync_statistics`).
    pub fn update(&mut self, model: &M) {
        let decay = self.current_decay();
        self.blend(model, decay);
        self.updates += 1;
    }

    /// `ema = decay · ema + (1 − decay) · w` for every float tensor, with exactly `decay`;
    /// does not count as an update.
    ///
    /// # Panics
    /// If `model` does not have the same tensors (count and sizes) as the average.
    pub fn blend(&mut self, model: &M, decay: f64) {
        let mut collector = Collector {
            tensors: Vec::new(),
        };
        model.visit(&mut collector);
        let count = collector.tensors.len();
        let mut blender = Blender {
            tensors: collector.tensors.into_iter(),
            decay,
        };
        self.module = self.module.clone().map(&mut blender);
        assert_eq!(
            blender.tensors.len(),
            0,
            "EMA: the module has {count} float tensors, its average fewer"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    #[derive(Module, Debug)]
    struct Tiny {
        linear: Linear,
        bn: BatchNorm,
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap()
    }

    fn tiny(device: &Device, w: [f32; 4], b: [f32; 2]) -> Tiny {
        let mut linear = LinearConfig::new(2, 2).init(device);
        linear.weight = linear
            .weight
            .map(|t| Tensor::from_data(TensorData::new(w.to_vec(), [2, 2]), &t.device()));
        linear.bias = linear
            .bias
            .map(|p| p.map(|t| Tensor::from_data(TensorData::new(b.to_vec(), [2]), &t.device())));
        Tiny {
            linear,
            bn: BatchNormConfig::new(2).init(device),
        }
    }

    #[test]
    fn blends_every_float_tensor_exactly() {
        let device = Device::flex().autodiff();
        let start = tiny(&device, [1.0, 2.0, 3.0, 4.0], [0.5, -0.5]);
        let mut ema = Ema::new(&start, 0.9);
        let moved = tiny(&device, [3.0, 2.0, 1.0, 0.0], [1.5, 0.5]);
        ema.blend(&moved, 0.75);
        let m = ema.module();
        // 0.75 · old + 0.25 · new
        assert_eq!(values(m.linear.weight.val()), vec![1.5, 2.0, 2.5, 3.0]);
        assert_eq!(
            values(m.linear.bias.as_ref().unwrap().val()),
            vec![0.75, -0.25]
        );
        // BN tensors are blended too (equal here: unchanged).
        assert_eq!(values(m.bn.gamma.val()), vec![1.0, 1.0]);
        assert_eq!(values(m.bn.running_var.value()), vec![1.0, 1.0]);
        assert!(!m.linear.weight.val().is_autodiff());
        assert_eq!(ema.updates(), 0, "blend is not an update");
        // The source is untouched.
        assert_eq!(values(start.linear.weight.val()), vec![1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn update_uses_the_warm_up_decay_and_counts() {
        let device = Device::flex().autodiff();
        let start = tiny(&device, [0.0; 4], [0.0; 2]);
        let mut ema = Ema::new(&start, 0.99);
        assert!((ema.current_decay() - 0.1).abs() < 1e-12); // (1 + 0) / (10 + 0)
        let ones = tiny(&device, [1.0; 4], [1.0; 2]);
        ema.update(&ones); // e = 0.1 · 0 + 0.9 · 1
        assert!((values(ema.module().linear.weight.val())[0] - 0.9).abs() < 1e-6);
        assert!((ema.current_decay() - 2.0 / 11.0).abs() < 1e-12);
        ema.update(&ones); // e = 2/11 · 0.9 + 9/11 · 1
        let expected = 2.0 / 11.0 * 0.9 + 9.0 / 11.0;
        assert!((values(ema.module().linear.weight.val())[0] - expected as f32).abs() < 1e-6);
        assert_eq!(ema.updates(), 2);
        // Late updates use the configured decay.
        let late = Ema::from_parts(start.valid(), 0.99, 10_000);
        assert_eq!(late.current_decay(), 0.99);
    }

    #[test]
    #[should_panic(expected = "decay must lie in [0, 1)")]
    fn rejects_a_decay_of_one() {
        let device = Device::flex();
        let _ = Ema::new(&tiny(&device, [0.0; 4], [0.0; 2]), 1.0);
    }
}
