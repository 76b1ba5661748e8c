//! `nse retrain` and `nse eval`: a network trained from scratch, and its test accuracy.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use serde_json::Value;

use nse::data::Normalize;
use nse::space::NetworkSpec;
use nse::space::{Architecture, SearchSpace};
use nse::supernet::ChildNetwork;
use nse::train::ranks::SharedRanks;
use nse::train::retrain::{
    DATA_FILE, EvalSettings, MODEL_FILE, NETWORK_FILE, REPORT_FILE, RetrainConfig, RetrainOptions,
    evaluate, retrain,
};
use nse::train::run_dir::RunDir;
use nse::train::search::data::{normalization, open_splits, retrain_data};
use nse::train::search::{DataSource, FrontFile, NormalizeChoice};
use nse::train::tensorboard::RetrainBoard;

use crate::common::{Common, read_json, recipe, reporter, stop_on_signals};
use crate::data::DataArgs;

#[derive(Args)]
pub(crate) struct RetrainArgs {
    /// A NetworkSpec JSON file or a published network name.
    #[arg(long, conflicts_with = "front")]
    pub(crate) arch: Option<String>,
    /// A search's front.json; retrains entry --index.
    #[arg(long)]
    pub(crate) front: Option<PathBuf>,
    /// Entry of the front.
    #[arg(long, default_value_t = 0)]
    pub(crate) index: usize,
    /// Recipe: demo, cifar10, or a RetrainConfig JSON file.
    #[arg(long, default_value = "demo")]
    pub(crate) recipe: String,
    /// Override a recipe field: `--set epochs=10` (JSON values).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub(crate) overrides: Vec<String>,
    /// Output directory (model.bpk, model.safetensors, network.json, report.json).
    #[arg(long, default_value = "runs/retrain")]
    pub(crate) out: PathBuf,
    /// Write no TensorBoard event files (by default OUT/tensorboard/).
    #[arg(long)]
    pub(crate) no_tensorboard: bool,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    #[command(flatten)]
    pub(crate) common: Common,
}

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// A retrain output directory (network.json + model.bpk).
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// Batch size.
    #[arg(long, default_value_t = 256)]
    pub(crate) batch_size: usize,
    #[command(flatten)]
    pub(crate) data: DataArgs,
    #[command(flatten)]
    pub(crate) common: Common,
}

/// Retrains `network` into `out` on this process's rank of `ranks` (one rank unless started
/// by an MPI launcher): rank 0 writes `out` and prints; the other ranks work in private
/// folders, quietly.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_retrain(
    network: &NetworkSpec,
    source: &DataSource,
    config: RetrainConfig,
    out: &Path,
    devices: &[nse::burn::tensor::Device],
    quiet: bool,
    tensorboard: bool,
    ranks: SharedRanks,
) -> nse::Result<()> {
    let device = &devices[0];
    let root = ranks.is_root();
    let (space, _) = network.resolve()?;
    let data = retrain_data(source, &space)?;
    if root {
        let data_file = out.join(DATA_FILE);
        nse_durable::write_json(&data_file, source).map_err(|e| nse::Error::file(&data_file, e))?;
    }
    let mut reporter = reporter(quiet || !root);
    let started = Instant::now();
    let options = RetrainOptions {
        stop: stop_on_signals(),
        devices: if devices.len() > 1 {
            devices.to_vec()
        } else {
            Vec::new()
        },
        ranks,
        ..RetrainOptions::default()
    };
    let board_error = if tensorboard && root {
        let dir = out.join(nse::train::run_dir::TENSORBOARD_DIR);
        let (mut board, error) =
            RetrainBoard::create(&dir).map_err(|e| nse::Error::file(&dir, e))?;
        options.observe(move |event| board.observe(event));
        Some(error)
    } else {
        None
    };
    let report = retrain(
        network,
        data,
        &config,
        device,
        out,
        &options,
        reporter.as_mut(),
    )?;
    if !root {
        return Ok(());
    }
    if let Some(e) = board_error.and_then(|e| e.get()) {
        eprintln!("warning: the TensorBoard event file could not be written: {e}");
    }
    let last = report.epochs.last().ok_or("retraining ran no epoch")?;
    println!(
        "retrained {} epochs in {:.0} s: test top-1 {:.2}%, top-5 {:.2}% ({:.2} MMACs, {:.3} M params)",
        report.epochs.len(),
        started.elapsed().as_secs_f64(),
        last.test.top1,
        last.test.top5,
        report.macs as f64 / 1e6,
        report.params as f64 / 1e6
    );
    println!(
        "model: {} (and model.safetensors, report.json)",
        out.join(MODEL_FILE).display()
    );
    Ok(())
}

