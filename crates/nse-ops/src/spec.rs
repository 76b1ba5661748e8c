//! The typed operation spec and its compact text form.
//!
//! # Text grammar
//!
//! An op is written as its family followed by `_`-separated fields, all lowercase:
//!
//! ```text
//! op     := family ("_" field)*
//! family := "ir" | "conv" | "dual" | "rec"
//! field  := "k" INT          kernel size (required; odd, >= 1)
//!         | "e" INT          expansion ratio t (required; >= 1)
//!         | "d" INT          dilation of the depthwise conv (ir only; default 1)
//!         | "g" INT "x" INT  groups of the first and the last 1x1 conv (ir only; default 1x1)
//!         | "se"             squeeze-and-excitation (reduction 4) after the spatial convs
//!         | "relu" | "swish" activation (default relu; `silu` is read as `swish`)
//! ```
//!
//! Fields may come in any order but at most once. [`Display`](std::fmt::Display) writes the
//! canonical form: `family_k_e[_d][_g][_se][_swish]`, leaving out defaults, so that
//! `ir_k3_e6`, `ir_k3_e1_d2`, `ir_k5_e3_g1x2`, `rec_k7_e4` and `ir_k5_e6_se_swish` read like
//! the paper. Parsing the canonical form gives the same spec back.
//!
//! ```
//! use nse_ops::{OpFamily, OpSpec};
//! let op: OpSpec = "ir_k3_e6_d2".parse().unwrap();
//! assert_eq!(op.family(), OpFamily::InvertedBottleneck);
//! assert_eq!((op.kernel(), op.expansion(), op.dilation()), (3, 6, 2));
//! assert_eq!(op.to_string(), "ir_k3_e6_d2");
//! assert!("ir_k4_e6".parse::<OpSpec>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{ParseErrorKind, ParseOpError, SpecError};

/// The four op families of NSE (docs/method.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpFamily {
    /// `IR(k, t, d, g)`: inverted bottleneck with a depthwise kxk conv (`ir`).
    #[serde(rename = "ir")]
    InvertedBottleneck,
    /// `Conv(k, t)`: 1x1, full kxk, 1x1 (`conv`).
    #[serde(rename = "conv")]
    Plain,
    /// `Dual(k, t)`: 1x1, two full kxk convs, 1x1 (`dual`).
    #[serde(rename = "dual")]
    Dual,
    /// `Rec(k, t)`: 1x1, factorised 1xk then kx1, 1x1 (`rec`).
    #[serde(rename = "rec")]
    Factorized,
}

impl OpFamily {
    /// All families, in the order of the text grammar.
    pub const ALL: [OpFamily; 4] = [
        OpFamily::InvertedBottleneck,
        OpFamily::Plain,
        OpFamily::Dual,
        OpFamily::Factorized,
    ];

    /// The family's keyword in the text form.
    pub fn keyword(self) -> &'static str {
        match self {
            OpFamily::InvertedBottleneck => "ir",
            OpFamily::Plain => "conv",
            OpFamily::Dual => "dual",
            OpFamily::Factorized => "rec",
        }
    }

    fn from_keyword(word: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.keyword() == word)
    }
}

impl fmt::Display for OpFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// The activation used after the first and middle convs (and inside SE).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `max(0, x)`; the default of every reference pool.
    #[default]
    Relu,
    /// Swish / SiLU, `x * sigmoid(x)`.
    #[serde(alias = "silu")]
    Swish,
}

impl Activation {
    /// The keyword in the text form.
    pub fn keyword(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Swish => "swish",
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.keyword())
    }
}

/// Group counts of the first (input) and last (output) 1x1 convs of an inverted bottleneck.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Groups {
    /// Groups of the expansion 1x1 conv `cin -> h`.
    pub input: usize,
    /// Groups of the projection 1x1 conv `h -> cout`.
    pub output: usize,
}

impl Groups {
    /// Dense 1x1 convs.
    pub const DENSE: Groups = Groups {
        input: 1,
        output: 1,
    };

    /// Groups `(input, output)`.
    pub const fn new(input: usize, output: usize) -> Self {
        Groups { input, output }
    }
}

impl Default for Groups {
    fn default() -> Self {
        Groups::DENSE
    }
}

