//! Per-cell and total MACs and parameters of a published NSE network or an architecture file,
//! and one forward pass on the CPU to prove the network is real.
//!
//! ```text
//! cargo run -p nse --example arch_stats                    # all three published networks
//! cargo run --release -p nse --example arch_stats -- nsenet27
//! cargo run --release -p nse --example arch_stats -- nsenet
//! cargo run --release -p nse --example arch_stats -- nsenet-gpu
//! cargo run --release -p nse --example arch_stats -- my_arch.json   # a NetworkSpec JSON file
//! cargo run --release -p nse --example arch_stats -- runs/demo/front.json   # front entry 0
//! ```
//!
//! A JSON file holds `{"space": {...}, "architecture": [[...], ...]}` (see
//! `nse::space::NetworkSpec`); empty residual cells are dropped from the built network.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use nse::burn::module::Module;
use nse::burn::tensor::{Device, Distribution, Tensor};
use nse::modules::learnable_params;
use nse::space::PUBLISHED;
use nse::supernet::ChildNetwork;

/// Print the cost of an NSE architecture and run it once.
#[derive(Parser)]
struct Args {
    /// Published networks (nsenet27, nsenet, nsenet-gpu) or NetworkSpec JSON files; all
    /// three published networks when none is given.
    networks: Vec<String>,
    /// Skip the forward pass.
    #[arg(long)]
    no_forward: bool,
}

fn report(name: &str, no_forward: bool) -> nse::Result<()> {
    let network = nse::network::load(name, 0)?;
    let (space, arch) = network.resolve()?;
    let cost = space.architecture_cost(&arch)?;
    let spec = space.spec();
    println!(
        "{} — pool {}, {} cells, widths {:?}, input {}x{}x{}, {} classes",
        network.name.as_deref().unwrap_or(name),
        space.pool().name(),
        space.num_cells(),
        space.widths(),
        spec.input_channels,
        spec.input_size,
        spec.input_size,
        spec.num_classes
    );
    println!(
        "{:>4} {:>4} {:>11} {:>6} {:>7} {:>9} {:>10}  ops",
        "cell", "kind", "channels", "stride", "input", "MMACs", "params"
    );
    println!(
        "{:>4} {:>4} {:>11} {:>6} {:>7} {:>9.2} {:>10}  stem 3x3 conv",
        "",
        "",
        "",
        spec.stem_stride,
        spec.input_size,
        cost.stem.mmacs(),
        cost.stem.params
    );
    for ((cell, ops), c) in space.cells().iter().zip(arch.cells()).zip(&cost.cells) {
        let g = cell.geometry;
        let names: Vec<String> = ops
            .iter()
            .map(|&i| format!("{i}:{}", space.pool().ops()[i]))
            .collect();
        println!(
            "{:>4} {:>4} {:>11} {:>6} {:>7} {:>9.2} {:>10}  {}",
            cell.index,
            cell.kind.letter(),
            format!("{}->{}", g.cin, g.cout),
            g.stride,
            g.input[0],
            c.mmacs(),
            c.params,
            names.join(" + ")
        );
    }
    println!(
        "{:>4} {:>4} {:>11} {:>6} {:>7} {:>9.2} {:>10}  tail 1x1 conv, pool, classifier",
        "",
        "",
        "",
        "",
        space.final_size(),
        cost.tail.mmacs(),
        cost.tail.params
    );
    println!(
        "total: {:.1} MMACs, {:.3} M params",
        cost.total.mmacs(),
        cost.total.mparams()
    );

    let device = Device::flex();
    let model = ChildNetwork::from_space(&space, &arch, &device, 0)?;
    let allocated = learnable_params(&model);
    if allocated != cost.total.params {
        return Err(format!(
            "internal error: the built network has {allocated} parameters, the cost model {}",
            cost.total.params
        )
        .into());
    }
    println!(
        "built on {device:?}: {allocated} learnable parameters, as the cost model counts \
         ({} scalars with the BN running statistics)",
        model.num_params()
    );
    if !no_forward {
        let x = Tensor::<4>::random(
            [1, spec.input_channels, spec.input_size, spec.input_size],
            Distribution::Normal(0.0, 1.0),
            &device,
        );
        let start = Instant::now();
        let logits = model.try_forward(x)?;
        let values: Vec<f32> = logits
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| format!("{e:?}"))?;
        let finite = values.iter().all(|v| v.is_finite());
        println!(
            "forward pass: 1x{}x{}x{} -> {} logits in {:.0} ms (all finite: {finite})",
            spec.input_channels,
            spec.input_size,
            spec.input_size,
            values.len(),
            start.elapsed().as_secs_f64() * 1e3
        );
        if !finite {
            return Err("the forward pass produced non-finite logits".into());
        }
    }
    Ok(())
}

fn run(args: Args) -> nse::Result<()> {
    let names = if args.networks.is_empty() {
        PUBLISHED.iter().map(|s| s.to_string()).collect()
    } else {
        args.networks
    };
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            println!();
        }
        report(name, args.no_forward)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
