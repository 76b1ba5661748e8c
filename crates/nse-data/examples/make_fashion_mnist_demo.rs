//! Builds the offline demo dataset `crates/nse-demo-data/data/` from full Fashion-MNIST.
//!
//! ```text
//! cargo run --release -p nse-data --example make_fashion_mnist_demo -- \
//!     --src /usr/share/datasets/fashion-mnist --out crates/nse-demo-data/data
//! ```
//!
//! Options: `--train-per-class N` (default 600), `--test-per-class N` (default 100),
//! `--seed S` (default 2021). The selection is [`nse_data::demo::make_fashion_mnist_demo`]:
//! class-balanced, seeded, deterministic, original order kept.

use std::path::PathBuf;
use std::process::ExitCode;

use nse_data::demo::{
    DEMO_SEED, DEMO_TEST_PER_CLASS, DEMO_TRAIN_PER_CLASS, make_fashion_mnist_demo,
};

const USAGE: &str = "usage: make_fashion_mnist_demo --src DIR --out DIR \
                     [--train-per-class N] [--test-per-class N] [--seed S]";

struct Args {
    src: PathBuf,
    out: PathBuf,
    train_per_class: usize,
    test_per_class: usize,
    seed: u64,
}

fn parse() -> Result<Args, String> {
    let mut src = None;
    let mut out = None;
    let mut args = Args {
        src: PathBuf::new(),
        out: PathBuf::new(),
        train_per_class: DEMO_TRAIN_PER_CLASS,
        test_per_class: DEMO_TEST_PER_CLASS,
        seed: DEMO_SEED,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--src" => src = Some(PathBuf::from(value()?)),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--train-per-class" => args.train_per_class = number(value()?)? as usize,
            "--test-per-class" => args.test_per_class = number(value()?)? as usize,
            "--seed" => args.seed = number(value()?)?,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    args.src = src.ok_or_else(|| format!("--src is required\n{USAGE}"))?;
    args.out = out.ok_or_else(|| format!("--out is required\n{USAGE}"))?;
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "selecting {} train and {} test images per class from {} (seed {})",
        args.train_per_class,
        args.test_per_class,
        args.src.display(),
        args.seed
    );
    match make_fashion_mnist_demo(
        &args.src,
        &args.out,
        args.train_per_class,
        args.test_per_class,
        args.seed,
    ) {
        Ok(summary) => {
            for f in &summary.files {
                let size = std::fs::metadata(f).map_or(0, |m| m.len());
                println!("wrote {} ({size} bytes)", f.display());
            }
            println!(
                "{} train images, {} test images",
                summary.train_indices.len(),
                summary.test_indices.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
