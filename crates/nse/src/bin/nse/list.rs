//! `nse list`: every named thing nse knows (presets, spaces, pools, networks, recipes,
//! experiments, baselines, weight sampling, devices), from the one registry the other
//! commands look names up in.

use clap::Args;

use nse::registry::{self, Kind};

/// `nse list [KIND]`.
#[derive(Args)]
pub(crate) struct ListArgs {
    /// Only this kind: presets, spaces, pools, networks, recipes, experiments, baselines,
    /// weight-sampling or devices.
    pub(crate) kind: Option<String>,
}

pub(crate) fn list(args: ListArgs) -> nse::Result<()> {
    let kinds = match &args.kind {
        Some(name) => vec![Kind::from_name(name)?],
        None => Kind::ALL.to_vec(),
    };
    let entries = registry::entries();
    let width = entries.iter().map(|e| e.name.len()).max().unwrap_or(0);
    for (k, kind) in kinds.iter().enumerate() {
        if k > 0 {
            println!();
        }
        println!("{kind}:");
        for entry in entries.iter().filter(|e| e.kind == *kind) {
            println!("  {:width$}  {}", entry.name, entry.about);
        }
    }
    Ok(())
}
