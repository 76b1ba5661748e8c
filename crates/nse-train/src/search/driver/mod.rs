//! The multi-round NSE search (docs/method.md §6–§7): the [`Search`] type, its run
//! directory and checkpoints, and the loop over rounds. Each phase of a round has a file of
//! its own: `train.rs` (§6: weight and indicator steps, dropping), `evaluate.rs` (§7.1–7.2:
//! sampling the candidates, scoring them), `evolve.rs` (§7.4–7.6: front, evolution).

mod evaluate;
mod evolve;
mod ranks;
mod train;

pub use crate::ranks::SharedRanks;
pub use evaluate::{Evaluator, Score, Scorer};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use burn::tensor::loss::cross_entropy_with_logits;
use serde::{Deserialize, Serialize};

use nse_space::{
    Architecture, CostTable, EvolutionState, Origin, SearchSpace, SubSpace, WindowSampler,
};
use nse_supernet::recalibration::recalibrate;
use nse_supernet::store::{load_module, save_module};
use nse_supernet::{Indicators, Supernet, SupernetOptions, SupernetState};

use crate::data::rng::derive_rng;
use crate::data::{Batch, HostBatch, Loader, LoaderConfig, Pipeline, Position};
use crate::interrupt::StopFlag;
use crate::metrics::top_k_correct;
use crate::optim::{adam, sgd};
use crate::plot::plot_pareto;
use crate::progress::Reporter;
use crate::run_dir::RunDir;
use crate::schedule::CosineWarmup;
use crate::search::checkpoint::{self, Evaluated, Phase, SearchState};
use crate::search::config::{SearchConfig, UnsampledOps};
use crate::search::data::{RunData, SharedDataset, open, split};
use crate::search::display::SearchDisplay;
use crate::search::error::{Result, SearchError};
use crate::search::events::{RoundPhase, SearchEvent, StopReason};
use crate::search::front::Front;
use crate::search::log::{Observers, RunLog};
use crate::search::plan::SearchPlan;
use crate::search::report::FrontEntry;
use crate::search::round::RoundIndex;
use nse_supernet::ranks::{
    Workers, indicator_step_ranked, trainable_parameter_hash, weight_step_ranked,
};

use crate::ranks::{DRIFT, RankFolder, RanksError, SAME_INPUTS, agree_fingerprint, agree_on};
use ranks::{gather_scores, shared_files};

/// Seed streams of the search (see [`derive_rng`]).
const STREAM_WEIGHT_STEP: u64 = 101;
const STREAM_INDICATOR_STEP: u64 = 102;
pub(crate) const STREAM_WINDOW: u64 = 103;
const STREAM_INIT: u64 = 104;
pub(crate) const STREAM_EVOLUTION: u64 = 105;
const STREAM_DATA: u64 = 106;
const STREAM_FAIR_BLOCK: u64 = 107;
/// The order of the held-out split that scoring takes its batches from.
pub(crate) const STREAM_SCORE_ORDER: u64 = 108;

/// What a call to [`Search::run`] achieved.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOutcome {
    /// Whether every round is done (false when a step budget or a [`StopFlag`] stopped it;
    /// resume to go on).
    pub finished: bool,
    /// Whether a raised [`StopFlag`] stopped it (after writing a checkpoint).
    pub interrupted: bool,
    /// Rounds completed so far.
    pub rounds_done: usize,
    /// Weight steps over the whole run.
    pub total_steps: u64,
    /// The latest front (empty before the first round completes).
    pub front: Vec<FrontEntry>,
    /// Where `front.json` was written (when finished).
    pub front_path: Option<PathBuf>,
    /// The pause it stopped at ([`Search::pause_at`]), with a checkpoint; `run` again to go
    /// on.
    pub paused: Option<Pause>,
}

/// A point between the phases of a round where [`Search::run`] can pause, with a checkpoint,
/// for research code to look and intervene before it is run again ([`Search::pause_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pause {
    /// A round's supernet is trained and its candidates sampled, none scored yet:
    /// [`Search::candidates`] lists them, [`Search::add_candidates`] adds architectures of
    /// your own.
    BeforeEvaluation,
    /// A round ended: its front is built and the sub-space evolved; the next round has not
    /// started ([`SearchOutcome::front`] holds the round's front, and
    /// [`Search::set_subspace`] changes the next round's sub-space).
    AfterRound,
}

