//! A checkpoint write that fails (injected, as on a full disk) stops the search with an error
//! naming the file, leaves the last good checkpoint whole, and the search resumes from it to
//! the uninterrupted front once writes work again. In a test binary of its own: the
//! injection hook is process-wide.

use burn::tensor::Device;
use nse_supernet::durable::inject_write_failures;
use nse_train::progress::Quiet;
use nse_train::search::Search;
use nse_train::search::checkpoint::{find, verify};

mod common;
use common::{config, scratch, write_dataset};

#[test]
fn a_failed_checkpoint_write_leaves_the_last_good_one() {
    let data = scratch("data-write-failure");
    write_dataset(&data);
    let device = Device::flex();
    let config = config(&data);
    let full = scratch("write-failure-full");
    Search::new(config.clone(), &full, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();

    let dir = scratch("write-failure");
    let mut first = config.clone();
    first.max_steps = Some(4);
    Search::new(first, &dir, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    let good = find(&dir).unwrap();
    let progress = verify(&good).unwrap();
    assert_eq!(progress.total_steps, 4);

    // The next checkpoint (after 3 more steps) cannot be written.
    inject_write_failures(Some(0));
    let result = Search::resume(&dir, &device, Some(3))
        .unwrap()
        .run(&mut Quiet);
    inject_write_failures(None);
    let err = result.unwrap_err().to_string();
    assert!(err.contains("injected write failure"), "{err}");
    assert!(
        err.contains("checkpoint.new"),
        "the error names the file: {err}"
    );
    // The last good checkpoint is still the newest intact one, unchanged.
    assert_eq!(find(&dir).unwrap(), good);
    assert_eq!(verify(&good).unwrap(), progress);

    // Writes work again: the search resumes from it to the uninterrupted front.
    let outcome = Search::resume(&dir, &device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(outcome.finished);
    assert_eq!(
        std::fs::read_to_string(dir.join("front.json")).unwrap(),
        std::fs::read_to_string(full.join("front.json")).unwrap()
    );
}