pub(crate) fn retrain_command(args: RetrainArgs, ranks: SharedRanks) -> nse::Result<()> {
    let devices = args.common.devices()?;
    let (network, run_source) = match (&args.arch, &args.front) {
        (Some(arch), None) => (nse::network::load(arch, 0)?, None),
        (None, Some(front)) => {
            let file = FrontFile::read(front)?;
            // The data of the search that made the front, when it is beside it.
            let source = front
                .parent()
                .and_then(|d| RunDir::new(d).read_config().ok())
                .map(|c| c.data.source);
            (file.network(args.index)?, source)
        }
        _ => return Err("give --arch FILE|NAME or --front front.json [--index I]".into()),
    };
    let source = match (&args.data.data, run_source) {
        (Some(spec), _) => spec.parse()?,
        (None, Some(source)) => source,
        (None, None) => DataSource::FashionMnistDemo,
    };
    let config = recipe(&args.recipe, &args.overrides)?;
    run_retrain(
        &network,
        &source,
        config,
        &args.out,
        &devices,
        args.common.quiet,
        !args.no_tensorboard,
        ranks,
    )
}

/// The network of a retrain output directory and its trained weights.
pub(crate) fn load_retrained(
    dir: &Path,
    device: &nse::burn::tensor::Device,
) -> nse::Result<(NetworkSpec, SearchSpace, Architecture, ChildNetwork)> {
    let network: NetworkSpec = read_json(&dir.join(NETWORK_FILE))?;
    let (space, arch) = network.resolve()?;
    let model = ChildNetwork::load(&space, &arch, device, &dir.join(MODEL_FILE))?;
    Ok((network, space, arch, model))
}

/// The normalisation a retrained model was trained with, from its `report.json` (`None` when
/// the report is missing or has none).
pub(crate) fn recorded_normalize(dir: &Path) -> Option<Normalize> {
    std::fs::read_to_string(dir.join(REPORT_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| serde_json::from_value(v["normalize"].clone()).ok())
}

pub(crate) fn eval_command(args: EvalArgs) -> nse::Result<()> {
    let device = args.common.single_device("eval")?;
    let (_, space, _, model) = load_retrained(&args.model, &device)?;
    let source = match &args.data.data {
        Some(spec) => spec.parse()?,
        None => std::fs::read_to_string(args.model.join(DATA_FILE))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(DataSource::FashionMnistDemo),
    };
    let channels = space.spec().input_channels;
    let (train, test) = open_splits(&source, channels)?;
    let test = test.ok_or("the dataset has no test split")?;
    // The normalisation the network was retrained with (its report), else the source's.
    let normalize = match recorded_normalize(&args.model) {
        Some(normalize) if args.data.data.is_none() => normalize,
        _ => normalization(&source, &NormalizeChoice::Auto, channels, &*train)?,
    };
    let settings = EvalSettings::new(args.batch_size).with_normalize(normalize);
    let mut reporter = reporter(args.common.quiet);
    let report = evaluate(&model, test, &settings, &device, reporter.as_mut())?;
    println!(
        "{}: top-1 {:.2}%, top-5 {:.2}%, loss {:.4} on {} test images",
        args.model.display(),
        report.top1,
        report.top5,
        report.loss,
        report.images
    );
    Ok(())
}
