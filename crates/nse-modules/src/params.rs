//! Counting a module's learnable parameters, and initialising lazy ones.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// Learnable scalars of `module`: every float tensor except batch-norm running statistics.
///
/// Burn's `Module::num_params` also counts the running mean and variance of batch norms
/// (they are stored as float state); this count matches PyTorch's
/// `sum(p.numel() for p in model.parameters())` and the [cost model](nse_ops::cost).
pub fn learnable_params<M: Module>(module: &M) -> u64 {
    /// Walks the module tree keeping the current field path.
    struct Counter {
        path: Vec<String>,
        total: u64,
    }
    impl ModuleVisitor for Counter {
        fn enter_module(&mut self, name: &str, _container_type: &str) {
            self.path.push(name.to_string());
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let buffer = matches!(
                self.path.last().map(String::as_str),
                Some("running_mean" | "running_var")
            );
            if !buffer {
                self.total += param.lazy_shape().num_elements() as u64;
            }
        }
    }
    let mut counter = Counter {
        path: Vec::new(),
        total: 0,
    };
    module.visit(&mut counter);
    counter.total
}

/// Initialises every still-lazy parameter of `module` now; initialised ones are left alone.
///
/// Burn's batch norms (and other modules built from an `Initializer`) create their parameters
/// lazily, and in Burn 0.22.1 every clone of a lazy parameter shares its pending
/// initialisation, including the gradient requirement. So `module.clone().no_grad()` would
/// also make the original's lazy parameters initialise without gradients, and never train.
/// Materialising them first makes such a clone independent of the original.
pub fn materialize<M: Module>(module: &M) {
    struct Materializer;
    impl ModuleVisitor for Materializer {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if !param.is_initialized() {
                let _ = param.val();
            }
        }
    }
    module.visit(&mut Materializer);
}
