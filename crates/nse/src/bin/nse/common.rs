//! What every command shares: device options, `--set` overrides, progress, Ctrl-C, and the
//! named configurations (presets, recipes).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Args;
use serde_json::Value;

use nse::device;
use nse::registry::{self, Kind};
use nse::train::interrupt::StopFlag;
use nse::train::progress::{Quiet, Reporter, Terminal};
use nse::train::retrain::RetrainConfig;
use nse::train::search::SearchConfig;

#[derive(Args)]
pub(crate) struct Common {
    /// Compute device: cpu, wgpu, cuda[:N] (GPU ones need the matching build feature).
    #[arg(long, default_value = "cpu")]
    pub(crate) device: String,
    /// Spread search and retraining over several devices (data parallelism), the first being
    /// the main one: `cuda:0,cuda:1`, `wgpu:0,wgpu:1`, or `cpu,cpu` (CPU replicas in threads).
    /// Replaces --device. See docs/scaling.md.
    #[arg(long, value_name = "LIST")]
    pub(crate) devices: Option<String>,
    /// No progress bars (log lines only).
    #[arg(long)]
    pub(crate) quiet: bool,
}

impl Common {
    /// The devices to use, the main one first: `--devices`, or `--device` alone.
    pub(crate) fn devices(&self) -> nse::Result<Vec<nse::burn::tensor::Device>> {
        match &self.devices {
            Some(list) => device::list_from_names(list),
            None => Ok(vec![device::from_name(&self.device)?]),
        }
    }

    /// The one device of a command that does not spread its work (`--devices` of one name
    /// is accepted).
    pub(crate) fn single_device(&self, command: &str) -> nse::Result<nse::burn::tensor::Device> {
        let mut devices = self.devices()?;
        if devices.len() > 1 {
            return Err(nse::Error::Usage(format!(
                "`nse {command}` runs on one device: give --device (--devices spreads `nse search` \
                 and `nse retrain`)"
            )));
        }
        Ok(devices.remove(0))
    }
}

pub(crate) fn set_path(value: &mut Value, path: &str, new: Value) -> nse::Result<()> {
    let mut node = value;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let object = node
            .as_object_mut()
            .ok_or_else(|| format!("--set {path}: `{}` is not an object", parts[..i].join(".")))?;
        if i + 1 == parts.len() {
            if !object.contains_key(*part) {
                return Err(nse::Error::Usage(format!(
                    "--set {path}: unknown field `{part}`"
                )));
            }
            object.insert(part.to_string(), new);
            return Ok(());
        }
        node = object
            .get_mut(*part)
            .ok_or_else(|| format!("--set {path}: unknown field `{part}`"))?;
    }
    Ok(())
}

/// Applies `PATH=VALUE` overrides (VALUE as JSON, or as a string when it is not JSON).
pub(crate) fn apply_overrides<T: serde::Serialize + serde::de::DeserializeOwned>(
    config: T,
    overrides: &[String],
) -> nse::Result<T> {
    if overrides.is_empty() {
        return Ok(config);
    }
    let mut value = serde_json::to_value(&config).map_err(|source| nse::Error::Json {
        what: "the configuration".into(),
        source,
    })?;
    for o in overrides {
        let (path, raw) = o
            .split_once('=')
            .ok_or_else(|| format!("--set `{o}`: expected PATH=VALUE"))?;
        let new = serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
        set_path(&mut value, path, new)?;
    }
    serde_json::from_value(value).map_err(|source| nse::Error::Json {
        what: "the configuration after --set".into(),
        source,
    })
}

/// Reads the JSON file at `path` into a `T`.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> nse::Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| nse::Error::file(path, e))?;
    serde_json::from_str(&text).map_err(|source| nse::Error::Json {
        what: path.display().to_string(),
        source,
    })
}

pub(crate) fn reporter(quiet: bool) -> Box<dyn Reporter> {
    if quiet {
        Box::new(Quiet)
    } else {
        Box::new(Terminal::default())
    }
}

/// The search configuration of `--preset NAME` or `--config FILE`, with `--set` overrides
/// and `--seed`.
pub(crate) fn search_config(
    preset: &Option<String>,
    config: &Option<PathBuf>,
    overrides: &[String],
    seed: Option<u64>,
) -> nse::Result<SearchConfig> {
    let config = match (preset, config) {
        (Some(name), _) => registry::search_preset(name)?,
        (None, Some(path)) => read_json(path)?,
        (None, None) => return Err("give --preset NAME or --config FILE".into()),
    };
    let mut config: SearchConfig = apply_overrides(config, overrides)?;
    if let Some(seed) = seed {
        config.seed = seed;
    }
    Ok(config)
}

/// The retraining recipe `name` (`nse list recipes`) or the `RetrainConfig` JSON file of
/// that name, with `--set` overrides.
pub(crate) fn recipe(name: &str, overrides: &[String]) -> nse::Result<RetrainConfig> {
    let config = if registry::names(Kind::Recipe).contains(&name) {
        registry::recipe(name)?
    } else if Path::new(name).is_file() {
        read_json(Path::new(name))?
    } else {
        return Err(nse::Error::Usage(format!(
            "recipe `{name}` is neither a known recipe ({}) nor a file",
            registry::names(Kind::Recipe).join(", ")
        )));
    };
    apply_overrides(config, overrides)
}

/// The stop flag that Ctrl-C and SIGTERM raise.
pub(crate) static STOP: OnceLock<StopFlag> = OnceLock::new();

/// The first SIGINT or SIGTERM raises [`STOP`] (the search stops at its next step, with a
/// checkpoint); a second one ends the process at once.
#[cfg(unix)]
pub(crate) extern "C" fn on_stop_signal(_: libc::c_int) {
    static SEEN: AtomicBool = AtomicBool::new(false);
    if SEEN.swap(true, Ordering::SeqCst) {
        #[allow(unsafe_code)]
        // SAFETY: `_exit` is async-signal-safe and ends the process without unwinding.
        unsafe {
            libc::_exit(130)
        };
    }
    if let Some(flag) = STOP.get() {
        flag.raise();
    }
    let message = b"\nstopping at the next step (a checkpoint is written); press Ctrl-C again to abort at once\n";
    #[allow(unsafe_code)]
    // SAFETY: `write` is async-signal-safe; the buffer outlives the call.
    unsafe {
        libc::write(2, message.as_ptr().cast(), message.len());
    }
}

/// Installs the Ctrl-C / SIGTERM handler and returns the flag it raises.
pub(crate) fn stop_on_signals() -> StopFlag {
    let flag = STOP.get_or_init(StopFlag::new).clone();
    #[cfg(unix)]
    #[allow(unsafe_code)]
    // SAFETY: installs a handler that only performs async-signal-safe operations (atomics,
    // `write`, `_exit`); STOP is initialised before the handler can run.
    unsafe {
        let handler = on_stop_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
    flag
}
