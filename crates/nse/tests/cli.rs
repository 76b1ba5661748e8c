//! The `nse experiment` command's answers to bad input: clear errors and a non-zero exit,
//! before any training. (`.ci/run` runs a shortened experiment end to end.)

use nse::train::run_dir::RunDir;
use std::path::{Path, PathBuf};
use std::process::Command;

use nse::train::search::SearchConfig;

fn nse(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nse"))
        .args(args)
        .output()
        .expect("run nse");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh path for `name` under the temporary directory, named as nse-train's test scratch
/// folders are (`nse-search-test-{pid}-…`) so that their clean-up removes it once this process
/// has ended.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("nse-search-test-{}-cli-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn experiment_rejects_bad_input_with_clear_errors() {
    let out = scratch("out");
    let out_s = out.to_str().unwrap();
    let (ok, err) = nse(&["experiment", "rank", "--preset", "demo", "--out", out_s]);
    assert!(!ok && err.contains("unknown experiment `rank`"), "{err}");
    let (ok, err) = nse(&[
        "experiment",
        "ranking",
        "--preset",
        "demo",
        "--archs",
        "2",
        "--out",
        out_s,
    ]);
    assert!(!ok && err.contains("`archs` must be at least 3"), "{err}");
    assert!(
        !out.exists(),
        "nothing is written for an invalid experiment"
    );
    let (ok, err) = nse(&[
        "experiment",
        "ranking",
        "--run",
        "/nonexistent",
        "--out",
        out_s,
    ]);
    assert!(!ok && err.contains("not a search run directory"), "{err}");
    let demo = |extra: &[&str]| {
        let mut args = vec![
            "experiment",
            "vs-random",
            "--preset",
            "demo",
            "--out",
            out_s,
        ];
        args.extend_from_slice(extra);
        nse(&args)
    };
    let (ok, err) = demo(&["--baseline", "single-path"]);
    assert!(
        !ok && err.contains("unknown baseline `single-path`"),
        "{err}"
    );
    let (ok, err) = demo(&["--baseline", "single-branch"]);
    assert!(!ok && err.contains("`baseline` is for vs-fixed"), "{err}");
    let (ok, err) = demo(&["--ensemble", "3"]);
    assert!(!ok && err.contains("`ensemble` is for ranking"), "{err}");
    let (ok, err) = demo(&["--set", "space.max_branches=0"]);
    assert!(!ok && err.contains("max_branches"), "{err}");
    assert!(
        !out.exists(),
        "nothing is written for an invalid experiment"
    );

    // A run directory whose search has not finished.
    let run = scratch("run");
    std::fs::create_dir_all(&run).unwrap();
    let config = SearchConfig::preset("demo").unwrap();
    std::fs::write(
        RunDir::new(&run).config_path(),
        serde_json::to_string(&config).unwrap(),
    )
    .unwrap();
    let run_s = run.to_str().unwrap();
    let (ok, err) = nse(&["experiment", "vs-random", "--run", run_s, "--out", out_s]);
    assert!(!ok && err.contains("holds no finished search"), "{err}");
    // The folder now holds that experiment: another one is refused.
    let (ok, err) = nse(&[
        "experiment",
        "vs-random",
        "--run",
        run_s,
        "--archs",
        "3",
        "--out",
        out_s,
    ]);
    assert!(!ok && err.contains("holds another experiment"), "{err}");
    let (ok, err) = nse(&[
        "experiment",
        "vs-random",
        "--run",
        run_s,
        "--seed",
        "3",
        "--out",
        out_s,
    ]);
    assert!(!ok && err.contains("drop --set/--seed"), "{err}");
    // compare and known-answer read finished runs: training options are refused, not ignored.
    let (ok, err) = nse(&[
        "experiment",
        "known-answer",
        "--run",
        run_s,
        "--strong",
        "ir_k3_e6",
        "--set",
        "epochs_per_round=2",
    ]);
    assert!(!ok && err.contains("--set does not apply"), "{err}");
    let (ok, err) = nse(&[
        "experiment",
        "compare",
        "--base",
        run_s,
        "--variant",
        run_s,
        "--retrain-set",
        "epochs=2",
    ]);
    assert!(!ok && err.contains("--retrain-set does not apply"), "{err}");
    let (ok, err) = nse(&["experiment", "compare", "--base", run_s, "--run", run_s]);
    assert!(!ok && err.contains("--run is for"), "{err}");
    let (ok, err) = nse(&[
        "experiment",
        "compare",
        "--base",
        run_s,
        "--strong",
        "ir_k3_e6",
    ]);
    assert!(!ok && err.contains("--strong is for"), "{err}");
    for kind in ["known-answer", "ranking"] {
        let (ok, err) = nse(&["experiment", kind, "--run", run_s, "--variant", run_s]);
        assert!(
            !ok && err.contains("--base and --variant are for"),
            "{kind}: {err}"
        );
    }
    std::fs::remove_dir_all(&run).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn search_keeps_a_step_budget_given_by_set() {
    let out = scratch("max-steps");
    let result = Command::new(env!("CARGO_BIN_EXE_nse"))
        .args([
            "search",
            "--preset",
            "demo",
            "--set",
            "max_steps=1",
            "--quiet",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run nse");
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains("stopped after 1 steps"), "{stdout}");
    assert!(!RunDir::new(&out).front_path().exists());
}

#[test]
fn stats_prints_the_latency_from_the_reference_table() {
    let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/reference-lut/reference_lut.csv");
    let table = nse::ops::latency::LatencyTable::read(&csv).unwrap();
    let (space, arch) = nse::space::published("nsenet-gpu")
        .unwrap()
        .resolve()
        .unwrap();
    let expected = space
        .architecture_latency(&table, &Default::default(), &arch)
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nse"))
        .args(["stats", "nsenet-gpu", "--latency-table"])
        .arg(&csv)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("latency: {:.3} ms (batch 128)", expected.total)),
        "{stdout}"
    );
    assert_eq!(expected.cells.len(), 14);
    // A network the table does not cover: the missing key, and a failure.
    let (ok, err) = nse(&[
        "stats",
        "nsenet27",
        "--latency-table",
        csv.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("no entry for layer (1, "), "{err}");
    let (ok, err) = nse(&[
        "stats",
        "nsenet-gpu",
        "--latency-table",
        csv.to_str().unwrap(),
        "--latency-stem",
        "sometimes",
    ]);
    assert!(!ok && err.contains("--latency-stem `sometimes`"), "{err}");
}

#[test]
fn search_under_latency_from_the_command_line() {
    use nse::ops::latency::LatencyTable;
    // No table: a clear error before anything is trained.
    let (ok, err) = nse(&[
        "search",
        "--preset",
        "demo",
        "--set",
        "resource.metric=\"latency\"",
        "--out",
        scratch("latency-none").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("no `resource.latency_table`"), "{err}");
    // A table for every layer of the demo space: the search starts under latency.
    let config = SearchConfig::preset("demo").unwrap();
    let space = config.space.check().unwrap();
    let mut table = LatencyTable::new("ms");
    for key in nse::space::latency_layers(&space).unwrap() {
        table
            .entries
            .insert(key, 0.05 + 1e-4 * (key.cin * key.cout) as f64);
    }
    let dir = scratch("latency-table");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("table.json");
    std::fs::write(&path, serde_json::to_string(&table).unwrap()).unwrap();
    let mut latency = config.clone();
    latency.resource.metric = nse::space::CostKind::Latency;
    latency.resource.latency_table = Some(path.clone());
    let costs = nse::train::search::cost_table(&latency, &space).unwrap();
    // A window around the middle of the first sub-space's reachable range.
    let mut probe = latency.clone();
    probe.resource.target = 1.0;
    probe.resource.drift = 1e9;
    probe.evaluation.n_extra = 0;
    let f = probe.clone().check().unwrap().check_window().unwrap();
    let target = (f.cheapest + f.dearest) / 2.0;
    let drift = (f.dearest - f.cheapest) / 4.0;
    let out = scratch("latency-run");
    let result = Command::new(env!("CARGO_BIN_EXE_nse"))
        .args(["search", "--preset", "demo", "--quiet", "--max-steps", "1"])
        .args(["--set", "resource.metric=\"latency\""])
        .arg("--set")
        .arg(format!(
            "resource.latency_table={}",
            serde_json::json!(path)
        ))
        .args(["--set", &format!("resource.target={target}")])
        .args(["--set", &format!("resource.drift={drift}")])
        .args(["--set", &format!("resource.extra_drift={drift}")])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains("stopped after 1 steps"), "{stdout}");
    let saved: SearchConfig =
        serde_json::from_str(&std::fs::read_to_string(RunDir::new(&out).config_path()).unwrap())
            .unwrap();
    assert_eq!(
        saved.resource.latency_table.as_deref(),
        Some(path.as_path())
    );
    assert_eq!(costs.unit, "ms");
}

#[test]
fn the_demo_latency_preset_builds_its_table_and_resolves_its_window() {
    let dir = scratch("demo-latency");
    let table = dir.join("tables/demo.json");
    let out = dir.join("run");
    let run = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_nse"))
            .args([
                "search",
                "--preset",
                "demo-latency",
                "--quiet",
                "--max-steps",
                "1",
            ])
            .arg("--set")
            .arg(format!(
                "resource.latency_table={}",
                serde_json::json!(table)
            ))
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let result = run(&out);
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(stdout.contains("does not exist; timing"), "{stdout}");
    assert!(stdout.contains("stopped after 1 steps"), "{stdout}");
    // The table covers the space; the saved config is in ms, resolved from the fractions.
    let read = nse::ops::latency::LatencyTable::read(&table).unwrap();
    let preset = SearchConfig::preset("demo-latency").unwrap();
    let space = preset.space.check().unwrap();
    for key in nse::space::latency_layers(&space).unwrap() {
        assert!(read.entries.contains_key(&key), "{key}");
    }
    let mut config = preset.clone();
    config.resource.latency_table = Some(table.clone());
    let costs = nse::train::search::cost_table(&config, &space).unwrap();
    let expected = config.resource.resolve(&space, &costs).unwrap();
    let saved: SearchConfig =
        serde_json::from_str(&std::fs::read_to_string(RunDir::new(&out).config_path()).unwrap())
            .unwrap();
    assert!(!saved.resource.relative);
    assert_eq!(saved.resource, expected);
    assert_ne!(saved.resource.target, preset.resource.target);
    // A second search reuses the table: nothing is timed again.
    let before = std::fs::read(&table).unwrap();
    let result = run(&dir.join("again"));
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert!(
        result.status.success() && !stdout.contains("timing"),
        "{stdout}"
    );
    assert_eq!(std::fs::read(&table).unwrap(), before);
}

#[test]
fn latency_build_times_every_layer_of_a_space() {
    let dir = scratch("latency-build");
    // The table's folder does not exist yet: it is made.
    let out = dir.join("tables").join("table.json");
    let args = [
        "latency",
        "build",
        "--space",
        "fashion-mnist-mb27",
        "--warmup",
        "0",
        "--repeats",
        "1",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    let (ok, err) = nse(&args);
    assert!(ok, "{err}");
    let table = nse::ops::latency::LatencyTable::read(&out).unwrap();
    let space = nse::space::SpaceSpec::preset("fashion-mnist-mb27")
        .unwrap()
        .check()
        .unwrap();
    assert_eq!(
        table.entries.len(),
        nse::space::latency_layers(&space).unwrap().len()
    );
    assert_eq!(table.batch, Some(1));
    let (ok, err) = nse(&["latency", "build", "--space", "nope", "--out", "x.json"]);
    assert!(!ok && err.contains("--space `nope`"), "{err}");
}

#[test]
fn latency_validate_fits_the_overhead_into_the_table() {
    let dir = scratch("latency-validate");
    std::fs::create_dir_all(&dir).unwrap();
    let table = dir.join("table.json");
    let report = dir.join("report.json");
    let fast = ["--warmup", "0", "--repeats", "1", "--quiet"];
    let space = ["--space", "fashion-mnist-mb27"];
    let mut build = vec!["latency", "build", "--out", table.to_str().unwrap()];
    build.extend(space);
    build.extend(fast);
    let (ok, err) = nse(&build);
    assert!(ok, "{err}");
    let mut validate = vec!["latency", "validate", "--archs", "3", "--fit"];
    validate.extend(["--table", table.to_str().unwrap()]);
    validate.extend(["--out", report.to_str().unwrap()]);
    validate.extend(space);
    validate.extend(fast);
    let (ok, err) = nse(&validate);
    assert!(ok, "{err}");
    let fitted: nse::train::latency::LatencyValidation =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(fitted.architectures.len(), 3);
    let read = nse::ops::latency::LatencyTable::read(&table).unwrap();
    assert_eq!(read.layer_overhead, fitted.overhead_per_layer);
    assert_eq!(read.output_overhead, fitted.overhead_per_output_million);
    // The CSV of the reference is not rewritten.
    let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/reference-lut/reference_lut.csv");
    let (ok, err) = nse(&[
        "latency",
        "validate",
        "--space",
        "nsenet-gpu",
        "--fit",
        "--table",
        csv.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not the reference's CSV"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_the_output_without_a_panic() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_nse"))
        .args(["stats", "nsenet-gpu"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader leaves before the first line is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Ctrl-C (SIGINT) stops a search at its next step with a checkpoint, says how to continue
/// and exits non-zero; the run then resumes.
#[cfg(unix)]
#[test]
fn ctrl_c_stops_a_search_with_a_checkpoint_that_resumes() {
    use std::process::Stdio;
    let out = scratch("ctrl-c");
    let out_s = out.to_str().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_nse"))
        .args(["search", "--preset", "demo", "--quiet", "--out", out_s])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The handler is installed before the run directory exists.
    let started = std::time::Instant::now();
    while !RunDir::new(&out).config_path().exists() {
        assert!(
            started.elapsed().as_secs() < 120,
            "the search did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    #[allow(unsafe_code)]
    // SAFETY: sends SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGINT);
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("checkpoint written; continue with: nse search --resume"),
        "{stderr}"
    );
    assert!(out.join("checkpoint").join("COMPLETE").exists());
    assert!(!RunDir::new(&out).front_path().exists());
    let (ok, err) = nse(&["search", "--resume", out_s, "--max-steps", "1", "--quiet"]);
    assert!(ok, "{err}");
    std::fs::remove_dir_all(&out).unwrap();
}

#[test]
fn an_unknown_cpu_kernel_mode_is_an_error() {
    let run = |value: &str| {
        Command::new(env!("CARGO_BIN_EXE_nse"))
            .args(["stats", "nsenet27"])
            .env("NSE_CPU_KERNELS", value)
            .output()
            .unwrap()
    };
    let bad = run("of");
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success(), "{stderr}");
    assert!(stderr.contains("unknown CPU kernel mode `of`"), "{stderr}");
    assert!(run("off").status.success());
}

/// `nse list` prints every name the other commands look up, kind by kind, and an unknown
/// name anywhere is answered with the list of its kind.
#[test]
fn list_prints_the_registry_and_unknown_names_get_the_list() {
    let out = Command::new(env!("CARGO_BIN_EXE_nse"))
        .args(["list"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for kind in nse::registry::Kind::ALL {
        assert!(text.contains(&format!("{kind}:\n")), "{text}");
        for name in nse::registry::names(kind) {
            assert!(text.contains(&format!("  {name} ")), "{name} in {text}");
        }
    }
    let out = Command::new(env!("CARGO_BIN_EXE_nse"))
        .args(["list", "recipes"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("recipes:\n") && text.contains("  cifar10 "),
        "{text}"
    );
    assert!(!text.contains("presets:"), "{text}");
    let (ok, err) = nse(&["list", "recipe"]);
    assert!(!ok && err.contains("unknown kind `recipe`"), "{err}");
    let (ok, err) = nse(&["search", "--preset", "dmeo", "--out", "/nonexistent/x"]);
    assert!(
        !ok && err.contains("unknown search preset `dmeo`") && err.contains("nse list presets"),
        "{err}"
    );
    let (ok, err) = nse(&[
        "retrain",
        "--arch",
        "nsenet",
        "--recipe",
        "cifar",
        "--out",
        "/nonexistent/x",
    ]);
    assert!(
        !ok && err.contains("recipe `cifar`") && err.contains("demo, cifar10"),
        "{err}"
    );
}

#[test]
fn data_extract_refuses_a_foreign_folder_and_a_broken_archive() {
    let dir = scratch("extract");
    std::fs::create_dir_all(dir.join("foreign")).unwrap();
    let archive = dir.join("broken.tar.gz");
    std::fs::write(&archive, b"not a gzip stream").unwrap();
    let extract = |out: &str| {
        nse(&[
            "data",
            "extract",
            "--archive",
            archive.to_str().unwrap(),
            "--out",
            dir.join(out).to_str().unwrap(),
        ])
    };
    // A folder that extraction did not make is never overwritten.
    let (ok, err) = extract("foreign");
    assert!(!ok && err.contains("holds no .nse-extracted.json"), "{err}");
    // A broken archive leaves no half-extracted folder behind.
    let (ok, err) = extract("fresh");
    assert!(!ok && err.contains("cannot extract"), "{err}");
    assert!(!dir.join("fresh").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
