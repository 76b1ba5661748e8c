//! A write failure while a dataset archive is extracted into its cache (here injected
//! through `nse_durable`, as a full disk would fail it): a clear error, no cache folder and
//! no temporary folder left behind; the next call extracts normally. In a test binary of
//! its own because the failure hook is process-wide.

use std::path::Path;

use nse_data::{EXTRACTION_MARKER, extract_tar_gz_cached};

fn make_archive(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut builder = tar::Builder::new(gz);
    let mut header = tar::Header::new_gnu();
    header.set_size(4);
    header.set_mode(0o644);
    header.set_cksum();
    builder
        .append_data(&mut header, "train/cat/1.txt", &b"meow"[..])
        .unwrap();
    builder.into_inner().unwrap().finish().unwrap();
}

#[test]
fn a_failed_write_leaves_no_cache_and_the_next_call_extracts() {
    let dir = std::env::temp_dir().join(format!("nse-extract-fail-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("a.tar.gz");
    make_archive(&archive);
    let cache = dir.join("cache");

    nse_durable::inject_write_failures(Some(0));
    let err = extract_tar_gz_cached(&archive, &cache).unwrap_err();
    nse_durable::inject_write_failures(None);
    let message = err.to_string();
    assert!(
        message.contains(EXTRACTION_MARKER) && message.contains("injected write failure"),
        "{message}"
    );
    assert!(!cache.exists(), "no half-made cache folder");
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["a.tar.gz"], "temporary folders left behind");

    extract_tar_gz_cached(&archive, &cache).unwrap();
    assert_eq!(
        std::fs::read(cache.join("train/cat/1.txt")).unwrap(),
        b"meow"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
