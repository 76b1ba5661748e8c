//! Latency from a lookup table: the layers an op runs, keyed as the NSE reference keys its
//! latency table, and the table itself.
//!
//! A key is `(type, hw, cin, cout, kernel, stride, padding, dilation, groups)` with the
//! reference's type codes (1 conv, 3 average pool, 4 element-wise add, 5 linear). `hw`,
//! `kernel`, `stride` and `padding` are one number for a square extent or a pair `HxW`; the
//! reference keys the `kx1` conv of `Rec` by the pair `(size_in, size_out)` even when both are
//! equal, so `112x112` and `112` are different keys. Batch norm, activations and
//! squeeze-and-excitation are not timed (the reference never timed them).
//!
//! ```
//! use nse_ops::latency::{LatencyTable, op_layers};
//! use nse_ops::{OpGeometry, OpSpec};
//! let csv = "hw_in,c_in,c_out,kernel,stride,padding,dilation,group,type_code,exec_time\n\
//!            8,4,12,1,1,0,1,1,1,0.5\n8,12,12,3,1,1,1,12,1,0.25\n8,12,4,1,1,0,1,1,1,0.5\n";
//! let table = LatencyTable::from_reference_csv(csv).unwrap();
//! let op: OpSpec = "ir_k3_e3".parse().unwrap();
//! let layers = op_layers(&op, &OpGeometry::new(4, 4, 1, 8));
//! assert_eq!(table.sum(&layers).unwrap(), 1.25);
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::cost::{OpGeometry, out_size};
use crate::error::{OpsError, Result};
use crate::spec::{OpFamily, OpSpec};

/// The kind of a timed layer, with the reference's type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerKind {
    /// `Conv2d`, dense or grouped, any kernel shape (code 1).
    Conv,
    /// Average pooling (code 3).
    AvgPool,
    /// Element-wise add (code 4).
    Add,
    /// Linear layer (code 5).
    Linear,
}

impl LayerKind {
    /// The reference's type code.
    pub fn code(self) -> u32 {
        match self {
            LayerKind::Conv => 1,
            LayerKind::AvgPool => 3,
            LayerKind::Add => 4,
            LayerKind::Linear => 5,
        }
    }

    /// The kind of type code `code`.
    pub fn from_code(code: u32) -> Option<Self> {
        Some(match code {
            1 => LayerKind::Conv,
            3 => LayerKind::AvgPool,
            4 => LayerKind::Add,
            5 => LayerKind::Linear,
            _ => return None,
        })
    }
}

/// A square extent (`7`) or a pair in (H, W) order (`1x5`), as the reference writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Extent {
    /// One number for both sides.
    Square(usize),
    /// `(height, width)`.
    Pair(usize, usize),
}

impl Extent {
    /// `[height, width]`.
    pub fn sides(self) -> [usize; 2] {
        match self {
            Extent::Square(n) => [n, n],
            Extent::Pair(h, w) => [h, w],
        }
    }
}

impl fmt::Display for Extent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Extent::Square(n) => write!(f, "{n}"),
            Extent::Pair(h, w) => write!(f, "{h}x{w}"),
        }
    }
}

