//! The crate's one error type.

use core::fmt;

/// Everything that can go wrong in `coder-core`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// A frequency table's precision is 0 or above `MAX_PRECISION`.
    BadPrecision,
    /// A frequency table has no symbols, more than `MAX_SYMBOLS`, or more
    /// symbols than its total has counts.
    BadAlphabet,
    /// A frequency table has a zero frequency or does not sum to its total.
    BadFrequencies,
    /// A symbol to encode is outside the model's alphabet.
    SymbolOutOfRange,
    /// The output buffer is too small for the coded data.
    OutputFull,
    /// The coded data ended before the expected number of symbols.
    Truncated,
    /// The coded data cannot have been produced by this coder and model.
    Corrupt,
    /// The data does not start with this container's magic bytes.
    NotAContainer,
    /// The container was written by an unsupported format version (the
    /// version byte found).
    UnsupportedVersion(u8),
    /// The stream was compressed with a different model (fingerprint mismatch).
    ModelMismatch,
    /// The decompressed data does not match the CRC-32 in the header.
    ChecksumMismatch,
    /// A model configuration is out of range, or its storage is too small.
    BadConfig,
    /// The container header fails its own checksum or holds impossible
    /// values.
    BadHeader,
    /// Bytes follow the last chunk of a container.
    TrailingData,
    /// The stream's chunks were coded in a way ([`Coding`](crate::container::Coding))
    /// this decoder does not run.
    UnsupportedCoding,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Error::UnsupportedVersion(v) = self {
            return write!(
                f,
                "unsupported container format version {v} (this build reads versions {} to {})",
                crate::container::MIN_VERSION,
                crate::container::VERSION
            );
        }
        f.write_str(match self {
            Error::BadPrecision => "frequency table precision must be 1..=24 bits",
            Error::BadAlphabet => "frequency table alphabet size is out of range",
            Error::BadFrequencies => {
                "frequency table has a zero frequency or does not sum to its total"
            }
            Error::SymbolOutOfRange => "symbol is outside the model's alphabet",
            Error::OutputFull => "output buffer is too small",
            Error::Truncated => "compressed data is truncated",
            Error::Corrupt => "compressed data is corrupt",
            Error::NotAContainer => "not a compressed stream of this format (bad magic)",
            Error::UnsupportedVersion(_) => "unsupported container format version",
            Error::ModelMismatch => "stream was compressed with a different model",
            Error::ChecksumMismatch => "decompressed data fails its CRC-32 check",
            Error::BadConfig => "model configuration is out of range or its storage is too small",
            Error::BadHeader => "compressed stream header is corrupt",
            Error::TrailingData => "compressed stream has extra bytes after its last chunk",
            Error::UnsupportedCoding => {
                "compressed stream was coded in a mode (mixing, chaining) this decoder does not run"
            }
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

/// A coder error inside an I/O error (kind `InvalidData`), as the
/// [`stream`](crate::container::StreamReader) layer returns it; get it back
/// with [`Error::from_io`].
#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

#[cfg(feature = "std")]
impl Error {
    /// The coder error inside `e`, if it holds one (see
    /// `From<Error> for std::io::Error`); `None` for a genuine I/O error.
    pub fn from_io(e: &std::io::Error) -> Option<Error> {
        e.get_ref()?.downcast_ref::<Error>().copied()
    }
}
