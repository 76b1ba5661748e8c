//! Candidate pools: ordered lists of ops whose indices are the architecture encoding.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{OpsError, Result};
use crate::spec::{Groups, OpSpec};

/// Names of the reference pools of docs/method.md §4.
pub const REFERENCE_POOLS: [&str; 3] = ["mb19", "mb27", "mb72"];

/// An ordered, duplicate-free list of candidate ops. The index of an op is its encoding in
/// architectures, so the order is part of the file format.
///
/// ```
/// use nse_ops::CandidatePool;
/// let pool = CandidatePool::reference("mb27").unwrap();
/// assert_eq!(pool.len(), 27);
/// assert_eq!(pool.op(2).unwrap().to_string(), "ir_k3_e1_d3");
/// assert_eq!(pool.op(21).unwrap().to_string(), "rec_k5_e1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PoolSpec", into = "PoolSpec")]
pub struct CandidatePool {
    name: String,
    ops: Vec<OpSpec>,
}

impl CandidatePool {
    /// One of the reference pools `mb19`, `mb27`, `mb72`.
    pub fn reference(name: &str) -> Result<Self> {
        let ops = match name {
            "mb19" => mb19(),
            "mb27" => mb27(),
            "mb72" => mb72(),
            other => return Err(OpsError::UnknownPool(other.to_string())),
        };
        Ok(CandidatePool {
            name: name.to_string(),
            ops,
        })
    }

    /// A user-defined pool; fails on an empty list or a repeated op.
    pub fn custom(name: impl Into<String>, ops: Vec<OpSpec>) -> Result<Self> {
        if ops.is_empty() {
            return Err(OpsError::EmptyPool);
        }
        for (second, op) in ops.iter().enumerate() {
            if let Some(first) = ops[..second].iter().position(|o| o == op) {
                return Err(OpsError::DuplicateOp {
                    op: op.to_string(),
                    first,
                    second,
                });
            }
        }
        Ok(CandidatePool {
            name: name.into(),
            ops,
        })
    }

    /// The pool's name (`mb27`, or the name given to a custom pool).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Number of ops.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Always false: a pool holds at least one op.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// All ops in encoding order.
    pub fn ops(&self) -> &[OpSpec] {
        &self.ops
    }

    /// The op of encoding `index`.
    pub fn op(&self, index: usize) -> Result<&OpSpec> {
        self.ops
            .get(index)
            .ok_or_else(|| OpsError::IndexOutOfRange {
                index,
                pool: self.name.clone(),
                len: self.ops.len(),
            })
    }

    /// The encoding of `op`, if it is in the pool.
    pub fn index_of(&self, op: &OpSpec) -> Option<usize> {
        self.ops.iter().position(|o| o == op)
    }
}

impl fmt::Display for CandidatePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [", self.name)?;
        for (i, op) in self.ops.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{i}:{op}")?;
        }
        f.write_str("]")
    }
}

/// The serde form of a pool: a reference name (`"mb27"`), a list of ops (`["ir_k3_e6", ...]`,
/// named `custom`), or `{"name": .., "ops": [..]}`. A reference name with an explicit op list
/// must list exactly the reference ops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PoolSpec {
    /// A reference pool by name.
    Reference(String),
    /// An unnamed custom pool.
    Ops(Vec<OpSpec>),
    /// A named pool with its ops.
    Named {
        /// Name.
        name: String,
        /// Ops in encoding order.
        ops: Vec<OpSpec>,
    },
}

impl TryFrom<PoolSpec> for CandidatePool {
    type Error = OpsError;

