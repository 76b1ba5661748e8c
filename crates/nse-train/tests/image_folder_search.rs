//! A search on an ImageNet-like tree: JPEG and PNG files of varying sizes and kinds
//! (colour, grayscale, RGBA) for a space whose input is above 64 pixels, so that weight
//! steps take the reference's ImageNet augmentation and every other batch the resize and
//! centre crop. Streamed or preloaded, with one worker or two, the search sees the same
//! batches and ends with the same front.

use nse_train::run_dir::RunDir;
use std::path::Path;

use burn::tensor::Device;
use image::{DynamicImage, ImageBuffer, Luma, Rgb, Rgba};
use nse_train::progress::Quiet;
use nse_train::search::{DataConfig, DataSource, Preload, ResourceConfig, Search, SearchConfig};

mod common;
use common::scratch;

/// `root/train/<class>/<n>.{jpg,png}`: 3 classes of 10 images, sides 50 to 119 pixels; every
/// fourth image grayscale, every fifth an RGBA PNG. Class `c` is brighter in channel `c`.
fn write_tree(root: &Path) {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    for class in 0..3 {
        let dir = root.join(format!("train/class{class}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..10 {
            let (w, h) = (50 + next(70) as u32, 50 + next(70) as u32);
            let rgb = ImageBuffer::from_fn(w, h, |x, y| {
                let mut p = [(x * 2) as u8, (y * 2) as u8, ((x + y) % 256) as u8];
                p[class] = p[class].saturating_add(120);
                Rgb(p)
            });
            let image = match i {
                _ if i % 4 == 3 => DynamicImage::ImageLuma8(ImageBuffer::from_fn(w, h, |x, y| {
                    Luma([rgb.get_pixel(x, y)[class]])
                })),
                _ if i % 5 == 4 => DynamicImage::ImageRgba8(ImageBuffer::from_fn(w, h, |x, y| {
                    let p = rgb.get_pixel(x, y);
                    Rgba([p[0], p[1], p[2], 200])
                })),
                _ => DynamicImage::ImageRgb8(rgb),
            };
            let ext = if matches!(image, DynamicImage::ImageRgba8(_)) {
                "png"
            } else {
                "jpg"
            };
            image.save(dir.join(format!("{i:02}.{ext}"))).unwrap();
        }
    }
}

/// The search of `common::config` on the tree at `root`: a 72-pixel RGB space of 3
/// classes, one round, a window over the whole cost range.
fn config(root: &Path, preload: Preload, workers: usize) -> SearchConfig {
    let mut config = common::config(root);
    config.space = serde_json::from_str(
        r#"{"pool": ["ir_k3_e1", "ir_k3_e3", "rec_k5_e1", "ir_k5_e1", "ir_k3_e1_d2"],
            "layout": {"cells": "NRN"}, "channels": [8, 16], "stem_stride": 2,
            "input_channels": 3, "input_size": 72, "num_classes": 3, "tail_channels": 16,
            "subspace_size": 3}"#,
    )
    .unwrap();
    config.data = DataConfig {
        source: DataSource::ImageFolder {
            root: root.to_path_buf(),
        },
        holdout_fraction: 0.3,
        augment: true,
        workers: Some(workers),
        preload,
        ..config.data
    };
    config.seed = 3;
    config.batch_size = 6;
    config.epochs_per_round = 1;
    config.lr.base = 0.05;
    config.lr.warmup_from = 0.01;
    config.resource = ResourceConfig {
        target: 0.5,
        a: 0.1,
        drift: 0.5,
        extra_drift: 0.0,
        relative: true,
        ..config.resource
    };
    config.evaluation.n = 3;
    config.evaluation.recalibration_batches = 1;
    config.max_rounds = Some(1);
    config.log_every = 2;
    config
}

#[test]
fn a_search_on_variable_size_images_streams_or_preloads_to_the_same_front() {
    let root = scratch("imagenet-like");
    write_tree(&root);
    let device = Device::flex();
    let run = |name: &str, preload, workers| {
        let dir = scratch(name);
        let outcome = Search::new(config(&root, preload, workers), &dir, &device)
            .unwrap()
            .run(&mut Quiet)
            .unwrap();
        assert!(outcome.finished && !outcome.front.is_empty(), "{name}");
        assert!(outcome.total_steps >= 3, "{name}: {}", outcome.total_steps);
        std::fs::read_to_string(RunDir::new(&dir).front_path()).unwrap()
    };
    let streamed = run("imagenet-like-streamed", Preload::Never, 2);
    let preloaded = run("imagenet-like-preloaded", Preload::Always, 1);
    assert_eq!(streamed, preloaded);

    // A pipeline that cannot make the input size is refused before anything runs.
    let mut wrong = config(&root, Preload::Never, 1);
    wrong.data.augment = false;
    wrong.data.eval_pipeline = Some(nse_train::data::Pipeline::new());
    let err = Search::new(wrong, &scratch("imagenet-like-wrong"), &device)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("keeps the images' size, and they are"),
        "{err}"
    );
}

/// The reference's way to name ImageNet's images: list files of `path label` lines for the
/// training set and the held-out set, which is then taken as it is (no fraction held out).
#[test]
fn a_search_reads_the_references_list_files() {
    use nse_train::search::events::{SearchEvent, read_log};
    let root = scratch("imagenet-like-lists");
    write_tree(&root);
    let (mut train, mut held) = (String::new(), String::new());
    for class in 0..3 {
        for i in 0..10 {
            let ext = if i % 5 == 4 { "png" } else { "jpg" };
            let line = format!("train/class{class}/{i:02}.{ext} {class}\n");
            if i < 7 {
                train.push_str(&line)
            } else {
                held.push_str(&line)
            }
        }
    }
    std::fs::write(root.join("train_meta.txt"), train).unwrap();
    std::fs::write(root.join("arch_val_meta.txt"), held).unwrap();
    let mut config = config(&root, Preload::Never, 1);
    config.data.source = DataSource::ImageList {
        root: root.clone(),
        train: root.join("train_meta.txt"),
        held_out: Some(root.join("arch_val_meta.txt")),
        test: None,
    };
    let dir = scratch("imagenet-like-lists-run");
    let outcome = Search::new(config, &dir, &Device::flex())
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(outcome.finished);
    let log = read_log(&RunDir::new(&dir).log_path()).unwrap();
    let SearchEvent::Start {
        train_images,
        held_out_images,
        ..
    } = &log[0]
    else {
        panic!("{:?}", log[0]);
    };
    assert_eq!((*train_images, *held_out_images), (21, 9));
}
