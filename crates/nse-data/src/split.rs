//! Deterministic held-out splits, class-balanced subsets and the [`Subset`] view.
//!
//! NSE's indicator step and the evaluation of sampled architectures (design §6–§7) need
//! images the supernet weights never trained on: [`holdout_split`] carves them out of the
//! training set, per class, by seed and fraction, identically on every run.

use std::sync::Arc;

use super::dataset::{Dataset, EncodedSample, check_index};
use super::error::{DataError, Result};
use super::rng::{STREAM_SPLIT, STREAM_SUBSET, derive_rng, permutation};
use super::sample::Sample;

/// A partition of a dataset's indices into a training part and a held-out part.
///
/// Both lists are sorted ascending and disjoint, and together they cover every index.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HoldoutSplit {
    /// Indices the weights train on.
    pub train: Vec<usize>,
    /// Indices held out (indicator steps, architecture evaluation).
    pub holdout: Vec<usize>,
}

impl HoldoutSplit {
    /// The two parts as datasets sharing `dataset`: `(train, holdout)`.
    pub fn into_subsets<D: Dataset>(self, dataset: Arc<D>) -> Result<(Subset<D>, Subset<D>)> {
        Ok((
            Subset::new(Arc::clone(&dataset), self.train)?,
            Subset::new(dataset, self.holdout)?,
        ))
    }
}

/// The indices of `dataset` grouped by label, each group ascending.
fn indices_by_class<D: Dataset + ?Sized>(dataset: &D) -> Result<Vec<Vec<usize>>> {
    let mut by_class = vec![Vec::new(); dataset.num_classes()];
    for i in 0..dataset.len() {
        let label = dataset.label(i)?;
        by_class
            .get_mut(label)
            .ok_or_else(|| {
                DataError::param(
                    "label",
                    label,
                    format!(
                        "sample {i}: dataset declares {} classes",
                        dataset.num_classes()
                    ),
                )
            })?
            .push(i);
    }
    Ok(by_class)
}

/// Splits `dataset` into a training part and a held-out part with `fraction` of the
/// samples of *each class* held out (rounded to the nearest integer per class), chosen by a
/// seeded permutation.
///
/// The result depends only on the labels, `fraction` and `seed`: the same inputs give the
/// same split on every run and machine. For a fixed seed, a smaller fraction holds out a
/// subset of what a larger one does.
///
/// Fails unless `0 < fraction < 1`, or if either part would be empty.
pub fn holdout_split<D: Dataset + ?Sized>(
    dataset: &D,
    fraction: f64,
    seed: u64,
) -> Result<HoldoutSplit> {
    if !(fraction > 0.0 && fraction < 1.0) {
        return Err(DataError::param(
            "holdout fraction",
            fraction,
            "must lie strictly between 0 and 1",
        ));
    }
    let mut train = Vec::new();
    let mut holdout = Vec::new();
    for (class, members) in indices_by_class(dataset)?.into_iter().enumerate() {
        let take = (members.len() as f64 * fraction).round() as usize;
        let order = permutation(
            members.len(),
            &mut derive_rng(&[STREAM_SPLIT, seed, class as u64]),
        );
        for (rank, &pos) in order.iter().enumerate() {
            if rank < take {
                holdout.push(members[pos]);
            } else {
                train.push(members[pos]);
            }
        }
    }
    if train.is_empty() || holdout.is_empty() {
        return Err(DataError::param(
            "holdout fraction",
            fraction,
            format!(
                "leaves {} training and {} held-out samples of {}; both parts must be non-empty",
                train.len(),
                holdout.len(),
                dataset.len()
            ),
        ));
    }
    train.sort_unstable();
    holdout.sort_unstable();
    Ok(HoldoutSplit { train, holdout })
}

