//! The experiment runner end to end on the tiny synthetic dataset: `ranking` scores
//! architectures exactly as the search does and reports statistics that match its own
//! entries; an interrupted experiment continues to the same report; `vs-random` matches
//! costs; `vs-fixed` spends the same budget on the fixed space.

use burn::tensor::Device;
use nse_train::experiment::stats::{
    StatisticalUnit, kendall_tau, mean_pairwise_kendall_tau, signal_to_noise, spearman_rho, summary,
};
use nse_train::experiment::{
    Baseline, Experiment, ExperimentConfig, ExperimentEvent, ExperimentKind, ExperimentReport,
    GroundTruthReport, PilotDecision, PilotRule, WALL_FILE,
};
use nse_train::progress::{Quiet, Reporter};
use nse_train::retrain::RetrainConfig;
use nse_train::run_dir::RunDir;
use nse_train::search::{FrontFile, Search, UnsampledOps};

mod common;
use common::{config, scratch, write_dataset};

fn recipe() -> RetrainConfig {
    RetrainConfig {
        epochs: 1,
        batch_size: 16,
        warmup_epochs: 0,
        lr: 0.02,
        ..RetrainConfig::demo()
    }
}

#[test]
fn ranking_scores_as_the_search_does_and_resumes_to_the_same_report() {
    let data = scratch("exp-data");
    write_dataset(&data);
    let device = Device::flex();
    let out = scratch("exp-ranking");
    let mut experiment_config =
        ExperimentConfig::new(ExperimentKind::Ranking, config(&data), recipe());
    experiment_config.archs = 5;
    experiment_config.bootstrap = 200;
    let experiment = Experiment::new(experiment_config.clone(), &out, &device).unwrap();
    let report = experiment.ranking(&mut Quiet).unwrap();
    let retrained: Vec<f64> = report
        .architectures
        .iter()
        .map(|a| a.retrained_mean)
        .collect();
    println!("retrained {retrained:?}, tau {}", report.kendall_tau);

    // Inherited accuracy is the search's own score: rescoring the final front with the
    // run's scorer gives the accuracies front.json holds.
    let run = out.join("search");
    let search = Search::open(&run, &device).unwrap();
    let (mut state, progress) = search.latest_state().unwrap();
    assert_eq!(progress.rounds_done, 2);
    let scorer = search.scorer(progress.rounds_done - 1).unwrap();
    let front = FrontFile::read(&RunDir::new(&run).front_path()).unwrap();
    for entry in &front.front {
        let score = scorer
            .score(&mut state.supernet, &entry.architecture)
            .unwrap();
        assert_eq!(score, entry.accuracy, "{}", entry.text);
    }

    // The report is consistent with its own entries.
    let archs = &report.architectures;
    assert_eq!(archs.len(), 5);
    assert!(
        archs.windows(2).all(|w| w[0].cost <= w[1].cost),
        "sorted by cost"
    );
    let distinct: std::collections::HashSet<_> = archs.iter().map(|a| &a.architecture).collect();
    assert_eq!(distinct.len(), 5);
    for a in archs {
        assert!(
            report.window[0] < a.cost && a.cost < report.window[1],
            "{a:?}"
        );
        assert_eq!(a.retrained.len(), 1);
        assert!((0.0..=100.0).contains(&a.inherited));
    }
    let inherited: Vec<f64> = archs.iter().map(|a| a.inherited).collect();
    let truth: Vec<f64> = archs.iter().map(|a| a.retrained_mean).collect();
    let cost: Vec<f64> = archs.iter().map(|a| a.cost).collect();
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    assert!(same(report.kendall_tau, kendall_tau(&inherited, &truth)));
    assert!(same(report.spearman_rho, spearman_rho(&inherited, &truth)));
    assert!(same(report.cost_kendall_tau, kendall_tau(&cost, &truth)));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("ranking.json")).unwrap()).unwrap();
    assert!(json.get("kendall_tau").is_some() && json.get("spearman_rho").is_some());
    assert_eq!(json["architectures"].as_array().unwrap().len(), 5);
    assert!(out.join("ranking.png").exists());

    // Interrupted after the scoring and one retraining: the rerun gives the same report.
    std::fs::remove_file(out.join("ranking.json")).unwrap();
    let retrain = out.join("retrain");
    let mut runs: Vec<_> = std::fs::read_dir(&retrain)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    for dir in &runs[1..] {
        std::fs::remove_dir_all(dir).unwrap();
    }
    let again = Experiment::new(experiment_config.clone(), &out, &device)
        .unwrap()
        .ranking(&mut Quiet)
        .unwrap();
    assert_eq!(again.architectures, report.architectures);
    assert!(same(again.kendall_tau, report.kendall_tau));
    assert!(same(again.kendall_tau_ci95[0], report.kendall_tau_ci95[0]));
    assert!(same(again.kendall_tau_ci95[1], report.kendall_tau_ci95[1]));
    // Its wall time counts the first session too, not only the (shorter) resumed one.
    assert!(
        again.wall_seconds > report.wall_seconds,
        "{} after resuming, {} before",
        again.wall_seconds,
        report.wall_seconds
    );
    // A folder from before `wall.json` existed: the finished report's time is kept.
    std::fs::remove_file(out.join(WALL_FILE)).unwrap();
    let rerun = Experiment::new(experiment_config.clone(), &out, &device)
        .unwrap()
        .ranking(&mut Quiet)
        .unwrap();
    assert!(rerun.wall_seconds > again.wall_seconds);

    // The same architectures and ground truth, scored by another supernet: no retraining.
    let reuse = scratch("exp-ranking-reuse");
    let mut changed = experiment_config.clone();
    changed.search.unsampled_ops = UnsampledOps::Momentum;
    changed.candidates_from = Some(out.clone());
    changed.probe = true;
    let rescored = Experiment::new(changed.clone(), &reuse, &device)
        .unwrap()
        .ranking(&mut Quiet)
        .unwrap();
    assert!(!reuse.join("retrain").exists(), "nothing retrained");
    assert_eq!(rescored.candidates_from.as_deref(), Some(out.as_path()));
    for (a, b) in rescored.architectures.iter().zip(&report.architectures) {
        assert_eq!(
            (&a.architecture, &a.retrained),
            (&b.architecture, &b.retrained)
        );
        assert_eq!(a.drawn_from, "reused");
    }
    assert!(rescored.outside_final_subspace <= rescored.architectures.len());
    assert!(report.compared_with_earlier.is_none() && report.probe.is_empty());
    // The probe scored the architectures after every epoch of both rounds; after the last
    // one, exactly as the final scoring does.
    let epochs = changed.search.epochs_per_round;
    assert_eq!(rescored.probe.len(), 2 * epochs, "{:?}", rescored.probe);
    assert_eq!(
        rescored
            .probe
            .iter()
            .map(|p| (p.round, p.epoch))
            .collect::<Vec<_>>(),
        (1..=2)
            .flat_map(|r| (1..=epochs).map(move |e| (r, e)))
            .collect::<Vec<_>>()
    );
    let last = rescored.probe.last().unwrap();
    assert!(same(last.kendall_tau, rescored.kendall_tau), "{last:?}");
    let against = rescored.compared_with_earlier.as_ref().expect("compared");
    assert!(same(against.earlier_kendall_tau, report.kendall_tau));
    assert!(same(
        against.kendall_tau_difference,
        rescored.kendall_tau - report.kendall_tau
    ));
    let rescored_scores: Vec<f64> = rescored.architectures.iter().map(|a| a.inherited).collect();
    assert!(same(
        against.scores_kendall_tau,
        kendall_tau(&rescored_scores, &inherited)
    ));
    // Another recipe's retrained accuracies are not this experiment's ground truth.
    let mut wrong = changed;
    wrong.recipe.epochs = 2;
    let err = Experiment::new(wrong, &scratch("exp-ranking-wrong"), &device)
        .unwrap()
        .ranking(&mut Quiet)
        .unwrap_err();
    assert!(err.to_string().contains("another recipe"), "{err}");

    // Another experiment in the same folder is refused.
    let mut other = experiment_config;
    other.archs = 4;
    let err = Experiment::new(other, &out, &device)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("another experiment"), "{err}");
}

