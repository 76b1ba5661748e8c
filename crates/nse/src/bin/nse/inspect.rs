//! `nse report`, `nse export` and `nse stats`: looking at runs and networks.

use std::path::PathBuf;

use clap::Args;

use nse::supernet::ChildNetwork;
use nse::supernet::pytorch::{ExportInfo, export_pytorch};
use nse::train::search::html_report;

use crate::common::Common;
use crate::latency::latency_rules;
use crate::retrain::{load_retrained, recorded_normalize};

#[derive(Args)]
pub(crate) struct ReportArgs {
    /// The search's run directory (log.jsonl, front.json); report.html is written there.
    pub(crate) run: PathBuf,
}

#[derive(Args)]
pub(crate) struct ExportArgs {
    /// Write the PyTorch export (model.py, model.safetensors, check.safetensors) into DIR.
    #[arg(long, value_name = "DIR")]
    pub(crate) pytorch: PathBuf,
    /// A retrain output directory (network.json + model.bpk): the trained network.
    #[arg(
        long,
        value_name = "RETRAIN_DIR",
        required_unless_present = "arch",
        conflicts_with = "arch"
    )]
    pub(crate) model: Option<PathBuf>,
    /// A published network (nsenet27, nsenet, nsenet-gpu), a NetworkSpec JSON file, or a
    /// front.json (with --index), with fresh weights drawn from --seed.
    #[arg(long)]
    pub(crate) arch: Option<String>,
    /// Entry of a front.json given to --arch.
    #[arg(long, default_value_t = 0, requires = "arch")]
    pub(crate) index: usize,
    /// Seed of the fresh weights of --arch.
    #[arg(long, default_value_t = 0, requires = "arch")]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) common: Common,
}

#[derive(Args)]
pub(crate) struct StatsArgs {
    /// A published network (nsenet27, nsenet, nsenet-gpu), a NetworkSpec JSON file, or a
    /// front.json (with --index).
    pub(crate) network: String,
    /// Entry of a front.json.
    #[arg(long, default_value_t = 0)]
    pub(crate) index: usize,
    /// Also print the latency from this table: the NSE reference's CSV or a JSON table.
    #[arg(long, value_name = "FILE")]
    pub(crate) latency_table: Option<PathBuf>,
    /// When the stem counts in the latency: reference (only with 32 stem channels, as the
    /// reference), always or never.
    #[arg(long, default_value = "reference", requires = "latency_table")]
    pub(crate) latency_stem: String,
    /// Leave out the adds that merge the branches of a non-residual cell (the reference's
    /// window sampler does; its indicator loss and Pareto evaluation count them).
    #[arg(long, requires = "latency_table")]
    pub(crate) no_merge_adds: bool,
}

pub(crate) fn report_command(args: ReportArgs) -> nse::Result<()> {
    let path = html_report::write_report(&args.run)?;
    println!("report: {}", path.display());
    Ok(())
}

pub(crate) fn export_command(args: ExportArgs) -> nse::Result<()> {
    let device = args.common.single_device("export")?;
    let (info, space, arch, model) = match (&args.model, &args.arch) {
        (Some(dir), _) => {
            let (network, space, arch, model) = load_retrained(dir, &device)?;
            let name = network
                .name
                .clone()
                .unwrap_or_else(|| dir.display().to_string());
            let normalize = recorded_normalize(dir).map(|n| (n.mean, n.std));
            (ExportInfo { name, normalize }, space, arch, model)
        }
        (None, Some(arch_name)) => {
            let network = nse::network::load(arch_name, args.index)?;
            let (space, arch) = network.resolve()?;
            let model = ChildNetwork::from_space(&space, &arch, &device, args.seed)?;
            let name = network.name.clone().unwrap_or_else(|| arch_name.clone());
            (ExportInfo::named(name), space, arch, model)
        }
        (None, None) => return Err("give --model RETRAIN_DIR or --arch NETWORK".into()),
    };
    let export = export_pytorch(&model, &space, &arch, &info, &args.pytorch)?;
    println!(
        "{}: {} and {}; `python {}` checks PyTorch's logits against nse's on {}",
        info.name,
        export.model_py.display(),
        export.weights.display(),
        export.model_py.display(),
        export.check.display()
    );
    Ok(())
}

pub(crate) fn stats(args: StatsArgs) -> nse::Result<()> {
    let network = nse::network::load(&args.network, args.index)?;
    let (space, arch) = network.resolve()?;
    let cost = space.architecture_cost(&arch)?;
    println!(
        "{}: pool {}, {} cells, {:.2} MMACs, {:.3} M params",
        network.name.as_deref().unwrap_or(&args.network),
        space.pool().name(),
        space.num_cells(),
        cost.total.mmacs(),
        cost.total.mparams()
    );
    println!("  {}", arch.describe(&space));
    if let Some(path) = &args.latency_table {
        let table = nse::ops::latency::LatencyTable::read(path)?;
        let rules = latency_rules(&args.latency_stem, args.no_merge_adds)?;
        let latency = space.architecture_latency(&table, &rules, &arch)?;
        let unit = &latency.unit;
        let batch = table
            .batch
            .map(|b| format!(" (batch {b})"))
            .unwrap_or_default();
        println!("latency: {:.3} {unit}{batch}", latency.total);
        println!(
            "  stem {:.3}, tail {:.3}; cells: {}",
            latency.stem,
            latency.tail,
            latency
                .cells
                .iter()
                .map(|c| format!("{c:.3}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    Ok(())
}
