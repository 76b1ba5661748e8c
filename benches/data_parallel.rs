//! Data-parallel weight steps: images per second against the number of replicas.
//!
//! Run: `cargo bench --profile dev -p nse --bench data_parallel -- 64 5` (global batch,
//! repeats). By default it compares 1, 2 and 4 CPU replicas in threads (`cpu`, `cpu,cpu`,
//! `cpu,cpu,cpu,cpu`); `--devices LIST` times one list instead (`--devices cuda:0,cuda:1`
//! with `--features cuda`; `scripts/gpu-check.sh` does so on a GPU machine).
//!
//! Each configuration times `repeats` weight steps of the `cifar10-mb27` supernet on one
//! sampled multi-branch architecture (3 ops per cell), after one untimed step, the device
//! synchronised before the timer stops, and prints the median images per second and the
//! speed-up over the first configuration. The global batch is the same for every count: each
//! replica gets `batch / N` images.

use std::time::Instant;

use burn::optim::SgdConfig;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use nse::burn;
use nse::space::SpaceSpec;
use nse::supernet::Supernet;
use nse::supernet::parallel::weight_step_parallel;

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
        "data-parallel weight steps, cifar10-mb27, global batch {batch}, {repeats} timed repeats \
         (median), {cores} CPU cores"
    );
    println!(
        "{:<28} {:>9} {:>12} {:>9}",
        "devices", "replicas", "images/s", "speed-up"
    );
    let space = SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap();
    let arch: Vec<Vec<usize>> = (0..space.num_cells())
        .map(|c| vec![c % 27, (c + 9) % 27, (c + 18) % 27])
        .collect();
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
        let mut rates = Vec::with_capacity(repeats);
        for _ in 0..repeats {
            let start = Instant::now();
            net = step(net);
            for d in &devices {
                d.sync().unwrap();
            }
            rates.push(batch as f64 / start.elapsed().as_secs_f64());
        }
        let rate = median(rates);
        let base = *first.get_or_insert(rate);
        println!(
            "{list:<28} {:>9} {rate:>12.1} {:>8.2}×",
            devices.len(),
            rate / base
        );
    }
}