/// Keeps the log lines of a run.
#[derive(Default)]
struct Lines(Vec<String>);

impl Reporter for Lines {
    fn begin(&mut self, _: &str, _: u64) {}
    fn advance(&mut self, _: u64, _: &str) {}
    fn finish(&mut self) {}
    fn line(&mut self, text: &str) {
        self.0.push(text.to_string());
    }
}

#[test]
fn seeds_give_the_ground_truth_noise_and_an_ensemble_averages_its_supernets() {
    let data = scratch("exp-data-3");
    write_dataset(&data);
    let device = Device::flex();
    let out = scratch("exp-ranking-seeds");
    let mut c = ExperimentConfig::new(ExperimentKind::Ranking, config(&data), recipe());
    c.archs = 4;
    c.seeds = 2;
    c.bootstrap = 100;
    let mut lines = Lines::default();
    let report = Experiment::new(c.clone(), &out, &device)
        .unwrap()
        .ranking(&mut lines)
        .unwrap();
    // Retrained seed by seed: every architecture's first seed before any second one.
    let order: Vec<&str> = lines
        .0
        .iter()
        .filter(|l| l.contains(": retraining "))
        .map(|l| {
            let job = l.split(": ").nth(2).unwrap();
            job.split(" (").next().unwrap()
        })
        .collect();
    assert_eq!(
        order,
        [
            "arch0 seed 0",
            "arch1 seed 0",
            "arch2 seed 0",
            "arch3 seed 0",
            "arch0 seed 1",
            "arch1 seed 1",
            "arch2 seed 1",
            "arch3 seed 1"
        ],
        "{:?}",
        lines.0
    );
    let same = |a: f64, b: f64| a == b || (a.is_nan() && b.is_nan());
    let archs = &report.architectures;
    let truth: Vec<f64> = archs.iter().map(|a| a.retrained_mean).collect();
    let by_seed: Vec<Vec<f64>> = (0..2)
        .map(|s| archs.iter().map(|a| a.retrained[s]).collect())
        .collect();
    let agreement = report.retraining_agreement_kendall_tau.expect("two seeds");
    assert!(same(agreement, mean_pairwise_kendall_tau(&by_seed)));
    let results: Vec<Vec<f64>> = archs.iter().map(|a| a.retrained.clone()).collect();
    let noise = signal_to_noise(&results, None);
    assert_eq!(report.ground_truth_noise, Some(noise));
    assert!(same(
        report.ground_truth_reliability.unwrap(),
        noise.reliability(2)
    ));
    assert!(same(
        report.noise_ceiling_kendall_tau.unwrap(),
        noise.ceiling_kendall_tau(2)
    ));
    let baselines = report.baselines.expect("baselines");
    let params: Vec<f64> = archs.iter().map(|a| a.params as f64).collect();
    assert!(same(baselines.params, kendall_tau(&params, &truth)));
    assert!(
        report.top_gap.is_none(),
        "4 architectures make no top group of 2 and a rest"
    );
    let branches: Vec<f64> = archs
        .iter()
        .map(|a| a.architecture.cells().iter().map(Vec::len).sum::<usize>() as f64)
        .collect();
    let inherited: Vec<f64> = archs.iter().map(|a| a.inherited).collect();
    assert!(same(
        report.branches_kendall_tau,
        kendall_tau(&inherited, &branches)
    ));
    assert!(same(
        report.retrained_branches_kendall_tau,
        kendall_tau(&truth, &branches)
    ));
    // The loss ranks by its negation; no ensemble here.
    let negated_loss: Vec<f64> = archs.iter().map(|a| -a.inherited_loss).collect();
    assert!(archs.iter().all(|a| a.inherited_loss > 0.0));
    assert!(same(
        report.loss_kendall_tau,
        kendall_tau(&negated_loss, &truth)
    ));
    assert_eq!(report.ensemble, 1);
    assert!(report.members.is_empty() && report.member_agreement_kendall_tau.is_none());
    assert!(archs.iter().all(|a| a.member_inherited.is_empty()));

    // Two supernets on the same architectures and ground truth: the search's own (identical
    // to the one above) and the same search trained with the next training seed.
    let ensemble_out = scratch("exp-ranking-ensemble");
    let mut e = c.clone();
    e.candidates_from = Some(out.clone());
    e.ensemble = 2;
    let ensemble = Experiment::new(e, &ensemble_out, &device)
        .unwrap()
        .ranking(&mut Quiet)
        .unwrap();
    assert!(
        RunDir::new(ensemble_out.join("search-m1"))
            .front_path()
            .exists()
    );
    assert_eq!(ensemble.ensemble, 2);
    let seeds: Vec<u64> = ensemble.members.iter().map(|m| m.training_seed).collect();
    assert_eq!(seeds, [c.search.seed, c.search.seed + 1]);
    let mut differ = 0;
    for (a, base) in ensemble.architectures.iter().zip(archs) {
        assert_eq!(a.architecture, base.architecture);
        assert_eq!(a.member_inherited.len(), 2);
        assert_eq!(
            a.member_inherited[0], base.inherited,
            "member 0 is the same search"
        );
        let mean = (a.member_inherited[0] + a.member_inherited[1]) / 2.0;
        assert!((a.inherited - mean).abs() < 1e-12);
        differ += usize::from(a.member_inherited[0] != a.member_inherited[1]);
    }
    assert!(differ > 0, "another training seed, another supernet");
    let m: Vec<Vec<f64>> = (0..2)
        .map(|k| {
            ensemble
                .architectures
                .iter()
                .map(|a| a.member_inherited[k])
                .collect()
        })
        .collect();
    assert!(same(ensemble.members[0].kendall_tau, report.kendall_tau));
    assert!(same(
        ensemble.members[1].kendall_tau,
        kendall_tau(&m[1], &truth)
    ));
    assert!(same(
        ensemble.member_agreement_kendall_tau.unwrap(),
        kendall_tau(&m[0], &m[1])
    ));
    let mean: Vec<f64> = ensemble.architectures.iter().map(|a| a.inherited).collect();
    assert!(same(ensemble.kendall_tau, kendall_tau(&mean, &truth)));

    // An ensemble is for ranking only.
    let mut wrong = ExperimentConfig::new(ExperimentKind::VsRandom, config(&data), recipe());
    wrong.ensemble = 2;
    let err = Experiment::new(wrong, &scratch("exp-ensemble-wrong"), &device)
        .err()
        .expect("refused");
    assert!(
        err.to_string().contains("`ensemble` is for ranking"),
        "{err}"
    );
}

