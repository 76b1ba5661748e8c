//! Two MPI ranks take the steps of one process with two devices.
//!
//! ```sh
//! cargo build -p nse-supernet --features mpi --example ranks_check
//! mpirun -np 2 --oversubscribe --mca btl tcp,self target/debug/examples/ranks_check
//! ```
//!
//! On each rank: three weight steps and three indicator steps with 2 ranks × `cpu`
//! ([`weight_step_ranked`], [`indicator_step_ranked`]) against the same steps of one rank ×
//! `cpu,cpu` ([`weight_step_parallel`], [`indicator_step_parallel`]) on the same global
//! batches — equal within 1e-5 — and two mutations that must be caught: rank 1's gradients
//! dropped from the all-reduce, and no all-reduce at all (each rank stepping on its own
//! part). Then ranks given different paths must refuse to step. Then three retraining steps
//! of a whole child network ([`gradients_ranked`] against [`gradients_on_devices`]), with the
//! same mutation. Exits with 1 when any check fails, so that `mpirun` fails.

use std::process::ExitCode;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{ModuleOptimizer, SgdConfig};
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Device, Tensor};
use nse_cluster::{Collective, Ranks, rank_share};
use nse_space::Architecture;
use nse_space::SubSpace;
use nse_supernet::parallel::{
    BatchNorms, gradients_on_devices, indicator_step_parallel, set_statistics, weight_step_parallel,
};
use nse_supernet::ranks::{Workers, gradients_ranked, indicator_step_ranked, weight_step_ranked};
use nse_supernet::training::ResourcePenalty;
use nse_supernet::{ChildNetwork, CostTable, Indicators, Supernet, SupernetError};

#[path = "../tests/support/mod.rs"]
mod support;
use rand::SeedableRng;
use rand::rngs::StdRng;
use support::{batch, tiny_space};

/// Every float parameter, in visiting order, flattened.
fn values<M: Module>(module: &M) -> Vec<f32> {
    struct Collect(Vec<f32>);
    impl ModuleVisitor for Collect {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param.val().into_data().try_into_vec_as::<f32>();
            self.0.extend(v.expect("f32 parameters"));
        }
    }
    let mut collect = Collect(Vec::new());
    module.visit(&mut collect);
    collect.0
}

/// Every batch norm's running mean and variance, flattened.
fn statistics<M: BatchNorms>(net: &mut M) -> Vec<f32> {
    let mut out = Vec::new();
    for bn in net.batch_norms_mut() {
        for t in [bn.running_mean.value_sync(), bn.running_var.value_sync()] {
            out.extend(
                t.into_data()
                    .try_into_vec_as::<f32>()
                    .expect("f32 statistics"),
            );
        }
    }
    out
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "same parameters");
    a.iter()
        .zip(b)
        .map(|(p, q)| (p - q).abs())
        .fold(0.0, f32::max)
}

fn sgd() -> ModuleOptimizer {
    SgdConfig::new().init()
}

/// The mutation "a rank's gradients dropped": rank 1 contributes zeros to every `f32`
/// all-reduce.
struct DropRank1<'a>(&'a dyn Collective);

impl Collective for DropRank1<'_> {
    fn rank(&self) -> usize {
        self.0.rank()
    }
    fn size(&self) -> usize {
        self.0.size()
    }
    fn all_reduce_sum(&self, values: &mut [f32]) {
        if self.0.rank() == 1 {
            values.iter_mut().for_each(|v| *v = 0.0);
        }
        self.0.all_reduce_sum(values)
    }
    fn all_reduce_sum_f64(&self, values: &mut [f64]) {
        self.0.all_reduce_sum_f64(values)
    }
    fn min_max(&self, value: u64) -> (u64, u64) {
        self.0.min_max(value)
    }
    fn broadcast(&self, root: usize, bytes: &mut Vec<u8>) {
        self.0.broadcast(root, bytes)
    }
    fn barrier(&self) {
        self.0.barrier()
    }
    fn abort(&self, code: i32, message: &str) -> ! {
        self.0.abort(code, message)
    }
}

const ARCHS: [[&[usize]; 3]; 3] = [
    [&[0, 2], &[1], &[3, 4]],
    [&[1, 3], &[0, 4], &[2]],
    [&[0, 2, 4], &[1], &[1, 3]],
];

