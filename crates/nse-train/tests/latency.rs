//! Latency tables built on the CPU for a small space: every layer the space needs is timed,
//! the table feeds the search's cost model, a rebuild reuses what is there and measures only
//! what is missing, and a table measured with other settings is not overwritten.

use burn::tensor::Device;
use nse_ops::latency::{LatencyTable, MeasureSettings};
use nse_space::{CostTable, LatencyCost, LatencyRules, latency_layers};
use nse_train::latency::{LatencyError, build_table};
use nse_train::progress::Quiet;

mod common;
use common::{config, scratch};

#[test]
fn a_table_is_built_for_every_layer_and_grows_without_remeasuring() {
    let dir = scratch("latency-build");
    let space = config(&dir).space.check().unwrap();
    let device = Device::flex();
    let settings = MeasureSettings {
        batch: 2,
        warmup: 0,
        repeats: 1,
    };
    let out = dir.join("table.json");
    let table = build_table(&space, &device, &settings, &out, &mut Quiet).unwrap();
    let keys = latency_layers(&space).unwrap();
    assert_eq!(table.entries.len(), keys.len());
    assert!(
        keys.iter()
            .all(|k| table.entries[k].is_finite() && table.entries[k] >= 0.0)
    );
    assert_eq!(table.batch, Some(2));
    assert_eq!(LatencyTable::read(&out).unwrap(), table, "written as built");
    // It covers the space: the search's latency cost table builds from it.
    let model = LatencyCost {
        table: table.clone(),
        rules: LatencyRules::default(),
    };
    let costs = CostTable::new(&space, &model).unwrap();
    assert_eq!(costs.unit, "ms");

    // A rebuild measures nothing; with one entry gone, only that one is measured again.
    let again = build_table(&space, &device, &settings, &out, &mut Quiet).unwrap();
    assert_eq!(again, table);
    let mut partial = table.clone();
    let gone = keys[keys.len() / 2];
    partial.entries.remove(&gone);
    std::fs::write(&out, serde_json::to_string(&partial).unwrap()).unwrap();
    let completed = build_table(&space, &device, &settings, &out, &mut Quiet).unwrap();
    assert_eq!(completed.entries.len(), keys.len());
    for k in &keys {
        if *k != gone {
            assert_eq!(
                completed.entries[k], table.entries[k],
                "{k} was measured again"
            );
        }
    }

    // Other settings do not overwrite the file.
    let other = MeasureSettings {
        batch: 4,
        ..settings
    };
    let err = build_table(&space, &device, &other, &out, &mut Quiet).unwrap_err();
    assert!(matches!(err, LatencyError::OtherTable { .. }), "{err}");
    assert_eq!(LatencyTable::read(&out).unwrap(), completed);
}