#[test]
fn vs_random_matches_costs_and_vs_fixed_spends_the_same_budget() {
    let data = scratch("exp-data-2");
    write_dataset(&data);
    let device = Device::flex();

    let out = scratch("exp-vs-random");
    let mut c = ExperimentConfig::new(ExperimentKind::VsRandom, config(&data), recipe());
    c.archs = 3;
    c.seeds = 2;
    // The tiny space has few architectures near the front's cost.
    c.cost_tolerance = 0.3;
    let report = Experiment::new(c, &out, &device)
        .unwrap()
        .vs_random(&mut Quiet)
        .unwrap();
    let front_len = report.front.len();
    assert!(front_len >= 1);
    assert_eq!(report.random.len(), 3);
    for (j, r) in report.random.iter().enumerate() {
        let target = report.front[j % front_len].cost;
        assert!(
            (r.cost - target).abs() <= 0.3 * target,
            "{} vs {target}",
            r.cost
        );
        assert_eq!(r.retrained.len(), 2);
        assert!(
            report
                .front
                .iter()
                .all(|f| f.architecture != r.architecture)
        );
    }
    // The architecture is the unit: one sample per architecture, the mean of its seeds.
    assert_eq!(report.unit, StatisticalUnit::Architecture);
    assert_eq!(report.front_summary.n, front_len);
    assert_eq!(report.random_summary.n, 3);
    let means: Vec<f64> = report.random.iter().map(|r| r.retrained_mean).collect();
    let expected = summary(&means);
    assert!((report.random_summary.sd - expected.sd).abs() < 1e-9);
    assert!((report.random_summary.mean - expected.mean).abs() < 1e-9);
    let d = report.front_summary.mean - report.random_summary.mean;
    assert!((report.difference.difference - d).abs() < 1e-9);
    assert!(report.difference.ci95[0] <= d && d <= report.difference.ci95[1]);

    // vs-fixed on the finished search of the vs-random experiment.
    let out = scratch("exp-vs-fixed");
    let mut c = ExperimentConfig::new(ExperimentKind::VsFixed, config(&data), recipe());
    c.run = Some(report.run.clone());
    c.archs = 2;
    let fixed = Experiment::new(c, &out, &device)
        .unwrap()
        .vs_fixed(&mut Quiet)
        .unwrap();
    assert!(fixed.weight_steps > 0);
    let fixed_front = FrontFile::read(&RunDir::new(&fixed.fixed_run).front_path()).unwrap();
    assert_eq!(fixed_front.rounds, 1, "the fixed space never evolves");
    let evolving_front = FrontFile::read(&RunDir::new(&report.run).front_path()).unwrap();
    assert_eq!(evolving_front.rounds, 2);
    assert!(!fixed.evolving.is_empty() && fixed.evolving.len() <= 2);
    assert_eq!(fixed.pairs.len(), fixed.evolving.len());
    assert_eq!(fixed.unit, StatisticalUnit::Architecture);
    assert_eq!(fixed.evolving_summary.n, fixed.evolving.len());
    for p in &fixed.pairs {
        let d = fixed.evolving[p.evolving].retrained_mean - fixed.fixed[p.fixed].retrained_mean;
        assert!((p.difference - d).abs() < 1e-9);
    }
    // The fixed space is the evolving search's first sub-space.
    let log = std::fs::read_to_string(RunDir::new(&fixed.fixed_run).log_path()).unwrap();
    let evolving_log = std::fs::read_to_string(RunDir::new(&report.run).log_path()).unwrap();
    let first_subspace = |log: &str| -> serde_json::Value {
        log.lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|v| v.get("subspace").is_some())
            .unwrap()["subspace"]
            .clone()
    };
    assert_eq!(first_subspace(&log), first_subspace(&evolving_log));

    // The same search against its single-path counterpart: same rounds and weight steps, at
    // most one op per cell on that side.
    let out = scratch("exp-vs-single");
    let mut c = ExperimentConfig::new(ExperimentKind::VsFixed, config(&data), recipe());
    c.run = Some(report.run.clone());
    c.archs = 1;
    c.baseline = Baseline::SingleBranch;
    let single = Experiment::new(c, &out, &device)
        .unwrap()
        .vs_fixed(&mut Quiet)
        .unwrap();
    assert_eq!(single.baseline, Baseline::SingleBranch);
    assert!(single.fixed_run.ends_with("single-branch-search"));
    assert_eq!(single.weight_steps, total_steps(&report.run));
    let single_front = FrontFile::read(&RunDir::new(&single.fixed_run).front_path()).unwrap();
    assert_eq!(single_front.rounds, 2, "the single-path search evolves too");
    assert_eq!(single_front.space.max_branches, Some(1));
    let evolved = std::fs::read_to_string(RunDir::new(&single.fixed_run).log_path()).unwrap();
    for line in evolved.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["event"] == "evaluated" {
            let cells = v["architecture"].as_array().unwrap();
            assert!(
                cells.iter().all(|c| c.as_array().unwrap().len() <= 1),
                "{v}"
            );
        }
    }
    assert!(single.summary().contains("single-branch"));
}

