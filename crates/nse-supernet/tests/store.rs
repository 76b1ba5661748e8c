//! Save/load round trips reproduce outputs bit for bit; safetensors export uses PyTorch names.

use std::path::PathBuf;

use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};
use nse_space::{Architecture, SearchSpace, SpaceSpec};
use nse_supernet::recalibration::recalibrate;
use nse_supernet::{ChildNetwork, Indicators, Supernet, SupernetState, export_safetensors};

fn tiny_space() -> SearchSpace {
    serde_json::from_str::<SpaceSpec>(
        r#"{"pool": ["ir_k3_e1", "ir_k5_e3_se", "rec_k5_e2", "conv_k3_e1"],
            "layout": {"cells": "NRN"}, "channels": [8, 16], "stem_stride": 1,
            "input_size": 8, "num_classes": 4, "tail_channels": 16, "subspace_size": 3}"#,
    )
    .unwrap()
    .check()
    .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nse-store-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .unwrap()
}

#[test]
fn supernet_state_round_trip_is_bit_exact() {
    let device = Device::flex().autodiff();
    let space = tiny_space();
    let mut supernet = Supernet::new(&space, &device, 21).unwrap();
    let arch = vec![vec![1], vec![0, 2], vec![3]];
    let batches: Vec<Tensor<4>> = (0..2)
        .map(|_| Tensor::random([4, 3, 8, 8], Distribution::Normal(0.3, 1.2), &device))
        .collect();
    recalibrate(&mut supernet, &arch, batches).unwrap();
    let alpha = vec![vec![0.5, -1.0, 2.0, 0.25]; 3];
    let state = SupernetState {
        supernet,
        indicators: Indicators::from_values(&alpha, &device),
    };
    let path = scratch("supernet.bpk");
    state.save(&path).unwrap();
    let loaded = SupernetState::load(&space, &device, &path).unwrap();
    let x = Tensor::<4>::random(
        [3, 3, 8, 8],
        Distribution::Normal(0.0, 1.0),
        &Device::flex(),
    );
    let before = values(state.supernet.valid().forward(x.clone(), &arch).unwrap());
    let after = values(loaded.supernet.valid().forward(x, &arch).unwrap());
    assert_eq!(before, after);
    assert_eq!(loaded.indicators.values(), alpha);
    // A fresh supernet with another seed differs, so the equality above is not vacuous.
    let other = Supernet::new(&space, &device, 22).unwrap().valid();
    let x = Tensor::<4>::ones([1, 3, 8, 8], &Device::flex());
    assert_ne!(
        values(other.forward(x.clone(), &arch).unwrap()),
        values(loaded.supernet.valid().forward(x, &arch).unwrap())
    );
    assert!(SupernetState::load(&space, &device, &scratch("missing.bpk")).is_err());
}

#[test]
fn child_round_trip_and_safetensors_names() {
    let device = Device::flex();
    let space = tiny_space();
    let arch = Architecture::new(vec![vec![], vec![0, 2], vec![1]]).unwrap();
    let child = ChildNetwork::from_space(&space, &arch, &device, 5).unwrap();
    let path = scratch("child.bpk");
    child.save(&path).unwrap();
    let loaded = ChildNetwork::load(&space, &arch, &device, &path).unwrap();
    let x = Tensor::<4>::random([2, 3, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    assert_eq!(values(child.forward(x.clone())), values(loaded.forward(x)));

    let st = scratch("child.safetensors");
    export_safetensors(&child, &st).unwrap();
    export_safetensors(&child, &st).unwrap(); // overwrites
    let bytes = std::fs::read(&st).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let shape = |name: &str| -> Vec<u64> {
        header[name]["shape"]
            .as_array()
            .unwrap_or_else(|| panic!("missing {name} in {header}"))
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    assert_eq!(shape("stem.conv.conv.weight"), [8, 3, 3, 3]);
    assert_eq!(shape("stem.conv.bn.weight"), [8]);
    assert_eq!(shape("stem.conv.bn.running_var"), [8]);
    // child cell 0 is the R cell (8 -> 16): op 0 = ir_k3_e1, op 1 = rec_k5_e2 (h = 16).
    assert_eq!(shape("cells.0.ops.0.depthwise.conv.weight"), [8, 1, 3, 3]);
    assert_eq!(shape("cells.0.ops.1.row.conv.weight"), [16, 16, 1, 5]);
    assert_eq!(shape("cells.1.ops.0.se.reduce.bias"), [12]);
    // PyTorch layout for the classifier: [out, in].
    assert_eq!(shape("tail.classifier.weight"), [4, 16]);
    assert_eq!(shape("tail.conv.weight"), [16, 16, 1, 1]);
}

#[test]
fn a_file_with_non_finite_values_is_refused_as_damaged() {
    let device = Device::flex();
    let space = tiny_space();
    let mut alpha = vec![vec![0.5, -1.0, 2.0, 0.25]; 3];
    let state = |alpha: &[Vec<f32>]| SupernetState {
        supernet: Supernet::new(&space, &device, 3).unwrap(),
        indicators: Indicators::from_values(alpha, &device),
    };
    assert_eq!(nse_supernet::store::non_finite_values(&state(&alpha)), None);
    alpha[1][2] = f32::NAN;
    alpha[2][0] = f32::INFINITY;
    let damaged = state(&alpha);
    let (count, first) = nse_supernet::store::non_finite_values(&damaged).unwrap();
    assert_eq!(count, 2);
    assert!(first.contains("indicators"), "{first}");
    let path = scratch("nan.bpk");
    damaged.save(&path).unwrap();
    let err = SupernetState::load(&space, &device, &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2 non-finite values") && err.contains("damaged"),
        "{err}"
    );
}