/// One candidate operation: family, kernel, expansion and options.
///
/// Always valid once constructed (odd non-zero kernel, non-zero expansion, dilation and
/// groups, dilation and groups only on `ir`); channel-dependent checks (groups dividing
/// channels) happen when the op is placed in a network, see
/// [`OpSpec::check_geometry`](crate::cost::OpGeometry).
///
/// Serde form: `{"family":"ir","kernel":3,"expansion":6,"dilation":1,"groups":{"input":1,"output":1},"se":false,"activation":"relu"}`
/// with every field after `expansion` optional. Deserialisation also accepts the text form
/// as a string (`"ir_k3_e6"`), and validates either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "RawOpSpec")]
pub struct OpSpec {
    family: OpFamily,
    kernel: usize,
    expansion: usize,
    dilation: usize,
    groups: Groups,
    se: bool,
    activation: Activation,
}

impl OpSpec {
    /// A spec of `family` with kernel `kernel` and expansion ratio `expansion`, no dilation,
    /// dense 1x1 convs, no SE, ReLU.
    pub fn new(family: OpFamily, kernel: usize, expansion: usize) -> Result<Self, SpecError> {
        if kernel == 0 {
            return Err(SpecError::ZeroKernel);
        }
        if kernel.is_multiple_of(2) {
            return Err(SpecError::EvenKernel(kernel));
        }
        if expansion == 0 {
            return Err(SpecError::ZeroExpansion);
        }
        Ok(OpSpec {
            family,
            kernel,
            expansion,
            dilation: 1,
            groups: Groups::DENSE,
            se: false,
            activation: Activation::Relu,
        })
    }

    /// `IR(k, t)`: inverted bottleneck.
    pub fn ir(kernel: usize, expansion: usize) -> Result<Self, SpecError> {
        Self::new(OpFamily::InvertedBottleneck, kernel, expansion)
    }

    /// `Conv(k, t)`: plain full convolution block.
    pub fn conv(kernel: usize, expansion: usize) -> Result<Self, SpecError> {
        Self::new(OpFamily::Plain, kernel, expansion)
    }

    /// `Dual(k, t)`: two full convolutions.
    pub fn dual(kernel: usize, expansion: usize) -> Result<Self, SpecError> {
        Self::new(OpFamily::Dual, kernel, expansion)
    }

    /// `Rec(k, t)`: factorised 1xk + kx1 convolution.
    pub fn rec(kernel: usize, expansion: usize) -> Result<Self, SpecError> {
        Self::new(OpFamily::Factorized, kernel, expansion)
    }

    /// The same op with dilation `dilation` of its depthwise conv (`ir` only).
    pub fn with_dilation(mut self, dilation: usize) -> Result<Self, SpecError> {
        if dilation == 0 {
            return Err(SpecError::ZeroDilation);
        }
        if dilation != 1 && self.family != OpFamily::InvertedBottleneck {
            return Err(SpecError::FieldNotAllowed {
                field: "dilation",
                family: self.family.keyword(),
            });
        }
        self.dilation = dilation;
        Ok(self)
    }

    /// The same op with grouped first/last 1x1 convs (`ir` only).
    pub fn with_groups(mut self, groups: Groups) -> Result<Self, SpecError> {
        if groups.input == 0 || groups.output == 0 {
            return Err(SpecError::ZeroGroups);
        }
        if groups != Groups::DENSE && self.family != OpFamily::InvertedBottleneck {
            return Err(SpecError::FieldNotAllowed {
                field: "groups",
                family: self.family.keyword(),
            });
        }
        self.groups = groups;
        Ok(self)
    }

    /// The same op with (or without) squeeze-and-excitation.
    pub fn with_se(mut self, se: bool) -> Self {
        self.se = se;
        self
    }

    /// The same op with another activation.
    pub fn with_activation(mut self, activation: Activation) -> Self {
        self.activation = activation;
        self
    }

    /// The op family.
    pub fn family(&self) -> OpFamily {
        self.family
    }
    /// Kernel size `k` (odd).
    pub fn kernel(&self) -> usize {
        self.kernel
    }
    /// Expansion ratio `t`: the hidden width is `cin * t`.
    pub fn expansion(&self) -> usize {
        self.expansion
    }
    /// Dilation of the depthwise conv (1 unless `ir`).
    pub fn dilation(&self) -> usize {
        self.dilation
    }
    /// Groups of the first and last 1x1 convs (dense unless `ir`).
    pub fn groups(&self) -> Groups {
        self.groups
    }
    /// Whether squeeze-and-excitation follows the spatial convs.
    pub fn se(&self) -> bool {
        self.se
    }
    /// The activation.
    pub fn activation(&self) -> Activation {
        self.activation
    }

