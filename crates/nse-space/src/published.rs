//! The architectures published with NSE (docs/method.md §5), for reproduction checks.

use nse_ops::PoolSpec;

use crate::architecture::{Architecture, NetworkSpec};
use crate::error::{Result, SpaceError};
use crate::layout::{LayoutPlan, PlanKind};
use crate::space::SpaceSpec;

/// Names accepted by [`published`].
pub const PUBLISHED: [&str; 3] = ["nsenet27", "nsenet", "nsenet-gpu"];

/// A published NSE network as a child network (224x224 input, 1000 classes):
/// `nsenet27` (NSENet-27, mb27), `nsenet` (NSENet, mb72), `nsenet-gpu` (NSENet-GPU, mb19).
pub fn published(name: &str) -> Result<NetworkSpec> {
    // The cell lists stay one network per block, as in docs/method.md §5.
    #[rustfmt::skip]
    let (pool, plan, depths, channels, scale, cells): (_, _, &[usize], &[usize], _, &[&[usize]]) =
        match name {
            "nsenet27" => (
                "mb27",
                PlanKind::Ner,
                &[1, 2, 2, 2, 2, 3],
                &[16, 24, 40, 80, 96, 192, 320],
                1.04,
                &[
                    &[0], &[6], &[3], &[0], &[16], &[3], &[9], &[11, 17], &[9, 2], &[12], &[1, 6],
                    &[9, 12], &[9], &[17, 14], &[21], &[3], &[13], &[19, 3, 14],
                ],
            ),
            "nsenet" => (
                "mb72",
                PlanKind::Ner,
                &[1, 1, 2, 3, 2, 3],
                &[16, 24, 40, 80, 96, 192, 320],
                1.045,
                &[
                    &[0], &[34], &[3], &[52], &[35], &[38], &[17, 11, 49], &[41], &[35], &[12],
                    &[1, 10, 6], &[9], &[0, 9], &[35, 52, 61], &[10, 32], &[3, 57], &[13],
                    &[3, 19, 44],
                ],
            ),
            "nsenet-gpu" => (
                "mb19",
                PlanKind::Nr,
                &[0, 1, 3, 4, 2],
                &[16, 32, 64, 128, 256],
                1.0,
                &[
                    &[15], &[11], &[1, 17], &[16, 1], &[11], &[11], &[2, 7], &[3], &[1, 6], &[11],
                    &[11, 6], &[8, 2], &[0, 1, 8, 11], &[2, 6, 8, 12, 14],
                ],
            ),
            other => {
                return Err(SpaceError::InvalidSpec {
                    field: "name",
                    reason: format!(
                        "`{other}` is not a published architecture (known: {})",
                        PUBLISHED.join(", ")
                    ),
                });
            }
        };
    let space = SpaceSpec {
        pool: PoolSpec::Reference(pool.to_string()),
        layout: LayoutPlan::Plan(plan),
        depths: depths.to_vec(),
        channels: channels.to_vec(),
        width_scale: scale,
        subspace_size: if pool == "mb19" { 6 } else { 5 },
        ..SpaceSpec::new(pool, plan, Vec::new(), Vec::new(), 224, 1000)
    };
    Ok(NetworkSpec {
        name: Some(name.to_string()),
        space,
        architecture: Architecture::new(cells.iter().map(|c| c.to_vec()).collect())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_networks_are_valid_children() {
        for name in PUBLISHED {
            let net = published(name).unwrap();
            let (space, arch) = net.resolve().unwrap();
            assert_eq!(space.num_cells(), arch.num_cells(), "{name}");
            assert!(arch.cells().iter().all(|c| !c.is_empty()), "{name}");
            assert_eq!(space.final_size(), 7, "{name}");
        }
        assert_eq!(published("nsenet27").unwrap().architecture.num_cells(), 18);
        assert_eq!(
            published("nsenet-gpu").unwrap().architecture.num_cells(),
            14
        );
        assert!(published("nsenet99").is_err());
    }

    #[test]
    fn width_scaling_of_published_networks() {
        let (space, _) = published("nsenet27").unwrap().resolve().unwrap();
        assert_eq!(space.widths(), &[16, 24, 40, 80, 96, 200, 336]);
        let (space, _) = published("nsenet").unwrap().resolve().unwrap();
        assert_eq!(space.widths(), &[16, 24, 40, 80, 104, 200, 336]);
    }
}
