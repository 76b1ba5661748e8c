//! The configuration reference (`docs/guide/configuration.md`) names every field: the
//! dotted path of every key of every preset's serialised `SearchConfig` (with both data
//! pipelines written out), of every data source, and of the retraining recipes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use nse_train::data::Pipeline;
use nse_train::retrain::RetrainConfig;
use nse_train::search::{DataSource, SearchConfig};
use serde_json::Value;

/// Every key path of `value` below `prefix` (objects only; array elements are described
/// in prose).
fn paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    if let Value::Object(map) = value {
        for (key, child) in map {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            paths(child, &path, out);
            out.insert(path);
        }
    }
}

#[test]
fn every_config_field_is_in_the_reference() {
    let mut fields = BTreeSet::new();
    for name in SearchConfig::PRESETS {
        let mut config = SearchConfig::preset(name).unwrap();
        config.data.train_pipeline = Some(Pipeline::imagenet_train(224));
        config.data.eval_pipeline = Some(Pipeline::imagenet_eval(224));
        paths(&serde_json::to_value(&config).unwrap(), "", &mut fields);
    }
    let p = PathBuf::from;
    let sources = [
        DataSource::FashionMnistDemo,
        DataSource::Mnist {
            dir: p("d"),
            fashion: true,
        },
        DataSource::Cifar10Binary { dir: p("d") },
        DataSource::ImageFolder { root: p("r") },
        DataSource::ImageList {
            root: p("r"),
            train: p("t"),
            held_out: Some(p("h")),
            test: Some(p("t")),
        },
        DataSource::Archive {
            path: p("a"),
            cache: p("c"),
        },
        DataSource::Custom { name: "x".into() },
    ];
    for source in sources {
        paths(
            &serde_json::to_value(&source).unwrap(),
            "data.source",
            &mut fields,
        );
    }
    for recipe in [RetrainConfig::cifar10(), RetrainConfig::demo()] {
        let mut recipe = recipe;
        recipe.ema_decay = Some(0.999);
        paths(&serde_json::to_value(&recipe).unwrap(), "", &mut fields);
    }
    assert!(fields.len() > 80, "walked {} fields", fields.len());

    let page = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/guide/configuration.md");
    let text = std::fs::read_to_string(&page).unwrap();
    let missing: Vec<&String> = fields
        .iter()
        .filter(|f| !text.contains(&format!("| `{f}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} lacks a row for: {missing:?}",
        page.display()
    );
}
