//! Shared by the WGPU tests (`wgpu_parity`, `wgpu_data_parallel`).

use std::sync::OnceLock;

use burn::tensor::Device;
use nse::burn;

/// The WGPU device (its adapter printed once), or `None` (skip) when there is no adapter and
/// `NSE_SKIP_WGPU=1`; without an adapter otherwise, a panic that says what to install.
pub fn wgpu() -> Option<Device> {
    static DEVICE: OnceLock<Result<Device, String>> = OnceLock::new();
    let device = DEVICE.get_or_init(|| {
        let (device, setup) = Device::wgpu_options()
            .init_with_setup()
            .map_err(|e| e.to_string())?;
        let info = setup.adapter.get_info();
        println!(
            "WGPU adapter: {} ({:?}, {:?}, driver {} {})",
            info.name, info.device_type, info.backend, info.driver, info.driver_info
        );
        Ok(device)
    });
    match device {
        Ok(device) => Some(device.clone()),
        Err(e) if std::env::var("NSE_SKIP_WGPU").is_ok_and(|v| v == "1") => {
            println!("skipped: no WGPU adapter ({e}) and NSE_SKIP_WGPU=1");
            None
        }
        Err(e) => panic!(
            "no WGPU adapter: {e}. Install Mesa's software Vulkan driver \
             (`apt-get install mesa-vulkan-drivers libvulkan1`) or set NSE_SKIP_WGPU=1 to skip"
        ),
    }
}
