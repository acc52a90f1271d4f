//! `lmc`, the command-line compressor, as a library: files in the
//! `coder-core` container, coded by int8 Transformers from `model-int8`,
//! chunks in parallel, memory bounded on any input size.
//!
//! - [`stream`]: [`compress`] and [`decompress`] between any reader and
//!   writer, in batches of chunks on the current rayon pool, through
//!   `coder-core`'s `StreamWriter` / `StreamReader`; concatenated streams
//!   decode to the concatenation ([`Streams`]); [`open`] and [`scan`]
//!   for `lmc info`.
//! - [`models`]: the [`ChunkModel`] trait, [`Int8Source`], one model per
//!   thread ([`with_thread_models`]), and the shipped models behind levels
//!   `-1` (200K), `-2` (800K), `-3` (3.2M).
//! - [`shelf`]: every model file ever shipped, by fingerprint, and the
//!   commit that holds each retired one; [`model_set`]: the version of the
//!   levels' defaults that `lmc --version` prints.
//! - [`choose`]: the right model for each block of an input that is
//!   neither text nor an image or sound file: each shipped model tried,
//!   the shortest kept, a stream per run of blocks.
//! - [`tokens`]: token-level models (a BPE vocabulary, the tokenizer file
//!   beside the model) in the container's token coding.
//! - [`dest`]: which file is written, kept or removed ([`plan`]), a pure
//!   function of names and options; [`job`]: the I/O that carries a plan
//!   out for one input (the checks, the output written whole, the input
//!   removed only when its output is verified and it did not change), and
//!   `-r`'s walk.
//! - [`output`]: [`AtomicFile`], so that an output appears whole and
//!   verified or not at all.
//!
//! Progress is reported through a callback (`Fn(u64)`, bytes done), so
//! the library has no user interface of its own.
//!
//! ```
//! use std::io::Cursor;
//! use lmc::{compress, decompress, models::tiny_random_model, Int8Source, LogLoss};
//!
//! // Any model-int8 file; `lmc::shipped_path(1)` finds the shipped 200K.
//! let bytes = tiny_random_model(1).unwrap();
//! let model = Int8Source::new(&bytes).unwrap();
//! let text = b"hello, hello, hello".repeat(20);
//! let mut packed = Cursor::new(Vec::new());
//! let s = compress(&model, &text[..], &mut packed, 64, LogLoss::Measure, |_| {}).unwrap();
//! assert_eq!(s.header.original_len, text.len() as u64);
//! assert!(s.ideal_bits.unwrap() > 0.0);
//! let mut back = Vec::new();
//! decompress(&model, &packed.get_ref()[..], &mut back, |_| {}).unwrap();
//! assert_eq!(back, text);
//! ```

pub mod choose;
pub mod coding;
pub mod dest;
mod error;
mod format;
pub mod job;
pub mod model_set;
pub mod models;
pub mod output;
pub mod shelf;
pub mod sink;
pub mod stream;
pub mod tokens;

pub use dest::{plan, Dest, InputKind, Plan, Rules, SUFFIX};
pub use error::{io_message, Error};
pub use format::parse_format;
pub use models::{
    data_model_path, find_data_model, find_shipped, identify, load_data_models, load_model_bytes,
    shipped_path, with_thread_models, with_workers, worker_lanes, ChunkModel, DataModel,
    Int8Source, Shipped, ThreadModels, Workers, DATA_MODELS, SHIPPED,
};
pub use output::AtomicFile;
pub use stream::{
    check_model, check_settings, compress, compress_to_pipe, compress_with, decode_stream,
    decompress, decompress_each, decompress_with, open, scan, LogLoss, Media, Reader, RecordStats,
    Settings, Streams, Summary, DEFAULT_CHUNK_SIZE,
};

/// The README's examples run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