/// An NSE search bound to a run directory.
pub struct Search {
    plan: SearchPlan,
    run_dir: RunDir,
    device: Device,
    devices: Vec<Device>,
    data: RunData,
    started: std::time::Instant,
    stop: StopFlag,
    end_training: StopFlag,
    poisoned: Vec<(usize, u64)>,
    observers: Observers,
    evaluator: std::sync::Mutex<Option<Box<dyn Evaluator>>>,
    pauses: Vec<Pause>,
    ranks: SharedRanks,
    // This rank's private run folder (ranks other than 0), removed with the search.
    _folder: Option<RankFolder>,
}

type TrainLoader = Loader<SharedDataset, Pipeline>;

/// Datasets given from code: the training set and the test set, if any.
type Given = (SharedDataset, Option<SharedDataset>);

/// A round's models: the supernet and its indicators, and their two optimizers.
pub(super) struct RoundModels {
    /// The supernet and the importance indicators.
    pub(super) state: SupernetState,
    /// SGD on the weights.
    pub(super) weight_optim: ModuleOptimizer,
    /// Adam on the indicators.
    pub(super) alpha_optim: ModuleOptimizer,
}

/// The loaders of a run: training batches for the weight steps, held-out batches for the
/// indicator steps.
pub(super) struct Loaders {
    /// The training split.
    pub(super) train: TrainLoader,
    /// The held-out split.
    pub(super) held: TrainLoader,
}

impl Search {
    /// Prepares a fresh search in `run_dir` (created; it must not hold a checkpoint): checks
    /// the config, opens the data, turns a [`relative`](super::ResourceConfig::relative)
    /// resource setting into the metric's unit, checks that the resource window can be met,
    /// and writes the resolved `config.json`. Training runs on `device` with autodiff.
    pub fn new(config: SearchConfig, run_dir: &Path, device: &Device) -> Result<Self> {
        Self::create(config, run_dir, device, None)
    }

    /// [`new`](Self::new) on datasets given from code instead of `config.data.source`: any
    /// [`Dataset`](crate::data::Dataset) (`train` is split into training and held-out parts
    /// by `data.holdout_fraction`; `test`, if any, is kept for retraining). The run records
    /// `data.source` as [`DataSource::Custom`](super::DataSource::Custom) named `name`, and
    /// [`resume_with_datasets`](Self::resume_with_datasets) continues it with the same
    /// datasets. `data.normalize = auto` measures them.
    pub fn with_datasets(
        mut config: SearchConfig,
        name: &str,
        train: SharedDataset,
        test: Option<SharedDataset>,
        run_dir: &Path,
        device: &Device,
    ) -> Result<Self> {
        config.data.source = super::DataSource::Custom {
            name: name.to_string(),
        };
        Self::create(config, run_dir, device, Some((train, test)))
    }

    /// [`resume`](Self::resume) of a search started with
    /// [`with_datasets`](Self::with_datasets), given the same datasets again.
    pub fn resume_with_datasets(
        run_dir: &Path,
        train: SharedDataset,
        test: Option<SharedDataset>,
        device: &Device,
        max_steps: Option<u64>,
    ) -> Result<Self> {
        Self::reopen(run_dir, device, max_steps, Some((train, test)))
    }

    fn create(
        config: SearchConfig,
        run_dir: &Path,
        device: &Device,
        given: Option<Given>,
    ) -> Result<Self> {
        let plan = config.check()?;
        if !checkpoint::candidates(run_dir).is_empty() {
            return Err(SearchError::Config(format!(
                "`{}` already holds a search checkpoint: resume it or choose another output folder",
                run_dir.display()
            )));
        }
        std::fs::create_dir_all(run_dir).map_err(|e| SearchError::io(run_dir, e))?;
        let mut search = Self::prepare(plan, run_dir, device, given)?;
        // The pipelines as resolved for the input size: a resume uses exactly these, even
        // if the defaults change.
        let (train, eval) = (
            search.data.train_pipeline.clone(),
            search.data.eval_pipeline.clone(),
        );
        search.plan.set_pipelines(train, eval);
        search.plan.check_window()?;
        search.run_dir.write_config(&search.plan.config)?;
        Ok(search)
    }

    /// Reopens the search in `run_dir` from its `config.json` to continue from the latest
    /// checkpoint. `max_steps` replaces the saved step budget.
    pub fn resume(run_dir: &Path, device: &Device, max_steps: Option<u64>) -> Result<Self> {
        Self::reopen(run_dir, device, max_steps, None)
    }

