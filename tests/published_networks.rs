//! End-to-end: the published NSE networks build as standalone networks whose allocated
//! parameters equal the cost model, with MACs in the range the paper reports, and run.

use nse::burn::tensor::{Device, Distribution, Tensor};
use nse::modules::learnable_params;
use nse::space::{PUBLISHED, published};
use nse::supernet::ChildNetwork;

#[test]
fn published_networks_cost_and_build() {
    let device = Device::flex();
    for name in PUBLISHED {
        let (space, arch) = published(name).unwrap().resolve().unwrap();
        let cost = space.architecture_cost(&arch).unwrap();
        let net = ChildNetwork::from_space(&space, &arch, &device, 0).unwrap();
        assert_eq!(learnable_params(&net), cost.total.params, "{name}");
        let cells: u64 = cost.cells.iter().map(|c| c.macs).sum();
        assert_eq!(cost.total.macs, cost.stem.macs + cells + cost.tail.macs);
        // Pinned results of the cost model (docs/method.md §5 convention), see the README.
        let (mmacs, params) = match name {
            "nsenet27" => (326.3, 4_570_464),
            "nsenet" => (331.0, 4_564_000),
            _ => (1471.1, 15_742_296),
        };
        assert_eq!(cost.total.params, params, "{name}");
        assert!(
            (cost.total.mmacs() - mmacs).abs() < 0.05,
            "{name}: {}",
            cost.total.mmacs()
        );
    }
    // The paper reports NSENet at 333M FLOPs (multiply-accumulates).
    let (space, arch) = published("nsenet").unwrap().resolve().unwrap();
    let mmacs = space.architecture_cost(&arch).unwrap().total.mmacs();
    assert!(
        (mmacs / 333.0 - 1.0).abs() < 0.02,
        "NSENet: {mmacs} MMACs vs 333 published"
    );
}

#[test]
fn nsenet27_runs_a_forward_pass_at_a_reduced_size() {
    let device = Device::flex();
    let (space, arch) = published("nsenet27").unwrap().resolve().unwrap();
    let net = ChildNetwork::from_space(&space, &arch, &device, 0).unwrap();
    let x = Tensor::<4>::random([2, 3, 64, 64], Distribution::Normal(0.0, 1.0), &device);
    let y = net.forward(x);
    assert_eq!(y.dims(), [2, 1000]);
    let wrong = Tensor::<4>::zeros([1, 3, 64, 64], &device);
    assert!(net.try_forward(wrong).is_err());
}
