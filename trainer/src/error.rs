//! The crate's one error type.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// What can go wrong while training, exporting or evaluating a model. The
/// messages are for the user: each names the file or option at fault.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read, written, created or renamed.
    Io {
        /// What was being done (`read`, `write`, `create`, `rename`).
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A JSON file (run config, run state) is malformed or lacks a field.
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A Burn record (`model.mpk`, `optim.mpk`) could not be saved or loaded.
    Record {
        /// What was being done (`load`, `save`).
        op: &'static str,
        path: PathBuf,
        source: burn::record::RecorderError,
    },
    /// Unusable data: a bad source spec or byte range, a checksum that does
    /// not match, training data that overlaps validation data.
    Data(String),
    /// A model, checkpoint or optimizer state that does not fit: another
    /// architecture, a damaged file, a model an engine cannot run.
    Model(String),
    /// A run directory used the wrong way: a new run over an old one's
    /// checkpoint, an export of a run without a checkpoint.
    Run(String),
    /// Quantizing the float model to int8 failed.
    Quantize(model_int8::Error),
    /// The training loss stopped being finite.
    Diverged {
        /// The step whose loss was not finite.
        step: u64,
        loss: f32,
    },
    /// The validation curve could not be drawn.
    Plot(String),
    /// Options that are out of range or contradict each other.
    Usage(String),
}

impl Error {
    /// An [`Error::Io`] maker for `map_err`: `fs::read(p).map_err(Error::io("read", p))`.
    pub fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> Self + 'a {
        move |source| Error::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }

    /// An [`Error::Json`] maker for `map_err`.
    pub fn json(path: &Path) -> impl FnOnce(serde_json::Error) -> Self + '_ {
        move |source| Error::Json {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An [`Error::Record`] maker for `map_err`.
    pub fn record<'a>(
        op: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(burn::record::RecorderError) -> Self + 'a {
        move |source| Error::Record {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, source } => {
                write!(f, "cannot {op} {}: {source}", path.display())
            }
            Error::Json { path, source } => write!(f, "bad JSON in {}: {source}", path.display()),
            Error::Record { op, path, source } => {
                write!(f, "cannot {op} Burn record {}: {source}", path.display())
            }
            Error::Data(m) | Error::Model(m) | Error::Run(m) | Error::Usage(m) => f.write_str(m),
            Error::Quantize(e) => write!(f, "quantization failed: {e}"),
            Error::Diverged { step, loss } => write!(
                f,
                "training diverged: the loss is {loss} at step {step} (try a lower --lr)"
            ),
            Error::Plot(m) => write!(f, "cannot draw the validation curve: {m}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Json { source, .. } => Some(source),
            Error::Record { source, .. } => Some(source),
            Error::Quantize(e) => Some(e),
            _ => None,
        }
    }
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