    /// Hidden width for `cin` input channels: `cin * t`.
    pub fn hidden(&self, cin: usize) -> usize {
        cin * self.expansion
    }

    /// Padding of a spatial conv of this op along an axis with the kernel: `d (k − 1) / 2`,
    /// which keeps `out = ceil(in / stride)`. For `k = 3` it is the `(k + 2(d − 1)) / 2` of
    /// docs/method.md §2; for larger dilated kernels that formula would shrink the map.
    pub fn padding(&self) -> usize {
        self.dilation * (self.kernel - 1) / 2
    }
}

impl fmt::Display for OpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_k{}_e{}", self.family, self.kernel, self.expansion)?;
        if self.dilation != 1 {
            write!(f, "_d{}", self.dilation)?;
        }
        if self.groups != Groups::DENSE {
            write!(f, "_g{}x{}", self.groups.input, self.groups.output)?;
        }
        if self.se {
            f.write_str("_se")?;
        }
        if self.activation != Activation::Relu {
            write!(f, "_{}", self.activation)?;
        }
        Ok(())
    }
}

impl FromStr for OpSpec {
    type Err = ParseOpError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |at: usize, token: &str, kind: ParseErrorKind| ParseOpError {
            text: text.to_string(),
            at,
            token: token.to_string(),
            kind,
        };
        if text.is_empty() {
            return Err(err(0, "", ParseErrorKind::Empty));
        }
        let mut tokens = Vec::new();
        let mut at = 0;
        for token in text.split('_') {
            tokens.push((at, token));
            at += token.len() + 1;
        }
        if let Some(&(at, token)) = tokens.iter().find(|(_, t)| t.is_empty()) {
            return Err(err(at, token, ParseErrorKind::EmptyToken));
        }
        let (_, family_word) = tokens[0];
        let family = OpFamily::from_keyword(family_word)
            .ok_or_else(|| err(0, family_word, ParseErrorKind::UnknownFamily))?;

        let mut kernel = None;
        let mut expansion = None;
        let mut dilation = None;
        let mut groups = None;
        let mut se = None;
        let mut activation = None;

        fn number(token: &str, field: char) -> Option<usize> {
            let digits = &token[field.len_utf8()..];
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            digits.parse().ok()
        }
        fn set<T>(slot: &mut Option<(usize, T)>, at: usize, value: T) -> bool {
            if slot.is_some() {
                return false;
            }
            *slot = Some((at, value));
            true
        }

        for &(at, token) in &tokens[1..] {
            let fresh = match token {
                "se" => set(&mut se, at, true),
                "relu" => set(&mut activation, at, Activation::Relu),
                "swish" | "silu" => set(&mut activation, at, Activation::Swish),
                _ => {
                    let field = token.chars().next().unwrap_or('?');
                    match field {
                        'k' | 'e' | 'd' => {
                            let value = number(token, field)
                                .ok_or_else(|| err(at, token, ParseErrorKind::BadNumber(field)))?;
                            let slot = match field {
                                'k' => &mut kernel,
                                'e' => &mut expansion,
                                _ => &mut dilation,
                            };
                            set(slot, at, value)
                        }
                        'g' => {
                            let (a, b) = token[1..]
                                .split_once('x')
                                .ok_or_else(|| err(at, token, ParseErrorKind::BadNumber('g')))?;
                            let parse = |s: &str| -> Option<usize> {
                                if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                                    None
                                } else {
                                    s.parse().ok()
                                }
                            };
                            let (Some(a), Some(b)) = (parse(a), parse(b)) else {
                                return Err(err(at, token, ParseErrorKind::BadNumber('g')));
                            };
                            set(&mut groups, at, Groups::new(a, b))
                        }
                        _ => return Err(err(at, token, ParseErrorKind::UnknownToken)),
                    }
                }
            };
            if !fresh {
                return Err(err(at, token, ParseErrorKind::Duplicate));
            }
        }

        let end = text.len();
        let (k_at, kernel) =
            kernel.ok_or_else(|| err(end, "", ParseErrorKind::MissingField('k')))?;
        let (e_at, expansion) =
            expansion.ok_or_else(|| err(end, "", ParseErrorKind::MissingField('e')))?;
        let token_at = |at: usize| -> &str {
            let rest = &text[at..];
            rest.split('_').next().unwrap_or(rest)
        };
        let invalid = |at: usize, e: SpecError| err(at, token_at(at), ParseErrorKind::Invalid(e));

        let mut spec = OpSpec::new(family, kernel, expansion).map_err(|e| match e {
            SpecError::ZeroExpansion => invalid(e_at, e),
            other => invalid(k_at, other),
        })?;
        if let Some((at, d)) = dilation {
            spec = spec.with_dilation(d).map_err(|e| invalid(at, e))?;
        }
        if let Some((at, g)) = groups {
            spec = spec.with_groups(g).map_err(|e| invalid(at, e))?;
        }
        if let Some((_, se)) = se {
            spec = spec.with_se(se);
        }
        if let Some((_, a)) = activation {
            spec = spec.with_activation(a);
        }
        Ok(spec)
    }
}

