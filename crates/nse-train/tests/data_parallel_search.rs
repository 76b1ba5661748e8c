//! A search spread over several devices (`Search::set_devices`), with CPU replicas in
//! threads: evaluation over three devices gives the front of one; a two-device search
//! resumes exactly after an interruption, and resumes on another number of devices.

use burn::tensor::Device;
use nse_train::progress::Quiet;
use nse_train::run_dir::RunDir;
use nse_train::search::events::SearchEvent;
use nse_train::search::{FrontFile, Pause, Search, SearchConfig};

mod common;
use common::{config, scratch, write_dataset};

fn tiny_search(data_dir: &str) -> (SearchConfig, Device) {
    let data = scratch(data_dir);
    write_dataset(&data);
    (config(&data), Device::flex())
}

fn front(dir: &std::path::Path) -> String {
    std::fs::read_to_string(RunDir::new(dir).front_path()).unwrap()
}

#[test]
fn evaluation_spread_over_three_devices_gives_the_front_of_one() {
    let (config, device) = tiny_search("dp-data-eval");
    let one = scratch("dp-eval-one");
    Search::new(config.clone(), &one, &device)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();

    // Training on one device, every evaluation on three.
    let three = scratch("dp-eval-three");
    let mut search = Search::new(config, &three, &device).unwrap();
    search.pause_at(&[Pause::BeforeEvaluation, Pause::AfterRound]);
    let mut evaluations = 0;
    loop {
        let outcome = search.run(&mut Quiet).unwrap();
        match outcome.paused {
            Some(Pause::BeforeEvaluation) => {
                search
                    .set_devices(&[device.clone(), device.clone(), device.clone()])
                    .unwrap();
                evaluations += 1;
            }
            Some(_) => search.set_devices(std::slice::from_ref(&device)).unwrap(),
            None => break,
        }
    }
    assert_eq!(evaluations, 2, "both rounds evaluated on three devices");
    assert_eq!(front(&three), front(&one));
}

#[test]
fn a_two_device_search_resumes_exactly_and_on_another_device_count() {
    let (config, device) = tiny_search("dp-data-resume");
    let two = [device.clone(), device.clone()];
    let run = |dir: &std::path::Path, max_steps: Option<u64>| {
        let mut config = config.clone();
        config.max_steps = max_steps;
        let mut search = Search::new(config, dir, &device).unwrap();
        search.set_devices(&two).unwrap();
        search.run(&mut Quiet).unwrap()
    };
    let full = scratch("dp-full");
    assert!(run(&full, None).finished);
    let file = FrontFile::read(&RunDir::new(&full).front_path()).unwrap();
    assert!(!file.front.is_empty());

    // Interrupted mid-round, resumed on the same two devices: the same front.
    let parts = scratch("dp-parts");
    assert!(!run(&parts, Some(11)).finished);
    let mut resumed = Search::resume(&parts, &device, None).unwrap();
    resumed.set_devices(&two).unwrap();
    assert!(resumed.run(&mut Quiet).unwrap().finished);
    assert_eq!(front(&parts), front(&full));

    // Resumed on one device instead: it finishes (training differs from there on, since
    // batch norm normalises per device).
    let other = scratch("dp-other");
    assert!(!run(&other, Some(11)).finished);
    let outcome = Search::resume(&other, &device, None)
        .unwrap()
        .run(&mut Quiet)
        .unwrap();
    assert!(outcome.finished);
    assert!(
        !FrontFile::read(&RunDir::new(&other).front_path())
            .unwrap()
            .front
            .is_empty()
    );

    // The devices are checked.
    let mut search = Search::resume(&full, &device, None).unwrap();
    assert!(search.set_devices(&[]).is_err());
    assert_eq!(search.devices().len(), 1);
}

/// Two devices train differently from one (per-device batch statistics), which shows the
/// weight steps really were split.
#[test]
fn two_devices_split_the_weight_steps() {
    let (config, device) = tiny_search("dp-data-split");
    let losses = |devices: &[Device], name: &str| {
        let dir = scratch(name);
        let mut config = config.clone();
        config.max_steps = Some(4);
        let mut search = Search::new(config, &dir, &device).unwrap();
        search.set_devices(devices).unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = seen.clone();
        search.observe(move |event| {
            if let SearchEvent::WeightStep { loss, .. } = event {
                sink.lock().unwrap().push(*loss);
            }
        });
        search.run(&mut Quiet).unwrap();
        seen.lock().unwrap().clone()
    };
    let one = losses(std::slice::from_ref(&device), "dp-split-one");
    let two = losses(&[device.clone(), device.clone()], "dp-split-two");
    assert_eq!(one.len(), 4);
    assert_eq!(two.len(), 4);
    assert!(
        (one[0] - two[0]).abs() > 1e-7,
        "the first step's loss is computed per shard: {} against {}",
        one[0],
        two[0]
    );
}