/// Weight steps of a finished search run, from its latest checkpoint.
fn total_steps(run: &std::path::Path) -> u64 {
    let dir = nse_train::search::checkpoint::find(run).unwrap();
    nse_train::search::checkpoint::read_progress(&dir)
        .unwrap()
        .total_steps
}

#[test]
fn ground_truth_measures_its_pilot_first_and_ranking_scores_its_architectures() {
    let data = scratch("exp-data-gt");
    write_dataset(&data);
    let device = Device::flex();
    // Enough training that the architectures and seeds differ on the 60 test images.
    let learns = RetrainConfig {
        epochs: 2,
        lr: 0.1,
        ..recipe()
    };
    let events: std::sync::Arc<std::sync::Mutex<Vec<ExperimentEvent>>> = Default::default();
    let ground_truth = |rule: PilotRule, out: &std::path::Path| {
        let mut c =
            ExperimentConfig::new(ExperimentKind::GroundTruth, config(&data), learns.clone());
        c.archs = 6;
        c.pilot = 3;
        c.seeds = 2;
        c.pilot_rule = rule;
        let mut lines = Lines::default();
        let mut experiment = Experiment::new(c, out, &device).unwrap();
        let seen = std::sync::Arc::clone(&events);
        experiment.observe(move |e| seen.lock().unwrap().push(e.clone()));
        let report = experiment.ground_truth(&mut lines).unwrap();
        (report, lines.0)
    };
    let retrain_runs =
        |out: &std::path::Path| std::fs::read_dir(out.join("retrain")).unwrap().count();

    // A rule no pilot with retraining noise can meet: the experiment stops after the pilot,
    // which retrained 3 architectures spread over the 6 (indices 1, 3, 5) with both seeds.
    let unreachable = PilotRule {
        min_ceiling: 1.0,
        ..PilotRule::default()
    };
    let stopped_dir = scratch("exp-gt-stop");
    let (stopped, lines) = ground_truth(unreachable, &stopped_dir);
    let pilot = stopped.pilot.clone().expect("a pilot");
    println!("{}", pilot.summary());
    assert_eq!(pilot.decision, PilotDecision::Stop, "{lines:?}");
    assert!(!stopped.complete && stopped.overall.is_none());
    assert_eq!(pilot.architectures, [1, 3, 5]);
    assert_eq!(
        retrain_runs(&stopped_dir),
        6,
        "3 architectures x 2 seeds, no more"
    );
    for (i, a) in stopped.architectures.iter().enumerate() {
        assert_eq!(a.pilot, i % 2 == 1);
        assert_eq!(a.retrained.len(), if a.pilot { 2 } else { 0 });
    }
    let results: Vec<Vec<f64>> = pilot
        .architectures
        .iter()
        .map(|&i| stopped.architectures[i].retrained.clone())
        .collect();
    assert_eq!(pilot.overall, signal_to_noise(&results, None));
    assert!(
        pilot.overall.retraining_sd > 0.0,
        "seeds differ: {results:?}"
    );
    assert!(lines.iter().any(|l| l.contains("stop after the pilot")));
    // Observers saw the same run as typed events: the pilot's start, its 6 retrainings, the
    // decision, the report; the reporter's lines are their display.
    {
        let seen = events.lock().unwrap();
        assert!(matches!(
            seen[0],
            ExperimentEvent::PilotStart {
                pilot: 3,
                architectures: 6,
                seeds: 2
            }
        ));
        let retrainings = seen
            .iter()
            .filter(|e| matches!(e, ExperimentEvent::Retraining { total: 6, .. }))
            .count();
        assert_eq!(retrainings, 6);
        assert!(seen.iter().any(
            |e| matches!(e, ExperimentEvent::PilotDecided(p) if p.decision == PilotDecision::Stop)
        ));
        match seen.last().unwrap() {
            // Compared as JSON: NaN, of the architectures not retrained, equals no NaN.
            ExperimentEvent::Finished(report) => assert_eq!(
                serde_json::to_value(&**report).unwrap(),
                serde_json::to_value(ExperimentReport::GroundTruth(stopped.clone())).unwrap()
            ),
            other => panic!("the last event is {other:?}"),
        }
        let mut replay = Lines::default();
        for e in seen.iter() {
            nse_train::experiment::display(&mut replay, e);
        }
        // The retrainings' own epoch lines come from their own events.
        let own: Vec<String> = lines
            .iter()
            .filter(|l| !l.starts_with("epoch "))
            .cloned()
            .collect();
        assert_eq!(replay.0, own, "the lines are the events' display");
    }
    events.lock().unwrap().clear();
    // Read back (NaN, for the architectures not retrained, is null in JSON).
    let value = |r: &GroundTruthReport| serde_json::to_value(r).unwrap();
    assert_eq!(
        value(&GroundTruthReport::read(&stopped_dir).unwrap()),
        value(&stopped)
    );

    // The same draw with a rule every estimate meets goes on to all 6; the pilot's runs are
    // the same retrainings (same seeds), and the spread is measured over all of them.
    let always = PilotRule {
        min_ceiling: 0.0,
        min_stratified_ceiling: 0.0,
        ..PilotRule::default()
    };
    let full_dir = scratch("exp-gt-full");
    let (full, _) = ground_truth(always, &full_dir);
    assert_eq!(
        full.pilot.as_ref().unwrap().decision,
        PilotDecision::Continue
    );
    assert!(full.complete);
    assert_eq!(retrain_runs(&full_dir), 12);
    for i in [1, 3, 5] {
        assert_eq!(
            full.architectures[i].retrained,
            stopped.architectures[i].retrained
        );
    }
    let all: Vec<Vec<f64>> = full
        .architectures
        .iter()
        .map(|a| a.retrained.clone())
        .collect();
    assert_eq!(full.overall, Some(signal_to_noise(&all, None)));
    assert_eq!(
        full.ceiling_kendall_tau,
        Some(signal_to_noise(&all, None).ceiling_kendall_tau(2))
    );
    let costs: Vec<f64> = full.architectures.iter().map(|a| a.cost).collect();
    assert!(costs.windows(2).all(|w| w[0] <= w[1]), "by cost: {costs:?}");
    assert!(
        costs
            .iter()
            .all(|&c| full.window[0] < c && c < full.window[1])
    );
    let first_cells = &full.subspace;
    for a in &full.architectures {
        for (cell, ops) in a.architecture.cells().iter().enumerate() {
            assert!(
                ops.iter().all(|op| first_cells[cell].contains(op)),
                "first sub-space"
            );
        }
    }
    assert!(full_dir.join("ground-truth.png").exists());

    // A ranking scores exactly these architectures and takes their means as its truth,
    // retraining nothing.
    let mut one_round = config(&data);
    one_round.max_rounds = Some(1);
    let mut c = ExperimentConfig::new(ExperimentKind::Ranking, one_round, learns.clone());
    c.seeds = 2;
    c.archs = 6;
    c.bootstrap = 50;
    c.candidates_from = Some(full_dir.clone());
    let ranked_dir = scratch("exp-gt-ranking");
    let ranking = Experiment::new(c.clone(), &ranked_dir, &device)
        .unwrap()
        .ranking(&mut Quiet)
        .unwrap();
    assert!(!ranked_dir.join("retrain").exists(), "nothing retrained");
    let truth: Vec<f64> = full
        .architectures
        .iter()
        .map(|a| a.retrained_mean)
        .collect();
    let ranked: Vec<f64> = ranking
        .architectures
        .iter()
        .map(|a| a.retrained_mean)
        .collect();
    assert_eq!(ranked, truth);
    assert!(
        ranking.compared_with_earlier.is_none(),
        "a ground truth has no supernet score"
    );
    assert_eq!(ranking.ground_truth_noise, full.overall);
    // An incomplete ground truth is refused.
    c.candidates_from = Some(stopped_dir.clone());
    let err = Experiment::new(c, &scratch("exp-gt-ranking-2"), &device)
        .unwrap()
        .ranking(&mut Quiet)
        .unwrap_err();
    assert!(err.to_string().contains("incomplete"), "{err}");

    // Bad settings are refused before anything runs.
    for (tweak, says) in [
        (
            Box::new(|c: &mut ExperimentConfig| c.seeds = 1) as Box<dyn Fn(&mut ExperimentConfig)>,
            "`seeds` must be at least 2",
        ),
        (
            Box::new(|c: &mut ExperimentConfig| c.pilot = 6),
            "`pilot` must be at least 3",
        ),
        (
            Box::new(|c: &mut ExperimentConfig| c.pilot = 2),
            "`pilot` must be at least 3",
        ),
    ] {
        let mut c = ExperimentConfig::new(ExperimentKind::GroundTruth, config(&data), recipe());
        c.archs = 6;
        c.seeds = 2;
        tweak(&mut c);
        let err = Experiment::new(c, &scratch("exp-gt-bad"), &device)
            .err()
            .unwrap();
        assert!(err.to_string().contains(says), "{err}");
    }
    // Given architectures are retrained as they are (in cost order), none drawn.
    let given: Vec<nse_space::Architecture> = vec![
        "0 | 1 | 2".parse().unwrap(),
        "0+1+2 | 0+1 | 3+4".parse().unwrap(),
        "- | 4 | 0".parse().unwrap(),
    ];
    let mut c = ExperimentConfig::new(ExperimentKind::GroundTruth, config(&data), learns.clone());
    c.seeds = 2;
    c.archs = 3;
    c.architectures = given.clone();
    let given_dir = scratch("exp-gt-given");
    let report = Experiment::new(c.clone(), &given_dir, &device)
        .unwrap()
        .ground_truth(&mut Quiet)
        .unwrap();
    let mut retrained: Vec<_> = report
        .architectures
        .iter()
        .map(|a| a.architecture.clone())
        .collect();
    retrained.sort();
    let mut expected = given.clone();
    expected.sort();
    assert_eq!(retrained, expected);
    assert!(
        report
            .architectures
            .windows(2)
            .all(|w| w[0].cost <= w[1].cost)
    );
    assert!(report.architectures.iter().all(|a| a.retrained.len() == 2));
    c.archs = 4;
    let err = Experiment::new(c, &scratch("exp-gt-bad"), &device)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("must equal the number of given"),
        "{err}"
    );

    let mut c = ExperimentConfig::new(ExperimentKind::Ranking, config(&data), recipe());
    c.pilot = 3;
    let err = Experiment::new(c, &scratch("exp-gt-bad"), &device)
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("`pilot` is for ground-truth"),
        "{err}"
    );
}
