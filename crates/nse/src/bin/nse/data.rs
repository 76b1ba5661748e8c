//! `nse data`: preparing datasets (`extract`, `hold-back`), and the `--data` option.

use std::path::PathBuf;

use clap::Args;

#[derive(Args)]
pub(crate) struct HoldBackArgs {
    /// The tree (ROOT/train/<class>/<image>, ROOT/test/<class>/<image>).
    #[arg(long)]
    pub(crate) root: PathBuf,
    /// Training images to move to the test list.
    #[arg(long)]
    pub(crate) count: usize,
    /// Seed of the choice.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// Folder for train.txt and test.txt.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

#[derive(Args)]
pub(crate) struct ExtractArgs {
    /// The archive (`.tar.gz` of ROOT/train/<class>/<image>, ROOT/test/<class>/<image>).
    #[arg(long)]
    pub(crate) archive: PathBuf,
    /// The folder to extract into.
    #[arg(long)]
    pub(crate) out: PathBuf,
}

#[derive(Args)]
pub(crate) struct DataArgs {
    /// Dataset: demo, fashion-mnist:DIR, mnist:DIR, cifar10-bin:DIR, image-folder:ROOT
    /// (ROOT/train, ROOT/test) or archive:FILE.tar.gz (extracted under /var/tmp/nse-data).
    /// Default: the search run's data, else the demo subset.
    #[arg(long)]
    pub(crate) data: Option<String>,
}

pub(crate) fn extract(args: ExtractArgs) -> nse::Result<()> {
    let root = nse::data::extract_tar_gz_cached(&args.archive, &args.out)?;
    println!("{}", root.display());
    Ok(())
}

pub(crate) fn hold_back(args: HoldBackArgs) -> nse::Result<()> {
    let lists = nse::data::hold_back_lists(&args.root, args.count, args.seed, &args.out)?;
    println!(
        "{}: {} training images; {}: {} test images and {} held back from training",
        lists.train_list.display(),
        lists.train,
        lists.test_list.display(),
        lists.test,
        lists.held_back
    );
    let source = serde_json::json!({
        "kind": "image_list",
        "root": args.root,
        "train": lists.train_list,
        "test": lists.test_list,
    });
    println!("use them with: --set 'data.source={source}'");
    Ok(())
}
