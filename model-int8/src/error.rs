//! The crate's one error type.

use core::fmt;

/// Everything that can go wrong in `model-int8`: loading a model file,
/// setting up inference, or (under `std`) quantizing a float model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The file is shorter than its header or than the length it declares.
    Truncated,
    /// The file does not start with the model magic `LMI8`.
    BadMagic,
    /// The file was written by an unsupported format version.
    UnsupportedVersion(u32),
    /// The declared file length differs from the actual length.
    BadLength,
    /// The checksum over the file does not match (the file is corrupt).
    ChecksumMismatch,
    /// The hyper-parameters are invalid or unsupported (zero sizes, heads
    /// that do not divide `d_model`, odd head width, window larger than the
    /// context, vocabulary too large for the precision, ...).
    BadConfig,
    /// The tensor table has the wrong number of entries.
    BadTensorCount,
    /// Tensor `index` has the wrong type or shape for the configuration.
    BadTensorShape(u16),
    /// Tensor `index` lies outside the file, overlaps another one or is not
    /// aligned.
    BadTensorPlacement(u16),
    /// Tensor `index` holds a constant outside its valid range (a shift, a
    /// multiplier, a lookup table entry).
    BadConstant(u16),
    /// The working-memory buffer is smaller than
    /// [`working_memory_size`](crate::working_memory_size) requires.
    WorkBufferTooSmall,
    /// A batch of zero lanes, or of more than
    /// [`MAX_LANES`](crate::MAX_LANES).
    BadLanes,
    /// Quantization failed: the float model's tensors do not match its
    /// configuration.
    BadFloatModel,
    /// Quantization failed: a float value is NaN or infinite, or a range
    /// does not fit the integer format.
    NotQuantizable,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("model file is truncated"),
            Error::BadLanes => write!(f, "a batch needs between 1 and {} lanes", crate::MAX_LANES),
            Error::BadMagic => f.write_str("not a model-int8 file (bad magic)"),
            Error::UnsupportedVersion(v) => {
                write!(f, "unsupported model file version {v}")
            }
            Error::BadLength => f.write_str("model file length does not match its header"),
            Error::ChecksumMismatch => f.write_str("model file checksum mismatch (corrupt file)"),
            Error::BadConfig => f.write_str("model file has an invalid configuration"),
            Error::BadTensorCount => f.write_str("model file has the wrong number of tensors"),
            Error::BadTensorShape(i) => {
                write!(f, "model tensor {i} has the wrong type or shape")
            }
            Error::BadTensorPlacement(i) => write!(
                f,
                "model tensor {i} is outside the file, overlapping or misaligned"
            ),
            Error::BadConstant(i) => {
                write!(f, "model tensor {i} holds an out-of-range constant")
            }
            Error::WorkBufferTooSmall => f.write_str("working memory buffer is too small"),
            Error::BadFloatModel => {
                f.write_str("float model tensors do not match its configuration")
            }
            Error::NotQuantizable => {
                f.write_str("float model cannot be quantized (non-finite value or range)")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