    fn try_from(spec: PoolSpec) -> Result<Self> {
        match spec {
            PoolSpec::Reference(name) => CandidatePool::reference(&name),
            PoolSpec::Ops(ops) => CandidatePool::custom("custom", ops),
            PoolSpec::Named { name, ops } => {
                let pool = CandidatePool::custom(name, ops)?;
                if REFERENCE_POOLS.contains(&pool.name()) {
                    let reference = CandidatePool::reference(pool.name())?;
                    if let Some(i) = (0..pool.len().max(reference.len()))
                        .find(|&i| pool.ops.get(i) != reference.ops.get(i))
                    {
                        return Err(OpsError::ReferencePoolMismatch {
                            name: pool.name,
                            index: i,
                        });
                    }
                }
                Ok(pool)
            }
        }
    }
}

impl From<CandidatePool> for PoolSpec {
    fn from(pool: CandidatePool) -> Self {
        if REFERENCE_POOLS.contains(&pool.name()) {
            PoolSpec::Reference(pool.name)
        } else {
            PoolSpec::Named {
                name: pool.name,
                ops: pool.ops,
            }
        }
    }
}

const IR_KERNELS: [usize; 5] = [3, 5, 7, 9, 11];
const IR_EXPANSIONS: [usize; 3] = [1, 3, 6];

fn ok(spec: std::result::Result<OpSpec, crate::SpecError>) -> OpSpec {
    spec.expect("reference pool ops are valid by construction")
}

fn rec_ops() -> impl Iterator<Item = OpSpec> {
    [5, 7]
        .into_iter()
        .flat_map(|k| [1, 2, 4].into_iter().map(move |t| ok(OpSpec::rec(k, t))))
}

/// `mb19` (§4): IR k∈{3,5,7}×t∈{1,3,6}; Conv(3,1), Conv(3,2); Dual(3,1), Dual(3,2);
/// Rec k∈{5,7}×t∈{1,2,4}.
fn mb19() -> Vec<OpSpec> {
    let mut ops: Vec<OpSpec> = [3, 5, 7]
        .into_iter()
        .flat_map(|k| IR_EXPANSIONS.into_iter().map(move |t| ok(OpSpec::ir(k, t))))
        .collect();
    ops.extend([1, 2].map(|t| ok(OpSpec::conv(3, t))));
    ops.extend([1, 2].map(|t| ok(OpSpec::dual(3, t))));
    ops.extend(rec_ops());
    ops
}

/// `mb27` (§4): IR k3 × t × d∈{1,2,3} (d innermost), IR k∈{5,7,9,11} × t, Rec.
fn mb27() -> Vec<OpSpec> {
    let mut ops = Vec::with_capacity(27);
    for k in IR_KERNELS {
        for t in IR_EXPANSIONS {
            let dilations: &[usize] = if k == 3 { &[1, 2, 3] } else { &[1] };
            for &d in dilations {
                ops.push(ok(OpSpec::ir(k, t).and_then(|s| s.with_dilation(d))));
            }
        }
    }
    ops.extend(rec_ops());
    ops
}

