//! Choosing the compute device by name at run time.

use burn::tensor::Device;

/// The device names [`from_name`] accepts in this build.
pub fn available() -> Vec<&'static str> {
    let mut names = vec!["cpu"];
    if cfg!(feature = "wgpu") {
        names.push("wgpu");
    }
    if cfg!(feature = "cuda") {
        names.push("cuda[:N]");
    }
    names
}

/// A device from its name: `cpu` (Burn's pure-Rust `flex` backend), `wgpu` (the best WGPU
/// adapter; feature `wgpu`), `cuda` or `cuda:N` (feature `cuda`). Errors say what is wrong,
/// including a GPU backend that was not compiled in.
pub fn from_name(name: &str) -> crate::Result<Device> {
    let (kind, index) = match name.split_once(':') {
        Some((kind, index)) => {
            let index: usize = index
                .parse()
                .map_err(|_| format!("device `{name}`: `{index}` is not a device index"))?;
            (kind, Some(index))
        }
        None => (name, None),
    };
    match kind {
        "cpu" | "flex" => {
            if index.is_some() {
                return Err(crate::Error::Usage(format!(
                    "device `{name}`: the CPU device takes no index"
                )));
            }
            Ok(Device::flex())
        }
        "wgpu" => wgpu(index),
        "cuda" => cuda(index.unwrap_or(0)),
        other => Err(crate::Error::Usage(format!(
            "unknown device `{other}` (this build knows: {})",
            available().join(", ")
        ))),
    }
}

/// Devices from a comma-separated list of names ([`from_name`]), for data parallelism: the
/// first is the main device. A name may repeat (`cpu,cpu`: two CPU replicas in threads;
/// a GPU index listed twice would run two replicas on one GPU).
pub fn list_from_names(list: &str) -> crate::Result<Vec<Device>> {
    let names: Vec<&str> = list.split(',').map(str::trim).collect();
    if names.iter().any(|n| n.is_empty()) {
        return Err(crate::Error::Usage(format!(
            "devices `{list}`: an empty name (give names separated by commas, e.g. cuda:0,cuda:1)"
        )));
    }
    names.into_iter().map(from_name).collect()
}

#[cfg(feature = "wgpu")]
fn wgpu(index: Option<usize>) -> crate::Result<Device> {
    use burn::tensor::DeviceKind;
    Ok(Device::wgpu(match index {
        Some(i) => DeviceKind::DiscreteGpu(i),
        None => DeviceKind::DefaultDevice,
    }))
}

#[cfg(not(feature = "wgpu"))]
fn wgpu(_index: Option<usize>) -> crate::Result<Device> {
    Err("device `wgpu`: this build has no WGPU backend; rebuild with `--features wgpu`".into())
}

#[cfg(feature = "cuda")]
fn cuda(index: usize) -> crate::Result<Device> {
    Ok(Device::cuda(index))
}

#[cfg(not(feature = "cuda"))]
fn cuda(_index: usize) -> crate::Result<Device> {
    Err(
        "device `cuda`: this build has no CUDA backend; rebuild with `--features cuda` \
         (the first CUDA build downloads an LLVM bundle and needs network access)"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_lists_are_checked() {
        assert_eq!(list_from_names("cpu, cpu,cpu").unwrap().len(), 3);
        assert_eq!(list_from_names("cpu").unwrap(), vec![Device::flex()]);
        assert!(
            list_from_names("cpu,,cpu")
                .unwrap_err()
                .to_string()
                .contains("empty name")
        );
        assert!(
            list_from_names("cpu,")
                .unwrap_err()
                .to_string()
                .contains("empty name")
        );
        assert!(
            list_from_names("cpu,tpu")
                .unwrap_err()
                .to_string()
                .contains("unknown device `tpu`")
        );
    }

    #[test]
    fn names_are_checked() {
        assert!(from_name("cpu").is_ok());
        assert!(
            from_name("cpu:1")
                .unwrap_err()
                .to_string()
                .contains("no index")
        );
        assert!(
            from_name("tpu")
                .unwrap_err()
                .to_string()
                .contains("unknown device `tpu`")
        );
        assert!(
            from_name("cuda:x")
                .unwrap_err()
                .to_string()
                .contains("not a device index")
        );
        if !cfg!(feature = "cuda") {
            assert!(
                from_name("cuda:0")
                    .unwrap_err()
                    .to_string()
                    .contains("--features cuda")
            );
        }
        if !cfg!(feature = "wgpu") {
            assert!(
                from_name("wgpu")
                    .unwrap_err()
                    .to_string()
                    .contains("--features wgpu")
            );
        }
    }
}
