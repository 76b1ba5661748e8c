//! `nse latency build` and `nse latency validate`: latency tables of a space on a device.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;

use nse::Context;
use nse::registry::{self, Kind};

use crate::common::{Common, read_json, reporter};

#[derive(Args)]
pub(crate) struct LatencyValidateArgs {
    /// The space (as for `latency build`).
    #[arg(long)]
    pub(crate) space: String,
    /// The table: the NSE reference's CSV or a JSON table.
    #[arg(long)]
    pub(crate) table: PathBuf,
    /// Random architectures to time.
    #[arg(long, default_value_t = 30)]
    pub(crate) archs: usize,
    /// Seed of their draw.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Images per timed forward pass.
    #[arg(long, default_value_t = 1)]
    pub(crate) batch: usize,
    /// Untimed passes before timing each network.
    #[arg(long, default_value_t = 3)]
    pub(crate) warmup: usize,
    /// Timed passes per network (the median is kept).
    #[arg(long, default_value_t = 7)]
    pub(crate) repeats: usize,
    /// When the stem counts: reference (only with 32 stem channels), always or never.
    #[arg(long, default_value = "reference")]
    pub(crate) latency_stem: String,
    /// Leave out the adds that merge the branches of a non-residual cell.
    #[arg(long)]
    pub(crate) no_merge_adds: bool,
    /// Write the report (every architecture) as JSON here.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Add the fitted per-layer overhead to the table file (a JSON table), so that searches
    /// and `nse stats` with it predict whole networks.
    #[arg(long)]
    pub(crate) fit: bool,
    #[command(flatten)]
    pub(crate) common: Common,
}

#[derive(Args)]
pub(crate) struct LatencyBuildArgs {
    /// A space preset (cifar10-mb27, imagenet-mb27, ...), a published network's space
    /// (nsenet-gpu, ...), or a SpaceSpec JSON file.
    #[arg(long)]
    pub(crate) space: String,
    /// Images per timed forward pass.
    #[arg(long, default_value_t = 1)]
    pub(crate) batch: usize,
    /// Untimed passes before timing each layer.
    #[arg(long, default_value_t = 3)]
    pub(crate) warmup: usize,
    /// Timed passes per layer (the median is kept).
    #[arg(long, default_value_t = 7)]
    pub(crate) repeats: usize,
    /// The table file (an existing table of the same device and settings is completed).
    #[arg(long)]
    pub(crate) out: PathBuf,
    #[command(flatten)]
    pub(crate) common: Common,
}

/// The space named by `--space`: a space preset, a published network's space, or a file.
pub(crate) fn space_spec(name: &str) -> nse::Result<nse::space::SpaceSpec> {
    if registry::names(Kind::SpacePreset).contains(&name) {
        return registry::space_preset(name);
    }
    if registry::names(Kind::Network).contains(&name) {
        return Ok(nse::space::published(name)?.space);
    }
    let path = Path::new(name);
    if !path.is_file() {
        return Err(nse::Error::Usage(format!(
            "--space `{name}`: not a space ({}), a published network ({}) or a file",
            registry::names(Kind::SpacePreset).join(", "),
            registry::names(Kind::Network).join(", ")
        )));
    }
    read_json(path)
}

/// The summation rules of `--latency-stem` and `--no-merge-adds`.
pub(crate) fn latency_rules(
    stem: &str,
    no_merge_adds: bool,
) -> nse::Result<nse::space::LatencyRules> {
    let stem: nse::space::StemRule = stem.parse().context(format!("--latency-stem `{stem}`"))?;
    Ok(nse::space::LatencyRules {
        merge_adds: !no_merge_adds,
        stem,
    })
}

pub(crate) fn latency_validate(args: LatencyValidateArgs) -> nse::Result<()> {
    let device = args.common.single_device("latency validate")?;
    let space = space_spec(&args.space)?.check()?;
    let table = nse::ops::latency::LatencyTable::read(&args.table)?;
    let rules = latency_rules(&args.latency_stem, args.no_merge_adds)?;
    if args.archs < 2 || args.batch == 0 || args.repeats == 0 {
        return Err("--archs must be at least 2, --batch and --repeats at least 1".into());
    }
    let is_csv = args
        .table
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if args.fit && is_csv {
        return Err("--fit writes into a JSON table, not the reference's CSV".into());
    }
    let settings = nse::train::latency::ValidationSettings {
        measure: nse::modules::latency::MeasureSettings {
            batch: args.batch,
            warmup: args.warmup,
            repeats: args.repeats,
        },
        archs: args.archs,
        seed: args.seed,
    };
    let mut reporter = reporter(args.common.quiet);
    let report = nse::train::latency::validate_table(
        &space,
        &table,
        &rules,
        &device,
        &settings,
        reporter.as_mut(),
    )?;
    if let Some(out) = &args.out {
        nse::train::run_dir::write_json(out, &report)?;
    }
    println!("latency validation: {}", report.summary());
    if args.fit {
        let mut table = table;
        table.layer_overhead += report.overhead_per_layer;
        table.output_overhead += report.overhead_per_output_million;
        nse::train::run_dir::write_json(&args.table, &table)?;
        println!(
            "{}: overhead now {:.4} ms per layer and {:.4} ms per million conv outputs",
            args.table.display(),
            table.layer_overhead,
            table.output_overhead
        );
    }
    Ok(())
}

pub(crate) fn latency_build(args: LatencyBuildArgs) -> nse::Result<()> {
    let device = args.common.single_device("latency build")?;
    let space = space_spec(&args.space)?.check()?;
    let settings = nse::modules::latency::MeasureSettings {
        batch: args.batch,
        warmup: args.warmup,
        repeats: args.repeats,
    };
    if settings.batch == 0 || settings.repeats == 0 {
        return Err("--batch and --repeats must be at least 1".into());
    }
    let started = Instant::now();
    let mut reporter = reporter(args.common.quiet);
    let table =
        nse::train::latency::build_table(&space, &device, &settings, &args.out, reporter.as_mut())?;
    println!(
        "latency table: {} layers in {} ({:.1} s), measured on {}",
        table.entries.len(),
        args.out.display(),
        started.elapsed().as_secs_f64(),
        table.measured_on.as_deref().unwrap_or("?")
    );
    Ok(())
}
