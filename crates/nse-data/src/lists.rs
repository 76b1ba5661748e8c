//! Image lists that move part of a tree's training images into its evaluation set.
//!
//! A ground truth of retrained accuracies is only as precise as its test set: on 10,000
//! images the binomial standard error of a top-1 near 50 % is 0.5 points. [`hold_back_lists`]
//! writes the two list files ([`ImageFolder::from_list`]'s format) of a `train/` + `test/`
//! image-folder tree with `count` training images (class-stratified, by seed) moved to the
//! test list, so that networks train on the rest and are evaluated on more images.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::dataset::Dataset;
use super::error::{DataError, Result};
use super::image_folder::{ImageFolder, ImageFolderOptions};
use super::split::holdout_split;

/// The training list [`hold_back_lists`] writes.
pub const TRAIN_LIST: &str = "train.txt";
/// The evaluation list [`hold_back_lists`] writes: the test images, then the held-back ones.
pub const TEST_LIST: &str = "test.txt";

/// What [`hold_back_lists`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBackLists {
    /// The training list.
    pub train_list: PathBuf,
    /// The evaluation list.
    pub test_list: PathBuf,
    /// Images in the training list.
    pub train: usize,
    /// Images of the tree's `test/` folder (first in the evaluation list).
    pub test: usize,
    /// Training images moved to the evaluation list (after the test images).
    pub held_back: usize,
    /// Class names; a line's label is the index of its class here.
    pub classes: Vec<String>,
}

/// Writes `train.txt` and `test.txt` into `out` (created) for the image-folder tree at
/// `root` (`root/train/<class>/<image>`, `root/test/<class>/<image>`): `count` training
/// images — the same share of every class, chosen by `seed` as [`holdout_split`] chooses,
/// so per-class rounding may move the total by a few — leave the training list for the
/// evaluation list, after the test images. Each line is the image path relative to `root`
/// and the class index (classes sorted by name, as [`ImageFolder::open`] numbers them).
/// Each file is written whole or not at all (a temporary file renamed).
///
/// Fails when the tree lacks `train/` or `test/`, the two hold other classes, or `count` is
/// 0 or not below the number of training images.
pub fn hold_back_lists(root: &Path, count: usize, seed: u64, out: &Path) -> Result<HeldBackLists> {
    let options = ImageFolderOptions::default();
    let train = ImageFolder::open(root.join("train"), &options)?;
    let test = ImageFolder::open(root.join("test"), &options)?;
    if train.class_names() != test.class_names() {
        return Err(DataError::Format {
            path: root.to_path_buf(),
            reason: format!(
                "`train/` has the classes {:?}, `test/` {:?}",
                train.class_names(),
                test.class_names()
            ),
        });
    }
    if count == 0 || count >= train.len() {
        return Err(DataError::param(
            "count",
            count,
            format!(
                "must lie between 1 and the {} training images less one",
                train.len()
            ),
        ));
    }
    let split = holdout_split(&train, count as f64 / train.len() as f64, seed)?;
    let line = |folder: &ImageFolder, i: usize| -> Result<String> {
        let path = &folder.paths()[i];
        let relative = path.strip_prefix(root).map_err(|_| DataError::Format {
            path: path.clone(),
            reason: format!("is not under `{}`", root.display()),
        })?;
        Ok(format!("{} {}\n", relative.display(), folder.label(i)?))
    };
    std::fs::create_dir_all(out).map_err(|e| DataError::io("cannot create", out, e))?;
    let train_lines = split
        .train
        .iter()
        .map(|&i| line(&train, i))
        .collect::<Result<String>>()?;
    let test_lines = (0..test.len())
        .map(|i| line(&test, i))
        .chain(split.holdout.iter().map(|&i| line(&train, i)))
        .collect::<Result<String>>()?;
    let (train_list, test_list) = (out.join(TRAIN_LIST), out.join(TEST_LIST));
    write_whole(&train_list, &train_lines)?;
    write_whole(&test_list, &test_lines)?;
    Ok(HeldBackLists {
        train_list,
        test_list,
        train: split.train.len(),
        test: test.len(),
        held_back: split.holdout.len(),
        classes: train.class_names().to_vec(),
    })
}