/// `mb72` (§4): `mb27`, then IR k×t with groups (1,2), (2,1), (2,2) innermost.
fn mb72() -> Vec<OpSpec> {
    let mut ops = mb27();
    for k in IR_KERNELS {
        for t in IR_EXPANSIONS {
            for g in [Groups::new(1, 2), Groups::new(2, 1), Groups::new(2, 2)] {
                ops.push(ok(OpSpec::ir(k, t).and_then(|s| s.with_groups(g))));
            }
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(name: &str) -> Vec<String> {
        CandidatePool::reference(name)
            .unwrap()
            .ops()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn mb19_order_matches_the_spec() {
        let t = texts("mb19");
        assert_eq!(t.len(), 19);
        assert_eq!(
            t,
            [
                "ir_k3_e1",
                "ir_k3_e3",
                "ir_k3_e6",
                "ir_k5_e1",
                "ir_k5_e3",
                "ir_k5_e6",
                "ir_k7_e1",
                "ir_k7_e3",
                "ir_k7_e6",
                "conv_k3_e1",
                "conv_k3_e2",
                "dual_k3_e1",
                "dual_k3_e2",
                "rec_k5_e1",
                "rec_k5_e2",
                "rec_k5_e4",
                "rec_k7_e1",
                "rec_k7_e2",
                "rec_k7_e4",
            ]
        );
    }

    #[test]
    fn mb27_order_matches_the_spec() {
        let t = texts("mb27");
        assert_eq!(t.len(), 27);
        assert_eq!(
            &t[..9],
            [
                "ir_k3_e1",
                "ir_k3_e1_d2",
                "ir_k3_e1_d3",
                "ir_k3_e3",
                "ir_k3_e3_d2",
                "ir_k3_e3_d3",
                "ir_k3_e6",
                "ir_k3_e6_d2",
                "ir_k3_e6_d3",
            ]
        );
        assert_eq!(&t[9..12], ["ir_k5_e1", "ir_k5_e3", "ir_k5_e6"]);
        assert_eq!(t[12], "ir_k7_e1");
        assert_eq!(t[15], "ir_k9_e1");
        assert_eq!(t[20], "ir_k11_e6");
        assert_eq!(
            &t[21..],
            [
                "rec_k5_e1",
                "rec_k5_e2",
                "rec_k5_e4",
                "rec_k7_e1",
                "rec_k7_e2",
                "rec_k7_e4"
            ]
        );
    }

    #[test]
    fn mb72_extends_mb27_with_grouped_ir() {
        let t = texts("mb72");
        assert_eq!(t.len(), 72);
        assert_eq!(&t[..27], &texts("mb27")[..]);
        assert_eq!(
            &t[27..30],
            ["ir_k3_e1_g1x2", "ir_k3_e1_g2x1", "ir_k3_e1_g2x2"]
        );
        assert_eq!(t[30], "ir_k3_e3_g1x2");
        assert_eq!(t[34], "ir_k3_e6_g2x1");
        assert_eq!(t[36], "ir_k5_e1_g1x2");
        assert_eq!(t[52], "ir_k7_e6_g2x1");
        assert_eq!(t[71], "ir_k11_e6_g2x2");
    }

    #[test]
    fn custom_pools_are_checked() {
        let a: OpSpec = "ir_k3_e6".parse().unwrap();
        let b: OpSpec = "rec_k5_e2".parse().unwrap();
        assert_eq!(CandidatePool::custom("x", vec![]), Err(OpsError::EmptyPool));
        assert!(matches!(
            CandidatePool::custom("x", vec![a, b, a]),
            Err(OpsError::DuplicateOp {
                first: 0,
                second: 2,
                ..
            })
        ));
        let pool = CandidatePool::custom("x", vec![a, b]).unwrap();
        assert_eq!(pool.index_of(&b), Some(1));
        assert!(matches!(
            pool.op(2),
            Err(OpsError::IndexOutOfRange {
                index: 2,
                len: 2,
                ..
            })
        ));
        assert!(matches!(
            CandidatePool::reference("mb99"),
            Err(OpsError::UnknownPool(_))
        ));
    }

    #[test]
    fn serde_forms() {
        let pool: CandidatePool = serde_json::from_str(r#""mb27""#).unwrap();
        assert_eq!(pool, CandidatePool::reference("mb27").unwrap());
        assert_eq!(serde_json::to_string(&pool).unwrap(), r#""mb27""#);
        let pool: CandidatePool = serde_json::from_str(r#"["ir_k3_e6", "rec_k7_e1"]"#).unwrap();
        assert_eq!((pool.name(), pool.len()), ("custom", 2));
        let json = serde_json::to_string(&pool).unwrap();
        assert_eq!(serde_json::from_str::<CandidatePool>(&json).unwrap(), pool);
        assert!(serde_json::from_str::<CandidatePool>(r#""mb28""#).is_err());
        let wrong = r#"{"name":"mb19","ops":["ir_k3_e1"]}"#;
        assert!(serde_json::from_str::<CandidatePool>(wrong).is_err());
    }
}
