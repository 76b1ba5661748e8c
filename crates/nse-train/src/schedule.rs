//! Learning-rate schedules.

use serde::{Deserialize, Serialize};

/// Linear warm-up from `warmup_from` to `base` over `warmup_steps`, then cosine decay from
/// `base` to `min` at `total_steps` (the reference's per-round schedule: 0.1 → 0.4 over two
/// epochs, cosine to 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CosineWarmup {
    /// Peak learning rate.
    pub base: f64,
    /// Learning rate at step 0.
    pub warmup_from: f64,
    /// Final learning rate.
    pub min: f64,
    /// Warm-up steps.
    pub warmup_steps: usize,
    /// All steps (warm-up included).
    pub total_steps: usize,
}

impl CosineWarmup {
    /// Learning rate at `step` (0-based); `min` at and after `total_steps`.
    pub fn lr(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            let t = step as f64 / self.warmup_steps as f64;
            return self.warmup_from + (self.base - self.warmup_from) * t;
        }
        let decay = self.total_steps.saturating_sub(self.warmup_steps).max(1);
        let t = ((step - self.warmup_steps) as f64 / decay as f64).min(1.0);
        self.min + (self.base - self.min) * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine() {
        let s = CosineWarmup {
            base: 0.4,
            warmup_from: 0.1,
            min: 0.0,
            warmup_steps: 10,
            total_steps: 110,
        };
        assert!((s.lr(0) - 0.1).abs() < 1e-12);
        assert!((s.lr(5) - 0.25).abs() < 1e-12);
        assert!((s.lr(10) - 0.4).abs() < 1e-12);
        assert!((s.lr(60) - 0.2).abs() < 1e-12);
        assert!(s.lr(110).abs() < 1e-12);
        assert!(s.lr(500).abs() < 1e-12);
        assert!((1..110).all(|i| i <= 10 || s.lr(i) <= s.lr(i - 1)));
    }
}