/// Writes `text` to a temporary file beside `path`, then renames it over `path`.
fn write_whole(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("txt.tmp");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| DataError::io("cannot write", path, e))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::test_util::TempDir;

    /// `train/` with 10 images of class `a` and 5 of `b`, `test/` with 2 of each.
    fn tree(tmp: &TempDir) -> PathBuf {
        let root = tmp.path().join("tree");
        for (split, class, n) in [
            ("train", "a", 10),
            ("train", "b", 5),
            ("test", "a", 2),
            ("test", "b", 2),
        ] {
            let dir = root.join(split).join(class);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..n {
                // Tiny valid PNGs: the lists are checked by opening them.
                let image = image::GrayImage::from_pixel(2, 2, image::Luma([i as u8]));
                image.save(dir.join(format!("{i:02}.png"))).unwrap();
            }
        }
        root
    }

    fn listed(root: &Path, list: &Path) -> Vec<String> {
        let folder = ImageFolder::from_list(root, list, 2, &ImageFolderOptions::default()).unwrap();
        folder
            .paths()
            .iter()
            .zip(0..)
            .map(|(p, i)| format!("{} {}", p.display(), folder.label(i).unwrap()))
            .collect()
    }

    #[test]
    fn held_back_images_leave_the_training_list_for_the_test_list() {
        let tmp = TempDir::new("lists");
        let root = tree(&tmp);
        let out = tmp.path().join("lists");
        let lists = hold_back_lists(&root, 6, 7, &out).unwrap();
        // 6 of 15 is 40 %: 4 of class a, 2 of class b.
        assert_eq!((lists.train, lists.test, lists.held_back), (9, 4, 6));
        assert_eq!(lists.classes, ["a", "b"]);
        let train = listed(&root, &lists.train_list);
        let test = listed(&root, &lists.test_list);
        assert_eq!((train.len(), test.len()), (9, 10));
        // The test images come first, then the held-back training images.
        assert!(test[..4].iter().all(|l| l.contains("/test/")));
        assert!(test[4..].iter().all(|l| l.contains("/train/")));
        let held: Vec<&String> = test[4..].iter().collect();
        assert_eq!(held.iter().filter(|l| l.ends_with(" 0")).count(), 4);
        assert_eq!(held.iter().filter(|l| l.ends_with(" 1")).count(), 2);
        // Every training image is in exactly one of the lists, with its class as label.
        let train_set: HashSet<&String> = train.iter().collect();
        assert!(held.iter().all(|l| !train_set.contains(l)));
        assert_eq!(train_set.len() + held.len(), 15);
        for l in train.iter().chain(&test) {
            let class = if l.contains("/a/") { " 0" } else { " 1" };
            assert!(l.ends_with(class), "{l}");
        }
        // The same seed gives the same lists; another seed holds back others.
        let again = hold_back_lists(&root, 6, 7, &tmp.path().join("again")).unwrap();
        assert_eq!(
            std::fs::read(&again.test_list).unwrap(),
            std::fs::read(&lists.test_list).unwrap()
        );
        let other = hold_back_lists(&root, 6, 8, &tmp.path().join("other")).unwrap();
        assert_ne!(
            std::fs::read(&other.test_list).unwrap(),
            std::fs::read(&lists.test_list).unwrap()
        );
    }

    #[test]
    fn bad_counts_and_trees_are_refused() {
        let tmp = TempDir::new("lists-bad");
        let root = tree(&tmp);
        let out = tmp.path().join("lists");
        for count in [0, 15, 20] {
            let err = hold_back_lists(&root, count, 0, &out).unwrap_err();
            assert!(err.to_string().contains("count"), "{err}");
        }
        std::fs::create_dir_all(root.join("test/c")).unwrap();
        image::GrayImage::new(2, 2)
            .save(root.join("test/c/x.png"))
            .unwrap();
        let err = hold_back_lists(&root, 3, 0, &out).unwrap_err();
        assert!(err.to_string().contains("has the classes"), "{err}");
        let err = hold_back_lists(&tmp.path().join("missing"), 3, 0, &out).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        assert!(!out.join(TRAIN_LIST).exists(), "nothing written on failure");
    }
}