impl FromStr for Extent {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let number = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{s}` is not a number or a pair `HxW`"))
        };
        match s.split_once('x') {
            Some((h, w)) => Ok(Extent::Pair(number(h)?, number(w)?)),
            None => Ok(Extent::Square(number(s)?)),
        }
    }
}

/// One timed layer: the reference's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LayerKey {
    /// Conv, pool, add or linear.
    pub kind: LayerKind,
    /// Input spatial size (1 for linear).
    pub hw: Extent,
    /// Input channels (features for linear).
    pub cin: usize,
    /// Output channels.
    pub cout: usize,
    /// Kernel (pool size for pooling; 0 for add and linear).
    pub kernel: Extent,
    /// Stride (0 for add and linear).
    pub stride: Extent,
    /// Padding (0 for add and linear).
    pub padding: Extent,
    /// Dilation (1 for conv and pool, 0 for add and linear).
    pub dilation: usize,
    /// Groups (1 dense, channels for depthwise; 0 for add and linear).
    pub groups: usize,
}

impl LayerKey {
    /// A conv with square extents.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        hw: usize,
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        dilation: usize,
        groups: usize,
    ) -> Self {
        LayerKey {
            kind: LayerKind::Conv,
            hw: Extent::Square(hw),
            cin,
            cout,
            kernel: Extent::Square(kernel),
            stride: Extent::Square(stride),
            padding: Extent::Square(padding),
            dilation,
            groups,
        }
    }

    /// An element-wise add of two `channels x hw x hw` maps.
    pub fn add(hw: usize, channels: usize) -> Self {
        LayerKey {
            kind: LayerKind::Add,
            hw: Extent::Square(hw),
            cin: channels,
            cout: channels,
            kernel: Extent::Square(0),
            stride: Extent::Square(0),
            padding: Extent::Square(0),
            dilation: 0,
            groups: 0,
        }
    }

    /// Global average pooling of a `channels x hw x hw` map.
    pub fn global_avg_pool(hw: usize, channels: usize) -> Self {
        LayerKey {
            kind: LayerKind::AvgPool,
            groups: 1,
            dilation: 1,
            ..Self::conv(hw, channels, channels, hw, 1, 0, 1, 1)
        }
    }

    /// A linear layer.
    pub fn linear(inputs: usize, outputs: usize) -> Self {
        LayerKey {
            kind: LayerKind::Linear,
            hw: Extent::Square(1),
            ..Self::add(1, 0)
        }
        .with_channels(inputs, outputs)
    }

    /// Values the layer writes for one image: `cout × Ho × Wo` for a conv (the map that
    /// batch norm and the activation then pass over in a network), `cin × H × W` for an add,
    /// `cout` for pooling and linear layers.
    pub fn output_elements(&self) -> usize {
        let [h, w] = self.hw.sides();
        match self.kind {
            LayerKind::Conv => {
                let [kh, kw] = self.kernel.sides();
                let [sh, sw] = self.stride.sides();
                let [ph, pw] = self.padding.sides();
                let d = self.dilation.max(1);
                let side = |n: usize, k: usize, s: usize, p: usize| {
                    (n + 2 * p).saturating_sub(d * k.saturating_sub(1) + 1) / s.max(1) + 1
                };
                self.cout * side(h, kh, sh, ph) * side(w, kw, sw, pw)
            }
            LayerKind::Add => self.cin * h * w,
            LayerKind::AvgPool | LayerKind::Linear => self.cout,
        }
    }

    fn with_channels(mut self, cin: usize, cout: usize) -> Self {
        self.cin = cin;
        self.cout = cout;
        self
    }

    /// The key in the reference's CSV column order
    /// (`hw_in,c_in,c_out,kernel,stride,padding,dilation,group,type_code`).
    pub fn csv_columns(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{}",
            self.hw,
            self.cin,
            self.cout,
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.kind.code()
        )
    }
}

/// `(type, hw, cin, cout, kernel, stride, padding, dilation, groups)`.
impl fmt::Display for LayerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({}, {}, {}, {}, {}, {}, {}, {}, {})",
            self.kind.code(),
            self.hw,
            self.cin,
            self.cout,
            self.kernel,
            self.stride,
            self.padding,
            self.dilation,
            self.groups
        )
    }
}

impl FromStr for LayerKey {
    type Err = String;
    /// Reads the [`Display`](fmt::Display) form.
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let inner = s
            .trim()
            .strip_prefix('(')
            .and_then(|t| t.strip_suffix(')'))
            .ok_or_else(|| format!("`{s}`: a key is written `(type, hw, cin, ...)`"))?;
        let fields: Vec<&str> = inner.split(',').map(str::trim).collect();
        if fields.len() != 9 {
            return Err(format!("`{s}`: a key has 9 fields, found {}", fields.len()));
        }
        let number = |t: &str| {
            t.parse::<usize>()
                .map_err(|_| format!("`{s}`: `{t}` is not a number"))
        };
        let code = number(fields[0])? as u32;
        Ok(LayerKey {
            kind: LayerKind::from_code(code)
                .ok_or_else(|| format!("`{s}`: unknown layer type code {code}"))?,
            hw: fields[1].parse()?,
            cin: number(fields[2])?,
            cout: number(fields[3])?,
            kernel: fields[4].parse()?,
            stride: fields[5].parse()?,
            padding: fields[6].parse()?,
            dilation: number(fields[7])?,
            groups: number(fields[8])?,
        })
    }
}

impl Serialize for LayerKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LayerKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The layers `op` runs at `geometry`, in order, as the reference keys them (its residual
/// add and any merge of branches belong to the cell, not the op).
///
/// With `H` the input size, `Ho` the output size and `h` the hidden width:
/// `IR(k, t)`: 1x1 `cin → h` at H, depthwise kxk stride s at H, 1x1 `h → cout` at Ho;
/// `Conv`: the same with a dense middle conv; `Dual`: 1x1, dense kxk stride 1, dense kxk
/// stride s, 1x1; `Rec`: 1x1, `1xk` stride `1xs` at H, `kx1` stride `sx1` at the pair
/// `(H, Ho)`, 1x1. Grouped 1x1 convs and dilation appear in the keys as they are.
pub fn op_layers(op: &OpSpec, geometry: &OpGeometry) -> Vec<LayerKey> {
    let OpGeometry {
        cin, cout, stride, ..
    } = *geometry;
    // The reference keys by one size: the height (its spaces are square).
    let size = geometry.input[0];
    let out = out_size(size, stride);
    let h = op.hidden(cin);
    let k = op.kernel();
    let (d, pad) = (op.dilation(), op.padding());
    let groups = op.groups();
    let expand = LayerKey::conv(size, cin, h, 1, 1, 0, 1, groups.input);
    let project = LayerKey::conv(out, h, cout, 1, 1, 0, 1, groups.output);
    let middle = match op.family() {
        OpFamily::InvertedBottleneck => vec![LayerKey::conv(size, h, h, k, stride, pad, d, h)],
        OpFamily::Plain => vec![LayerKey::conv(size, h, h, k, stride, pad, d, 1)],
        OpFamily::Dual => vec![
            LayerKey::conv(size, h, h, k, 1, pad, d, 1),
            LayerKey::conv(size, h, h, k, stride, pad, d, 1),
        ],
        OpFamily::Factorized => {
            let row = LayerKey {
                kernel: Extent::Pair(1, k),
                stride: Extent::Pair(1, stride),
                padding: Extent::Pair(0, pad),
                ..LayerKey::conv(size, h, h, k, stride, pad, d, 1)
            };
            let column = LayerKey {
                hw: Extent::Pair(size, out),
                kernel: Extent::Pair(k, 1),
                stride: Extent::Pair(stride, 1),
                padding: Extent::Pair(pad, 0),
                ..row
            };
            vec![row, column]
        }
    };
    std::iter::once(expand)
        .chain(middle)
        .chain(std::iter::once(project))
        .collect()
}

/// A latency lookup table: time per layer key, in `unit` for a batch of `batch`.
///
/// Read the reference's CSV with [`LatencyTable::from_reference_csv`], or this type's own JSON
/// form (serde) with [`LatencyTable::read`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencyTable {
    /// Unit of the times (`ms`).
    pub unit: String,
    /// Batch size the layers were timed at, when known.
    #[serde(default)]
    pub batch: Option<usize>,
    /// Where the times were measured (device, backend, dtype, library version), when known.
    #[serde(default)]
    pub measured_on: Option<String>,
    /// The times.
    pub entries: BTreeMap<LayerKey, f64>,
    /// Added to every layer's time when a network is summed ([`time`](Self::time)): what
    /// running the layers as one network adds per layer (batch norm, activations, layout
    /// between kernels), fitted by `nse latency validate --fit` (default 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub layer_overhead: f64,
    /// Added to every conv's time per million values it writes for one image
    /// ([`LayerKey::output_elements`]), ms: the batch norm and activation that follow a conv
    /// in a network pass over its output and are not in the table. Fitted by
    /// `nse latency validate --fit` (default 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub output_overhead: f64,
}

fn is_zero(v: &f64) -> bool {
    *v == 0.0
}

impl LatencyTable {
    /// An empty table in `unit`.
    pub fn new(unit: &str) -> Self {
        LatencyTable {
            unit: unit.to_string(),
            batch: None,
            measured_on: None,
            entries: BTreeMap::new(),
            layer_overhead: 0.0,
            output_overhead: 0.0,
        }
    }

    /// Reads the reference's table as CSV (`hw_in,c_in,c_out,kernel,stride,padding,dilation,
    /// group,type_code,exec_time`; milliseconds for a batch of 128). A key listed twice keeps
    /// its smallest time, as the reference's de-duplication does.
    pub fn from_reference_csv(text: &str) -> Result<Self> {
        let bad = |line: usize, message: String| OpsError::LatencyTable { line, message };
        let mut lines = text.lines().enumerate();
        let header = lines
            .next()
            .map(|(_, l)| l.trim().to_string())
            .unwrap_or_default();
        const HEADER: &str =
            "hw_in,c_in,c_out,kernel,stride,padding,dilation,group,type_code,exec_time";
        if header != HEADER {
            return Err(bad(1, format!("expected the header `{HEADER}`")));
        }
        let mut table = LatencyTable {
            batch: Some(128),
            measured_on: Some("the NSE reference's GPU table (b128)".into()),
            ..LatencyTable::new("ms")
        };
        for (i, line) in lines {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split(',').collect();
            if fields.len() != 10 {
                return Err(bad(
                    i + 1,
                    format!("expected 10 columns, found {}", fields.len()),
                ));
            }
            let columns: Vec<&str> = fields[..8].iter().map(|f| f.trim()).collect();
            let key: LayerKey = format!("({}, {})", fields[8].trim(), columns.join(", "))
                .parse()
                .map_err(|e| bad(i + 1, e))?;
            let time: f64 = fields[9]
                .trim()
                .parse()
                .ok()
                .filter(|t: &f64| t.is_finite() && *t >= 0.0)
                .ok_or_else(|| bad(i + 1, format!("`{}` is not a non-negative time", fields[9])))?;
            let entry = table.entries.entry(key).or_insert(time);
            *entry = entry.min(time);
        }
        Ok(table)
    }