/// Runs the checks; returns the failures.
fn check(ranks: &Ranks) -> Result<Vec<String>, SupernetError> {
    let mut failures = Vec::new();
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let one = [device.clone()];
    let two = [device.clone(), device.clone()];
    let workers = Workers::new(&one, ranks);
    let dropping = DropRank1(ranks);
    let mutated_workers = Workers::new(&one, &dropping);

    // Weight steps.
    let net = || Supernet::new(&space, &device, 7);
    let (mut ranked, mut reference, mut dropped, mut alone) = (net()?, net()?, net()?, net()?);
    let mut optims = [sgd(), sgd(), sgd(), sgd()];
    for (step, arch) in ARCHS.iter().enumerate() {
        let arch: Vec<Vec<usize>> = arch.iter().map(|s| s.to_vec()).collect();
        let (images, labels) = batch(&device, 7, step);
        let (next, stats) = weight_step_ranked(
            ranked,
            &mut optims[0],
            0.05,
            &arch,
            &[],
            images.clone(),
            labels.clone(),
            &workers,
        )?;
        ranked = next;
        let (next, reference_stats) = weight_step_parallel(
            reference,
            &mut optims[1],
            0.05,
            &arch,
            &[],
            images.clone(),
            labels.clone(),
            &two,
        )?;
        reference = next;
        if (stats.loss - reference_stats.loss).abs() > 1e-5 || stats.images != 7 {
            failures.push(format!(
                "weight step {step}: loss {} over {} images, one process {} over 7",
                stats.loss, stats.images, reference_stats.loss
            ));
        }
        dropped = weight_step_ranked(
            dropped,
            &mut optims[2],
            0.05,
            &arch,
            &[],
            images.clone(),
            labels.clone(),
            &mutated_workers,
        )?
        .0;
        let (offset, len) = rank_share(7, ranks.rank(), ranks.size());
        alone = weight_step_parallel(
            alone,
            &mut optims[3],
            0.05,
            &arch,
            &[],
            images.narrow(0, offset, len),
            labels.narrow(0, offset, len),
            &one,
        )?
        .0;
    }
    let expected = values(&reference);
    let d = max_abs_diff(&values(&ranked), &expected);
    println!(
        "rank {}: weight steps, 2 ranks x cpu against 1 rank x cpu,cpu: max abs difference {d:.2e}",
        ranks.rank()
    );
    if d > 1e-5 {
        failures.push(format!("the ranked weight steps differ by {d}"));
    }
    let d = max_abs_diff(&statistics(&mut ranked), &statistics(&mut reference));
    println!(
        "rank {}: weight steps: batch-norm running statistics differ by {d:.2e}",
        ranks.rank()
    );
    if d > 1e-5 {
        failures.push(format!(
            "the weight steps' running statistics differ by {d}"
        ));
    }
    for (name, mutant) in [
        ("rank 1's gradients dropped", &dropped),
        ("no all-reduce", &alone),
    ] {
        let d = max_abs_diff(&values(mutant), &expected);
        println!("rank {}: mutation `{name}`: {d:.2e}", ranks.rank());
        if d <= 1e-4 {
            failures.push(format!("the mutation `{name}` went unnoticed ({d})"));
        }
    }

    // Indicator steps, the supernet frozen.
    let subspace = SubSpace::new(&space, vec![vec![0, 1, 2], vec![1, 3, 4], vec![0, 2, 4]])?;
    let costs = CostTable::macs(&space);
    let penalty = ResourcePenalty {
        target: 0.0,
        a: 20.0,
        b: 2.0,
    };
    let (mut net_ranked, mut net_reference) = (net()?, net()?);
    let mut ind_ranked = Indicators::for_space(&space, &device);
    let mut ind_reference = Indicators::for_space(&space, &device);
    let (mut optim_ranked, mut optim_reference) = (sgd(), sgd());
    for step in 0..3u64 {
        let (images, labels) = batch(&device, 7, 10 + step as usize);
        ind_ranked = indicator_step_ranked(
            &mut net_ranked,
            ind_ranked,
            &mut optim_ranked,
            1.0,
            &subspace,
            &costs,
            &penalty,
            images.clone(),
            labels.clone(),
            &mut StdRng::seed_from_u64(step),
            &workers,
        )?;
        ind_reference = indicator_step_parallel(
            &mut net_reference,
            ind_reference,
            &mut optim_reference,
            1.0,
            &subspace,
            &costs,
            &penalty,
            images,
            labels,
            &mut StdRng::seed_from_u64(step),
            &two,
        )?;
    }
    let d = max_abs_diff(&values(&ind_ranked), &values(&ind_reference));
    let moved = max_abs_diff(
        &values(&ind_ranked),
        &values(&Indicators::for_space(&space, &device)),
    );
    println!(
        "rank {}: indicator steps: max abs difference {d:.2e} (the indicators moved by {moved:.2e})",
        ranks.rank()
    );
    if d > 1e-5 || moved < 1e-4 {
        failures.push(format!(
            "the ranked indicator steps differ by {d} (moved {moved})"
        ));
    }
    let d = max_abs_diff(
        &statistics(&mut net_ranked),
        &statistics(&mut net_reference),
    );
    let moved = max_abs_diff(&statistics(&mut net_ranked), &statistics(&mut net()?));
    println!(
        "rank {}: indicator steps: batch-norm running statistics differ by {d:.2e} (moved by {moved:.2e})",
        ranks.rank()
    );
    if d > 1e-5 || moved < 1e-4 {
        failures.push(format!(
            "the indicator steps' running statistics differ by {d} (moved {moved})"
        ));
    }

    // Different paths on different ranks are refused on every rank.
    let arch: Vec<Vec<usize>> = if ranks.rank() == 0 {
        vec![vec![0], vec![1], vec![2]]
    } else {
        vec![vec![0], vec![1], vec![3]]
    };
    let (images, labels) = batch(&device, 7, 0);
    match weight_step_ranked(
        net()?,
        &mut sgd(),
        0.05,
        &arch,
        &[],
        images,
        labels,
        &workers,
    ) {
        Err(SupernetError::RanksDisagree { .. }) => {}
        Err(e) => failures.push(format!("different paths: {e}")),
        Ok(_) => failures.push("ranks stepped on different paths".into()),
    }

    // Retraining steps of a whole child network.
    let arch = Architecture::new(vec![vec![0, 2], vec![1], vec![3, 4]])?;
    let child = || ChildNetwork::from_space(&space, &arch, &device, 11);
    let (mut ranked, mut reference, mut dropped) = (child()?, child()?, child()?);
    let mut optims = [sgd(), sgd(), sgd()];
    let loss = |net: &ChildNetwork, x: Tensor<4>, y: Tensor<1, burn::tensor::Int>| {
        let logits = net.try_forward(x)?;
        let classes = logits.dims()[1];
        let loss = cross_entropy_with_logits(logits.clone(), y.one_hot(classes).float());
        Ok((loss, logits))
    };
    let mut losses = [Vec::new(), Vec::new()];
    for step in 0..3 {
        let (images, labels) = batch(&device, 7, 20 + step);
        let nets = [&mut ranked, &mut reference, &mut dropped];
        for (k, net) in nets.into_iter().enumerate() {
            let grads = match k {
                0 => gradients_ranked(&*net, images.clone(), labels.clone(), &workers, loss)?,
                1 => gradients_on_devices(&*net, images.clone(), labels.clone(), &two, loss)?,
                _ => gradients_ranked(
                    &*net,
                    images.clone(),
                    labels.clone(),
                    &mutated_workers,
                    loss,
                )?,
            };
            if k < 2 {
                losses[k].push(grads.loss);
            }
            set_statistics(net, grads.statistics);
            let stepped = optims[k].step(
                0.05,
                net.clone(),
                grads.grads.expect("finite losses have gradients"),
            );
            *net = stepped;
        }
    }
    let expected = values(&reference);
    let d = max_abs_diff(&values(&ranked), &expected);
    let s = max_abs_diff(&statistics(&mut ranked), &statistics(&mut reference));
    let l = max_abs_diff(&losses[0], &losses[1]);
    println!(
        "rank {}: retraining steps, 2 ranks x cpu against 1 rank x cpu,cpu: weights {d:.2e}, \
         running statistics {s:.2e}, losses {l:.2e}",
        ranks.rank()
    );
    if d > 1e-5 || s > 1e-5 || l > 1e-5 {
        failures.push(format!(
            "the ranked retraining steps differ: weights {d}, statistics {s}, losses {l}"
        ));
    }
    let d = max_abs_diff(&values(&dropped), &expected);
    println!(
        "rank {}: retraining mutation `rank 1's gradients dropped`: {d:.2e}",
        ranks.rank()
    );
    if d <= 1e-4 {
        failures.push(format!(
            "the retraining mutation `rank 1's gradients dropped` went unnoticed ({d})"
        ));
    }
    Ok(failures)
}

fn main() -> ExitCode {
    let ranks = match Ranks::from_launcher() {
        Ok(ranks) => ranks,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if ranks.size() != 2 {
        eprintln!(
            "run with two ranks: mpirun -np 2 ... (this job has {})",
            ranks.size()
        );
        return ExitCode::FAILURE;
    }
    let failures = match check(&ranks) {
        Ok(failures) => failures,
        Err(e) => vec![e.to_string()],
    };
    ranks.barrier();
    if failures.is_empty() {
        println!("rank {}: all checks passed", ranks.rank());
        ExitCode::SUCCESS
    } else {
        for f in &failures {
            eprintln!("rank {}: FAILED: {f}", ranks.rank());
        }
        ExitCode::FAILURE
    }
}
