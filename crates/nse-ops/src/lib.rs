//! # nse-ops
//!
//! The candidate operations of Neural Search-space Evolution (Ci et al., ICCV 2021) as data,
//! and their cost model — no Burn here (their modules and kernels are in `nse-modules`):
//!
//! - [`OpSpec`]: a typed op — inverted bottleneck `IR(k, t, d, g)`, plain `Conv(k, t)`,
//!   `Dual(k, t)` and factorised `Rec(k, t)`, with optional squeeze-and-excitation and a
//!   choice of activation — with a compact text form (`ir_k3_e6_d2`, see [`spec`]) and a serde
//!   form;
//! - [`CandidatePool`]: ordered op lists whose indices are the architecture encoding,
//!   including the reference pools `mb19`, `mb27` and `mb72`;
//! - [`cost`]: multiply-accumulates, parameters and output size of an op in place, in the
//!   convention of the paper;
//! - [`latency`]: latency lookup tables (the NSE reference's CSV or JSON) and the layers a
//!   network is summed from.
//!
//! ```
//! use nse_ops::{CandidatePool, OpGeometry};
//! let pool = CandidatePool::reference("mb72").unwrap();
//! let op = pool.op(34).unwrap(); // ir_k3_e6_g2x1
//! let cost = op.cost(&OpGeometry::new(24, 40, 2, 56)).unwrap();
//! assert_eq!(cost.output, [28, 28]);
//! println!("{op}: {:.2} MMACs, {} params", cost.cost.mmacs(), cost.cost.params);
//! ```

pub mod cost;
pub mod error;
pub mod latency;
pub mod pool;
pub mod spec;

pub use cost::{Cost, CostMetric, OpCost, OpGeometry};
pub use error::{OpsError, ParseErrorKind, ParseOpError, Result, SpecError};
pub use pool::{CandidatePool, PoolSpec, REFERENCE_POOLS};
pub use spec::{Activation, Groups, OpFamily, OpSpec};