    fn reopen(
        run_dir: &Path,
        device: &Device,
        max_steps: Option<u64>,
        given: Option<Given>,
    ) -> Result<Self> {
        let folder = RunDir::new(run_dir);
        let mut config = folder.read_config()?;
        config.max_steps = max_steps;
        let plan = config.check()?;
        if checkpoint::candidates(run_dir).is_empty() && folder.has_front() {
            return Err(SearchError::Config(format!(
                "`{}` holds a finished search",
                run_dir.display()
            )));
        }
        Self::prepare(plan, run_dir, device, given)
    }

    fn prepare(
        plan: SearchPlan,
        run_dir: &Path,
        device: &Device,
        given: Option<Given>,
    ) -> Result<Self> {
        let spec = plan.space.spec();
        let (channels, size) = (spec.input_channels, spec.input_size);
        let seed = derive_seed(plan.config.seed, STREAM_DATA);
        let data = match given {
            Some((train, test)) => split(&plan.config.data, train, test, channels, size, seed)?,
            None => open(&plan.config.data, channels, size, seed)?,
        };
        Ok(Search {
            plan,
            run_dir: RunDir::new(run_dir),
            device: device.clone().autodiff(),
            devices: vec![device.clone().autodiff()],
            data,
            started: std::time::Instant::now(),
            stop: StopFlag::new(),
            end_training: StopFlag::new(),
            poisoned: Vec::new(),
            observers: Observers::default(),
            evaluator: std::sync::Mutex::new(None),
            pauses: Vec::new(),
            ranks: Arc::new(nse_cluster::Solo),
            _folder: None,
        })
    }

