//! TensorBoard's own reader (the `tensorboard` package from PyPI) reads the event files of a
//! short search and a retraining, and finds the tags, steps and values that the run's log
//! and report hold.
//!
//! Needs Python with tensorboard: `NSE_TORCH_PYTHON` or the virtual environment
//! `~/.venvs/nse-ref` (`scripts/pytorch-venv.sh` makes it). Ignored by default; `.ci/run`
//! runs it: `cargo test -p nse --test tensorboard -- --ignored`.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use nse::train::retrain::RetrainReport;
use nse::train::run_dir::RunDir;
use nse::train::search::events::{SearchEvent, read_log};

mod python;
use python::python;

/// Every scalar TensorBoard's `EventAccumulator` reads from the event files in `dir`:
/// tag → (step, value) in file order.
fn read_scalars(dir: &Path) -> BTreeMap<String, Vec<(u64, f64)>> {
    let script = r#"
import json, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0})
acc.Reload()
print(json.dumps({t: [[e.step, e.value] for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}))
"#;
    let out = Command::new(python())
        .args(["-c", script])
        .arg(dir)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the reader's JSON")
}

fn nse(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_nse"))
        .args(args)
        .output()
        .expect("run nse");
    assert!(
        out.status.success(),
        "nse {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn close(a: f64, b: f64) -> bool {
    // TensorBoard keeps scalars as f32.
    (a - b).abs() <= 1e-6 * b.abs().max(1.0)
}

#[test]
#[ignore = "needs Python with tensorboard (scripts/pytorch-venv.sh); .ci/run runs it"]
fn tensorboard_reads_the_scalars_of_a_search_and_a_retraining() {
    let dir = std::env::temp_dir().join(format!("nse-search-test-{}-tb", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let run = dir.join("run");
    let run_s = run.to_str().unwrap();
    nse(&[
        "search",
        "--preset",
        "demo",
        "--set",
        "max_rounds=1",
        "--set",
        "epochs_per_round=2",
        "--set",
        "epoch_batches=10",
        "--set",
        "log_every=5",
        "--set",
        "evaluation.n=3",
        "--set",
        "evaluation.n_extra=0",
        "--retrain",
        "--quiet",
        "--out",
        run_s,
    ]);
    let folder = RunDir::new(&run);
    let scalars = read_scalars(&folder.tensorboard_dir());

    // The training lines of the log, at their weight steps.
    let events = read_log(&folder.log_path()).unwrap();
    let train: Vec<(u64, f64, f64)> = events
        .iter()
        .filter_map(|e| match e {
            SearchEvent::Train { step, loss, lr, .. } => Some((*step, *loss, *lr)),
            _ => None,
        })
        .collect();
    assert_eq!(train.len(), 4, "20 steps logged every 5");
    let loss = &scalars["search/train_loss"];
    let lr = &scalars["search/lr"];
    assert_eq!(loss.len(), train.len());
    for ((step, value), (log_step, log_loss, _)) in loss.iter().zip(&train) {
        assert_eq!(step, log_step, "one round: its steps are the run's");
        assert!(close(*value, *log_loss), "{value} against {log_loss}");
    }
    for ((_, value), (_, _, log_lr)) in lr.iter().zip(&train) {
        assert!(close(*value, *log_lr));
    }
    // An indicator per cell and pool op after each of the 2 epochs; the round's front.
    let alphas = events
        .iter()
        .filter_map(|e| match e {
            SearchEvent::EpochEnd { step, alphas, .. } => Some((*step, alphas.clone())),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(alphas.len(), 2);
    let ir = &scalars["indicator/cell1/ir_k3_e6"];
    let pool = nse::ops::CandidatePool::reference("mb27").unwrap();
    let index = pool.index_of(&"ir_k3_e6".parse().unwrap()).unwrap();
    for ((step, value), (log_step, log_alphas)) in ir.iter().zip(&alphas) {
        assert_eq!(step, log_step);
        assert!(close(*value, f64::from(log_alphas[1][index])));
    }
    assert_eq!(
        scalars
            .keys()
            .filter(|t| t.starts_with("indicator/"))
            .count(),
        7 * 27
    );
    let front = folder.read_front().unwrap();
    assert_eq!(
        scalars["search/front_size"],
        [(20, front.front.len() as f64)]
    );
    let best = front
        .front
        .iter()
        .map(|e| e.accuracy)
        .fold(f64::MIN, f64::max);
    assert!(close(scalars["search/best_score"][0].1, best));

    // The retraining's epochs, as its report has them.
    let retrain = folder.retrain_dir();
    let scalars = read_scalars(&retrain.join("tensorboard"));
    let report: RetrainReport =
        serde_json::from_str(&std::fs::read_to_string(retrain.join("report.json")).unwrap())
            .unwrap();
    let top1 = &scalars["retrain/test_top1"];
    assert_eq!(top1.len(), report.epochs.len());
    for (k, ((step, value), epoch)) in top1.iter().zip(&report.epochs).enumerate() {
        assert_eq!(*step, ((k + 1) * report.steps_per_epoch) as u64);
        assert!(
            close(*value, epoch.test.top1),
            "{value} against {}",
            epoch.test.top1
        );
    }
    let train_loss = &scalars["retrain/train_loss"];
    assert!(close(train_loss[0].1, report.epochs[0].train_loss));
    let steps = &scalars["retrain/loss"];
    assert!(steps.iter().all(|(s, _)| s % 20 == 0) && !steps.is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