    /// Reads a table file: the reference's CSV (`.csv`) or this type's JSON (anything else).
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| OpsError::LatencyFile {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let in_file = |e: OpsError| OpsError::LatencyFile {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            Self::from_reference_csv(&text).map_err(in_file)
        } else {
            serde_json::from_str(&text).map_err(|e| OpsError::LatencyFile {
                path: path.display().to_string(),
                message: e.to_string(),
            })
        }
    }

    /// The time of `key`; an error naming the key when the table lacks it (never a silent
    /// zero).
    pub fn get(&self, key: &LayerKey) -> Result<f64> {
        self.entries
            .get(key)
            .copied()
            .ok_or_else(|| OpsError::MissingLatency {
                key: key.to_string(),
                csv: key.csv_columns(),
            })
    }

    /// The time `key` counts for in a network: its entry plus the
    /// [`layer_overhead`](Self::layer_overhead) and, for a conv, the
    /// [`output_overhead`](Self::output_overhead) of its output.
    pub fn time(&self, key: &LayerKey) -> Result<f64> {
        Ok(self.get(key)? + self.overhead(key))
    }

    /// What [`time`](Self::time) adds to `key`'s entry.
    pub fn overhead(&self, key: &LayerKey) -> f64 {
        let output = match key.kind {
            LayerKind::Conv => self.output_overhead * key.output_elements() as f64 * 1e-6,
            _ => 0.0,
        };
        self.layer_overhead + output
    }

