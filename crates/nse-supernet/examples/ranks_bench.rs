//! Weight-step throughput over MPI ranks, and the all-reduce that joins them.
//!
//! ```sh
//! cargo build -p nse-supernet --features mpi --example ranks_bench
//! mpirun -np 1 target/debug/examples/ranks_bench 64 5
//! mpirun -np 2 --oversubscribe --mca btl tcp,self target/debug/examples/ranks_bench 64 5
//! ```
//!
//! Arguments: the global batch (default 64) and the timed steps (default 5). The supernet is
//! `cifar10-mb27` (32×32 input) with three branches per cell, one `cpu` device per rank.
//! Rank 0 prints the global batch's images per second over the timed weight steps and the
//! time of one all-reduce of the path's gradients (as many `f32` as the path's
//! parameters), the median of 20. Timings, not checks: nothing fails on a slow machine.

use std::time::Instant;

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::SgdConfig;
use burn::tensor::{Device, Int, Tensor, TensorData};
use nse_cluster::{Collective, Ranks};
use nse_space::SpaceSpec;
use nse_supernet::Supernet;
use nse_supernet::ranks::{Workers, weight_step_ranked};

/// Counts the float parameters' elements of the modules it visits.
struct Count(usize);

impl ModuleVisitor for Count {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0 += param.shape().num_elements();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("arguments: BATCH STEPS ({e})"))?;
    let batch = args.first().copied().unwrap_or(64);
    let steps = args.get(1).copied().unwrap_or(5);
    let ranks = Ranks::from_launcher()?;
    let device = Device::flex().autodiff();
    let space = SpaceSpec::preset("cifar10-mb27")?.check()?;
    let arch: Vec<Vec<usize>> = (0..space.num_cells())
        .map(|c| vec![c % 27, (c + 9) % 27, (c + 18) % 27])
        .collect();
    let mut net = Supernet::new(&space, &device, 1)?;
    let mut optim = SgdConfig::new().init();
    // The same batch on every rank (a random tensor would differ between processes).
    let pixels: Vec<f32> = (0..batch * 3 * 32 * 32)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
        .collect();
    let images = Tensor::<4>::from_data(TensorData::new(pixels, [batch, 3, 32, 32]), &device);
    let labels = Tensor::<1, Int>::from_data(
        TensorData::new((0..batch as i64).map(|i| i % 10).collect(), [batch]),
        &device,
    );
    let one = [device.clone()];
    let workers = Workers::new(&one, &ranks);
    let mut step = |net: Supernet| {
        weight_step_ranked(
            net,
            &mut optim,
            0.01,
            &arch,
            &[],
            images.clone(),
            labels.clone(),
            &workers,
        )
        .map(|(net, _)| net)
    };
    net = step(net)?; // warm-up
    ranks.barrier();
    let start = Instant::now();
    for _ in 0..steps {
        net = step(net)?;
    }
    ranks.barrier();
    let seconds = start.elapsed().as_secs_f64();

    let mut count = Count(0);
    net.stem.visit(&mut count);
    for (cell, set) in net.cells.iter().zip(&arch) {
        for &op in set {
            cell.ops[op].visit(&mut count);
        }
    }
    net.tail.visit(&mut count);
    let mut buffer = vec![1.0f32; count.0];
    let mut times = Vec::with_capacity(20);
    for _ in 0..20 {
        ranks.barrier();
        let t = Instant::now();
        ranks.all_reduce_sum(&mut buffer);
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    if ranks.is_root() {
        println!(
            "{} rank(s), global batch {batch}: {:.1} images/s over {steps} weight steps \
             ({:.3} s a step); all-reduce of the path's {} gradients ({:.2} MB): {:.2} ms",
            ranks.size(),
            (batch * steps) as f64 / seconds,
            seconds / steps as f64,
            count.0,
            count.0 as f64 * 4.0 / 1e6,
            times[10] * 1e3
        );
    }
    Ok(())
}
