//! Side by side with the PyTorch reference: the same supernet, space, architecture and batch as
//! `../shared/bench/ref_supernet.py`, timed the same way (two warm-up repeats, then the median
//! of `--steps` repeats), printed as one JSON line with the same keys.
//!
//! Run (CPU): `cargo bench --profile dev -p nse --bench reference -- --pool mb27 --steps 20`
//! Options: `--pool mb27|mb72`, `--batch 64`, `--size 32`, `--steps 10`, `--arch 3,10,22`,
//! `--subspace 3,10,13,22,24`, `--device cpu|wgpu|cuda[:N]` (GPU devices need the feature),
//! `--only weight|indicator|recalibration|eval` (time one phase, for profiling; others print 0).
//! `scripts/bench-vs-reference.sh` runs both sides in one go and prints the ratios.
//!
//! The space is the reference ImageNet layout (NER, depths `[1,3,3,3,3,3]`, channels
//! `[16,24,40,80,96,192,320]`, stem stride 2) at `--size` input and 10 classes; every cell uses
//! the ops `--arch` for the weight step and the evaluation, and the sub-space `--subspace` for
//! the indicator step. The steps are the search's own (`nse::train::search::step`):
//! - weight step: forward, cross-entropy, backward, Nesterov SGD step (as the reference);
//! - indicator step: two paths sampled from the indicators, indicator forward, cross-entropy
//!   plus the MACs penalty, backward, Adam step on the indicators;
//! - evaluation: an eval-mode forward without autodiff (the reference's `no_grad` eval);
//! - recalibration (ours only, reported apart): one train-mode BN recalibration batch.
//!
//! The device is synchronised before each timer stops.

use std::time::Instant;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use nse::burn;
use nse::space::{SpaceSpec, SubSpace};
use nse::supernet::recalibration::recalibrate;
use nse::supernet::training::{indicator_step, weight_step};
use nse::supernet::{CostTable, Indicators, Supernet};
use nse::train::optim::{SgdSettings, adam, sgd};
use nse::train::search::ResourceConfig;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

struct Args {
    pool: String,
    batch: usize,
    size: usize,
    steps: usize,
    arch: Vec<usize>,
    subspace: Vec<usize>,
    device: String,
    /// Time only this phase (`weight`, `indicator`, `recalibration`, `eval`): for profiling.
    only: Option<String>,
}

fn parse_list(s: &str) -> Vec<usize> {
    s.split(',')
        .map(|i| {
            i.trim()
                .parse()
                .expect("a comma-separated list of op indices")
        })
        .collect()
}

fn parse_args() -> Args {
    let mut args = Args {
        pool: "mb27".into(),
        batch: 64,
        size: 32,
        steps: 10,
        arch: vec![3, 10, 22],
        subspace: vec![3, 10, 13, 22, 24],
        device: "cpu".into(),
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--pool" => args.pool = value(),
            "--batch" => args.batch = value().parse().expect("--batch: a number"),
            "--size" => args.size = value().parse().expect("--size: a number"),
            "--steps" => args.steps = value().parse().expect("--steps: a number"),
            "--arch" => args.arch = parse_list(&value()),
            "--subspace" => args.subspace = parse_list(&value()),
            "--device" => args.device = value(),
            "--only" => args.only = Some(value()),
            "--bench" => {}
            other => panic!("unknown option {other}"),
        }
    }
    // The reference names its pools after its cell classes.
    args.pool = match args.pool.as_str() {
        "multi_mac" => "mb27".into(),
        "multi_mac_group" => "mb72".into(),
        p => p.into(),
    };
    args
}

/// Median seconds of `steps` repeats after two warm-ups; `f` must synchronise the device.
/// Zero steps skip the phase (reported as 0 images/s).
fn time(steps: usize, mut f: impl FnMut()) -> f64 {
    if steps == 0 {
        return f64::INFINITY;
    }
    f();
    f();
    let mut ts: Vec<f64> = (0..steps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    ts[ts.len() / 2]
}

fn main() {
    let args = parse_args();
    let device: Device = nse::device::from_name(&args.device)
        .unwrap_or_else(|e| panic!("{e}"))
        .autodiff();
    let mut spec = SpaceSpec::preset(&format!("imagenet-{}", args.pool))
        .unwrap_or_else(|e| panic!("--pool {}: {e}", args.pool));
    spec.input_size = args.size;
    spec.num_classes = 10;
    let space = spec.check().expect("the reference space is valid");
    let cells = space.num_cells();
    let arch: Vec<Vec<usize>> = vec![args.arch.clone(); cells];
    let subspace = SubSpace::new(&space, vec![args.subspace.clone(); cells]).expect("sub-space");
    let costs = CostTable::macs(&space);
    let resource = ResourceConfig {
        metric: nse::space::CostKind::Macs,
        target: 300.0,
        a: 1e-5,
        b: 2.0,
        drift: 0.0,
        extra_drift: 0.0,
        latency_table: None,
        latency_rules: Default::default(),
        relative: false,
    };

    let mut supernet = Some(Supernet::new(&space, &device, 0).expect("supernet"));
    let mut indicators = Some(Indicators::for_space(&space, &device));
    let mut weight_optim = sgd(&SgdSettings::default());
    let mut alpha_optim = adam(0.0, 0.999);
    let x = Tensor::<4>::random(
        [args.batch, 3, args.size, args.size],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let labels: Vec<i64> = (0..args.batch as i64).map(|i| (i * 7) % 10).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [args.batch]), &device);
    let mut rng = ChaCha8Rng::seed_from_u64(0);

    let run = |phase: &str| args.only.as_deref().is_none_or(|o| o == phase);
    let steps = |phase: &str| if run(phase) { args.steps } else { 0 };
    let tw = time(steps("weight"), || {
        let (net, stats) = weight_step(
            supernet.take().unwrap(),
            &mut weight_optim,
            0.1,
            &arch,
            x.clone(),
            y.clone(),
        )
        .expect("weight step");
        assert!(stats.loss.is_finite());
        supernet = Some(net);
        device.sync().unwrap();
    });
    let ti = time(steps("indicator"), || {
        let next = indicator_step(
            supernet.as_ref().unwrap(),
            indicators.take().unwrap(),
            &mut alpha_optim,
            0.005,
            &subspace,
            &costs,
            &resource.penalty(),
            x.clone(),
            y.clone(),
            &mut rng,
        )
        .expect("indicator step");
        indicators = Some(next);
        device.sync().unwrap();
    });
    let mut net = supernet.take().unwrap();
    let tr = time(steps("recalibration"), || {
        recalibrate(&mut net, &arch, vec![x.clone()]).expect("recalibration");
        device.sync().unwrap();
    });
    let eval = net.valid();
    let xe = x.clone().inner();
    let te = time(steps("eval"), || {
        let logits = eval.forward(xe.clone(), &arch).expect("eval forward");
        let _ = logits.into_data();
    });
    let rate = |t: f64| args.batch as f64 / t;
    println!(
        "{{\"impl\": \"nse\", \"device\": \"{}\", \"threads\": {}, \"pool\": \"{}\", \"batch\": {}, \
         \"size\": {}, \"arch\": {:?}, \"subspace\": {:?}, \"weight_step_img_s\": {:.2}, \
         \"arch_step_img_s\": {:.2}, \"eval_img_s\": {:.2}, \"recalibration_img_s\": {:.2}}}",
        args.device,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.pool,
        args.batch,
        args.size,
        args.arch,
        args.subspace,
        rate(tw),
        rate(ti),
        rate(te),
        rate(tr),
    );
}
