//! The crate's one error type: every failure a user can meet, with a
//! message that names the problem in one line.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::shelf::Shelved;

/// An I/O error's text without Rust's ` (os error N)` tail.
pub fn io_message(e: &io::Error) -> String {
    let s = e.to_string();
    match s.rfind(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

/// What went wrong while compressing, decompressing or inspecting a
/// stream, or choosing a file's destination.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
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
    /// Chunk `chunk` (0-based) of `chunks` of a chained stream did not
    /// decode: it, or the chunk before it, whose end it continues, is
    /// damaged (that one was decoded, and held back, not written).
    CorruptChained {
        /// The chunk that failed (0-based).
        chunk: u64,
        /// Chunks in the stream.
        chunks: u64,
    },
    /// A header whose checksum holds but whose fields this build does
    /// not accept (a chunk size out of range, an unknown mode or flag).
    HeaderFields,
    /// An input with other hard links, which removing it would not free
    /// (gzip's rule; `-f` compresses it anyway, `-k` keeps it).
    OtherLinks(u64),
    /// An input named by a symbolic link, which would be removed in
    /// place of the file it names (`-f` follows it, as gzip).
    SymbolicLink,
    /// The system could not give the memory asked for.
    OutOfMemory {
        /// Bytes asked for.
        bytes: u64,
    },
    /// A model or tokenizer path that is not a regular file (a device, a
    /// FIFO, a directory).
    NotAModelFile {
        /// The path given.
        path: PathBuf,
    },
    /// A model or tokenizer file larger than its format allows.
    ModelTooLarge {
        /// The path given.
        path: PathBuf,
        /// Its size.
        len: u64,
        /// The largest the format allows (for a model: the size its
        /// header declares, checked against its configuration).
        max: u64,
    },
    /// Chunk `chunk` (0-based) of `chunks` is damaged.
    CorruptChunk {
        /// The damaged chunk.
        chunk: u64,
        /// Chunks the header announces.
        chunks: u64,
    },
    /// Bytes follow the last chunk that do not start another stream.
    TrailingData,
    /// A problem in stream `stream` (0-based, from the second on) of a
    /// file of concatenated streams.
    InStream {
        /// The stream.
        stream: u64,
        /// What is wrong with it.
        error: Box<Error>,
    },
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
        /// The stream's model in a few words ("the shipped 200K (level
        /// -1) model"), when it is known.
        stream_model: Option<String>,
    },
    /// The model cannot be used.
    Model(model_int8::Error),
    /// A model file cannot be read.
    ModelUnreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// A model file is not a usable `model-int8` file.
    ModelFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: model_int8::Error,
    },
    /// The stream's model is none of the shipped models found here, and
    /// on no shelf (and no model was named).
    UnknownModel(u64),
    /// The stream was made with a model retired from the tree (and no
    /// model was named): the git history holds it.
    RetiredModel(&'static Shelved),
    /// The stream was made with a model of the source tree that is not
    /// installed here, or that no level finds by itself (Table 2's).
    ModelNotHere(&'static Shelved),
    /// No shipped model has this level.
    NoLevel(u8),
    /// The shipped model of a level is not installed.
    NotShipped {
        /// The size's name ("800K").
        name: &'static str,
        /// Its level.
        level: u8,
        /// Where it was looked for.
        looked: Vec<PathBuf>,
    },
    /// The chunk size is outside `1..=MAX_CHUNK_SIZE`.
    BadChunkSize(u32),
    /// The input is a directory.
    IsDirectory,
    /// The input is not a regular file (a device, a FIFO, ...).
    NotRegularFile,
    /// `-t` was given for compression.
    TestWithoutDecompress,
    /// A file to decompress does not end in the suffix (`.lmc` or `-S`'s;
    /// and no output was named).
    UnknownSuffix(String),
    /// A file to compress already ends in the suffix (and no `-f`).
    AlreadyCompressed(String),
    /// Options that cannot go together, or a bad option value: a usage
    /// error (exit status 2).
    Usage(String),
    /// The destination exists (and no `-f`).
    OutputExists(PathBuf),
    /// The destination appeared while the output was being written (and
    /// no `-f`): another process wrote it first.
    OutputAppeared(PathBuf),
    /// The destination is a directory.
    OutputIsDirectory(PathBuf),
    /// Writing the output file failed (the input is not at fault).
    Output {
        /// The destination.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Input and output are the same file.
    SameFile,
    /// Compressed data would go to a terminal (and no `-f`).
    CompressedToTerminal,
    /// Compressed data would come from a terminal (and no `-f`).
    CompressedFromTerminal,
    /// A coder error that none of the above explains.
    Coder(coder_core::Error),
    /// A stream names a mixer preset this build does not have.
    UnknownPreset(u8),
    /// A coding that runs the language model was asked for without one.
    ModelNeeded,
    /// A token-level model's tokenizer is missing, unreadable, or not
    /// the model's.
    Tokenizer {
        /// The tokenizer file, when one is at fault.
        path: Option<PathBuf>,
        /// What is wrong.
        message: String,
    },
    /// A chunk longer than a model that cannot stream predicts.
    ChunkTooLong {
        /// The chunk size asked for.
        chunk_size: u32,
        /// The model's context.
        context: u32,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => f.write_str(&io_message(e)),
            Error::NotOurs => f.write_str("not an lmc compressed file (bad magic)"),
            Error::UnsupportedVersion(v) => write!(
                f,
                "lmc format version {v} is not supported by this build (it reads versions {} to {})",
                coder_core::container::MIN_VERSION,
                coder_core::container::VERSION
            ),
            Error::BadHeader => f.write_str("corrupt header (header checksum mismatch)"),
            Error::TruncatedHeader => f.write_str("truncated file (ends inside the header)"),
            Error::Truncated { chunk, chunks } => write!(
                f,
                "truncated file (ends inside chunk {} of {chunks})",
                chunk + 1
            ),
            Error::CorruptChained { chunk, chunks } => write!(
                f,
                "corrupt data in chunk {} of {chunks}, or in chunk {} before it, whose end it continues (chained blocks; neither was written)",
                chunk + 1,
                *chunk
            ),
            Error::HeaderFields => f.write_str(
                "corrupt or unknown header (its checksum holds, but its chunk size, mode or flags are not valid for this build)",
            ),
            Error::OtherLinks(n) => write!(
                f,
                "has {n} other link{} -- unchanged (use -f to compress it anyway, or -k to keep it)",
                if *n == 1 { "" } else { "s" }
            ),
            Error::SymbolicLink => f.write_str(
                "is a symbolic link -- unchanged (use -f to follow it, or -c / -k)",
            ),
            Error::OutOfMemory { bytes } => write!(
                f,
                "out of memory (could not get {:.1} MiB; use fewer threads with -T, or smaller blocks with -b)",
                *bytes as f64 / f64::from(1u32 << 20)
            ),
            Error::NotAModelFile { path } => write!(
                f,
                "{}: not a regular file (models and tokenizers are read from files)",
                path.display()
            ),
            Error::ModelTooLarge { path, len, max } => write!(
                f,
                "{}: {len} bytes, more than its format allows ({max}): not a model file, or a damaged one",
                path.display()
            ),
            Error::CorruptChunk { chunk, chunks } => {
                write!(f, "corrupt data in chunk {} of {chunks}", chunk + 1)
            }
            Error::TrailingData => f.write_str("corrupt file (extra bytes after the last chunk)"),
            Error::InStream { stream, error } => {
                write!(f, "{error} (in stream {} of concatenated streams)", stream + 1)
            }
            Error::ChecksumMismatch { expected, actual } => write!(
                f,
                "CRC-32 mismatch: decompressed data is corrupt (expected {expected:08x}, got {actual:08x})"
            ),
            Error::ModelMismatch {
                stream,
                model,
                stream_model,
            } => {
                write!(
                    f,
                    "compressed with a different model (file needs model {stream:016x}"
                )?;
                if let Some(known) = stream_model {
                    write!(f, ", {known}")?;
                }
                write!(f, "; this model is {model:016x}); pass the right one with --model or a level")
            }
            Error::Model(e) => write!(f, "unusable model: {e}"),
            Error::ModelUnreadable { path, source } => {
                write!(f, "cannot read model {}: {source}", path.display())
            }
            Error::ModelFile { path, source } => write!(f, "model {}: {source}", path.display()),
            Error::UnknownModel(fp) => write!(
                f,
                "compressed with model {fp:016x}, which is none of the shipped models found here; pass it with --model FILE"
            ),
            // One line: which model, and how to get it back.
            Error::RetiredModel(e) => write!(
                f,
                "made with the retired model {} ({}, shipped {}); bring it back with {} and decompress with --model {}",
                e.name,
                e.size,
                e.date,
                e.bring_back(),
                e.file_name()
            ),
            Error::ModelNotHere(e) => write!(
                f,
                "made with the model {} ({}), which lmc does not find here by itself; pass it with --model FILE ({} in lmc's source tree)",
                e.name, e.size, e.path
            ),
            Error::NoLevel(level) => write!(
                f,
                "no level {level}: levels are 1 to {}",
                crate::models::SHIPPED.len()
            ),
            Error::NotShipped { name, level, looked } => {
                let looked: Vec<String> = looked.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "the {name} model (level -{level}) is not shipped with this build (looked for {}); pass a model with --model FILE",
                    looked.join(", ")
                )
            }
            Error::BadChunkSize(n) => write!(
                f,
                "chunk size {n} is out of range (1 to {} bytes)",
                coder_core::container::MAX_CHUNK_SIZE
            ),
            Error::IsDirectory => f.write_str("is a directory -- ignored"),
            Error::NotRegularFile => f.write_str("not a regular file -- ignored"),
            Error::TestWithoutDecompress => f.write_str("-t only applies to decompression"),
            Error::UnknownSuffix(suffix) => {
                write!(f, "unknown suffix (expected {suffix}); use -o FILE or -c")
            }
            Error::AlreadyCompressed(suffix) => write!(
                f,
                "already has the {suffix} suffix -- unchanged (use -f to compress anyway)"
            ),
            Error::Usage(m) => f.write_str(m),
            Error::OutputExists(p) => {
                write!(f, "{} already exists; use -f to overwrite", p.display())
            }
            Error::OutputAppeared(p) => write!(
                f,
                "{} was created by another process while lmc was writing it; left as it is (use -f to overwrite)",
                p.display()
            ),
            Error::OutputIsDirectory(p) => write!(
                f,
                "output {} is a directory; name a file (e.g. -o {}/NAME)",
                p.display(),
                p.display()
            ),
            Error::Output { path, source } => {
                write!(f, "cannot write {}: {}", path.display(), io_message(source))
            }
            Error::SameFile => f.write_str("input and output are the same file"),
            Error::CompressedToTerminal => f.write_str(
                "compressed data not written to a terminal (use -f to force, -o FILE, or redirect)",
            ),
            Error::CompressedFromTerminal => {
                f.write_str("compressed data not read from a terminal (use -f to force)")
            }
            Error::Coder(e) => write!(f, "{e}"),
            Error::UnknownPreset(p) => write!(
                f,
                "the stream uses mixer preset {p}, which this build of lmc does not have (a newer lmc wrote it)"
            ),
            Error::ModelNeeded => f.write_str("this coding needs a language model, and none was given"),
            Error::Tokenizer { path: Some(p), message } => {
                write!(f, "tokenizer {}: {message}", p.display())
            }
            Error::Tokenizer { path: None, message } => write!(f, "tokenizer: {message}"),
            Error::ChunkTooLong { chunk_size, context } => write!(
                f,
                "chunk size {chunk_size} is longer than the model's context ({context} bytes), and this model cannot stream past it; use -b {context} or less, or a model with a sliding window"
            ),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e)
            | Error::ModelUnreadable { source: e, .. }
            | Error::Output { source: e, .. } => Some(e),
            Error::InStream { error, .. } => Some(error.as_ref()),
            Error::Model(e) | Error::ModelFile { source: e, .. } => Some(e),
            Error::Coder(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<model_int8::Error> for Error {
    fn from(e: model_int8::Error) -> Self {
        Error::Model(e)
    }
}

impl Error {
    /// Whether this is a write to a closed pipe (EPIPE; `lmc -dc f | head`),
    /// which ends the run quietly, as gzip's death by SIGPIPE does.
    pub fn is_broken_pipe(&self) -> bool {
        match self {
            Error::Io(e) | Error::Output { source: e, .. } => e.kind() == io::ErrorKind::BrokenPipe,
            Error::InStream { error, .. } => error.is_broken_pipe(),
            _ => false,
        }
    }

    /// A `coder-core` stream error (see [`coder_core::Error::from_io`]),
    /// `at` chunk `(index, count)` once the header is read, or a genuine
    /// I/O error.
    pub(crate) fn from_stream(e: io::Error, at: Option<(u64, u64)>) -> Self {
        use coder_core::Error as C;
        match (C::from_io(&e), at) {
            (None, _) => Error::Io(e),
            (Some(C::NotAContainer), _) => Error::NotOurs,
            (Some(C::UnsupportedVersion(v)), _) => Error::UnsupportedVersion(v),
            (Some(C::BadHeader), _) => Error::BadHeader,
            (Some(C::Truncated), None) => Error::TruncatedHeader,
            (Some(C::Truncated), Some((chunk, chunks))) => Error::Truncated { chunk, chunks },
            (Some(C::Corrupt), Some((chunk, chunks))) => Error::CorruptChunk { chunk, chunks },
            (Some(C::TrailingData), _) => Error::TrailingData,
            (Some(c), _) => Error::Coder(c),
        }
    }
}
