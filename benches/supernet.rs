//! Supernet throughput: weight step, indicator step and architecture evaluation
//! for the CIFAR-size presets of the `mb27` and `mb72` pools at the same sampled architecture.
//!
//! Run: `cargo bench --profile dev -p nse --bench supernet -- 64 5` (batch size, repeats;
//! add `--device wgpu` with `--features wgpu` for a GPU).
//!
//! The architecture uses only ops 0..26, which mean the same in both pools, so the two
//! supernets run exactly the same computation; the difference measures what holding a larger
//! pool costs. The device is synchronised before every timer stops.

use std::time::Instant;

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, SgdConfig};
use burn::tensor::loss::cross_entropy_with_logits;
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use nse::burn;
use nse::space::SpaceSpec;
use nse::supernet::recalibration::recalibrate;
use nse::supernet::{CellPaths, CostTable, Indicators, Supernet};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // Positional: batch size, repeats; `--device cpu|wgpu|cuda[:N]` (GPU devices need the
    // matching feature of the `nse` crate).
    let mut positional = Vec::new();
    let mut device_name = String::from("cpu");
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--device" => device_name = it.next().expect("--device needs a name"),
            _ if a.starts_with('-') => {}
            _ => positional.push(a),
        }
    }
    let batch: usize = positional
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(64);
    let repeats: usize = positional.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let device = nse::device::from_name(&device_name)
        .unwrap_or_else(|e| panic!("{e}"))
        .autodiff();
    println!(
        "supernet throughput, batch {batch}, {repeats} timed repeats (median), device {device:?}"
    );
    println!(
        "{:<14} {:>9} {:>15} {:>15} {:>15}",
        "preset", "branches", "weight img/s", "indicator img/s", "eval img/s"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let space27 = SpaceSpec::preset("cifar10-mb27").unwrap().check().unwrap();
    // One architecture and one pair of paths for both pools: sub-space = 5 ops < 27 per cell.
    let cells = space27.num_cells();
    let subspaces: Vec<Vec<usize>> = (0..cells)
        .map(|_| {
            let mut ops: Vec<usize> = (0..27).collect();
            for i in 0..5 {
                let j = rng.random_range(i..27);
                ops.swap(i, j);
            }
            let mut s = ops[..5].to_vec();
            s.sort_unstable();
            s
        })
        .collect();
    let sample = |rng: &mut ChaCha8Rng, sub: &[usize], residual: bool| loop {
        let set: Vec<usize> = sub
            .iter()
            .copied()
            .filter(|_| rng.random_bool(0.5))
            .collect();
        if residual || !set.is_empty() {
            return set;
        }
    };
    let arch: Vec<Vec<usize>> = space27
        .cells()
        .iter()
        .zip(&subspaces)
        .map(|(c, s)| sample(&mut rng, s, c.is_residual()))
        .collect();
    let paths: Vec<CellPaths> = space27
        .cells()
        .iter()
        .zip(&subspaces)
        .zip(&arch)
        .map(|((c, s), a)| {
            let other = loop {
                let u = sample(&mut rng, s, c.is_residual());
                if &u != a {
                    break u;
                }
            };
            CellPaths {
                subspace: s.clone(),
                selected: a.clone(),
                unselected: Some(other),
            }
        })
        .collect();
    let branches: usize = arch.iter().map(Vec::len).sum();
    let x = Tensor::<4>::random([batch, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let labels: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &device);
    let one_hot = y.one_hot(10).float();

    for preset in ["cifar10-mb27", "cifar10-mb72"] {
        let space = SpaceSpec::preset(preset).unwrap().check().unwrap();
        let costs = CostTable::macs(&space);
        let mut net = Supernet::new(&space, &device, 1).unwrap();
        let indicators = Indicators::for_space(&space, &device);
        let mut sgd = SgdConfig::new().init();
        let mut adam = AdamConfig::new().with_beta_1(0.0).init();
        let (mut tw, mut ti, mut te) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..=repeats {
            let start = Instant::now();
            let logits = net.forward(x.clone(), &arch).unwrap();
            let loss = cross_entropy_with_logits(logits, one_hot.clone());
            let grads = GradientsParams::from_grads(loss.backward(), &net);
            net = sgd.step(0.01, net, grads);
            device.sync().unwrap();
            let w = start.elapsed().as_secs_f64();

            let start = Instant::now();
            let out = net
                .forward_indicator(x.clone(), &paths, &indicators, &costs)
                .unwrap();
            let loss = cross_entropy_with_logits(out.logits, one_hot.clone())
                + out
                    .expected_cost
                    .sub_scalar(20.0)
                    .powi_scalar(2)
                    .mul_scalar(1e-5);
            let mut grads = loss.backward();
            let g = GradientsParams::from_module(&mut grads, &indicators);
            let stepped = adam.step(0.005, indicators.clone(), g);
            drop(stepped);
            device.sync().unwrap();
            let i = start.elapsed().as_secs_f64();

            let start = Instant::now();
            recalibrate(&mut net, &arch, vec![x.clone(), x.clone()]).unwrap();
            let eval = net.valid();
            let logits = eval.forward(x.clone().inner(), &arch).unwrap();
            let _ = logits.argmax(1).into_data();
            device.sync().unwrap();
            let e = start.elapsed().as_secs_f64();
            if r > 0 {
                tw.push(w);
                ti.push(i);
                te.push(e);
            }
        }
        let rate = |t: Vec<f64>, images: usize| images as f64 / median(t);
        println!(
            "{:<14} {:>9} {:>15.1} {:>15.1} {:>15.1}",
            preset,
            branches,
            rate(tw, batch),
            rate(ti, batch),
            rate(te, 3 * batch)
        );
    }
    println!("(eval = 2 recalibration batches + 1 eval batch, counted as 3 batches of images)");
}