    /// The sum of the [`time`](Self::time)s of `layers`.
    pub fn sum(&self, layers: &[LayerKey]) -> Result<f64> {
        layers.iter().map(|k| self.time(k)).sum()
    }

    /// The latency of `op` at `geometry`: the sum of [`op_layers`].
    pub fn op_latency(&self, op: &OpSpec, geometry: &OpGeometry) -> Result<f64> {
        self.sum(&op_layers(op, geometry))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_elements_follow_the_conv_arithmetic() {
        // 1x1 at 8x8: 12 x 8 x 8.
        assert_eq!(
            LayerKey::conv(8, 4, 12, 1, 1, 0, 1, 1).output_elements(),
            768
        );
        // 5x5 stride 2 padding 2 on 15: (15 + 4 - 5) / 2 + 1 = 8.
        assert_eq!(
            LayerKey::conv(15, 6, 6, 5, 2, 2, 1, 6).output_elements(),
            6 * 64
        );
        // Dilation 2, 3x3, padding 2 keeps 16x16.
        assert_eq!(
            LayerKey::conv(16, 8, 8, 3, 1, 2, 2, 8).output_elements(),
            8 * 256
        );
        // Rec's kx1 conv keyed by (H, Ho): input 28 high and 14 wide, stride 2 down the height.
        let column = LayerKey {
            hw: Extent::Pair(28, 14),
            kernel: Extent::Pair(5, 1),
            stride: Extent::Pair(2, 1),
            padding: Extent::Pair(2, 0),
            ..LayerKey::conv(28, 32, 32, 5, 2, 2, 1, 1)
        };
        assert_eq!(column.output_elements(), 32 * 14 * 14);
        assert_eq!(LayerKey::add(7, 256).output_elements(), 256 * 49);
        assert_eq!(LayerKey::global_avg_pool(7, 256).output_elements(), 256);
        assert_eq!(LayerKey::linear(256, 10).output_elements(), 10);
    }

    #[test]
    fn keys_print_and_parse_in_the_reference_form() {
        let key = LayerKey {
            hw: Extent::Pair(28, 14),
            kernel: Extent::Pair(5, 1),
            stride: Extent::Pair(2, 1),
            padding: Extent::Pair(2, 0),
            ..LayerKey::conv(28, 64, 64, 5, 2, 2, 1, 1)
        };
        assert_eq!(key.to_string(), "(1, 28x14, 64, 64, 5x1, 2x1, 2x0, 1, 1)");
        assert_eq!(key.csv_columns(), "28x14,64,64,5x1,2x1,2x0,1,1,1");
        assert_eq!(key.to_string().parse::<LayerKey>().unwrap(), key);
        assert_eq!(
            LayerKey::linear(1024, 1000).to_string(),
            "(5, 1, 1024, 1000, 0, 0, 0, 0, 0)"
        );
        assert_eq!(
            LayerKey::global_avg_pool(7, 1024).to_string(),
            "(3, 7, 1024, 1024, 7, 1, 0, 1, 1)"
        );
        assert_eq!(
            LayerKey::add(14, 128).to_string(),
            "(4, 14, 128, 128, 0, 0, 0, 0, 0)"
        );
        assert!("(2, 7, 1, 1, 0, 0, 0, 0, 0)".parse::<LayerKey>().is_err());
        assert!("(1, 7, 1)".parse::<LayerKey>().is_err());
    }

    #[test]
    fn each_family_runs_the_reference_layers() {
        let g = OpGeometry::new(16, 24, 2, 56);
        let text = |op: &str| -> Vec<String> {
            op_layers(&op.parse().unwrap(), &g)
                .iter()
                .map(LayerKey::to_string)
                .collect()
        };
        assert_eq!(
            text("ir_k5_e6"),
            [
                "(1, 56, 16, 96, 1, 1, 0, 1, 1)",
                "(1, 56, 96, 96, 5, 2, 2, 1, 96)",
                "(1, 28, 96, 24, 1, 1, 0, 1, 1)"
            ]
        );
        assert_eq!(text("conv_k3_e2")[1], "(1, 56, 32, 32, 3, 2, 1, 1, 1)");
        assert_eq!(
            text("dual_k3_e1")[1..3],
            [
                "(1, 56, 16, 16, 3, 1, 1, 1, 1)",
                "(1, 56, 16, 16, 3, 2, 1, 1, 1)"
            ]
        );
        assert_eq!(
            text("rec_k7_e4")[1..3],
            [
                "(1, 56, 64, 64, 1x7, 1x2, 0x3, 1, 1)",
                "(1, 56x28, 64, 64, 7x1, 2x1, 3x0, 1, 1)"
            ]
        );
        // Stride 1 keeps the pair key of the kx1 conv (the reference's `112x112`).
        let same = op_layers(&"rec_k5_e1".parse().unwrap(), &OpGeometry::new(8, 8, 1, 14));
        assert_eq!(same[2].hw, Extent::Pair(14, 14));
        // Dilation and groups are part of the key.
        let dilated = op_layers(
            &"ir_k3_e3_d2_g2x2".parse().unwrap(),
            &OpGeometry::new(16, 16, 1, 8),
        );
        assert_eq!(dilated[0].to_string(), "(1, 8, 16, 48, 1, 1, 0, 1, 2)");
        assert_eq!(dilated[1].to_string(), "(1, 8, 48, 48, 3, 1, 2, 2, 48)");
    }

    #[test]
    fn the_csv_keeps_the_smallest_time_and_names_missing_keys() {
        let csv = "hw_in,c_in,c_out,kernel,stride,padding,dilation,group,type_code,exec_time\n\
                   7,256,256,0,0,0,0,0,4,0.2\n7,256,256,0,0,0,0,0,4,0.136\n\
                   14x7,128,128,3x1,2x1,1x0,1,1,1,0.164\n";
        let table = LatencyTable::from_reference_csv(csv).unwrap();
        assert_eq!(table.entries.len(), 2);
        assert_eq!(table.get(&LayerKey::add(7, 256)).unwrap(), 0.136);
        let err = table.get(&LayerKey::add(14, 256)).unwrap_err().to_string();
        assert!(err.contains("(4, 14, 256, 256, 0, 0, 0, 0, 0)"), "{err}");
        // A layer overhead counts once per layer summed, not in the raw entry.
        let mut with_overhead = table.clone();
        with_overhead.layer_overhead = 0.5;
        let keys = [LayerKey::add(7, 256), LayerKey::add(7, 256)];
        assert_eq!(with_overhead.sum(&keys).unwrap(), 2.0 * 0.136 + 1.0);
        assert_eq!(with_overhead.get(&keys[0]).unwrap(), 0.136);
        // The output overhead counts per million values a conv writes, for convs only.
        let mut per_output = table.clone();
        per_output.output_overhead = 2.0;
        assert_eq!(per_output.sum(&keys).unwrap(), 2.0 * 0.136);
        // A dilated 3x3 depthwise conv at stride 2 on 28x28: 14x14x96 values.
        let conv = LayerKey::conv(28, 96, 96, 3, 2, 2, 2, 96);
        per_output.entries.insert(conv, 0.25);
        let expected = 0.25 + 2.0 * (96.0 * 14.0 * 14.0) * 1e-6;
        assert!((per_output.time(&conv).unwrap() - expected).abs() < 1e-12);
        let json = serde_json::to_string(&per_output).unwrap();
        assert_eq!(
            serde_json::from_str::<LatencyTable>(&json).unwrap(),
            per_output
        );
        // JSON round trip of our own form.
        let json = serde_json::to_string(&table).unwrap();
        assert_eq!(serde_json::from_str::<LatencyTable>(&json).unwrap(), table);
        // Bad input is an error with its line.
        let bad = csv.replace("0.164", "fast");
        let err = LatencyTable::from_reference_csv(&bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 4"), "{err}");
        assert!(LatencyTable::from_reference_csv("a,b\n").is_err());
    }
}
