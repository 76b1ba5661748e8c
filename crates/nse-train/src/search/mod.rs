//! The NSE search driver: configuration, data, the multi-round loop, checkpoints, the run
//! log and the result files.
//!
//! A run directory holds `config.json` (the resolved configuration), `log.jsonl` (every
//! event: training lines, dropped ops, evaluated architectures, fronts), `pareto_roundN.png`,
//! `checkpoint/` (latest checkpoint, replaced atomically) and, once finished, `front.json`.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod display;
pub mod driver;
pub mod error;
pub mod events;
pub mod front;
pub mod html_report;
pub mod log;
pub mod plan;
pub mod report;
pub mod round;

pub use config::{
    DataConfig, DataSource, EvaluationConfig, IndicatorConfig, LrConfig, MAX_SKIPPED_IN_A_ROW,
    NonFiniteLoss, NormalizeChoice, Preload, ResourceConfig, SearchConfig, UnsampledOps,
};
pub use display::SearchDisplay;
pub use driver::{Evaluator, Pause, Score, Scorer, Search, SearchOutcome, SharedRanks, cost_table};
pub use error::{Result, SearchError};
pub use front::Front;
pub use plan::SearchPlan;
pub use report::{FrontEntry, FrontFile};
pub use round::{Evaluated, Phase, RoundIndex};
