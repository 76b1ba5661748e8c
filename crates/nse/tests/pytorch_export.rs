//! The PyTorch export: `model.py` loads `model.safetensors` strictly and gives nse's logits
//! (max abs difference ≤ 1e-4 in eval mode) for NSENet-GPU and NSENet at 224 with their
//! initial weights, and for a network of every op family (SE, swish, dilation, groups,
//! strides) with batch-norm statistics that are not the initial ones.
//!
//! Needs Python with torch and safetensors: `NSE_TORCH_PYTHON` or the virtual environment
//! `~/.venvs/nse-ref` (`scripts/pytorch-venv.sh` makes it). Ignored by default; `.ci/run`
//! runs it: `cargo test -p nse --test pytorch_export -- --ignored`.

use std::path::PathBuf;
use std::process::Command;

use nse::burn::module::{Module, RunningState};
use nse::burn::tensor::{Device, Distribution, Tensor};
use nse::space::{NetworkSpec, published};
use nse::supernet::ChildNetwork;
use nse::supernet::pytorch::{CHECK_FILE, ExportInfo, MODEL_PY, WEIGHTS_FILE, export_pytorch};

mod python;
use python::python;

const TOLERANCE: f64 = 1e-4;

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("nse-pytorch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Exports `child`, runs `python model.py` there and returns the difference it printed.
fn export_and_check(network: &NetworkSpec, child: &ChildNetwork, name: &str) -> f64 {
    let scratch = Scratch::new(name);
    let (space, arch) = network.resolve().unwrap();
    let export =
        export_pytorch(child, &space, &arch, &ExportInfo::named(name), &scratch.0).unwrap();
    for file in [MODEL_PY, WEIGHTS_FILE, CHECK_FILE] {
        assert!(scratch.0.join(file).is_file(), "{file}");
    }
    let out = Command::new(python())
        .arg(&export.model_py)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "{name}: python model.py failed\n{stdout}\n{stderr}"
    );
    let diff: f64 = stdout
        .split("max abs difference to nse's logits ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no difference printed: {stdout}"));
    assert!(export.max_abs_logit > 0.0, "{name}: all logits zero");
    diff
}

/// Every batch norm of `child`.
fn batch_norms(child: &mut ChildNetwork) -> Vec<&mut nse::burn::nn::BatchNorm> {
    let mut bns = vec![&mut child.stem.conv.bn];
    for cell in &mut child.cells {
        for op in &mut cell.ops {
            bns.extend(op.batch_norms_mut());
        }
    }
    bns
}

/// NSENet-GPU and NSENet at 224 with their initial weights, as built, and again with batch
/// statistics measured on a batch: with the initial running statistics (mean 0, variance 1)
/// in eval mode, the signal of a random image fades through the fan-out-initialised
/// depthwise convs, and the logits are nearly the classifier's bias alone, which checks the
/// stem, tail and names but not the cells. Measured statistics keep it alive to the tail.
#[test]
#[ignore = "needs Python with torch (scripts/pytorch-venv.sh); run by .ci/run"]
fn published_networks_at_224_give_nse_logits_in_pytorch() {
    let device = Device::flex();
    for name in ["nsenet-gpu", "nsenet"] {
        let network = published(name).unwrap();
        assert_eq!(network.space.input_size, 224);
        let (space, arch) = network.resolve().unwrap();
        let child = ChildNetwork::from_space(&space, &arch, &device, 0).unwrap();
        let diff = export_and_check(&network, &child, name);
        assert!(diff <= TOLERANCE, "{name}: {diff}");

        // The same initial weights; running statistics of a batch of 4 (momentum 1 in one
        // train-mode forward pass).
        let train = device.clone().autodiff();
        let mut child = ChildNetwork::from_space(&space, &arch, &train, 0).unwrap();
        for bn in batch_norms(&mut child) {
            bn.momentum = 1.0;
        }
        let x = Tensor::<4>::random([4, 3, 224, 224], Distribution::Normal(0.0, 1.0), &train);
        let _ = child.clone().no_grad().forward(x);
        child.sync_statistics();
        let diff = export_and_check(&network, &child.valid(), &format!("{name}-measured-bn"));
        assert!(diff <= TOLERANCE, "{name} with measured statistics: {diff}");
    }
}

/// Every family, SE, swish, dilation, grouped 1x1s, strided and residual cells, several
/// branches per cell; batch norms given random running statistics and affine parameters, so
/// that eval mode's use of them is checked too.
#[test]
#[ignore = "needs Python with torch (scripts/pytorch-venv.sh); run by .ci/run"]
fn every_op_family_with_trained_statistics_gives_nse_logits_in_pytorch() {
    let network: NetworkSpec = serde_json::from_str(
        r#"{
          "name": "every-family",
          "space": {
            "pool": ["ir_k3_e3", "ir_k5_e6_se_swish", "ir_k3_e2_d2_g2x2", "conv_k3_e1",
                     "dual_k3_e1_se", "rec_k5_e2_swish"],
            "layout": {"cells": "NRNEN"},
            "channels": [8, 16, 24],
            "stem_stride": 1,
            "input_channels": 3,
            "input_size": 20,
            "num_classes": 7,
            "tail_channels": 32
          },
          "architecture": [[0, 3, 5], [1, 2, 4, 5], [], [0, 3], [1, 4]]
        }"#,
    )
    .unwrap();
    let (space, arch) = network.resolve().unwrap();
    let device = Device::flex();
    let mut child = ChildNetwork::from_space(&space, &arch, &device, 3).unwrap();
    let randomize = |bn: &mut nse::burn::nn::BatchNorm| {
        let n = bn.gamma.val().dims()[0];
        let u = |lo, hi| Tensor::<1>::random([n], Distribution::Uniform(lo, hi), &device);
        bn.running_mean = RunningState::new(u(-0.5, 0.5));
        bn.running_var = RunningState::new(u(0.5, 2.0));
        bn.gamma = bn.gamma.clone().map(|_| u(0.5, 1.5));
        bn.beta = bn.beta.clone().map(|_| u(-0.2, 0.2));
    };
    for bn in batch_norms(&mut child) {
        randomize(bn);
    }
    let diff = export_and_check(&network, &child, "every-family");
    assert!(diff <= TOLERANCE, "{diff}");
}