    /// [`new`](Self::new) on one rank of a job spread over processes and machines
    /// (`nse_cluster`; `docs/guide/cluster.md`). Every rank calls it with the same config,
    /// and fails when one rank does. Rank 0 writes `run_dir`; every other rank runs the
    /// same search in a private folder under the temporary directory, removed with the
    /// search. Each node needs the data (and a latency table) at the paths the config
    /// names; the ranks check that they agree on the config, costs and data.
    ///
    /// Every weight and indicator step splits its global batch over the ranks, then over
    /// each rank's [devices](Self::set_devices), and all-reduces the gradients
    /// (`nse_supernet::ranks`); the end-of-round evaluation scores candidate `i` on rank
    /// `i mod size` and gathers the scores on every rank. A stop asked on any rank
    /// ([`stop_when`](Self::stop_when)) stops every rank at the same step.
    ///
    /// Every rank of a job started by `mpirun -np 2 my-search` runs this (built with
    /// `nse-cluster`'s feature `mpi`; alone, it is one rank):
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use burn::tensor::Device;
    /// use nse_cluster::{Collective, Ranks};
    /// use nse_train::progress::Quiet;
    /// use nse_train::search::{Search, SearchConfig, SharedRanks};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let ranks: SharedRanks = Arc::new(Ranks::from_launcher()?);
    /// let config: SearchConfig = serde_json::from_str(&std::fs::read_to_string("search.json")?)?;
    /// let run = std::path::Path::new("runs/cluster");
    /// let mut search = Search::new_on_ranks(config, run, &Device::flex(), Arc::clone(&ranks))?;
    /// match search.run(&mut Quiet) {
    ///     Ok(outcome) if ranks.is_root() => println!("front: {:?}", outcome.front_path),
    ///     Ok(_) => {}
    ///     // The other ranks would wait for this one in their next collective: end them all.
    ///     Err(e) => ranks.abort(1, &e.to_string()),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn new_on_ranks(
        config: SearchConfig,
        run_dir: &Path,
        device: &Device,
        ranks: SharedRanks,
    ) -> Result<Self> {
        let folder = RankFolder::open(&*ranks, run_dir, None)?;
        let search = Self::new(config, folder.path(), device);
        agree_on(&*ranks, search, "creating the search")?.join_ranks(ranks, folder)
    }

    /// [`resume`](Self::resume) on one rank of a job ([`new_on_ranks`](Self::new_on_ranks)):
    /// rank 0 reads `run_dir` and sends its config, log and checkpoints to the other ranks,
    /// so that nodes need no shared file system. A run resumes on any number of ranks, as
    /// on any number of devices.
    pub fn resume_on_ranks(
        run_dir: &Path,
        device: &Device,
        max_steps: Option<u64>,
        ranks: SharedRanks,
    ) -> Result<Self> {
        let folder = RankFolder::open(&*ranks, run_dir, Some(&shared_files))?;
        let search = Self::resume(folder.path(), device, max_steps);
        agree_on(&*ranks, search, "reopening the search")?.join_ranks(ranks, folder)
    }

    /// Takes `ranks` after checking that every rank planned the same search on the same
    /// data.
    fn join_ranks(mut self, ranks: SharedRanks, folder: RankFolder) -> Result<Self> {
        let mut fingerprint = serde_json::to_vec(&self.plan.config)
            .map_err(|e| RanksError::Failed(format!("the config does not serialise: {e}")))?;
        fingerprint.extend(
            format!(
                "{:?} {} {}",
                self.plan.costs,
                self.data.train.len(),
                self.data.held_out.len()
            )
            .as_bytes(),
        );
        agree_fingerprint(
            &*ranks,
            &fingerprint,
            "the search's config, costs and data",
            SAME_INPUTS,
        )?;
        self.ranks = ranks;
        self._folder = Some(folder);
        Ok(self)
    }

    /// The ranks of the job this search belongs to (one, unless made by
    /// [`new_on_ranks`](Self::new_on_ranks) or [`resume_on_ranks`](Self::resume_on_ranks)).
    pub fn ranks(&self) -> &dyn nse_cluster::Collective {
        &*self.ranks
    }

    /// Whether a stop was asked on any rank (raising this rank's flag when so, so that its
    /// outcome says `interrupted`). Collective.
    fn stop_asked(&self) -> bool {
        let asked = self.ranks.any(self.stop.is_raised());
        if asked {
            self.stop.raise();
        }
        asked
    }

    /// Stops [`run`](Self::run) at the next weight step or evaluated architecture once
    /// `flag` is raised: a checkpoint is written there, the outcome says `interrupted`, and
    /// [`Search::resume`] continues exactly.
    pub fn stop_when(&mut self, flag: StopFlag) {
        self.stop = flag;
    }

    /// Spreads the work over `devices` (data parallelism; `docs/scaling.md`). The first must
    /// be the device the search was opened on, where the supernet, the indicators and the
    /// optimizers live. The same device may appear several times (CPU replicas in threads).
    ///
    /// - A weight step splits its batch into a shard per device, with a replica of the path
    ///   forked to each, and takes one step with the share-weighted sum of their gradients
    ///   ([`nse_supernet::parallel::weight_step_parallel`]). Batch norm normalises per
    ///   shard, as PyTorch DDP without `SyncBatchNorm`.
    /// - An indicator step splits its held-out batch the same way, with a replica of both
    ///   sampled paths (frozen) and of the indicators on each device, and takes one step of
    ///   the indicators on the first device with the summed gradients
    ///   ([`nse_supernet::parallel::indicator_step_parallel`]).
    /// - The end-of-round evaluation scores one candidate per device at a time, each on a
    ///   replica of the supernet; the scores and the front are those of one device (on
    ///   devices of one kind). A custom [`Evaluator`] runs on the first device only.
    ///
    /// Not saved: a resumed run takes the devices it is given, and may use another number.
    pub fn set_devices(&mut self, devices: &[Device]) -> Result<()> {
        let devices: Vec<Device> = devices.iter().map(|d| d.clone().autodiff()).collect();
        match devices.first() {
            None => Err(SearchError::Config("`devices` lists no device".into())),
            Some(first) if *first != self.device => Err(SearchError::Config(format!(
                "the first of `devices` must be the search's own device {:?}, not {first:?}",
                self.device
            ))),
            Some(_) => {
                self.devices = devices;
                Ok(())
            }
        }
    }

    /// The devices the work is spread over ([`set_devices`](Self::set_devices)); the first
    /// is the search's own.
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// Ends the current round's supernet training early once `flag` is raised (by an
    /// observer watching the loss, another thread, …): at the next weight step the round
    /// closes its epoch (probe, checkpoint) and goes on to its evaluation, with a logged
    /// [`SearchEvent::TrainingEndedEarly`]. The flag is lowered when answered, so each raise
    /// ends one round; later rounds train in full unless it is raised again. A resumed run
    /// continues from where the ended round's checkpoint left it.
    pub fn end_training_when(&mut self, flag: StopFlag) {
        self.end_training = flag;
    }

    /// A failure-testing hook: the training batches of the weight steps `at` (round and
    /// step, both 1-based) are multiplied by NaN before the step, so that their loss is NaN
    /// (what `non_finite_loss` is about). Not saved: set it again after a resume.
    pub fn inject_non_finite_batches(&mut self, at: &[(usize, u64)]) {
        self.poisoned = at.to_vec();
    }

    /// Calls `observer` with every event of the search from now on, as it happens: what
    /// `log.jsonl` records ([`SearchEvent`]), and every weight and indicator step. An
    /// observer runs on the training thread: keep it short.
    pub fn observe(&mut self, observer: impl FnMut(&SearchEvent) + Send + 'static) {
        if let Ok(mut observers) = self.observers.lock() {
            observers.push(Box::new(observer));
        }
    }

    /// Scores the end-of-round candidates with `evaluator` instead of the method's BN
    /// recalibration and held-out top-1 ([`Evaluator`]). Set it again after
    /// [`resume`](Self::resume): it is code, not part of the saved configuration.
    pub fn evaluate_with(&mut self, evaluator: impl Evaluator + 'static) {
        if let Ok(mut slot) = self.evaluator.lock() {
            *slot = Some(Box::new(evaluator));
        }
    }

    /// Makes [`run`](Self::run) pause at every one of `pauses` (none by default): it writes a
    /// checkpoint there and returns with [`SearchOutcome::paused`]; `run` again continues
    /// from it, exactly as after an interruption.
    pub fn pause_at(&mut self, pauses: &[Pause]) {
        self.pauses = pauses.to_vec();
    }

    /// The checked search space.
    pub fn space(&self) -> &SearchSpace {
        &self.plan.space
    }

    /// The costs of the resource metric on the space (what the window, penalty and fronts
    /// measure).
    pub fn costs(&self) -> &CostTable {
        &self.plan.costs
    }

    /// The configuration.
    pub fn config(&self) -> &SearchConfig {
        &self.plan.config
    }

    /// The checked plan: configuration, space, cost table, window and first sub-space.
    pub fn plan(&self) -> &SearchPlan {
        &self.plan
    }

    /// The datasets.
    pub fn data(&self) -> &RunData {
        &self.data
    }

    /// The latest checkpoint and its progress, which must be where `pause` stops: in a
    /// round's evaluation ([`Pause::BeforeEvaluation`]) or at the start of a round after the
    /// first ([`Pause::AfterRound`]).
    fn paused_checkpoint(&self, pause: Pause) -> Result<(PathBuf, SearchState)> {
        let not_paused = |why: &str| SearchError::Checkpoint {
            path: checkpoint::checkpoint_dir(self.run_dir.path())
                .display()
                .to_string(),
            message: format!("{why}: pause the search at `Pause::{pause:?}` first"),
        };
        let (dir, progress) = checkpoint::inspect(self.run_dir.path())
            .intact
            .ok_or_else(|| not_paused("no checkpoint"))?;
        let there = match (pause, &progress.phase) {
            (Pause::BeforeEvaluation, Phase::Evaluate { .. }) => true,
            (Pause::AfterRound, Phase::Train { step, position, .. }) => {
                *step == 0 && position.batch == 0 && progress.rounds_done > 0
            }
            _ => false,
        };
        match (there, pause) {
            (true, _) => Ok((dir, progress)),
            (false, Pause::BeforeEvaluation) => {
                Err(not_paused("the search is not in an evaluation"))
            }
            (false, Pause::AfterRound) => Err(not_paused("the search is not between two rounds")),
        }
    }

    /// The model and progress of the latest checkpoint of the run directory: after a finished
    /// search, the last round's trained supernet and learned indicators, its final sub-space
    /// (`progress.evolution.subspace()`) and fronts. For analysis with inherited weights
    /// ([`Scorer`]); training does not continue from it.
    pub fn latest_state(&self) -> Result<(SupernetState, SearchState)> {
        let (dir, progress) = checkpoint::inspect(self.run_dir.path())
            .intact
            .ok_or_else(|| SearchError::Checkpoint {
                path: checkpoint::checkpoint_dir(self.run_dir.path())
                    .display()
                    .to_string(),
                message: "the run directory holds no checkpoint".into(),
            })?;
        progress.evolution.check_space(&self.plan.space)?;
        let models = self.load_models(&dir, derive_seed(self.plan.config.seed, STREAM_INIT))?;
        Ok((models.state, progress))
    }

    /// Opens the run directory of an existing search (finished or not) for analysis, with
    /// its saved `config.json`; nothing is trained or written.
    pub fn open(run_dir: &Path, device: &Device) -> Result<Self> {
        let plan = RunDir::new(run_dir).read_config()?.check()?;
        Self::prepare(plan, run_dir, device, None)
    }

    fn window_sampler(&self) -> WindowSampler {
        self.plan.window_sampler()
    }

    fn loader(
        &self,
        dataset: &SharedDataset,
        shuffle: bool,
        pipeline: Pipeline,
        seed: u64,
    ) -> Result<TrainLoader> {
        self.loader_keeping_last(dataset, shuffle, !shuffle, pipeline, seed)
    }

    /// [`loader`](Self::loader) that keeps an incomplete last batch when `keep_last`.
    fn loader_keeping_last(
        &self,
        dataset: &SharedDataset,
        shuffle: bool,
        keep_last: bool,
        pipeline: Pipeline,
        seed: u64,
    ) -> Result<TrainLoader> {
        let mut config = LoaderConfig::new(self.plan.config.batch_size)
            .with_seed(seed)
            .with_shuffle(shuffle)
            .with_drop_last(!keep_last)
            .with_normalize(self.data.normalize.clone());
        if let Some(workers) = self.plan.config.data.workers {
            config = config
                .with_workers(workers)
                .with_prefetch(2 * workers.max(1));
        }
        Ok(Loader::new(
            Arc::clone(dataset),
            pipeline,
            config,
            self.device.clone(),
        )?)
    }

    /// Runs (or continues) the search until every round is done, `max_rounds` is reached, or
    /// the step budget runs out; writes checkpoints, the log, plots and `front.json`.
    pub fn run(&mut self, reporter: &mut dyn Reporter) -> Result<SearchOutcome> {
        let training_seed = self.plan.config.training_seed();
        let (opened, damaged) = self.open_checkpoint(training_seed)?;
        let mut set_aside = Vec::new();
        for (dir, _) in &damaged {
            // Moved aside (kept for inspection), so that the next checkpoint does not rotate
            // it into the fallback's place.
            set_aside.push(checkpoint::set_aside(dir)?);
        }
        let mut preloaded = None;
        let (mut progress, resumed) = match opened {
            Some((dir, progress, models)) => {
                preloaded = models;
                (progress, Some(dir))
            }
            None => (
                SearchState {
                    evolution: self.plan.first_evolution().clone(),
                    rounds_done: 0,
                    phase: Phase::start(0),
                    total_steps: 0,
                    log_len: 0,
                    fronts: Vec::new(),
                },
                None,
            ),
        };
        // The progress shown to people is one observer among the others.
        let mut shown = SearchDisplay::new(reporter);
        let mut show = |event: &SearchEvent| shown.on_event(event);
        let mut log = RunLog::open(&self.run_dir.log_path(), progress.log_len)?
            .with_observers(self.observers.clone())
            .with_local(&mut show);
        let rounds = self.total_rounds(&progress.evolution);
        if resumed.is_none() {
            log.write(&SearchEvent::Start {
                space: self.plan.config.space.clone(),
                pool: self.plan.space.pool().name().to_string(),
                cells: self.plan.space.num_cells(),
                rounds,
                train_images: self.data.train.len(),
                held_out_images: self.data.held_out.len(),
                fixed_cost: self.plan.costs.fixed,
                unit: self.plan.costs.unit.clone(),
                skipped_files: self.data.skipped_files,
            })?;
        } else {
            for ((dir, why), aside) in damaged.iter().zip(set_aside) {
                log.write(&SearchEvent::DamagedCheckpoint {
                    checkpoint: dir.clone(),
                    why: why.clone(),
                    set_aside: Some(aside),
                })?;
            }
            log.write(&SearchEvent::Resume {
                round: progress.round().number(),
                total_steps: progress.total_steps,
                rounds,
                unit: self.plan.costs.unit.clone(),
                checkpoint: resumed.clone(),
            })?;
        }
        let loaders = Loaders {
            train: self.loader(
                &self.data.train,
                true,
                self.data.train_pipeline.clone(),
                derive_seed(training_seed, 1),
            )?,
            held: self.loader(
                &self.data.held_out,
                true,
                self.data.eval_pipeline.clone(),
                derive_seed(training_seed, 2),
            )?,
        };
        if loaders.train.num_batches() == 0 || loaders.held.num_batches() == 0 {
            return Err(SearchError::Config(format!(
                "batch size {} leaves no full batch: {} training and {} held-out images",
                self.plan.config.batch_size,
                self.data.train.len(),
                self.data.held_out.len()
            )));
        }
        let mut budget = self.plan.config.max_steps;

        while progress.rounds_done < rounds {
            let round = progress.round();
            let init_seed = derive_seed(training_seed, STREAM_INIT ^ (round.stream() << 16));
            // The checkpoint's models continue the first round resumed (unless it had not
            // started training); every later round starts afresh.
            let mut models = match preloaded.take() {
                Some(models) => models,
                None => self.fresh_models(init_seed)?,
            };
            if let Phase::Train {
                step: 0, position, ..
            } = progress.phase
                && position.batch == 0
            {
                log.write(&SearchEvent::RoundStart {
                    round: round.number(),
                    subspace: progress.evolution.subspace().cells().to_vec(),
                    pending: progress.evolution.pending().iter().map(Vec::len).collect(),
                })?;
            }
            if let Phase::Train { .. } = progress.phase {
                let stopped =
                    self.train_round(&mut progress, &mut models, &loaders, &mut log, &mut budget)?;
                if stopped {
                    return Ok(self.outcome(&progress, false, None));
                }
                let archs = self.sample_for_evaluation(&progress, &models.state, &mut log)?;
                progress.phase = Phase::Evaluate { archs };
                self.save_checkpoint(&progress, &models, &log)?;
                if self.pauses.contains(&Pause::BeforeEvaluation) {
                    return Ok(self.paused(&progress, Pause::BeforeEvaluation));
                }
            }
            if self.evaluate_round(&mut progress, &mut models.state, &mut log)? {
                return Ok(self.outcome(&progress, false, None));
            }
            // The round is evaluated: front, evolution, next round.
            let front = self.finish_round(&mut progress, &mut log)?;
            progress.fronts.push(front);
            progress.rounds_done += 1;
            progress.phase = Phase::start(progress.rounds_done * self.plan.config.epochs_per_round);
            self.save_checkpoint(&progress, &models, &log)?;
            if progress.rounds_done < rounds && self.pauses.contains(&Pause::AfterRound) {
                return Ok(self.paused(&progress, Pause::AfterRound));
            }
        }

        let front = progress.fronts.last().cloned().unwrap_or_default();
        let file = Front::new(front.clone()).file(&self.plan, progress.rounds_done);
        self.run_dir.write_front(&file)?;
        log.write(&SearchEvent::Finish {
            rounds: progress.rounds_done,
            total_steps: progress.total_steps,
            front: front.clone(),
        })?;
        progress.log_len = log.len();
        Ok(self.outcome(&progress, true, Some(self.run_dir.front_path())))
    }

    fn outcome(
        &self,
        progress: &SearchState,
        finished: bool,
        front_path: Option<PathBuf>,
    ) -> SearchOutcome {
        SearchOutcome {
            finished,
            interrupted: !finished && self.stop.is_raised(),
            rounds_done: progress.rounds_done,
            total_steps: progress.total_steps,
            front: progress.fronts.last().cloned().unwrap_or_default(),
            front_path,
            paused: None,
        }
    }

    fn paused(&self, progress: &SearchState, pause: Pause) -> SearchOutcome {
        SearchOutcome {
            paused: Some(pause),
            ..self.outcome(progress, false, None)
        }
    }

    fn total_rounds(&self, evolution: &EvolutionState) -> usize {
        let all = evolution.num_rounds().max(1);
        self.plan.config.max_rounds.map_or(all, |m| m.min(all))
    }

    fn fresh_models(&self, init_seed: u64) -> Result<RoundModels> {
        let options = SupernetOptions {
            shadow_batch_norm: self.plan.config.shadow_batch_norm,
        };
        let state = SupernetState {
            supernet: Supernet::with_options(&self.plan.space, &self.device, init_seed, options)?,
            indicators: Indicators::for_space(&self.plan.space, &self.device),
        };
        Ok(RoundModels {
            state,
            weight_optim: sgd(&self.plan.config.sgd),
            alpha_optim: adam(0.0, self.plan.config.indicator.beta_2),
        })
    }

    /// The newest checkpoint of the run that is whole — its files match their checksums,
    /// its progress reads and fits the space, and its weights and indicators load with
    /// finite values — with its progress and, unless its round has not started training,
    /// its models; and every newer checkpoint found damaged, with why. `Ok((None, []))`
    /// for a run without checkpoints; an error when every checkpoint is damaged.
    #[allow(clippy::type_complexity)]
    fn open_checkpoint(
        &self,
        training_seed: u64,
    ) -> Result<(
        Option<(PathBuf, SearchState, Option<RoundModels>)>,
        Vec<(PathBuf, String)>,
    )> {
        let mut damaged = Vec::new();
        for dir in checkpoint::candidates(self.run_dir.path()) {
            let opened = checkpoint::verify(&dir).and_then(|progress| {
                progress
                    .evolution
                    .check_space(&self.plan.space)
                    .map_err(|e| e.to_string())?;
                let round = progress.round().stream();
                let init_seed = derive_seed(training_seed, STREAM_INIT ^ (round << 16));
                let round_start = progress.phase.is_start();
                let models = match round_start {
                    true => None,
                    false => Some(
                        self.load_models(&dir, init_seed)
                            .map_err(|e| e.to_string())?,
                    ),
                };
                Ok((progress, models))
            });
            match opened {
                Ok((progress, models)) => return Ok((Some((dir, progress, models)), damaged)),
                Err(why) => damaged.push((dir, why)),
            }
        }
        if damaged.is_empty() {
            return Ok((None, damaged));
        }
        let list: Vec<String> = damaged
            .iter()
            .map(|(dir, why)| format!("`{}`: {why}", dir.display()))
            .collect();
        Err(SearchError::Checkpoint {
            path: checkpoint::checkpoint_dir(self.run_dir.path())
                .display()
                .to_string(),
            message: format!(
                "no intact checkpoint is left to resume from ({}); start the search again in \
                 another folder",
                list.join("; ")
            ),
        })
    }

    fn load_models(&self, dir: &Path, init_seed: u64) -> Result<RoundModels> {
        let fresh = self.fresh_models(init_seed)?;
        let state = load_module(fresh.state, &dir.join("supernet.bpk"))?;
        let load = |optim: ModuleOptimizer, name: &str| -> Result<ModuleOptimizer> {
            let path = dir.join(name);
            optim.load(&path).map_err(|e| SearchError::Checkpoint {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        };
        Ok(RoundModels {
            state,
            weight_optim: load(fresh.weight_optim, "sgd.bin")?,
            alpha_optim: load(fresh.alpha_optim, "adam.bin")?,
        })
    }

    fn save_checkpoint(
        &self,
        progress: &SearchState,
        models: &RoundModels,
        log: &RunLog<'_>,
    ) -> Result<()> {
        if self.ranks.size() > 1 {
            agree_fingerprint(
                &*self.ranks,
                &trainable_parameter_hash(&models.state).to_le_bytes(),
                "the supernet's and the indicators' weights at a checkpoint",
                DRIFT,
            )?;
        }
        let mut progress = progress.clone();
        progress.log_len = log.len();
        checkpoint::write(self.run_dir.path(), &progress, |dir| {
            models.state.supernet.sync_statistics();
            save_module(&models.state, &dir.join("supernet.bpk"))?;
            let optims = [
                (&models.weight_optim, "sgd.bin"),
                (&models.alpha_optim, "adam.bin"),
            ];
            for (optim, name) in optims {
                let path = dir.join(name);
                optim.save(&path).map_err(|e| SearchError::Checkpoint {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?;
            }
            Ok(())
        })
    }
}

/// The seed of the block `block` of cell `cell` in round `round` (from 0) of
/// [`WeightSampling::Fair`](nse_space::WeightSampling::Fair) weight sampling.
fn fair_block_seed(seed: u64, round: u64, cell: u64, block: u64) -> u64 {
    use rand::RngCore;
    derive_rng(&[seed, STREAM_FAIR_BLOCK, round, cell, block]).next_u64()
}

/// A seed for `stream` of a run with `seed`.
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    use rand::RngCore;
    derive_rng(&[seed, stream]).next_u64()
}

/// The cost table of `config`'s resource metric on `space` (reads a latency table): the
/// costs the search, its reports and the experiments measure architectures in.
pub fn cost_table(config: &SearchConfig, space: &SearchSpace) -> Result<CostTable> {
    let model = config.resource.cost_model()?;
    Ok(CostTable::new(space, model.as_ref())?)
}