impl<'de> Deserialize<'de> for OpSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;
        impl<'de> serde::de::Visitor<'de> for SpecVisitor {
            type Value = OpSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an op as text (e.g. \"ir_k3_e6\") or as a map with family, kernel and expansion")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<OpSpec, E> {
                text.parse().map_err(E::custom)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<OpSpec, A::Error> {
                let raw =
                    RawOpSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                OpSpec::try_from(raw).map_err(serde::de::Error::custom)
            }
        }
        deserializer.deserialize_any(SpecVisitor)
    }
}

/// The serde shape of [`OpSpec`] before validation.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOpSpec {
    family: OpFamily,
    kernel: usize,
    expansion: usize,
    #[serde(default = "one")]
    dilation: usize,
    #[serde(default)]
    groups: Groups,
    #[serde(default)]
    se: bool,
    #[serde(default)]
    activation: Activation,
}

fn one() -> usize {
    1
}

impl TryFrom<RawOpSpec> for OpSpec {
    type Error = SpecError;

    fn try_from(raw: RawOpSpec) -> Result<Self, SpecError> {
        Ok(OpSpec::new(raw.family, raw.kernel, raw.expansion)?
            .with_dilation(raw.dilation)?
            .with_groups(raw.groups)?
            .with_se(raw.se)
            .with_activation(raw.activation))
    }
}

