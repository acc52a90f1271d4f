//! `host-bench`: measures compressors the way "Language Modeling Is
//! Compression" (Delétang et al., 2023) does, on real data, and writes the
//! paper's Table 1 beside ours.
//!
//! - [`data`]: the four data sets cut into 2048-byte chunks by the paper's
//!   rules (enwik, ImageNet patches, LibriSpeech 8-bit audio, random).
//! - [`baselines`]: gzip, LZMA2 (xz), PNG, FLAC, zstd (with and without a
//!   dictionary), brotli; every one round-trips.
//! - [`accounting`]: chunked and unchunked rates, the paper's header-once
//!   correction, model-size adjusted rates.
//! - [`lm`]: the language-model rows: int8 model files driven through
//!   `lmc`'s `ChunkModel`, metered by `coder_core::Meter`.
//! - [`table1`], [`meta`] and [`report`]: running Table 1, its metadata,
//!   and writing Markdown, JSON and CSV.
//! - [`throughput`]: int8 inference speed of the paper's sizes.
//! - [`files`]: whole files, `lmc` beside xz, zstd and brotli at their
//!   strongest.
//! - [`media`]: photos as PGM/PPM and speech as WAV, `lmc`'s image and
//!   audio models beside PNG, WebP, JPEG XL, FLAC, WavPack and xz.
//! - [`table2`]: the paper's Table 2, bytes against BPE tokenizers of
//!   1K–20K for the 200K and 800K models.
//! - [`figure6`], [`generate`] with [`figure35`], [`figure2`]: the paper's
//!   figures (in-context rate over length; compressors as generative
//!   models; adjusted rate against model size), drawn by [`plot`].
//!
//! The file compressor `lmc` is its own crate (`lmc/`).
//!
//! ```no_run
//! use host_bench::{baselines, data};
//! let chunks = data::load_enwik(
//!     "../shared/data/enwik8/enwik8.head".as_ref(),
//!     data::ENWIK_EVAL_START,
//!     None,
//!     data::Sample::First(8),
//! )
//! .unwrap();
//! let gzip = baselines::Gzip::default();
//! let m = host_bench::table1::measure_classical(&gzip, &chunks, true).unwrap();
//! println!("gzip chunked: {:.1}%", 100.0 * m.chunked_rate());
//! ```

pub mod accounting;
pub mod baselines;
pub mod choice;
pub mod data;
mod error;
pub mod figure2;
pub mod figure35;
pub mod figure6;
pub mod files;
pub mod generate;
pub mod lm;
pub mod media;
pub mod meta;
pub mod paper;
pub mod plot;
pub mod report;
pub mod table1;
pub mod table2;
pub mod throughput;

pub use error::Error;