/// `per_class` samples of every class, chosen by a seeded permutation, returned sorted
/// ascending (so a subset keeps the original file order).
///
/// Fails if a class has fewer than `per_class` samples.
pub fn balanced_subset<D: Dataset + ?Sized>(
    dataset: &D,
    per_class: usize,
    seed: u64,
) -> Result<Vec<usize>> {
    let mut chosen = Vec::with_capacity(per_class * dataset.num_classes());
    for (class, members) in indices_by_class(dataset)?.into_iter().enumerate() {
        if members.len() < per_class {
            return Err(DataError::param(
                "per_class",
                per_class,
                format!(
                    "class {class} ({}) has only {} samples",
                    dataset.class_names()[class],
                    members.len()
                ),
            ));
        }
        let order = permutation(
            members.len(),
            &mut derive_rng(&[STREAM_SUBSET, seed, class as u64]),
        );
        chosen.extend(order[..per_class].iter().map(|&pos| members[pos]));
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// A view of some samples of a shared dataset, in the given index order.
#[derive(Debug)]
pub struct Subset<D> {
    dataset: Arc<D>,
    indices: Vec<usize>,
}

impl<D: Dataset> Subset<D> {
    /// The samples `indices` of `dataset`; fails if an index is out of range.
    pub fn new(dataset: Arc<D>, indices: Vec<usize>) -> Result<Self> {
        for &i in &indices {
            check_index(i, dataset.len())?;
        }
        Ok(Self { dataset, indices })
    }

    /// The underlying dataset's index of each sample of this subset.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The underlying dataset.
    pub fn inner(&self) -> &Arc<D> {
        &self.dataset
    }
}

impl<D: Dataset> Dataset for Subset<D> {
    fn len(&self) -> usize {
        self.indices.len()
    }

    fn class_names(&self) -> &[String] {
        self.dataset.class_names()
    }

    fn label(&self, index: usize) -> Result<usize> {
        check_index(index, self.len())?;
        self.dataset.label(self.indices[index])
    }

    fn get(&self, index: usize) -> Result<Sample> {
        check_index(index, self.len())?;
        self.dataset.get(self.indices[index])
    }

    fn get_encoded(&self, index: usize) -> Result<Option<EncodedSample>> {
        check_index(index, self.len())?;
        self.dataset.get_encoded(self.indices[index])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::InMemoryDataset;

    /// `n` 1x1 images with pixel value = index % 256 and labels cycling over `classes`.
    fn toy(n: usize, classes: usize) -> InMemoryDataset {
        InMemoryDataset::new(
            1,
            1,
            1,
            (0..n).map(|i| i as u8).collect(),
            (0..n).map(|i| i % classes).collect(),
            (0..classes).map(|c| format!("c{c}")).collect(),
        )
        .unwrap()
    }

    #[test]
    fn holdout_is_disjoint_complete_stratified_and_deterministic() {
        let ds = toy(1000, 10);
        let s = holdout_split(&ds, 0.1, 7).unwrap();
        assert_eq!(s.holdout.len(), 100);
        assert_eq!(s.train.len(), 900);
        let mut all: Vec<usize> = s.train.iter().chain(&s.holdout).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        for c in 0..10 {
            assert_eq!(
                s.holdout.iter().filter(|&&i| i % 10 == c).count(),
                10,
                "class {c}"
            );
        }
        assert_eq!(holdout_split(&ds, 0.1, 7).unwrap(), s);
        let other = holdout_split(&ds, 0.1, 8).unwrap();
        assert_ne!(other.holdout, s.holdout);
        // A smaller fraction holds out a subset of a larger one.
        let small = holdout_split(&ds, 0.05, 7).unwrap();
        assert!(
            small
                .holdout
                .iter()
                .all(|i| s.holdout.binary_search(i).is_ok())
        );
    }

    #[test]
    fn holdout_is_pinned() {
        // Guards the "stable across runs" promise: a change here silently moves held-out
        // images into the training set of resumed experiments.
        let s = holdout_split(&toy(20, 2), 0.2, 2021).unwrap();
        assert_eq!(s.holdout, PINNED_HOLDOUT);
    }

    /// `holdout_split(&toy(20, 2), 0.2, 2021).holdout`, recorded when the split was written.
    const PINNED_HOLDOUT: [usize; 4] = [2, 7, 14, 17];

    #[test]
    fn holdout_rejects_bad_fractions() {
        let ds = toy(10, 2);
        for f in [0.0, 1.0, -0.1, f64::NAN] {
            assert!(
                matches!(
                    holdout_split(&ds, f, 0),
                    Err(DataError::InvalidParameter { .. })
                ),
                "{f}"
            );
        }
        // 0.01 of 5 per class rounds to 0: an empty held-out part is an error.
        assert!(holdout_split(&ds, 0.01, 0).is_err());
    }

    #[test]
    fn subsets_map_indices() {
        let ds = Arc::new(toy(30, 3));
        let (train, held) = holdout_split(&*ds, 0.2, 1)
            .unwrap()
            .into_subsets(Arc::clone(&ds))
            .unwrap();
        assert_eq!(train.len() + held.len(), 30);
        let i = held.indices()[1];
        let s = held.get(1).unwrap();
        assert_eq!((s.image.data()[0] as usize, s.label), (i, i % 3));
        assert!(Subset::new(ds, vec![30]).is_err());
    }

    #[test]
    fn balanced_subset_takes_per_class_sorted() {
        let ds = toy(100, 4);
        let idx = balanced_subset(&ds, 5, 3).unwrap();
        assert_eq!(idx.len(), 20);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        for c in 0..4 {
            assert_eq!(idx.iter().filter(|&&i| i % 4 == c).count(), 5);
        }
        assert_eq!(balanced_subset(&ds, 5, 3).unwrap(), idx);
        assert!(balanced_subset(&ds, 26, 3).is_err());
    }
}
