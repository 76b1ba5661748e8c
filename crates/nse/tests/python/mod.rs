//! The Python of the side-by-side checks (`pytorch_export`, `tensorboard`).

use std::path::{Path, PathBuf};

/// `NSE_TORCH_PYTHON`, or the virtual environment `~/.venvs/nse-ref` that
/// `scripts/pytorch-venv.sh` makes (torch, safetensors, tensorboard); a panic saying how to
/// make it when there is neither.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("NSE_TORCH_PYTHON") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").expect("HOME");
    let p = Path::new(&home).join(".venvs/nse-ref/bin/python");
    assert!(
        p.is_file(),
        "no Python with torch and tensorboard: run scripts/pytorch-venv.sh or set \
         NSE_TORCH_PYTHON ({} is missing)",
        p.display()
    );
    p
}
