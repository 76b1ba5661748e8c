//! Counting a module's learnable parameters.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

/// Learnable scalars of `module`: every float tensor except batch-norm running statistics.
///
/// Burn's `Module::num_params` also counts the running mean and variance of batch norms
/// (they are stored as float state); this count matches PyTorch's
/// `sum(p.numel() for p in model.parameters())` and the [cost model](crate::cost).
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
