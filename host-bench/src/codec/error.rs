//! The codec's one error type: every failure a user can meet, with a
//! message that names the problem in one line.

use std::fmt;
use std::io;

/// What went wrong while compressing, decompressing or inspecting a
/// stream.
#[derive(Debug)]
#[non_exhaustive]
pub enum CodecError {
    /// Reading the input or writing the output failed.
    Io(io::Error),
    /// The data does not start with the container's magic: not our file.
    NotOurs,
    /// The container was written by a format version this build cannot read.
    UnsupportedVersion(u8),
    /// The header fails its own checksum or holds impossible values.
    BadHeader,
    /// The stream ends inside the header.
    TruncatedHeader,
    /// The stream ends inside chunk `chunk` (0-based) of `chunks`.
    Truncated {
        /// The chunk the stream ends in.
        chunk: u64,
        /// Chunks the header announces.
        chunks: u64,
    },
    /// Chunk `chunk` (0-based) of `chunks` is damaged.
    CorruptChunk {
        /// The damaged chunk.
        chunk: u64,
        /// Chunks the header announces.
        chunks: u64,
    },
    /// Bytes follow the last chunk.
    TrailingData,
    /// The decoded data fails the CRC-32 stored in the header.
    ChecksumMismatch {
        /// CRC-32 in the header.
        expected: u32,
        /// CRC-32 of what was decoded.
        actual: u32,
    },
    /// The stream was compressed with another model.
    ModelMismatch {
        /// Fingerprint in the stream's header.
        stream: u64,
        /// Fingerprint of the model given.
        model: u64,
        /// The shipped model with the stream's fingerprint, if one is known.
        stream_model: Option<String>,
    },
    /// The model file cannot be used.
    Model(model_int8::Error),
    /// An option is out of range (e.g. the chunk size).
    BadOption(String),
    /// A coder error that none of the above explains.
    Coder(coder_core::Error),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Io(e) => write!(f, "{e}"),
            CodecError::NotOurs => f.write_str("not an lmc compressed file (bad magic)"),
            CodecError::UnsupportedVersion(v) => write!(
                f,
                "lmc format version {v} is not supported by this build (it reads version {})",
                coder_core::container::VERSION
            ),
            CodecError::BadHeader => f.write_str("corrupt header (header checksum mismatch)"),
            CodecError::TruncatedHeader => f.write_str("truncated file (ends inside the header)"),
            CodecError::Truncated { chunk, chunks } => write!(
                f,
                "truncated file (ends inside chunk {} of {chunks})",
                chunk + 1
            ),
            CodecError::CorruptChunk { chunk, chunks } => {
                write!(f, "corrupt data in chunk {} of {chunks}", chunk + 1)
            }
            CodecError::TrailingData => f.write_str("corrupt file (extra bytes after the last chunk)"),
            CodecError::ChecksumMismatch { expected, actual } => write!(
                f,
                "CRC-32 mismatch: decompressed data is corrupt (expected {expected:08x}, got {actual:08x})"
            ),
            CodecError::ModelMismatch {
                stream,
                model,
                stream_model,
            } => {
                write!(
                    f,
                    "compressed with a different model (file needs model {stream:016x}"
                )?;
                if let Some(name) = stream_model {
                    write!(f, ", the shipped {name} model")?;
                }
                write!(f, "; this model is {model:016x}); pass the right one with --model or a level")
            }
            CodecError::Model(e) => write!(f, "unusable model: {e}"),
            CodecError::BadOption(s) => f.write_str(s),
            CodecError::Coder(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CodecError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CodecError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for CodecError {
    fn from(e: io::Error) -> Self {
        CodecError::Io(e)
    }
}

impl From<model_int8::Error> for CodecError {
    fn from(e: model_int8::Error) -> Self {
        CodecError::Model(e)
    }
}
