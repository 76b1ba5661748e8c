//! Portable, explicitly seeded randomness for the data pipeline.
//!
//! Every random decision (epoch order, held-out split, augmentation of one sample) draws from
//! its own ChaCha8 stream whose key is derived from a tuple of integers (a stream tag, the
//! user's seed, the epoch, the sample index, ...). The derivation, the shuffle and the
//! integer/float draws are implemented here rather than taken from `rand`'s conveniences, so
//! the results depend only on ChaCha8's output, which is fixed by its specification: a split or
//! an epoch order stays the same across runs, machines and `rand` upgrades.

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

/// Stream tag for the order of samples in an epoch.
pub(crate) const STREAM_ORDER: u64 = 1;
/// Stream tag for the augmentation of one sample in one epoch.
pub(crate) const STREAM_AUGMENT: u64 = 2;
/// Stream tag for the held-out split.
pub(crate) const STREAM_SPLIT: u64 = 3;
/// Stream tag for class-balanced subsets.
pub(crate) const STREAM_SUBSET: u64 = 4;

/// One step of the SplitMix64 generator (a good 64-bit mixing function).
const fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A ChaCha8 generator keyed by the tuple `parts` (order matters).
///
/// `derive_rng(&[tag, seed, epoch, index])` gives independent, reproducible streams for every
/// distinct tuple.
pub fn derive_rng(parts: &[u64]) -> ChaCha8Rng {
    // "nse-data" in ASCII, so streams differ from other users of the same seed.
    let mut state: u64 = 0x6e73_652d_6461_7461;
    for &part in parts {
        state = splitmix64(state ^ splitmix64(part));
    }
    let mut key = [0u8; 32];
    for chunk in key.chunks_exact_mut(8) {
        state = splitmix64(state);
        chunk.copy_from_slice(&state.to_le_bytes());
    }
    ChaCha8Rng::from_seed(key)
}

/// A uniform integer in `0..n` (`n > 0`), by 128-bit multiply-shift.
///
/// The bias is below `n / 2^64`, negligible for any dataset size.
pub fn below<R: RngCore + ?Sized>(rng: &mut R, n: usize) -> usize {
    debug_assert!(n > 0, "below(0) has no valid result");
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// A uniform float in `[0, 1)` with 53 random bits.
pub fn unit_f64<R: RngCore + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform float in `[lo, hi)` (returns `lo` when `hi <= lo`).
pub fn uniform<R: RngCore + ?Sized>(rng: &mut R, lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        lo
    } else {
        lo + (hi - lo) * unit_f64(rng)
    }
}

/// Shuffles `items` in place (Fisher-Yates, from the back).
pub fn shuffle<T, R: RngCore + ?Sized>(items: &mut [T], rng: &mut R) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i + 1);
        items.swap(i, j);
    }
}

/// A random permutation of `0..n`.
pub fn permutation<R: RngCore + ?Sized>(n: usize, rng: &mut R) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    shuffle(&mut order, rng);
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| derive_rng(&[1, 42, 0]).next_u64()).collect();
        assert!(a.iter().all(|&x| x == a[0]));
        let mut r1 = derive_rng(&[1, 42, 0]);
        let mut r2 = derive_rng(&[1, 42, 1]);
        let mut r3 = derive_rng(&[1, 0, 42]);
        let (x1, x2, x3) = (r1.next_u64(), r2.next_u64(), r3.next_u64());
        assert_ne!(x1, x2);
        assert_ne!(x1, x3);
        assert_ne!(x2, x3);
    }

    #[test]
    fn derive_rng_is_pinned() {
        // Pins the derivation: if this changes, every saved split and epoch order changes.
        let mut rng = derive_rng(&[STREAM_ORDER, 7, 3]);
        let first = rng.next_u64();
        let perm = permutation(10, &mut derive_rng(&[STREAM_ORDER, 7, 3]));
        assert_eq!(first, derive_rng(&[STREAM_ORDER, 7, 3]).next_u64());
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(perm, PINNED_PERMUTATION);
    }

    /// `permutation(10, derive_rng(&[1, 7, 3]))`, recorded when the derivation was written.
    const PINNED_PERMUTATION: [usize; 10] = [1, 5, 6, 2, 9, 4, 3, 0, 8, 7];

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut rng = derive_rng(&[9]);
        let mut counts = [0usize; 5];
        for _ in 0..50_000 {
            counts[below(&mut rng, 5)] += 1;
        }
        for c in counts {
            assert!((9_500..=10_500).contains(&c), "counts {counts:?}");
        }
    }

    #[test]
    fn uniform_respects_bounds() {
        let mut rng = derive_rng(&[10]);
        for _ in 0..10_000 {
            let x = uniform(&mut rng, -2.0, 3.0);
            assert!((-2.0..3.0).contains(&x));
        }
        assert_eq!(uniform(&mut rng, 1.5, 1.5), 1.5);
    }
}
