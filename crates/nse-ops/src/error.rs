//! Errors of the `nse-ops` crate.

use thiserror::Error;

/// Result alias of the `nse-ops` crate.
pub type Result<T> = std::result::Result<T, OpsError>;

/// A value of an operation spec that can never be valid, whatever the channels.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SpecError {
    /// The kernel size is zero.
    #[error("kernel size must be at least 1, got 0")]
    ZeroKernel,
    /// The kernel size is even: the padding rule needs an odd kernel to keep the centre.
    #[error("kernel size must be odd, got {0}")]
    EvenKernel(usize),
    /// The expansion ratio is zero.
    #[error("expansion ratio must be at least 1, got 0")]
    ZeroExpansion,
    /// The dilation is zero.
    #[error("dilation must be at least 1, got 0")]
    ZeroDilation,
    /// A group count is zero.
    #[error("group count must be at least 1, got 0")]
    ZeroGroups,
    /// Dilation or groups were given for a family that has no such field.
    #[error("field `{field}` is only allowed for the `ir` family, not for `{family}`")]
    FieldNotAllowed {
        /// The field (`dilation` or `groups`).
        field: &'static str,
        /// The family that was given.
        family: &'static str,
    },
}

/// What is wrong in an operation's text form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseErrorKind {
    /// The text is empty.
    #[error("the text is empty")]
    Empty,
    /// The first token is not a known family.
    #[error("unknown op family (expected one of ir, conv, dual, rec)")]
    UnknownFamily,
    /// A required field is absent.
    #[error("missing field `{0}` ({meaning})", meaning = field_meaning(*.0))]
    MissingField(char),
    /// A token is not a known field.
    #[error("unknown token (expected k<int>, e<int>, d<int>, g<int>x<int>, se, relu or swish)")]
    UnknownToken,
    /// A field's number could not be read.
    #[error("expected a positive integer after `{0}`")]
    BadNumber(char),
    /// A field appears twice.
    #[error("field given twice")]
    Duplicate,
    /// Two underscores in a row, or a leading or trailing underscore.
    #[error("empty token (doubled, leading or trailing `_`)")]
    EmptyToken,
    /// The fields parse but their values are not a valid spec.
    #[error("{0}")]
    Invalid(SpecError),
}

fn field_meaning(field: char) -> &'static str {
    match field {
        'k' => "kernel size, e.g. k3",
        'e' => "expansion ratio, e.g. e6",
        _ => "field",
    }
}

/// An error in an operation's text form, with the position of the offending token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid op `{text}`: {kind} at byte {at} (`{token}`)")]
pub struct ParseOpError {
    /// The whole text that was parsed.
    pub text: String,
    /// Byte offset of the offending token in `text`.
    pub at: usize,
    /// The offending token (empty when the error concerns the whole text).
    pub token: String,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// Errors of the `nse-ops` crate.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OpsError {
    /// An operation's text form could not be parsed.
    #[error(transparent)]
    Parse(#[from] ParseOpError),
    /// An operation spec has an impossible value.
    #[error("invalid op spec: {0}")]
    Spec(#[from] SpecError),
    /// A group count does not divide the channels of the convolution it applies to.
    #[error(
        "op `{op}`: {groups} groups do not divide the {channels} {side} channels of its {conv} conv"
    )]
    GroupsDoNotDivide {
        /// The op (text form).
        op: String,
        /// Which conv of the op (`first 1x1` or `last 1x1`).
        conv: &'static str,
        /// `input` or `output` channels.
        side: &'static str,
        /// The group count.
        groups: usize,
        /// The channel count that is not divisible.
        channels: usize,
    },
    /// A channel count is zero.
    #[error("op `{op}`: {which} channels must be at least 1, got 0")]
    ZeroChannels {
        /// The op (text form).
        op: String,
        /// `input` or `output`.
        which: &'static str,
    },
    /// The stride is zero.
    #[error("op `{op}`: stride must be at least 1, got 0")]
    ZeroStride {
        /// The op (text form).
        op: String,
    },
    /// The input feature map is empty.
    #[error("op `{op}`: input spatial size must be at least 1x1, got {height}x{width}")]
    EmptyInput {
        /// The op (text form).
        op: String,
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
    },
    /// A candidate pool has no op.
    #[error("a candidate pool needs at least one op")]
    EmptyPool,
    /// A candidate pool lists the same op twice (index {first} and {second}).
    #[error("candidate pool lists op `{op}` twice, at indices {first} and {second}")]
    DuplicateOp {
        /// The op (text form).
        op: String,
        /// First index.
        first: usize,
        /// Second index.
        second: usize,
    },
    /// A reference pool name is unknown.
    #[error("unknown candidate pool `{0}` (expected one of mb19, mb27, mb72)")]
    UnknownPool(String),
    /// An op list carries a reference pool's name but differs from that pool.
    #[error(
        "an op list named `{name}` must list exactly the reference pool's ops; it differs at index {index}"
    )]
    ReferencePoolMismatch {
        /// The reference name.
        name: String,
        /// First differing index.
        index: usize,
    },
    /// A pool index is out of range.
    #[error("op index {index} is out of range for pool `{pool}` of {len} ops")]
    IndexOutOfRange {
        /// The index.
        index: usize,
        /// The pool name.
        pool: String,
        /// The pool size.
        len: usize,
    },
    /// A latency table lacks a layer the space needs.
    #[error(
        "the latency table has no entry for layer {key} (CSV columns `{csv}`): measure it or \
         use a table that covers this space"
    )]
    MissingLatency {
        /// The key, `(type, hw, cin, cout, kernel, stride, padding, dilation, groups)`.
        key: String,
        /// The same in the reference CSV's column order.
        csv: String,
    },
    /// A line of a latency table's CSV is malformed.
    #[error("latency table, line {line}: {message}")]
    LatencyTable {
        /// Line number (from 1).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A latency table file could not be read.
    #[error("latency table `{path}`: {message}")]
    LatencyFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}
