//! The Pareto front of a round's evaluated architectures over (cost ↓, accuracy ↑), with the
//! extra-band exclusion of docs/method.md §7.4.
//!
//! # Rules
//!
//! - `a` dominates `b` when `a.cost ≤ b.cost`, `a.accuracy ≥ b.accuracy` and at least one of
//!   the two is strict ([`dominates`]).
//! - Every candidate takes part in dominance, extra-band ones included; a candidate of
//!   [`Origin::Extra`] is never kept.
//! - **Ties.** Candidates with exactly equal cost and accuracy do not dominate each other;
//!   of such a group exactly one is kept (if the group is not dominated): the first by
//!   [`Origin`] order — previous front, then window, then extra band (so an extra-band
//!   candidate never shadows a keepable one, and nothing is kept from an all-extra group) —
//!   then by the [`Architecture`] order (lexicographic over the cells' sorted index lists),
//!   then by position in the input. The front therefore does not depend on the input order
//!   unless the same architecture is given twice with the same origin, cost and accuracy.
//!   The reference likewise breaks ties in favour of the previous front's architectures.
//!   Equality is exact floating-point equality (accuracies are usually `correct / total`).

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::architecture::Architecture;
use crate::error::{Result, SpaceError};

/// Where an evaluated architecture comes from. The order is the tie-break priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Re-evaluated from the previous round's front (§7.3).
    PreviousFront,
    /// Sampled inside the resource window.
    Window,
    /// Sampled in the extra band below the window: dominates, but is never kept.
    Extra,
}

/// An evaluated architecture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The architecture.
    pub architecture: Architecture,
    /// Its cost in the metric of the search (lower is better).
    pub cost: f64,
    /// Its accuracy (higher is better).
    pub accuracy: f64,
    /// Where it comes from.
    pub origin: Origin,
}

impl Candidate {
    /// A candidate.
    pub fn new(architecture: Architecture, cost: f64, accuracy: f64, origin: Origin) -> Self {
        Candidate {
            architecture,
            cost,
            accuracy,
            origin,
        }
    }
}

/// Whether `a` dominates `b`: no worse in cost and accuracy, strictly better in one.
pub fn dominates(a: &Candidate, b: &Candidate) -> bool {
    a.cost <= b.cost && a.accuracy >= b.accuracy && (a.cost < b.cost || a.accuracy > b.accuracy)
}

/// The indices of the Pareto front of `candidates` (see the module docs for the rules),
/// sorted by ascending cost — hence strictly ascending accuracy. Fails on a NaN or infinite
/// cost or accuracy, naming the candidate.
///
/// ```
/// use nse_space::{Architecture, Candidate, Origin, pareto_front};
/// let a = |t: &str| t.parse::<Architecture>().unwrap();
/// let cands = vec![
///     Candidate::new(a("0"), 300.0, 0.70, Origin::Window),
///     Candidate::new(a("1"), 310.0, 0.69, Origin::Window), // dominated by 0
///     Candidate::new(a("2"), 320.0, 0.75, Origin::Window),
///     Candidate::new(a("3"), 250.0, 0.72, Origin::Extra), // dominates 0, never kept
/// ];
/// assert_eq!(pareto_front(&cands).unwrap(), vec![2]);
/// // When extra-band architectures dominate every other one, the front is that of the others.
/// let cands = vec![
///     Candidate::new(a("0"), 300.0, 0.70, Origin::Window),
///     Candidate::new(a("1"), 310.0, 0.72, Origin::Window),
///     Candidate::new(a("3"), 250.0, 0.80, Origin::Extra),
/// ];
/// assert_eq!(pareto_front(&cands).unwrap(), vec![0, 1]);
/// ```
pub fn pareto_front(candidates: &[Candidate]) -> Result<Vec<usize>> {
    for (index, c) in candidates.iter().enumerate() {
        for (what, value) in [("cost", c.cost), ("accuracy", c.accuracy)] {
            if !value.is_finite() {
                return Err(SpaceError::NonFinite { index, what, value });
            }
        }
    }
    let finite = |a: f64, b: f64| a.partial_cmp(&b).expect("checked finite");
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&i, &j| {
        let (a, b) = (&candidates[i], &candidates[j]);
        finite(a.cost, b.cost)
            .then(finite(b.accuracy, a.accuracy))
            .then(a.origin.cmp(&b.origin))
            .then_with(|| a.architecture.cmp(&b.architecture))
            .then(i.cmp(&j))
    });
    // Every earlier candidate in this order costs no more; the current one is on the front
    // iff it is strictly more accurate than all of them (an equal accuracy means either a
    // cheaper candidate dominates it or an identical one came first and wins the tie).
    let mut front = front_in_order(candidates, &order, true);
    if front.is_empty() {
        // [ours] Extra-band architectures dominate every window architecture: the spec keeps
        // none of them, which would leave the round without a front. Keep the front of the
        // window (and previous-front) architectures among themselves instead.
        front = front_in_order(candidates, &order, false);
    }
    debug_assert!(front.windows(2).all(|w| {
        let (a, b) = (&candidates[w[0]], &candidates[w[1]]);
        a.cost.partial_cmp(&b.cost) == Some(Ordering::Less) && a.accuracy < b.accuracy
    }));
    Ok(front)
}

