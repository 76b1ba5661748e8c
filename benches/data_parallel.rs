//! Data-parallel weight and indicator steps: images per second against the number of
//! replicas.
//!
//! Run: `cargo bench --profile dev -p nse --bench data_parallel -- 64 5` (global batch,
//! repeats). By default it compares 1, 2 and 4 CPU replicas in threads (`cpu`, `cpu,cpu`,
//! `cpu,cpu,cpu,cpu`); `--devices LIST` times one list instead (`--devices cuda:0,cuda:1`
//! with `--features cuda`; `scripts/gpu-check.sh` or `gpu-run.sh` does so on a GPU machine).
//!
//! Each configuration times `repeats` weight steps of the `cifar10-mb27` supernet on one
//! sampled multi-branch architecture (3 ops per cell), then `repeats` indicator steps over a
//! sub-space of those 3 ops per cell (two paths drawn per step from a fixed seed), each after
//! one untimed step, the devices synchronised before the timer stops, and prints the median
//! images per second of each and their speed-up over the first configuration. The global
//! batch is the same for every count: each replica gets `batch / N` images.

use std::time::Instant;

use burn::optim::{AdamConfig, SgdConfig};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use nse::burn;
use nse::space::{SpaceSpec, SubSpace};
use nse::supernet::parallel::{indicator_step_parallel, weight_step_parallel};
use nse::supernet::training::ResourcePenalty;
use nse::supernet::{CostTable, Indicators, Supernet};
use rand::SeedableRng;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut positional = Vec::new();
    let mut lists: Vec<String> = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--devices" => lists.push(it.next().expect("--devices needs a list")),
            _ if a.starts_with('-') => {}
            _ => positional.push(a),
        }
    }
    let batch: usize = positional
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    let repeats: usize = positional.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    if lists.is_empty() {
        lists = ["cpu", "cpu,cpu", "cpu,cpu,cpu,cpu"]
            .map(String::from)
            .to_vec();
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "data-parallel weight and indicator steps, cifar10-mb27, global batch {batch}, \
         {repeats} timed repeats (median), {cores} CPU cores"
    );
    println!(
        "{:<28} {:>9} {:>15} {:>9} {:>18} {:>9}",
        "devices", "replicas", "weight images/s", "speed-up", "indicator images/s", "speed-up"
    );
    let space = SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap();
    let arch: Vec<Vec<usize>> = (0..space.num_cells())
        .map(|c| vec![c % 27, (c + 9) % 27, (c + 18) % 27])
        .collect();
    let subspace = SubSpace::new(&space, arch.clone()).unwrap();
    let costs = CostTable::macs(&space);
    let penalty = ResourcePenalty {
        target: 100.0,
        a: 1e-4,
        b: 2.0,
    };
    let mut first = None;
    for list in lists {
        let devices: Vec<Device> = nse::device::list_from_names(&list)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|d| d.autodiff())
            .collect();
        let main = devices[0].clone();
        let mut net = Supernet::new(&space, &main, 1).unwrap();
        let mut optim = SgdConfig::new().init();
        let images = Tensor::<4>::random([batch, 3, 32, 32], Distribution::Normal(0.0, 1.0), &main);
        let labels = Tensor::<1, Int>::from_data(
            TensorData::new((0..batch as i64).map(|i| i % 10).collect(), [batch]),
            &main,
        );
        let mut step = |net: Supernet| {
            weight_step_parallel(
                net,
                &mut optim,
                0.01,
                &arch,
                &[],
                images.clone(),
                labels.clone(),
                &devices,
            )
            .unwrap()
            .0
        };
        net = step(net);
        let sync = || {
            for d in &devices {
                d.sync().unwrap();
            }
        };
        let mut rates = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let start = Instant::now();
            net = step(net);
            sync();
            rates.push(batch as f64 / start.elapsed().as_secs_f64());
        }
        let weight_rate = median(rates);

        let mut indicators = Indicators::for_space(&space, &main);
        let mut adam = AdamConfig::new().with_epsilon(1e-8).init();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let mut indicator_step = |indicators: Indicators, net: &mut Supernet| {
            indicator_step_parallel(
                net,
                indicators,
                &mut adam,
                0.01,
                &subspace,
                &costs,
                &penalty,
                images.clone(),
                labels.clone(),
                &mut rng,
                &devices,
            )
            .unwrap()
        };
        indicators = indicator_step(indicators, &mut net);
        let mut rates = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let start = Instant::now();
            indicators = indicator_step(indicators, &mut net);
            sync();
            rates.push(batch as f64 / start.elapsed().as_secs_f64());
        }
        let indicator_rate = median(rates);
        let (weight_base, indicator_base) = *first.get_or_insert((weight_rate, indicator_rate));
        println!(
            "{list:<28} {:>9} {weight_rate:>15.1} {:>8.2}× {indicator_rate:>18.1} {:>8.2}×",
            devices.len(),
            weight_rate / weight_base,
            indicator_rate / indicator_base
        );
    }
}
