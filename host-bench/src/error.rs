//! The crate's one error type.

use std::fmt;
use std::path::Path;

/// Everything that can go wrong in `host-bench`.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A data file is not what it claims to be (bad checksum).
    Checksum {
        /// Which file.
        what: String,
        /// The known md5.
        expected: String,
        /// The md5 of what was read.
        got: String,
    },
    /// A data set could not be loaded (empty folder, undecodable file, ...).
    Data(String),
    /// A compressor failed, or its output did not decode back to the input.
    Codec {
        /// Which compressor.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// A model file could not be used.
    Model(String),
    /// Coding with a model through `lmc` failed.
    Lmc(lmc::Error),
}

impl Error {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }

    pub(crate) fn codec(name: &str, message: impl fmt::Display) -> Self {
        Error::Codec {
            name: name.into(),
            message: message.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { path, source } => write!(f, "{path}: {source}"),
            Error::Checksum {
                what,
                expected,
                got,
            } => write!(
                f,
                "{what}: md5 {got} does not match the known {expected} (corrupt or different file)"
            ),
            Error::Data(m) => write!(f, "data: {m}"),
            Error::Codec { name, message } => write!(f, "{name}: {message}"),
            Error::Model(m) => write!(f, "model: {m}"),
            Error::Lmc(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            Error::Lmc(e) => Some(e),
            _ => None,
        }
    }
}

impl From<lmc::Error> for Error {
    fn from(e: lmc::Error) -> Self {
        Error::Lmc(e)
    }
}