impl From<OpSpec> for RawOpSpec {
    fn from(spec: OpSpec) -> Self {
        RawOpSpec {
            family: spec.family,
            kernel: spec.kernel,
            expansion: spec.expansion,
            dilation: spec.dilation,
            groups: spec.groups,
            se: spec.se,
            activation: spec.activation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> (usize, ParseErrorKind) {
        let e = text.parse::<OpSpec>().unwrap_err();
        (e.at, e.kind)
    }

    #[test]
    fn canonical_forms_round_trip() {
        for text in [
            "ir_k3_e6",
            "ir_k3_e1_d2",
            "ir_k11_e3_g2x2",
            "conv_k3_e2",
            "dual_k3_e1",
            "rec_k7_e4",
            "ir_k5_e6_se_swish",
            "ir_k3_e3_d3_g1x2_se",
        ] {
            let spec: OpSpec = text.parse().unwrap();
            assert_eq!(spec.to_string(), text);
        }
    }

    #[test]
    fn fields_in_any_order_and_defaults_are_canonicalised() {
        let spec: OpSpec = "ir_e6_silu_k5_d1_g1x1".parse().unwrap();
        assert_eq!(spec.to_string(), "ir_k5_e6_swish");
        assert_eq!(spec.activation(), Activation::Swish);
        assert_eq!(spec.dilation(), 1);
        let (at, kind) = kind("ir_swish_e6_k5_relu");
        assert_eq!((at, kind), (15, ParseErrorKind::Duplicate));
    }

    #[test]
    fn bad_strings_give_their_specific_error_and_position() {
        use ParseErrorKind::*;
        let table: &[(&str, usize, ParseErrorKind)] = &[
            ("", 0, Empty),
            ("mb_k3_e6", 0, UnknownFamily),
            ("IR_k3_e6", 0, UnknownFamily),
            ("ir_e6", 5, MissingField('k')),
            ("ir_k3", 5, MissingField('e')),
            ("ir_k0_e6", 3, Invalid(SpecError::ZeroKernel)),
            ("ir_k4_e6", 3, Invalid(SpecError::EvenKernel(4))),
            ("ir_k3_e0", 6, Invalid(SpecError::ZeroExpansion)),
            ("ir_k3_e6_d0", 9, Invalid(SpecError::ZeroDilation)),
            ("ir_k3_e6_g0x2", 9, Invalid(SpecError::ZeroGroups)),
            (
                "conv_k3_e1_d2",
                11,
                Invalid(SpecError::FieldNotAllowed {
                    field: "dilation",
                    family: "conv",
                }),
            ),
            (
                "rec_k5_e2_g2x2",
                10,
                Invalid(SpecError::FieldNotAllowed {
                    field: "groups",
                    family: "rec",
                }),
            ),
            ("ir_kx_e6", 3, BadNumber('k')),
            ("ir_k_e6", 3, BadNumber('k')),
            ("ir_k-3_e6", 3, BadNumber('k')),
            ("ir_k3_e6_g2", 9, BadNumber('g')),
            ("ir_k3_e6_g2x", 9, BadNumber('g')),
            ("ir_k99999999999999999999999_e6", 3, BadNumber('k')),
            ("ir_k3_e6_q5", 9, UnknownToken),
            ("ir_k3_e6_k5", 9, Duplicate),
            ("ir_k3_e6_se_se", 12, Duplicate),
            ("ir_k3__e6", 6, EmptyToken),
            ("ir_k3_e6_", 9, EmptyToken),
            ("_ir_k3_e6", 0, EmptyToken),
            ("ir_k3_e6 ", 6, BadNumber('e')),
        ];
        for (text, at, expected) in table {
            let (got_at, got) = kind(text);
            assert_eq!(&got, expected, "error kind for {text:?}");
            assert_eq!(got_at, *at, "error position for {text:?}");
        }
        let message = "ir_k4_e6".parse::<OpSpec>().unwrap_err().to_string();
        assert!(
            message.contains("odd") && message.contains("`k4`"),
            "{message}"
        );
    }

    #[test]
    fn serde_form_validates() {
        let spec: OpSpec =
            serde_json::from_str(r#"{"family":"ir","kernel":3,"expansion":6,"dilation":2}"#)
                .unwrap();
        assert_eq!(spec.to_string(), "ir_k3_e6_d2");
        let bad = serde_json::from_str::<OpSpec>(r#"{"family":"ir","kernel":4,"expansion":6}"#);
        assert!(bad.unwrap_err().to_string().contains("odd"));
        let bad = serde_json::from_str::<OpSpec>(
            r#"{"family":"rec","kernel":5,"expansion":2,"groups":{"input":2,"output":1}}"#,
        );
        assert!(bad.unwrap_err().to_string().contains("only allowed"));
        let bad = serde_json::from_str::<OpSpec>(
            r#"{"family":"ir","kernel":3,"expansion":6,"kernal":3}"#,
        );
        assert!(bad.unwrap_err().to_string().contains("kernal"));
        let text: OpSpec = serde_json::from_str(r#""ir_k5_e3_g2x1""#).unwrap();
        assert_eq!(text.groups(), Groups::new(2, 1));
        let bad = serde_json::from_str::<OpSpec>(r#""ir_k5""#)
            .unwrap_err()
            .to_string();
        assert!(bad.contains("missing field `e`"), "{bad}");
        let json = serde_json::to_string(&text).unwrap();
        assert_eq!(serde_json::from_str::<OpSpec>(&json).unwrap(), text);
    }

    #[test]
    fn padding_keeps_ceil_division() {
        for (text, pad) in [
            ("ir_k3_e1", 1),
            ("ir_k3_e1_d2", 2),
            ("ir_k3_e1_d3", 3),
            ("ir_k11_e1", 5),
            ("ir_k5_e1_d2", 4),
        ] {
            assert_eq!(text.parse::<OpSpec>().unwrap().padding(), pad, "{text}");
        }
    }
}