/// The front over `order` (ascending cost, then descending accuracy); extra-band candidates
/// dominate others only when `extras_dominate`, and are never on the front.
fn front_in_order(candidates: &[Candidate], order: &[usize], extras_dominate: bool) -> Vec<usize> {
    let mut best: Option<f64> = None;
    let mut front = Vec::new();
    for &i in order {
        let c = &candidates[i];
        if !extras_dominate && c.origin == Origin::Extra {
            continue;
        }
        if best.is_none_or(|b| c.accuracy > b) {
            best = Some(c.accuracy);
            if c.origin != Origin::Extra {
                front.push(i);
            }
        }
    }
    front
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn arch(i: usize) -> Architecture {
        Architecture::new(vec![vec![i / 100], vec![i % 100]]).unwrap()
    }

    fn random_candidates(seed: u64, n: usize) -> Vec<Candidate> {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|i| {
                // Coarse grids make exact ties common.
                let cost = f64::from(r.random_range(0..40u32)) * 5.0;
                let accuracy = f64::from(r.random_range(0..30u32)) / 30.0;
                let origin = match r.random_range(0..10) {
                    0 => Origin::Extra,
                    1 => Origin::PreviousFront,
                    _ => Origin::Window,
                };
                Candidate::new(arch(i), cost, accuracy, origin)
            })
            .collect()
    }

    #[test]
    fn front_is_non_dominated_complete_and_free_of_extra_band() {
        for seed in 0..20 {
            let cands = random_candidates(seed, 300);
            let front = pareto_front(&cands).unwrap();
            assert!(!front.is_empty());
            for &i in &front {
                assert_ne!(cands[i].origin, Origin::Extra);
                assert!(
                    !cands.iter().any(|c| dominates(c, &cands[i])),
                    "seed {seed}: {i} is dominated"
                );
            }
            assert!(front.windows(2).all(|w| cands[w[0]].cost < cands[w[1]].cost
                && cands[w[0]].accuracy < cands[w[1]].accuracy));
            // Completeness: every non-extra candidate left out is dominated, or ties exactly
            // with a kept one.
            for (i, c) in cands.iter().enumerate() {
                if c.origin == Origin::Extra || front.contains(&i) {
                    continue;
                }
                let dominated = cands.iter().any(|d| dominates(d, c));
                let tied = front
                    .iter()
                    .any(|&f| cands[f].cost == c.cost && cands[f].accuracy == c.accuracy);
                assert!(dominated || tied, "seed {seed}: {i} wrongly left out");
            }
        }
    }

    #[test]
    fn extra_band_dominates_but_is_never_kept() {
        let c = |i, cost, acc, origin| Candidate::new(arch(i), cost, acc, origin);
        let cands = vec![
            c(0, 10.0, 0.50, Origin::Window),
            c(1, 8.0, 0.60, Origin::Extra), // dominates 0
            c(2, 12.0, 0.70, Origin::Window),
            c(3, 12.0, 0.70, Origin::Extra), // identical to 2: 2 is kept, 3 never
            c(4, 14.0, 0.80, Origin::Extra),
            c(5, 14.0, 0.80, Origin::Extra), // all-extra tie group: nothing kept
            c(6, 15.0, 0.80, Origin::Window), // dominated by 4 and 5
        ];
        assert_eq!(pareto_front(&cands).unwrap(), vec![2]);
        assert_eq!(pareto_front(&[]).unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn ties_prefer_the_previous_front_then_the_lower_architecture() {
        let a = |t: &str| t.parse::<Architecture>().unwrap();
        let mut cands = vec![
            Candidate::new(a("3 | 1"), 10.0, 0.5, Origin::Window),
            Candidate::new(a("2 | 9"), 10.0, 0.5, Origin::PreviousFront),
            Candidate::new(a("1 | 1"), 10.0, 0.5, Origin::Window),
            Candidate::new(a("4 | 4"), 20.0, 0.6, Origin::Window),
            Candidate::new(a("0 | 4"), 20.0, 0.6, Origin::Window),
        ];
        let kept = |cands: &[Candidate]| -> Vec<Architecture> {
            pareto_front(cands)
                .unwrap()
                .into_iter()
                .map(|i| cands[i].architecture.clone())
                .collect()
        };
        let expected = vec![a("2 | 9"), a("0 | 4")];
        assert_eq!(kept(&cands), expected);
        // Independent of the input order.
        let mut r = ChaCha8Rng::seed_from_u64(0);
        for _ in 0..20 {
            cands.shuffle(&mut r);
            assert_eq!(kept(&cands), expected);
        }
        // Without the previous-front entry, the lowest architecture wins.
        cands.retain(|c| c.origin != Origin::PreviousFront);
        assert_eq!(kept(&cands)[0], a("1 | 1"));
        // Random sets: the kept architectures do not depend on the order.
        for seed in 0..10 {
            let mut cands = random_candidates(seed, 200);
            let before = kept(&cands);
            cands.shuffle(&mut r);
            assert_eq!(kept(&cands), before, "seed {seed}");
        }
    }

    #[test]
    fn non_finite_values_are_rejected() {
        let cands = vec![
            Candidate::new(arch(0), 1.0, 0.5, Origin::Window),
            Candidate::new(arch(1), 2.0, f64::NAN, Origin::Window),
        ];
        assert!(matches!(
            pareto_front(&cands),
            Err(SpaceError::NonFinite {
                index: 1,
                what: "accuracy",
                ..
            })
        ));
        let cands = vec![Candidate::new(arch(0), f64::INFINITY, 0.5, Origin::Window)];
        assert!(matches!(
            pareto_front(&cands),
            Err(SpaceError::NonFinite {
                index: 0,
                what: "cost",
                ..
            })
        ));
    }
}
