//! `report.html` of a finished tiny search (two rounds of the synthetic space of `common`):
//! self-contained, one Pareto chart per round, the sub-space's evolution by op name matching
//! the log, one indicator chart per cell, the training curves, and the final front's table
//! matching front.json. A run that is not a search is refused with a clear error.

use burn::tensor::Device;
use nse_space::pareto::Origin;
use nse_train::progress::Quiet;
use nse_train::run_dir::RunDir;
use nse_train::search::events::{SearchEvent, read_log};
use nse_train::search::html_report::{REPORT_FILE, render_report, write_report};
use nse_train::search::{FrontFile, Search};

mod common;
use common::{config, scratch, write_dataset};

#[test]
fn the_report_shows_every_round_cell_and_front_entry() {
    let data = scratch("report-data");
    write_dataset(&data);
    let run = scratch("report-run");
    let mut cfg = config(&data);
    cfg.epochs_per_round = 1;
    cfg.evaluation.n_extra = 1;
    // A window with an extra band below it inside the space's range.
    cfg.resource.relative = true;
    cfg.resource.target = 0.6;
    cfg.resource.drift = 0.3;
    cfg.resource.extra_drift = 0.25;
    Search::new(cfg, &run, &Device::flex())
        .unwrap()
        .run(&mut Quiet)
        .unwrap();

    let path = write_report(&run).unwrap();
    assert_eq!(path, run.join(REPORT_FILE));
    let html = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        html,
        render_report(&run).unwrap(),
        "rendering is deterministic"
    );

    // Self-contained: no scripts, no external resources.
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"));

    let events = read_log(&RunDir::new(&run).log_path()).unwrap();
    let rounds = events
        .iter()
        .filter(|e| matches!(e, SearchEvent::RoundEnd { .. }))
        .count();
    assert!(rounds >= 2, "the tiny search runs several rounds");
    let cells = 3;
    let svgs = html.matches("<svg").count();
    // A Pareto chart per round, an indicator chart per cell, loss and accuracy.
    assert_eq!(svgs, rounds + cells + 2, "charts");
    for round in 1..=rounds {
        assert!(
            html.contains(&format!("round {round}: ")),
            "round {round} chart"
        );
        assert!(
            html.contains(&format!("<h3>Round {round}</h3>")),
            "round {round} table"
        );
    }
    // The evaluated count per round matches the log, and extra-band points are marked.
    for round in 1..=rounds {
        let evaluated: Vec<Origin> = events
            .iter()
            .filter_map(|e| match e {
                SearchEvent::Evaluated {
                    round: r, origin, ..
                } if *r == round => Some(*origin),
                _ => None,
            })
            .collect();
        assert!(
            html.contains(&format!("round {round}: {} evaluated", evaluated.len())),
            "round {round}: {} evaluated",
            evaluated.len()
        );
    }
    assert!(html.contains("extra band ("), "the extra band's legend");
    // The resolved window of config.json is named and shaded in every round's chart.
    let saved: nse_train::search::SearchConfig =
        serde_json::from_str(&std::fs::read_to_string(RunDir::new(&run).config_path()).unwrap())
            .unwrap();
    let w = saved.resource.window();
    let named = format!("Resource window {:.4}..{:.4} MMACs", w.low(), w.high());
    assert!(html.contains(&named), "{named}");
    for round in 1..=rounds {
        let chart = html
            .split("<figure>")
            .find(|f| f.contains(&format!("round {round}: ")))
            .unwrap();
        assert!(
            chart.contains("resource window") && chart.contains("#2CA02C"),
            "round {round}: the shaded window"
        );
    }
    // Without config.json the report still renders, without a window.
    let copy = scratch("report-run-without-config");
    for file in [nse_train::run_dir::LOG_FILE, nse_train::run_dir::FRONT_FILE] {
        std::fs::copy(run.join(file), copy.join(file)).unwrap();
    }
    let bare = render_report(&copy).unwrap();
    assert!(!bare.contains("Resource window") && !bare.contains("resource window"));
    assert_eq!(
        bare.matches("<svg").count(),
        svgs,
        "every chart is still drawn"
    );
    // Each round's chart marks as many front points as the round's front has.
    for e in &events {
        if let SearchEvent::RoundEnd { round, front, .. } = e {
            let chart = html
                .split("<figure>")
                .find(|f| f.contains(&format!("round {round}: ")))
                .unwrap();
            assert!(
                chart.contains(&format!("Pareto front ({})", front.len())),
                "round {round}: a front of {}",
                front.len()
            );
        }
    }

    // The ops brought into round 2 are named in round 1's row.
    let introduced = events
        .iter()
        .find_map(|e| match e {
            SearchEvent::RoundEnd {
                round: 1,
                introduced,
                ..
            } => Some(introduced.clone()),
            _ => None,
        })
        .unwrap();
    let pool = [
        "ir_k3_e1",
        "ir_k3_e3",
        "rec_k5_e1",
        "ir_k5_e1",
        "ir_k3_e1_d2",
    ];
    let round1 =
        &html[html.find("<h3>Round 1</h3>").unwrap()..html.find("<h3>Round 2</h3>").unwrap()];
    for (cell, ops) in introduced.iter().enumerate() {
        let row = round1
            .split("<tr>")
            .find(|r| r.starts_with(&format!("<td>{cell}</td>")))
            .unwrap();
        let last = row.rsplit("<td>").next().unwrap();
        for &op in ops {
            assert!(
                last.contains(pool[op]),
                "cell {cell}: {} brought in: {row}",
                pool[op]
            );
        }
    }

    // The front table: one row per entry, with its accuracy and architecture text.
    let front = FrontFile::read(&RunDir::new(&run).front_path()).unwrap();
    let table = &html[html.find("id=\"front\"").unwrap()..html.find("id=\"rounds\"").unwrap()];
    assert_eq!(table.matches("<tr><td>").count(), front.front.len());
    for e in &front.front {
        assert!(table.contains(&format!("{:.2}", e.accuracy)));
        assert!(table.contains(&e.text.replace('&', "&amp;")));
    }

    let not_a_run = scratch("report-empty");
    let err = write_report(&not_a_run).unwrap_err().to_string();
    assert!(err.contains("not a search run"), "{err}");
    let _ = std::fs::remove_dir_all(&run);
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&not_a_run);
}
