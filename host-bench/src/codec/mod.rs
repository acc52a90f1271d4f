//! The engine of `lmc`, the command-line compressor: files in the
//! `coder-core` container, coded by int8 Transformers from `model-int8`,
//! chunks in parallel, memory bounded on any input size.
//!
//! - [`stream`]: [`compress`] and [`decompress`] between any reader and
//!   writer, in batches of chunks on the current rayon pool; [`scan`] for
//!   `lmc info`.
//! - [`models`]: the [`ChunkModel`] trait, [`Int8Source`], and the shipped
//!   models behind levels `-1` (200K), `-2` (800K), `-3` (3.2M).
//! - [`output`]: [`AtomicFile`], so that an output appears whole and
//!   verified or not at all.
//!
//! ```no_run
//! use std::io::Cursor;
//! use host_bench::codec::{compress, decompress, load_model_bytes, Int8Source};
//! use indicatif::ProgressBar;
//!
//! let bytes = load_model_bytes("model-int8/models/lm-200k.lmm".as_ref()).unwrap();
//! let model = Int8Source::new(&bytes).unwrap();
//! let mut packed = Cursor::new(Vec::new());
//! let hide = ProgressBar::hidden();
//! compress(&model, &b"hello, hello"[..], &mut packed, 2048, &hide).unwrap();
//! let mut back = Vec::new();
//! decompress(&model, &packed.get_ref()[..], &mut back, &hide).unwrap();
//! assert_eq!(back, b"hello, hello");
//! ```

mod error;
pub mod models;
pub mod output;
pub mod stream;

pub use error::CodecError;
pub use models::{
    identify, load_model_bytes, shipped_path, ChunkModel, Int8Source, Shipped, SHIPPED,
};
pub use output::AtomicFile;
pub use stream::{
    compress, decompress, read_header, scan, RecordStats, Summary, DEFAULT_CHUNK_SIZE,
};
