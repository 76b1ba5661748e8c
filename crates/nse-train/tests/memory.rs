//! A long search on tiny inputs (thousands of weight steps) keeps its resident memory flat:
//! what it holds per step is freed by the next. The test prints the resident set at every
//! sample and its growth per step (the least-squares slope over the samples). In a test binary of
//! its own, so that no other test shares the process's memory.

use burn::tensor::Device;
use nse_train::progress::Reporter;
use nse_train::search::Search;

mod common;
use common::{config, scratch, write_dataset};

/// Steps of the run, the step of the first sample (after warm-up: allocator pools and caches
/// fill during the first steps) and the sampling interval. The resident set of a flat run
/// wanders by about ±1.3 MiB (19.2 to 21.9 MiB over 5,000 steps on a 2-vCPU Intel Xeon,
/// `docs/reliability.md`); 7 samples over 1,500 steps once gave that noise a slope of 1,080
/// bytes per step. 31 samples over 3,000 steps bring the slope's noise to about 100 bytes per
/// step, a tenth of the bound.
const STEPS: u64 = 4000;
const FIRST_SAMPLE: u64 = 1000;
const EVERY: u64 = 100;

/// Resident set size of this process in bytes (`/proc/self/statm`), when the platform has it.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Samples the resident set every [`EVERY`] weight steps of round 1's training.
#[derive(Default)]
struct Sampler {
    training: bool,
    step: u64,
    samples: Vec<(u64, u64)>,
}

impl Reporter for Sampler {
    fn begin(&mut self, label: &str, _: u64) {
        self.training = label == "round 1 training";
    }
    fn advance(&mut self, n: u64, _: &str) {
        if !self.training {
            return;
        }
        self.step += n;
        if self.step >= FIRST_SAMPLE
            && self.step.is_multiple_of(EVERY)
            && let Some(bytes) = resident_bytes()
        {
            self.samples.push((self.step, bytes));
        }
    }
    fn finish(&mut self) {}
    fn line(&mut self, _: &str) {}
}

#[test]
#[ignore = "a 40-second run: .ci/run runs it with --nocapture to print its figures"]
fn resident_memory_does_not_grow_per_step() {
    if resident_bytes().is_none() {
        eprintln!("no /proc/self/statm here: nothing to measure");
        return;
    }
    let data = scratch("data-memory");
    write_dataset(&data);
    let mut config = config(&data);
    // One round of many epochs over 7 batches, logged rarely, stopped by the step budget.
    config.epochs_per_round = 1000;
    config.max_rounds = Some(1);
    config.max_steps = Some(STEPS);
    config.log_every = 1000;
    let dir = scratch("memory");
    let mut sampler = Sampler::default();
    let outcome = Search::new(config, &dir, &Device::flex())
        .unwrap()
        .run(&mut sampler)
        .unwrap();
    assert_eq!(outcome.total_steps, STEPS);
    for (step, bytes) in sampler.samples.iter().filter(|(step, _)| step % 500 == 0) {
        println!(
            "memory: step {step}: resident {:.1} MiB",
            *bytes as f64 / 1048576.0
        );
    }
    let n = sampler.samples.len() as f64;
    assert!(n >= 30.0, "{:?}", sampler.samples);
    let (xs, ys): (Vec<f64>, Vec<f64>) = sampler
        .samples
        .iter()
        .map(|&(s, b)| (s as f64, b as f64))
        .unzip();
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let per_step = xs
        .iter()
        .zip(&ys)
        .map(|(x, y)| (x - mx) * (y - my))
        .sum::<f64>()
        / xs.iter().map(|x| (x - mx).powi(2)).sum::<f64>();
    let (first, last) = (ys[0], ys[ys.len() - 1]);
    println!(
        "memory: {STEPS} steps, resident {:.1} MiB at step {FIRST_SAMPLE}, {:.1} MiB at step \
         {STEPS}: {per_step:.0} bytes per step (slope)",
        first / 1048576.0,
        last / 1048576.0
    );
    // A leak of anything per step (a tensor, an autodiff graph, a log line kept in memory)
    // costs far more than 1 KiB.
    assert!(
        per_step < 1024.0,
        "resident memory grows {per_step:.0} bytes per step"
    );
}
