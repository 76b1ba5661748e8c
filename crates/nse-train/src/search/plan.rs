//! A search's settings checked once into what every phase uses: [`SearchConfig::check`]
//! gives a [`SearchPlan`] (linfa's checked-parameters idiom, as `SpaceSpec::check` gives a
//! `SearchSpace`).
//!
//! ```
//! use nse_train::search::SearchConfig;
//! let plan = SearchConfig::preset("demo").unwrap().check().unwrap();
//! assert_eq!(plan.space().num_cells(), 7);
//! let window = plan.window();
//! assert_eq!((window.low(), window.high()), (2.5, 5.5));
//! plan.check_window().unwrap(); // the first sub-space reaches the window
//! ```

use nse_space::{
    CostTable, EvolutionState, Feasibility, ResourceWindow, SearchSpace, WindowSampler,
};

use crate::data::rng::derive_rng;
use crate::search::config::SearchConfig;
use crate::search::driver::{STREAM_EVOLUTION, STREAM_WINDOW, cost_table, derive_seed};
use crate::search::error::{Result, SearchError};

/// A checked search: the configuration with its resource setting in the metric's unit, the
/// checked space, the cost table of the resource metric, and the first round's evolution
/// state, each built once.
#[derive(Debug, Clone)]
pub struct SearchPlan {
    pub(crate) config: SearchConfig,
    pub(crate) space: SearchSpace,
    pub(crate) costs: CostTable,
    first: EvolutionState,
}

impl SearchConfig {
    /// Checks every setting ([`validate`](Self::validate)), the space and the probe
    /// architectures against it, reads the cost model (a latency table, when the metric is
    /// latency), and turns a [`relative`](super::ResourceConfig::relative) resource setting
    /// into the metric's unit: the [`SearchPlan`] a search runs. Errors name the first
    /// invalid setting.
    pub fn check(self) -> Result<SearchPlan> {
        self.validate()?;
        let space = self.space.check()?;
        for (i, arch) in self.evaluation.probe.iter().enumerate() {
            space.check_architecture(arch).map_err(|e| {
                SearchError::Config(format!(
                    "`evaluation.probe[{i}]` does not fit the space: {e}"
                ))
            })?;
        }
        let costs = cost_table(&self, &space)?;
        let mut config = self;
        config.resource = config.resource.resolve(&space, &costs)?;
        let first = EvolutionState::from_seed(&space, derive_seed(config.seed, STREAM_EVOLUTION));
        Ok(SearchPlan {
            config,
            space,
            costs,
            first,
        })
    }
}

impl SearchPlan {
    /// The configuration, its resource setting in the metric's unit.
    pub fn config(&self) -> &SearchConfig {
        &self.config
    }

    /// The configuration, given back.
    pub fn into_config(self) -> SearchConfig {
        self.config
    }

    /// The checked search space.
    pub fn space(&self) -> &SearchSpace {
        &self.space
    }

    /// The costs of the resource metric on the space.
    pub fn costs(&self) -> &CostTable {
        &self.costs
    }

    /// The resource window (and its extra band), in the metric's unit.
    pub fn window(&self) -> ResourceWindow {
        self.config.resource.window()
    }

    /// The end-of-round sampler: the window, `evaluation.n`, `n_extra` and the attempt
    /// budget (`attempts_per_architecture` per architecture wanted).
    pub fn window_sampler(&self) -> WindowSampler {
        let e = &self.config.evaluation;
        let mut sampler = WindowSampler::new(self.window(), e.n, e.n_extra);
        sampler.max_attempts = e.attempts_per_architecture.saturating_mul(e.n + e.n_extra);
        sampler
    }

    /// The evolution state the search starts from: its first sub-space (the first K ops of
    /// each cell's introduction order, fixed by `seed` whatever the training seed) and the
    /// pending pool.
    pub fn first_evolution(&self) -> &EvolutionState {
        &self.first
    }

    /// Judges before any training whether the window can be met from the first round's
    /// sub-space ([`WindowSampler::check_feasible`]): the window must overlap the costs the
    /// sub-space can reach, and sampling over a sweep of branch probabilities must find
    /// `evaluation.n` distinct architectures in it (and `n_extra` in the extra band). Needs
    /// no data; [`Search::new`](super::Search::new) calls it. Fails with
    /// [`SearchError::Infeasible`], saying what the space reaches.
    pub fn check_window(&self) -> Result<Feasibility> {
        let mut rng = derive_rng(&[self.config.seed, STREAM_WINDOW, u64::MAX]);
        self.window_sampler()
            .check_feasible(&self.space, &self.costs, self.first.subspace(), &mut rng)
            .map_err(|e| {
                let r = &self.config.resource;
                SearchError::Infeasible(format!(
                    "{e}. The window is {:.3}..{:.3} {} (target {} ± {}, extra band {} below); \
                     the fixed stem+tail cost alone is {:.3}. Adjust `resource` or \
                     `evaluation.n` in the config.",
                    r.target - r.drift,
                    r.target + r.drift,
                    self.costs.unit,
                    r.target,
                    r.drift,
                    r.extra_drift,
                    self.costs.fixed,
                ))
            })
    }

    /// Replaces the data pipelines with those resolved for the input size, so that a resumed
    /// search uses exactly these even if the defaults change.
    pub(crate) fn set_pipelines(
        &mut self,
        train: crate::data::Pipeline,
        eval: crate::data::Pipeline,
    ) {
        self.config.data.train_pipeline = Some(train);
        self.config.data.eval_pipeline = Some(eval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_resolves_once_and_checks_what_the_config_cannot() {
        // The relative demo-latency preset under MACs resolves into MMACs in the plan.
        let mut relative = SearchConfig::preset("demo-latency").unwrap();
        relative.resource.metric = nse_space::CostKind::Macs;
        let plan = relative.check().unwrap();
        assert!(!plan.config().resource.relative);
        let demo = SearchConfig::preset("demo").unwrap().check().unwrap();
        assert!((plan.window().low() - demo.window().low()).abs() < 1e-2);
        // The first sub-space is the seed's, K ops per cell.
        assert!(
            demo.first_evolution()
                .subspace()
                .cells()
                .iter()
                .all(|ops| ops.len() == 5)
        );
        // A probe that does not fit the space is refused by the check, before any data.
        let mut probed = SearchConfig::preset("demo").unwrap();
        probed.evaluation.probe = vec![nse_space::Architecture::new(vec![vec![0]]).unwrap()];
        let err = probed.check().unwrap_err().to_string();
        assert!(err.contains("evaluation.probe[0]"), "{err}");
        // A window the space cannot reach fails the window check, naming the window.
        let mut far = SearchConfig::preset("demo").unwrap();
        far.resource.target = 500.0;
        far.resource.drift = 1.0;
        let err = far.check().unwrap().check_window().unwrap_err().to_string();
        assert!(err.contains("499.000..501.000"), "{err}");
    }
}
